"""Split-sample validation, leave-one-gauge-out, evaluate-only, error models."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gep.calibration import (
    CalibrationError,
    evaluate,
    fit,
    leave_one_gauge_out,
    split_sample,
    validation_mask,
    water_yield_problem,
)
from gep.calibration.error_model import multi_year_mean, with_weights


@pytest.fixture(scope="module")
def z_problem(sample_catalog, sample_params, gauges, gauge_observations):
    """Z = 6 with 1 % noise on 4 gauges × 2 years (seeded)."""
    problem = water_yield_problem(sample_catalog, sample_params, gauges, gauge_observations)
    rng = np.random.default_rng(8)
    truth = problem.simulate(np.array([6.0]))
    return dataclasses.replace(problem, observed=truth * (1 + 0.01 * rng.standard_normal(8)))


def test_validation_period_statistics_are_reported(z_problem):
    """Fit on 2015, predict 2020: both periods' statistics side by side; truth Z = 6 back."""
    mask = validation_mask(z_problem, years=[2020])
    assert mask.sum() == 4
    result = split_sample(z_problem, "nse", mask, seed=0)
    assert abs(result.calibration.values[0] - 6.0) < 0.5
    table = result.statistics_table().set_index("statistic")
    assert table.loc["n_observations", "calibration"] == 4
    assert table.loc["n_observations", "validation"] == 4
    assert table.loc["nse", "validation"] > 0.9
    assert set(result.observation_table()["period"]) == {"calibration", "validation"}
    assert (result.validation.problem.labels["year"] == 2020).all()


def test_split_that_leaves_nothing_is_refused(z_problem):
    with pytest.raises(CalibrationError, match="no validation"):
        split_sample(z_problem, "nse", np.zeros(8, dtype=bool))


def test_leave_one_gauge_out(z_problem):
    """Each gauge predicted by a fit on the three others; all four Z near the truth."""
    result = leave_one_gauge_out(z_problem, "nse", seed=0)
    assert sorted(result.table["gauge"]) == ["G1", "G2", "G3", "G4"]
    np.testing.assert_allclose(result.table["seasonality"], 6.0, atol=0.6)
    assert len(result.predictions) == 8
    assert result.statistics["nse"] > 0.9


def test_evaluate_only(z_problem):
    """Evaluating the truth gives the noise-only statistics; a dict names the parameters."""
    by_name = evaluate(z_problem, {"seasonality": 6.0})
    by_position = evaluate(z_problem, [6.0])
    assert by_name.statistics == by_position.statistics
    assert by_name.statistics["pbias_percent"] == pytest.approx(0.0, abs=1.5)
    with pytest.raises(CalibrationError, match="no value for"):
        evaluate(z_problem, {"z": 6.0})


def test_multi_year_mean_problem(z_problem):
    """One observation per gauge: the means of its two years, observed and simulated."""
    mean = multi_year_mean(z_problem)
    assert mean.observed.size == 4
    np.testing.assert_allclose(mean.observed, z_problem.observed.reshape(4, 2).mean(axis=1))
    x = np.array([9.0])
    np.testing.assert_allclose(mean.simulate(x), z_problem.simulate(x).reshape(4, 2).mean(axis=1))
    assert list(mean.labels["years"]) == ["2015–2020"] * 4
    assert abs(fit(mean, "nse", seed=0).values[0] - 6.0) < 0.6


def test_weighted_fit_recovers_truth(z_problem):
    """Relative and per-gauge weights: Z still back within 0.5 of the truth."""
    for scheme in ("relative", "per_gauge"):
        result = fit(with_weights(z_problem, scheme), "nse", seed=0)
        assert abs(result.values[0] - 6.0) < 0.5, scheme
    with pytest.raises(CalibrationError, match="sum-of-squares"):
        fit(with_weights(z_problem, "relative"), "kge")
