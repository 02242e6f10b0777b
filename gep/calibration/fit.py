"""Fitting: bounded global then local search, intervals that respect bounds, identifiability.

:func:`fit` runs a seeded global search (differential evolution) where the surface may be
rough, then a local refinement (``least_squares`` for sum-of-squares objectives, ``L-BFGS-B``
otherwise). Every result carries the parameter correlation matrix and the condition number of
``JᵀJ`` (:mod:`gep.calibration.identifiability`), warnings for |r| > 0.9 and for parameters
the observations do not constrain, and intervals that never run past the bounds: the
linearised interval is clipped and flagged at a bound, and replaced by the profile likelihood
where it is invalid (a parameter on an active bound, or in a null space); or a multi-start
bootstrap over resampled gauges (:mod:`gep.calibration.intervals`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from gep.calibration import gates
from gep.calibration.errors import CalibrationError
from gep.calibration.identifiability import (
    CORRELATION_WARNING,
    identifiability,
    jacobian,
    linearised_intervals,
)
from gep.calibration.intervals import block_bootstrap, profile_interval
from gep.calibration.metrics import _SUM_OF_SQUARES, OBJECTIVES, fit_statistics
from gep.calibration.problem import FitProblem, FitResult, Identifiability
from gep.calibration.search import (
    Counter,
    Transform,
    global_search,
    local_search,
    objective_loss,
    weighted_residuals,
)

__all__ = ["fit"]

CIMethod = Literal["auto", "jacobian", "bootstrap", "none"]


def fit(
    problem: FitProblem,
    objective: str = "nse",
    *,
    seed: int = 0,
    global_search: bool | None = None,
    maxiter: int = 60,
    popsize: int = 15,
    ci: CIMethod = "auto",
    ci_level: float = 0.95,
    n_bootstrap: int = 100,
    n_starts: int = 3,
) -> FitResult:
    """Fit the parameters of a problem: bounded, global then local, with honest intervals.

    Parameters
    ----------
    problem : FitProblem
        What to fit.
    objective : {"nse", "kge", "log_nse", "rmse", "pbias"}
        Objective function (see :data:`gep.calibration.OBJECTIVES`); its loss is minimised
        (the weighted sum of squares when the problem has weights).
    seed : int
        Seed of the global search and of the bootstrap.
    global_search : bool, optional
        Run differential evolution first (Storn & Price 1997). Default: yes unless the problem
        is convex and the objective a sum of squares.
    maxiter, popsize : int
        Differential-evolution generations and population multiplier.
    ci : {"auto", "jacobian", "bootstrap", "none"}
        ``jacobian``: linearised intervals (sum-of-squares objectives), clipped and flagged at
        the bounds, profile likelihood for parameters on a bound or not identifiable;
        ``bootstrap``: gauges resampled, each resample re-fitted from ``n_starts`` starts;
        ``auto``: jacobian for sum-of-squares objectives, bootstrap otherwise.
    ci_level : float
        Confidence level (0.95).
    n_bootstrap, n_starts : int
        Bootstrap resamples, and start points of each re-fit.

    Returns
    -------
    FitResult
        Values, intervals with a flag per parameter, identifiability, statistics, gates.

    References
    ----------
    Storn R., Price K. (1997) Differential evolution. J. Global Optim. 11, 341–359.
    Branch M.A., Coleman T.F., Li Y. (1999) SIAM J. Sci. Comput. 21, 1–23 (``least_squares``
    trf). Bates D.M., Watts D.G. (1988) Nonlinear Regression Analysis and Its Applications,
    Wiley, §2.3 and §6.1.
    """
    _check_fit_options(problem, objective, ci, ci_level)
    sim = Counter(problem.simulate)
    x, method, message = _optimise(problem, objective, sim, seed, global_search, maxiter, popsize)
    n_evaluations = sim.calls
    simulated = np.asarray(problem.simulate(x), dtype=np.float64)
    ident_objective = objective if objective in _SUM_OF_SQUARES else "nse"
    jac = jacobian(
        lambda v: weighted_residuals(problem, ident_objective, np.asarray(problem.simulate(v))),
        x,
        problem.lower,
        problem.upper,
    )
    ident = identifiability(jac, problem.names)
    result = FitResult(
        problem=problem,
        objective=objective,
        values=x,
        ci_low=np.full(x.size, np.nan),
        ci_high=np.full(x.size, np.nan),
        ci_method="none",
        ci_level=ci_level,
        simulated=simulated,
        statistics=fit_statistics(problem.observed, simulated),
        n_evaluations=n_evaluations,
        method=method,
        message=message,
        identifiability=ident,
    )
    chosen = ci if ci != "auto" else ("jacobian" if objective in _SUM_OF_SQUARES else "bootstrap")
    if chosen == "jacobian":
        _jacobian_intervals(result, jac)
    elif chosen == "bootstrap":
        _bootstrap_intervals(result, n_bootstrap, n_starts, seed)
    else:
        result.ci_flags = ("none",) * x.size
    result.warnings = identifiability_warnings(result.problem.names, ident, result.at_bound())
    result.gates = gates.evaluate(result)
    return result


def _optimise(
    problem: FitProblem,
    objective: str,
    sim: Counter,
    seed: int,
    use_global: bool | None,
    maxiter: int,
    popsize: int,
) -> tuple[np.ndarray, str, str]:
    """Global (optional) then local search; returns the optimum, the steps and their messages."""
    if use_global is None:
        use_global = not (problem.convex and objective in _SUM_OF_SQUARES)
    tr = Transform.for_problem(problem)
    x0 = tr.outward((tr.inward(problem.lower) + tr.inward(problem.upper)) / 2)
    steps, messages = [], []
    if use_global:
        x0, text = global_search(problem, objective, sim, seed, maxiter, popsize)
        steps.append("differential_evolution")
        messages.append(text)
    x, text = local_search(problem, objective, sim, x0)
    steps.append(text.split(":")[0])
    messages.append(text)
    if objective_loss(problem, objective, sim(x)) > objective_loss(problem, objective, sim(x0)):
        x = x0  # the local step must not make things worse
    return np.asarray(x, dtype=np.float64), " + ".join(steps), "; ".join(messages)


def _jacobian_intervals(result: FitResult, jac: np.ndarray) -> None:
    """Linearised intervals, clipped at the bounds; profile likelihood where invalid."""
    problem, x, level = result.problem, result.values, result.ci_level
    residual = weighted_residuals(problem, result.objective, result.simulated)
    low, high = linearised_intervals(problem, residual, jac, x, level)
    n, p = jac.shape
    ident = result.identifiability
    assert ident is not None
    at_bound = result.at_bound()
    flags = []
    for i, name in enumerate(problem.names):
        if n <= p:
            flags.append(f"none (n = {n} observations ≤ p = {p} parameters)")
        elif at_bound[i] or name in ident.non_identifiable:
            why = "at a bound" if at_bound[i] else "not identifiable"
            low[i], high[i], open_end = profile_interval(
                problem, result.objective, problem.simulate, x, i, level
            )
            flags.append(f"profile likelihood ({why}){'; reaches a bound' if open_end else ''}")
        elif low[i] < problem.lower[i] or high[i] > problem.upper[i]:
            low[i], high[i] = max(low[i], problem.lower[i]), min(high[i], problem.upper[i])
            flags.append("linearised, clipped at a bound")
        else:
            flags.append("linearised")
    result.ci_low, result.ci_high, result.ci_flags = low, high, tuple(flags)
    result.ci_method = (
        "jacobian (linearised least squares at the optimum; clipped at the bounds; profile "
        "likelihood where a parameter is on a bound or not identifiable)"
    )


def _bootstrap_intervals(result: FitResult, n_bootstrap: int, n_starts: int, seed: int) -> None:
    """Percentile intervals from the multi-start gauge bootstrap."""
    problem = result.problem
    draws, text = block_bootstrap(
        problem,
        result.objective,
        problem.simulate,
        result.values,
        n_bootstrap=n_bootstrap,
        n_starts=n_starts,
        seed=seed,
    )
    tail = (1 - result.ci_level) / 2 * 100
    if draws.shape[0] < 2:
        raise CalibrationError(
            f"{problem.target}: the bootstrap found fewer than 2 usable resamples; add gauges "
            "or observations, or use ci: jacobian"
        )
    result.ci_low = np.percentile(draws, tail, axis=0)
    result.ci_high = np.percentile(draws, 100 - tail, axis=0)
    result.ci_method = text
    result.samples = draws
    result.ci_flags = tuple(
        "bootstrap; value at a bound" if b else "bootstrap" for b in result.at_bound()
    )


def identifiability_warnings(
    names: tuple[str, ...], ident: Identifiability | None, at_bound: np.ndarray
) -> list[str]:
    """Warnings for strong correlation, null-space combinations and values on bounds."""
    if ident is None:
        return []
    out = []
    pairs = ident.strong_pairs(names, CORRELATION_WARNING)
    if pairs:
        out.append(
            f"strongly correlated parameters (|r| > {CORRELATION_WARNING}): {', '.join(pairs)}; "
            "the observations constrain their combination better than each (equifinality)"
        )
    for combo in ident.null_space:
        terms = " + ".join(f"{w:+.3g}·{n}" for n, w in combo.items())
        out.append(
            f"not identifiable: the fit does not change along {terms} (a null space of JᵀJ); "
            "fix one of these parameters or add observations that separate them"
        )
    for name, flag in zip(names, at_bound, strict=True):
        if flag:
            out.append(f"{name} is on its bound: its interval is a profile likelihood")
    return out


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
    if problem.weights is not None and objective not in _SUM_OF_SQUARES:
        raise CalibrationError(
            f"observation weights need a sum-of-squares objective {_SUM_OF_SQUARES}, not "
            f"{objective!r}"
        )
    if not 0 < ci_level < 1:
        raise CalibrationError(f"ci_level must be in (0, 1), got {ci_level}")
    if objective == "log_nse" and np.any(problem.observed <= 0):
        raise CalibrationError(f"{problem.target}: log_nse needs observations > 0")
