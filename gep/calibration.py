"""Calibration: fit model parameters to observations (objective functions, fits, reports).

What can be fitted (each a :class:`FitProblem` built once, whose ``simulate`` is cheap):

* the water-yield seasonality constant Z (one for the region, or one per basin) against
  observed annual runoff at gauged catchments (:func:`water_yield_problem`);
* the water-balance surface-runoff coefficients α per ecosystem type against observed runoff
  (:func:`runoff_coefficient_problem`; the simulation is linear in α);
* the SDR parameters k, IC0 and SDR_max against observed sediment yield
  (:func:`sdr_problem`; routing, D_up, D_dn and IC are computed once);
* the C factor–NDVI relation (:func:`c_ndvi_problem`).

Work that does not depend on the fitted parameters (reading rasters, reclassifying land cover,
intersecting catchments with the grid, flow routing) is done once, when the problem is built;
a trial only re-evaluates the parameter-dependent step on the catchments' pixels.

Fitting (:func:`fit`) is bounded: a seeded global search (``scipy.optimize.
differential_evolution``) where the surface may be rough, then a local refinement
(``least_squares`` for sum-of-squares objectives, ``L-BFGS-B`` otherwise). Confidence intervals
come from the Jacobian at the optimum (sum-of-squares objectives: the linearised covariance
``s²(JᵀJ)⁻¹``) or from a bootstrap over the observations (any objective); the result says
which was used.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import optimize, stats

from data_catalog.catalog import Catalog
from data_catalog.errors import InputError
from data_catalog.grid import Grid
from data_catalog.tables import load_scheme
from gep import __version__, units
from gep.accounts import UnitLevel
from gep.exports import atomic_write
from gep.kernels import water
from gep.pipeline import class_table

__all__ = [
    "OBJECTIVES",
    "CalibrationError",
    "Catchments",
    "FitProblem",
    "FitResult",
    "c_factor_cai",
    "c_factor_van_der_knijff",
    "c_ndvi_problem",
    "catchments_from_labels",
    "catchments_from_level",
    "class_c_from_ndvi",
    "fit",
    "fit_statistics",
    "kge",
    "log_nse",
    "match_observations",
    "nse",
    "pbias",
    "plot_observed_vs_simulated",
    "rmse",
    "runoff_coefficient_problem",
    "sdr_problem",
    "updated_parameter_table",
    "water_yield_problem",
    "write_parameter_table",
]


class CalibrationError(InputError):
    """Observations, bounds or options of a calibration are unusable."""


# --------------------------------------------------------------------------------------------
# Objective functions
# --------------------------------------------------------------------------------------------


def _pair(observed: Any, simulated: Any) -> tuple[np.ndarray, np.ndarray]:
    o = np.asarray(observed, dtype=np.float64).ravel()
    s = np.asarray(simulated, dtype=np.float64).ravel()
    if o.shape != s.shape:
        raise CalibrationError(
            f"observed ({o.size} values) and simulated ({s.size} values) differ in length"
        )
    if o.size == 0:
        raise CalibrationError("no observations to compare")
    return o, s


def nse(observed: Any, simulated: Any) -> float:
    """Nash–Sutcliffe efficiency ``NSE = 1 − Σ(s − o)² / Σ(o − ō)²``.

    1 is a perfect fit; 0 means the model is as good as the mean of the observations.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        NSE (1); NaN when the observations do not vary.

    References
    ----------
    Nash J.E., Sutcliffe J.V. (1970) River flow forecasting through conceptual models part I —
    A discussion of principles. J. Hydrol. 10(3), 282–290.

    Examples
    --------
    >>> nse([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    o, s = _pair(observed, simulated)
    spread = float(np.sum((o - o.mean()) ** 2))
    if spread == 0:
        return float("nan")
    return 1.0 - float(np.sum((s - o) ** 2)) / spread


def kge(observed: Any, simulated: Any) -> float:
    """Kling–Gupta efficiency ``KGE = 1 − √((r − 1)² + (α − 1)² + (β − 1)²)``.

    ``r`` is the Pearson correlation, ``α = σ_s/σ_o`` the ratio of standard deviations
    (population, ddof 0) and ``β = μ_s/μ_o`` the ratio of means.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        KGE (1); NaN when either series is constant or the observed mean is 0.

    References
    ----------
    Gupta H.V., Kling H., Yilmaz K.K., Martinez G.F. (2009) Decomposition of the mean squared
    error and NSE performance criteria: implications for improving hydrological modelling.
    J. Hydrol. 377(1–2), 80–91, eq. 9.

    Examples
    --------
    >>> round(kge([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]), 6)
    -0.414214
    """
    o, s = _pair(observed, simulated)
    so, ss, mo = float(o.std()), float(s.std()), float(o.mean())
    if so == 0 or ss == 0 or mo == 0:
        return float("nan")
    r = float(np.corrcoef(o, s)[0, 1])
    alpha = ss / so
    beta = float(s.mean()) / mo
    return 1.0 - float(np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2))


def pbias(observed: Any, simulated: Any) -> float:
    """Percent bias ``PBIAS = 100·Σ(o − s)/Σo``; positive when the model underestimates.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        PBIAS, %; NaN when the observations sum to 0.

    References
    ----------
    Moriasi D.N. et al. (2007) Model evaluation guidelines for systematic quantification of
    accuracy in watershed simulations. Trans. ASABE 50(3), 885–900, eq. 2.

    Examples
    --------
    >>> pbias([10.0, 20.0], [9.0, 18.0])
    10.0
    """
    o, s = _pair(observed, simulated)
    total = float(o.sum())
    if total == 0:
        return float("nan")
    return 100.0 * float(np.sum(o - s)) / total


def rmse(observed: Any, simulated: Any) -> float:
    """Root-mean-square error ``RMSE = √(mean((s − o)²))``, in the units of the data.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        RMSE, units of the data.

    References
    ----------
    Moriasi D.N. et al. (2007) Trans. ASABE 50(3), 885–900 (RMSE and RSR).

    Examples
    --------
    >>> rmse([1.0, 2.0], [2.0, 4.0])  # √((1 + 4)/2)
    1.5811388300841898
    """
    o, s = _pair(observed, simulated)
    return float(np.sqrt(np.mean((s - o) ** 2)))


def log_offset(observed: Any) -> float:
    """Offset ε added before taking logarithms: 1/100 of the mean observation.

    References
    ----------
    Pushpalatha R., Perrin C., Le Moine N., Andréassian V. (2012) A review of efficiency
    criteria suitable for evaluating low-flow simulations. J. Hydrol. 420–421, 171–182.
    """
    return float(np.mean(np.asarray(observed, dtype=np.float64))) / 100.0


def log_nse(observed: Any, simulated: Any) -> float:
    """NSE of the logarithms, ``NSE(ln(o + ε), ln(s + ε))`` with ε = mean(o)/100.

    Weights relative errors alike across small and large values (low flows, small sediment
    yields).

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units; observed values must be > 0 and simulated ≥ 0.

    Returns
    -------
    float
        log-NSE (1).

    References
    ----------
    Krause P., Boyle D.P., Bäse F. (2005) Comparison of different efficiency criteria for
    hydrological model assessment. Adv. Geosci. 5, 89–97. ε as Pushpalatha et al. (2012).

    Examples
    --------
    >>> round(log_nse([1.0, 10.0, 100.0], [1.0, 10.0, 100.0]), 6)
    1.0
    """
    o, s = _pair(observed, simulated)
    if np.any(o <= 0):
        raise CalibrationError("log-NSE needs observed values > 0; use nse or kge instead")
    eps = log_offset(o)
    return nse(np.log(o + eps), np.log(np.clip(s, 0.0, None) + eps))


#: objective name → the metric it is based on (minimised as a loss, see :func:`loss`)
OBJECTIVES: dict[str, Callable[[Any, Any], float]] = {
    "nse": nse,
    "kge": kge,
    "log_nse": log_nse,
    "rmse": rmse,
    "pbias": pbias,
}

#: objectives that are monotone in a sum of squared residuals (least squares applies)
_SUM_OF_SQUARES = ("nse", "rmse", "log_nse")


def loss(objective: str, observed: np.ndarray, simulated: np.ndarray) -> float:
    """The quantity minimised for an objective: ``1 − NSE``, ``1 − KGE``, ``RMSE``, ``|PBIAS|``."""
    value = OBJECTIVES[objective](observed, simulated)
    if not np.isfinite(value):
        return 1e12  # a parameter set that makes the metric undefined is as bad as it gets
    if objective in ("nse", "kge", "log_nse"):
        return 1.0 - value
    if objective == "pbias":
        return abs(value)
    return value


def residuals(objective: str, observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """Residuals whose sum of squares the objective is monotone in (``s − o``, or in logs)."""
    if objective == "log_nse":
        eps = log_offset(observed)
        return np.log(np.clip(simulated, 0.0, None) + eps) - np.log(observed + eps)
    return np.asarray(simulated, dtype=np.float64) - observed


def fit_statistics(observed: Any, simulated: Any) -> dict[str, float]:
    """Every objective function of a fit, with the number of observations.

    Examples
    --------
    >>> s = fit_statistics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    >>> s["nse"], s["pbias_percent"], s["n_observations"]
    (0.5, -16.666666666666668, 3.0)
    """
    o, s = _pair(observed, simulated)
    out = {
        "nse": nse(o, s),
        "kge": kge(o, s),
        "log_nse": log_nse(o, s) if np.all(o > 0) else float("nan"),
        "rmse": rmse(o, s),
        "pbias_percent": pbias(o, s),
        "n_observations": float(o.size),
    }
    return out


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


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
        One row per observation (e.g. ``gauge_id, year``), for tables and plots.
    value_unit : str
        Unit of observed and simulated values.
    parameter_units : tuple of str
        Unit of each parameter.
    target : str
        What is fitted (for reports).
    convex : bool
        The sum-of-squares surface is convex (a linear model): no global search needed.
    info : dict
        Notes for the report (excluded area, conventions, timings).
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


@dataclass
class FitResult:
    """The fitted parameters, their confidence intervals and the fit statistics."""

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

    def parameter_table(self) -> pd.DataFrame:
        """One row per parameter: value, bounds, confidence interval, unit."""
        p = self.problem
        lo, hi = np.array(p.bounds).T
        span = hi - lo
        return pd.DataFrame(
            {
                "parameter": list(p.names),
                "value": self.values,
                "unit": list(p.parameter_units),
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "ci_level": self.ci_level,
                "ci_method": self.ci_method,
                "lower_bound": lo,
                "upper_bound": hi,
                # a value on its bound: the data ask for more than the bounds allow
                "at_bound": (self.values - lo <= 1e-6 * span) | (hi - self.values <= 1e-6 * span),
            }
        )

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
        rows = {
            "target": self.problem.target,
            "objective": self.objective,
            "method": self.method,
            "n_evaluations": self.n_evaluations,
            **self.statistics,
        }
        return pd.DataFrame({"statistic": list(rows), "value": [str(v) for v in rows.values()]})


class _Counter:
    """Wrap a simulator, counting calls."""

    def __init__(self, simulate: Callable[[np.ndarray], np.ndarray]):
        self.simulate = simulate
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.asarray(self.simulate(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def _global_search(
    problem: FitProblem, objective: str, sim: _Counter, seed: int, maxiter: int, popsize: int
) -> np.ndarray:
    obs = problem.observed
    result = optimize.differential_evolution(
        lambda x: loss(objective, obs, sim(x)),
        problem.bounds,
        seed=seed,
        maxiter=maxiter,
        popsize=popsize,
        tol=1e-6,
        polish=False,
        init="sobol" if len(problem.names) > 1 else "latinhypercube",
    )
    return np.asarray(result.x, dtype=np.float64)


def _local_search(
    problem: FitProblem, objective: str, sim: _Counter, x0: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, str]:
    lo, hi = (np.array(b, dtype=np.float64) for b in zip(*problem.bounds, strict=True))
    obs = problem.observed
    x0 = np.clip(x0, lo, hi)
    if objective in _SUM_OF_SQUARES:
        res = optimize.least_squares(
            lambda x: residuals(objective, obs, sim(x)),
            x0,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
        )
        return np.asarray(res.x), np.asarray(res.jac), "least_squares (trf)"
    res_min = optimize.minimize(
        lambda x: loss(objective, obs, sim(x)),
        x0,
        method="L-BFGS-B",
        bounds=list(zip(lo, hi, strict=True)),
    )
    return np.asarray(res_min.x), None, "L-BFGS-B"


def _jacobian_ci(
    problem: FitProblem, objective: str, x: np.ndarray, jac: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, str]:
    """Linearised CI ``x ± t·√diag(s²(JᵀJ)⁻¹)`` with ``s² = SSE/(n − p)`` (Bates & Watts 1988)."""
    n, p = jac.shape
    if n <= p:
        nan = np.full(p, np.nan)
        return nan, nan, f"none (n = {n} observations ≤ p = {p} parameters)"
    r = residuals(objective, problem.observed, problem.simulate(x))
    s2 = float(r @ r) / (n - p)
    cov = s2 * np.linalg.pinv(jac.T @ jac)
    half = stats.t.ppf(0.5 + level / 2, n - p) * np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return x - half, x + half, "jacobian (linearised least squares at the optimum)"


def _bootstrap_ci(
    problem: FitProblem,
    objective: str,
    x: np.ndarray,
    level: float,
    n_bootstrap: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Percentile CI from refits on observations resampled with replacement (Efron 1979)."""
    rng = np.random.default_rng(seed)
    n = problem.observed.size
    lo, hi = (np.array(b, dtype=np.float64) for b in zip(*problem.bounds, strict=True))
    draws = []
    for _ in range(n_bootstrap):
        idx = rng.integers(0, n, n)
        obs = problem.observed[idx]
        if np.unique(idx).size < 2:
            continue

        def boot_loss(params: np.ndarray, idx: np.ndarray = idx, obs: np.ndarray = obs) -> float:
            return loss(objective, obs, np.asarray(problem.simulate(params))[idx])

        res = optimize.minimize(
            boot_loss, x, method="L-BFGS-B", bounds=list(zip(lo, hi, strict=True))
        )
        draws.append(res.x)
    sample = np.array(draws)
    tail = (1 - level) / 2 * 100
    return (
        np.percentile(sample, tail, axis=0),
        np.percentile(sample, 100 - tail, axis=0),
        f"bootstrap ({len(draws)} resamples of the observations, percentile interval)",
    )


def fit(
    problem: FitProblem,
    objective: str = "nse",
    *,
    seed: int = 0,
    global_search: bool | None = None,
    maxiter: int = 60,
    popsize: int = 15,
    ci: Literal["auto", "jacobian", "bootstrap", "none"] = "auto",
    ci_level: float = 0.95,
    n_bootstrap: int = 200,
) -> FitResult:
    """Fit the parameters of a problem: bounded, global then local, with confidence intervals.

    Parameters
    ----------
    problem : FitProblem
        What to fit.
    objective : {"nse", "kge", "log_nse", "rmse", "pbias"}
        Objective function (see :data:`OBJECTIVES`); its loss is minimised.
    seed : int
        Seed of the global search and of the bootstrap.
    global_search : bool, optional
        Run differential evolution first (Storn & Price 1997). Default: yes unless the problem
        is convex and the objective a sum of squares.
    maxiter, popsize : int
        Differential-evolution generations and population multiplier.
    ci : {"auto", "jacobian", "bootstrap", "none"}
        Confidence intervals: ``jacobian`` needs a sum-of-squares objective (nse, rmse,
        log_nse); ``auto`` uses it there and the bootstrap otherwise.
    ci_level : float
        Confidence level (0.95).
    n_bootstrap : int
        Bootstrap resamples.

    Returns
    -------
    FitResult
        Values, intervals (and the method used), simulated values and statistics.

    References
    ----------
    Storn R., Price K. (1997) Differential evolution. J. Global Optim. 11, 341–359.
    Branch M.A., Coleman T.F., Li Y. (1999) A subspace, interior, and conjugate gradient method
    for large-scale bound-constrained minimization problems. SIAM J. Sci. Comput. 21, 1–23
    (``least_squares`` trf). Bates D.M., Watts D.G. (1988) Nonlinear regression analysis and
    its applications, Wiley, §2.3 (linearised intervals). Efron B. (1979) Bootstrap methods.
    Ann. Statist. 7, 1–26.
    """
    _check_fit_options(problem, objective, ci, ci_level)
    sim = _Counter(problem.simulate)
    lo, hi = (np.array(b, dtype=np.float64) for b in zip(*problem.bounds, strict=True))
    use_global = (
        global_search
        if global_search is not None
        else not (problem.convex and objective in _SUM_OF_SQUARES)
    )
    x0 = (lo + hi) / 2
    steps = []
    if use_global:
        x0 = _global_search(problem, objective, sim, seed, maxiter, popsize)
        steps.append("differential_evolution")
    x, jac, local = _local_search(problem, objective, sim, x0)
    steps.append(local)
    if loss(objective, problem.observed, sim(x)) > loss(objective, problem.observed, sim(x0)):
        x = x0  # the local step must not make things worse
    n_evaluations = sim.calls
    simulated = np.asarray(problem.simulate(x), dtype=np.float64)
    method = ci if ci != "auto" else ("jacobian" if objective in _SUM_OF_SQUARES else "bootstrap")
    if method == "jacobian" and jac is not None:
        ci_low, ci_high, ci_text = _jacobian_ci(problem, objective, x, jac, ci_level)
    elif method in ("jacobian", "bootstrap"):
        ci_low, ci_high, ci_text = _bootstrap_ci(problem, objective, x, ci_level, n_bootstrap, seed)
    else:
        ci_low = ci_high = np.full(x.size, np.nan)
        ci_text = "none"
    return FitResult(
        problem=problem,
        objective=objective,
        values=x,
        ci_low=ci_low,
        ci_high=ci_high,
        ci_method=ci_text,
        ci_level=ci_level,
        simulated=simulated,
        statistics=fit_statistics(problem.observed, simulated),
        n_evaluations=n_evaluations,
        method=" + ".join(steps),
    )


def _check_fit_options(problem: FitProblem, objective: str, ci: str, ci_level: float) -> None:
    if objective not in OBJECTIVES:
        raise CalibrationError(f"unknown objective {objective!r}; choose from {list(OBJECTIVES)}")
    if ci not in ("auto", "jacobian", "bootstrap", "none"):
        raise CalibrationError(
            f"unknown ci method {ci!r}; choose auto, jacobian, bootstrap or none"
        )
    if ci == "jacobian" and objective not in _SUM_OF_SQUARES:
        raise CalibrationError(
            f"Jacobian confidence intervals need a sum-of-squares objective {_SUM_OF_SQUARES}, "
            f"not {objective!r}; use ci: bootstrap"
        )
    if not 0 < ci_level < 1:
        raise CalibrationError(f"ci_level must be in (0, 1), got {ci_level}")
    if objective == "log_nse" and np.any(problem.observed <= 0):
        raise CalibrationError(f"{problem.target}: log_nse needs observations > 0")


# --------------------------------------------------------------------------------------------
# Catchments and observations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catchments:
    """Gauged catchments as pixel lists with their area weights, built once.

    Parameters
    ----------
    ids : tuple of str
        Catchment (gauge) ids.
    pixels : tuple of ndarray
        Flat pixel indices of each catchment.
    area_m2 : tuple of ndarray
        Area of each of those pixels inside the catchment (coverage fraction × cell area), m².
    shape : tuple of int
        Grid shape.
    """

    ids: tuple[str, ...]
    pixels: tuple[np.ndarray, ...]
    area_m2: tuple[np.ndarray, ...]
    shape: tuple[int, int]

    def index(self, catchment_id: str) -> int:
        """Position of a catchment id."""
        return self.ids.index(catchment_id)

    def total_area_km2(self) -> np.ndarray:
        """Area of each catchment on the grid, km²."""
        return np.array([a.sum() / 1e6 for a in self.area_m2])


def catchments_from_level(level: UnitLevel, grid: Grid) -> Catchments:
    """Catchments from polygons intersected with the grid (:func:`gep.accounts.unit_level`).

    Parameters
    ----------
    level : UnitLevel
        Catchment polygons' exact coverage of the grid.
    grid : Grid
        The grid (for cell areas).
    """
    cell = np.broadcast_to(grid.cell_area_m2(), grid.shape).ravel()
    weights = sp.csr_matrix(level.weights)
    pixels, areas = [], []
    for i in range(weights.shape[0]):
        start, stop = weights.indptr[i], weights.indptr[i + 1]
        idx = weights.indices[start:stop].astype(np.int64)
        pixels.append(idx)
        areas.append(weights.data[start:stop] * cell[idx])
    ids = tuple(str(u) for u in level.ids)
    return Catchments(ids, tuple(pixels), tuple(areas), tuple(grid.shape))  # type: ignore[arg-type]


def catchments_from_labels(
    labels: np.ndarray, cell_area_m2: float | np.ndarray, *, prefix: str = "C"
) -> Catchments:
    """Catchments from a label raster (0 or negative = no catchment), e.g. delineated basins.

    Parameters
    ----------
    labels : ndarray of int
        Catchment number per pixel.
    cell_area_m2 : float or ndarray
        Cell area, m² (scalar or broadcastable to ``labels``).
    prefix : str
        Id prefix: catchment 3 becomes ``"C3"``.
    """
    lab = np.asarray(labels).ravel()
    cell = np.broadcast_to(np.asarray(cell_area_m2, dtype=np.float64), np.shape(labels)).ravel()
    numbers = np.unique(lab[lab > 0])
    pixels = tuple(np.flatnonzero(lab == n) for n in numbers)
    return Catchments(
        tuple(f"{prefix}{n}" for n in numbers),
        pixels,
        tuple(cell[p] for p in pixels),
        tuple(np.shape(labels)),  # type: ignore[arg-type]
    )


def match_observations(
    table: pd.DataFrame,
    catchments: Catchments,
    *,
    value_column: str,
    id_column: str = "gauge_id",
    year_column: str = "year",
    years: Sequence[int] | None = None,
    name: str = "observations",
) -> pd.DataFrame:
    """Observations matched to catchments: ``catchment_id, year, observed`` (checked first).

    Raises
    ------
    CalibrationError
        A missing column, an id that is not a catchment, a missing or negative value, or no
        observation in the requested years; the message names the table and column.
    """
    missing = [c for c in (id_column, year_column, value_column) if c not in table.columns]
    if missing:
        raise CalibrationError(
            f"{name}: columns {missing} not found; found {list(table.columns)}. Name the id, "
            "year and value columns in the calibration config (observations: id_column, ...)"
        )
    frame = table[[id_column, year_column, value_column]].copy()
    frame.columns = ["catchment_id", "year", "observed"]
    frame["catchment_id"] = frame["catchment_id"].astype(str)
    frame["year"] = frame["year"].astype(int)
    if years is not None:
        frame = frame[frame["year"].isin([int(y) for y in years])]
    unknown = sorted(set(frame["catchment_id"]) - set(catchments.ids))
    if unknown:
        raise CalibrationError(
            f"{name}.{id_column}: ids {unknown} are not catchments (known: "
            f"{list(catchments.ids)}); fix the ids or add the catchment polygons"
        )
    bad = frame[~np.isfinite(frame["observed"].astype(float))]
    if len(bad):
        raise CalibrationError(
            f"{name}.{value_column}: missing values for {bad[['catchment_id', 'year']].values.tolist()}"
            "; drop those rows or fill them"
        )
    if frame.empty:
        raise CalibrationError(f"{name}: no observations in years {list(years or [])}")
    return frame.sort_values(["catchment_id", "year"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Per-pixel inputs from a catalog
# --------------------------------------------------------------------------------------------


def _class_values(cat: Catalog, landcover_id: str, params: pd.DataFrame, column: str) -> pd.Series:
    return class_table(cat, landcover_id, params, {column: column})[column]


def _per_pixel(codes: np.ndarray, valid: np.ndarray, by_class: pd.Series) -> np.ndarray:
    """Per-pixel values of a class table (vectorised look-up; NaN where invalid or unknown)."""
    index = by_class.index.to_numpy(dtype=np.int64)
    size = int(max(index.max(initial=0), codes[valid].max(initial=0))) + 1
    lut = np.full(size, np.nan)
    lut[index] = by_class.to_numpy(dtype=np.float64)
    safe = np.where(valid, codes, 0).astype(np.int64)
    return np.where(valid, lut[safe], np.nan)


def landcover_arrays(cat: Catalog, year: int) -> tuple[str, np.ndarray, np.ndarray]:
    lc_id = cat.find(variable="landcover", year=year)
    da = cat.raster(lc_id)
    return lc_id, np.asarray(da.values), np.asarray(da.coords["valid"].values, dtype=bool)


def _raster(cat: Catalog, variable: str, year: int | None) -> np.ndarray:
    return np.asarray(cat.raster(cat.find(variable=variable, year=year)).values)


def ecosystem_type_of_codes(cat: Catalog, landcover_id: str) -> pd.Series:
    scheme = load_scheme(cat.entry(landcover_id).class_scheme or "clcd")
    return pd.Series(
        scheme["ecosystem_type"].astype(str).to_numpy(),
        index=scheme["code"].astype(int).to_numpy(),
    )


# --------------------------------------------------------------------------------------------
# Target 1: water-yield seasonality Z
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaterYieldPixels:
    """The Z-independent terms of the water yield on the pixels of one catchment and year.

    From the kernel's inputs (built once): ``φ = Kc·ET0/P`` and ``AWC/P`` of the vegetated
    pixels, their P and area; the yield of non-vegetated pixels (no Z in it) summed once.
    """

    phi: np.ndarray
    awc_over_p: np.ndarray
    precipitation: np.ndarray
    area_m2: np.ndarray
    fixed_volume: float  # Σ a·y over valid non-vegetated pixels, m² · mm
    valid_area_m2: float

    @classmethod
    def build(cls, arrays: Sequence[np.ndarray], area_m2: np.ndarray) -> WaterYieldPixels:
        kc, eto, p, root, soil, pawc, veg = (np.asarray(a, dtype=np.float64) for a in arrays)
        # one kernel run for the validity mask and the non-vegetated yield (Z plays no part)
        _, _, depth = water.annual_water_yield(kc, eto, p, root, soil, pawc, veg, 1.0)
        ok = np.isfinite(depth)
        veg_ok = ok & (veg == 1.0)
        other = ok & (veg != 1.0)
        pv = p[veg_ok]
        return cls(
            phi=kc[veg_ok] * eto[veg_ok] / pv,
            awc_over_p=np.minimum(root[veg_ok], soil[veg_ok]) * pawc[veg_ok] / pv,
            precipitation=pv,
            area_m2=area_m2[veg_ok],
            fixed_volume=float(np.sum(area_m2[other] * depth[other])),
            valid_area_m2=float(np.sum(area_m2[ok])),
        )


def fu_zhang_yield(
    phi: np.ndarray, awc_over_p: np.ndarray, precipitation: np.ndarray, seasonality: Any
) -> np.ndarray:
    """Water yield of vegetated pixels, ``(1 − AET/P)·P`` with the Fu–Zhang Budyko curve.

    ``ω = min(Z·AWC/P + 1.25, 5)``, ``AET/P = min(φ, 1 + φ − (1 + φ^ω)^(1/ω))`` (mm yr-1), as
    :func:`gep.kernels.water.annual_water_yield` on its vegetated branch, from pre-computed
    ``φ`` and ``AWC/P``; ``seasonality`` may be a scalar or one Z per pixel.

    References
    ----------
    Fu B.P. (1981) Sci. Atmos. Sin. 5, 23–31; Zhang L. et al. (2004) Water Resour. Res. 40,
    W02502; Sharp et al., InVEST User's Guide, Annual Water Yield.

    Examples
    --------
    φ = 0.5, AWC/P = 0.1, Z = 5: ω = 1.75, AET/P = 0.339634, yield = 0.660366·1000 mm:

    >>> round(float(fu_zhang_yield(np.array([0.5]), np.array([0.1]), np.array([1000.0]), 5.0)[0]), 3)
    660.366
    """
    omega = np.minimum(np.asarray(seasonality) * awc_over_p + 1.25, 5.0)
    fraction = np.minimum(phi, 1.0 + phi - (1.0 + phi**omega) ** (1.0 / omega))
    return (1.0 - fraction) * precipitation


def water_yield_inputs(cat: Catalog, params: pd.DataFrame, year: int) -> list[np.ndarray]:
    lc_id, codes, valid = landcover_arrays(cat, year)
    table = class_table(
        cat, lc_id, params, {"kc": "kc", "root_depth": "root_depth", "vegetated": "lulc_veg"}
    )
    # InVEST's placeholder: root depth 1 mm where the class is not vegetated (unused there)
    root = table["root_depth"].where(table["vegetated"] == 1, 1.0)
    arrays = [
        _per_pixel(codes, valid, table["kc"]),
        _raster(cat, "reference_evapotranspiration", year),
        _raster(cat, "precipitation", year),
        _per_pixel(codes, valid, root),
        _raster(cat, "root_restricting_depth", None),
        _raster(cat, "plant_available_water", None),
        _per_pixel(codes, valid, table["vegetated"]),
    ]
    # float64 throughout (the service keeps the rasters' float32: differences ~1e-7 relative),
    # so that finite-difference Jacobians see a smooth objective
    return [np.asarray(a, dtype=np.float64).ravel() for a in arrays]


def water_yield_problem(
    cat: Catalog,
    params: pd.DataFrame,
    catchments: Catchments,
    observations: pd.DataFrame,
    *,
    per_basin: bool = False,
    bounds: tuple[float, float] = (1.0, 30.0),
) -> FitProblem:
    """Fit the seasonality constant Z of the annual water yield to observed runoff depth.

    The simulated value of a catchment and year is the area-weighted mean water-yield depth
    over its valid pixels, ``Σ a_i·y_i / Σ a_i`` (mm yr-1), y from the Budyko curve in
    InVEST 3.20's Fu–Zhang form (:func:`gep.kernels.water.annual_water_yield`). Everything that
    does not depend on Z is done once: rasters read, land cover reclassified to Kc, root depth
    and the vegetated flag, catchments cut out of the grid, ``φ`` and ``AWC/P`` per pixel, and
    the yield of non-vegetated pixels. A trial evaluates :func:`fu_zhang_yield` on the
    catchments' vegetated pixels only (one vectorised call for all catchments and years).

    Parameters
    ----------
    cat : Catalog
        Catalog with precipitation, reference ET, soil rasters and land cover per year.
    params : DataFrame
        Ecosystem-type parameter table (``kc``, ``root_depth``, ``lulc_veg``).
    catchments : Catchments
        Gauged catchments.
    observations : DataFrame
        :func:`match_observations` output, observed runoff in mm yr-1.
    per_basin : bool
        One Z per catchment instead of one for the region.
    bounds : (float, float)
        Bounds of Z (InVEST's guide: typically 1–30).

    Returns
    -------
    FitProblem

    References
    ----------
    Zhang L. et al. (2004) Water Resour. Res. 40:W02502; Donohue R.J., Roderick M.L.,
    McVicar T.R. (2012) Roots, storms and soil pores: incorporating key ecohydrological
    processes into Budyko's hydrological model. J. Hydrol. 436–437, 35–50 (Z as a calibration
    constant); Sharp et al., InVEST User's Guide, Annual Water Yield (Z, calibration).
    """
    keys = list(zip(observations["catchment_id"], observations["year"].astype(int), strict=True))
    basins = sorted(set(observations["catchment_id"])) if per_basin else ["all"]
    parts: list[WaterYieldPixels] = []
    for year in sorted({y for _, y in keys}):
        full = water_yield_inputs(cat, params, year)
        for cid, y in keys:
            if y == year:
                i = catchments.index(cid)
                idx = catchments.pixels[i]
                parts.append(WaterYieldPixels.build([a[idx] for a in full], catchments.area_m2[i]))
    # parts were built year by year: put them back in observation order
    order = [k for year in sorted({y for _, y in keys}) for k in keys if k[1] == year]
    by_key = dict(zip(order, parts, strict=True))
    ordered = [by_key[k] for k in keys]
    seg = np.concatenate([np.full(q.phi.size, j) for j, q in enumerate(ordered)])
    basin_of_pixel = np.concatenate(
        [
            np.full(q.phi.size, basins.index(k[0]) if per_basin else 0)
            for k, q in zip(keys, ordered, strict=True)
        ]
    )
    phi = np.concatenate([q.phi for q in ordered])
    awc_p = np.concatenate([q.awc_over_p for q in ordered])
    precip = np.concatenate([q.precipitation for q in ordered])
    area = np.concatenate([q.area_m2 for q in ordered])
    fixed = np.array([q.fixed_volume for q in ordered])
    valid_area = np.array([q.valid_area_m2 for q in ordered])

    def simulate(x: np.ndarray) -> np.ndarray:
        y = fu_zhang_yield(phi, awc_p, precip, np.asarray(x, dtype=np.float64)[basin_of_pixel])
        volume = np.bincount(seg, weights=area * y, minlength=len(keys)) + fixed
        return volume / valid_area  # m² · mm / m² = mm

    names = tuple(f"seasonality:{b}" for b in basins) if per_basin else ("seasonality",)
    return FitProblem(
        names=names,
        bounds=tuple(bounds for _ in names),
        simulate=simulate,
        observed=observations["observed"].to_numpy(dtype=np.float64),
        labels=observations[["catchment_id", "year"]],
        value_unit=units.MM_PER_YR,
        parameter_units=tuple(units.DIMENSIONLESS for _ in names),
        target="water_yield_z",
        info={"basins": basins, "pixels_per_trial": int(phi.size)},
    )


# --------------------------------------------------------------------------------------------
# Target 2: water-balance runoff coefficients
# --------------------------------------------------------------------------------------------


def _runoff_design(
    cat: Catalog, catchments: Catchments, observations: pd.DataFrame, types: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Per observation: ``Σ a·P`` per ecosystem type over the catchment, divided by its area."""
    rows, shares = [], []
    for cid, year in zip(observations["catchment_id"], observations["year"], strict=True):
        lc_id, codes, valid = landcover_arrays(cat, int(year))
        eco = ecosystem_type_of_codes(cat, lc_id)
        i = catchments.index(cid)
        idx, area = catchments.pixels[i], catchments.area_m2[i]
        p = _raster(cat, "precipitation", int(year)).ravel()[idx]
        ok = valid.ravel()[idx] & np.isfinite(p)
        px_type = eco.reindex(codes.ravel()[idx]).to_numpy(dtype=object)
        px_type[~ok] = None
        total = float(area[ok].sum())
        rows.append([float(np.sum((area * p)[px_type == t])) / total for t in types])
        shares.append({t: float(area[px_type == t].sum()) / total for t in set(px_type[ok])})
    share_table = pd.DataFrame(shares).fillna(0.0)
    return np.array(rows), observations["observed"].to_numpy(dtype=np.float64), share_table


def runoff_coefficient_problem(
    cat: Catalog,
    params: pd.DataFrame,
    catchments: Catchments,
    observations: pd.DataFrame,
    *,
    ecosystem_types: Sequence[str] | None = None,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> FitProblem:
    """Fit surface-runoff coefficients α per ecosystem type to observed runoff depth.

    The water-balance method's runoff is ``R = α·P`` per pixel (MEE 2020; DB11/T 2059—2022), so
    a catchment's runoff depth is ``Σ_t α_t·(Σ_{i∈t} a_i·P_i)/A`` (mm yr-1, A the catchment's
    valid area): linear in α. The design matrix ``X[obs, t] = Σ_{i∈t} a_i·P_i / A`` is built
    once; a trial is one matrix product. Types not fitted keep their table coefficient; types
    without a coefficient (outside the method) contribute no runoff, and their area share is
    reported in ``info["area_share"]``.

    Gauged streamflow includes baseflow, which the method's surface runoff does not: fit
    against quick flow (after baseflow separation) where it is known, or read the fitted α as
    an upper bound.

    Parameters
    ----------
    cat, params, catchments, observations
        As :func:`water_yield_problem` (observed runoff in mm yr-1).
    ecosystem_types : sequence of str, optional
        Types to fit (default: the types with a coefficient in the table that cover ≥ 1 % of
        the gauged area).
    bounds : (float, float)
        Bounds of every α (0–1).

    Returns
    -------
    FitProblem
        Convex (linear least squares).
    """
    table = params[params["parameter"] == "runoff_coefficient"].set_index("ecosystem_type")
    coef = pd.to_numeric(table["value"], errors="coerce")
    lc_id = cat.find(variable="landcover", year=int(observations["year"].iloc[0]))
    all_types = sorted(set(ecosystem_type_of_codes(cat, lc_id)))
    x_all, observed, shares = _runoff_design(cat, catchments, observations, all_types)
    if ecosystem_types is None:
        mean_share = shares.mean()
        ecosystem_types = [
            t
            for t in all_types
            if np.isfinite(coef.get(t, np.nan)) and mean_share.get(t, 0) >= 0.01
        ]
    fitted = list(ecosystem_types)
    unknown = sorted(set(fitted) - set(all_types))
    if unknown:
        raise CalibrationError(
            f"runoff coefficients: ecosystem types {unknown} are not in the land-cover scheme "
            f"({all_types})"
        )
    fixed = [t for t in all_types if t not in fitted and np.isfinite(coef.get(t, np.nan))]
    cols = [all_types.index(t) for t in fitted]
    base = x_all[:, [all_types.index(t) for t in fixed]] @ coef.reindex(fixed).to_numpy(float)
    design = x_all[:, cols]

    def simulate(x: np.ndarray) -> np.ndarray:
        return base + design @ x

    return FitProblem(
        names=tuple(f"runoff_coefficient:{t}" for t in fitted),
        bounds=tuple(bounds for _ in fitted),
        simulate=simulate,
        observed=observed,
        labels=observations[["catchment_id", "year"]],
        value_unit=units.MM_PER_YR,
        parameter_units=tuple(units.DIMENSIONLESS for _ in fitted),
        target="runoff_coefficients",
        convex=True,
        info={"fixed": {t: float(coef[t]) for t in fixed}, "area_share": shares},
    )


# --------------------------------------------------------------------------------------------
# Target 3: SDR parameters k, IC0, SDR_max
# --------------------------------------------------------------------------------------------


def delivery_ratio(ic: np.ndarray, k: float, ic0: float, sdr_max: float) -> np.ndarray:
    """Sediment delivery ratio ``SDR = SDR_max / (1 + exp((IC0 − IC)/k))``, in float64.

    The same formula as :func:`gep.kernels.sdr.sediment_delivery_ratio` (off streams), kept in
    float64 here so that the objective is smooth for finite-difference Jacobians (InVEST's
    float32 would add steps of ~1e-7 relative).

    References
    ----------
    Vigiak O. et al. (2012) Geomorphology 138, 74–88, eq. 2; Borselli et al. (2008).

    Examples
    --------
    >>> float(delivery_ratio(np.array([0.5]), 2.0, 0.5, 0.8)[0])
    0.4
    """
    return sdr_max / (1.0 + np.exp((ic0 - np.asarray(ic, dtype=np.float64)) / k))


@dataclass(frozen=True)
class SDRInputs:
    """What the SDR calibration needs per year, computed once by the routing.

    Parameters
    ----------
    ic : ndarray
        Index of connectivity per pixel (NaN off the drained area), flat.
    soil_loss_t_per_ha : ndarray
        USLE soil loss ``R·K·LS·C·P`` per pixel, t ha-1 yr-1 (NaN on streams and nodata), flat.
    """

    ic: np.ndarray
    soil_loss_t_per_ha: np.ndarray


def sdr_inputs(
    cat: Catalog,
    params: pd.DataFrame,
    year: int,
    *,
    flow_dir_algorithm: str = "mfd",
    threshold_flow_accumulation: float = 1000.0,
    l_max: float = 122.0,
    downslope_distance: str = "pixels",
) -> SDRInputs:
    """Run the parameter-free part of the SDR model once: routing, LS, USLE, D_up, D_dn, IC.

    Calls :func:`gep.kernels.sdr.sdr_model` (InVEST 3.20 SDR), whose IC and USLE do not depend
    on k, IC0 or SDR_max; the default values it is given are not used afterwards.
    """
    from gep.kernels.sdr import sdr_model  # the routing kernels are heavy to import

    lc_id, codes, valid = landcover_arrays(cat, year)
    c = _per_pixel(codes, valid, _class_values(cat, lc_id, params, "usle_c"))
    p = _per_pixel(codes, valid, _class_values(cat, lc_id, params, "usle_p"))
    grid = cat.reference_grid()
    cell_x, cell_y = grid.pixel_size_m()
    out = sdr_model(
        _raster(cat, "elevation", None).astype(np.float64),
        _raster(cat, "erosivity", year).astype(np.float64),
        _raster(cat, "erodibility", None).astype(np.float64),
        c,
        p,
        valid,
        float(min(cell_x, cell_y)),
        flow_dir_algorithm=flow_dir_algorithm,
        threshold_flow_accumulation=threshold_flow_accumulation,
        l_max=l_max,
        downslope_distance=downslope_distance,
    )
    return SDRInputs(
        np.asarray(out["ic"], dtype=np.float64).ravel(),
        np.asarray(out["usle"], dtype=np.float64).ravel(),
    )


def sdr_problem(
    inputs: dict[int, SDRInputs],
    catchments: Catchments,
    observations: pd.DataFrame,
    *,
    bounds: dict[str, tuple[float, float]] | None = None,
) -> FitProblem:
    """Fit the Borselli/Vigiak SDR parameters k, IC0 and SDR_max to observed sediment yield.

    The simulated sediment yield of a catchment and year is InVEST's export summed over its
    pixels, ``Σ_i f_i·USLE_i·SDR(IC_i)`` (t yr-1, f the coverage fraction), with
    ``SDR = SDR_max/(1 + exp((IC0 − IC)/k))``. Flow directions, accumulation, D_up, D_dn and IC
    come from :func:`sdr_inputs`, computed once per year; a trial evaluates the logistic on the
    catchments' drained pixels and sums (stream pixels carry no USLE, as in InVEST).

    Parameters
    ----------
    inputs : dict of int to SDRInputs
        :func:`sdr_inputs` per observed year.
    catchments : Catchments
        Gauged catchments on the same grid.
    observations : DataFrame
        :func:`match_observations` output, observed sediment yield in t yr-1.
    bounds : dict, optional
        Bounds of ``k``, ``ic0`` and ``sdr_max`` (default (0.1, 10), (−10, 5), (0.05, 1)). IC
        depends on the D_dn convention: InVEST's pixel steps give IC roughly 2.5 lower than
        metres at 300 m, so IC0 must be allowed where the catchments' IC values lie.

    Returns
    -------
    FitProblem

    References
    ----------
    Borselli L., Cassi P., Torri D. (2008) Catena 75, 268–277. Vigiak O. et al. (2012)
    Geomorphology 138, 74–88. Hamel P. et al. (2015) A new approach to modeling the sediment
    retention service (InVEST 3.0). Sci. Total Environ. 524–525, 166–177 (calibration of k and
    IC0 against observed sediment yield).
    """
    default = {"k": (0.1, 10.0), "ic0": (-10.0, 5.0), "sdr_max": (0.05, 1.0)}
    chosen = {**default, **(bounds or {})}
    ic_parts, load_parts, segments = [], [], []
    for j, (cid, year) in enumerate(
        zip(observations["catchment_id"], observations["year"].astype(int), strict=True)
    ):
        if year not in inputs:
            raise CalibrationError(f"sdr: no SDR inputs for year {year}; compute sdr_inputs first")
        i = catchments.index(cid)
        idx = catchments.pixels[i]
        ic = inputs[year].ic[idx]
        # t ha-1 yr-1 · (m² inside the catchment / 10 000 m² ha-1) = t yr-1
        load = inputs[year].soil_loss_t_per_ha[idx] * catchments.area_m2[i] / units.M2_PER_HA
        ok = np.isfinite(ic) & np.isfinite(load)
        ic_parts.append(ic[ok])
        load_parts.append(load[ok])
        segments.append(np.full(int(ok.sum()), j))
    ic_all = np.concatenate(ic_parts)
    load_all = np.concatenate(load_parts)
    seg = np.concatenate(segments)
    n_obs = len(observations)

    def simulate(x: np.ndarray) -> np.ndarray:
        sdr = delivery_ratio(ic_all, x[0], x[1], x[2])
        return np.bincount(seg, weights=load_all * sdr, minlength=n_obs)

    names = ("k", "ic0", "sdr_max")
    return FitProblem(
        names=names,
        bounds=tuple(chosen[n] for n in names),
        simulate=simulate,
        observed=observations["observed"].to_numpy(dtype=np.float64),
        labels=observations[["catchment_id", "year"]],
        value_unit=units.T_PER_YR,
        parameter_units=(units.DIMENSIONLESS,) * 3,
        target="sdr",
        info={"pixels_per_trial": int(ic_all.size)},
    )


# --------------------------------------------------------------------------------------------
# Target 4: the C factor–NDVI relation
# --------------------------------------------------------------------------------------------


def c_factor_van_der_knijff(ndvi: Any, alpha: float = 2.0, beta: float = 1.0) -> np.ndarray:
    """Cover-management factor from NDVI, ``C = exp(−α·NDVI/(β − NDVI))``, clipped to [0, 1].

    Parameters
    ----------
    ndvi : array_like
        NDVI (−1 to 1).
    alpha, beta : float
        Shape parameters (2 and 1 in the source); C = 0 where NDVI ≥ β.

    Returns
    -------
    ndarray
        C factor (1).

    References
    ----------
    Van der Knijff J.M., Jones R.J.A., Montanarella L. (1999) Soil erosion risk assessment in
    Italy. European Soil Bureau, EUR 19044 EN; (2000) Soil erosion risk assessment in Europe,
    EUR 19044 EN, p. 12.

    Examples
    --------
    NDVI 0.5 with α = 2, β = 1: exp(−2·0.5/0.5) = exp(−2):

    >>> round(float(c_factor_van_der_knijff(0.5)), 6)
    0.135335
    """
    v = np.asarray(ndvi, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = np.exp(-alpha * v / (beta - v))
    return np.where(v >= beta, 0.0, np.clip(c, 0.0, 1.0))


def c_factor_cai(ndvi: Any, ndvi_soil: float = 0.05, ndvi_veg: float = 0.85) -> np.ndarray:
    """C factor from vegetation cover (Cai et al. 2000), cover from NDVI (dimidiate pixel).

    ``fc = clip((NDVI − NDVI_soil)/(NDVI_veg − NDVI_soil), 0, 1)``, f = 100·fc (%);
    ``C = 1`` for f ≤ 0.1 %, ``C = 0.6508 − 0.3436·lg f`` for 0.1 % < f < 78.3 %, ``C = 0``
    for f ≥ 78.3 %.

    Parameters
    ----------
    ndvi : array_like
        NDVI.
    ndvi_soil, ndvi_veg : float
        NDVI of bare soil and of full vegetation cover (the fitted parameters).

    Returns
    -------
    ndarray
        C factor (1).

    References
    ----------
    Cai C.F., Ding S.W., Shi Z.H., Huang L., Zhang G.Y. (2000) 应用EUPS模型评估... 水土保持学报
    14(2), 19–24. Gutman G., Ignatov A. (1998) Int. J. Remote Sens. 19(8), 1533–1543 (fc).

    Examples
    --------
    NDVI 0.45 with soil 0.05 and vegetation 0.85: fc = 0.5, f = 50 %,
    C = 0.6508 − 0.3436·lg 50 = 0.6508 − 0.583766 = 0.067034:

    >>> round(float(c_factor_cai(0.45)), 6)
    0.067034
    """
    v = np.asarray(ndvi, dtype=np.float64)
    fc = np.clip((v - ndvi_soil) / (ndvi_veg - ndvi_soil), 0.0, 1.0)
    f = 100.0 * fc
    with np.errstate(divide="ignore"):
        middle = 0.6508 - 0.3436 * np.log10(np.where(f > 0, f, 1.0))
    return np.where(f <= 0.1, 1.0, np.where(f >= 78.3, 0.0, middle))


#: form → (function, parameter names, default bounds)
C_NDVI_FORMS: dict[str, tuple[Callable[..., np.ndarray], tuple[str, str], tuple[Any, Any]]] = {
    "van_der_knijff": (c_factor_van_der_knijff, ("alpha", "beta"), ((0.1, 10.0), (1.0, 5.0))),
    "cai": (c_factor_cai, ("ndvi_soil", "ndvi_veg"), ((-0.2, 0.3), (0.5, 1.0))),
}


def c_ndvi_problem(
    ndvi: Any,
    observed_c: Any,
    *,
    form: str = "van_der_knijff",
    bounds: Sequence[tuple[float, float]] | None = None,
    labels: pd.DataFrame | None = None,
) -> FitProblem:
    """Fit a C factor–NDVI relation to paired observations (plots, or class C vs mean NDVI).

    Parameters
    ----------
    ndvi, observed_c : array_like
        Paired NDVI and observed C factor.
    form : {"van_der_knijff", "cai"}
        :func:`c_factor_van_der_knijff` (α, β) or :func:`c_factor_cai` (NDVI_soil, NDVI_veg).
    bounds : sequence of (float, float), optional
        Bounds of the two parameters.
    labels : DataFrame, optional
        One row per observation.

    Returns
    -------
    FitProblem
        Not convex (the Cai form is piecewise): the global search runs.
    """
    if form not in C_NDVI_FORMS:
        raise CalibrationError(f"unknown C–NDVI form {form!r}; choose from {list(C_NDVI_FORMS)}")
    func, names, default = C_NDVI_FORMS[form]
    v = np.asarray(ndvi, dtype=np.float64).ravel()
    c = np.asarray(observed_c, dtype=np.float64).ravel()
    if v.shape != c.shape or not np.all(np.isfinite(v)):
        raise CalibrationError("C–NDVI observations: NDVI and C must be paired and finite")
    if np.any((c < 0) | (c > 1)):
        raise CalibrationError("C–NDVI observations: C factors must lie in [0, 1]")

    def simulate(x: np.ndarray) -> np.ndarray:
        return func(v, float(x[0]), float(x[1]))

    return FitProblem(
        names=tuple(f"c_ndvi_{n}" for n in names),
        bounds=tuple(tuple(b) for b in (bounds or default)),  # type: ignore[misc]
        simulate=simulate,
        observed=c,
        labels=labels if labels is not None else pd.DataFrame({"ndvi": v}),
        value_unit=units.DIMENSIONLESS,
        parameter_units=(units.DIMENSIONLESS,) * 2,
        target="c_factor_ndvi",
        info={"form": form},
    )


def class_c_from_ndvi(
    ndvi: np.ndarray, codes: np.ndarray, valid: np.ndarray, types: pd.Series, c_of_ndvi: Callable
) -> pd.Series:
    """Mean C factor per ecosystem type from an NDVI raster and a fitted C–NDVI relation.

    Parameters
    ----------
    ndvi : ndarray
        NDVI per pixel.
    codes, valid : ndarray
        Land-cover codes and their valid mask.
    types : Series
        Ecosystem type per land-cover code (the class scheme).
    c_of_ndvi : callable
        NDVI → C (e.g. a fitted :func:`c_factor_van_der_knijff`).

    Returns
    -------
    Series
        Mean C per ecosystem type (types without valid NDVI pixels are left out).
    """
    ok = valid & np.isfinite(ndvi)
    c = c_of_ndvi(ndvi[ok])
    eco = types.reindex(codes[ok].astype(int)).to_numpy()
    return pd.Series(c).groupby(eco).mean()


# --------------------------------------------------------------------------------------------
# Reports: parameter table, plots
# --------------------------------------------------------------------------------------------


def table_key(name: str) -> tuple[str, str]:
    """Catalog key ``(ecosystem_type, parameter)`` of a fitted parameter name.

    ``runoff_coefficient:forest`` → ``(forest, runoff_coefficient)``;
    ``seasonality:G1`` (per basin) → ``(basin:G1, seasonality)``;
    region-wide parameters → ``(all, name)``.

    Examples
    --------
    >>> table_key("runoff_coefficient:forest"), table_key("seasonality:G1"), table_key("k")
    (('forest', 'runoff_coefficient'), ('basin:G1', 'seasonality'), ('all', 'k'))
    """
    if ":" not in name:
        return "all", name
    parameter, where = name.split(":", 1)
    if parameter == "seasonality":
        return f"basin:{where}", parameter
    return where, parameter


def updated_parameter_table(
    base: pd.DataFrame,
    result: FitResult,
    *,
    against: str,
    date: dt.date | None = None,
    extra: dict[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """The catalog's parameter table with the fitted values written in (long format).

    Rows ``ecosystem_type, parameter, value, unit, source, confidence`` (and ``note``) are
    replaced where the key exists and appended otherwise; ``source`` is "calibrated by gep
    <version> against <observations>, <date>", ``confidence`` "user supplied", and ``note``
    holds the interval and the objective.

    Parameters
    ----------
    base : DataFrame
        The table used for the fit.
    result : FitResult
        The fit.
    against : str
        What was fitted against (e.g. "gauges G1, G2 (observed_runoff_mm 2015, 2020)").
    date : datetime.date, optional
        Date of the calibration (today).
    extra : dict, optional
        More ``(ecosystem_type, parameter) → value`` rows derived from the fit (e.g. class C).
    """
    when = (date or dt.date.today()).isoformat()
    source = f"calibrated by gep {__version__} against {against}, {when}"
    rows = []
    table = result.parameter_table()
    for r in table.itertuples():
        eco, parameter = table_key(str(r.parameter))
        note = (
            f"{result.objective} fit; {r.ci_level:.0%} CI [{r.ci_low:.6g}, {r.ci_high:.6g}] "
            f"({r.ci_method}){'; at a bound' if r.at_bound else ''}"
        )
        rows.append((eco, parameter, float(r.value), str(r.unit), note))  # type: ignore[arg-type]
    for (eco, parameter), value in (extra or {}).items():
        rows.append((eco, parameter, float(value), units.DIMENSIONLESS, "derived from the fit"))
    new = pd.DataFrame(
        rows, columns=["ecosystem_type", "parameter", "value", "unit", "note"]
    ).assign(source=source, confidence="user supplied")
    out = base.copy()
    if "note" not in out.columns:
        out["note"] = ""
    keys = set(zip(new["ecosystem_type"], new["parameter"], strict=True))
    keep = [k not in keys for k in zip(out["ecosystem_type"], out["parameter"], strict=True)]
    columns = [*out.columns]
    merged = pd.concat([out[keep], new[columns]], ignore_index=True)
    return merged


def write_parameter_table(table: pd.DataFrame, path: Path) -> Path:
    """Write a parameter table as UTF-8 CSV, atomically."""
    return atomic_write(Path(path), lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8"))


def plot_observed_vs_simulated(result: FitResult, path: Path, *, title: str | None = None) -> Path:
    """Observed vs simulated (with the 1:1 line) and residuals, as a PNG written atomically.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend change).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = result.observation_table()
    label_cols = [c for c in result.problem.labels.columns]
    names = table[label_cols].astype(str).agg(" ".join, axis=1)
    fig = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    obs, sim = table["observed"].to_numpy(), table["simulated"].to_numpy()
    group = table[label_cols[0]].astype(str)
    for g in sorted(group.unique()):
        m = (group == g).to_numpy()
        left.scatter(obs[m], sim[m], label=g, s=30)
    lim = [min(obs.min(), sim.min()), max(obs.max(), sim.max())]
    pad = 0.05 * (lim[1] - lim[0] or 1.0)
    left.plot([lim[0] - pad, lim[1] + pad], [lim[0] - pad, lim[1] + pad], "k--", lw=1, label="1:1")
    unit = result.problem.value_unit
    left.set_xlabel(f"observed ({unit})")
    left.set_ylabel(f"simulated ({unit})")
    s = result.statistics
    left.set_title(f"NSE {s['nse']:.3f}  KGE {s['kge']:.3f}  PBIAS {s['pbias_percent']:.1f} %")
    if group.nunique() <= 12:
        left.legend(fontsize=8)
    right.bar(np.arange(len(table)), table["residual"].to_numpy())
    right.axhline(0, color="k", lw=1)
    right.set_xticks(np.arange(len(table)))
    right.set_xticklabels(names, rotation=90, fontsize=7)
    right.set_ylabel(f"simulated − observed ({unit})")
    fig.suptitle(title or f"{result.problem.target}: observed vs simulated")
    fig.tight_layout()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tight_layout notes on crowded labels
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
