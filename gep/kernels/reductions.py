"""One-pass reductions over rasters with NaN as nodata (numba, GIL released).

``numpy.nansum`` and ``numpy.nanmin`` first copy the array with NaN replaced (a full extra
pass and an array-sized temporary); these kernels read each value once. Sums accumulate in
float64 per thread over contiguous slices (as InVEST's float64 totals of float32 rasters).
"""

from __future__ import annotations

import numba
import numpy as np

#: Pixels per partial sum: each thread sums contiguous slices of this length.
_SLICE = 1 << 16


@numba.njit(nogil=True, cache=True)
def _nan_min_max(flat):  # pragma: no cover - numba
    lo = np.inf
    hi = -np.inf
    for i in range(flat.size):
        v = flat[i]
        if v < lo:  # NaN compares False: skipped
            lo = v
        if v > hi:
            hi = v
    return lo, hi


@numba.njit(nogil=True, cache=True, parallel=True)
def _nan_sum(flat, size):  # pragma: no cover - numba
    n = (flat.size + size - 1) // size
    partial = np.zeros(n, dtype=np.float64)
    for k in numba.prange(n):
        s = 0.0
        for i in range(k * size, min((k + 1) * size, flat.size)):
            v = flat[i]
            if v == v:
                s += v
        partial[k] = s
    return partial.sum()


def nan_min_max(values: np.ndarray) -> tuple[float, float]:
    """Smallest and largest non-NaN value in one pass (``(inf, -inf)`` when all are NaN).

    Examples
    --------
    >>> nan_min_max(np.array([[3.0, np.nan], [-1.0, 2.0]]))
    (-1.0, 3.0)
    """
    lo, hi = _nan_min_max(np.ascontiguousarray(values).reshape(-1))
    return float(lo), float(hi)


def nan_sum(values: np.ndarray) -> float:
    """Sum of the non-NaN values in float64 (0.0 when all are NaN).

    Examples
    --------
    >>> nan_sum(np.array([[1.5, np.nan], [2.0, 0.25]], dtype=np.float32))
    3.75
    """
    flat = np.ascontiguousarray(values).reshape(-1)
    if flat.size == 0:
        return 0.0
    return float(_nan_sum(flat, _SLICE))


@numba.njit(nogil=True, cache=True)
def _masked_sum_count(values, mask):  # pragma: no cover - numba
    s = 0.0
    n = 0
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            v = values[r, c]
            if mask[r, c] and v == v:
                s += v
                n += 1
    return s, n


def masked_sum_count(values: np.ndarray, mask: np.ndarray) -> tuple[float, int]:
    """Sum (float64) and count of the non-NaN ``values`` where ``mask`` is True, one pass.

    ``values`` and ``mask`` are 2-D of one shape; views (windows) are read without copying.

    Examples
    --------
    >>> v = np.array([[1.0, 2.0], [np.nan, 4.0]])
    >>> masked_sum_count(v, np.array([[True, False], [True, True]]))
    (5.0, 2)
    """
    if values.shape != mask.shape:
        raise ValueError(f"values {values.shape} and mask {mask.shape} differ in shape")
    s, n = _masked_sum_count(values, mask)
    return float(s), int(n)


#: Row chunks of :func:`zone_sums` (fixed, so that the result does not depend on the threads).
_ZONE_CHUNKS = 64


@numba.njit(nogil=True, cache=True, parallel=True)
def _zone_sums(zones, values, n_zones, sums, valid, cells):  # pragma: no cover - numba
    rows, cols = zones.shape
    step = (rows + _ZONE_CHUNKS - 1) // _ZONE_CHUNKS
    for k in numba.prange(_ZONE_CHUNKS):
        for r in range(k * step, min((k + 1) * step, rows)):
            for c in range(cols):
                z = zones[r, c]
                if z <= 0 or z > n_zones:
                    continue
                cells[k, z - 1] += 1
                v = values[r, c]
                if v == v:
                    sums[k, z - 1] += v
                    valid[k, z - 1] += 1


def zone_sums(
    zones: np.ndarray, values: np.ndarray, n_zones: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of ``values`` per zone of a zone raster, with valid and total cell counts, one pass.

    Zone ``z`` (1 … ``n_zones``) holds the cells whose value in ``zones`` is ``z``; 0 (and
    anything outside 1 … ``n_zones``) is no zone. NaN values are skipped (not valid). Each
    thread adds into its own histogram over fixed row chunks, then the chunks are added:
    the memory-bound pass of a cached zone raster (``PERFORMANCE.md``: a numba per-thread
    histogram, 287 Mpx/s, against 105 Mpx/s for ``numpy.bincount``).

    Parameters
    ----------
    zones : numpy.ndarray of int, 2-D
        Zone number of every cell.
    values : numpy.ndarray, 2-D
        Values of the same shape, NaN for nodata.
    n_zones : int
        Number of zones.

    Returns
    -------
    sums : numpy.ndarray of float64, shape (n_zones,)
    valid : numpy.ndarray of int64, shape (n_zones,)
        Cells with a non-NaN value.
    cells : numpy.ndarray of int64, shape (n_zones,)
        Cells of the zone.

    Examples
    --------
    >>> z = np.array([[1, 1, 0], [2, 2, 2]])
    >>> v = np.array([[1.5, 2.0, 9.0], [np.nan, 4.0, 0.5]])
    >>> s, valid, cells = zone_sums(z, v, 2)
    >>> s.tolist(), valid.tolist(), cells.tolist()
    ([3.5, 4.5], [2, 2], [2, 3])
    """
    if zones.shape != values.shape or zones.ndim != 2:
        raise ValueError(f"zones {zones.shape} and values {values.shape} must be 2-D of one shape")
    sums = np.zeros((_ZONE_CHUNKS, n_zones))
    valid = np.zeros((_ZONE_CHUNKS, n_zones), dtype=np.int64)
    cells = np.zeros((_ZONE_CHUNKS, n_zones), dtype=np.int64)
    _zone_sums(zones, values, np.int64(n_zones), sums, valid, cells)
    return sums.sum(axis=0), valid.sum(axis=0), cells.sum(axis=0)
