"""Flow accumulation, stream extraction and distance to channel on D8 / MFD directions.

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
    STREAM_NODATA,
    iterblock_shape,
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
def _order(fdir, is_d8):  # pragma: no cover - numba
    """Kahn's algorithm, depth first from each source met in raster order (cache friendly)."""
    nodata = D8_NODATA if is_d8 else 0
    indegree, n_valid = _indegree(fdir, is_d8, nodata)
    receivers = np.empty(8, dtype=np.int64)
    order = np.empty(n_valid, dtype=np.int64)
    stack = np.empty(n_valid + 1, dtype=np.int64)
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
    return order[:tail]


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
    numpy.ndarray of int64
        Flat (row-major) pixel indices, depth first from each source pixel met in raster
        order (for memory locality). Shorter than the number of routed pixels only if the
        directions contain a cycle, which pygeoprocessing's directions never do.

    References
    ----------
    Kahn A.B. (1962) Topological sorting of large networks. Communications of the ACM 5(11),
    558–562.
    """
    algo = _algorithm(algorithm)
    fdir = np.ascontiguousarray(flow_dir)
    return _order(fdir, algo == "d8")


@numba.njit(cache=True)
def _accumulate_d8(fdir, weights, order):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    acc = np.full((n_rows, n_cols), np.nan)
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        value = weights[r, c]
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
def _accumulate_mfd(fdir, weights, order):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    sums = mfd_weight_sums(fdir)
    acc = np.full((n_rows, n_cols), np.nan)
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        value = weights[r, c]
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
    algo = _algorithm(algorithm)
    fdir = np.ascontiguousarray(flow_dir)
    if order is None:
        order = topological_order(fdir, algo)
    if weights is None:
        w = np.ones(fdir.shape)
    else:
        w = np.ascontiguousarray(weights)
        if w.dtype not in (np.float32, np.float64):
            w = w.astype(np.float64)
    if algo == "d8":
        return _accumulate_d8(fdir, w, order)
    return _accumulate_mfd(fdir, w, order)


def extract_streams_d8(flow_accumulation: np.ndarray, threshold: float) -> np.ndarray:
    """D8 streams: flow accumulation strictly greater than the threshold.

    As ``pygeoprocessing.routing.extract_streams_d8`` (``FA > threshold``; note: strictly
    greater, whereas the MFD extraction uses ``>=``).

    Parameters
    ----------
    flow_accumulation : numpy.ndarray
        Flow accumulation, pixels. NaN is nodata.
    threshold : float
        Threshold flow accumulation, pixels.

    Returns
    -------
    numpy.ndarray of uint8
        1 stream, 0 not a stream, 255 nodata.
    """
    fa = np.asarray(flow_accumulation, dtype=np.float64)
    out = np.full(fa.shape, STREAM_NODATA, dtype=np.uint8)
    ok = ~np.isnan(fa)
    out[ok] = fa[ok] > threshold
    return out


@numba.njit(cache=True)
def _mfd_is_outlet(fa, fdir, r, c):  # pragma: no cover - numba
    n_rows, n_cols = fa.shape
    for d in range(8):
        if mfd_weight(fdir[r, c], d) == 0:
            continue
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or np.isnan(fa[rn, cn]):
            return True
    return False


@numba.njit(cache=True)
def _backtrace(fdir, stream, start, queue):  # pragma: no cover - numba
    """Turn the provisional (2) stream pixels downstream of ``start`` into streams (1)."""
    n_rows, n_cols = fdir.shape
    head, tail = 0, 1
    queue[0] = start
    while head < tail:
        p = queue[head]
        head += 1
        r = p // n_cols
        c = p - r * n_cols
        for d in range(8):
            if mfd_weight(fdir[r, c], d) > 0:
                rn = r + ROW_OFFSETS[d]
                cn = c + COL_OFFSETS[d]
                if 0 <= rn < n_rows and 0 <= cn < n_cols and stream[rn, cn] == 2:
                    stream[rn, cn] = 1
                    queue[tail] = rn * n_cols + cn
                    tail += 1


@numba.njit(cache=True)
def _trace_upstream(fa, fdir, stream, start, threshold, trace, queue, back):  # pragma: no cover
    n_rows, n_cols = fa.shape
    head, tail = 0, 1
    queue[0] = start
    while head < tail:
        p = queue[head]
        head += 1
        r = p // n_cols
        c = p - r * n_cols
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or fdir[rn, cn] == 0:
                continue
            if mfd_weight(fdir[rn, cn], INFLOW[d]) == 0:
                continue
            value = stream[rn, cn]
            if value == 1 or value == 2:
                continue
            if fa[rn, cn] >= threshold:
                stream[rn, cn] = 1
                queue[tail] = rn * n_cols + cn
                tail += 1
                _backtrace(fdir, stream, rn * n_cols + cn, back)
            elif fa[rn, cn] >= trace:
                stream[rn, cn] = 2
                queue[tail] = rn * n_cols + cn
                tail += 1


@numba.njit(cache=True)
def _extract_streams_mfd(fa, fdir, threshold, trace, block_rows, block_cols):  # pragma: no cover
    n_rows, n_cols = fa.shape
    stream = np.full((n_rows, n_cols), STREAM_NODATA, dtype=np.uint8)
    queue = np.empty(n_rows * n_cols + 1, dtype=np.int64)
    back = np.empty(n_rows * n_cols + 1, dtype=np.int64)
    for row0 in range(0, n_rows, block_rows):
        for col0 in range(0, n_cols, block_cols):
            for r in range(row0, min(row0 + block_rows, n_rows)):
                for c in range(col0, min(col0 + block_cols, n_cols)):
                    if np.isnan(fa[r, c]) or stream[r, c] != STREAM_NODATA:
                        continue
                    stream[r, c] = 0
                    if fa[r, c] < threshold or not _mfd_is_outlet(fa, fdir, r, c):
                        continue
                    stream[r, c] = 1
                    _trace_upstream(fa, fdir, stream, r * n_cols + c, threshold, trace, queue, back)
    for r in range(n_rows):
        for c in range(n_cols):
            if stream[r, c] == 2:
                stream[r, c] = 0
    return stream


def extract_streams_mfd(
    flow_accumulation: np.ndarray,
    flow_dir_mfd: np.ndarray,
    threshold: float,
    *,
    trace_threshold_proportion: float = 1.0,
) -> np.ndarray:
    """MFD streams traced upstream from outlets, as ``pygeoprocessing.extract_streams_mfd``.

    Pixels are scanned tile by tile (pygeoprocessing's order). A pixel with
    ``FA >= threshold`` that sends flow off the raster or into nodata is an outlet; from it
    the network is traced upstream through pixels with ``FA >= threshold`` (streams) and
    ``FA >= trace_threshold_proportion·threshold`` (provisional, kept only where a stream
    pixel is found upstream of them). InVEST SDR uses ``trace_threshold_proportion=0.7``.

    Parameters
    ----------
    flow_accumulation : numpy.ndarray
        MFD flow accumulation, pixels. NaN is nodata.
    flow_dir_mfd : numpy.ndarray of int32
        MFD packed directions.
    threshold : float
        Threshold flow accumulation, pixels.
    trace_threshold_proportion : float
        Proportion of ``threshold`` enough to continue a traced stream, in [0, 1].

    Returns
    -------
    numpy.ndarray of uint8
        1 stream, 0 not a stream, 255 nodata.

    References
    ----------
    pygeoprocessing 2.4.11, ``routing.extract_streams_mfd``.
    """
    if not 0.0 <= trace_threshold_proportion <= 1.0:
        raise ValueError(
            "extract_streams_mfd: trace_threshold_proportion must be in [0, 1], "
            f"got {trace_threshold_proportion}"
        )
    fa = np.ascontiguousarray(flow_accumulation, dtype=np.float64)
    rows, cols = iterblock_shape(*fa.shape, largest_block=2**16)
    return _extract_streams_mfd(
        fa,
        np.ascontiguousarray(flow_dir_mfd, dtype=np.int32),
        float(threshold),
        trace_threshold_proportion * float(threshold),
        rows,
        cols,
    )


@numba.njit(cache=True)
def _weight(weights, r, c):  # pragma: no cover - numba
    """Weight as float64; NaN (nodata) counts 0 as in pygeoprocessing."""
    w = np.float64(weights[r, c])
    return 0.0 if math.isnan(w) else w


@numba.njit(cache=True)
def _distance_d8(fdir, channel, weights, steps, order):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    dist = np.full((n_rows, n_cols), np.nan)
    for r in range(n_rows):
        for c in range(n_cols):
            if channel[r, c]:
                dist[r, c] = 0.0
    for k in range(order.size - 1, -1, -1):
        p = order[k]
        r = p // n_cols
        c = p - r * n_cols
        if channel[r, c]:
            continue
        d = fdir[r, c]
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if 0 <= rn < n_rows and 0 <= cn < n_cols and not np.isnan(dist[rn, cn]):
            # pygeoprocessing: the pixel's own weight plus its receiver's distance
            dist[r, c] = _weight(weights, r, c) * steps[d] + dist[rn, cn]
    return dist


@numba.njit(cache=True)
def _distance_mfd(fdir, channel, weights, steps, own_weight, order):  # pragma: no cover
    n_rows, n_cols = fdir.shape
    dist = np.full((n_rows, n_cols), np.nan)
    for r in range(n_rows):
        for c in range(n_cols):
            if channel[r, c]:
                dist[r, c] = 0.0
    for k in range(order.size - 1, -1, -1):
        p = order[k]
        r = p // n_cols
        c = p - r * n_cols
        if channel[r, c]:
            continue
        total_weight = 0.0
        total = 0.0
        for d in range(8):
            flow = mfd_weight(fdir[r, c], d)
            if flow == 0:
                continue
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols or np.isnan(dist[rn, cn]):
                continue
            step = (_weight(weights, r, c) if own_weight else _weight(weights, rn, cn)) * steps[d]
            total_weight += flow
            total += flow * (step + dist[rn, cn])
        if total_weight != 0:
            dist[r, c] = total / total_weight
    return dist


def distance_to_channel(
    flow_dir: np.ndarray,
    channel: np.ndarray,
    algorithm: str,
    weights: np.ndarray | None = None,
    *,
    convention: str = "invest",
    cell_size: float = 1.0,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Flow-path distance from each pixel down to the nearest channel.

    ``convention="invest"`` reproduces ``pygeoprocessing.routing.distance_to_channel_d8``
    and ``distance_to_channel_mfd`` as InVEST SDR calls them: with ``weights`` given,
    D8 ``d_i = w_i + d_down`` (the pixel's own weight, no step length) and MFD
    ``d_i = Σ_n p(i,n)·(w_n + d_n) / Σ_n p(i,n)`` (the *neighbour's* weight) over the
    receivers ``n`` whose distance is defined; without weights the step length in pixels
    (1 or √2). Distances are then in "pixel" units.

    ``convention="metres"`` is Borselli et al. (2008): ``d_i`` is the step length in
    metres (``cell_size`` or √2·``cell_size``) times the pixel's *own* weight (``1/(W·S)``
    in the SDR), for D8 and MFD alike.

    Parameters
    ----------
    flow_dir : numpy.ndarray
        D8 codes or MFD packed weights.
    channel : numpy.ndarray of bool
        Channel (stream) pixels; their distance is 0.
    algorithm : {"d8", "mfd"}
        Which of the two ``flow_dir`` holds.
    weights : numpy.ndarray, optional
        Per-pixel weight; NaN counts as 0 (pygeoprocessing's nodata weight).
    convention : {"invest", "metres"}
        See above.
    cell_size : float
        Pixel edge, m (``convention="metres"`` only).
    order : numpy.ndarray, optional
        Pre-computed :func:`topological_order` of ``flow_dir``.

    Returns
    -------
    numpy.ndarray of float64
        Distance (pixel units or m × weight); NaN where no flow reaches a channel.

    References
    ----------
    Borselli L., Cassi P., Torri D. (2008) Prolegomena to sediment and flow connectivity in
    the landscape: a GIS and field numerical assessment. Catena 75, 268–277.
    pygeoprocessing 2.4.11, ``routing.distance_to_channel_d8`` / ``_mfd``.
    """
    algo = _algorithm(algorithm)
    if convention not in ("invest", "metres"):
        raise ValueError(
            f"distance_to_channel: convention must be 'invest' or 'metres', got {convention!r}"
        )
    fdir = np.ascontiguousarray(flow_dir)
    if order is None:
        order = topological_order(fdir, algo)
    metres = convention == "metres"
    if weights is None:
        w = np.ones(fdir.shape)
        steps = _UNIT_STEPS * (cell_size if metres else 1.0)
    else:
        w = np.ascontiguousarray(weights)
        if w.dtype not in (np.float32, np.float64):
            w = w.astype(np.float64)
        steps = _UNIT_STEPS * cell_size if metres else np.ones(8)
    chan = np.ascontiguousarray(channel, dtype=np.bool_)
    if algo == "d8":
        return _distance_d8(fdir, chan, w, steps, order)
    own = metres or weights is None
    return _distance_mfd(fdir, chan, w, steps, own, order)


def _algorithm(algorithm: str) -> str:
    algo = str(algorithm).lower()
    if algo not in ("d8", "mfd"):
        raise ValueError(f"flow direction algorithm must be 'd8' or 'mfd', got {algorithm!r}")
    return algo
