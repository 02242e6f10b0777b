"""Unit polygons from the store as GeoJSON (WGS84 lon/lat), optionally simplified for display."""

from __future__ import annotations

from typing import Any

__all__ = ["units_geojson"]


def units_geojson(
    units: Any, *, simplify_deg: float = 0.0, digits: int = 6, properties: Any = None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of unit polygons.

    Parameters
    ----------
    units : pandas.DataFrame
        ``unit_id, level, unit_name, geometry_wkb`` (WGS84), as the store holds them.
    simplify_deg : float
        Douglas–Peucker tolerance in degrees (0: exact geometries). 0.0005° is about 50 m
        in Beijing, below what a screen of the whole city shows.
    digits : int
        Decimal places kept in coordinates (6: about 0.1 m).
    properties : mapping, optional
        ``{unit_id: {...}}``: further properties per unit (numbers, names).

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}``; each feature's properties hold
        ``unit_id, unit_name, level`` and what ``properties`` adds.

    Examples
    --------
    >>> import pandas as pd
    >>> from shapely.geometry import box
    >>> units = pd.DataFrame({"unit_id": ["1"], "level": ["district"], "unit_name": ["东城区"],
    ...                       "geometry_wkb": [box(116.0, 39.0, 116.5, 39.5).wkb]})
    >>> feature = units_geojson(units)["features"][0]
    >>> feature["properties"], feature["geometry"]["type"]
    ({'unit_id': '1', 'unit_name': '东城区', 'level': 'district'}, 'Polygon')
    """
    import shapely

    extra = properties or {}
    features = []
    for row in units.itertuples(index=False):
        if row.geometry_wkb is None:
            continue
        geometry = shapely.from_wkb(bytes(row.geometry_wkb))
        if simplify_deg > 0:
            geometry = shapely.simplify(geometry, simplify_deg, preserve_topology=True)
        geometry = shapely.set_precision(geometry, 10.0**-digits) if digits else geometry
        props = {"unit_id": str(row.unit_id), "unit_name": row.unit_name, "level": row.level}
        props.update(extra.get(str(row.unit_id), {}))
        features.append(
            {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geometry)}
        )
    return {"type": "FeatureCollection", "features": features}
