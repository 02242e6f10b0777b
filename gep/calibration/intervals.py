"""Intervals where the linearised one is invalid: profile likelihood and the gauge bootstrap.

* **Profile likelihood** (parameters on a bound or in a null space): the parameter is held at
  values walking from the optimum to each bound, the others re-fitted each time; the interval
  is where the re-fitted sum of squares stays below the F-test threshold. It can end on a
  bound, and it is flat (the whole range) for a parameter the data do not constrain.
* **Block bootstrap**: gauges (all the years of a gauge together) are resampled with
  replacement, since residuals persist per gauge; each resample is re-fitted from several
  start points (the optimum and a Latin hypercube), so that a second optimum is found when it
  exists.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from gep.calibration.problem import FitProblem
from gep.calibration.search import local_search, multi_start, start_points, weighted_residuals

__all__ = ["block_bootstrap", "profile_interval"]


def _profile_sse(
    problem: FitProblem,
    objective: str,
    sim: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    i: int,
    value: float,
) -> tuple[float, np.ndarray]:
    """Sum of squares with parameter ``i`` held at ``value``, the others re-fitted from ``x``."""
    start = x.copy()
    start[i] = value
    if x.size > 1:
        start, _ = local_search(problem, objective, sim, start, fixed={i: value})
    r = weighted_residuals(problem, objective, np.asarray(sim(start)))
    return float(r @ r), start


def _walk(
    problem: FitProblem,
    objective: str,
    sim: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    i: int,
    end: float,
    levels: tuple[float, float],
    n_steps: int,
) -> tuple[float, bool]:
    """Walk parameter ``i`` from ``x[i]`` to ``end``; return where the SSE crosses ``threshold``.

    ``levels`` is ``(SSE at the optimum, threshold)``. Returns the crossing (linear
    interpolation between the last step inside and the first outside) and whether the bound was
    reached without crossing.
    """
    sse_min, threshold = levels
    values = np.linspace(x[i], end, n_steps + 1)[1:]
    previous_value, previous_sse, current = float(x[i]), sse_min, x.copy()
    for v in values:
        sse, current = _profile_sse(problem, objective, sim, current, i, float(v))
        if sse > threshold:
            share = (threshold - previous_sse) / (sse - previous_sse)
            return float(previous_value + share * (v - previous_value)), False
        previous_value, previous_sse = float(v), sse
    return float(end), True


def profile_interval(
    problem: FitProblem,
    objective: str,
    sim: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    i: int,
    level: float,
    *,
    n_steps: int = 20,
) -> tuple[float, float, bool]:
    """Profile-likelihood interval of parameter ``i`` (sum-of-squares objectives).

    Threshold ``SSE(θᵢ) ≤ SSE_min·(1 + F(1, n − p; level)/(n − p))``.

    Returns
    -------
    (float, float, bool)
        Lower and upper end, and whether an end is a bound the profile reached while still
        inside the threshold (the data do not bound the parameter there).

    References
    ----------
    Bates D.M., Watts D.G. (1988) Nonlinear Regression Analysis and Its Applications, Wiley,
    §6.1 (profile t, F threshold). Raue A. et al. (2009) Structural and practical
    identifiability analysis of partially observed dynamical models by exploiting the profile
    likelihood. Bioinformatics 25(15), 1923–1929.
    """
    n, p = problem.observed.size, x.size
    r = weighted_residuals(problem, objective, np.asarray(sim(x)))
    sse_min = float(r @ r)
    threshold = sse_min * (1 + stats.f.ppf(level, 1, n - p) / (n - p)) if n > p else np.inf
    lo, hi = problem.lower[i], problem.upper[i]
    levels = (sse_min, threshold)
    low, low_open = (
        (lo, True) if x[i] <= lo else _walk(problem, objective, sim, x, i, lo, levels, n_steps)
    )
    high, high_open = (
        (hi, True) if x[i] >= hi else _walk(problem, objective, sim, x, i, hi, levels, n_steps)
    )
    return low, high, low_open or high_open


def block_bootstrap(
    problem: FitProblem,
    objective: str,
    sim: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    *,
    n_bootstrap: int,
    n_starts: int,
    seed: int,
) -> tuple[np.ndarray, str]:
    """Parameter sets re-fitted on gauges resampled with replacement (multi-start).

    With one gauge only, observations are resampled instead (and the text says so).

    Returns
    -------
    (ndarray, str)
        ``(n_resamples, p)`` parameter sets and a description of the scheme.

    References
    ----------
    Efron B. (1979) Bootstrap methods: another look at the jackknife. Ann. Statist. 7, 1–26.
    Davison A.C., Hinkley D.V. (1997) Bootstrap Methods and their Application, Cambridge,
    §3.8 (resampling clusters).
    """
    rng = np.random.default_rng(seed)
    groups = problem.groups
    names, member = np.unique(groups, return_inverse=True)
    blocks = [np.flatnonzero(member == g) for g in range(names.size)]
    if len(blocks) < 2:
        blocks = [np.array([j]) for j in range(problem.observed.size)]
        scheme = "observations"
    else:
        scheme = "gauges"
    starts = start_points(problem, max(n_starts - 1, 0), seed) if n_starts > 1 else x[None, :0]
    draws = []
    for _ in range(n_bootstrap):
        chosen = rng.integers(0, len(blocks), len(blocks))
        idx = np.concatenate([blocks[c] for c in chosen])
        if np.unique(idx).size <= 1:
            continue
        candidates = np.vstack([x[None, :], starts]) if starts.shape[1] else x[None, :]
        draws.append(multi_start(problem, objective, sim, candidates, idx=idx))
    text = (
        f"bootstrap ({len(draws)} resamples of the {scheme}, {n_starts} starts each, "
        "percentile interval)"
    )
    return np.array(draws), text
