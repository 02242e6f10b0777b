"""Validation: split-sample tests, evaluate-only runs and leave-one-gauge-out.

A calibration is credible when parameters fitted on some observations predict others
(Klemeš 1986): a split in time (``validation_years``: the split-sample test), a split in space
(leave-one-gauge-out: the proxy-basin test), or given parameters evaluated without fitting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gep.calibration.errors import CalibrationError
from gep.calibration.fit import fit
from gep.calibration.metrics import fit_statistics
from gep.calibration.problem import FitProblem, FitResult, subset_problem

__all__ = [
    "Evaluation",
    "GaugeOutResult",
    "ValidationResult",
    "evaluate",
    "leave_one_gauge_out",
    "split_sample",
    "validation_mask",
]


@dataclass
class Evaluation:
    """Given parameter values evaluated against observations (no fitting)."""

    problem: FitProblem
    values: np.ndarray
    simulated: np.ndarray
    statistics: dict[str, float]
    period: str = "evaluation"

    def observation_table(self) -> pd.DataFrame:
        """Observed and simulated values with their labels, residuals and the period."""
        table = self.problem.labels.reset_index(drop=True).copy()
        table["observed"] = self.problem.observed
        table["simulated"] = self.simulated
        table["residual"] = self.simulated - self.problem.observed
        table["unit"] = self.problem.value_unit
        table["period"] = self.period
        return table


def evaluate(problem: FitProblem, values: Any, *, period: str = "evaluation") -> Evaluation:
    """Evaluate parameter values against the problem's observations (evaluate-only mode).

    Parameters
    ----------
    problem : FitProblem
        Observations and simulator.
    values : array_like or mapping
        One value per parameter, in ``problem.names`` order, or ``{name: value}``.
    period : str
        Label for tables (``calibration``, ``validation``, ``evaluation``).
    """
    if isinstance(values, dict):
        missing = [n for n in problem.names if n not in values]
        if missing:
            raise CalibrationError(
                f"evaluate: no value for {missing}; give every parameter of {list(problem.names)}"
            )
        values = [values[n] for n in problem.names]
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size != len(problem.names):
        raise CalibrationError(f"evaluate: {x.size} values for parameters {list(problem.names)}")
    simulated = np.asarray(problem.simulate(x), dtype=np.float64)
    return Evaluation(problem, x, simulated, fit_statistics(problem.observed, simulated), period)


def validation_mask(
    problem: FitProblem,
    *,
    years: Sequence[int] | None = None,
    gauges: Sequence[str] | None = None,
) -> np.ndarray:
    """Observations held out for validation: in ``years`` or at ``gauges``."""
    labels = problem.labels.reset_index(drop=True)
    mask = np.zeros(len(labels), dtype=bool)
    if years:
        mask |= labels["year"].astype(int).isin([int(y) for y in years]).to_numpy()
    if gauges:
        mask |= np.isin(problem.groups, [str(g) for g in gauges])
    return mask


@dataclass
class ValidationResult:
    """A fit on the calibration observations and its evaluation on the validation ones."""

    calibration: FitResult
    validation: Evaluation

    def statistics_table(self) -> pd.DataFrame:
        """Calibration and validation statistics side by side."""
        keys = list(self.calibration.statistics)
        return pd.DataFrame(
            {
                "statistic": keys,
                "calibration": [self.calibration.statistics[k] for k in keys],
                "validation": [self.validation.statistics[k] for k in keys],
            }
        )

    def observation_table(self) -> pd.DataFrame:
        """Every observation with its period."""
        calib = self.calibration.observation_table().assign(period="calibration")
        return pd.concat([calib, self.validation.observation_table()], ignore_index=True)


def split_sample(
    problem: FitProblem,
    objective: str,
    mask: np.ndarray,
    *,
    prepare: Callable[[FitProblem], FitProblem] | None = None,
    **fit_options: Any,
) -> ValidationResult:
    """Fit on the observations outside ``mask``, evaluate on those inside (Klemeš 1986).

    ``prepare`` turns the calibration subset into the problem fitted (error model: weights,
    multi-year mean); the validation observations are evaluated as they are.

    References
    ----------
    Klemeš V. (1986) Operational testing of hydrological simulation models. Hydrol. Sci. J.
    31(1), 13–24.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.all() or not mask.any():
        raise CalibrationError(
            f"{problem.target}: the validation split leaves "
            f"{'no calibration' if mask.all() else 'no validation'} observation; choose "
            "calibration_years and validation_years that both have observations"
        )
    calibration = fit(
        subset_problem(problem, ~mask, suffix="calibration"), objective, **fit_options
    )
    validation = evaluate(
        subset_problem(problem, mask, suffix="validation"), calibration.values, period="validation"
    )
    return ValidationResult(calibration, validation)


@dataclass
class GaugeOutResult:
    """Leave-one-gauge-out: per gauge, the parameters fitted without it and its prediction."""

    table: pd.DataFrame
    predictions: pd.DataFrame
    statistics: dict[str, float]


def leave_one_gauge_out(
    problem: FitProblem,
    objective: str,
    *,
    prepare: Callable[[FitProblem], FitProblem] | None = None,
    **fit_options: Any,
) -> GaugeOutResult:
    """Fit without each gauge in turn and predict it (the proxy-basin test, Klemeš 1986).

    Returns per gauge the parameters and statistics of its prediction, every prediction, and
    the statistics of all predictions pooled.
    """
    groups = problem.groups
    names = sorted(set(groups))
    if len(names) < 2:
        raise CalibrationError(f"{problem.target}: leave-one-gauge-out needs ≥ 2 gauges")
    options = {"ci": "none", **fit_options}
    rows, predictions = [], []
    for gauge in names:
        held = groups == gauge
        result = fit(
            subset_problem(problem, ~held, suffix=f"without {gauge}"), objective, **options
        )
        left = evaluate(subset_problem(problem, held, suffix=gauge), result.values, period=gauge)
        table = left.observation_table()
        predictions.append(table)
        stats = left.statistics
        rows.append(
            {
                "gauge": gauge,
                **dict(zip(problem.names, result.values, strict=True)),
                "n_observations": int(held.sum()),
                "pbias_percent": stats["pbias_percent"],
                "rmse": stats["rmse"],
                "calibration_nse": result.statistics["nse"],
            }
        )
    pooled = pd.concat(predictions, ignore_index=True)
    return GaugeOutResult(
        pd.DataFrame(rows),
        pooled,
        fit_statistics(pooled["observed"].to_numpy(), pooled["simulated"].to_numpy()),
    )
