"""Kernels on hand-checkable arrays: worked examples with the arithmetic shown."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gep.kernels import carbon, lookup, rusle, water

# --- lookup -------------------------------------------------------------------------------------


def test_lookup_worked_example() -> None:
    # codes 10 and 12 -> 0.5 and 2.0; 255 is nodata; 11 is absent from the table -> NaN
    lut, offset = lookup.build_lut(np.array([10, 12]), np.array([0.5, 2.0]))
    assert offset == 10 and np.isnan(lut[1])
    classes = np.array([[10, 12, 255], [11, 10, 12]], dtype=np.uint8)
    for parallel in (True, False):
        out = lookup.apply_lut(classes, lut, offset, nodata=255, parallel=parallel)
        np.testing.assert_array_equal(out, [[0.5, 2.0, np.nan], [np.nan, 0.5, 2.0]])
    np.testing.assert_array_equal(
        lookup.missing_codes(classes, np.array([10, 12]), nodata=255), [11]
    )
    np.testing.assert_array_equal(lookup.codes_present(classes), [10, 11, 12, 255])


def test_lookup_wide_codes_and_negative_codes() -> None:
    classes = np.array([-5, 70_000, -5, 3], dtype=np.int32)
    np.testing.assert_array_equal(lookup.codes_present(classes, nodata=3), [-5, 70_000])
    lut, off = lookup.build_lut(np.array([-5, 70_000]), np.array([1.0, 2.0]), dtype=np.float32)
    out = lookup.apply_lut(classes, lut, off, nodata=3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.0, 2.0, 1.0, np.nan])


def test_lookup_rejects_float_classes_and_duplicates() -> None:
    with pytest.raises(TypeError, match="integer"):
        lookup.codes_present(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="duplicate"):
        lookup.build_lut(np.array([1, 1]), np.array([1.0, 2.0]))


# --- water balance --------------------------------------------------------------------------------


def test_water_balance_worked_example() -> None:
    # P = 800, α = 0.027 (落叶阔叶林, gong2017), ET = 450: Q = 800 − 21.6 − 450 = 328.4 mm
    # P = 400, α = 0.0937, ET = 420: Q = 400 − 37.48 − 420 = −57.48 mm (kept negative)
    q = water.water_balance(
        np.array([800.0, 400.0]), np.array([450.0, 420.0]), np.array([0.027, 0.0937])
    )
    np.testing.assert_allclose(q, [328.4, -57.48], rtol=1e-12)


# --- annual water yield -----------------------------------------------------------------------------


def _awy(kc, eto, p, root, soil, pawc, veg, z, dtype=np.float64):
    arrays = [np.array([v], dtype=dtype) for v in (kc, eto, p, root, soil, pawc, veg)]
    return [float(a[0]) for a in water.annual_water_yield(*arrays, z)]


def test_awy_vegetated_worked_example() -> None:
    # Kc = 0.8, ET0 = 1000 → PET = 800; P = 600 → φ = 4/3
    # AWC = min(1500, 1000)·0.2 = 200 mm; ω = 4·200/600 + 1.25 = 2.583333
    # (1 + φ^ω)^(1/ω): φ^ω = exp(2.583333·ln 1.333333) = exp(2.583333·0.287682) = 2.102608
    #   3.102608^(1/2.583333) = exp(1.132243 / 2.583333) = exp(0.438288) = 1.550051
    # AET/P = min(4/3, 1 + 4/3 − 1.550051) = 0.783283; AET = 469.970 mm; yield = 130.030 mm
    f, aet, wy = _awy(0.8, 1000.0, 600.0, 1500.0, 1000.0, 0.2, 1.0, 4.0)
    assert f == pytest.approx(0.783283, abs=2e-6)
    assert aet == pytest.approx(469.970, abs=2e-3)
    assert wy == pytest.approx(130.030, abs=2e-3)


def test_awy_omega_capped_at_five() -> None:
    # AWC = 1000·0.5 = 500 mm, P = 100, Z = 30: ω = 30·5 + 1.25 = 151.25 → 5
    # φ = 0.5: AET/P = 1.5 − (1 + 0.5^5)^(1/5) = 1.5 − exp(0.2·ln 1.03125)
    #   = 1.5 − exp(0.0061543) = 1.5 − 1.006173 = 0.493827
    f, _, _ = _awy(1.0, 50.0, 100.0, 1000.0, 2000.0, 0.5, 1.0, 30.0)
    assert f == pytest.approx(1.5 - (1 + 0.5**5) ** 0.2, rel=1e-12)
    assert f == pytest.approx(0.493827, abs=1e-6)


def test_awy_non_vegetated_branch() -> None:
    # water (veg 0): AET/P = min(Kc·ET0, P)/P; Kc 1.05·ET0 900 = 945 > P 700 → 1, yield 0
    f, aet, wy = _awy(1.05, 900.0, 700.0, 1.0, 500.0, 0.1, 0.0, 5.0)
    assert (f, aet, wy) == (1.0, 700.0, 0.0)
    # built-up: Kc 0.2·ET0 900 = 180 < P 700 → 180/700; yield = 700 − 180 = 520 mm
    f, aet, wy = _awy(0.2, 900.0, 700.0, 1.0, 500.0, 0.1, 0.0, 5.0)
    assert f == pytest.approx(180 / 700) and wy == pytest.approx(520.0)


def test_awy_zero_and_nan_inputs_give_nan() -> None:
    assert all(math.isnan(v) for v in _awy(1.0, 500.0, 0.0, 100.0, 100.0, 0.1, 1.0, 5.0))
    for i in range(7):
        args = [1.0, 500.0, 800.0, 100.0, 100.0, 0.1, 1.0]
        args[i] = np.nan
        f, _, wy = _awy(*args, 5.0)
        if i == 3:  # root depth: NaN propagates on vegetated pixels only
            assert math.isnan(f)
            args[6] = 0.0
            assert not math.isnan(_awy(*args, 5.0)[0])
        else:
            assert math.isnan(f) and math.isnan(wy), f"input {i}"


def _invest_fractp_float32(kc, eto, p, root, soil, pawc, veg, z):
    """natcap.invest 3.20 fractp_op, written out plainly with numpy float32 (the reference)."""
    phi = (kc * eto) / p
    pet = kc * eto
    awc = np.where(root < soil, root, soil) * pawc
    w = (awc / p) * np.float32(z) + np.float32(1.25)
    w[w > 5.0] = np.float32(5.0)
    aet_p = (np.float32(1) + pet / p) - (np.float32(1) + (pet / p) ** w) ** (np.float32(1) / w)
    veg_result = np.where(phi < aet_p, phi, aet_p)
    nonveg = kc * eto
    mask = p < kc * eto
    nonveg[mask] = p[mask]
    return np.where(veg == 1.0, veg_result, nonveg / p)


def _budyko_f64(kc, eto, p, root, soil, pawc, veg, z):
    """The same formula in float64 (its rounding errors are 2^29 times smaller than float32's)."""
    kc, eto, p, root, soil, pawc, veg = (
        a.astype(np.float64) for a in (kc, eto, p, root, soil, pawc, veg)
    )
    x = kc * eto / p
    w = np.minimum(np.minimum(root, soil) * pawc / p * z + 1.25, 5.0)
    veg_result = np.minimum(x, 1.0 + x - (1.0 + x**w) ** (1.0 / w))
    return np.where(veg == 1.0, veg_result, np.minimum(kc * eto, p) / p), x, w


def _budyko_condition(x, w):
    """Sum of the terms' magnitudes, |x ∂g/∂x| and |w ∂g/∂w| of g = (1 + x^w)^(1/w), float64.

    AET/P = 1 + x − g(x, w) subtracts two numbers close to 1 + x: the absolute rounding error of
    a float32 evaluation is bounded by a few units of roundoff u = 2^-24 times the magnitude of
    the terms (1 + x) plus the amplification of the relative errors of x and w through g.
    """
    g = (1.0 + x**w) ** (1.0 / w)
    dg_dx = x ** (w - 1.0) * (1.0 + x**w) ** (1.0 / w - 1.0)
    log_term = np.log1p(x**w)
    dg_dw = g * (-log_term / w**2 + np.where(x > 0, x**w * np.log(x), 0.0) / (w * (1.0 + x**w)))
    return (1.0 + x) + g + np.abs(x * dg_dx) + np.abs(w * dg_dw)


#: Units of roundoff allowed per unit of condition: x and w carry up to 3 roundings each, each
#: float32 power up to 4 ulp (numpy's and SVML's SIMD float32 pow are within 4 ulp), the sums 1
#: each; 16 bounds their sum with a margin. The bound holds on any CPU numpy supports.
BUDYKO_ULPS = 16


def _budyko_inputs(n=10_000, seed=42):
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(0.1, 1.3, n).astype(np.float32),  # kc
        rng.uniform(300, 1500, n).astype(np.float32),  # ET0
        rng.uniform(100, 2000, n).astype(np.float32),  # P
        rng.uniform(100, 5000, n).astype(np.float32),  # root depth
        rng.uniform(100, 5000, n).astype(np.float32),  # soil depth
        rng.uniform(0.0, 0.4, n).astype(np.float32),  # PAWC
        (rng.uniform(size=n) < 0.7).astype(np.float32),  # vegetated
    )


def test_awy_float32_within_its_conditioning_bound_of_float64():
    inputs = _budyko_inputs()
    f, aet, wy = water.annual_water_yield(*inputs, 5.0)
    assert f.dtype == np.float32
    exact, x, w = _budyko_f64(*inputs, 5.0)
    bound = BUDYKO_ULPS * 2.0**-24 * _budyko_condition(x, w)
    error = np.abs(f.astype(np.float64) - exact)
    assert np.all(error <= bound), f"worst: {np.max(error / bound):.2f} of the bound"
    np.testing.assert_array_equal(wy, (np.float32(1.0) - f) * inputs[2])


def test_awy_float32_matches_invest_arithmetic_on_any_cpu():
    """InVEST's float32 numpy arithmetic and ours agree within both bounds on any CPU.

    On the same numpy build and CPU features they are bit-identical (the README's parity claim);
    numpy chooses SIMD code for float32 ``power`` at run time, so on another CPU the two may
    differ in the last bits, amplified by the Budyko subtraction. Each is within the float32
    conditioning bound of the float64 value, so they are within twice the bound of each other.
    """
    inputs = _budyko_inputs(seed=7)
    f, _, _ = water.annual_water_yield(*inputs, 5.0)
    ref = _invest_fractp_float32(*inputs, 5.0)
    _, x, w = _budyko_f64(*inputs, 5.0)
    bound = 2 * BUDYKO_ULPS * 2.0**-24 * _budyko_condition(x, w)
    assert np.all(np.abs(f.astype(np.float64) - ref.astype(np.float64)) <= bound)


def test_awy_condition_bound_is_tight_enough_to_catch_a_wrong_formula():
    """A formula error far smaller than a physical one (ω off by 1e-4) breaks the bound."""
    inputs = _budyko_inputs(n=2_000)
    exact, x, w = _budyko_f64(*inputs, 5.0)
    wrong, _, _ = _budyko_f64(*inputs, 5.0 * (1 + 1e-4))
    bound = BUDYKO_ULPS * 2.0**-24 * _budyko_condition(x, w)
    assert np.any(np.abs(wrong - exact) > bound)


# --- carbon ---------------------------------------------------------------------------------------


def test_pool_density_and_change() -> None:
    # forest 48.6 + 12.1 + 95.4 + 6.3 = 162.4; crop 5.2 + 1.3 + 68.0 + 0.5 = 75.0
    d = carbon.total_pool_density(
        np.array([[48.6, 12.1, 95.4, 6.3], [5.2, 1.3, 68.0, 0.5]]), dtype=np.float64
    )
    np.testing.assert_allclose(d, [162.4, 75.0], rtol=1e-15)
    np.testing.assert_allclose(carbon.stock_change(d, d[::-1]), [-87.4, 87.4])
    assert carbon.annualise(87.4, 20) == pytest.approx(4.37)


def test_valuation_factor_worked_examples() -> None:
    # n = 20, d = 7 %, c = 0 %: r = 1/1.07; Σ_{t<20} r^t = (1 − 1.07^−20)/(1 − 1/1.07)
    #   1.07^−20 = 0.258419; 1 − 1/1.07 = 0.065421; sum = 0.741581/0.065421 = 11.335814
    #   K = 43/20 · 11.335814 = 24.372
    assert carbon.valuation_factor(43.0, 20, 7.0, 0.0) == pytest.approx(24.372, abs=1e-3)
    # d = 5 %, c = −4.7619 % → (1.05)(0.952381) = 1 → r == 1 → K = price
    assert carbon.valuation_factor(43.0, 10, 0.0, 0.0) == 43.0
    # the limit is continuous: d → 0 gives K → price
    assert carbon.valuation_factor(43.0, 10, 1e-9, 0.0) == pytest.approx(43.0, rel=1e-8)
    with pytest.raises(ValueError):
        carbon.valuation_factor(43.0, 0, 7.0, 0.0)


def test_nep_forms() -> None:
    # α = 0.2, NPP 8.1 t DM → 8.1·72/162 = 3.6 t C → NEP = 0.72 t C
    np.testing.assert_allclose(
        carbon.nep_from_npp_ratio(np.array([8.1]), 0.2, dry_matter=True), [0.72]
    )
    np.testing.assert_allclose(carbon.nep_from_npp_ratio(np.array([5.0]), 0.4), [2.0])
    np.testing.assert_allclose(
        carbon.nep_from_respiration(np.array([5.0]), np.array([6.5])), [-1.5]
    )


# --- RUSLE ----------------------------------------------------------------------------------------


def test_rusle_worked_example_and_no_retention_at_c_p_one() -> None:
    # R 3000 · K 0.03 · LS 2 = 180 t/ha/yr; C·P = 0.1·0.6 = 0.06 → USLE 10.8, retained 169.2
    pot, act, ret = rusle.rusle(
        *(np.array([v, v]) for v in (3000.0, 0.03, 2.0)), np.array([0.1, 1.0]), np.array([0.6, 1.0])
    )
    np.testing.assert_allclose(pot, [180.0, 180.0])
    np.testing.assert_allclose(act, [10.8, 180.0])
    np.testing.assert_allclose(ret, [169.2, 0.0])


def test_water_yield_by_class_equals_per_pixel_lookups() -> None:
    """The fused class-lookup kernel is the per-pixel kernel on looked-up rasters, bit for bit."""
    from gep.kernels import lookup, water

    rng = np.random.default_rng(11)
    n = 5000
    classes = rng.integers(1, 7, n).astype(np.uint8)  # 6 is absent from the table
    classes[:50] = 255  # nodata
    columns = (
        np.array([0.6, 1.0, 0.8, 0.3, 1.0]),
        np.array([2e3, 5e3, 1.5e3, 1.0, 1.0]),
        np.array([1.0, 1.0, 1.0, 0.0, 0.0]),
    )
    luts = [lookup.build_lut(np.arange(1, 6), c, dtype=np.float32)[0] for c in columns]
    climate = [
        rng.uniform(lo, hi, n).astype(np.float32)
        for lo, hi in ((300, 1200), (200, 1500), (100, 3000), (0.01, 0.3))
    ]
    per_pixel = [lookup.apply_lut(classes, lut, 1, nodata=255) for lut in luts]
    expected = water.annual_water_yield(
        per_pixel[0],
        climate[0],
        climate[1],
        per_pixel[1],
        climate[2],
        climate[3],
        per_pixel[2],
        5.0,
    )
    got = water.annual_water_yield_by_class(classes, np.stack(luts), 1, 255, *climate, 5.0)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, e)
    assert np.isnan(got[0][:50]).all() and np.isnan(got[0][classes == 6]).all()


def test_storage_change_npv_totals_and_minus_one_by_hand() -> None:
    """Fused carbon pass: per-pixel values and totals, InVEST's −1 convention, unknown codes.

    Densities: class 1 → 100, class 2 → 99, class 5 → 40 t C/ha; K = 0.5 per t C.
    Pixels (bas → alt): 1→2 (change −1: InVEST's nodata), 2→5 (−59), 5→5 (0), 9→1 (9 unknown),
    nodata → 1, 5→5 (0). Σbase = 100 + 99 + 40 + 40 = 279 (unknown and nodata are NaN);
    Σalt = 99 + 40 + 40 + 100 + 100 + 40 = 419; Σchange = −1 − 59 + 0 + 0 = −60; away from
    −1: −59; Σnpv = 0.5 · −60 = −30.
    """
    from gep.kernels.carbon import storage_change_npv

    bas = np.array([[1, 2, 5], [9, 0, 5]])
    alt = np.array([[2, 5, 5], [1, 1, 5]])
    out, t = storage_change_npv(
        bas,
        alt,
        np.array([1, 2, 5]),
        np.array([100.0, 99.0, 40.0]),
        nodata_bas=0,
        nodata_alt=None,
        factor=0.5,
    )
    assert out.dtype == np.float32 and out.shape == (4, 2, 3)
    np.testing.assert_array_equal(out[2], [[-1.0, -59.0, 0.0], [np.nan, np.nan, 0.0]])
    assert t["base"] == 279.0
    assert t["alt"] == 419.0
    assert t["change"] == -60.0
    assert t["change_away_from_minus_one"] == -59.0
    assert t["n_minus_one"] == 1
    assert t["npv"] == -30.0
    assert t["n_unknown"] == 1
    # the same totals on any block split: compare with plain numpy sums
    assert t["base"] == float(np.nansum(out[0], dtype=np.float64))


def test_watershed_sums_by_hand() -> None:
    """Yield 300 and 500 mm on rows of 900 and 1000 m²: volume = 0.3·900 + 0.5·1000 = 770 m³."""
    from gep.kernels.water import watershed_sums

    wy = np.array([[300.0], [500.0], [np.nan]], dtype=np.float32)
    aet = np.array([[100.0], [np.nan], [7.0]], dtype=np.float32)
    precip = np.array([[400.0], [600.0], [50.0]], dtype=np.float32)
    demand = np.array([[2.0], [3.0], [np.nan]])
    mask = np.array([[True], [True], [True]])
    s = watershed_sums(wy, aet, precip, demand, mask, np.array([[900.0], [1000.0], [1100.0]]))
    assert (s["wyield_sum"], s["wyield_n"]) == (800.0, 2)
    assert s["wyield_m3"] == pytest.approx(770.0, rel=1e-15)
    assert (s["aet_sum"], s["aet_n"]) == (107.0, 2)
    assert (s["precip_sum"], s["precip_n"]) == (1050.0, 3)
    assert (s["demand_sum"], s["demand_n"]) == (5.0, 2)
    mask[0, 0] = False  # the masked pixel drops out of every statistic
    s = watershed_sums(wy, aet, precip, None, mask, np.array([[900.0], [1000.0], [1100.0]]))
    assert (s["wyield_sum"], s["aet_n"], s["precip_sum"], s["demand_n"]) == (500.0, 1, 650.0, 0)


def test_storage_change_npv_fill_value() -> None:
    """With ``fill`` the nodata pixels hold the file's nodata value; the totals are unchanged."""
    from gep.kernels.carbon import storage_change_npv

    args = (np.array([1, 0]), np.array([1, 1]), np.array([1]), np.array([10.0]))
    nan_out, nan_t = storage_change_npv(*args, nodata_bas=0, nodata_alt=None, factor=1.0)
    out, t = storage_change_npv(*args, nodata_bas=0, nodata_alt=None, factor=1.0, fill=-9.0)
    assert out[:, 1].tolist() == [-9.0, 10.0, -9.0, -9.0]  # base, alt, change, npv
    assert np.isnan(nan_out[0, 1]) and t == nan_t


def test_kernels_write_into_given_buffers() -> None:
    """``out=`` buffers receive the same values as fresh arrays; wrong buffers are refused."""
    lut, off = lookup.build_lut(np.array([1, 2]), np.array([10.0, 20.0]), dtype=np.float32)
    classes = np.array([[1, 2], [0, 1]])
    buf = np.empty((2, 2), np.float32)
    got = lookup.apply_lut(classes, lut, off, nodata=0, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, lookup.apply_lut(classes, lut, off, nodata=0))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        lookup.apply_lut(classes, lut, off, out=np.empty((2, 2), np.float64))

    one = np.ones((2, 3), np.float32)
    args = (one, 500 * one, 1000 * one, 1000 * one, 1000 * one, 0.1 * one, one, 5.0)
    bufs = tuple(np.empty((2, 3), np.float32) for _ in range(3))
    got3 = water.annual_water_yield(*args, out=bufs)
    assert all(g is b for g, b in zip(got3, bufs, strict=True))
    for g, fresh in zip(got3, water.annual_water_yield(*args), strict=True):
        np.testing.assert_array_equal(g, fresh)
    with pytest.raises(ValueError, match="shape"):
        water.annual_water_yield(*args, out=tuple(np.empty(6, np.float32) for _ in range(3)))
