"""Sobol indices of the Ishigami function and Morris effects of a linear function."""

from __future__ import annotations

import numpy as np
import pytest

from gep.errors import InputError
from gep.sensitivity import ishigami, morris_screening, sobol_analysis, sobol_indices
from gep.uncertainty import load_distributions

PI_BOUNDS = {"dist": "uniform", "low": -np.pi, "high": np.pi}


def test_ishigami_sobol_indices_match_the_analytic_values():
    """a = 7, b = 0.1: V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2 = 13.8446;
    V1 = (1 + bπ⁴/5)²/2 = 4.3459, V2 = a²/8 = 6.125, V13 = b²π⁸(1/18 − 1/50) = 3.3737 →
    S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437. Tolerance ±0.03 at N = 4096."""
    a, b, pi = 7.0, 0.1, np.pi
    v1 = (1 + b * pi**4 / 5) ** 2 / 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    assert v == pytest.approx(13.8446, abs=1e-4)
    expected_s1 = [v1 / v, v2 / v, 0.0]
    expected_st = [(v1 + v13) / v, v2 / v, v13 / v]
    np.testing.assert_allclose(expected_s1, [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(expected_st, [0.5576, 0.4424, 0.2437], atol=1e-4)
    dists = load_distributions({f"x{i}": PI_BOUNDS for i in (1, 2, 3)})
    table = sobol_indices(ishigami, dists, n_base=4096, seed=1)
    np.testing.assert_allclose(table["S1"], expected_s1, atol=0.03)
    np.testing.assert_allclose(table["ST"], expected_st, atol=0.03)


def test_morris_effects_of_a_linear_function():
    """y = 3·x1 + 0·x2 with x1 ~ U(0, 2): every elementary effect on the unit scale is
    3·(2 − 0) = 6, so μ* = 6 and σ = 0 for x1, and 0 for x2."""
    dists = load_distributions(
        {
            "x1": {"dist": "uniform", "low": 0, "high": 2},
            "x2": {"dist": "uniform", "low": 0, "high": 1},
        }
    )
    table = morris_screening(lambda x: 3 * x[:, 0], dists, trajectories=10, seed=0)
    row = table.set_index("input")
    assert row.loc["x1", "mu_star"] == pytest.approx(6.0)
    assert row.loc["x1", "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert row.loc["x2", "mu_star"] == pytest.approx(0.0)


def test_bad_sensitivity_options():
    dists = load_distributions({"x": PI_BOUNDS})
    with pytest.raises(InputError, match="power of 2"):
        sobol_indices(ishigami, dists, n_base=1000)
    with pytest.raises(InputError, match="triangular"):
        load_distributions({"p": {"dist": "triangular", "low": 1, "high": 2}})


def test_morris_ranks_equal_variance_inputs_alike():
    """y = a + b, a ~ N(0, 1), b ~ U(±√3) (equal variance; Sobol S1 = 0.5 each).

    The old ±4.75σ grid gave μ* 7.78 vs 3.46. On bounded ranges (a over its 2.5–97.5 %
    quantiles): with 4 levels a step of Δ = 2/3 in probability moves a between quantiles
    0.025 and 0.6583 (or 0.3417 and 0.975), 1.95996 + 0.40823 = 2.36819, so μ*_a = 2.36819/(2/3)
    = 3.5523; μ*_b = 2√3 = 3.4641."""
    dists = load_distributions(
        {
            "a": {"dist": "normal", "mean": 0, "sd": 1},
            "b": {"dist": "uniform", "low": -(3**0.5), "high": 3**0.5},
        }
    )
    table = morris_screening(lambda x: x[:, 0] + x[:, 1], dists, trajectories=20, seed=0)
    mu_star = table.set_index("input")["mu_star"]
    assert mu_star["a"] == pytest.approx(3.5523, abs=1e-3)
    assert mu_star["b"] == pytest.approx(2 * 3**0.5, rel=1e-9)
    with pytest.raises(InputError, match="tail"):
        morris_screening(lambda x: x[:, 0], dists, tail=0.5)


def test_ishigami_second_order_with_bootstrap_confidence():
    """S13 = V13/V = 3.3737/13.8446 = 0.2437; S12 = S23 = 0 (Ishigami, a = 7, b = 0.1).
    Tolerance ±0.05 at N = 4096; each bootstrap half-width is positive and below 0.1."""
    dists = load_distributions({f"x{i}": PI_BOUNDS for i in (1, 2, 3)})
    result = sobol_analysis(ishigami, dists, n_base=4096, seed=1, second_order=True)
    s2 = result.second_order.set_index(["input_i", "input_j"])["S2"]
    assert s2[("x1", "x3")] == pytest.approx(0.2437, abs=0.05)
    assert s2[("x1", "x2")] == pytest.approx(0.0, abs=0.05)
    assert s2[("x2", "x3")] == pytest.approx(0.0, abs=0.05)
    conf = result.second_order["S2_conf"]
    assert ((conf > 0) & (conf < 0.1)).all()
    assert ((result.first_total["ST_conf"] > 0) & (result.first_total["ST_conf"] < 0.1)).all()
