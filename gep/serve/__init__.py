"""``gep serve``: a local web app and JSON API on the accounts store (:mod:`gep.serve.app`).

The app is read-only, served on 127.0.0.1 by default, and ships its page, script and style in
``gep/serve/static`` (no CDN, no map tiles: the polygons come from the store as GeoJSON).
"""
