"""Recovery: observations made with known parameters and noise are fitted back.

Tolerances are stated per test. Noise is multiplicative Gaussian (seeded).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gep.accounts import unit_level
from gep.calibration import (
    c_factor_cai,
    c_factor_van_der_knijff,
    c_ndvi_problem,
    catchments_from_level,
    fit,
    match_observations,
    runoff_coefficient_problem,
    sdr_inputs,
    sdr_problem,
    water_yield_problem,
)


def _noisy(values: np.ndarray, relative_sd: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return values * (1 + relative_sd * rng.standard_normal(values.size))


def test_seasonality_recovered(sample_catalog, sample_params, gauges, gauge_observations):
    """Z = 4.0, 2 % noise on 4 gauges × 2 years: Z back within ±0.5 and inside its 95 % CI."""
    problem = water_yield_problem(sample_catalog, sample_params, gauges, gauge_observations)
    true_z = 4.0
    observed = _noisy(problem.simulate(np.array([true_z])), 0.02, seed=11)
    result = fit(dataclasses.replace(problem, observed=observed), "nse", seed=5)
    z = result.values[0]
    assert abs(z - true_z) < 0.5
    assert result.ci_low[0] <= true_z <= result.ci_high[0]
    assert result.statistics["nse"] > 0.95
    assert "differential_evolution" in result.method


def test_seasonality_recovered_with_kge_and_bootstrap(
    sample_catalog, sample_params, gauges, gauge_observations
):
    problem = water_yield_problem(sample_catalog, sample_params, gauges, gauge_observations)
    observed = _noisy(problem.simulate(np.array([12.0])), 0.01, seed=3)
    result = fit(
        dataclasses.replace(problem, observed=observed), "kge", seed=1, n_bootstrap=40, n_starts=2
    )
    assert abs(result.values[0] - 12.0) < 1.0
    assert result.ci_method.startswith("bootstrap")
    assert result.ci_low[0] <= result.values[0] <= result.ci_high[0]


@pytest.mark.slow
def test_seasonality_per_basin_recovered(sample_catalog, sample_params, gauges, gauge_observations):
    problem = water_yield_problem(
        sample_catalog, sample_params, gauges, gauge_observations, per_basin=True
    )
    truth = np.array([3.0, 6.0, 9.0, 12.0])
    observed = _noisy(problem.simulate(truth), 0.005, seed=2)
    result = fit(dataclasses.replace(problem, observed=observed), "nse", seed=2)
    assert np.all(np.abs(result.values - truth) < 0.15 * truth)


def test_runoff_coefficients_recovered(sample_catalog, sample_params, gauges, gauge_observations):
    """Four α, 4 gauges × 2 years, 0.5 % noise: each α back within ±0.03 (absolute)."""
    types = ["forest", "shrub", "cropland", "built_up"]
    problem = runoff_coefficient_problem(
        sample_catalog, sample_params, gauges, gauge_observations, ecosystem_types=types
    )
    truth = np.array([0.03, 0.05, 0.12, 0.45])
    observed = _noisy(problem.simulate(truth), 0.005, seed=7)
    result = fit(dataclasses.replace(problem, observed=observed), "nse")
    assert result.method == "least_squares (trf)"  # linear: no global search
    np.testing.assert_allclose(result.values, truth, atol=0.03)
    assert problem.convex


@pytest.fixture(scope="module")
def township_sdr(sample_catalog, sample_params):
    """SDR inputs of 2020 (routing once) and the 40 townships with the largest export."""
    grid = sample_catalog.reference_grid()
    level = unit_level(
        sample_catalog.vector("townships"), grid, level="township", id_field="town_code"
    )
    units = catchments_from_level(level, grid)
    inputs = {2020: sdr_inputs(sample_catalog, sample_params, 2020)}
    # townships with an index of connectivity (the others are off the drained area: refused)
    drained = [
        u
        for u, idx in zip(units.ids, units.pixels, strict=True)
        if np.isfinite(inputs[2020].ic[idx]).any()
    ]
    table = pd.DataFrame({"gauge_id": drained, "year": 2020, "sediment_t": 1.0})
    obs = match_observations(table, units, value_column="sediment_t")
    export = sdr_problem(inputs, units, obs).simulate(np.array([0.8, -5.5, 0.6]))
    top = obs.iloc[np.argsort(export)[-40:]].reset_index(drop=True)
    return inputs, units, top


def test_sdr_parameters_recovered(township_sdr):
    """k = 0.8, IC0 = −5.5, SDR_max = 0.6 with 2 % noise on 40 units.

    Tolerances: k ± 0.1, IC0 ± 0.15, SDR_max ± 0.04. IC here is InVEST's pixel-step
    convention (about −8 to −3 on the sample), so IC0 is set where the IC values lie; with
    IC0 far above every IC the logistic is in its exponential tail and only
    SDR_max·exp(−IC0/k) is identifiable.
    """
    inputs, units, obs = township_sdr
    problem = sdr_problem(inputs, units, obs)
    truth = np.array([0.8, -5.5, 0.6])
    observed = _noisy(problem.simulate(truth), 0.02, seed=0)
    result = fit(dataclasses.replace(problem, observed=observed), "nse", seed=0)
    k, ic0, sdr_max = result.values
    assert abs(k - 0.8) < 0.1
    assert abs(ic0 + 5.5) < 0.15
    assert abs(sdr_max - 0.6) < 0.04
    assert result.statistics["nse"] > 0.99


@pytest.mark.parametrize(
    ("form", "func", "truth"),
    [
        ("van_der_knijff", c_factor_van_der_knijff, (2.0, 1.2)),
        ("cai", c_factor_cai, (0.08, 0.8)),
    ],
)
def test_c_ndvi_relation_recovered(form, func, truth):
    """Parameters of both C–NDVI forms back within 5 % from 200 noisy pairs."""
    rng = np.random.default_rng(4)
    ndvi = rng.uniform(0.05, 0.85, 200)
    c = np.clip(func(ndvi, *truth) + rng.normal(0, 0.005, ndvi.size), 0, 1)
    result = fit(c_ndvi_problem(ndvi, c, form=form), "rmse", seed=4)
    np.testing.assert_allclose(result.values, truth, rtol=0.05)
