"""Bounded searches of a calibration: seeded global search, local refinement, multi-start.

Parameters whose bounds are positive and span two decades or more (``k`` of SDR: 0.1–10) are
searched on a log scale, so that a step means the same relative change anywhere in the range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from gep.calibration.metrics import _SUM_OF_SQUARES, loss, residuals
from gep.calibration.problem import FitProblem

__all__ = ["Counter", "Transform", "global_search", "local_search", "multi_start", "objective_loss"]


class Counter:
    """Wrap a simulator, counting calls."""

    def __init__(self, simulate: Callable[[np.ndarray], np.ndarray]):
        self.simulate = simulate
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Simulate at ``x`` (float64), counting the call."""
        self.calls += 1
        return np.asarray(self.simulate(np.asarray(x, dtype=np.float64)), dtype=np.float64)


@dataclass(frozen=True)
class Transform:
    """Search coordinates: ``u = ln x`` for parameters spanning ≥ 2 decades, ``u = x`` otherwise."""

    log: np.ndarray

    @classmethod
    def for_problem(cls, problem: FitProblem) -> Transform:
        """Log scale where ``lower > 0`` and ``upper/lower ≥ 100``."""
        lo, hi = problem.lower, problem.upper
        return cls((lo > 0) & (hi >= 100 * np.where(lo > 0, lo, np.inf)))

    def inward(self, x: np.ndarray) -> np.ndarray:
        """Parameters → search coordinates."""
        x = np.asarray(x, dtype=np.float64)
        return np.where(self.log, np.log(np.where(self.log, x, 1.0)), x)

    def outward(self, u: np.ndarray) -> np.ndarray:
        """Search coordinates → parameters."""
        u = np.asarray(u, dtype=np.float64)
        return np.where(self.log, np.exp(np.where(self.log, u, 0.0)), u)


def weighted_residuals(
    problem: FitProblem, objective: str, simulated: np.ndarray, idx: np.ndarray | None = None
) -> np.ndarray:
    """Residuals of the objective's sum of squares, times the observation weights."""
    obs = problem.observed if idx is None else problem.observed[idx]
    sim = simulated if idx is None else simulated[idx]
    r = residuals(objective, obs, sim)
    if problem.weights is not None:
        r = r * (problem.weights if idx is None else problem.weights[idx])
    return r


def objective_loss(
    problem: FitProblem, objective: str, simulated: np.ndarray, idx: np.ndarray | None = None
) -> float:
    """The minimised quantity: the metric's loss, or the weighted SSE when weights are set."""
    if problem.weights is not None and objective in _SUM_OF_SQUARES:
        r = weighted_residuals(problem, objective, simulated, idx)
        return float(r @ r) if np.all(np.isfinite(r)) else 1e12
    obs = problem.observed if idx is None else problem.observed[idx]
    return loss(objective, obs, simulated if idx is None else simulated[idx])


def global_search(
    problem: FitProblem,
    objective: str,
    sim: Counter,
    seed: int,
    maxiter: int,
    popsize: int,
) -> tuple[np.ndarray, str]:
    """Seeded differential evolution (Storn & Price 1997) in search coordinates."""
    tr = Transform.for_problem(problem)
    bounds = list(zip(tr.inward(problem.lower), tr.inward(problem.upper), strict=True))
    result = optimize.differential_evolution(
        lambda u: objective_loss(problem, objective, sim(tr.outward(u))),
        bounds,
        seed=seed,
        maxiter=maxiter,
        popsize=popsize,
        tol=1e-6,
        polish=False,
        init="sobol" if len(problem.names) > 1 else "latinhypercube",
    )
    return tr.outward(result.x), f"differential_evolution: {result.message}"


def local_search(
    problem: FitProblem,
    objective: str,
    sim: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    idx: np.ndarray | None = None,
    fixed: dict[int, float] | None = None,
) -> tuple[np.ndarray, str]:
    """Bounded local refinement: ``least_squares`` (trf) or ``L-BFGS-B``, from ``x0``.

    ``idx`` restricts the objective to some observations (bootstrap); ``fixed`` holds
    parameters at given values (profile likelihood).
    """
    tr = Transform.for_problem(problem)
    free = np.array([k not in (fixed or {}) for k in range(x0.size)])
    full = np.asarray(x0, dtype=np.float64).copy()
    for k, v in (fixed or {}).items():
        full[k] = v
    lo, hi = tr.inward(problem.lower)[free], tr.inward(problem.upper)[free]

    def expand(u: np.ndarray) -> np.ndarray:
        x = full.copy()
        x[free] = np.where(tr.log[free], np.exp(np.where(tr.log[free], u, 0.0)), u)
        return x

    u0 = np.clip(tr.inward(full)[free], lo, hi)
    if objective in _SUM_OF_SQUARES:
        res = optimize.least_squares(
            lambda u: weighted_residuals(problem, objective, sim(expand(u)), idx),
            u0,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
        )
        return expand(res.x), f"least_squares (trf): {res.message}"
    res_min = optimize.minimize(
        lambda u: objective_loss(problem, objective, sim(expand(u)), idx),
        u0,
        method="L-BFGS-B",
        bounds=list(zip(lo, hi, strict=True)),
    )
    return expand(res_min.x), f"L-BFGS-B: {res_min.message}"


def start_points(problem: FitProblem, n: int, seed: int) -> np.ndarray:
    """``n`` Latin-hypercube start points in the bounds (search coordinates, seeded)."""
    tr = Transform.for_problem(problem)
    unit = qmc.LatinHypercube(d=len(problem.names), seed=seed).random(n)
    lo, hi = tr.inward(problem.lower), tr.inward(problem.upper)
    return np.array([tr.outward(lo + row * (hi - lo)) for row in unit])


def multi_start(
    problem: FitProblem,
    objective: str,
    sim: Callable[[np.ndarray], np.ndarray],
    starts: np.ndarray,
    *,
    idx: np.ndarray | None = None,
) -> np.ndarray:
    """The best of local refinements from several start points (a global refit)."""
    best, best_loss = starts[0], np.inf
    for x0 in starts:
        x, _ = local_search(problem, objective, sim, x0, idx=idx)
        value = objective_loss(problem, objective, np.asarray(sim(x)), idx)
        if value < best_loss:
            best, best_loss = x, value
    return np.asarray(best, dtype=np.float64)
