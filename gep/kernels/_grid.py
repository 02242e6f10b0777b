"""Neighbourhood conventions and small numba helpers shared by the routing kernels.

Directions follow pygeoprocessing (and therefore InVEST)::

    3 2 1
    4 x 0
    5 6 7

``ROW_OFFSETS[d]``/``COL_OFFSETS[d]`` step from a pixel to its neighbour in direction ``d``;
``INFLOW[d]`` is the direction from that neighbour back to the pixel. Odd directions are
diagonal.
"""

from __future__ import annotations

import numba
import numpy as np

ROW_OFFSETS = np.array([0, -1, -1, -1, 0, 1, 1, 1], dtype=np.int64)
COL_OFFSETS = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
INFLOW = np.array([4, 5, 6, 7, 0, 1, 2, 3], dtype=np.int64)

SQRT2 = 1.4142135623730951
SQRT2_INV = 1.0 / 1.4142135623730951

#: D8 flow direction code of a pixel without a direction (pygeoprocessing's nodata).
D8_NODATA = 128
#: MFD packed flow direction of a pixel without a direction (pygeoprocessing's nodata).
MFD_NODATA = 0
#: Stream raster codes (pygeoprocessing): 1 stream, 0 not a stream, 255 nodata.
STREAM_NODATA = 255

#: Tile edge of the GeoTIFFs pygeoprocessing writes; its scans visit pixels tile by tile.
TILE = 256


def iterblock_shape(
    n_rows: int, n_cols: int, *, largest_block: int = 0, tile: int = TILE
) -> tuple[int, int]:
    """Rows and columns of the blocks ``pygeoprocessing.iterblocks`` visits.

    pygeoprocessing's routing scans read its 256 × 256 tiled GeoTIFFs block by block (rows of
    blocks, then blocks left to right, then pixels row by row inside a block). Where a result
    depends on the scan order (plateau roots in flow direction, stream tracing) we scan in the
    same order. ``largest_block`` is the ``iterblocks`` argument (0 keeps the native tiles).

    Parameters
    ----------
    n_rows, n_cols : int
        Raster shape.
    largest_block : int
        ``iterblocks(largest_block=...)``: 0 for the routing kernels, 2**16 by default.
    tile : int
        Native tile edge (256 for pygeoprocessing's default GeoTIFF options).

    Returns
    -------
    tuple of int
        ``(block_rows, block_cols)``.
    """
    cols, rows = tile, tile
    area = cols * rows
    if largest_block // area > 0:
        cols = min(cols * (largest_block // area), n_cols)
        area = cols * rows
    if largest_block // area > 0:
        rows = min(rows * (largest_block // area), n_rows)
    return rows, cols


@numba.njit(cache=True)
def push(buf: np.ndarray, head: int, tail: int, value: int) -> tuple[np.ndarray, int, int]:
    """Append ``value`` to the FIFO ``buf[head:tail]``, growing or compacting it when full."""
    if tail == buf.size:
        live = tail - head
        if head >= buf.size // 2:
            buf[:live] = buf[head:tail]
        else:
            bigger = np.empty(max(2 * buf.size, 16), dtype=buf.dtype)
            bigger[:live] = buf[head:tail]
            buf = bigger
        head, tail = 0, live
    buf[tail] = value
    return buf, head, tail + 1


@numba.njit(cache=True)
def mfd_weight(packed: np.int32, direction: int) -> int:
    """4-bit flow weight (0–15) of an MFD packed direction towards ``direction``."""
    return int((np.int64(packed) >> (4 * direction)) & 0xF)


@numba.njit(cache=True)
def mfd_weight_sum(packed: np.int32) -> int:
    """Sum of the eight 4-bit flow weights of an MFD packed direction."""
    v = np.int64(packed)
    total = 0
    for d in range(8):
        total += int((v >> (4 * d)) & 0xF)
    return total


@numba.njit(cache=True)
def mfd_weight_sums(fdir: np.ndarray) -> np.ndarray:
    """Per-pixel sum of the eight 4-bit MFD flow weights (0 where there is no direction)."""
    out = np.zeros(fdir.shape, dtype=np.uint8)
    for i in range(fdir.size):
        out.flat[i] = mfd_weight_sum(fdir.flat[i])
    return out
