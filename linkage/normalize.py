"""Normalisation of indicators to scores in [0, 1], where 1 is best.

All four methods compare a unit's value with a *fixed* reference (bounds, a target, or the
base-year sample), never with the other units of the current year. So a unit's score depends
on its own value only, which keeps the allocation monotone (see :mod:`linkage.allocation`) and
independent of row order.

References
----------
OECD & JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User Guide*,
§5 (normalisation: min–max, distance to a reference/target, ranking, log transforms).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["log_min_max", "min_max", "normalise", "rank_against", "target_based"]

FloatArray = npt.NDArray[np.float64]


def _orient(score: FloatArray, higher_is_better: bool) -> FloatArray:
    return score if higher_is_better else 1.0 - score


def min_max(
    values: FloatArray, lower: float, upper: float, *, higher_is_better: bool = True
) -> FloatArray:
    """Min–max against fixed reference bounds, clipped to [0, 1].

    ``s = clip((x - lower) / (upper - lower), 0, 1)``; ``1 - s`` when lower is better.

    Parameters
    ----------
    values : numpy.ndarray
        Indicator values, in the indicator's unit.
    lower, upper : float
        Reference bounds (``lower < upper``), same unit.
    higher_is_better : bool
        Direction of the indicator.

    Returns
    -------
    numpy.ndarray
        Scores in [0, 1] (dimensionless).

    Examples
    --------
    >>> min_max(np.array([40.0, 65.0, 95.0]), 40.0, 90.0).tolist()
    [0.0, 0.5, 1.0]
    """
    score = np.clip((values - lower) / (upper - lower), 0.0, 1.0)
    return _orient(score, higher_is_better)


def target_based(values: FloatArray, target: float, *, higher_is_better: bool = True) -> FloatArray:
    """Distance to a target: full score once the target is reached.

    ``s = min(x / target, 1)`` when higher is better; ``s = min(target / x, 1)`` (1 for
    ``x <= 0``) when lower is better. Values below zero score 0 when higher is better.

    Parameters
    ----------
    values : numpy.ndarray
        Indicator values (>= 0 expected).
    target : float
        The target (> 0), same unit.
    higher_is_better : bool
        Direction of the indicator.

    Returns
    -------
    numpy.ndarray
        Scores in [0, 1].

    Examples
    --------
    >>> target_based(np.array([30.0, 60.0, 90.0]), 60.0).tolist()
    [0.5, 1.0, 1.0]
    >>> target_based(np.array([30.0, 120.0]), 60.0, higher_is_better=False).tolist()
    [1.0, 0.5]
    """
    if higher_is_better:
        return np.clip(values / target, 0.0, 1.0)
    with np.errstate(divide="ignore", over="ignore"):  # tiny values: ratio inf, clipped to 1
        ratio = np.where(values > 0.0, target / np.where(values > 0.0, values, 1.0), 1.0)
    return np.clip(ratio, 0.0, 1.0)


def log_min_max(
    values: FloatArray, lower: float, upper: float, *, higher_is_better: bool = True
) -> FloatArray:
    """Min–max of natural logarithms against fixed bounds (for skewed indicators such as GEP).

    ``s = clip((ln x - ln lower) / (ln upper - ln lower), 0, 1)``; values ``<= 0`` score 0.

    Parameters
    ----------
    values : numpy.ndarray
        Indicator values.
    lower, upper : float
        Reference bounds, ``0 < lower < upper``.
    higher_is_better : bool
        Direction of the indicator.

    Returns
    -------
    numpy.ndarray
        Scores in [0, 1].

    Examples
    --------
    >>> log_min_max(np.array([1.0e6, 1.0e7, 1.0e8]), 1.0e6, 1.0e8).round(6).tolist()
    [0.0, 0.5, 1.0]
    """
    safe = np.where(values > 0.0, values, lower)
    score = (np.log(safe) - np.log(lower)) / (np.log(upper) - np.log(lower))
    score = np.where(values > 0.0, np.clip(score, 0.0, 1.0), 0.0)
    return _orient(score, higher_is_better)


def rank_against(
    values: FloatArray, reference: FloatArray, *, higher_is_better: bool = True
) -> FloatArray:
    """Mid-rank percentile of each value within a fixed reference sample.

    ``s = (#{r < x} + 0.5 #{r == x}) / n`` over the ``n`` reference values (the base-year
    values of the stage's units), so a unit's score moves with its own value only.

    Parameters
    ----------
    values : numpy.ndarray
        Indicator values to score.
    reference : numpy.ndarray
        The reference sample (not empty).
    higher_is_better : bool
        Direction of the indicator.

    Returns
    -------
    numpy.ndarray
        Scores in [0, 1].

    Examples
    --------
    >>> rank_against(np.array([1.0, 2.5, 9.0]), np.array([1.0, 2.0, 3.0, 4.0])).tolist()
    [0.125, 0.5, 1.0]
    """
    ordered = np.sort(reference)
    below = np.searchsorted(ordered, values, side="left")
    at_or_below = np.searchsorted(ordered, values, side="right")
    score = (below + 0.5 * (at_or_below - below)) / ordered.size
    return _orient(score.astype(np.float64), higher_is_better)


def normalise(
    values: FloatArray,
    method: str,
    params: dict[str, float],
    *,
    higher_is_better: bool,
    reference: FloatArray | None = None,
) -> FloatArray:
    """Dispatch to one normalisation method by name.

    Parameters
    ----------
    values : numpy.ndarray
        Indicator values.
    method : {"min_max", "target", "rank", "log"}
        Method name as written in the configuration.
    params : dict
        ``lower``/``upper`` or ``target``.
    higher_is_better : bool
        Direction of the indicator.
    reference : numpy.ndarray, optional
        Reference sample for ``rank``.

    Returns
    -------
    numpy.ndarray
        Scores in [0, 1].
    """
    if method == "min_max":
        return min_max(values, params["lower"], params["upper"], higher_is_better=higher_is_better)
    if method == "log":
        return log_min_max(
            values, params["lower"], params["upper"], higher_is_better=higher_is_better
        )
    if method == "target":
        return target_based(values, params["target"], higher_is_better=higher_is_better)
    if method == "rank":
        if reference is None or reference.size == 0:
            raise ValueError("rank normalisation needs a non-empty reference sample")
        return rank_against(values, reference, higher_is_better=higher_is_better)
    raise ValueError(f"unknown normalisation method {method!r}")
