"""Carbon kernels: four-pool stock, stock change, InVEST valuation factor, NEP forms.

Densities are in t C ha-1; the caller multiplies by the cell area in ha for t C per pixel.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

#: Carbon share of dry matter as cellulose C6H10O5: 6·12/162 (MEE 2020 GEP guide).
DRY_MATTER_TO_C = 72.0 / 162.0


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


def _stock_change_impl(stock_base, stock_alt, change):  # pragma: no cover - numba
    for i in numba.prange(stock_base.size):
        change[i] = stock_alt[i] - stock_base[i]


_stock_change_serial = numba.njit(nogil=True, cache=True)(_stock_change_impl)
_stock_change_parallel = numba.njit(nogil=True, cache=True, parallel=True)(_stock_change_impl)


def stock_change(
    stock_base: np.ndarray, stock_alt: np.ndarray, *, parallel: bool = True
) -> np.ndarray:
    """Carbon stock change between two land-cover maps, ``alt − base`` (t C ha-1).

    Positive values are sequestration, negative values emission (InVEST ``c_change_bas_alt``).

    Examples
    --------
    >>> stock_change(np.array([100.0, 50.0]), np.array([120.0, 20.0]))
    array([ 20., -30.])
    """
    dtype = np.result_type(stock_base, stock_alt)
    base = np.ascontiguousarray(stock_base, dtype=dtype).reshape(-1)
    alt = np.ascontiguousarray(stock_alt, dtype=dtype).reshape(-1)
    out = np.empty(base.size, dtype=dtype)
    (_stock_change_parallel if parallel else _stock_change_serial)(base, alt, out)
    return out.reshape(np.shape(stock_base))


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


def nep_from_npp_ratio(
    npp: np.ndarray, nep_npp_ratio: float | np.ndarray, *, dry_matter: bool = False
) -> np.ndarray:
    """Net ecosystem production as a fixed share of NPP: ``NEP = α·NPP`` (× 72/162 for biomass).

    GB/T 46869—2025 A.7 and the MEE 2020 guide write ``NEP = α·NPP·72/162`` with NPP as dry
    matter; 72/162 is the carbon share of cellulose C6H10O5. With NPP already in carbon units
    set ``dry_matter=False`` and the factor is not applied.

    Parameters
    ----------
    npp : numpy.ndarray
        Net primary production, t C ha-1 yr-1 (or t dry matter ha-1 yr-1 with ``dry_matter``).
    nep_npp_ratio : float or numpy.ndarray
        α = NEP/NPP, dimensionless.
    dry_matter : bool
        NPP is in dry-matter units.

    Returns
    -------
    numpy.ndarray
        NEP, t C ha-1 yr-1.

    Examples
    --------
    >>> nep_from_npp_ratio(np.array([8.1]), 0.5, dry_matter=True)
    array([1.8])
    """
    factor = DRY_MATTER_TO_C if dry_matter else 1.0
    return np.asarray(npp) * (np.asarray(nep_npp_ratio) * factor)


def nep_from_respiration(npp: np.ndarray, heterotrophic_respiration: np.ndarray) -> np.ndarray:
    """Net ecosystem production as ``NEP = NPP − Rh`` (both t C ha-1 yr-1).

    References
    ----------
    MEE (2020) 陆地生态系统生产总值（GEP）核算技术指南, carbon sequestration (NEP method).

    Examples
    --------
    >>> nep_from_respiration(np.array([6.0]), np.array([4.5]))
    array([1.5])
    """
    return np.asarray(npp) - np.asarray(heterotrophic_respiration)
