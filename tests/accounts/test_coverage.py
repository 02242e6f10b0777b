"""Each window's coverage is computed once per level and gives the sums of the uncached path."""

from __future__ import annotations

import gc
import pickle

import dask
import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep import accounts
from gep.accounts import coverage as accounts_coverage
from gep.accounts import exact_blocks
from gep.accounts import units as accounts_units
from gep.accounts.coverage import LevelCoverage, WindowCoverage
from gep.accounts.zonal import LevelAccumulator, sum_levels

UTM50 = pyproj.CRS.from_epsg(32650)
# 97 × 83 cells of 30 m: windows of 20 cells leave cut windows on the last rows and columns
GRID = Grid(UTM50, Affine(30, 0, 400_000, 0, -30, 4_500_000), (97, 83))


def _windows(shape: tuple[int, int], size: int) -> list[tuple[slice, slice]]:
    return [
        (slice(r, min(r + size, shape[0])), slice(c, min(c + size, shape[1])))
        for r in range(0, shape[0], size)
        for c in range(0, shape[1], size)
    ]


def _polygons(seed: int, n: int = 12) -> gpd.GeoDataFrame:
    """Random discs and boxes that overlap, cross windows and the grid's edge."""
    left, bottom, right, top = GRID.bounds
    rng = np.random.default_rng(seed)
    shapes = []
    for k in range(n):
        x = left - 300 + rng.random() * (right - left + 600)
        y = bottom - 300 + rng.random() * (top - bottom + 600)
        size = 40 + rng.random() * 1200
        if k % 2:
            shapes.append(shapely.Point(x, y).buffer(size / 2))
        else:
            shapes.append(shapely.box(x, y, x + size * 1.3, y + size * 0.7))
    shapes.append(shapely.box(left + 610, top - 1490, left + 1211, top - 601))  # on window edges
    shapes.append(shapes[1])  # the same polygon twice: overlapping units
    return gpd.GeoDataFrame({"id": range(len(shapes))}, geometry=shapes, crs=GRID.crs)


def _rasters(seed: int, nodata: float = 0.1) -> list[np.ndarray]:
    """Three rasters: float64 with NaN and ±inf, float32 with NaN, and int16 (no nodata)."""
    rng = np.random.default_rng(seed)
    with_inf = rng.random(GRID.shape) * 100
    with_inf[rng.random(GRID.shape) < nodata] = np.nan
    with_inf[rng.random(GRID.shape) < nodata / 2] = np.inf
    with_inf[rng.random(GRID.shape) < nodata / 2] = -np.inf
    single = (rng.random(GRID.shape) * 10).astype(np.float32)
    single[rng.random(GRID.shape) < nodata] = np.nan
    counts = rng.integers(-50, 50, GRID.shape).astype(np.int16)
    return [with_inf, single, counts]


def _blockwise(gdf: gpd.GeoDataFrame, block: int = 20) -> accounts.UnitLevel:
    return accounts.unit_level(gdf, GRID, level="u", id_field="id", blockwise=True, block=block)


def _uncached(level: accounts.UnitLevel, window: tuple[slice, slice], blocks: list[np.ndarray]):
    """The current path's block totals (exactextract on every call)."""
    polygons, grid = level._blockwise_inputs()
    pixels = accounts_units._pixel_space(polygons, grid)
    bounds = accounts_units._pixel_bounds(window)
    hit = np.flatnonzero(shapely.intersects(pixels, shapely.box(*bounds)))
    numbers = exact_blocks.CellNumbers(grid.crs.to_wkt(), (64, 64))
    return exact_blocks.block_totals(
        polygons["_row"].to_numpy()[hit],
        list(shapely.to_wkb(pixels[hit])),
        bounds,
        numbers,
        *blocks,
    )


def _accumulated(level: accounts.UnitLevel, rasters: list[np.ndarray], size: int = 20):
    accumulator = LevelAccumulator(level, len(rasters))
    for window in _windows(GRID.shape, size):
        accumulator.add(window, [r[window] for r in rasters])
    return accumulator.result()


def test_window_totals_equal_the_uncached_block_totals() -> None:
    """Per window, every raster: the same units and the same totals, NaN and ±inf excluded."""
    level = _blockwise(_polygons(seed=1))
    rasters = _rasters(seed=2)
    checked = 0
    for window in _windows(GRID.shape, 20):
        blocks = [r[window] for r in rasters]
        want = _uncached(level, window, blocks)
        found = level.coverage.window(window)
        if found is None:
            assert want[0].size == 0
            continue
        for _ in range(2):  # computed, then read back from its scratch file
            got = level.coverage.window(window).totals(blocks)
            np.testing.assert_array_equal(got[0], want[0])
            # the same cells in the same order, the same float64 products: the same bits
            np.testing.assert_array_equal(got[1], want[1])
            np.testing.assert_array_equal(got[2], want[2])
            np.testing.assert_allclose(got[3], want[3], rtol=1e-12)
            assert np.all(np.isfinite(got[1]))  # ±inf never reaches a sum
        checked += 1
    assert checked >= 20
    assert level.coverage.computed == checked  # once per window


def test_one_finite_raster_equals_exactextracts_own_sums() -> None:
    """The uncached path's other branch (exactextract's sum and count): equal to rounding."""
    level = _blockwise(_polygons(seed=3))
    values = np.random.default_rng(4).random(GRID.shape) * 1e4
    for window in _windows(GRID.shape, 31):
        want = _uncached(level, window, [values[window]])
        found = level.coverage.window(window)
        if found is None:
            continue
        got = found.totals([values[window]])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
        np.testing.assert_allclose(got[2], want[2], rtol=1e-12)
        np.testing.assert_array_equal(got[2][0], got[3])  # all valid: Σ c the same bits


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), size=st.integers(7, 50), nodata=st.sampled_from([0.0, 0.2]))
def test_cached_passes_equal_first_pass_and_the_matrix(seed: int, size: int, nodata: float) -> None:
    """Random polygons, windows and nodata: pass 2 = pass 1 to the bit, and = the matrix sums."""
    gdf = _polygons(seed)
    level = _blockwise(gdf)
    matrix = accounts.unit_level(gdf, GRID, level="u", id_field="id")
    rasters = _rasters(seed + 1, nodata)
    first = _accumulated(level, rasters, size)
    computed = level.coverage.computed
    second = _accumulated(level, rasters, size)
    assert level.coverage.computed == computed  # nothing recomputed
    for k, values in enumerate(rasters):
        want_k = accounts.zonal_sum(matrix, values)
        for got, again, want in zip(first[k], second[k], want_k, strict=True):
            np.testing.assert_array_equal(again, got)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_nodata_and_the_valid_fraction_by_hand() -> None:
    """Cells [[1, 2, 100], [3, NaN, 100], [10, inf, -inf]]: the square covers rows 0–1 fully and
    row 2 half in columns 0–1 (5 cells of coverage)."""
    grid = Grid(UTM50, Affine(30, 0, 0, 0, -30, 90), (3, 3))
    gdf = gpd.GeoDataFrame({"id": [7]}, geometry=[shapely.box(0, 15, 60, 90)], crs=grid.crs)
    level = accounts.unit_level(gdf, grid, level="u", id_field="id", blockwise=True, block=2)
    values = np.array([[1.0, 2.0, 100.0], [3.0, np.nan, 100.0], [10.0, np.inf, -np.inf]])
    for _ in range(2):
        accumulator = LevelAccumulator(level, 2)
        for window in _windows(grid.shape, 2):
            accumulator.add(window, [values[window], np.ones(grid.shape)[window]])
        (sums, fraction), (ones, all_valid) = accumulator.result()
        # 1 + 2 + 3 + 0.5 × 10 = 11 over 3.5 of the 5 cells' coverage
        assert sums[0] == 11.0 and fraction[0] == 3.5 / 5
        assert ones[0] == 5.0 and all_valid[0] == 1.0
    assert level.coverage.computed == 4


def test_exactextract_runs_once_per_window_per_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """Accumulators of the same level share the coverage; other levels have their own."""
    calls: list[int] = []
    original = accounts_coverage.exact_extract

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(accounts_coverage, "exact_extract", counted)
    levels = [_blockwise(_polygons(seed=5)), _blockwise(_polygons(seed=6, n=4))]
    rasters = _rasters(seed=7)
    windows = _windows(GRID.shape, 25)
    touched = [sum(lv.coverage.touched(w).size > 0 for w in windows) for lv in levels]
    for _ in range(3):  # three passes (years, weather-neutral re-runs, value rasters …)
        accumulators = [LevelAccumulator(lv, len(rasters)) for lv in levels]
        for window in windows:
            for accumulator in accumulators:
                accumulator.add(window, [r[window] for r in rasters])
    assert len(calls) == sum(touched) and 0 < touched[1] < touched[0] <= len(windows)
    assert [lv.coverage.computed for lv in levels] == touched


def test_dask_sums_reuse_the_level_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    """zonal_sum and sum_levels on a blockwise level keep each block's coverage too."""
    level = _blockwise(_polygons(seed=8), block=30)
    rasters = _rasters(seed=9)
    first = sum_levels([level], rasters)[0]
    computed = level.coverage.computed
    assert computed > 0
    monkeypatch.setattr(accounts_coverage, "exact_extract", _refuse)
    second = sum_levels([level], rasters)[0]
    for k in range(len(rasters)):
        np.testing.assert_array_equal(second[k][0], first[k][0])
        for got, want in zip(accounts.zonal_sum(level, rasters[k]), first[k], strict=True):
            np.testing.assert_array_equal(got, want)
    assert level.coverage.computed == computed


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("exactextract ran again for a window whose coverage is kept")


def test_coverage_pickles_without_what_it_keeps() -> None:
    """Sent to a dask.distributed worker, the coverage computes its windows and keeps none."""
    level = _blockwise(_polygons(seed=10), block=30)
    rasters = _rasters(seed=11)
    want = sum_levels([level], rasters)[0]
    assert level.coverage.kept_bytes > 0
    copy = pickle.loads(pickle.dumps(level.coverage))
    assert not copy.keep and copy.kept_bytes == 0
    window = (slice(0, 30), slice(30, 60))
    np.testing.assert_array_equal(
        copy.window(window).totals([rasters[0][window]])[1],
        level.coverage.window(window).totals([rasters[0][window]])[1],
    )
    assert copy.kept_bytes == 0 and copy.computed == 1
    fresh = _blockwise(_polygons(seed=10), block=30)
    with dask.config.set(scheduler="processes", num_workers=1):
        got = sum_levels([fresh], rasters)[0]
    for k in range(len(rasters)):
        for a, b in zip(got[k], want[k], strict=True):
            np.testing.assert_array_equal(a, b)


def test_kept_coverage_is_compact_and_removed_with_the_level() -> None:
    level = _blockwise(_polygons(seed=12))
    _accumulated(level, _rasters(seed=13))
    coverage = level.coverage
    folder = coverage._scratch.path  # type: ignore[union-attr]
    assert folder.is_dir() and folder.name.startswith(accounts_coverage.SCRATCH_PREFIX)
    windows = [coverage.window(w) for w in _windows(GRID.shape, 20)]
    segments = sum(w.start.size for w in windows if w is not None)
    cells = sum(int(w.length.sum()) for w in windows if w is not None)
    assert 0 < segments < cells / 3  # runs of whole cells: a segment per row, not per cell
    assert coverage.kept_bytes >= sum(w.nbytes for w in windows if w is not None)
    del level, coverage
    gc.collect()
    assert not folder.exists()


def test_clear_drops_the_files_and_recomputes() -> None:
    level = _blockwise(_polygons(seed=14))
    rasters = _rasters(seed=15)
    first = _accumulated(level, rasters)
    folder = level.coverage._scratch.path  # type: ignore[union-attr]
    computed = level.coverage.computed
    level.coverage.clear()
    assert not folder.exists() and level.coverage.kept_bytes == 0
    again = _accumulated(level, rasters)
    assert level.coverage.computed == 2 * computed
    for k in range(len(rasters)):
        np.testing.assert_array_equal(again[k][0], first[k][0])


def test_bytes_round_trip_and_shape_check() -> None:
    left, bottom, right, top = GRID.bounds
    edge = shapely.Point(right - 100, top - 900).buffer(400)  # over the grid's right edge
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[edge, edge.buffer(-50)], crs=UTM50)
    level = _blockwise(gdf)
    window = (slice(20, 40), slice(60, 83))  # cut at the grid's right edge
    found = level.coverage.window(window)
    assert found is not None and found.shape == (20, 23)
    back = WindowCoverage.from_bytes(found.to_bytes())
    for name in ("rows", "covered", "offsets", "start", "length", "fraction"):
        np.testing.assert_array_equal(getattr(back, name), getattr(found, name))
        assert getattr(back, name).dtype == getattr(found, name).dtype
    assert back.nbytes == found.to_bytes().size
    assert np.all(found.length >= 1) and np.all(found.fraction[found.length > 1] == 1)
    with pytest.raises(InputError, match=r"shape \(20, 20\) was added for a window of \(20, 23\)"):
        found.totals([np.zeros((20, 20))])


def test_windows_no_unit_touches_are_skipped() -> None:
    gdf = gpd.GeoDataFrame(
        {"id": [1]}, geometry=[shapely.box(400_000, 4_499_000, 400_300, 4_499_700)], crs=UTM50
    )
    level = _blockwise(gdf)
    coverage = LevelCoverage(level.polygons, GRID)
    assert coverage.window((slice(60, 80), slice(60, 80))) is None
    assert coverage.computed == 0 and coverage.kept_bytes == 0
    ((sums, fraction),) = _accumulated(level, [np.ones(GRID.shape)])
    # 300 m × 700 m over cells of 900 m²: rows cut at a third (float32 fractions)
    assert sums[0] == pytest.approx(300 * 700 / 900, rel=1e-7) and fraction[0] == 1.0
