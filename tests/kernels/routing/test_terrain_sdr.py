"""Worked examples: Horn slope, LS factor, connectivity, SDR and sediment deposition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from gep.kernels.connectivity import (
    connectivity_index,
    cover_weight,
    sediment_delivery_ratio,
    slope_weight,
    upslope_component,
)
from gep.kernels.deposition import sediment_deposition
from gep.kernels.sdr import sdr_model
from gep.kernels.terrain import ls_factor, slope_percent

DEM = np.array([[50.0, 45, 50], [30, 30, 30], [8, 10, 10]])


def test_horn_slope_interior_pixel():
    # a b c / d e f / g h i = 50 45 50 / 30 30 30 / 8 10 10, D = 10 m
    # dz/dx = ((a + 2d + g) - (c + 2f + i)) / (8 D) = (118 - 120) / 80 = -0.025
    # dz/dy = ((a + 2b + c) - (g + 2h + i)) / (8 D) = (190 - 38) / 80 = 1.9
    expected = 100 * math.sqrt(0.025**2 + 1.9**2)  # 190.0164 %
    assert slope_percent(DEM, 10.0)[1, 1] == pytest.approx(expected, rel=1e-15)


def test_horn_slope_corner_uses_pygeoprocessing_fallbacks():
    # pixel (0,0): window a b c d g off the raster; e = 50, f = 45, h = 30, i = 30
    # x: row a-b-c none (weight 0); middle d-f: only f -> 2 (e - f) = 10 (weight 2);
    #    row g-h-i: h and i -> h - i = 0 (weight 1)         => dz/dx = 10 / (3 D)
    # y: column a-d-g none; middle b-h: only h -> 2 (e - h) = 40 (weight 2);
    #    column c-f-i: f and i -> f - i = 15 (weight 1)    => dz/dy = 55 / (3 D)
    expected = 100 * math.hypot(10 / 30, 55 / 30)  # 186.339 %
    assert slope_percent(DEM, 10.0)[0, 0] == pytest.approx(expected, rel=1e-15)


def test_horn_slope_nodata_centre_and_flat():
    dem = DEM.copy()
    dem[1, 1] = np.nan
    out = slope_percent(dem, 10.0)
    assert np.isnan(out[1, 1]) and np.isfinite(out).sum() == 8
    assert (slope_percent(np.full((3, 3), 7.0), 30.0) == 0).all()


def _ls_by_hand(s: float, fa: float, d: float, l_max: float = 122.0) -> float:
    theta = math.atan(s / 100)
    x = abs(math.sin(theta)) + abs(math.cos(theta))
    if s <= 1:
        m = 0.2
    elif s <= 3.5:
        m = 0.3
    elif s <= 5:
        m = 0.4
    elif s <= 9:
        m = 0.5
    else:
        beta = (math.sin(theta) / 0.0896) / (3 * math.sin(theta) ** 0.8 + 0.56)
        m = beta / (1 + beta)
    a = math.sqrt((fa - 1) * d * d)
    length = ((a + d * d) ** (m + 1) - a ** (m + 1)) / (d ** (m + 2) * x**m * 22.13**m)
    steep = 10.8 * math.sin(theta) + 0.03 if s < 9 else 16.8 * math.sin(theta) - 0.5
    return min(length, l_max) * steep


def test_ls_factor_worked_examples():
    # s = 4 %, FA = 50, D = 30: m = 0.4, A = sqrt(49 * 900) = 210 (InVEST adds it to D^2),
    # theta = atan(0.04) = 0.039979, x = sin + cos = 0.039968 + 0.999201 = 1.039169
    # L = (1110^1.4 - 210^1.4) / (30^2.4 * 1.039169^0.4 * 22.13^0.4)
    #   = (18330.6 - 1781.0) / (3507.9 * 1.015486 * 3.451425) = 16549.6 / 12294.6 = 1.3461
    # S = 10.8 sin(theta) + 0.03 = 0.461655  -> LS = 0.6214
    assert _ls_by_hand(4.0, 50, 30.0) == pytest.approx(0.6214, rel=1e-3)
    slopes = np.array([[4.0, 10.0, 0.5], [3.0, 20.0, 9.0]])
    fa = np.array([[50.0, 1.0, 7.0], [1000.0, 1e6, 3.0]])
    expected = [
        [_ls_by_hand(s, a, 30.0) for s, a in zip(rs, ra, strict=True)]
        for rs, ra in zip(slopes, fa, strict=True)
    ]
    # InVEST evaluates theta, x, m and S in float32: agreement to float32 precision
    assert_allclose(ls_factor(slopes, fa, 30.0), expected, rtol=2e-6)


def test_ls_factor_l_max_caps_the_length_factor():
    # 20 % slope, a million upslope pixels: beta = 1.59191, m = 0.614184, A = 30 000 m,
    # L = (30900^1.614 - 30000^1.614) / (30^2.614 x^0.614 22.13^0.614) = 824021 / 53819
    #   = 15.31 (A is a length, so L grows slowly), S = 16.8 sin(theta) - 0.5 = 2.79475;
    # with l_max = 5: LS = 5 * S
    theta = math.atan(0.2)
    assert _ls_by_hand(20.0, 1e6, 30.0) == pytest.approx(15.311 * 2.79475, rel=1e-4)
    capped = 5.0 * (16.8 * math.sin(theta) - 0.5)
    out = ls_factor(np.array([20.0]), np.array([1e6]), 30.0, l_max=5.0)
    assert out[0] == pytest.approx(capped, rel=1e-6)
    assert np.isnan(ls_factor(np.array([np.nan]), np.array([3.0]), 30.0)[0])


def test_connectivity_weights():
    # S = slope/100 clamped to [0.005, 1]; W = C at least 0.001 (float32 as InVEST)
    assert slope_weight(np.array([0.1, 50.0, 250.0])).tolist() == [np.float32(0.005), 0.5, 1.0]
    assert cover_weight(np.array([0.0, 0.3])).tolist() == [np.float32(0.001), np.float32(0.3)]


def test_upslope_component_and_connectivity_index():
    # D_up = W_bar S_bar sqrt(FA D^2) = 0.5 * 0.2 * sqrt(4 * 900) = 0.1 * 60 = 6 m
    assert upslope_component(np.array(0.5), np.array(0.2), np.array(4.0), 30.0) == 6.0
    # IC = log10(D_up / D_dn): log10(600 / 6) = 2; D_dn = 0 (stream) -> nodata
    ic = connectivity_index(np.array([600.0, 5.0]), np.array([6.0, 0.0]))
    assert ic[0] == 2.0 and np.isnan(ic[1])


def test_sdr_logistic_and_stream_override():
    # IC = IC0 -> SDR_max / 2 = 0.4; IC = IC0 + k ln 3 -> 0.8 / (1 + 1/3) = 0.6
    ic = np.array([0.5, 0.5 + 2 * math.log(3), np.nan, np.nan], dtype=np.float32)
    stream = np.array([False, False, False, True])
    sdr = sediment_delivery_ratio(ic, stream, k=2.0, ic0=0.5, sdr_max=0.8)
    assert_allclose(sdr[:2], [0.4, 0.6], rtol=1e-6)
    assert np.isnan(sdr[2]) and sdr[3] == 1.0


def test_sediment_deposition_along_a_d8_line():
    # (0,0) -> (0,1) -> (0,2) -> off; SDR 0.2, 0.5, 0.6; E' 10, 4, 2
    # (0,0): F_in 0 -> T 0, F = 10
    # (0,1): F_in 10, SDR_dn 0.6, dT = (0.6 - 0.5)/(1 - 0.5) = 0.2 -> T 2, F = 0.8*10 + 4 = 12
    # (0,2): no receiver in the raster: SDR_dn = max(0, 0.6) -> dT 0 -> T 0, F = 12 + 2 = 14
    fdir = np.zeros((1, 3), dtype=np.uint8)
    sdr = np.array([[0.2, 0.5, 0.6]], dtype=np.float32)
    e_prime = np.array([[10.0, 4.0, 2.0]], dtype=np.float32)
    deposition, flux = sediment_deposition(fdir, "d8", e_prime, sdr)
    assert_allclose(deposition, [[0.0, 2.0, 0.0]], atol=2e-6)
    assert_allclose(flux, [[10.0, 12.0, 14.0]], rtol=1e-6)


def test_sediment_deposition_mfd_split_and_stream_traps_all():
    # (0,0) sends 10/15 E to (0,1) and 5/15 S to (1,0); both -> (1,1), a stream (SDR 1)
    fdir = np.array([[10 + (5 << 24), 15 << 24], [15, 15]], dtype=np.int32)
    sdr = np.array([[0.4, 0.5], [0.6, 1.0]], dtype=np.float32)
    e_prime = np.array([[3.0, 1.0], [2.0, 0.0]], dtype=np.float32)
    deposition, flux = sediment_deposition(fdir, "mfd", e_prime, sdr)
    # (0,0): F = 3. SDR_dn = (10*0.5 + 5*0.6)/15 = 0.5333, but F_in = 0 -> T = 0
    # (0,1): F_in = 2/3 * 3 = 2; dT = (1 - 0.5)/0.5 = 1 (receiver is the stream) -> T 2, F 1
    # (1,0): F_in = 1/3 * 3 = 1; dT = (1 - 0.6)/0.4 = 1 -> T 1, F 2
    # (1,1): SDR 1 -> dT 1: traps F_in = 1 + 2 = 3; F = 0
    assert_allclose(deposition, [[0.0, 2.0], [1.0, 3.0]], rtol=1e-6, atol=1e-6)
    assert_allclose(flux, [[3.0, 1.0], [2.0, 0.0]], rtol=1e-6, atol=1e-6)


def _plane(n_rows: int = 6, n_cols: int = 8) -> np.ndarray:
    rows, cols = np.indices((n_rows, n_cols))
    return 100.0 - 2.0 * cols - 0.5 * rows


def test_sdr_model_small_plane_relations():
    dem = _plane()
    ones = np.ones(dem.shape)
    c = np.full(dem.shape, 0.2)
    out = sdr_model(
        dem,
        ones * 1000,
        ones * 0.02,
        c,
        ones * 0.5,
        ones.astype(bool),
        30.0,
        flow_dir_algorithm="D8",
        threshold_flow_accumulation=5,
    )
    land = out["stream"] == 0
    # RUSLE: RKLS = LS R K on land, USLE = RKLS C P, avoided = RKLS (1 - C P)
    assert_allclose(out["rkls"][land], (out["ls"] * 1000 * 0.02)[land], rtol=1e-6)
    assert_allclose(out["usle"][land], out["rkls"][land] * np.float32(0.1), rtol=1e-6)
    assert_allclose(out["avoided_erosion"][land], out["rkls"][land] * 0.9, rtol=1e-6)
    assert np.isnan(out["rkls"][~land]).all() and (out["sdr"][~land] == 1).all()
    # export = USLE SDR; avoided export = avoided erosion SDR + deposition
    assert_allclose(out["sed_export"], out["usle"] * out["sdr"], rtol=1e-6)
    assert_allclose(
        out["avoided_export"],
        out["avoided_erosion"] * out["sdr"] + out["sed_deposition"],
        rtol=1e-6,
    )


def test_sdr_model_metres_convention_shifts_ic_by_log10_cell_size():
    # uniform W, S and straight D8 flow east along rows: D_dn(metres) = D * D_dn(pixels)
    # for every pixel, so IC(pixels) - IC(metres) = log10(D) = log10(30) = 1.4771
    dem = _plane(4, 10) + np.indices((4, 10))[0] * 0.5  # no north-south gradient
    ones = np.ones(dem.shape)
    args = (dem, ones, ones, ones * 0.3, ones, ones.astype(bool), 30.0)
    kw = {"flow_dir_algorithm": "d8", "threshold_flow_accumulation": 9}  # last column
    pixels = sdr_model(*args, downslope_distance="pixels", **kw)
    metres = sdr_model(*args, downslope_distance="metres", **kw)
    ok = np.isfinite(pixels["ic"])
    assert ok.sum() > 0
    assert_allclose(pixels["ic"][ok] - metres["ic"][ok], math.log10(30.0), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flow_dir_algorithm": "dinf"}, "flow_dir_algorithm"),
        ({"downslope_distance": "feet"}, "downslope_distance"),
        ({"sdr_max": 1.5}, "sdr_max"),
        ({"threshold_flow_accumulation": -1}, "threshold_flow_accumulation"),
        ({"k": 0}, "k must be"),
    ],
)
def test_sdr_model_rejects_bad_parameters(kwargs, message):
    ones = np.ones((3, 3))
    base = {"threshold_flow_accumulation": 1}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        sdr_model(ones, ones, ones, ones, ones, ones.astype(bool), 30.0, **base)


def test_sdr_model_rejects_misaligned_inputs():
    ones = np.ones((3, 3))
    with pytest.raises(ValueError, match="'erosivity' has shape"):
        sdr_model(
            ones,
            np.ones((3, 4)),
            ones,
            ones,
            ones,
            ones.astype(bool),
            30.0,
            threshold_flow_accumulation=1,
        )


@pytest.mark.parametrize("algorithm", ["d8", "mfd"])
def test_sdr_low_memory_paths_give_the_same_outputs(algorithm: str) -> None:
    """``keep`` (intermediates freed early) and ``sdr_from_arrays`` with a float32 CP factor
    return exactly what the full ``sdr_model`` returns."""
    from gep.kernels.sdr import cover_practice, sdr_from_arrays, sdr_model

    rng = np.random.default_rng(5)
    n = 60
    y, x = np.mgrid[0:n, 0:n].astype(float)
    dem = 0.8 * y + 20 * np.abs(np.sin(x / 9.0)) + rng.normal(0, 0.3, (n, n))
    erosivity = rng.uniform(500, 900, (n, n)).astype(np.float32)
    erodibility = rng.uniform(0.01, 0.05, (n, n)).astype(np.float32)
    usle_c = rng.choice([0.01, 0.1, 0.3], (n, n))
    usle_p = rng.choice([0.5, 1.0], (n, n))
    valid = np.ones((n, n), bool)
    valid[:3, :3] = False
    kwargs = {"flow_dir_algorithm": algorithm, "threshold_flow_accumulation": 40.0}
    full = sdr_model(dem, erosivity, erodibility, usle_c, usle_p, valid, 30.0, **kwargs)
    keep = ("usle", "sed_export", "sdr", "avoided_export", "sed_deposition")
    lean = sdr_model(dem, erosivity, erodibility, usle_c, usle_p, valid, 30.0, keep=keep, **kwargs)
    assert set(lean) == set(keep)
    options = {
        "flow_dir_algorithm": algorithm,
        "downslope_distance": "pixels",
        "cell_size_m": 30.0,
        "threshold_flow_accumulation": 40.0,
        "k": 2.0,
        "sdr_max": 0.8,
        "l_max": 122.0,
    }
    arrays = {
        "dem": dem,
        "erosivity": erosivity,
        "erodibility": erodibility,
        "usle_c": usle_c.astype(np.float32),
        "cover_practice": cover_practice(usle_c, usle_p),
    }
    handed = sdr_from_arrays(arrays, valid, options, keep=keep)
    assert arrays == {}  # every input was taken over
    for name in keep:
        np.testing.assert_array_equal(lean[name], full[name], err_msg=name)
        np.testing.assert_array_equal(handed[name], full[name], err_msg=name)
