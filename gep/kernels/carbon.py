"""Carbon kernels: four-pool stock, stock change, InVEST valuation factor, NEP forms.

Densities are in t C ha-1; the caller multiplies by the cell area in ha for t C per pixel.
"""

from __future__ import annotations

import numba
import numpy as np

from . import lookup  # a sibling kernel: numpy and numba only
from .carbon_formulas import annualise as annualise  # re-exported: numpy-only formulas
from .carbon_formulas import total_pool_density as total_pool_density
from .carbon_formulas import valuation_factor as valuation_factor

#: Carbon share of dry matter as cellulose C6H10O5: 6·12/162 (MEE 2020 GEP guide).
DRY_MATTER_TO_C = 72.0 / 162.0


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


#: Pixels per partial sum of :func:`storage_change_npv` (fixed: totals do not depend on threads).
_BLOCK = 1 << 16

#: InVEST's nodata test on the change raster, ``numpy.isclose(change, -1)``: 1e-8 + 1e-5·|−1|.
INVEST_MINUS_ONE_TOL = 1e-8 + 1e-5


@numba.njit(nogil=True, cache=True, inline="always")
def _density(code, lut, known, offset, nodata):  # pragma: no cover - numba
    """Density of one class code: (value, 1.0 if the code is not in the table else 0.0)."""
    if code == nodata:
        return np.float32(np.nan), 0.0
    j = code - offset
    if 0 <= j < lut.size and known[j]:
        return lut[j], 0.0
    return np.float32(np.nan), 1.0


@numba.njit(nogil=True, cache=True, parallel=True)
def _storage_pass(bas, alt, lut, known, offset, nd_bas, nd_alt, factor, fill, out, sums):
    # pragma: no cover - numba.  out rows: base, alt, change, npv (float32; NaN for nodata)
    # sums columns: Σbase, Σalt, Σchange, Σchange away from −1, n close to −1, Σnpv, n unknown
    n = bas.size
    tol = np.float32(INVEST_MINUS_ONE_TOL)
    minus_one = np.float32(-1.0)
    for k in numba.prange(sums.shape[0]):
        s = np.zeros(7)
        for i in range(k * _BLOCK, min((k + 1) * _BLOCK, n)):
            b, unknown_b = _density(np.int64(bas[i]), lut, known, offset, nd_bas)
            a, unknown_a = _density(np.int64(alt[i]), lut, known, offset, nd_alt)
            c = a - b
            v = c * factor
            out[0, i] = b if b == b else fill
            out[1, i] = a if a == a else fill
            out[2, i] = c if c == c else fill
            out[3, i] = v if v == v else fill
            s[6] += unknown_b + unknown_a
            if b == b:
                s[0] += b
            if a == a:
                s[1] += a
            if c == c:
                s[2] += c
                s[5] += v
                if abs(c - minus_one) <= tol:
                    s[4] += 1.0
                else:
                    s[3] += c
        sums[k] = s


def storage_change_npv(
    lulc_bas: np.ndarray,
    lulc_alt: np.ndarray,
    codes: np.ndarray,
    density: np.ndarray,
    *,
    nodata_bas: int | None,
    nodata_alt: int | None,
    factor: float,
    fill: float = np.nan,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """Storage of both maps, their change and its value per pixel, with totals, in one pass.

    Per pixel, in float32 as InVEST's rasters: ``base = ρ(lulc_bas)``, ``alt = ρ(lulc_alt)``
    (ρ the total density of the class, :func:`total_pool_density`), ``change = alt − base``
    and ``npv = change · K`` (K from :func:`valuation_factor`), t C ha-1 and currency ha-1.
    Totals are float64 sums over fixed blocks of pixels (the same result on any number of
    threads), NaN pixels skipped.

    Parameters
    ----------
    lulc_bas, lulc_alt : numpy.ndarray of int
        Land-cover codes of the two maps (same shape).
    codes, density : numpy.ndarray
        Class codes of the pools table and their total density (t C ha-1).
    nodata_bas, nodata_alt : int or None
        Nodata codes of the maps.
    factor : float
        Value of one t C of change (currency per t C); 0 when there is no valuation.
    fill : float
        Value stored for nodata pixels (NaN by default; a file's nodata value saves the pass
        that would replace NaN before writing).
    out : numpy.ndarray, optional
        C-contiguous float32 buffer of at least ``4 × lulc_bas.size`` values to write into (a
        buffer reused block after block); the result is a view of it.

    Returns
    -------
    out : numpy.ndarray, shape (4, *lulc_bas.shape), float32
        Base storage, alternate storage, change (t C ha-1) and NPV (currency ha-1).
    totals : dict
        ``base``, ``alt``, ``change`` and ``npv`` (sums of per-pixel densities, × ha per pixel
        for t C), ``change_away_from_minus_one`` and ``n_minus_one`` (InVEST drops pixels whose
        change is within 1e-8 + 1e-5 of −1: its nodata), ``n_unknown`` (pixels whose code is
        not in the table; the caller must reject the input when it is not 0).

    References
    ----------
    Sharp R. et al., InVEST User's Guide, Carbon Storage and Sequestration; natcap.invest 3.20
    ``carbon.execute`` (float32 rasters, change = alt − base, NPV = change × K).

    Examples
    --------
    Classes 1 (ρ = 100) and 2 (ρ = 40), K = 2: pixel 1 → 2 loses 60 t C/ha (NPV −120), pixel
    2 → 2 keeps 40, pixel 0 (nodata) → 1 is nodata in base and change:

    >>> out, t = storage_change_npv(np.array([1, 2, 0]), np.array([2, 2, 1]), np.array([1, 2]),
    ...                             np.array([100.0, 40.0]), nodata_bas=0, nodata_alt=None,
    ...                             factor=2.0)
    >>> out[2].tolist(), out[3].tolist()
    ([-60.0, 0.0, nan], [-120.0, 0.0, nan])
    >>> t["base"], t["alt"], t["change"], t["npv"], t["n_unknown"]
    (140.0, 180.0, -60.0, -120.0, 0)
    """
    shape = np.shape(lulc_bas)
    if np.shape(lulc_alt) != shape:
        raise ValueError(f"land-cover maps differ in shape: {shape} and {np.shape(lulc_alt)}")
    lut, offset = lookup.build_lut(codes, density, dtype=np.float32)
    known = np.zeros(lut.size, dtype=np.bool_)
    known[np.asarray(codes, dtype=np.int64) - offset] = True
    bas = np.ascontiguousarray(lulc_bas).reshape(-1)
    alt = np.ascontiguousarray(lulc_alt).reshape(-1)
    if out is None:
        out = np.empty((4, bas.size), dtype=np.float32)
    elif out.dtype != np.float32 or not out.flags.c_contiguous or out.size < 4 * bas.size:
        raise ValueError(f"out must be a C-contiguous float32 buffer of ≥ {4 * bas.size} values")
    else:
        out = out.reshape(-1)[: 4 * bas.size].reshape(4, bas.size)
    sums = np.zeros((max(1, -(-bas.size // _BLOCK)), 7))
    # a code that cannot occur stands for "no nodata"
    absent = np.iinfo(np.int64).min
    _storage_pass(
        bas,
        alt,
        lut,
        known,
        np.int64(offset),
        np.int64(absent if nodata_bas is None else nodata_bas),
        np.int64(absent if nodata_alt is None else nodata_alt),
        np.float32(factor),
        np.float32(fill),
        out,
        sums,
    )
    total = sums.sum(axis=0)
    names = ("base", "alt", "change", "change_away_from_minus_one")
    totals: dict[str, float] = {k: float(v) for k, v in zip(names, total[:4], strict=True)}
    totals.update(n_minus_one=int(total[4]), npv=float(total[5]), n_unknown=int(total[6]))
    return out.reshape((4, *shape)), totals


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
