"""Accounting soil retention: no stream mask, classes outside the method, resolution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.kernels.rusle import ls_factor_area
from gep.kernels.terrain import ls_factor
from gep.services import soil_retention
from gep.services.soil_retention import accounting_retention
from gep.services.spec import ServiceInputs
from tests.services.synthetic import categorical, make_grid, raster

#: class 1 forest, 2 cropland, 3 built-up (outside the method)
USLE = pd.DataFrame(
    {"usle_c": [0.006, 0.23, 0.01], "usle_p": [1.0, 0.35, 0.0], "rusle_applies": [1.0, 1.0, 0.0]},
    index=[1, 2, 3],
)


def test_accounting_retention_worked_example() -> None:
    # R = 2000, K = 0.02, LS = 1.5: RKLS = 60 t ha-1 yr-1; C·P = 0.05 → USLE 3, retained 57;
    # the same pixel on built-up land (outside the method) retains 0, not 60
    one = np.array([1.0, 1.0, 1.0])
    pot, act, ret = accounting_retention(
        2000 * one, 0.02 * one, 1.5 * one, 0.1 * one, 0.5 * one,
        np.array([1.0, 0.0, 1.0]), np.array([True, True, False]),
    )  # fmt: skip
    np.testing.assert_allclose(pot, [60.0, 60.0, np.nan])
    np.testing.assert_allclose(act, [3.0, 3.0, np.nan])
    np.testing.assert_allclose(ret, [57.0, 0.0, np.nan])


def _hill(n: int, res: float) -> np.ndarray:
    """A smooth hill with a tilt, sampled at pixel centres (same surface at every res)."""
    extent = 12_000.0
    centres = (np.arange(n) + 0.5) * res
    x, y = np.meshgrid(centres, centres)
    r2 = (x - extent / 2) ** 2 + (y - extent / 2) ** 2
    return 400.0 * np.exp(-r2 / (2 * 2500.0**2)) + 0.01 * x + 50.0


def _inputs(dem: np.ndarray, res: float, landcover: np.ndarray, **params: float) -> ServiceInputs:
    grid = make_grid(*dem.shape, res=res)
    shape = dem.shape
    return ServiceInputs.build(
        soil_retention.SPEC,
        grid,
        rasters={
            "elevation": raster(dem, grid, units="m"),
            "erosivity": raster(np.full(shape, 3000.0), grid, units="MJ mm ha-1 h-1 yr-1"),
            "erodibility": raster(np.full(shape, 0.03), grid, units="t ha h ha-1 MJ-1 mm-1"),
            "landcover": categorical(landcover.astype(np.uint8), grid),
        },
        tables={"usle_factors": USLE},
        params={"flow_dir_algorithm": "mfd", **params},
    )


def test_retention_does_not_depend_on_the_stream_threshold() -> None:
    dem = _hill(40, 300.0)
    lc = np.where(np.arange(40)[None, :] < 20, 1, 2).repeat(40, axis=0)
    few = soil_retention.compute(_inputs(dem, 300.0, lc, threshold_flow_accumulation=400))
    many = soil_retention.compute(_inputs(dem, 300.0, lc, threshold_flow_accumulation=5))
    np.testing.assert_array_equal(few["soil_retention"].values, many["soil_retention"].values)
    assert np.isfinite(many["soil_retention"].values).all()  # streams included
    # InVEST's SDR quantity is masked on streams and does change
    assert (
        np.isnan(many["soil_retention_sdr"].values).sum()
        > np.isnan(few["soil_retention_sdr"].values).sum()
    )


def test_built_up_and_water_retain_nothing() -> None:
    dem = _hill(20, 300.0)
    lc = np.full(dem.shape, 3)
    ds = soil_retention.compute(_inputs(dem, 300.0, lc, threshold_flow_accumulation=50))
    assert (ds["soil_retention"].values == 0).all()
    assert (ds["soil_loss_potential"].values > 0).any()  # the land could erode; not counted


def test_retention_30m_within_15_percent_of_300m() -> None:
    """The same surface at 300 m and 30 m: totals within 15 % (the issue's criterion).

    Measured: 30 m / 300 m = 0.853 (InVEST's LS form on the same data: 0.43).

    InVEST's LS (√ of the upslope area added to D²) loses about half of the total on the
    same data, which is why the accounts do not use it (review 2026-12-06 §1 error 3).
    """
    coarse = _hill(40, 300.0)
    fine = _hill(400, 30.0)
    totals = {}
    for name, dem, res in (("300 m", coarse, 300.0), ("30 m", fine, 30.0)):
        ds = soil_retention.compute(
            _inputs(dem, res, np.ones(dem.shape), threshold_flow_accumulation=1e9)
        )
        totals[name] = float(np.nansum(ds["soil_retention"].values))
    assert totals["30 m"] == pytest.approx(totals["300 m"], rel=0.15)


@settings(max_examples=50, deadline=None)
@given(
    slope=st.floats(0.1, 80.0),
    fa=st.floats(1.0, 1e7),
    cell=st.sampled_from([10.0, 30.0, 100.0, 300.0]),
)
def test_ls_area_properties(slope: float, fa: float, cell: float) -> None:
    s, a = np.array([slope]), np.array([fa])
    ls = ls_factor_area(s, a, cell)[0]
    assert ls > 0
    # more upslope area never lowers LS, and the cap stops its growth
    assert ls_factor_area(s, a * 2, cell)[0] >= ls * (1 - 1e-12)
    huge = ls_factor_area(s, np.array([1e12]), cell)[0]
    assert huge == pytest.approx(ls_factor_area(s, np.array([1e13]), cell)[0], rel=1e-12)
    # nothing upslope: the paper's form and InVEST's agree
    assert ls_factor_area(s, np.array([1.0]), cell)[0] == pytest.approx(
        float(ls_factor(s, np.array([1.0]), cell)[0]), rel=1e-5
    )


def test_ls_area_nodata_and_bad_input() -> None:
    out = ls_factor_area(np.array([np.nan, 5.0]), np.array([3.0, np.nan]), 30.0)
    assert np.isnan(out).all()
    with pytest.raises(ValueError, match="must be > 0"):
        ls_factor_area(np.array([5.0]), np.array([1.0]), 0.0)


def _ls_area_numpy(s, fa, d, lam):
    """The formula of :func:`ls_factor_area` written again as whole-array numpy (reference)."""
    theta = np.arctan(s / 100.0)
    sin = np.sin(theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = (sin / 0.0896) / (3.0 * np.power(sin, 0.8) + 0.56)
        m = np.select([s <= 1, s <= 3.5, s <= 5, s <= 9], [0.2, 0.3, 0.4, 0.5], beta / (1 + beta))
        x = np.abs(sin) + np.abs(np.cos(theta))
        area = np.minimum(np.maximum(fa - 1.0, 0.0) * d * d, lam * d)
        length = ((area + d * d) ** (m + 1) - area ** (m + 1)) / (d ** (m + 2) * x**m * 22.13**m)
    steep = np.where(s < 9, 10.8 * sin + 0.03, 16.8 * sin - 0.5)
    return np.where(np.isnan(s) | np.isnan(fa), np.nan, length * steep)


@pytest.mark.parametrize("cell", [10.0, 30.0, 300.0])
def test_the_compiled_ls_factor_is_the_formula_on_every_branch(cell):
    """Every slope class (m = 0.2 … β/(1+β)), the class limits, the cap, FA = 1 and NaNs.

    Tolerance: the transcendental functions of numpy and of the compiled code may differ in
    their last bits; L differences two powers of about (λ_max/D)·D² and D², which amplifies a
    relative error by at most about λ_max/D·(m+1) < 100 here (1e-10 is far above that).
    """
    rng = np.random.default_rng(3)
    limits = np.array([0.0, 1.0, 3.5, 5.0, 9.0, 9.000001, 0.5, 200.0])
    s = np.concatenate([limits, rng.uniform(0, 150, 20_000), [np.nan, 5.0]])
    fa = np.concatenate([np.ones(limits.size), rng.uniform(1, 10**6, 20_000), [3.0, np.nan]])
    fa[10:100] = 1.0
    got = ls_factor_area(s, fa, cell, max_slope_length_m=305.0)
    want = _ls_area_numpy(s, fa, cell, 305.0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
    assert np.isnan(got[-2:]).all() and np.isfinite(got[:-2]).all()
    grid = ls_factor_area(s[:-2].reshape(164, 122), fa[:-2].reshape(164, 122), cell)
    assert grid.shape == (164, 122) and np.array_equal(grid.ravel(), got[:-2])
