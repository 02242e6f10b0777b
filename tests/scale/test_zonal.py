"""Zonal sums by block equal the whole-grid exact sums (accounts on rasters of any size)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
import xarray as xr
from affine import Affine

from data_catalog.grid import Grid
from gep import accounts


@pytest.fixture(scope="module")
def units() -> tuple[gpd.GeoDataFrame, Grid]:
    grid = Grid(pyproj.CRS.from_epsg(32650), Affine(30, 0, 400_000, 0, -30, 4_500_000), (300, 260))
    left, bottom, right, top = grid.bounds
    polygons = [
        shapely.box(left + 10, bottom + 10, left + 4000.5, top - 17),  # cuts through pixels
        shapely.Point(left + 5000, bottom + 4500).buffer(2300),  # spans many blocks
        shapely.box(right + 100, top + 100, right + 200, top + 200),  # off the grid
    ]
    gdf = gpd.GeoDataFrame({"code": ["a", "b", "off"]}, geometry=polygons, crs=grid.crs)
    return gdf, grid


def test_chunked_sums_equal_whole_grid_sums(units: tuple[gpd.GeoDataFrame, Grid]) -> None:
    gdf, grid = units
    rng = np.random.default_rng(1)
    values = rng.random(grid.shape)
    values[rng.random(grid.shape) < 0.1] = np.nan
    level = accounts.unit_level(gdf, grid, level="unit", id_field="code")
    sums, fraction = accounts.zonal_sum(level, values)
    lazy = xr.DataArray(values, dims=("y", "x")).chunk({"y": 64, "x": 100})
    table = accounts.zonal_sum_chunked(gdf, grid, lazy, id_field="code")
    assert table["unit_id"].tolist() == ["a", "b", "off"]
    np.testing.assert_allclose(table["sum"], sums, rtol=1e-12)
    np.testing.assert_allclose(table["valid_fraction"], fraction, rtol=1e-12, atol=1e-15)
    assert np.isnan(table["sum"].iloc[2]) and table["valid_fraction"].iloc[2] == 0.0


def test_chunked_sum_by_hand() -> None:
    """One 60 m × 60 m square over 2 × 2 pixels of 30 m, half covering a third pixel row."""
    grid = Grid(pyproj.CRS.from_epsg(32650), Affine(30, 0, 0, 0, -30, 90), (3, 3))
    square = shapely.box(0, 15, 60, 90)  # rows 0–1 fully, row 2 half, columns 0–1
    gdf = gpd.GeoDataFrame({"id": [7]}, geometry=[square], crs=grid.crs)
    values = np.array([[1.0, 2.0, 100.0], [3.0, np.nan, 100.0], [10.0, 20.0, 100.0]])
    table = accounts.zonal_sum_chunked(
        gdf, grid, xr.DataArray(values, dims=("y", "x")).chunk(2), id_field="id"
    )
    # sum = 1 + 2 + 3 (NaN skipped) + 0.5 × (10 + 20) = 21;
    # covered = 4 × 1 + 2 × 0.5 = 5 pixels, of which valid 5 − 1 (the NaN) = 4: fraction 4/5
    assert table["sum"].iloc[0] == pytest.approx(21.0)
    assert table["valid_fraction"].iloc[0] == pytest.approx(4.0 / 5.0)
