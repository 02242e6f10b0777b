"""Identifiability: correlation, condition number, null space; intervals that respect bounds."""

from __future__ import annotations

import numpy as np
import pytest

from gep.calibration import fit, identifiability
from tests.calibration.synthetic import linear_problem, product_problem, sdr_synthetic


def test_product_pair_is_reported_non_identifiable():
    """y = a·b·x: the Jacobian columns b·x and a·x are proportional, so JᵀJ is singular.

    The old pseudo-inverse interval said a = 0.807 ∈ [0.798, 0.817] (truth 2); now the pair is
    named, r = −1, cond = ∞, and the profile-likelihood interval spans what a·b ≈ 4 allows
    within the bounds (b ∈ [0.5, 10] → a ∈ [0.5, ~8]), which contains the truth."""
    result = fit(product_problem(), "nse", seed=1)
    ident = result.identifiability
    assert ident.non_identifiable == ("a", "b")
    assert ident.condition_number == np.inf
    assert ident.correlation[0, 1] == pytest.approx(-1.0, abs=1e-6)
    assert any("not identifiable" in w for w in result.warnings)
    assert any("strongly correlated" in w for w in result.warnings)
    assert result.values[0] * result.values[1] == pytest.approx(4.0, rel=0.02)
    for i in range(2):
        assert result.ci_flags[i].startswith("profile likelihood (not identifiable)")
        assert result.ci_low[i] == pytest.approx(0.5)
        assert 7.0 < result.ci_high[i] <= 10.0
        assert result.ci_low[i] <= 2.0 <= result.ci_high[i]


def test_identifiable_pair_has_finite_condition():
    """Independent columns: no null space, finite condition, |r| < 1."""
    x = np.linspace(1, 10, 10)
    ident = identifiability(np.column_stack([x, np.ones_like(x)]), ("slope", "intercept"))
    assert ident.non_identifiable == ()
    assert np.isfinite(ident.condition_number) and ident.condition_number > 1
    assert abs(ident.correlation[0, 1]) < 1


def test_interval_clipped_and_flagged_at_the_bound():
    """α truth 0.99 in [0, 1], noise sd 1: the linearised interval (half-width ≈ 0.07) runs
    past 1 and is clipped there, flagged."""
    result = fit(linear_problem(0.99, sd=1.0), "nse")
    assert result.ci_high[0] == 1.0
    assert result.ci_flags[0] == "linearised, clipped at a bound"
    assert result.ci_low[0] < result.values[0] < 1.0


def test_parameter_on_bound_gets_a_profile_interval_and_fails_the_gate():
    """Truth 1.5 outside [0, 1]: α sticks at 1; no linearised interval there (profile instead),
    the interval stays in the bounds and the bound gate fails."""
    result = fit(linear_problem(1.5), "nse")
    assert result.values[0] == pytest.approx(1.0)
    assert result.ci_flags[0].startswith("profile likelihood (at a bound)")
    assert 0.0 <= result.ci_low[0] <= result.ci_high[0] == 1.0
    assert not result.passed
    assert any(f.startswith("no_parameter_on_bound") for f in result.gate_failures)


def test_bootstrap_resamples_gauges_with_several_starts():
    """The gauge bootstrap of the product model finds the whole a·b ridge, not one point."""
    result = fit(product_problem(), "kge", seed=1, n_bootstrap=30, n_starts=3)
    assert "resamples of the gauges" in result.ci_method
    assert result.samples.shape[1] == 2
    assert result.ci_high[0] - result.ci_low[0] > 2.0  # spread along the ridge
    assert np.all(result.ci_low >= 0.5) and np.all(result.ci_high <= 10.0)


def test_sdr_correlation_matrix_and_condition_reported():
    """Seeded synthetic SDR (30 units, 5 % noise): every fit reports correlation and cond."""
    result = fit(sdr_synthetic(), "nse", seed=0)
    r = result.correlation_table()
    assert list(r.columns) == ["k", "ic0", "sdr_max"]
    np.testing.assert_allclose(np.diag(r.to_numpy()), 1.0)
    assert 1 < result.identifiability.condition_number < 1e6
    assert result.passed


def test_parameters_spanning_decades_are_searched_on_a_log_scale():
    """SDR's k (0.1–10, two decades) is searched as ln k; IC0 (may be negative) and SDR_max
    (0.05–1) stay linear; the transform round-trips."""
    from gep.calibration.search import Transform

    problem = sdr_synthetic()
    transform = Transform.for_problem(problem)
    assert transform.log.tolist() == [True, False, False]
    x = np.array([0.8, -5.5, 0.6])
    np.testing.assert_allclose(transform.outward(transform.inward(x)), x, rtol=1e-15)
    assert transform.inward(x)[0] == pytest.approx(np.log(0.8))
