"""Routing by basin: the stitched D8 routing equals the whole-raster routing exactly."""

from __future__ import annotations

import numpy as np
import pytest

from gep import basins
from gep.kernels import accumulation, fill, flowdir


def valleys(n: int = 512, *, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """Four valleys draining to row 0 between sharp ridges, with pits and nodata holes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n].astype(float)
    z = 300 * np.abs(np.sin(np.pi * x / 128.0)) + 0.5 * y + rng.normal(0, noise, (n, n))
    z[rng.random((n, n)) < 0.002] -= 5  # pits
    z[200:215, 40:60] = np.round(z[200:215, 40:60], -1)  # a flat terrace
    z[rng.random((n, n)) < 0.001] = np.nan
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


def test_d8_noisy_dem_merges_and_stays_exact() -> None:
    """Pits on the cuts force merges; the result is still the whole-raster one."""
    z = valleys(384, noise=1.0, seed=3)
    routed = basins.route_by_basin(z, algorithm="d8", factor=32)
    filled, fdir, fa = whole(z, "d8")
    np.testing.assert_array_equal(routed.filled, filled)
    np.testing.assert_array_equal(routed.flow_direction, fdir)
    np.testing.assert_array_equal(routed.flow_accumulation, fa)
    assert any("merged" in note for note in routed.notes)


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


def test_bad_algorithm() -> None:
    with pytest.raises(ValueError, match="d8"):
        basins.route_by_basin(np.zeros((4, 4)), algorithm="dinf")
