"""numba kernels of the basin decomposition (:mod:`gep.routing.basins`): outlets, flats, boxes.

Pure array code, no I/O: labels of coarse-basin outlets, flat components of a filled DEM,
bounding boxes and boundary pixels of pieces, MFD leaks across cuts and the destinations of
pixels whose flow leaves their piece.
"""

from __future__ import annotations

import numba
import numpy as np

from gep.kernels._grid import COL_OFFSETS, D8_NODATA, ROW_OFFSETS, SQRT2, SQRT2_INV

__all__ = [
    "boundary_pixels",
    "boxes",
    "destinations",
    "flat_components",
    "is_flat",
    "mfd_leak",
    "outlet_labels",
]


@numba.njit(cache=True)
def outlet_labels(fdir, order):  # pragma: no cover - numba
    """Label every routed pixel by the outlet it drains to (downstream pixels first)."""
    n_rows, n_cols = fdir.shape
    labels = np.full(fdir.size, -1, dtype=np.int32)
    outlets = np.empty(order.size, dtype=np.int64)
    n = 0
    for k in range(order.size - 1, -1, -1):
        p = order[k]
        r = p // n_cols
        c = p % n_cols
        d = fdir[r, c]
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if 0 <= rn < n_rows and 0 <= cn < n_cols and fdir[rn, cn] != D8_NODATA:
            labels[p] = labels[rn * n_cols + cn]
        else:
            labels[p] = n
            outlets[n] = p
            n += 1
    return labels.reshape(fdir.shape), outlets[:n]


@numba.njit(cache=True)
def is_flat(filled, valid, r, c):  # pragma: no cover - numba
    """No valid neighbour is lower (``flowdir._d8_steepest`` finds no direction)."""
    n_rows, n_cols = filled.shape
    for d in range(8):
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if 0 <= rn < n_rows and 0 <= cn < n_cols and valid[rn, cn]:
            slope = filled[r, c] - filled[rn, cn]
            if d & 1:
                slope *= SQRT2_INV
            if slope > 0.0:
                return False
    return True


@numba.njit(cache=True)
def flat_components(filled, valid):  # pragma: no cover - numba
    """Label the flats: equal-height 8-connected sets grown from pixels with no lower neighbour.

    These are the pixels pygeoprocessing's plateau search visits from a root (flat pixels
    and the equal-height pixels next to them that do have a lower neighbour, the drains).

    Parameters
    ----------
    filled : numpy.ndarray
        Pit-filled elevation, m.
    valid : numpy.ndarray of bool
        Pixels to route.

    Returns
    -------
    labels : numpy.ndarray of int32
        Flat id (1, 2, …) of every pixel, 0 when it is on no flat.
    n : int
        Number of flats.
    """
    n_rows, n_cols = filled.shape
    labels = np.zeros((n_rows, n_cols), dtype=np.int32)
    queue = np.empty(filled.size, dtype=np.int64)
    n = 0
    for r0 in range(n_rows):
        for c0 in range(n_cols):
            if not valid[r0, c0] or labels[r0, c0] != 0 or not is_flat(filled, valid, r0, c0):
                continue
            n += 1
            height = filled[r0, c0]
            labels[r0, c0] = n
            queue[0] = r0 * n_cols + c0
            head, tail = 0, 1
            while head < tail:
                p = queue[head]
                head += 1
                r = p // n_cols
                c = p - r * n_cols
                for d in range(8):
                    rn = r + ROW_OFFSETS[d]
                    cn = c + COL_OFFSETS[d]
                    if not (0 <= rn < n_rows and 0 <= cn < n_cols) or not valid[rn, cn]:
                        continue
                    if labels[rn, cn] == 0 and filled[rn, cn] == height:
                        labels[rn, cn] = n
                        queue[tail] = rn * n_cols + cn
                        tail += 1
    return labels, n


@numba.njit(cache=True)
def boxes(labels, n):  # pragma: no cover - numba
    """``(row0, row1, col0, col1)`` (end exclusive) of labels ``0..n-1``; empty: row0 = -1."""
    boxes = np.full((n, 4), -1, dtype=np.int64)
    n_rows, n_cols = labels.shape
    for r in range(n_rows):
        for c in range(n_cols):
            k = labels[r, c]
            if k < 0 or k >= n:
                continue
            if boxes[k, 0] < 0:
                boxes[k, 0] = r
                boxes[k, 1] = r + 1
                boxes[k, 2] = c
                boxes[k, 3] = c + 1
            else:
                boxes[k, 1] = max(boxes[k, 1], r + 1)
                boxes[k, 2] = min(boxes[k, 2], c)
                boxes[k, 3] = max(boxes[k, 3], c + 1)
    return boxes


@numba.njit(cache=True)
def boundary_pixels(pieces):  # pragma: no cover - numba
    """Pixels of a piece with a neighbour in another piece."""
    n_rows, n_cols = pieces.shape
    n = 0
    for r in range(n_rows):
        for c in range(n_cols):
            a = pieces[r, c]
            if a < 0:
                continue
            for d in range(8):
                rn = r + ROW_OFFSETS[d]
                cn = c + COL_OFFSETS[d]
                if 0 <= rn < n_rows and 0 <= cn < n_cols and pieces[rn, cn] >= 0:
                    if pieces[rn, cn] != a:
                        n += 1
                        break
    return n


@numba.njit(cache=True)
def mfd_leak(filled, pieces, fa):  # pragma: no cover - numba
    """Upslope area the whole-raster MFD would pass across piece boundaries (pixels)."""
    n_rows, n_cols = filled.shape
    leak = 0.0
    for r in range(n_rows):
        for c in range(n_cols):
            a = pieces[r, c]
            if a < 0:
                continue
            total = 0.0
            across = 0.0
            for d in range(8):
                rn = r + ROW_OFFSETS[d]
                cn = c + COL_OFFSETS[d]
                if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or pieces[rn, cn] < 0:
                    continue
                drop = filled[r, c] - filled[rn, cn]
                if drop <= 0:
                    continue
                w = drop / SQRT2 if d % 2 == 1 else drop
                total += w
                if pieces[rn, cn] != a:
                    across += w
            if total > 0 and across > 0:
                leak += fa[r, c] * across / total
    return leak


@numba.njit(cache=True)
def destinations(pieces, fdir, order, r0, c0, pid):  # pragma: no cover - numba
    """Piece each own pixel really drains into, or -1 when it stays.

    An own pixel whose (exact) direction points into another piece drains there; so does
    everything upstream of it in its piece. Visited downstream first, each pixel inherits
    the answer of its receiver unless it crosses itself.
    """
    n_rows, n_cols = pieces.shape
    pr, pc = fdir.shape
    dest = np.full(fdir.size, -1, dtype=np.int32)
    for k in range(order.size - 1, -1, -1):
        p = order[k]
        lr = p // pc
        lc = p % pc
        d = fdir[lr, lc]
        rn = lr + ROW_OFFSETS[d]
        cn = lc + COL_OFFSETS[d]
        gr = r0 + rn
        gc = c0 + cn
        if 0 <= gr < n_rows and 0 <= gc < n_cols and pieces[gr, gc] >= 0 and pieces[gr, gc] != pid:
            dest[p] = pieces[gr, gc]
        elif 0 <= rn < pr and 0 <= cn < pc and fdir[rn, cn] != D8_NODATA:
            dest[p] = dest[rn * pc + cn]
    return dest.reshape(fdir.shape)
