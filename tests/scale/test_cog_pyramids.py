"""COGs written window by window carry overviews built on the way: exact block means."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from data_catalog.grid import Grid
from gep import chunked, maps
from gep.io import window_files
from gep.io.cog import overview_factors
from gep.kernels.pyramid import level_means


def block_means(values: np.ndarray, factor: int) -> np.ndarray:
    """Reference: mean of the non-NaN cells of each ``factor``² block (edge blocks partial)."""
    rows, cols = values.shape
    out_rows, out_cols = -(-rows // factor), -(-cols // factor)
    padded = np.full((out_rows * factor, out_cols * factor), np.nan)
    padded[:rows, :cols] = values
    blocks = padded.reshape(out_rows, factor, out_cols, factor)
    counts = np.isfinite(blocks).sum(axis=(1, 3))
    sums = np.where(np.isfinite(blocks), blocks, 0.0).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    rng = np.random.default_rng(3)
    a = rng.gamma(2.0, 50.0, size=(1300, 1100)).astype(np.float32)
    a[rng.random(a.shape) < 0.2] = np.nan  # scattered nodata
    a[:100, :260] = np.nan  # whole blocks of nodata at every level up to 64
    return a


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (64, 64), (67, 129)])
def test_level_means_are_exact_block_means(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    a = rng.normal(size=shape)
    a[rng.random(shape) < 0.3] = np.nan
    for k, level in enumerate(level_means(a, 4)):
        expected = block_means(a, 2 ** (k + 1))
        assert level.dtype == np.float32
        np.testing.assert_allclose(level, expected, rtol=1e-6, atol=1e-6)
        assert np.array_equal(np.isnan(level), np.isnan(expected))


def test_factors_follow_the_cog_driver() -> None:
    assert overview_factors((1300, 1100)) == [2, 4]
    assert overview_factors((17970, 17970)) == [2, 4, 8, 16, 32, 64]
    assert overview_factors((17970, 17970), limit=16) == [2, 4, 8, 16]
    assert overview_factors((512, 512)) == []


def _grid(shape: tuple[int, int]) -> Grid:
    return Grid(rasterio.crs.CRS.from_epsg(32650), from_origin(400000, 4500000, 30, 30), shape)


@pytest.mark.parametrize("raw", [True, False], ids=["raw-temporary", "zstd-temporary"])
def test_written_cog_has_exact_mean_overviews(
    values: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: bool
) -> None:
    monkeypatch.setattr(window_files, "RAW_TMP_BYTES", 1 << 40 if raw else 0)
    grid = _grid(values.shape)
    paths = chunked.write_windows(
        {"q": (np.dtype(np.float32), "t yr-1"), "v": (np.dtype(np.float32), "CNY yr-1")},
        grid,
        tmp_path,
        lambda w: [values[w], values[w] * 2.0],
        block=512,  # windows of 512: every level up to 512 is whole per window
        cog=True,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.tif", "v.tif"]  # nothing left
    with rasterio.open(paths["q"]) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.overviews(1) == [2, 4]
        assert src.tags()["units"] == "t yr-1"
        assert src.descriptions == ("q",)
        full = src.read(1, masked=True).filled(np.nan)
    np.testing.assert_array_equal(full, values)
    for level, factor in enumerate([2, 4]):
        with rasterio.open(paths["q"], overview_level=level) as src:
            overview = src.read(1, masked=True).astype(np.float64).filled(np.nan)
        expected = block_means(values, factor)
        np.testing.assert_allclose(overview, expected, rtol=1e-6)
        assert np.array_equal(np.isnan(overview), np.isnan(expected))


def test_map_reads_the_overview_instead_of_the_raster(
    values: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = _grid(values.shape)
    path = chunked.write_windows(
        {"q": (np.dtype(np.float32), "t yr-1")}, grid, tmp_path, lambda w: [values[w]], cog=True
    )["q"]
    lazy = xr.DataArray(values, dims=("y", "x")).chunk(512)
    expected = maps.display_array(values.astype(np.float64), 400)  # factor 4
    with monkeypatch.context() as m:  # the full raster is not reduced again
        m.setattr(xr.DataArray, "coarsen", lambda *a, **k: pytest.fail("read whole"))
        shown = maps.display_values(lazy, 400, path)
    np.testing.assert_allclose(shown, expected, rtol=1e-6)
    # a file without that overview: block means of the array, the same values
    np.testing.assert_allclose(
        maps.display_values(lazy, 200, path), maps.display_array(values, 200)
    )


def test_window_off_the_level_grid_is_refused(tmp_path: Path) -> None:
    grid = _grid((1300, 1100))
    with contextlib.ExitStack() as stack:
        types = {"q": (np.dtype(np.float32), "")}
        targets, _ = window_files.open_targets(stack, types, grid, tmp_path, True)
        with pytest.raises(ValueError, match="multiple of"):
            targets[0][(slice(3, 515), slice(0, 512))] = np.zeros((512, 512), np.float32)


def test_files_published_as_written_are_compressed(values: np.ndarray, tmp_path: Path) -> None:
    """Without COGs the temporary files are the outputs: ZSTD, never left uncompressed."""
    grid = _grid(values.shape)
    path = chunked.write_windows(
        {"q": (np.dtype(np.float32), "t yr-1")}, grid, tmp_path, lambda w: [values[w]], cog=False
    )["q"]
    with rasterio.open(path) as src:
        assert src.compression is not None and src.compression.name.lower() == "zstd"
        assert src.overviews(1) == []
        np.testing.assert_array_equal(src.read(1, masked=True).filled(np.nan), values)


def test_windows_computed_in_parallel_are_written_and_handed_over_in_order(
    values: np.ndarray, tmp_path: Path
) -> None:
    """``parallel=3``: windows finishing out of order still reach ``on_block`` in window order
    (so per-unit sums add up in the same order) and the file equals a serial run's."""
    import threading
    import time

    grid = _grid(values.shape)
    first = slice(0, 512), slice(0, 512)
    threads: set[int] = set()

    def compute(window: tuple[slice, slice]) -> list[np.ndarray]:
        threads.add(threading.get_ident())
        if window != first:  # later windows in reverse speed: the first of a pair ends last
            time.sleep(0.05 * (3 - (window[1].start // 512)))
        return [values[window]]

    seen: list[tuple[slice, slice]] = []
    out = {"q": (np.dtype(np.float32), "t yr-1")}
    parallel = chunked.write_windows(
        out,
        grid,
        tmp_path / "p",
        compute,
        block=512,
        cog=False,
        on_block=lambda w, v: seen.append(w),
        parallel=3,
    )
    serial = chunked.write_windows(
        out, grid, tmp_path / "s", lambda w: [values[w]], block=512, cog=False
    )
    assert seen == chunked.block_windows(grid.shape, 512) and len(threads) > 1
    with rasterio.open(parallel["q"]) as a, rasterio.open(serial["q"]) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
