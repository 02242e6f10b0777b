"""Maps draw the unit outlines without drawing the whole figure an extra time."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image
from shapely.geometry import MultiPolygon, Polygon, box

from gep import maps


def _outline() -> gpd.GeoDataFrame:
    two_parts = MultiPolygon([box(0, 0, 40, 40), box(60, 60, 90, 90)])
    holed = Polygon(box(40, 0, 100, 50).exterior.coords, [box(60, 10, 80, 30).exterior.coords])
    return gpd.GeoDataFrame({"unit_id": ["a", "b"]}, geometry=[two_parts, holed], crs="EPSG:32650")


def _raster() -> xr.DataArray:
    values = np.arange(100 * 100, dtype=float).reshape(100, 100)
    coords = {"y": np.arange(99.5, 0, -1.0), "x": np.arange(0.5, 100, 1.0)}
    return xr.DataArray(values, dims=("y", "x"), coords=coords)


def test_a_raster_map_draws_the_figure_twice_not_three_times(tmp_path, monkeypatch):
    """The tight bounding box and the file: geopandas' ``plt.draw()`` after a plot is avoided."""
    draws = []
    original = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: draws.append(1) or original(self))
    path = maps.raster_map(_raster(), tmp_path / "m.png", title="t", legend="l", outline=_outline())
    assert len(draws) == 2
    assert Image.open(path).size[0] > 300


def test_boundaries_are_every_ring_of_every_part(tmp_path):
    """Both parts of the multipolygon and the hole's ring: four lines, closed, in map units."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    maps._boundaries(ax, _outline(), color="black", linewidth=0.5)
    (collection,) = ax.collections
    rings = collection.get_segments()
    assert len(rings) == 4
    assert all(np.array_equal(r[0], r[-1]) for r in rings)
    assert sorted(float(np.abs(np.diff(r, axis=0)).sum()) for r in rings) == [80, 120, 160, 220]
    assert ax.get_xlim()[0] <= 0 and ax.get_xlim()[1] >= 100  # the view takes the outline in
    plt.close(fig)


def test_a_choropleth_with_an_outline_is_written(tmp_path):
    units = _outline()
    values = pd.Series([1.0, np.nan], index=pd.Index(["a", "b"], name="unit_id"))
    path = maps.choropleth(units, values, tmp_path / "c.png", title="t", legend="l", outline=units)
    assert Image.open(path).size[0] > 300
