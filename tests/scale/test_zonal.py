"""Zonal sums by block equal the whole-grid exact sums (accounts on rasters of any size)."""

from __future__ import annotations

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
import xarray as xr
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from hypothesis import given, settings
from hypothesis import strategies as st

from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep import accounts
from gep.accounts import exact_blocks
from gep.accounts import units as accounts_units

UTM50 = pyproj.CRS.from_epsg(32650)


@pytest.fixture(scope="module")
def units() -> tuple[gpd.GeoDataFrame, Grid]:
    grid = Grid(UTM50, Affine(30, 0, 400_000, 0, -30, 4_500_000), (300, 260))
    left, bottom, right, top = grid.bounds
    ring = shapely.Point(left + 3000, bottom + 2500).buffer(1500)
    polygons = [
        shapely.box(left + 10, bottom + 10, left + 4000.5, top - 17),  # cuts through pixels
        shapely.Point(left + 5000, bottom + 4500).buffer(2300),  # spans many blocks
        shapely.box(right + 100, top + 100, right + 200, top + 200),  # off the grid
        ring.difference(ring.buffer(-700)),  # a hole
        shapely.MultiPolygon(  # two parts, far apart
            [
                shapely.box(left + 300, top - 900, left + 1900, top - 200),
                shapely.Point(right - 1000, bottom + 1200).buffer(800),
            ]
        ),
        shapely.box(left - 500, top - 3000, left + 1000.3, top + 400),  # partly outside
        shapely.box(left + 6001, bottom + 6001, left + 6013, bottom + 6017),  # inside one cell
        shapely.box(left + 64 * 30, top - 128 * 30, left + 100 * 30, top - 64 * 30),  # on edges
    ]
    codes = ["a", "b", "off", "hole", "multi", "outside", "tiny", "edges"]
    gdf = gpd.GeoDataFrame({"code": codes}, geometry=polygons, crs=grid.crs)
    return gdf, grid


@pytest.fixture(scope="module")
def reference(units: tuple[gpd.GeoDataFrame, Grid]) -> accounts.UnitLevel:
    gdf, grid = units
    return accounts.unit_level(gdf, grid, level="unit", id_field="code")


def _values(grid: Grid, seed: int = 1, nodata: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.random(grid.shape) * 100
    values[rng.random(grid.shape) < nodata] = np.nan
    return values


def _hand_grid() -> tuple[gpd.GeoDataFrame, Grid]:
    grid = Grid(UTM50, Affine(30, 0, 0, 0, -30, 90), (3, 3))
    square = shapely.box(0, 15, 60, 90)  # rows 0–1 fully, row 2 half, columns 0–1
    return gpd.GeoDataFrame({"id": [7]}, geometry=[square], crs=grid.crs), grid


def test_exactextract_nodata_semantics() -> None:
    """What the blockwise sums rely on: exactextract's ``sum``/``count`` skip NaN, not inf.

    Cells (1 m): row 0 = [1, 2, 100], row 1 = [3, NaN, 100], row 2 = [10, 20, 100]; the
    square x 0–2, y 0.5–3 covers rows 0–1 fully and row 2 half in columns 0–1.
    """
    wkt = UTM50.to_wkt()
    cells = np.array([[1.0, 2.0, 100.0], [3.0, np.nan, 100.0], [10.0, 20.0, 100.0]])
    square = shapely.box(0, 0.5, 2, 3)
    nan_only = shapely.box(1, 1, 2, 2)  # the NaN cell alone
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[square, nan_only], crs=UTM50)
    for dtype in (np.float64, np.float32):
        raster = NumPyRasterSource(cells.astype(dtype), 0, 0, 3, 3, srs_wkt=wkt)
        out = exact_extract(raster, gdf, ["sum", "count"], output="pandas")
        # sum = 1 + 2 + 3 (NaN skipped) + 0.5 × (10 + 20) = 21; count = 3 + 0.5 × 2 = 4
        assert out["sum"].tolist() == [21.0, 0.0]
        assert out["count"].tolist() == [4.0, 0.0]  # a polygon over NaN only: 0, not NaN
    with_inf = np.where(np.isnan(cells), np.inf, cells)
    raster = NumPyRasterSource(with_inf, 0, 0, 3, 3, srs_wkt=wkt)
    out = exact_extract(raster, gdf, ["sum", "count"], output="pandas")
    assert np.isinf(out["sum"].iloc[0]) and out["count"].iloc[0] == 5.0  # inf is a value


@pytest.mark.parametrize(
    "chunks", [{"y": 64, "x": 100}, 37, {"y": 300, "x": 260}, {"y": (7, 150, 143), "x": 130}]
)
def test_chunked_sums_equal_whole_grid_sums(
    units: tuple[gpd.GeoDataFrame, Grid], reference: accounts.UnitLevel, chunks: object
) -> None:
    gdf, grid = units
    values = _values(grid)
    sums, fraction = accounts.zonal_sum(reference, values)
    lazy = xr.DataArray(values, dims=("y", "x")).chunk(chunks)
    table = accounts.zonal_sum_chunked(gdf, grid, lazy, id_field="code")
    assert table.columns.tolist() == ["unit_id", "sum", "valid_fraction"]
    assert table["unit_id"].tolist() == gdf["code"].tolist()
    np.testing.assert_allclose(table["sum"], sums, rtol=1e-12)
    np.testing.assert_allclose(table["valid_fraction"], fraction, rtol=1e-12, atol=1e-15)
    off = table.set_index("unit_id").loc["off"]
    assert np.isnan(off["sum"]) and off["valid_fraction"] == 0.0
    assert np.all(np.isfinite(table["sum"].drop(index=2)))


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Record the operations every block asks exactextract for."""
    asked: list[tuple[str, ...]] = []

    def spy(raster: object, polygons: object, ops: list[str], **kwargs: object) -> object:
        asked.append(tuple(ops))
        return exact_extract(raster, polygons, ops, **kwargs)

    monkeypatch.setattr(exact_blocks, "exact_extract", spy)  # the blockwise sums
    return asked


def test_finite_raster_sums_equal_whole_grid_sums(
    units: tuple[gpd.GeoDataFrame, Grid],
    reference: accounts.UnitLevel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One raster without nodata: exactextract's own sum and count per block."""
    gdf, grid = units
    values = _values(grid, seed=2, nodata=0.0).astype(np.float32)
    sums, fraction = accounts.zonal_sum(reference, values)
    assert np.all(fraction[np.isfinite(sums)] == 1.0)
    asked = _spy(monkeypatch)
    for data in (xr.DataArray(values, dims=("y", "x")).chunk(41), values):
        table = accounts.zonal_sum_chunked(gdf, grid, data, id_field="code", block=53)
        np.testing.assert_allclose(table["sum"], sums, rtol=1e-12)
        np.testing.assert_allclose(table["valid_fraction"], fraction, rtol=1e-12, atol=1e-15)
    assert len(asked) > 20 and set(asked) == {("sum", "count")}
    asked.clear()
    values[5, 7] = np.nan  # a block with nodata reads the coverage of its cells instead
    accounts.zonal_sum_chunked(gdf, grid, values, id_field="code", block=53)
    assert ("values", "coverage") in asked and ("sum", "count") in asked


def test_both_block_methods_agree(units: tuple[gpd.GeoDataFrame, Grid]) -> None:
    """exactextract's sum/count and the cell-number coverage give the same block totals."""
    gdf, grid = units
    polygons = accounts_units._in_grid_crs(gdf, grid, "unit")
    block = _values(grid, seed=3, nodata=0.0)[:100, :90]  # a view, 260 cells a row
    bounds = accounts_units._pixel_bounds((slice(0, 100), slice(0, 90)))
    assert bounds == (0, -100, 90, 0)
    numbers = exact_blocks.CellNumbers(grid.crs.to_wkt(), (128, 128))  # wider than the block
    pixels = accounts_units._pixel_space(polygons, grid)
    hit = np.flatnonzero(shapely.intersects(pixels, shapely.box(*bounds)))
    rows, wkb = polygons["_row"].to_numpy()[hit], list(shapely.to_wkb(pixels[hit]))
    assert len(rows) >= 4
    own = exact_blocks.block_totals(rows, wkb, bounds, numbers, block)
    cells = exact_blocks.block_totals(rows, wkb, bounds, numbers, block, block)
    np.testing.assert_array_equal(own[0], rows)
    np.testing.assert_array_equal(cells[0], rows)
    np.testing.assert_allclose(cells[1][0], own[1][0], rtol=1e-13)
    np.testing.assert_array_equal(cells[1][0], cells[1][1])
    np.testing.assert_allclose(cells[2][0], own[2][0], rtol=1e-13)
    np.testing.assert_allclose(cells[3], own[3], rtol=1e-13)
    assert np.all(own[3] > 0)


def test_block_tasks_run_in_other_processes() -> None:
    """Tasks and results pickle (a dask.distributed cluster sends them to workers)."""
    gdf, grid = _hand_grid()
    values = np.array([[1.0, 2.0, 100.0], [3.0, np.nan, 100.0], [10.0, 20.0, 100.0]])
    with dask.config.set(scheduler="processes", num_workers=1):
        table = accounts.zonal_sum_chunked(gdf, grid, values, id_field="id", block=2)
    assert table["sum"].iloc[0] == pytest.approx(21.0, rel=1e-15)  # as in the hand example


def test_several_rasters_at_once(
    units: tuple[gpd.GeoDataFrame, Grid], reference: accounts.UnitLevel
) -> None:
    """One coverage per block serves every raster, whatever its dtype and chunks."""
    gdf, grid = units
    rasters = {
        "with_nodata": xr.DataArray(_values(grid, seed=4), dims=("y", "x")).chunk(70),
        "float32": xr.DataArray(_values(grid, seed=5, nodata=0.0).astype(np.float32)),
        "int16": xr.DataArray(
            np.arange(grid.shape[0] * grid.shape[1], dtype=np.int16).reshape(grid.shape),
            dims=("y", "x"),
        ).chunk(90),  # rechunked to the first dask raster's blocks
    }
    table = accounts.zonal_sum_chunked(gdf, grid, rasters, id_field="code")
    assert table.columns.tolist() == ["name", "unit_id", "sum", "valid_fraction"]
    assert table["name"].unique().tolist() == list(rasters)
    for name, da in rasters.items():
        sums, fraction = accounts.zonal_sum(reference, da.values)
        rows = table[table["name"] == name]
        np.testing.assert_allclose(rows["sum"], sums, rtol=1e-12)
        np.testing.assert_allclose(rows["valid_fraction"], fraction, rtol=1e-12, atol=1e-15)
    as_list = accounts.zonal_sum_chunked(gdf, grid, list(rasters.values()), id_field="code")
    assert as_list["name"].unique().tolist() == [0, 1, 2]
    np.testing.assert_array_equal(as_list["sum"], table["sum"])


def test_infinite_cells_are_nodata() -> None:
    """As in :func:`accounts.zonal_sum`: ±inf is no value (exactextract would add it)."""
    gdf, grid = _hand_grid()
    values = np.array([[1.0, 2.0, 100.0], [3.0, np.inf, 100.0], [10.0, -np.inf, 100.0]])
    for data in (values, xr.DataArray(values, dims=("y", "x")).chunk(2)):
        table = accounts.zonal_sum_chunked(gdf, grid, data, id_field="id", block=2)
        # sum = 1 + 2 + 3 + 0.5 × 10 = 11; valid = 3 + 0.5 of covered 5 pixels → 3.5/5
        assert table["sum"].iloc[0] == pytest.approx(11.0, rel=1e-15)
        assert table["valid_fraction"].iloc[0] == pytest.approx(3.5 / 5.0, rel=1e-15)


def test_chunked_sum_by_hand() -> None:
    """One 60 m × 60 m square over 2 × 2 pixels of 30 m, half covering a third pixel row."""
    gdf, grid = _hand_grid()
    values = np.array([[1.0, 2.0, 100.0], [3.0, np.nan, 100.0], [10.0, 20.0, 100.0]])
    table = accounts.zonal_sum_chunked(
        gdf, grid, xr.DataArray(values, dims=("y", "x")).chunk(2), id_field="id"
    )
    # sum = 1 + 2 + 3 (NaN skipped) + 0.5 × (10 + 20) = 21;
    # covered = 4 × 1 + 2 × 0.5 = 5 pixels, of which valid 5 − 1 (the NaN) = 4: fraction 4/5
    assert table["sum"].iloc[0] == pytest.approx(21.0)
    assert table["valid_fraction"].iloc[0] == pytest.approx(4.0 / 5.0)


def test_chunked_sum_by_hand_without_nodata() -> None:
    """The same square over finite values: exactextract's own sum and count per block."""
    gdf, grid = _hand_grid()
    values = np.array([[1.0, 2.0, 100.0], [3.0, 4.0, 100.0], [10.0, 20.0, 100.0]])
    with dask.config.set(scheduler="threads"):
        table = accounts.zonal_sum_chunked(
            gdf, grid, xr.DataArray(values, dims=("y", "x")).chunk(2), id_field="id"
        )
    # sum = 1 + 2 + 3 + 4 + 0.5 × (10 + 20) = 25; every covered pixel is valid: fraction 1
    assert table["sum"].iloc[0] == pytest.approx(25.0, rel=1e-15)
    assert table["valid_fraction"].iloc[0] == 1.0


def test_blockwise_level_equals_matrix_level(
    units: tuple[gpd.GeoDataFrame, Grid], reference: accounts.UnitLevel
) -> None:
    gdf, grid = units
    level = accounts.unit_level(gdf, grid, level="unit", id_field="code", blockwise=True, block=47)
    assert level.blockwise and not reference.blockwise
    assert level.warnings == reference.warnings and len(level.warnings) == 1
    assert "off" in level.warnings[0]
    values = _values(grid, seed=6)
    for got, want in zip(
        accounts.zonal_sum(level, values.ravel()),  # flat rasters, as uncertainty passes
        accounts.zonal_sum(reference, values),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    quantities = {
        ("q", 2020): xr.DataArray(values, dims=("y", "x"), attrs={"units": "m3 yr-1"}),
        ("r", 2020): xr.DataArray(values * 2, dims=("y", "x"), attrs={"units": "t yr-1"}),
    }
    blockwise = accounts.quantity_table([level], quantities)
    matrix = accounts.quantity_table([reference], quantities)
    np.testing.assert_allclose(blockwise["quantity"], matrix["quantity"], rtol=1e-12)
    assert blockwise.drop(columns=["quantity", "valid_fraction"]).equals(
        matrix.drop(columns=["quantity", "valid_fraction"])
    )
    with pytest.raises(InputError, match="raster has 12 cells"):
        accounts.zonal_sum(level, np.zeros((3, 4)))
    assert (level.weights != reference.weights).nnz == 0  # built on demand, the same matrix
    assert not level.blockwise


@pytest.mark.parametrize("block", [37, 333])
def test_blocks_equal_whole_grid_on_a_grid_of_awkward_numbers(block: int) -> None:
    """Cell size 30.8666… m, origin at fractions of a metre: a block's origin in map units
    rounds differently from the grid's; in pixel space both have the same cell edges."""
    res = 92.6 / 3
    grid = Grid(UTM50, Affine(res, 0, 363912.345678, 0, -res, 4546200.1234567), (700, 650))
    left, bottom, right, top = grid.bounds
    rng = np.random.default_rng(7)
    polygons = [
        shapely.Point(
            left + rng.random() * (right - left), bottom + rng.random() * (top - bottom)
        ).buffer(300 + rng.random() * 5000)
        for _ in range(30)
    ]
    gdf = gpd.GeoDataFrame({"id": range(30)}, geometry=polygons, crs=grid.crs)
    values = _values(grid, seed=8, nodata=0.0)
    sums, _ = accounts.zonal_sum(accounts.unit_level(gdf, grid, level="u", id_field="id"), values)
    table = accounts.zonal_sum_chunked(gdf, grid, values, id_field="id", block=block)
    np.testing.assert_allclose(table["sum"], sums, rtol=1e-13)


@pytest.mark.parametrize("blockwise", [False, True])
def test_units_without_geometry_are_missing_not_zero(blockwise: bool) -> None:
    gdf, grid = _hand_grid()
    gdf = pd.concat(
        [gdf, gpd.GeoDataFrame({"id": [8, 9]}, geometry=[None, shapely.Polygon()], crs=grid.crs)],
        ignore_index=True,
    )
    level = accounts.unit_level(gdf, grid, level="u", id_field="id", blockwise=blockwise, block=2)
    sums, fraction = accounts.zonal_sum(level, np.ones(grid.shape))
    # the square covers 2 × 2 + 2 × 0.5 = 5 pixels of value 1
    np.testing.assert_allclose(sums, [5.0, np.nan, np.nan], rtol=1e-15)
    np.testing.assert_array_equal(fraction, [1.0, 0.0, 0.0])
    assert [w.split(" ")[1] for w in level.warnings] == ["8", "9"]


def test_rotated_grid_is_refused(units: tuple[gpd.GeoDataFrame, Grid]) -> None:
    gdf, _ = units
    rotated = Grid(UTM50, Affine(30, 1, 400_000, 0, -30, 4_500_000), (300, 260))
    with pytest.raises(InputError, match="north-up grid"):
        accounts.unit_level(gdf, rotated, level="unit", id_field="code")


def test_raster_off_the_grid_shape_is_refused(units: tuple[gpd.GeoDataFrame, Grid]) -> None:
    gdf, grid = units
    with pytest.raises(InputError, match=r"shape \(3, 4\), the grid \(300, 260\)"):
        accounts.zonal_sum_chunked(gdf, grid, xr.DataArray(np.zeros((3, 4))), id_field="code")


@settings(max_examples=20, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(
            st.floats(-200, 1500),
            st.floats(-200, 1500),
            st.floats(20, 900),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    ),
    chunk=st.integers(5, 60),
    seed=st.integers(0, 2**16),
)
def test_blockwise_sums_equal_matrix_sums_for_any_polygons_and_blocks(
    shapes: list[tuple[float, float, float, bool]], chunk: int, seed: int
) -> None:
    grid = Grid(UTM50, Affine(30, 0, 0, 0, -30, 1350), (45, 40))
    polygons = [
        shapely.Point(x, y).buffer(size / 2) if round_ else shapely.box(x, y, x + size, y + size)
        for x, y, size, round_ in shapes
    ]
    gdf = gpd.GeoDataFrame({"id": range(len(polygons))}, geometry=polygons, crs=grid.crs)
    values = _values(grid, seed=seed, nodata=0.2 if seed % 2 else 0.0)
    sums, fraction = accounts.zonal_sum(
        accounts.unit_level(gdf, grid, level="u", id_field="id"), values
    )
    table = accounts.zonal_sum_chunked(gdf, grid, values, id_field="id", block=chunk)
    np.testing.assert_allclose(table["sum"], sums, rtol=1e-12)
    np.testing.assert_allclose(table["valid_fraction"], fraction, rtol=1e-12, atol=1e-15)
