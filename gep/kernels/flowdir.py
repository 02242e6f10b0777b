"""D8 and MFD flow directions as ``pygeoprocessing.routing.flow_dir_d8`` / ``flow_dir_mfd``.

Both take a pit-filled DEM. A pixel with a lower neighbour drains to it (D8: the steepest
drop, diagonal drops × 1/√2, first direction wins ties; MFD: every lower neighbour, share ∝
drop, diagonal drops × 1/√2, quantised to 4-bit integers and packed 4 bits per direction).
Flat regions (plateaus) are drained by distance to their drains, exactly as pygeoprocessing
does it, including its scan order (256 × 256 tiles) and its FIFO tie-breaking, so the
directions are identical pixel for pixel.

Codes: D8 ``0..7`` (``3 2 1 / 4 x 0 / 5 6 7``), 128 = no direction; MFD ``int32`` with the
weight towards direction ``d`` in bits ``4d..4d+3``, 0 = no direction.
"""

from __future__ import annotations

import numba
import numpy as np

from gep.kernels._grid import (
    COL_OFFSETS,
    D8_NODATA,
    INFLOW,
    ROW_OFFSETS,
    SQRT2,
    SQRT2_INV,
    iterblock_shape,
    push,
)


@numba.njit(cache=True)
def _inside(r, c, n_rows, n_cols):  # pragma: no cover - numba
    return 0 <= r < n_rows and 0 <= c < n_cols


@numba.njit(cache=True)
def _d8_steepest(dem, valid, r, c):  # pragma: no cover - numba
    """Steepest lower valid neighbour (first wins ties) or -1."""
    n_rows, n_cols = dem.shape
    height = dem[r, c]
    best = -1
    best_slope = 0.0
    for d in range(8):
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if not _inside(rn, cn, n_rows, n_cols) or not valid[rn, cn]:
            continue
        slope = height - dem[rn, cn]
        if d & 1:
            slope *= SQRT2_INV
        if slope > best_slope:
            best = d
            best_slope = slope
    return best


@numba.njit(cache=True)
def _d8_flat_pixel(dem, valid, flat, height, q, search, s_tail):  # pragma: no cover
    """Grow the flat from ``q``; return (direction, slope, s_tail) of q as a drain."""
    n_rows, n_cols = dem.shape
    r = q // n_cols
    c = q - r * n_cols
    best = -1
    best_slope = 0.0
    diagonal_nodata = True
    for d in range(8):
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if not _inside(rn, cn, n_rows, n_cols) or not valid[rn, cn]:
            # pygeoprocessing: the first cardinal nodata neighbour, else the last diagonal
            if diagonal_nodata and best_slope == 0.0:
                best = d
                diagonal_nodata = (d & 1) == 1
            continue
        slope = height - dem[rn, cn]
        if slope < 0:
            continue
        if slope == 0.0:
            qn = rn * n_cols + cn
            if flat[qn] == 0:
                search[s_tail] = qn
                s_tail += 1
                flat[qn] = 1
            continue
        if d & 1:
            slope *= SQRT2_INV
        if slope > best_slope:
            best_slope = slope
            best = d
    return best, best_slope, s_tail


@numba.njit(cache=True)
def _d8_drain_plateau(dem, fdir, dist, height, drains, head, tail):  # pragma: no cover
    """Point every plateau pixel to the neighbour on its shortest path to a drain."""
    n_rows, n_cols = dem.shape
    while head < tail:
        q = drains[head]
        head += 1
        r = q // n_cols
        c = q - r * n_cols
        drain_distance = dist[q]
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if not _inside(rn, cn, n_rows, n_cols):
                continue
            qn = rn * n_cols + cn
            n_distance = drain_distance + (SQRT2 if d & 1 else 1.0)
            if dem[rn, cn] == height and dist[qn] > n_distance:
                fdir[rn, cn] = INFLOW[d]
                dist[qn] = n_distance
                drains, head, tail = push(drains, head, tail, qn)
    return drains


@numba.njit(cache=True)
def _d8_plateau(dem, valid, fdir, flat, dist, root, work):  # pragma: no cover - numba
    search, drains, nodata_pixels, nodata_dirs = work
    n_cols = dem.shape[1]
    height = dem.flat[root]
    search[0] = root
    flat[root] = 1
    s_head, s_tail = 0, 1
    head, tail, n_nodata = 0, 0, 0
    far = float(dem.size)
    while s_head < s_tail:
        q = search[s_head]
        s_head += 1
        dist[q] = far  # a plateau pixel's distance is read only after its plateau's search
        best, best_slope, s_tail = _d8_flat_pixel(dem, valid, flat, height, q, search, s_tail)
        if best < 0:
            continue
        if best_slope > 0.0:
            fdir[q // n_cols, q % n_cols] = best
            dist[q] = 0.0
            drains, head, tail = push(drains, head, tail, q)
        else:
            nodata_pixels[n_nodata] = q
            nodata_dirs[n_nodata] = best
            n_nodata += 1
    if tail == head:  # no downhill drain: the plateau drains to nodata / off the edge
        for k in range(n_nodata):
            q = nodata_pixels[k]
            fdir[q // n_cols, q % n_cols] = nodata_dirs[k]
            dist[q] = 0.0
            drains, head, tail = push(drains, head, tail, q)
    drains = _d8_drain_plateau(dem, fdir, dist, height, drains, head, tail)
    return (search, drains, nodata_pixels, nodata_dirs)


@numba.njit(cache=True)
def _flow_dir_d8(dem, valid, block_rows, block_cols):  # pragma: no cover - numba
    n_rows, n_cols = dem.shape
    n = n_rows * n_cols
    fdir = np.full((n_rows, n_cols), D8_NODATA, dtype=np.uint8)
    flat = np.zeros(n, dtype=np.uint8)
    # distances to the drains, set per plateau as it is searched: memory only for flats
    dist = np.empty(n)
    work = (
        np.empty(n, dtype=np.int64),
        np.empty(64, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
    )
    for row0 in range(0, n_rows, block_rows):
        for col0 in range(0, n_cols, block_cols):
            for r in range(row0, min(row0 + block_rows, n_rows)):
                for c in range(col0, min(col0 + block_cols, n_cols)):
                    if not valid[r, c] or fdir[r, c] != D8_NODATA:
                        continue
                    d = _d8_steepest(dem, valid, r, c)
                    if d >= 0:
                        fdir[r, c] = d
                    else:
                        work = _d8_plateau(dem, valid, fdir, flat, dist, r * n_cols + c, work)
    return fdir


@numba.njit(cache=True)
def _pack(weights, total):  # pragma: no cover - numba
    """Quantise shares ``weights/total`` to 0–15 and pack them 4 bits per direction."""
    packed = 0
    for d in range(8):
        packed |= int(0.5 + weights[d] / total * 15.0) << (d * 4)
    if packed >= 2**31:  # pygeoprocessing stores a C int: wrap to int32
        packed -= 2**32
    return np.int32(packed)


@numba.njit(cache=True)
def _mfd_downhill(dem, valid, r, c, slopes):  # pragma: no cover - numba
    """Drops to lower valid neighbours (diagonals × 1/√2) into ``slopes``; their sum."""
    n_rows, n_cols = dem.shape
    height = dem[r, c]
    total = 0.0
    for d in range(8):
        slopes[d] = 0.0
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if not _inside(rn, cn, n_rows, n_cols) or not valid[rn, cn]:
            continue
        slope = height - dem[rn, cn]
        if slope > 0.0:
            if d & 1:
                slope *= SQRT2_INV
            slopes[d] = slope
            total += slope
    return total


@numba.njit(cache=True)
def _mfd_flat_pixel(dem, valid, flat, height, q, search, s_tail, slopes, nodata_slopes):
    """Grow the flat from ``q``; fill its downhill and nodata weights; return sums."""
    n_rows, n_cols = dem.shape
    r = q // n_cols
    c = q - r * n_cols
    total = 0.0
    total_nodata = 0.0
    for d in range(8):
        slopes[d] = 0.0
        nodata_slopes[d] = 0.0
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if not _inside(rn, cn, n_rows, n_cols) or not valid[rn, cn]:
            weight = SQRT2_INV if d & 1 else 1.0
            total_nodata += weight
            nodata_slopes[d] = weight
            continue
        slope = height - dem[rn, cn]
        if slope < 0:
            continue
        if slope == 0.0:
            qn = rn * n_cols + cn
            if flat[qn] == 0:
                search[s_tail] = qn
                s_tail += 1
                flat[qn] = 1
            continue
        if d & 1:
            slope *= SQRT2_INV
        slopes[d] = slope
        total += slope
    return total, total_nodata, s_tail


@numba.njit(cache=True)
def _mfd_plateau_distances(dem, dist, height, queue, head, tail):  # pragma: no cover
    """Shortest distance (1 or √2 per step) from every plateau pixel to a drain (FIFO)."""
    n_rows, n_cols = dem.shape
    while head < tail:
        q = queue[head]
        head += 1
        r = q // n_cols
        c = q - r * n_cols
        drain_distance = dist[q]
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if not _inside(rn, cn, n_rows, n_cols):
                continue
            qn = rn * n_cols + cn
            n_distance = drain_distance + (SQRT2 if d & 1 else 1.0)
            if dem[rn, cn] == height and dist[qn] > n_distance:
                dist[qn] = n_distance
                queue, head, tail = push(queue, head, tail, qn)
    return queue


@numba.njit(cache=True)
def _mfd_plateau_directions(dem, fdir, dist, drain_mask, height, queue, head, tail, slopes):
    """Point plateau pixels to every same-height neighbour closer to a drain."""
    n_rows, n_cols = dem.shape
    far = float(n_rows * n_cols)
    while head < tail:
        q = queue[head]
        head += 1
        r = q // n_cols
        c = q - r * n_cols
        drain_distance = dist[q]
        total = 0.0
        for d in range(8):
            slopes[d] = 0.0
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if not _inside(rn, cn, n_rows, n_cols) or dem[rn, cn] != height:
                continue
            qn = rn * n_cols + cn
            if dist[qn] == far:
                continue
            if dist[qn] < drain_distance:
                slopes[d] = SQRT2_INV if d & 1 else 1.0
                total += slopes[d]
            elif drain_mask[qn] == 0:
                queue, head, tail = push(queue, head, tail, qn)
                drain_mask[qn] = 1
        if total != 0:
            fdir[r, c] = _pack(slopes, total)
    return queue


@numba.njit(cache=True)
def _mfd_find_drains(dem, valid, fdir, flat, dist, drain_mask, root, work, slopes, nd):
    """BFS over the flat containing ``root``; set drains; return the drain queue."""
    search, queue, _, nodata_pixels, nodata_dirs = work
    n_cols = dem.shape[1]
    height = dem.flat[root]
    search[0] = root
    flat[root] = 1
    s_head, s_tail = 0, 1
    head, tail, n_nodata = 0, 0, 0
    far = float(dem.size)
    while s_head < s_tail:
        q = search[s_head]
        s_head += 1
        dist[q] = far  # a plateau pixel's distance is read only after its plateau's search
        total, total_nodata, s_tail = _mfd_flat_pixel(
            dem, valid, flat, height, q, search, s_tail, slopes, nd
        )
        if total > 0.0:
            fdir[q // n_cols, q % n_cols] = _pack(slopes, total)
            dist[q] = 0.0
            drain_mask[q] = 1
            queue, head, tail = push(queue, head, tail, q)
        elif total_nodata > 0.0:
            nodata_pixels[n_nodata] = q
            nodata_dirs[n_nodata] = _pack(nd, total_nodata)
            n_nodata += 1
    if tail == head:
        for k in range(n_nodata):
            q = nodata_pixels[k]
            fdir[q // n_cols, q % n_cols] = nodata_dirs[k]
            dist[q] = 0.0
            drain_mask[q] = 1
            queue, head, tail = push(queue, head, tail, q)
    return queue, head, tail


@numba.njit(cache=True)
def _mfd_plateau(dem, valid, fdir, flat, dist, drain_mask, root, work, slopes, nd):
    """Resolve the flow directions of the flat containing ``root`` (pygeoprocessing)."""
    search, _, second, nodata_pixels, nodata_dirs = work
    queue, head, tail = _mfd_find_drains(
        dem, valid, fdir, flat, dist, drain_mask, root, work, slopes, nd
    )
    height = dem.flat[root]
    if second.size < tail - head:
        second = np.empty(tail - head, dtype=np.int64)
    second[: tail - head] = queue[head:tail]
    n_drains = tail - head
    queue = _mfd_plateau_distances(dem, dist, height, queue, head, tail)
    second = _mfd_plateau_directions(
        dem, fdir, dist, drain_mask, height, second, 0, n_drains, slopes
    )
    return (search, queue, second, nodata_pixels, nodata_dirs)


@numba.njit(cache=True)
def _flow_dir_mfd(dem, valid, block_rows, block_cols):  # pragma: no cover - numba
    n_rows, n_cols = dem.shape
    n = n_rows * n_cols
    fdir = np.zeros((n_rows, n_cols), dtype=np.int32)
    flat = np.zeros(n, dtype=np.uint8)
    drain_mask = np.zeros(n, dtype=np.uint8)
    # distances to the drains, set per plateau as it is searched: memory only for flats
    dist = np.empty(n)
    slopes = np.zeros(8)
    nd = np.zeros(8)
    work = (
        np.empty(n, dtype=np.int64),
        np.empty(64, dtype=np.int64),
        np.empty(64, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int32),
    )
    for row0 in range(0, n_rows, block_rows):
        for col0 in range(0, n_cols, block_cols):
            for r in range(row0, min(row0 + block_rows, n_rows)):
                for c in range(col0, min(col0 + block_cols, n_cols)):
                    if not valid[r, c] or fdir[r, c] != 0:
                        continue
                    total = _mfd_downhill(dem, valid, r, c, slopes)
                    if total > 0.0:
                        fdir[r, c] = _pack(slopes, total)
                    else:
                        work = _mfd_plateau(
                            dem,
                            valid,
                            fdir,
                            flat,
                            dist,
                            drain_mask,
                            r * n_cols + c,
                            work,
                            slopes,
                            nd,
                        )
    return fdir


def _prepare(dem: np.ndarray, valid: np.ndarray | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    dem64 = np.ascontiguousarray(dem, dtype=np.float64)
    if dem64.ndim != 2:
        raise ValueError(f"{name}: the DEM must be 2-D, got shape {dem64.shape}")
    finite = np.isfinite(dem64)
    if valid is None:
        return dem64, finite
    ok = finite & np.asarray(valid, dtype=bool)
    if np.array_equal(ok, finite):  # already NaN outside ``valid``: no masked copy
        return dem64, ok
    return np.where(ok, dem64, np.nan), ok


def flow_dir_d8(filled_dem: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """D8 flow direction of a pit-filled DEM, as ``pygeoprocessing.routing.flow_dir_d8``.

    Each pixel drains to its steepest lower neighbour (drop per unit distance, diagonal
    drops × 1/√2; the lowest direction code wins ties). Pixels of a flat drain along the
    shortest path (steps 1 and √2) to the flat's pixels that have a lower neighbour, or, if
    it has none, to the flat's pixels next to nodata or the raster edge.

    Parameters
    ----------
    filled_dem : numpy.ndarray
        Pit-filled elevation, m (see :func:`gep.kernels.fill.fill_pits`). NaN is nodata.
    valid : numpy.ndarray of bool, optional
        Pixels to route; default: finite ``filled_dem``.

    Returns
    -------
    numpy.ndarray of uint8
        Direction codes ``0..7`` (``3 2 1 / 4 x 0 / 5 6 7``); 128 where invalid.

    References
    ----------
    O'Callaghan J.F., Mark D.M. (1984) The extraction of drainage networks from digital
    elevation data. Computer Vision, Graphics and Image Processing 28, 323–344.
    pygeoprocessing 2.4.11, ``routing.flow_dir_d8``.

    Examples
    --------
    >>> import numpy as np
    >>> flow_dir_d8(np.array([[3.0, 2.0, 1.0]]))
    array([[0, 0, 0]], dtype=uint8)
    """
    dem64, ok = _prepare(filled_dem, valid, "flow_dir_d8")
    rows, cols = iterblock_shape(*dem64.shape)
    return _flow_dir_d8(dem64, ok, rows, cols)


def flow_dir_mfd(filled_dem: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Multiple flow direction of a pit-filled DEM, as ``pygeoprocessing.routing.flow_dir_mfd``.

    Each pixel sends water to every lower neighbour in proportion to the drop (diagonal
    drops × 1/√2, exponent 1); the proportions are quantised to ``int(0.5 + 15·share)`` and
    packed 4 bits per direction. A flat drains by distance to its drains: each flat pixel
    sends to every same-height neighbour nearer a drain (weight 1, diagonal 1/√2).

    Parameters
    ----------
    filled_dem : numpy.ndarray
        Pit-filled elevation, m. NaN is nodata.
    valid : numpy.ndarray of bool, optional
        Pixels to route; default: finite ``filled_dem``.

    Returns
    -------
    numpy.ndarray of int32
        Packed weights (direction ``d`` in bits ``4d..4d+3``); 0 where invalid.

    References
    ----------
    Quinn P., Beven K., Chevallier P., Planchon O. (1991) The prediction of hillslope flow
    paths for distributed hydrological modelling using digital terrain models. Hydrological
    Processes 5, 59–79. pygeoprocessing 2.4.11, ``routing.flow_dir_mfd``.
    """
    dem64, ok = _prepare(filled_dem, valid, "flow_dir_mfd")
    rows, cols = iterblock_shape(*dem64.shape)
    return _flow_dir_mfd(dem64, ok, rows, cols)
