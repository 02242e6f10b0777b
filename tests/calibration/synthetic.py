"""Seeded synthetic problems with known truth (no catalog, no routing: fast)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gep.calibration import (
    FitProblem,
    SDRInputs,
    catchments_from_labels,
    match_observations,
    sdr_problem,
)


def product_problem(seed: int = 0, noise: float = 0.02) -> FitProblem:
    """``y = a·b·x`` on 4 gauges × 5 years: only ``a·b`` (truth 2·2 = 4) is identifiable."""
    x = np.linspace(1.0, 10.0, 20)
    rng = np.random.default_rng(seed)
    observed = 4.0 * x * (1 + noise * rng.standard_normal(x.size))
    labels = pd.DataFrame(
        {"catchment_id": [f"G{i % 4}" for i in range(20)], "year": 2000 + np.arange(20) // 4}
    )
    return FitProblem(
        ("a", "b"),
        ((0.5, 10.0), (0.5, 10.0)),
        lambda t: t[0] * t[1] * x,
        observed,
        labels,
        "mm yr-1",
        ("1", "1"),
        "product",
    )


def linear_problem(slope: float, bounds=(0.0, 1.0), seed: int = 0, sd: float = 0.5) -> FitProblem:
    """``y = α·x`` (x = 1…10, 4 gauges), additive noise of standard deviation ``sd``."""
    x = np.linspace(1.0, 10.0, 20)
    rng = np.random.default_rng(seed)
    labels = pd.DataFrame(
        {"catchment_id": [f"G{i % 4}" for i in range(20)], "year": 2000 + np.arange(20) // 4}
    )
    return FitProblem(
        ("alpha",),
        (bounds,),
        lambda t: t[0] * x,
        slope * x + rng.normal(0.0, sd, x.size),
        labels,
        "mm yr-1",
        ("1",),
        "linear",
    )


SDR_TRUTH = np.array([0.8, -5.5, 0.6])


def sdr_synthetic(seed: int = 42, n_units: int = 30, noise: float = 0.05) -> FitProblem:
    """SDR on 30 synthetic units of 200 pixels: IC centred per unit in [−7.5, −3.5] (sd 1),
    lognormal USLE loads; observations = export at k = 0.8, IC0 = −5.5, SDR_max = 0.6 with
    5 % multiplicative noise."""
    rng = np.random.default_rng(seed)
    px = 200
    labels = np.repeat(np.arange(1, n_units + 1), px).reshape(n_units * 10, 20)
    centre = rng.uniform(-7.5, -3.5, n_units)
    ic = np.repeat(centre, px) + rng.normal(0.0, 1.0, n_units * px)
    load = rng.lognormal(0.0, 0.5, n_units * px) * 10.0
    units = catchments_from_labels(labels, 900.0, prefix="U")
    table = pd.DataFrame({"gauge_id": units.ids, "year": 2020, "sediment_t": 1.0})
    obs = match_observations(table, units, value_column="sediment_t")
    problem = sdr_problem({2020: SDRInputs(ic, load)}, units, obs)
    observed = problem.simulate(SDR_TRUTH) * (1 + noise * rng.standard_normal(n_units))
    return dataclasses.replace(problem, observed=observed)
