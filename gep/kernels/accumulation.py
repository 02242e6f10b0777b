"""Topological order and flow accumulation on D8 / MFD directions.

Streams are extracted in :mod:`gep.kernels.streams`, distances to channel in
:mod:`gep.kernels.distance`.

Every routing pass walks a topological order of the flow graph (upstream before downstream,
Kahn's algorithm) computed once per direction raster. Each pixel *pulls* from its
neighbours in direction order 0..7, which is the order pygeoprocessing adds them in, so
the sums agree with pygeoprocessing 2.4.11 to the last bit.

Conventions are those of :mod:`gep.kernels.flowdir`: D8 codes 0..7 (128 none), MFD packed
4-bit weights (0 none). NaN marks nodata in float outputs.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from gep.kernels._grid import (
    COL_OFFSETS,
    D8_NODATA,
    INFLOW,
    ROW_OFFSETS,
    SQRT2,
    mfd_weight,
    mfd_weight_sums,
)

_UNIT_STEPS = np.array([1.0, SQRT2, 1.0, SQRT2, 1.0, SQRT2, 1.0, SQRT2])


@numba.njit(cache=True)
def _d8_downstream(fdir, r, c):  # pragma: no cover - numba
    """Flat index of the D8 receiver of (r, c), or -1 off the raster / into nodata."""
    n_rows, n_cols = fdir.shape
    d = fdir[r, c]
    rn = r + ROW_OFFSETS[d]
    cn = c + COL_OFFSETS[d]
    if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or fdir[rn, cn] == D8_NODATA:
        return -1
    return rn * n_cols + cn


@numba.njit(cache=True)
def _mfd_receivers(fdir, r, c, out):  # pragma: no cover - numba
    """Flat indices of the in-raster MFD receivers of (r, c) with a direction; count."""
    n_rows, n_cols = fdir.shape
    k = 0
    for d in range(8):
        if mfd_weight(fdir[r, c], d) == 0:
            continue
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or fdir[rn, cn] == 0:
            continue
        out[k] = rn * n_cols + cn
        k += 1
    return k


@numba.njit(cache=True)
def _d8_receivers(fdir, r, c, out):  # pragma: no cover - numba
    """The D8 receiver of (r, c) in ``out[0]`` (count 1), or count 0."""
    q = _d8_downstream(fdir, r, c)
    out[0] = q
    return 1 if q >= 0 else 0


@numba.njit(cache=True)
def _receivers(fdir, is_d8, p, out):  # pragma: no cover - numba
    n_cols = fdir.shape[1]
    if is_d8:
        return _d8_receivers(fdir, p // n_cols, p % n_cols, out)
    return _mfd_receivers(fdir, p // n_cols, p % n_cols, out)


@numba.njit(cache=True)
def _indegree(fdir, is_d8, nodata):  # pragma: no cover - numba
    """Number of in-raster donors of every pixel, and the number of routed pixels."""
    indegree = np.zeros(fdir.size, dtype=np.uint8)
    receivers = np.empty(8, dtype=np.int64)
    n_valid = 0
    for p in range(fdir.size):
        if fdir.flat[p] == nodata:
            continue
        n_valid += 1
        for i in range(_receivers(fdir, is_d8, p, receivers)):
            indegree[receivers[i]] += 1
    return indegree, n_valid


@numba.njit(cache=True)
def _order(fdir, is_d8, order):  # pragma: no cover - numba
    """Kahn's algorithm, depth first from each source met in raster order (cache friendly).

    Writes the order into ``order`` (one slot per pixel; int32 or int64) and returns its
    length.
    """
    nodata = D8_NODATA if is_d8 else 0
    indegree, n_valid = _indegree(fdir, is_d8, nodata)
    receivers = np.empty(8, dtype=np.int64)
    stack = np.empty(n_valid + 1, dtype=order.dtype)
    tail = 0
    for p0 in range(fdir.size):
        if indegree[p0] != 0 or fdir.flat[p0] == nodata:
            continue
        indegree[p0] = 255  # emitted: a pixel's donors are all emitted before it
        top = 1
        stack[0] = p0
        while top > 0:
            top -= 1
            p = stack[top]
            order[tail] = p
            tail += 1
            for i in range(_receivers(fdir, is_d8, p, receivers)):
                q = receivers[i]
                indegree[q] -= 1
                if indegree[q] == 0:
                    indegree[q] = 255
                    stack[top] = q
                    top += 1
    return tail


def topological_order(flow_dir: np.ndarray, algorithm: str) -> np.ndarray:
    """Pixels with a flow direction, every pixel after all pixels that flow into it.

    Parameters
    ----------
    flow_dir : numpy.ndarray
        D8 codes (uint8) or MFD packed weights (int32).
    algorithm : {"d8", "mfd"}
        Flow direction algorithm of ``flow_dir``.

    Returns
    -------
    numpy.ndarray of int32 (int64 for rasters of 2³¹ pixels or more)
        Flat (row-major) pixel indices, depth first from each source pixel met in raster
        order (for memory locality). Shorter than the number of routed pixels only if the
        directions contain a cycle, which pygeoprocessing's directions never do.

    References
    ----------
    Kahn A.B. (1962) Topological sorting of large networks. Communications of the ACM 5(11),
    558–562.
    """
    algo = check_algorithm(algorithm)
    fdir = np.ascontiguousarray(flow_dir)
    # int32 indices when they fit: half the memory of the order (and of its work stack);
    # the slots beyond the routed pixels are never written, so never take memory
    order = np.empty(fdir.size, dtype=np.int32 if fdir.size < 2**31 else np.int64)
    return order[: _order(fdir, algo == "d8", order)]


@numba.njit(cache=True)
def _accumulate_d8(fdir, weights, order, unit, acc):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        value = 1.0 if unit else np.float64(weights[r, c])
        if math.isnan(value):  # pygeoprocessing: a nodata weight counts 0
            value = 0.0
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if 0 <= rn < n_rows and 0 <= cn < n_cols and fdir[rn, cn] == INFLOW[d]:
                value += acc[rn, cn]
        acc[r, c] = value
    return acc


@numba.njit(cache=True)
def _accumulate_mfd(fdir, weights, order, unit, acc):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    sums = mfd_weight_sums(fdir)
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        value = 1.0 if unit else np.float64(weights[r, c])
        if math.isnan(value):  # pygeoprocessing: a nodata weight counts 0
            value = 0.0
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols:
                continue
            upstream = fdir[rn, cn]
            weight = mfd_weight(upstream, INFLOW[d])
            if weight == 0:
                continue
            # pygeoprocessing: accum * weight / float(sum of weights), in this order
            value += acc[rn, cn] * weight / np.float32(sums[rn, cn])
        acc[r, c] = value
    return acc


def flow_accumulation(
    flow_dir: np.ndarray,
    algorithm: str,
    weights: np.ndarray | None = None,
    *,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Flow accumulation: the (weighted) count of upslope pixels, the pixel included.

    ``FA_i = w_i + Σ_j p(j, i)·FA_j`` over the neighbours ``j`` draining into ``i``; D8:
    ``p = 1`` for the receiver; MFD: ``p(j, i) = w_ji / Σ_k w_jk`` of the 4-bit weights.
    As ``pygeoprocessing.routing.flow_accumulation_d8`` / ``flow_accumulation_mfd``.

    Parameters
    ----------
    flow_dir : numpy.ndarray
        D8 codes or MFD packed weights (see :mod:`gep.kernels.flowdir`).
    algorithm : {"d8", "mfd"}
        Which of the two ``flow_dir`` holds.
    weights : numpy.ndarray, optional
        Per-pixel weight (e.g. InVEST's thresholded C factor for W̄); default 1, which gives
        the count of pixels. NaN weights count as 0, as pygeoprocessing's nodata weights.
    order : numpy.ndarray, optional
        Pre-computed :func:`topological_order` of ``flow_dir``.

    Returns
    -------
    numpy.ndarray of float64
        Accumulated weight (pixels when unweighted); NaN where there is no direction.

    References
    ----------
    pygeoprocessing 2.4.11, ``routing.flow_accumulation_d8`` and ``flow_accumulation_mfd``.

    Examples
    --------
    >>> import numpy as np
    >>> flow_accumulation(np.array([[0, 0, 0]], dtype=np.uint8), "d8")
    array([[1., 2., 3.]])
    """
    fdir = np.ascontiguousarray(flow_dir)
    if order is None:
        order = topological_order(fdir, algorithm)
    acc = np.full(fdir.shape, np.nan)
    return accumulate_into(fdir, algorithm, weights, order, acc)


def accumulate_into(
    flow_dir: np.ndarray,
    algorithm: str,
    weights: np.ndarray | None,
    order: np.ndarray,
    acc: np.ndarray,
) -> np.ndarray:
    """:func:`flow_accumulation` of the pixels of ``order`` only, written into ``acc``.

    The other pixels of ``acc`` (float64) keep their values and are read as they are by the
    pixels they drain into: a tile's ring holding its neighbours' results, for example
    (:mod:`gep.routing.tiled_flow`). Each pixel pulls from its donors in a fixed order, so
    its value depends only on theirs, never on the order of the pass.

    Returns
    -------
    numpy.ndarray of float64
        ``acc``.
    """
    algo = check_algorithm(algorithm)
    fdir = np.ascontiguousarray(flow_dir)
    if weights is None:  # every weight 1, without a raster of ones
        w = np.ones((1, 1))
    else:
        w = np.ascontiguousarray(weights)
        if w.dtype not in (np.float32, np.float64):
            w = w.astype(np.float64)
        if w.shape != fdir.shape:
            raise ValueError(
                f"flow_accumulation: weights have shape {w.shape}, the directions {fdir.shape}"
            )
    if acc.shape != fdir.shape or acc.dtype != np.float64 or not acc.flags.c_contiguous:
        raise ValueError("accumulate_into: acc must be C-contiguous float64 of the grid's shape")
    if algo == "d8":
        return _accumulate_d8(fdir, w, order, weights is None, acc)
    return _accumulate_mfd(fdir, w, order, weights is None, acc)


def check_algorithm(algorithm: str) -> str:
    """``"d8"`` or ``"mfd"`` (any case); anything else is a ``ValueError``."""
    algo = str(algorithm).lower()
    if algo not in ("d8", "mfd"):
        raise ValueError(f"flow direction algorithm must be 'd8' or 'mfd', got {algorithm!r}")
    return algo
