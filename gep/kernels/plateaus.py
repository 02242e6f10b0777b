"""Whether a window holds every plateau of a box, so its flow directions there are exact.

pygeoprocessing's flow directions (:mod:`gep.kernels.flowdir`) are local except on
plateaus: a pixel with no lower neighbour takes its direction from the whole flat it lies
on (the 8-connected pixels of the same height) and from that flat's one-pixel ring (its
drains, or the nodata and raster edges it touches). Computed on a window, the directions of
a box inside it are the whole raster's if every such flat meeting the box lies in the
window without touching a window edge that is not the raster's edge (the edge would read as
nodata), and if the window is cut on the 256-pixel scan blocks (same plateau roots and
tie-breaking). :func:`plateaus_escape` checks the first condition; callers grow the window
on the sides it names until it holds (:func:`gep.routing.tiled_flow.directions`).

References
----------
pygeoprocessing 2.4.11, ``routing.flow_dir_d8`` and ``flow_dir_mfd`` (plateau drains).
"""

from __future__ import annotations

import numba
import numpy as np

from gep.kernels._grid import COL_OFFSETS, ROW_OFFSETS, push
from gep.kernels.basins import is_flat


@numba.njit(cache=True)
def _mark_edges(r, c, n_rows, n_cols, open_edges, hit):  # pragma: no cover - numba
    """Set ``hit`` for each open window edge the pixel (r, c) lies on."""
    hit[0] |= r == 0 and open_edges[0]
    hit[1] |= r == n_rows - 1 and open_edges[1]
    hit[2] |= c == 0 and open_edges[2]
    hit[3] |= c == n_cols - 1 and open_edges[3]


@numba.njit(cache=True)
def _escapes(dem, valid, r0, r1, c0, c1, open_edges):  # pragma: no cover - numba
    n_rows, n_cols = dem.shape
    seen = np.zeros((n_rows, n_cols), dtype=np.uint8)
    queue = np.empty(64, dtype=np.int64)
    hit = np.zeros(4, dtype=np.bool_)
    for r in range(r0, r1):
        for c in range(c0, c1):
            # D8's test (drops × 1/√2 on diagonals): it finds every pixel MFD finds flat
            if seen[r, c] or not valid[r, c] or not is_flat(dem, valid, r, c):
                continue
            height = dem[r, c]
            seen[r, c] = 1
            queue, head, tail = push(queue, 0, 0, r * n_cols + c)
            while head < tail:
                q = queue[head]
                head += 1
                qr = q // n_cols
                qc = q - qr * n_cols
                _mark_edges(qr, qc, n_rows, n_cols, open_edges, hit)
                for d in range(8):
                    rn = qr + ROW_OFFSETS[d]
                    cn = qc + COL_OFFSETS[d]
                    if not (0 <= rn < n_rows and 0 <= cn < n_cols) or seen[rn, cn]:
                        continue
                    if valid[rn, cn] and dem[rn, cn] == height:
                        seen[rn, cn] = 1
                        queue, head, tail = push(queue, head, tail, rn * n_cols + cn)
    return hit


def plateaus_escape(
    dem: np.ndarray,
    valid: np.ndarray,
    box: tuple[slice, slice],
    open_edges: tuple[bool, bool, bool, bool],
) -> tuple[bool, bool, bool, bool]:
    """Which open edges of the window the flats of the pixels of ``box`` reach.

    The flats searched are those of the pixels of ``box`` with no lower neighbour.

    Parameters
    ----------
    dem : numpy.ndarray of float64
        Filled elevation of the window, m.
    valid : numpy.ndarray of bool
        Routed pixels of the window.
    box : (slice, slice)
        The pixels whose directions are wanted, inside the window (steps 1).
    open_edges : (bool, bool, bool, bool)
        Top, bottom, left, right edge of the window lies inside the raster (the pixels
        beyond it are unknown, not nodata).

    Returns
    -------
    tuple of bool
        Top, bottom, left, right: a flat touches that (open) edge, so the window must grow
        on that side.

    Examples
    --------
    >>> import numpy as np
    >>> dem = np.array([[2.0, 1.0, 1.0, 1.0]])
    >>> ok = np.ones(dem.shape, dtype=bool)
    >>> plateaus_escape(dem, ok, (slice(0, 1), slice(1, 2)), (False, False, True, True))
    (False, False, False, True)
    >>> plateaus_escape(dem, ok, (slice(0, 1), slice(1, 2)), (False, False, False, False))
    (False, False, False, False)
    """
    rows, cols = box
    hit = _escapes(
        np.ascontiguousarray(dem, dtype=np.float64),
        np.ascontiguousarray(valid, dtype=np.bool_),
        rows.start,
        rows.stop,
        cols.start,
        cols.stop,
        np.array(open_edges, dtype=np.bool_),
    )
    return (bool(hit[0]), bool(hit[1]), bool(hit[2]), bool(hit[3]))
