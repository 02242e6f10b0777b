"""Tiled depression filling (Barnes 2016) equals the whole-raster priority flood, bit for bit."""

from __future__ import annotations

import doctest

import dask.array as da
import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rasterio.transform import from_origin

from gep.errors import ParameterError
from gep.kernels import tiled_fill
from gep.kernels.fill import fill_pits
from gep.routing import tiled_fill as tiled_routing
from gep.routing.tiled_fill import WindowedRaster, fill_pits_tiled

from .test_basins import valleys

STRATEGIES = ("cache", "recompute")


def corner_bowl() -> np.ndarray:
    """A 2 × 2 bowl on the corner shared by four 3 × 3 tiles, spilling out at (5, 4)."""
    z = np.full((6, 6), 9.0)
    z[1:5, 1:5] = 6.0  # rim
    z[2:4, 2:4] = 1.0  # bowl: one pixel in each tile
    z[4, 4] = 5.0  # the pour point, inside the bottom-right tile
    z[5, 4] = 4.0  # on the raster edge: drains off it
    return z


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_bowl_across_a_tile_corner_fills_to_its_pour_point(strategy: str) -> None:
    # The bowl's lowest way out is (2,2)→(3,3)→(4,4)→(5,4)→off the edge, whose highest
    # pixel is max(1, 1, 5, 4) = 5 m; every other way crosses the 6 m rim or the 9 m edge.
    # So the four bowl pixels (one per tile) rise from 1 to 5 m and nothing else changes.
    z = corner_bowl()
    filled = fill_pits_tiled(z, tile=3, strategy=strategy).filled
    expected = z.copy()
    expected[2:4, 2:4] = 5.0
    np.testing.assert_array_equal(filled, expected)
    np.testing.assert_array_equal(filled, fill_pits(z))


def test_bowl_next_to_a_nodata_hole_is_not_filled() -> None:
    # A nodata pixel in the bowl is a way out (pygeoprocessing): its neighbours drain into
    # it at their own height, so the bowl keeps its 1 m floor.
    z = corner_bowl()
    z[2, 2] = np.nan
    filled = fill_pits_tiled(z, tile=3).filled
    np.testing.assert_array_equal(filled, z)
    assert filled[3, 3] == 1.0


def test_graph_size_is_the_tile_perimeters() -> None:
    # 10 × 10 in 4 × 4 tiles: tile heights 4, 4, 2 and widths 4, 4, 2. A 4 × 4 tile has
    # 4·4 − 2·2 = 12 perimeter pixels; 4 × 2, 2 × 4 and 2 × 2 tiles are all perimeter
    # (8, 8, 4). Nodes: 1 ocean + 4·12 + 2·8 + 2·8 + 4 = 85.
    result = fill_pits_tiled(np.zeros((10, 10)), tile=4)
    assert result.n_tiles == 9
    assert result.graph_nodes == 85


def test_perimeter_index_is_row_major() -> None:
    h, w = 4, 5
    ring = [(r, c) for r in range(h) for c in range(w) if r in (0, h - 1) or c in (0, w - 1)]
    assert [tiled_fill.perimeter_index(r, c, h, w) for r, c in ring] == list(range(len(ring)))
    assert tiled_fill.perimeter_count(h, w) == len(ring) == 14


@pytest.mark.parametrize("tile", [1, 2, 7, (3, 5), (1, 9), (9, 1), (13, 4), 64, 1000])
def test_odd_tile_sizes(tile: int | tuple[int, int]) -> None:
    z = valleys(96, noise=1.0, seed=4)[:61, :53]
    expected = fill_pits(z)
    for strategy in STRATEGIES:
        got = fill_pits_tiled(z, tile=tile, strategy=strategy).filled
        np.testing.assert_array_equal(got, expected)


def test_valleys_with_pits_flats_and_holes() -> None:
    z = valleys(512, noise=1.0, seed=2)
    assert (fill_pits(z) > z).sum() > 100  # many filled pixels, many spanning tile edges
    np.testing.assert_array_equal(fill_pits_tiled(z, tile=100).filled, fill_pits(z))


def test_valid_mask_is_honoured() -> None:
    z = valleys(128, noise=1.0, seed=5)
    mask = np.ones(z.shape, bool)
    mask[40:60, 30:90] = False
    expected = fill_pits(z, mask)
    np.testing.assert_array_equal(fill_pits_tiled(z, mask, tile=32).filled, expected)


@st.composite
def dems(draw: st.DrawFn) -> np.ndarray:
    """DEMs in whole metres 0–5 (many ties, flats and pits) with some nodata holes."""
    shape = draw(st.tuples(st.integers(1, 24), st.integers(1, 24)))
    z = draw(arrays(np.float64, shape, elements=st.integers(0, 5).map(float)))
    holes = draw(arrays(np.bool_, shape, elements=st.sampled_from([False] * 7 + [True])))
    return np.where(holes, np.nan, z)


@settings(max_examples=150, deadline=None)
@given(
    z=dems(),
    tile=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    strategy=st.sampled_from(STRATEGIES),
)
def test_random_dems_equal_the_whole_raster_fill(
    z: np.ndarray, tile: tuple[int, int], strategy: str
) -> None:
    got = fill_pits_tiled(z, tile=tile, strategy=strategy).filled
    np.testing.assert_array_equal(got, fill_pits(z))


def test_lazy_inputs_and_outputs(tmp_path) -> None:
    z = valleys(200, noise=1.0, seed=6)
    expected = fill_pits(z)
    src = np.memmap(tmp_path / "dem.f32", dtype=np.float32, mode="w+", shape=z.shape)
    src[:] = z
    out = np.memmap(tmp_path / "filled.f64", dtype=np.float64, mode="w+", shape=z.shape)
    expected32 = fill_pits(np.asarray(src, dtype=np.float64))
    fill_pits_tiled(src, tile=64, out=out)
    np.testing.assert_array_equal(np.asarray(out), expected32)
    lazy = da.from_array(z, chunks=50)
    np.testing.assert_array_equal(fill_pits_tiled(lazy, tile=(70, 45)).filled, expected)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_windowed_geotiff_round_trip(tmp_path, strategy: str) -> None:
    z = valleys(150, noise=1.0, seed=7)
    profile = {
        "driver": "GTiff",
        "height": z.shape[0],
        "width": z.shape[1],
        "count": 1,
        "dtype": "float64",
        "nodata": -9999.0,
        "crs": "EPSG:32650",
        "transform": from_origin(400000, 4400000, 30, 30),
        "tiled": True,
        "blockxsize": 64,
        "blockysize": 64,
    }
    with rasterio.open(tmp_path / "dem.tif", "w", **profile) as dst:
        dst.write(np.where(np.isnan(z), -9999.0, z), 1)
    with (
        rasterio.open(tmp_path / "dem.tif") as src,
        rasterio.open(tmp_path / "filled.tif", "w", **profile) as dst,
    ):
        fill_pits_tiled(WindowedRaster(src), tile=64, out=WindowedRaster(dst), strategy=strategy)
    with rasterio.open(tmp_path / "filled.tif") as ds:
        got = WindowedRaster(ds)[:, :]
    np.testing.assert_array_equal(got, fill_pits(z))


def test_cache_on_disk(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(tiled_routing, "IN_MEMORY_CACHE_PX", 10)
    z = valleys(64, noise=1.0, seed=8)
    got = fill_pits_tiled(z, tile=16, scratch_dir=tmp_path).filled
    np.testing.assert_array_equal(got, fill_pits(z))
    assert not list(tmp_path.iterdir())  # the temporary cache file is gone


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tile": 0}, "tile must be a positive"),
        ({"strategy": "evict"}, "strategy must be"),
        ({"valid": np.ones((3, 3), bool)}, "valid has shape"),
        ({"out": np.zeros((3, 3))}, "out has shape"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        fill_pits_tiled(np.zeros((4, 4)), **kwargs)


def test_not_2d() -> None:
    with pytest.raises(ParameterError, match="2-D"):
        fill_pits_tiled(np.zeros(4))


def test_doctests() -> None:
    assert doctest.testmod(tiled_routing, extraglobs={"np": np}).failed == 0
