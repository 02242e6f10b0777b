"""Closed-form carbon arithmetic: total pool density, InVEST's valuation factor, annual change.

Plain numpy and :mod:`math` (no numba), so that ``gep invest carbon`` can use them without
numba's import; :mod:`gep.kernels.carbon` re-exports them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def total_pool_density(pools: np.ndarray, *, dtype: type | np.dtype = np.float32) -> np.ndarray:
    """Total carbon density per class: the sum of the four pools, in t C ha-1.

    ``stock = c_above + c_below + c_soil + c_dead`` (InVEST Carbon). Summed left to right
    in ``dtype``: float32 reproduces InVEST, which stores each pool raster as float32 and
    adds the four rasters in float32.

    Parameters
    ----------
    pools : numpy.ndarray, shape (n_classes, 4)
        Pool densities (above-ground, below-ground, soil, dead organic matter), t C ha-1.
    dtype : numpy dtype
        Precision of the sum.

    Returns
    -------
    numpy.ndarray, shape (n_classes,)
        Total density, t C ha-1.

    References
    ----------
    Sharp R. et al., InVEST User's Guide, Carbon Storage and Sequestration.

    Examples
    --------
    >>> total_pool_density(np.array([[10.0, 2.5, 60.0, 1.5]]), dtype=np.float64)
    array([74.])
    """
    p = np.asarray(pools).astype(dtype)
    total = p[:, 0].copy()
    for j in range(1, p.shape[1]):
        total += p[:, j]
    return total


def valuation_factor(
    price_per_t_c: float, n_years: int, discount_rate_pct: float, price_change_pct: float
) -> float:
    """InVEST's value of one t C of stock change spread evenly over ``n_years``.

    ``K = price/n · Σ_{t=0}^{n−1} r^t = price/n · (1 − r^n)/(1 − r)`` with
    ``r = 1/((1 + d)(1 + c))``, d the discount rate and c the annual price change (both given in
    percent, as InVEST takes them). When ``r == 1`` (both rates 0) the sum is ``n`` and
    ``K = price``: the geometric-series form is 0/0 there, so the limit is taken explicitly.

    Parameters
    ----------
    price_per_t_c : float
        Price of carbon in the base year, currency per t C.
    n_years : int
        Years between the baseline and the alternate map (> 0).
    discount_rate_pct : float
        Market discount rate, percent per year.
    price_change_pct : float
        Annual change in the price of carbon, percent per year.

    Returns
    -------
    float
        Currency per t C of stock change.

    References
    ----------
    Sharp R. et al., InVEST User's Guide, Carbon: valuation; natcap.invest 3.20
    ``carbon._calculate_valuation_constant``.

    Examples
    --------
    n = 2, d = c = 0 %: K = price = 10. n = 2, d = 10 %, c = 0 %: r = 1/1.1,
    K = 10/2 · (1 + 1/1.1) = 5 · 1.909091 = 9.545455:

    >>> valuation_factor(10.0, 2, 0.0, 0.0)
    10.0
    >>> round(valuation_factor(10.0, 2, 10.0, 0.0), 6)
    9.545455
    """
    if n_years <= 0:
        raise ValueError(f"n_years must be positive, got {n_years}")
    # With q = (1 + d)(1 + c) − 1 = d + c + d·c: r = 1/(1 + q), 1 − r = q/(1 + q) and
    # 1 − r^n = −expm1(−n·log1p(q)). Written this way the sum stays accurate as r → 1, where
    # InVEST's (1 − r^n)/(1 − r) loses digits to cancellation.
    d = discount_rate_pct / 100.0
    c = price_change_pct / 100.0
    q = d + c + d * c
    if q == 0.0:
        return float(price_per_t_c)  # r == 1: the sum is n, so K = price
    if q <= -1.0:
        raise ValueError("(1 + discount)(1 + price change) must be positive")
    series = -math.expm1(-n_years * math.log1p(q)) * (1.0 + q) / q
    return float(price_per_t_c / n_years * series)


def annualise(change: Any, n_years: float) -> Any:
    """Spread a stock change evenly over the years between two maps: ``ΔC / n`` per year.

    Examples
    --------
    >>> annualise(30.0, 5)
    6.0
    """
    if not n_years > 0 or not math.isfinite(n_years):
        raise ValueError(f"n_years must be a positive number, got {n_years}")
    return change / n_years
