"""Depression filling to the pour point, as ``pygeoprocessing.routing.fill_pits``.

Every depression that does not drain to the raster edge or to a nodata pixel is raised to
the height of its lowest pour point; flats stay flat (no epsilon gradient) and there is no
fill limit. pygeoprocessing finds pits one by one and grows each from its lowest pixel; the
result is the same as a Priority-Flood seeded with the pixels that touch the edge or nodata,
which is what we run (one heap pass, FIFO for pixels inside depressions).
"""

from __future__ import annotations

import numba
import numpy as np

from gep.kernels._grid import COL_OFFSETS, ROW_OFFSETS


@numba.njit(cache=True)
def _heap_push(keys, vals, size, key, val):  # pragma: no cover - numba
    i = size
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return size + 1


@numba.njit(cache=True)
def _heap_pop(keys, vals, size):  # pragma: no cover - numba
    top = vals[0]
    size -= 1
    keys[0] = keys[size]
    vals[0] = vals[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        vals[child], vals[i] = vals[i], vals[child]
        i = child
    return top, size


@numba.njit(cache=True)
def _is_drain(valid, r, c):  # pragma: no cover - numba
    """A valid pixel drains if a neighbour is off the raster or nodata (pygeoprocessing)."""
    n_rows, n_cols = valid.shape
    for d in range(8):
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or not valid[rn, cn]:
            return True
    return False


@numba.njit(cache=True)
def _seed(dem, valid, filled, closed, keys, vals):  # pragma: no cover - numba
    """Copy valid heights; put every draining pixel on the heap; return the heap size."""
    n_rows, n_cols = dem.shape
    size = 0
    for r in range(n_rows):
        for c in range(n_cols):
            if valid[r, c]:
                filled[r, c] = dem[r, c]
                if _is_drain(valid, r, c):
                    closed[r * n_cols + c] = True
                    size = _heap_push(keys, vals, size, dem[r, c], r * n_cols + c)
    return size


@numba.njit(cache=True)
def _fill_pits(dem, valid):  # pragma: no cover - numba
    n_rows, n_cols = dem.shape
    n = n_rows * n_cols
    filled = np.full((n_rows, n_cols), np.nan)
    closed = np.zeros(n, dtype=np.bool_)
    keys = np.empty(n, dtype=np.float64)
    vals = np.empty(n, dtype=np.int64)
    pit = np.empty(n, dtype=np.int64)
    size = _seed(dem, valid, filled, closed, keys, vals)
    head = 0
    tail = 0
    while size > 0 or head < tail:
        if head < tail:
            p = pit[head]
            head += 1
        else:
            p, size = _heap_pop(keys, vals, size)
        r = p // n_cols
        c = p - r * n_cols
        level = filled[r, c]
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or not valid[rn, cn]:
                continue
            q = rn * n_cols + cn
            if closed[q]:
                continue
            closed[q] = True
            if filled[rn, cn] <= level:
                filled[rn, cn] = level
                pit[tail] = q
                tail += 1
            else:
                size = _heap_push(keys, vals, size, filled[rn, cn], q)
    return filled


def fill_pits(dem: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Fill every depression of a DEM to its pour point.

    A pixel drains if one of its 8 neighbours is off the raster or nodata; every other
    pixel is raised to the lowest height at which water can leave it along a path to a
    draining pixel, which is what ``pygeoprocessing.routing.fill_pits`` (InVEST SDR's
    ``pit_filled_dem.tif``) computes with ``max_pixel_fill_count=-1``.

    Parameters
    ----------
    dem : numpy.ndarray
        Elevation, m (2-D, float). NaN is nodata.
    valid : numpy.ndarray of bool, optional
        Pixels to route; default: finite ``dem``. NaN pixels are invalid in any case.

    Returns
    -------
    numpy.ndarray
        Filled elevation, m, float64; NaN outside ``valid``.

    References
    ----------
    Barnes R., Lehman C., Mulla D. (2014) Priority-flood: an optimal depression-filling and
    watershed-labeling algorithm for digital elevation models. Computers & Geosciences 62,
    117–127.

    Examples
    --------
    >>> import numpy as np
    >>> dem = np.array([[5.0, 5, 5], [5, 1, 4], [5, 5, 5]])
    >>> float(fill_pits(dem)[1, 1])  # spills over the 4 on the edge
    4.0
    """
    dem64 = np.ascontiguousarray(dem, dtype=np.float64)
    if dem64.ndim != 2:
        raise ValueError(f"fill_pits: dem must be 2-D, got shape {dem64.shape}")
    ok = np.isfinite(dem64)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    return _fill_pits(dem64, np.ascontiguousarray(ok))
