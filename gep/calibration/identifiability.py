"""Local identifiability: sensitivity matrix, correlation, condition number, null space.

The parameters of a fit are locally identifiable when the sensitivity (Jacobian) matrix ``J`` of
the weighted residuals has full column rank. Its singular value decomposition tells which
combinations of parameters the observations do not constrain (PEST's IDENTPAR, Doherty & Hunt
2009): a right singular vector with a singular value at rounding level is a direction along
which the fit does not change. The linearised covariance ``s²(JᵀJ)⁻¹`` is computed from the
full decomposition — never with a pseudo-inverse, which would drop that null space and report
false precision.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from gep.calibration.problem import FitProblem, Identifiability

__all__ = [
    "CORRELATION_WARNING",
    "NULL_SPACE_TOLERANCE",
    "identifiability",
    "jacobian",
    "linearised_intervals",
    "sample_identifiability",
]

#: |r| above which a pair of parameters is reported as strongly correlated
CORRELATION_WARNING = 0.9

#: a scaled singular value below this fraction of the largest spans a null-space direction
#: (finite differences of exactly dependent columns agree to ~1e-9 relative)
NULL_SPACE_TOLERANCE = 1e-7


def jacobian(
    fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Finite-difference Jacobian of ``fun`` at ``x``, one-sided at the bounds.

    Central differences ``(f(x + hₖ) − f(x − hₖ))/2hₖ`` inside the box, forward or backward where
    the step would leave it; ``hₖ = ε^(1/3)·max(|xₖ|, 10⁻³·(uₖ − lₖ))``.

    References
    ----------
    Nocedal J., Wright S.J. (2006) Numerical Optimization, 2nd ed., Springer, §8.1 (step
    ``ε^(1/3)`` for central differences).
    """
    x = np.asarray(x, dtype=np.float64)
    f0 = np.asarray(fun(x), dtype=np.float64)
    out = np.empty((f0.size, x.size))
    scale = np.maximum(np.abs(x), 1e-3 * (upper - lower))
    h = np.finfo(np.float64).eps ** (1 / 3) * scale
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = h[k]
        if x[k] - h[k] < lower[k]:
            out[:, k] = (np.asarray(fun(x + step)) - f0) / h[k]
        elif x[k] + h[k] > upper[k]:
            out[:, k] = (f0 - np.asarray(fun(x - step))) / h[k]
        else:
            out[:, k] = (np.asarray(fun(x + step)) - np.asarray(fun(x - step))) / (2 * h[k])
    return out


def _scaled_svd(jac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SVD of ``J`` with unit-length columns: ``(norms, s, Vᵀ)``."""
    norms = np.linalg.norm(jac, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    _, s, vt = np.linalg.svd(jac / safe, full_matrices=False)
    return norms, s, vt


def identifiability(jac: np.ndarray, names: tuple[str, ...]) -> Identifiability:
    """Correlation matrix, condition number and null space of a sensitivity matrix.

    Parameters
    ----------
    jac : ndarray
        ``(n observations, p parameters)`` Jacobian of the (weighted) residuals at the optimum.
    names : tuple of str
        Parameter names.

    Returns
    -------
    Identifiability
        The correlation of ``(JᵀJ)⁻¹`` (from the full SVD, the smallest singular values kept:
        an exactly dependent pair comes out with |r| → 1), the condition number of the
        column-scaled ``JᵀJ`` (``(s_max/s_min)²``) and the null-space combinations.

    References
    ----------
    Belsley D.A., Kuh E., Welsch R.E. (1980) Regression Diagnostics, Wiley, ch. 3 (column
    scaling, condition indices). Doherty J., Hunt R.J. (2009) Two statistics for evaluating
    parameter identifiability and error reduction. J. Hydrol. 366, 119–127.

    Examples
    --------
    ``y = a·b·x``: the columns ``b·x`` and ``a·x`` are proportional, only ``a·b`` is identified:

    >>> x = np.array([1.0, 2.0, 3.0])
    >>> ident = identifiability(np.column_stack([2.0 * x, 2.0 * x]), ("a", "b"))
    >>> ident.non_identifiable, ident.condition_number
    (('a', 'b'), inf)
    """
    norms, s, vt = _scaled_svd(jac)
    p = len(names)
    if s.size < p or s[0] == 0:
        nan = np.full((p, p), np.nan)
        return Identifiability(nan, float("inf"), s, [], tuple(names))
    null = s / s[0] < NULL_SPACE_TOLERANCE  # a zero column (no sensitivity) gives s = 0 too
    null_rows = [vt[i] for i in np.flatnonzero(null)]
    condition = float("inf") if null.any() else float((s[0] / s[-1]) ** 2)
    # covariance of the scaled parameters V·diag(1/s²)·Vᵀ with s floored at rounding level
    s_floor = np.maximum(s, s[0] * np.finfo(np.float64).eps)
    cov = (vt.T / s_floor**2) @ vt
    d = np.sqrt(np.diag(cov))
    correlation = np.clip(cov / np.outer(d, d), -1.0, 1.0)
    combos = [
        {names[k]: round(float(v[k]), 6) for k in range(p) if abs(v[k]) >= 0.05} for v in null_rows
    ]
    involved = tuple(n for n in names if any(n in c for c in combos))
    return Identifiability(correlation, condition, s, combos, involved)


def sample_identifiability(samples: np.ndarray, names: tuple[str, ...]) -> Identifiability:
    """Correlation of sampled parameter sets (bootstrap refits or posterior draws).

    The condition number is that of the sample correlation matrix; a parameter pair with
    ``|r| ≥ 0.999`` is reported as a null-space combination.
    """
    x = np.asarray(samples, dtype=np.float64)
    p = len(names)
    if x.ndim != 2 or x.shape[0] < 3:
        return Identifiability(
            np.full((p, p), np.nan), float("nan"), np.array([]), [], (), "samples"
        )
    sd = x.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(x, rowvar=False) if p > 1 else np.ones((1, 1))
    r = np.where(np.outer(sd, sd) > 0, np.atleast_2d(r), np.nan)
    finite = np.nan_to_num(r, nan=0.0) + np.diag(np.isnan(np.diag(r)).astype(float))
    eig = np.linalg.eigvalsh(finite)
    condition = float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")
    combos = [
        {names[i]: 1.0, names[j]: float(np.sign(r[i, j]))}
        for i in range(p)
        for j in range(i + 1, p)
        if np.isfinite(r[i, j]) and abs(r[i, j]) >= 0.999
    ]
    involved = tuple(n for n in names if any(n in c for c in combos))
    return Identifiability(r, condition, np.sqrt(np.abs(eig[::-1])), combos, involved, "samples")


def linearised_intervals(
    problem: FitProblem, residual: np.ndarray, jac: np.ndarray, x: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Linearised intervals ``x ± t·√diag(s²(JᵀJ)⁻¹)``, ``s² = SSE/(n − p)``, unclipped.

    ``(JᵀJ)⁻¹`` comes from the full SVD of the column-scaled ``J``; parameters in a null-space
    combination get NaN (no linearised interval exists). ``n ≤ p`` gives NaN everywhere.

    References
    ----------
    Bates D.M., Watts D.G. (1988) Nonlinear Regression Analysis and Its Applications, Wiley,
    §2.3.
    """
    n, p = jac.shape
    nan = np.full(p, np.nan)
    if n <= p:
        return nan, nan.copy()
    norms, s, vt = _scaled_svd(jac)
    ident = identifiability(jac, problem.names)
    s2 = float(residual @ residual) / (n - p)
    s_floor = np.maximum(s, s[0] * np.finfo(np.float64).eps)
    cov_scaled = (vt.T / s_floor**2) @ vt
    safe = np.where(norms > 0, norms, 1.0)
    var = s2 * np.diag(cov_scaled) / safe**2
    half = stats.t.ppf(0.5 + level / 2, n - p) * np.sqrt(var)
    half = np.where([nm in ident.non_identifiable for nm in problem.names], np.nan, half)
    return x - half, x + half
