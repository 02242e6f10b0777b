"""Error models of a fit: observation weights, and the multi-year-mean fit.

* ``relative`` weights ``wᵢ = 1/oᵢ``: errors proportional to the observed value
  (heteroscedastic), so that large catchments do not dominate a fit in t yr-1;
* ``per_gauge`` weights ``wᵢ = 1/√n_g``: each gauge counts alike however many years it has;
* the multi-year mean: the long-term-mean model (InVEST annual water yield) is compared with the
  mean over the years of each gauge, one observation per gauge.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from gep.calibration.errors import CalibrationError
from gep.calibration.problem import FitProblem

__all__ = ["multi_year_mean", "with_weights"]

Weights = Literal["uniform", "relative", "per_gauge"]


def with_weights(problem: FitProblem, scheme: Weights) -> FitProblem:
    """The problem with observation weights of a scheme (``uniform`` leaves it unweighted).

    References
    ----------
    Carroll R.J., Ruppert D. (1988) Transformation and Weighting in Regression, Chapman & Hall,
    ch. 2 (weights 1/σᵢ for errors of standard deviation σᵢ ∝ the mean).

    Examples
    --------
    >>> p = FitProblem(("a",), ((0.0, 1.0),), lambda x: x * np.ones(3), np.array([1.0, 2.0, 4.0]),
    ...                pd.DataFrame({"g": ["A", "A", "B"]}), "mm", ("1",), "demo")
    >>> with_weights(p, "relative").weights
    array([1.  , 0.5 , 0.25])
    >>> np.round(with_weights(p, "per_gauge").weights, 4)
    array([0.7071, 0.7071, 1.    ])
    """
    if scheme == "uniform":
        return problem
    if scheme == "relative":
        if np.any(problem.observed <= 0):
            raise CalibrationError(
                f"{problem.target}: relative weights need observations > 0; use per_gauge or "
                "uniform"
            )
        return replace(problem, weights=1.0 / problem.observed)
    if scheme == "per_gauge":
        groups = problem.groups
        _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        return replace(problem, weights=1.0 / np.sqrt(counts[inverse].astype(np.float64)))
    raise CalibrationError(f"unknown weights {scheme!r}; choose uniform, relative or per_gauge")


def multi_year_mean(problem: FitProblem) -> FitProblem:
    """One observation per gauge: the mean over its years, observed and simulated.

    The simulated mean is the mean of the simulated years (the same years as observed).
    """
    groups = problem.groups
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    full = problem.simulate

    def simulate(x: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=np.asarray(full(x)), minlength=names.size) / counts

    observed = np.bincount(inverse, weights=problem.observed, minlength=names.size) / counts
    years = problem.labels.reset_index(drop=True)
    year_text = (
        years.groupby(groups)["year"].agg(lambda y: "–".join(str(int(v)) for v in sorted(y)))
        if "year" in years.columns
        else pd.Series("all", index=names)
    )
    info = dict(problem.info)
    if "precipitation_mm" in info:
        info["precipitation_mm"] = (
            np.bincount(inverse, weights=np.asarray(info["precipitation_mm"]), minlength=names.size)
            / counts
        )
    return replace(
        problem,
        simulate=simulate,
        observed=observed,
        labels=pd.DataFrame({"catchment_id": names, "years": year_text.reindex(names).to_numpy()}),
        weights=None,
        info=info,
    )
