"""A calibration problem (parameters, bounds, simulator, observations) and a fit's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from gep.calibration.errors import CalibrationError

__all__ = ["FitProblem", "FitResult", "Identifiability", "subset_problem"]


@dataclass
class FitProblem:
    """A calibration problem: parameters, bounds, a cheap simulator and the observations.

    Parameters
    ----------
    names : tuple of str
        Parameter names (e.g. ``("seasonality",)`` or ``("k", "ic0", "sdr_max")``).
    bounds : tuple of (float, float)
        Lower and upper bound of each parameter.
    simulate : callable
        ``simulate(x) -> ndarray`` of the simulated values at the observations.
    observed : ndarray
        Observed values, in ``value_unit``.
    labels : DataFrame
        One row per observation (e.g. ``catchment_id, year``), for tables, plots and the
        gauge-block bootstrap (the first column names the gauge).
    value_unit : str
        Unit of observed and simulated values.
    parameter_units : tuple of str
        Unit of each parameter.
    target : str
        What is fitted (for reports).
    convex : bool
        The sum-of-squares surface is convex (a linear model): no global search needed.
    info : dict
        Notes for the report (coverage, precipitation per observation, conventions).
    weights : ndarray, optional
        Weight of each observation's residual in the sum of squares (1/σᵢ for an error of
        standard deviation σᵢ); None weighs all alike.
    """

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    simulate: Callable[[np.ndarray], np.ndarray]
    observed: np.ndarray
    labels: pd.DataFrame
    value_unit: str
    parameter_units: tuple[str, ...]
    target: str
    convex: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.bounds) != len(self.names) or len(self.parameter_units) != len(self.names):
            raise CalibrationError(f"{self.target}: one bound and one unit per parameter needed")
        for name, (lo, hi) in zip(self.names, self.bounds, strict=True):
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise CalibrationError(
                    f"{self.target}: bounds of '{name}' must be finite with lower < upper, "
                    f"got [{lo}, {hi}]"
                )
        if not np.all(np.isfinite(self.observed)):
            raise CalibrationError(f"{self.target}: observations contain missing values")
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            if w.shape != np.shape(self.observed) or not np.all(np.isfinite(w) & (w > 0)):
                raise CalibrationError(
                    f"{self.target}: weights must be finite, > 0 and one per observation"
                )

    @property
    def lower(self) -> np.ndarray:
        """Lower bounds."""
        return np.array([b[0] for b in self.bounds], dtype=np.float64)

    @property
    def upper(self) -> np.ndarray:
        """Upper bounds."""
        return np.array([b[1] for b in self.bounds], dtype=np.float64)

    @property
    def groups(self) -> np.ndarray:
        """The gauge (block) of each observation: the first label column, as strings."""
        if self.labels.shape[1] == 0:
            return np.arange(self.observed.size).astype(str)
        return self.labels.iloc[:, 0].astype(str).to_numpy()


def subset_problem(problem: FitProblem, mask: np.ndarray, *, suffix: str = "") -> FitProblem:
    """The same problem restricted to the observations where ``mask`` is true.

    The simulator still computes every observation and keeps the selected ones: subsets are
    for validation splits, whose cost is the full problem's.
    """
    keep = np.asarray(mask, dtype=bool)
    if not keep.any():
        raise CalibrationError(f"{problem.target}: no observation left in the subset {suffix}")
    full = problem.simulate

    def simulate(x: np.ndarray) -> np.ndarray:
        return np.asarray(full(x))[keep]

    return replace(
        problem,
        simulate=simulate,
        observed=problem.observed[keep],
        labels=problem.labels[keep].reset_index(drop=True),
        weights=None if problem.weights is None else problem.weights[keep],
        info={**_subset_info(problem.info, keep), "subset": suffix},
    )


def _subset_info(info: dict[str, Any], keep: np.ndarray) -> dict[str, Any]:
    """Per-observation entries of ``info`` (arrays, tables of one row each) cut to ``keep``."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, np.ndarray) and value.shape[:1] == keep.shape:
            out[key] = value[keep]
        elif isinstance(value, pd.DataFrame) and len(value) == keep.size:
            out[key] = value[keep].reset_index(drop=True)
        else:
            out[key] = value
    return out


@dataclass
class Identifiability:
    """Local identifiability of the parameters at the optimum, from the sensitivity matrix.

    Parameters
    ----------
    correlation : ndarray
        Parameter correlation matrix ``Cᵢⱼ/√(CᵢᵢCⱼⱼ)`` of ``C = (JᵀJ)⁻¹`` (NaN where the matrix
        is singular), or from sampled parameter sets where no Jacobian exists.
    condition_number : float
        Condition number of ``JᵀJ`` with its columns scaled to unit length (so that it does not
        depend on the parameters' units); ∞ when singular.
    singular_values : ndarray
        Singular values of the scaled ``J``, largest first.
    null_space : list of dict
        Each parameter combination the observations do not constrain: ``{name: weight}`` of the
        right singular vector (weights ≥ 0.05 in magnitude).
    non_identifiable : tuple of str
        Parameters that take part in a null-space combination.
    source : str
        ``"jacobian"`` or ``"samples"``.
    """

    correlation: np.ndarray
    condition_number: float
    singular_values: np.ndarray
    null_space: list[dict[str, float]]
    non_identifiable: tuple[str, ...]
    source: str = "jacobian"

    def correlation_table(self, names: tuple[str, ...]) -> pd.DataFrame:
        """The correlation matrix labelled by parameter."""
        return pd.DataFrame(self.correlation, index=list(names), columns=list(names))

    def strong_pairs(self, names: tuple[str, ...], threshold: float = 0.9) -> list[str]:
        """Pairs with ``|r| > threshold``, as text."""
        r = self.correlation
        out = []
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if np.isfinite(r[i, j]) and abs(r[i, j]) > threshold:
                    out.append(f"{names[i]}–{names[j]} (r = {r[i, j]:.3f})")
        return out


@dataclass
class FitResult:
    """The fitted parameters, their intervals, identifiability, the fit statistics and gates."""

    problem: FitProblem
    objective: str
    values: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ci_method: str
    ci_level: float
    simulated: np.ndarray
    statistics: dict[str, float]
    n_evaluations: int
    method: str
    message: str = ""
    ci_flags: tuple[str, ...] = ()
    identifiability: Identifiability | None = None
    warnings: list[str] = field(default_factory=list)
    gates: list[tuple[str, bool, str]] = field(default_factory=list)
    samples: np.ndarray | None = None

    @property
    def passed(self) -> bool:
        """Whether every plausibility gate passed (see :mod:`gep.calibration.gates`)."""
        return all(ok for _, ok, _ in self.gates)

    @property
    def gate_failures(self) -> list[str]:
        """The failed gates, as ``name: detail``."""
        return [f"{name}: {detail}" for name, ok, detail in self.gates if not ok]

    def at_bound(self) -> np.ndarray:
        """Whether each value lies on a bound (within 10⁻⁶ of the range)."""
        p = self.problem
        span = p.upper - p.lower
        return (self.values - p.lower <= 1e-6 * span) | (p.upper - self.values <= 1e-6 * span)

    def parameter_table(self) -> pd.DataFrame:
        """One row per parameter: value, bounds, interval and its flag, unit."""
        p = self.problem
        flags = list(self.ci_flags) or [""] * len(p.names)
        return pd.DataFrame(
            {
                "parameter": list(p.names),
                "value": self.values,
                "unit": list(p.parameter_units),
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "ci_level": self.ci_level,
                "ci_method": self.ci_method,
                "ci_flag": flags,
                "lower_bound": p.lower,
                "upper_bound": p.upper,
                # a value on its bound: the data ask for more than the bounds allow
                "at_bound": self.at_bound(),
            }
        )

    def correlation_table(self) -> pd.DataFrame:
        """The parameter correlation matrix (empty when not computed)."""
        if self.identifiability is None:
            return pd.DataFrame()
        return self.identifiability.correlation_table(self.problem.names)

    def observation_table(self) -> pd.DataFrame:
        """Observed and simulated values with their labels and residuals."""
        table = self.problem.labels.reset_index(drop=True).copy()
        table["observed"] = self.problem.observed
        table["simulated"] = self.simulated
        table["residual"] = self.simulated - self.problem.observed
        table["unit"] = self.problem.value_unit
        return table

    def statistics_table(self) -> pd.DataFrame:
        """The fit statistics as a two-column table (``statistic, value``)."""
        ident = self.identifiability
        rows: dict[str, Any] = {
            "target": self.problem.target,
            "objective": self.objective,
            "method": self.method,
            "message": self.message,
            "n_evaluations": self.n_evaluations,
            **self.statistics,
            "condition_number": ident.condition_number if ident else float("nan"),
            "passed_gates": self.passed,
        }
        return pd.DataFrame({"statistic": list(rows), "value": [str(v) for v in rows.values()]})
