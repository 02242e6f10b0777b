"""Objective functions against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gep.calibration import CalibrationError, fit_statistics, kge, log_nse, nse, pbias, rmse

OBS = [2.0, 4.0, 6.0, 8.0]
SIM = [3.0, 4.0, 5.0, 10.0]


def test_nse_by_hand():
    # mean(o) = 5; Σ(o − ō)² = 9 + 1 + 1 + 9 = 20; Σ(s − o)² = 1 + 0 + 1 + 4 = 6
    assert nse(OBS, SIM) == pytest.approx(1 - 6 / 20)
    assert nse(OBS, OBS) == 1.0
    assert nse(OBS, [5.0] * 4) == pytest.approx(0.0)  # the mean of the observations scores 0


def test_kge_by_hand():
    # σ_o = √(20/4) = √5; s: mean 5.5, deviations −2.5, −1.5, −0.5, 4.5 → Σ² = 29, σ_s = √(29/4)
    # cov = (−3·−2.5 + −1·−1.5 + 1·−0.5 + 3·4.5)/4 = (7.5 + 1.5 − 0.5 + 13.5)/4 = 5.5
    # r = 5.5/(√5·√7.25) ; α = √7.25/√5 ; β = 5.5/5 = 1.1
    sigma_o, sigma_s = math.sqrt(5.0), math.sqrt(7.25)
    r = 5.5 / (sigma_o * sigma_s)
    alpha, beta = sigma_s / sigma_o, 1.1
    expected = 1 - math.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)
    assert kge(OBS, SIM) == pytest.approx(expected)
    # r = 5.5/(2.236068·2.692582) = 0.913500, α = 1.204159: (r − 1)² = 0.007482,
    # (α − 1)² = 0.041681, (β − 1)² = 0.01 → √0.059163 = 0.243235 → KGE = 0.756765
    assert expected == pytest.approx(0.756765, abs=1e-6)
    assert kge(OBS, OBS) == pytest.approx(1.0)


def test_pbias_and_rmse_by_hand():
    # Σ(o − s) = −1 + 0 + 1 − 2 = −2; Σo = 20 → −10 % (overestimation is negative)
    assert pbias(OBS, SIM) == pytest.approx(-10.0)
    # RMSE = √(6/4)
    assert rmse(OBS, SIM) == pytest.approx(math.sqrt(1.5))


def test_log_nse_by_hand():
    # ε = mean(o)/100 = 0.05; NSE of ln(o + ε) and ln(s + ε)
    lo = np.log(np.array(OBS) + 0.05)
    ls = np.log(np.array(SIM) + 0.05)
    expected = 1 - np.sum((ls - lo) ** 2) / np.sum((lo - lo.mean()) ** 2)
    assert log_nse(OBS, SIM) == pytest.approx(expected)
    # hand check of one term: ln(2.05) = 0.717840, ln(3.05) = 1.115142
    assert lo[0] == pytest.approx(0.717840, abs=1e-6)
    assert ls[0] == pytest.approx(1.115142, abs=1e-6)


def test_statistics_table_and_bad_input():
    stats = fit_statistics(OBS, SIM)
    assert stats["nse"] == pytest.approx(0.7)
    assert stats["n_observations"] == 4
    with pytest.raises(CalibrationError, match="differ in length"):
        nse([1.0, 2.0], [1.0])
    with pytest.raises(CalibrationError, match="observed values > 0"):
        log_nse([0.0, 1.0], [0.0, 1.0])
    assert math.isnan(nse([3.0, 3.0], [1.0, 2.0]))  # no variance in the observations


def test_c_factor_forms_by_hand():
    from gep.calibration import c_factor_cai, c_factor_van_der_knijff

    # Van der Knijff: NDVI 0.5, α = 2, β = 1 → exp(−2·0.5/0.5) = exp(−2) = 0.135335
    assert float(c_factor_van_der_knijff(0.5)) == pytest.approx(0.135335, abs=1e-6)
    # NDVI at or above β: no erosion cover factor left (C = 0); negative NDVI: C capped at 1
    assert float(c_factor_van_der_knijff(1.0)) == 0.0
    assert float(c_factor_van_der_knijff(-0.2)) == 1.0
    # Cai: fc = (0.45 − 0.05)/(0.85 − 0.05) = 0.5 → 50 %: 0.6508 − 0.3436·1.698970 = 0.067034
    assert float(c_factor_cai(0.45)) == pytest.approx(0.067034, abs=1e-6)
    # fc = 0.1 % → C = 1; fc ≥ 78.3 % → C = 0
    assert float(c_factor_cai(0.05)) == 1.0
    assert float(c_factor_cai(0.80)) == 0.0
