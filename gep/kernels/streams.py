"""Stream extraction on D8 and MFD flow (pygeoprocessing 2.4.11 ``extract_streams_d8``/``_mfd``).

Streams are 1, other valid pixels 0, nodata 255 (``STREAM_NODATA``).
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
