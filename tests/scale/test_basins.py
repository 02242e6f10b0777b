"""Routing by basin: the stitched D8 routing equals the whole-raster routing exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from gep.kernels import accumulation, fill, flowdir
from gep.kernels import basins as basin_kernels
from gep.kernels._grid import COL_OFFSETS, D8_NODATA, ROW_OFFSETS
from gep.routing import basins


def valleys(n: int = 512, *, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """Four valleys draining to row 0 between sharp ridges, with pits and nodata holes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n].astype(float)
    z = 300 * np.abs(np.sin(np.pi * x / 128.0)) + 0.5 * y + rng.normal(0, noise, (n, n))
    z[rng.random((n, n)) < 0.002] -= 5  # pits
    z[200:215, 40:60] = np.round(z[200:215, 40:60], -1)  # a flat terrace
    z[rng.random((n, n)) < 0.001] = np.nan
    return z


def hills(n: int = 320, seed: int = 0) -> np.ndarray:
    """Benchmark-like terrain: a regional slope, smooth hills, pits, a flat plateau, holes.

    Like ``tests/regression/peer/make_cases.py`` (which needs GDAL): the plateau at the 60th
    percentile is partly a closed flat basin and partly drains over its rim into several
    catchments, so coarse cuts run through it.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    z = 600 * (1 - 0.5 * x - 0.3 * y)
    z += 6000 * ndimage.gaussian_filter(rng.normal(size=(n, n)), n / 16, mode="reflect")
    z += 2 * ndimage.gaussian_filter(rng.normal(size=(n, n)), 1.5)
    rows, cols = rng.integers(3, n - 3, (2, n // 10))
    for r, c in zip(rows, cols, strict=True):
        z[r - 2 : r + 3, c - 2 : c + 3] -= rng.uniform(2, 9)  # pits
    z[(y - 0.3) ** 2 + (x - 0.3) ** 2 < 0.15**2] = np.round(np.percentile(z, 60))
    z = z.astype(np.float32).astype(np.float64)
    z[rng.random((n, n)) < 0.0005] = np.nan
    return z


def whole(z: np.ndarray, algorithm: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = np.isfinite(z)
    filled = fill.fill_pits(z, ok)
    if algorithm == "d8":
        fdir = flowdir.flow_dir_d8(filled, ok)
    else:
        fdir = flowdir.flow_dir_mfd(filled, ok)
    return filled, fdir, accumulation.flow_accumulation(fdir, algorithm)


def test_coarse_basins_label_every_valid_pixel() -> None:
    z = valleys(256)
    labels = basins.coarse_basins(z, np.isfinite(z), factor=32)
    assert (labels[np.isfinite(z)] >= 0).all()
    assert (labels[~np.isfinite(z)] == -1).all()
    assert len(np.unique(labels[labels >= 0])) > 1


def test_d8_by_basin_equals_whole_raster() -> None:
    z = valleys()
    routed = basins.route_by_basin(z, algorithm="d8", factor=32)
    assert routed.n_pieces >= 2, routed.notes  # really decomposed
    filled, fdir, fa = whole(z, "d8")
    np.testing.assert_array_equal(routed.filled, filled)
    np.testing.assert_array_equal(routed.flow_direction, fdir)
    np.testing.assert_array_equal(routed.flow_accumulation, fa)
    assert routed.mfd_leak_px == 0.0


def test_d8_noisy_dem_moves_catchments_and_stays_exact() -> None:
    """Pits and flats on the coarse cuts: catchments move to their outlet's piece, exactly."""
    z = valleys(384, noise=1.0, seed=3)
    routed = basins.route_by_basin(z, algorithm="d8", factor=32)
    filled, fdir, fa = whole(z, "d8")
    np.testing.assert_array_equal(routed.filled, filled)
    np.testing.assert_array_equal(routed.flow_direction, fdir)
    np.testing.assert_array_equal(routed.flow_accumulation, fa)
    assert any("moved" in note for note in routed.notes)
    assert routed.n_pieces >= 2


def test_benchmark_like_dem_splits_into_many_exact_pieces() -> None:
    z = hills(256, seed=3)
    ok = np.isfinite(z)
    routed = basins.route_by_basin(z, factor=16)
    filled, fdir, fa = whole(z, "d8")
    np.testing.assert_array_equal(routed.filled, filled)
    np.testing.assert_array_equal(routed.flow_direction, fdir)
    np.testing.assert_array_equal(routed.flow_accumulation, fa)
    assert routed.n_pieces >= 5, routed.notes
    assert routed.largest_piece_px < 0.75 * ok.sum()
    # a flat of ~4600 px drains into two catchments: the cut runs through it, and each of
    # the two pieces routed the whole flat (as context) to get its part of it right
    flats, _ = basin_kernels.flat_components(filled, ok)
    on_flat = flats > 0
    pairs = np.unique(np.stack([flats[on_flat], routed.pieces[on_flat]]), axis=1)
    assert (np.bincount(pairs[0]) >= 2).any()
    assert routed.context_px > 0


def test_mesa_cut_through_its_flat_top() -> None:
    """A 24 px wide flat top drains half west, half east: every piece cuts through it."""
    x = np.arange(64.0)
    z = np.add.outer(np.zeros(64), np.minimum(np.minimum(x + 1, 64 - x), 21.0))
    routed = basins.route_by_basin(z, factor=32)
    filled, fdir, fa = whole(z, "d8")
    np.testing.assert_array_equal(routed.flow_direction, fdir)
    np.testing.assert_array_equal(routed.flow_accumulation, fa)
    top = filled == 21.0
    assert routed.n_pieces == 4  # two row bands, each draining west and east
    assert len(np.unique(routed.pieces[top])) == 4
    assert routed.rounds == 1  # the coarse basins were already whole catchments


def test_pieces_are_unions_of_catchments() -> None:
    """Every pixel's D8 receiver is in its own piece: no flow crosses a cut."""
    z = hills(192, seed=1)
    routed = basins.route_by_basin(z, factor=16)
    fdir = routed.flow_direction
    r, c = np.nonzero(fdir != D8_NODATA)
    rn, cn = r + ROW_OFFSETS[fdir[r, c]], c + COL_OFFSETS[fdir[r, c]]
    inside = (rn >= 0) & (rn < z.shape[0]) & (cn >= 0) & (cn < z.shape[1])
    r, c, rn, cn = r[inside], c[inside], rn[inside], cn[inside]
    routed_into = routed.pieces[rn, cn] >= 0
    assert routed_into.sum() > 0.9 * r.size
    np.testing.assert_array_equal(
        routed.pieces[r, c][routed_into], routed.pieces[rn, cn][routed_into]
    )


def test_flat_components_worked_example() -> None:
    # heights 5 2 2 2 1: the 5 has a lower neighbour (not flat); the first two 2s have none
    # (flat), the third 2 has the 1 below it but is level with them (it drains the flat, and
    # pygeoprocessing's plateau search visits it); the 1 at the edge has no lower neighbour:
    # a flat of its own.
    z = np.array([[5.0, 2, 2, 2, 1]])
    labels, n = basin_kernels.flat_components(z, np.ones(z.shape, bool))
    assert n == 2
    np.testing.assert_array_equal(labels, [[0, 1, 1, 1, 2]])


def test_mfd_by_basin_is_approximate_at_divides_only() -> None:
    z = valleys()
    routed = basins.route_by_basin(z, algorithm="mfd", factor=32)
    filled, _, fa = whole(z, "mfd")
    np.testing.assert_array_equal(routed.filled, filled)  # the fill is exact
    assert routed.n_pieces >= 2 and routed.mfd_leak_px > 0
    ok = np.isfinite(fa)
    # water MFD sends across divides is lost from one side and missing on the other: the
    # total upslope area is conserved and the per-pixel error is bounded by the leak
    assert np.nansum(routed.flow_accumulation) == pytest.approx(np.nansum(fa), rel=0.05)
    assert np.abs(routed.flow_accumulation[ok] - fa[ok]).max() <= routed.mfd_leak_px
    assert np.nanmax(np.abs(routed.flow_accumulation - fa)) > 0


@st.composite
def small_dems(draw: st.DrawFn) -> np.ndarray:
    """Whole-metre DEMs (many ties, flats and pits) with some nodata holes."""
    shape = draw(st.tuples(st.integers(2, 24), st.integers(2, 24)))
    z = draw(arrays(np.float64, shape, elements=st.integers(0, 5).map(float)))
    holes = draw(arrays(np.bool_, shape, elements=st.sampled_from([False] * 6 + [True])))
    return np.where(holes, np.nan, z)


@settings(max_examples=60, deadline=None)
@given(z=small_dems(), factor=st.integers(1, 5), fill_tile=st.integers(2, 9))
def test_random_dems_route_exactly(z: np.ndarray, factor: int, fill_tile: int) -> None:
    routed = basins.route_by_basin(z, factor=factor, fill_tile=fill_tile)
    filled, fdir, fa = whole(z, "d8")
    np.testing.assert_array_equal(routed.filled, filled)
    np.testing.assert_array_equal(routed.flow_direction, fdir)
    np.testing.assert_array_equal(routed.flow_accumulation, fa)


@pytest.mark.parametrize(("seed", "step", "factor"), [(0, 1.0, 16), (1, 2.0, 8)])
def test_quantised_terrain_with_windows_routes_exactly(seed: int, step: float, factor: int) -> None:
    """Elevations rounded to 1–2 m (flats everywhere) on rasters larger than a 256 block."""
    rng = np.random.default_rng(seed)
    z = 400 * ndimage.gaussian_filter(rng.normal(size=(400, 330)), 6)
    z = np.round((z + np.add.outer(np.linspace(0, 30, 400), np.linspace(0, 10, 330))) / step)
    z[rng.random(z.shape) < 0.003] = np.nan
    routed = basins.route_by_basin(z, factor=factor, fill_tile=128)
    filled, fdir, fa = whole(z, "d8")
    np.testing.assert_array_equal(routed.flow_direction, fdir)
    np.testing.assert_array_equal(routed.flow_accumulation, fa)
    assert routed.n_pieces >= 10


def test_bad_algorithm() -> None:
    with pytest.raises(ValueError, match="d8"):
        basins.route_by_basin(np.zeros((4, 4)), algorithm="dinf")
