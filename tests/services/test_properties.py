"""Property tests: physical bounds, NaN propagation, monotonicity, plain reference formulas."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.kernels import carbon, lookup, rusle, water

SETTINGS = settings(max_examples=60, deadline=None)

kc_s = st.floats(0.05, 1.5)
eto_s = st.floats(100.0, 2500.0)
precip_s = st.floats(1.0, 4000.0)
depth_s = st.floats(1.0, 6000.0)
pawc_s = st.floats(0.0, 0.6)
z_s = st.floats(0.5, 30.0)


def _awy(kc, eto, p, root, soil, pawc, veg, z):
    arrays = [np.array([v], dtype=np.float64) for v in (kc, eto, p, root, soil, pawc, veg)]
    return [float(a[0]) for a in water.annual_water_yield(*arrays, z)]


@SETTINGS
@given(kc_s, eto_s, precip_s, depth_s, depth_s, pawc_s, st.sampled_from([0.0, 1.0]), z_s)
def test_water_yield_is_bounded(kc, eto, p, root, soil, pawc, veg, z) -> None:
    f, aet, wy = _awy(kc, eto, p, root, soil, pawc, veg, z)
    assert 0.0 <= f <= 1.0 + 1e-12
    assert -1e-9 <= wy <= p * (1 + 1e-12)
    assert aet <= kc * eto * (1 + 1e-9) + 1e-9  # AET never exceeds PET
    assert math.isclose(aet + wy, p, rel_tol=1e-12)


@SETTINGS
@given(
    kc_s,
    eto_s,
    precip_s,
    st.floats(0.0, 3000.0),
    depth_s,
    depth_s,
    pawc_s,
    st.sampled_from([0.0, 1.0]),
    z_s,
)
def test_more_precipitation_never_less_water_yield(
    kc, eto, p, extra, root, soil, pawc, veg, z
) -> None:
    wy_low = _awy(kc, eto, p, root, soil, pawc, veg, z)[2]
    wy_high = _awy(kc, eto, p + extra, root, soil, pawc, veg, z)[2]
    assert wy_high >= wy_low - 1e-9 * (p + extra)


@SETTINGS
@given(kc_s, eto_s, precip_s, depth_s, depth_s, pawc_s, z_s, st.integers(0, 6))
def test_water_yield_nan_in_nan_out(kc, eto, p, root, soil, pawc, z, which) -> None:
    args = [kc, eto, p, root, soil, pawc, 1.0]
    args[which] = math.nan
    assert all(math.isnan(v) for v in _awy(*args, z))


@SETTINGS
@given(
    st.floats(0, 4000), st.floats(0, 3000), st.floats(0, 1), st.floats(0, 1000), st.integers(0, 2)
)
def test_water_balance_reference_monotone_and_nan(p, et, alpha, extra, which) -> None:
    q = water.water_balance(np.array([p, p + extra]), np.array([et, et]), np.array([alpha, alpha]))
    assert math.isclose(q[0], p - alpha * p - et, rel_tol=1e-12, abs_tol=1e-9)
    assert q[1] >= q[0] - 1e-9
    args = [np.array([p]), np.array([et]), np.array([alpha])]
    args[which] = np.array([math.nan])
    assert np.isnan(water.water_balance(*args)[0])


positive = st.floats(0.0, 1e4)
factor = st.floats(0.0, 1.0)


@SETTINGS
@given(positive, st.floats(0, 1), st.floats(0, 50), factor, factor)
def test_rusle_bounds_and_reference(r, k, ls, c, p) -> None:
    pot, act, ret = (float(a[0]) for a in rusle.rusle(*(np.array([v]) for v in (r, k, ls, c, p))))
    assert pot >= 0 and act >= 0 and ret >= -1e-9 * max(pot, 1)
    assert act <= pot * (1 + 1e-12)
    assert math.isclose(ret, r * k * ls * (1 - c * p), rel_tol=1e-9, abs_tol=1e-9 * max(pot, 1))
    _, _, none_retained = rusle.rusle(*(np.array([v]) for v in (r, k, ls, 1.0, 1.0)))
    assert none_retained[0] == 0.0  # C = P = 1: no retention


@SETTINGS
@given(st.floats(1, 500), st.integers(1, 100), st.floats(0, 20), st.floats(0, 20))
def test_valuation_factor_matches_explicit_sum(price, n, d, c) -> None:
    r = 1.0 / ((1 + d / 100) * (1 + c / 100))
    explicit = price / n * sum(r**t for t in range(n))
    k = carbon.valuation_factor(price, n, d, c)
    assert math.isclose(k, explicit, rel_tol=1e-9)
    assert k <= price * (1 + 1e-12)  # discounting never raises the value


@SETTINGS
@given(st.lists(st.integers(0, 300), min_size=1, max_size=200), st.integers(0, 300))
def test_lookup_matches_a_plain_dict(codes, nodata) -> None:
    table = {c: float(c) * 0.5 + 1 for c in set(codes) if c % 3}
    lut, offset = lookup.build_lut(
        np.array(list(table), dtype=np.int64), np.array(list(table.values()))
    )
    arr = np.array(codes, dtype=np.int16)
    out = lookup.apply_lut(arr, lut, offset, nodata=nodata)
    expected = [math.nan if c == nodata else table.get(c, math.nan) for c in codes]
    np.testing.assert_array_equal(out, expected)
    missing = lookup.missing_codes(arr, np.array(list(table), dtype=np.int64), nodata=nodata)
    assert set(missing.tolist()) == {c for c in codes if c not in table and c != nodata}
