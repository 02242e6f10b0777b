"""Sediment deposition and flux of the SDR model, D8 and MFD (numba, in topological order).

natcap.invest 3.20.2 ``sediment_deposition.h``: each pixel traps the share of the sediment
arriving from upslope that its downslope delivery ratio does not pass on. NaN is nodata.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from gep.kernels import accumulation
from gep.kernels._grid import (
    COL_OFFSETS,
    D8_NODATA,
    INFLOW,
    ROW_OFFSETS,
    mfd_weight,
    mfd_weight_sums,
)


@numba.njit(cache=True)
def _trap(f_in, sdr_i, sdr_dn, e_i):  # pragma: no cover - numba
    """Deposition and outgoing flux of one pixel (InVEST's ``sediment_deposition.h``)."""
    sdr_dn = max(sdr_dn, sdr_i)
    trapped = 1.0 if sdr_i == 1 else (sdr_dn - sdr_i) / (1 - sdr_i)
    return max(trapped * f_in, 0.0), max((1 - trapped) * f_in + e_i, 0.0)


@numba.njit(cache=True)
def _deposition_d8(fdir, e_prime, sdr, order, deposition, flux):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    # float64 inside (``flux``): InVEST's ManagedRaster caches blocks as double and rounds to
    # float32 only when writing the raster (the deposition is only written: float32 at once,
    # into ``deposition``, which may be ``e_prime`` itself: a pixel's E' is read just before
    # its deposition is written, and never again)
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        f_in = 0.0
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if 0 <= rn < n_rows and 0 <= cn < n_cols and fdir[rn, cn] == INFLOW[d]:
                f_j = flux[rn, cn]
                if not math.isnan(f_j):
                    f_in += f_j
        sdr_i = np.float64(sdr[r, c])
        e_i = np.float64(e_prime[r, c])
        if math.isnan(sdr_i) or math.isnan(e_i):
            deposition[r, c] = np.nan
            continue
        d = fdir[r, c]
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        sdr_dn = 0.0
        if 0 <= rn < n_rows and 0 <= cn < n_cols:
            value = np.float64(sdr[rn, cn])
            if not math.isnan(value):
                # InVEST: SDR 0 marks a stream, the last step that retains sediment
                sdr_dn = 1.0 if value == 0 else value
        deposition[r, c], flux[r, c] = _trap(f_in, sdr_i, sdr_dn, e_i)
    return deposition, flux


@numba.njit(cache=True)
def _mfd_flux_in(fdir, sums, flux, r, c):  # pragma: no cover - numba
    """Σ_j p(j,i)·F_j over upslope neighbours, p the float32 share w/Σw as InVEST."""
    n_rows, n_cols = fdir.shape
    f_in = 0.0
    for d in range(8):
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols:
            continue
        w = mfd_weight(fdir[rn, cn], INFLOW[d])
        if w == 0:
            continue
        f_j = flux[rn, cn]
        if not math.isnan(f_j):
            f_in += np.float64(np.float32(w) / np.float32(sums[rn, cn])) * f_j
    return f_in


@numba.njit(cache=True)
def _mfd_sdr_downslope(fdir, sdr, r, c):  # pragma: no cover - numba
    """Flow-weighted mean SDR of the receivers (nodata receivers count in the weights)."""
    n_rows, n_cols = fdir.shape
    total = 0.0
    flow_sum = 0
    for d in range(8):
        w = mfd_weight(fdir[r, c], d)
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if w == 0 or rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols:
            continue
        flow_sum += w
        value = np.float64(sdr[rn, cn])
        if not math.isnan(value):
            total += (1.0 if value == 0 else value) * w
    return total / flow_sum if flow_sum else total


@numba.njit(cache=True)
def _deposition_mfd(fdir, e_prime, sdr, order, deposition, flux):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    sums = mfd_weight_sums(fdir)
    # float64 inside (``flux``), as for D8 (the deposition written into ``deposition``)
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        f_in = _mfd_flux_in(fdir, sums, flux, r, c)
        sdr_i = np.float64(sdr[r, c])
        e_i = np.float64(e_prime[r, c])
        if math.isnan(sdr_i) or math.isnan(e_i):
            deposition[r, c] = np.nan
            continue
        sdr_dn = _mfd_sdr_downslope(fdir, sdr, r, c)
        deposition[r, c], flux[r, c] = _trap(f_in, sdr_i, sdr_dn, e_i)
    return deposition, flux


def sediment_deposition(
    flow_dir: np.ndarray,
    algorithm: str,
    e_prime: np.ndarray,
    sdr: np.ndarray,
    *,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sediment trapped on each pixel and the flux it passes on (InVEST's C++ algorithm).

    Visiting pixels upstream first::

        F_in   = Σ_j p(j,i)·F_j                      (upslope neighbours j)
        SDR_dn = max(Σ_k p(i,k)·SDR_k / Σ_k p(i,k), SDR_i)   (receivers k; SDR_k = 0 → 1)
        dT_i   = 1 if SDR_i = 1 else (SDR_dn − SDR_i)/(1 − SDR_i)
        T_i    = max(dT_i·F_in, 0)                   (deposition)
        F_i    = max((1 − dT_i)·F_in + E'_i, 0)      (flux)

    with ``p`` the D8 (1) or MFD (4-bit weight share, float32) flow proportions; receivers
    with nodata SDR count in the denominator only; pixels with nodata SDR or E' stay nodata
    and are skipped in F_in (``natcap.invest.sdr.sediment_deposition.h``).

    Parameters
    ----------
    flow_dir : numpy.ndarray
        D8 codes or MFD packed weights.
    algorithm : {"d8", "mfd"}
        Which of the two ``flow_dir`` holds.
    e_prime : numpy.ndarray
        ``E' = USLE·(1 − SDR)`` (0 on streams), t ha-1 yr-1.
    sdr : numpy.ndarray
        Sediment delivery ratio (float32 as InVEST).
    order : numpy.ndarray, optional
        Pre-computed :func:`gep.kernels.accumulation.topological_order`.

    Returns
    -------
    deposition, flux : numpy.ndarray of float32
        t ha-1 yr-1; NaN where not defined.

    References
    ----------
    Sharp R. et al., InVEST User's Guide, SDR: "Sediment deposition" (natcap.invest 3.20).
    """
    algo = str(algorithm).lower()
    fdir = np.ascontiguousarray(flow_dir)
    if order is None:
        order = accumulation.topological_order(fdir, algo)
    kernel = _deposition_d8 if algo == "d8" else _deposition_mfd
    # inputs as given (float32 or float64; each value is read as float64 in the kernel)
    deposition = np.full(fdir.shape, np.nan, dtype=np.float32)
    flux = np.full(fdir.shape, np.nan)
    kernel(fdir, _floating(e_prime), _floating(sdr), order, deposition, flux)
    return deposition, flux.astype(np.float32)


def deposition_in_place(
    flow_dir: np.ndarray, algorithm: str, e_prime: np.ndarray, sdr: np.ndarray, order: np.ndarray
) -> np.ndarray:
    """:func:`sediment_deposition`'s deposition written over ``e_prime`` (float32), no flux.

    For bounded memory: ``e_prime`` (float32, C-contiguous) becomes the deposition, the same
    values as :func:`sediment_deposition` returns; the flux is dropped.
    """
    algo = str(algorithm).lower()
    fdir = np.ascontiguousarray(flow_dir)
    if e_prime.dtype != np.float32 or not e_prime.flags.c_contiguous:
        raise ValueError("deposition_in_place: e_prime must be a C-contiguous float32 array")
    # pixels without a direction are not in the order: nodata, as sediment_deposition leaves
    nodata = D8_NODATA if algo == "d8" else 0
    for r0 in range(0, fdir.shape[0], 256):
        band = slice(r0, r0 + 256)
        e_prime[band][fdir[band] == nodata] = np.nan
    kernel = _deposition_d8 if algo == "d8" else _deposition_mfd
    deposition, flux = kernel(
        fdir, e_prime, _floating(sdr), order, e_prime, np.full(fdir.shape, np.nan)
    )
    del flux
    return deposition


def deposition_into(
    flow_dir: np.ndarray,
    algorithm: str,
    e_prime: np.ndarray,
    sdr: np.ndarray,
    order: np.ndarray,
    deposition: np.ndarray,
    flux: np.ndarray,
) -> None:
    """:func:`sediment_deposition` of the pixels of ``order`` only, into the given arrays.

    ``flux`` (float64) of the pixels outside ``order`` is read as it is by the pixels they
    drain into (a tile's ring holding its neighbours' fluxes: :mod:`gep.routing.tiled_flow`);
    ``sdr`` is read on the receivers. Each pixel pulls from its donors in a fixed order, so
    its values never depend on the order of the pass.
    """
    if flux.dtype != np.float64 or deposition.dtype != np.float32:
        raise ValueError("deposition_into: flux must be float64 and deposition float32")
    kernel = _deposition_d8 if str(algorithm).lower() == "d8" else _deposition_mfd
    kernel(
        np.ascontiguousarray(flow_dir), _floating(e_prime), _floating(sdr), order, deposition, flux
    )


def _floating(values: np.ndarray) -> np.ndarray:
    """``values`` contiguous, in float32 or float64 (other types become float64)."""
    a = np.ascontiguousarray(values)
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
