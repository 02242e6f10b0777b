"""Kernels of the tiled priority-flood depression filling (Barnes 2016).

A tile is flooded on its own, seeded from every perimeter pixel (each its own label) and from
every pixel that drains off the raster or into nodata (label 0, the "ocean"); the flood
records, for each pair of labels that touch, the lowest height at which they meet (the spill
graph). The drivers are in :mod:`gep.routing.tiled_fill`; this module holds the numba code only.

Tiles are read with a one-pixel halo (``zp``, ``vp``: shape ``(h + 2, w + 2)``, invalid
off the raster) so that a pixel knows whether it drains (a neighbour off the raster or
nodata, as in :func:`gep.kernels.fill.fill_pits`) and which pixels of the neighbouring tiles
it touches.

Node ids of the spill graph: 0 is the ocean; perimeter pixel ``k`` of tile ``t`` (perimeter
pixels numbered in row-major order, see :func:`perimeter_index`) is ``base[t] + 1 + k``.

References
----------
Barnes R., Lehman C., Mulla D. (2014) Priority-flood: an optimal depression-filling and
watershed-labeling algorithm for digital elevation models. Computers & Geosciences 62,
117–127.
Barnes R. (2016) Parallel priority-flood depression filling for trillion cell digital
elevation models on desktops or clusters. Computers & Geosciences 96, 56–68.
"""

from __future__ import annotations

import numba
import numpy as np

from gep.kernels._grid import COL_OFFSETS, ROW_OFFSETS
from gep.kernels.fill import _heap_pop, _heap_push


@numba.njit(cache=True)
def perimeter_count(h, w):  # pragma: no cover - numba
    """Number of perimeter pixels of an ``h × w`` tile."""
    if h <= 2 or w <= 2:
        return h * w
    return 2 * w + 2 * (h - 2)


@numba.njit(cache=True)
def perimeter_index(r, c, h, w):  # pragma: no cover - numba
    """Row-major rank of perimeter pixel ``(r, c)`` among the perimeter pixels of its tile."""
    if h <= 2 or w <= 2:
        return r * w + c
    if r == 0:
        return c
    if r == h - 1:
        return w + 2 * (h - 2) + c
    return w + 2 * (r - 1) + (0 if c == 0 else 1)


@numba.njit(cache=True)
def _is_perimeter(r, c, h, w):  # pragma: no cover - numba
    return r == 0 or c == 0 or r == h - 1 or c == w - 1


@numba.njit(cache=True)
def _node_of(gr, gc, tile_h, tile_w, n_rows, n_cols, base):  # pragma: no cover - numba
    """Spill-graph node of the perimeter pixel at global ``(gr, gc)``."""
    tr = gr // tile_h
    tc = gc // tile_w
    n_tc = (n_cols + tile_w - 1) // tile_w
    h = min(tile_h, n_rows - tr * tile_h)
    w = min(tile_w, n_cols - tc * tile_w)
    return base[tr * n_tc + tc] + 1 + perimeter_index(gr - tr * tile_h, gc - tc * tile_w, h, w)


@numba.njit(cache=True)
def _emit(eu, ev, ew, n, u, v, wgt):  # pragma: no cover - numba
    """Append edge ``(u, v, wgt)`` (``u < v``) at ``n``, doubling the buffers when full."""
    if n == eu.size:
        eu2 = np.empty(2 * eu.size, dtype=eu.dtype)
        ev2 = np.empty(2 * ev.size, dtype=ev.dtype)
        ew2 = np.empty(2 * ew.size, dtype=ew.dtype)
        eu2[:n] = eu
        ev2[:n] = ev
        ew2[:n] = ew
        eu, ev, ew = eu2, ev2, ew2
    if u < v:
        eu[n] = u
        ev[n] = v
    else:
        eu[n] = v
        ev[n] = u
    ew[n] = wgt
    return eu, ev, ew, n + 1


@numba.njit(cache=True)
def _drains(vp, r, c):  # pragma: no cover - numba
    """Tile pixel ``(r, c)`` has a neighbour off the raster or nodata (padded arrays)."""
    for d in range(8):
        if not vp[r + 1 + ROW_OFFSETS[d], c + 1 + COL_OFFSETS[d]]:
            return True
    return False


@numba.njit(cache=True)
def _seed(zp, vp, perim_level, level, label, closed, keys, vals):  # pragma: no cover - numba
    """Label the perimeter pixels and the interior drains and put them on the heap."""
    h, w = level.shape
    size = 0
    for r in range(h):
        for c in range(w):
            if not vp[r + 1, c + 1]:
                continue
            p = r * w + c
            if _is_perimeter(r, c, h, w):
                k = perimeter_index(r, c, h, w)
                label[r, c] = 1 + k
                level[r, c] = perim_level[k]
            elif _drains(vp, r, c):
                label[r, c] = 0
                level[r, c] = zp[r + 1, c + 1]
            else:
                continue
            closed[p] = True
            size = _heap_push(keys, vals, size, level[r, c], p)
    return size


@numba.njit(cache=True)
def flood_tile(zp, vp, perim_level, node0, collect):  # pragma: no cover - numba
    """Priority-flood one tile from its perimeter and its drains, labelling the pixels.

    Parameters
    ----------
    zp, vp : numpy.ndarray
        Padded elevation (float64) and validity (bool), shape ``(h + 2, w + 2)``.
    perim_level : numpy.ndarray
        Starting level of each perimeter pixel (row-major rank): its elevation in the first
        pass, its resolved spill height in a recomputing last pass.
    node0 : int
        Spill-graph node of label 1 minus 1 (``base[t]``); label ``L > 0`` is node
        ``node0 + L``, label 0 the ocean.
    collect : bool
        Record the spill edges between labels that touch inside the tile.

    Returns
    -------
    level : numpy.ndarray
        Filled height inside the tile (NaN where invalid).
    label : numpy.ndarray of int32
        Flood label of each pixel (-1 where invalid).
    eu, ev, ew : numpy.ndarray
        ``n`` spill edges ``(node, node, height)`` (not deduplicated).
    n : int
        Number of edges.
    """
    h = zp.shape[0] - 2
    w = zp.shape[1] - 2
    n_px = h * w
    level = np.full((h, w), np.nan)
    label = np.full((h, w), -1, dtype=np.int32)
    closed = np.zeros(n_px, dtype=np.bool_)
    keys = np.empty(n_px, dtype=np.float64)
    vals = np.empty(n_px, dtype=np.int64)
    pit = np.empty(n_px, dtype=np.int64)
    cap = 64 if collect else 1
    eu = np.empty(cap, dtype=np.int64)
    ev = np.empty(cap, dtype=np.int64)
    ew = np.empty(cap, dtype=np.float64)
    n = 0
    size = _seed(zp, vp, perim_level, level, label, closed, keys, vals)
    head = 0
    tail = 0
    while size > 0 or head < tail:
        if head < tail:
            p = pit[head]
            head += 1
        else:
            p, size = _heap_pop(keys, vals, size)
        r = p // w
        c = p - r * w
        lev = level[r, c]
        lab = label[r, c]
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if rn < 0 or rn >= h or cn < 0 or cn >= w or not vp[rn + 1, cn + 1]:
                continue
            q = rn * w + cn
            if closed[q]:
                other = label[rn, cn]
                if collect and other != lab:
                    u = 0 if lab == 0 else node0 + lab
                    v = 0 if other == 0 else node0 + other
                    eu, ev, ew, n = _emit(eu, ev, ew, n, u, v, max(lev, level[rn, cn]))
                continue
            closed[q] = True
            label[rn, cn] = lab
            z = zp[rn + 1, cn + 1]
            if z <= lev:
                level[rn, cn] = lev
                pit[tail] = q
                tail += 1
            else:
                level[rn, cn] = z
                size = _heap_push(keys, vals, size, z, q)
    return level, label, eu[:n], ev[:n], ew[:n], n


@numba.njit(cache=True)
def boundary_edges(zp, vp, r0, c0, tile_h, tile_w, n_rows, n_cols, base):  # pragma: no cover
    """Spill edges from a tile's perimeter to the ocean and to the neighbouring tiles.

    A perimeter pixel that drains gets an edge to the ocean at its own height; a perimeter
    pixel next to a valid pixel of another tile gets an edge to that pixel's node at the
    higher of the two heights (each such pair is emitted once, by the lower node id).
    """
    h = zp.shape[0] - 2
    w = zp.shape[1] - 2
    t = (r0 // tile_h) * ((n_cols + tile_w - 1) // tile_w) + c0 // tile_w
    eu = np.empty(64, dtype=np.int64)
    ev = np.empty(64, dtype=np.int64)
    ew = np.empty(64, dtype=np.float64)
    n = 0
    for r in range(h):
        for c in range(w):
            if not _is_perimeter(r, c, h, w) or not vp[r + 1, c + 1]:
                continue
            me = base[t] + 1 + perimeter_index(r, c, h, w)
            z = zp[r + 1, c + 1]
            if _drains(vp, r, c):
                eu, ev, ew, n = _emit(eu, ev, ew, n, 0, me, z)
            for d in range(8):
                rn = r + ROW_OFFSETS[d]
                cn = c + COL_OFFSETS[d]
                if 0 <= rn < h and 0 <= cn < w:
                    continue
                if not vp[rn + 1, cn + 1]:
                    continue
                other = _node_of(r0 + rn, c0 + cn, tile_h, tile_w, n_rows, n_cols, base)
                if other > me:
                    eu, ev, ew, n = _emit(eu, ev, ew, n, me, other, max(z, zp[rn + 1, cn + 1]))
    return eu[:n], ev[:n], ew[:n]


@numba.njit(cache=True)
def solve_spill(n_nodes, indptr, nbr, wgt):  # pragma: no cover - numba
    """Lowest height at which each node's water reaches the ocean (node 0).

    A priority flood (minimax Dijkstra) over the spill graph in CSR form: the spill height of
    a node is the least, over paths to the ocean, of the highest edge on the path.
    """
    spill = np.full(n_nodes, np.inf)
    spill[0] = -np.inf
    done = np.zeros(n_nodes, dtype=np.bool_)
    cap = max(nbr.size + 1, 1)
    keys = np.empty(cap, dtype=np.float64)
    vals = np.empty(cap, dtype=np.int64)
    size = _heap_push(keys, vals, 0, -np.inf, 0)
    while size > 0:
        u, size = _heap_pop(keys, vals, size)
        if done[u]:
            continue
        done[u] = True
        su = spill[u]
        for k in range(indptr[u], indptr[u + 1]):
            v = nbr[k]
            cand = max(su, wgt[k])
            if cand < spill[v]:
                spill[v] = cand
                size = _heap_push(keys, vals, size, cand, v)
    return spill
