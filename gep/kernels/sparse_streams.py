"""MFD streams traced on candidate pixels only (pygeoprocessing 2.4.11 ``extract_streams_mfd``).

:func:`gep.kernels.streams.extract_streams_mfd` holds whole-grid arrays (the stream raster
and two queues of one slot per pixel), too much for rasters of hundreds of millions of
pixels. Only a *candidate* pixel, one with ``FA >= min(threshold, trace)`` (``trace =
trace_threshold_proportion·threshold``), can ever be a stream (1) or a provisional stream
(2); every other pixel ends 0 (finite FA) or 255 (NaN FA). :func:`extract_streams_mfd_sparse`
replays the dense scan on the candidates alone, in the same order, so the streams agree bit
for bit, with memory proportional to the number of candidates:

- the scan visits the candidates block by block (``iterblock_shape(..., largest_block=2**16)``
  blocks, row-major; pixels row-major inside a block), as the dense kernel visits pixels;
- a candidate already traced (1 or 2) is skipped; one with ``FA >= threshold`` that is an
  outlet becomes 1 and the network is traced upstream from it (breadth first, donors in
  direction order 0..7, then a backtrace turning provisional pixels downstream of every new
  stream pixel into streams), exactly as the dense kernel;
- a neighbour is looked up by binary search in the sorted candidate indices (within the
  candidates of its row, from a table of one entry per row): a pixel not among them is not
  a candidate, and the dense kernel would leave it unchanged.

Memory: the inputs (21 bytes a candidate, 14 with FA given as levels), a state byte, the
parts of two queues a trace uses and one row of blocks' scan order, plus 8 bytes per row;
nothing per pixel of the grid.

Whether a candidate is an outlet (it sends flow off the raster or into a NaN-FA pixel) needs
its neighbours, so the caller computes it (:func:`candidates` does it on dense arrays).
"""

from __future__ import annotations

import numba
import numpy as np

from gep.kernels._grid import (
    COL_OFFSETS,
    INFLOW,
    ROW_OFFSETS,
    STREAM_NODATA,
    iterblock_shape,
    mfd_weight,
)
from gep.kernels.streams import _mfd_is_outlet

#: Direction code of the neighbour at row offset ``dr`` and column offset ``dc``:
#: ``_DIRECTION[dr + 1, dc + 1]`` (-1 for the pixel itself): ``[[3, 2, 1], [4, -1, 0], [5, 6, 7]]``.
_DIRECTION = np.full((3, 3), -1, dtype=np.int64)
_DIRECTION[ROW_OFFSETS + 1, COL_OFFSETS + 1] = np.arange(8)


@numba.njit(cache=True)
def _neighbours(index, row_start, p, dims, out):  # pragma: no cover - numba
    """Positions in ``index`` of the 8 neighbours of the candidate at ``p`` (-1: none).

    ``out[d]`` is the neighbour in direction ``d``. The row above and the row below are
    each searched once, among the candidates of that row only (``row_start[r]`` is the
    position of the first candidate of row ``r`` or later); the neighbours on the row are
    the adjacent positions, when they hold the adjacent pixels.
    """
    n_rows, n_cols = dims
    flat = index[p]
    r = flat // n_cols
    c = flat - r * n_cols
    for d in range(8):
        out[d] = -1
    if c > 0 and p > 0 and index[p - 1] == flat - 1:
        out[4] = p - 1
    if c < n_cols - 1 and p + 1 < index.size and index[p + 1] == flat + 1:
        out[0] = p + 1
    for dr in (-1, 1):
        rn = r + dr
        if rn < 0 or rn >= n_rows:
            continue
        lo = row_start[rn]
        hi = row_start[rn + 1]
        above = rn * n_cols + c  # the pixel straight above or below
        # candidates of row rn only: columns -1 and n_cols fall outside [lo, hi)
        i = lo + np.searchsorted(index[lo:hi], above - 1)
        while i < hi and index[i] <= above + 1:
            out[_DIRECTION[dr + 1, index[i] - above + 1]] = i
            i += 1


@numba.njit(cache=True)
def _backtrace(index, row_start, fdir, state, start, dims, queue, nb):  # pragma: no cover
    """Turn the provisional (2) candidates downstream of ``start`` into streams (1)."""
    head, tail = 0, 1
    queue[0] = start
    while head < tail:
        p = queue[head]
        head += 1
        _neighbours(index, row_start, p, dims, nb)
        for d in range(8):
            if mfd_weight(fdir[p], d) > 0:
                q = nb[d]
                if q >= 0 and state[q] == 2:
                    state[q] = 1
                    queue[tail] = q
                    tail += 1


@numba.njit(cache=True)
def _trace_upstream(
    index, row_start, fa, fdir, state, start, threshold, trace, dims, queue, back
):  # pragma: no cover
    """Trace the network upstream of the candidate at ``start`` (breadth first)."""
    nb = np.empty(8, dtype=np.int64)
    nb_back = np.empty(8, dtype=np.int64)
    head, tail = 0, 1
    queue[0] = start
    while head < tail:
        p = queue[head]
        head += 1
        _neighbours(index, row_start, p, dims, nb)
        for d in range(8):
            q = nb[d]
            if q < 0 or fdir[q] == 0:  # not a candidate: the dense kernel leaves it alone
                continue
            if mfd_weight(fdir[q], INFLOW[d]) == 0:
                continue
            value = state[q]
            if value == 1 or value == 2:
                continue
            if fa[q] >= threshold:
                state[q] = 1
                queue[tail] = q
                tail += 1
                _backtrace(index, row_start, fdir, state, q, dims, back, nb_back)
            elif fa[q] >= trace:
                state[q] = 2
                queue[tail] = q
                tail += 1


@numba.njit(cache=True)
def _block_row_order(index, lo, hi, n_cols, block_rows, block_cols):  # pragma: no cover
    """Positions ``lo..hi`` (one row of blocks) in the dense scan's order: blocks, then pixels."""
    key = np.empty(hi - lo, dtype=np.int64)
    for i in range(lo, hi):
        r = index[i] // n_cols
        c = index[i] - r * n_cols
        block_c = c // block_cols
        key[i - lo] = (block_c * block_rows + r % block_rows) * block_cols + (
            c - block_c * block_cols
        )
    return lo + np.argsort(key, kind="mergesort")


@numba.njit(cache=True)
def _extract_streams_mfd_sparse(
    index, fa, fdir, outlet, dims, threshold, trace, block_rows, block_cols
):  # pragma: no cover - numba
    n = index.size
    state = np.zeros(n, dtype=np.uint8)  # 0 (or never visited), 1 stream, 2 provisional
    # queues: only the slots a trace uses are ever touched (the pages of the rest stay free)
    queue = np.empty(n + 1, dtype=np.int64)
    back = np.empty(n + 1, dtype=np.int64)
    # first candidate of each row: neighbours are searched within one row (O(rows) memory)
    row_start = np.searchsorted(index, np.arange(dims[0] + 1, dtype=np.int64) * dims[1])
    for r0 in range(0, dims[0], block_rows):  # one row of blocks at a time: its own order
        lo, hi = row_start[r0], row_start[min(r0 + block_rows, dims[0])]
        for p in _block_row_order(index, lo, hi, dims[1], block_rows, block_cols):
            if state[p] != 0:  # given a state by a trace: the dense scan skips it
                continue
            if not fa[p] >= threshold or not outlet[p]:  # NaN FA: never a start
                continue
            state[p] = 1
            _trace_upstream(
                index, row_start, fa, fdir, state, p, threshold, trace, dims, queue, back
            )
    return index[state == 1]


def extract_streams_mfd_sparse(
    index: np.ndarray,
    fa: np.ndarray,
    fdir: np.ndarray,
    outlet: np.ndarray,
    shape: tuple[int, int],
    threshold: float,
    *,
    trace_threshold_proportion: float = 1.0,
) -> np.ndarray:
    """MFD streams from the candidate pixels alone, as ``pygeoprocessing.extract_streams_mfd``.

    Same result as :func:`gep.kernels.streams.extract_streams_mfd` on the whole grid (same
    scan order, same tracing rules, so the visit-order dependent corner cases agree too),
    with memory proportional to the number of candidates rather than to the grid.

    Parameters
    ----------
    index : numpy.ndarray of int64
        Flat (row-major over ``shape``) indices of the candidate pixels, sorted ascending
        and unique. It must hold every pixel with ``FA >= min(threshold, trace)``
        (``trace = trace_threshold_proportion·threshold``); other pixels may be included
        (they never become streams) but cost memory and time.
    fa : numpy.ndarray of float64 (or float32, uint8)
        MFD flow accumulation of the candidates, pixels; only compared with ``threshold``
        and the trace threshold, so any code that orders the same way serves (e.g. uint8
        2 where ``FA >= threshold``, 1 where ``FA >=`` the trace threshold, with
        ``threshold=2`` and ``trace_threshold_proportion=0.5``: 1 byte a candidate).
    fdir : numpy.ndarray of int32
        MFD packed directions of the candidates (0: none).
    outlet : numpy.ndarray of bool
        Whether each candidate sends flow off the raster or into a NaN-FA pixel (the dense
        kernel's ``_mfd_is_outlet`` on the whole grid; see :func:`candidates`). Only
        candidates with ``FA >= threshold`` are tested.
    shape : tuple of int
        ``(n_rows, n_cols)`` of the whole grid.
    threshold : float
        Threshold flow accumulation, pixels.
    trace_threshold_proportion : float
        Proportion of ``threshold`` enough to continue a traced stream, in [0, 1].

    Returns
    -------
    numpy.ndarray of int64
        Sorted flat indices of the stream pixels (1); every other pixel is 0 where its FA
        is finite and 255 where it is NaN (see :func:`streams_from_sparse`).

    References
    ----------
    pygeoprocessing 2.4.11, ``routing.extract_streams_mfd``.
    """
    if not 0.0 <= trace_threshold_proportion <= 1.0:
        raise ValueError(
            "extract_streams_mfd_sparse: trace_threshold_proportion must be in [0, 1], "
            f"got {trace_threshold_proportion}"
        )
    n_rows, n_cols = (int(s) for s in shape)
    idx = np.ascontiguousarray(index, dtype=np.int64)
    fa64 = np.ascontiguousarray(fa)
    if fa64.dtype not in (np.float64, np.float32, np.uint8):
        fa64 = fa64.astype(np.float64)
    fdir32 = np.ascontiguousarray(fdir, dtype=np.int32)
    out = np.ascontiguousarray(outlet, dtype=np.bool_)
    if idx.ndim != 1 or not idx.size == fa64.size == fdir32.size == out.size:
        raise ValueError(
            "extract_streams_mfd_sparse: index, fa, fdir and outlet must be 1-D of one "
            f"length, got {idx.shape}, {fa64.shape}, {fdir32.shape}, {out.shape}"
        )
    if idx.size and (idx[0] < 0 or idx[-1] >= n_rows * n_cols or np.any(idx[1:] <= idx[:-1])):
        raise ValueError(
            "extract_streams_mfd_sparse: index must be sorted, unique flat indices "
            f"within a grid of shape {(n_rows, n_cols)}"
        )
    rows, cols = iterblock_shape(n_rows, n_cols, largest_block=2**16)
    return _extract_streams_mfd_sparse(
        idx,
        fa64.ravel(),
        fdir32.ravel(),
        out.ravel(),
        (n_rows, n_cols),
        float(threshold),
        trace_threshold_proportion * float(threshold),
        rows,
        cols,
    )


@numba.njit(cache=True)
def _outlets(fa, fdir, index):  # pragma: no cover - numba
    n_cols = fa.shape[1]
    out = np.zeros(index.size, dtype=np.bool_)
    for i in range(index.size):
        r = index[i] // n_cols
        out[i] = _mfd_is_outlet(fa, fdir, r, index[i] - r * n_cols)
    return out


def candidates(
    flow_accumulation: np.ndarray,
    flow_dir_mfd: np.ndarray,
    threshold: float,
    trace_threshold_proportion: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pixels of a dense grid, the inputs of :func:`extract_streams_mfd_sparse`.

    A candidate has ``FA >= min(threshold, trace_threshold_proportion·threshold)`` (the
    trace threshold for any threshold >= 0; NaN FA never). A pixel without a direction but
    with a finite FA is a candidate if its FA is large enough; it is never an outlet nor a
    donor, so it ends 0.

    Parameters
    ----------
    flow_accumulation : numpy.ndarray
        MFD flow accumulation, pixels. NaN is nodata.
    flow_dir_mfd : numpy.ndarray of int32
        MFD packed directions.
    threshold : float
        Threshold flow accumulation, pixels.
    trace_threshold_proportion : float
        Proportion of ``threshold`` enough to continue a traced stream.

    Returns
    -------
    tuple of numpy.ndarray
        ``(index, fa, fdir, outlet)``: sorted flat indices (int64), their FA (float64),
        their directions (int32), and whether each sends flow off the raster or into a
        NaN-FA pixel (bool, the dense kernel's outlet test without its ``FA >= threshold``
        part).

    References
    ----------
    pygeoprocessing 2.4.11, ``routing.extract_streams_mfd``.
    """
    fa = np.ascontiguousarray(flow_accumulation, dtype=np.float64)
    fdir = np.ascontiguousarray(flow_dir_mfd, dtype=np.int32)
    if fa.ndim != 2 or fa.shape != fdir.shape:
        raise ValueError(
            f"candidates: FA and directions must be 2-D of one shape, got {fa.shape}, {fdir.shape}"
        )
    low = min(float(threshold), trace_threshold_proportion * float(threshold))
    index = np.flatnonzero(fa >= low).astype(np.int64)  # NaN >= x is False
    return index, fa.ravel()[index], fdir.ravel()[index], _outlets(fa, fdir, index)


def streams_from_sparse(stream_index: np.ndarray, flow_accumulation: np.ndarray) -> np.ndarray:
    """Dense stream raster from the stream pixels of :func:`extract_streams_mfd_sparse`.

    Parameters
    ----------
    stream_index : numpy.ndarray of int64
        Flat indices of the stream pixels.
    flow_accumulation : numpy.ndarray
        Flow accumulation of the whole grid (its shape and nodata). NaN is nodata.

    Returns
    -------
    numpy.ndarray of uint8
        1 stream, 0 not a stream, 255 nodata, as
        :func:`gep.kernels.streams.extract_streams_mfd`.
    """
    fa = np.asarray(flow_accumulation, dtype=np.float64)
    out = np.where(np.isnan(fa), np.uint8(STREAM_NODATA), np.uint8(0)).astype(np.uint8)
    out.flat[np.asarray(stream_index, dtype=np.int64)] = 1
    return out
