"""Zonal sums on a cached zone raster (pixel centres): worked example, bincount, exact boxes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from affine import Affine
from pyproj import CRS

from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep.accounts import zonal_sum_chunked
from gep.kernels import reductions
from gep.zones import zonal_sum_centres, zone_raster

GRID = Grid(CRS.from_epsg(32650), Affine(30, 0, 400_000, 0, -30, 4_500_000), (90, 120))


def _boxes() -> gpd.GeoDataFrame:
    """4 × 3 boxes whose edges fall on pixel edges (30 × 30 px each)."""
    left, _, _, top = GRID.bounds
    boxes = [
        shapely.box(left + 900 * i, top - 900 * (j + 1), left + 900 * (i + 1), top - 900 * j)
        for i in range(4)
        for j in range(3)
    ]
    return gpd.GeoDataFrame({"id": [f"u{k}" for k in range(12)]}, geometry=boxes, crs=GRID.crs)


def test_zone_sums_equal_bincount() -> None:
    rng = np.random.default_rng(3)
    zones = rng.integers(0, 8, size=(257, 131)).astype(np.int32)
    values = rng.random((257, 131))
    values[rng.random((257, 131)) < 0.1] = np.nan
    sums, valid, cells = reductions.zone_sums(zones, values, 7)
    ok = np.isfinite(values) & (zones > 0)
    expected = np.bincount(zones[ok], weights=values[ok], minlength=8)[1:]
    np.testing.assert_allclose(sums, expected, rtol=1e-13)
    assert valid.tolist() == np.bincount(zones[ok], minlength=8)[1:].tolist()
    assert cells.tolist() == np.bincount(zones.ravel(), minlength=8)[1:].tolist()


def test_pixel_aligned_units_equal_exact_sums() -> None:
    """Units whose edges are pixel edges cover whole cells: centre sums equal exact sums."""
    rng = np.random.default_rng(4)
    values = rng.random(GRID.shape) * 100
    values[5:9, 40:44] = np.nan
    units = _boxes()
    centre = zonal_sum_centres(zone_raster(units, GRID, id_field="id"), values)
    exact = zonal_sum_chunked(units, GRID, xr.DataArray(values, dims=("y", "x")), id_field="id")
    assert centre["unit_id"].tolist() == exact["unit_id"].tolist()
    np.testing.assert_allclose(centre["sum"], exact["sum"], rtol=1e-12)
    np.testing.assert_allclose(centre["valid_fraction"], exact["valid_fraction"], rtol=1e-12)
    assert centre["valid_fraction"].min() == pytest.approx(1 - 16 / 900)  # the NaN patch


def test_unit_without_a_cell_centre_and_bad_input() -> None:
    units = _boxes()
    left, _, _, top = GRID.bounds
    tiny = gpd.GeoDataFrame(
        {"id": ["tiny"]}, geometry=[shapely.box(left, top - 10, left + 10, top)], crs=GRID.crs
    )  # a corner of one cell, away from its centre
    table = zonal_sum_centres(zone_raster(tiny, GRID, id_field="id"), np.ones(GRID.shape))
    assert np.isnan(table["sum"].iloc[0]) and table["valid_fraction"].iloc[0] == 0.0
    with pytest.raises(InputError, match="no field 'code'"):
        zone_raster(units, GRID, id_field="code")
    with pytest.raises(InputError, match="not on the zone raster's grid"):
        zonal_sum_centres(zone_raster(units, GRID, id_field="id"), np.ones((3, 3)))
