"""Flow passes by tiles: the whole raster's results, holding a tile and its ring at a time.

The flow passes of the SDR (accumulation, S̄ and W̄, distance to channel, deposition) are
*pull* passes: each pixel's value is a fixed function of its own inputs and of the values of
its donors (or, for the distance, its receivers), taken in the fixed neighbour order
0..7 (:mod:`gep.kernels.accumulation`). The value therefore does not depend on the order
in which pixels are visited, only on the neighbours' values. A tile can be solved on its
own, in a local topological order, from its one-pixel ring holding the neighbours' values;
when a tile's border values change, the tiles beside it are solved again. Because the flow
graph has no cycle, this settles (Gauss–Seidel over tiles), and once settled every pixel
has been computed from its neighbours' final values by the whole-raster formula: the
results equal the whole-raster kernels' to the bit (``tests/scale/test_tiled_flow.py``).
Tiles are taken highest first for downstream passes and lowest first for upstream ones; a
tile is solved again only when a border pixel that flows into it (or, upstream, that it
flows into) changed; a tile solved :data:`JOINT_AFTER` times is solved together with the
tiles that changed it (a river along a tile border). Most tiles are solved once.

Memory: one tile (and its ring) of each array a pass reads, plus the border lines of every
tile (directions and the pass's values: a few bytes per pixel of tile perimeter). The
arrays live in :class:`~gep.routing.scratch.Scratch` files tiled like the passes.

Flow directions are local except on plateaus (:mod:`gep.kernels.plateaus`): each tile is
computed on a window grown by 256-pixel blocks, on the sides its plateaus reach, until it
holds them whole (:func:`directions`).

References
----------
Barnes R. (2017) Parallel non-divergent flow accumulation for trillion cell digital
elevation models on desktops or clusters. Environmental Modelling & Software 92, 202–212
(tiles with perimeter exchange; here solved by repeated tile passes, which also serves
MFD's divergent flow). pygeoprocessing 2.4.11, ``routing`` (the per-pixel formulas).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gep.kernels import accumulation, flowdir
from gep.kernels._grid import COL_OFFSETS, D8_NODATA, ROW_OFFSETS, TILE
from gep.kernels.plateaus import plateaus_escape
from gep.routing.scratch import Scratch, ScratchArray

log = logging.getLogger(__name__)

Tile = tuple[int, int]
#: (tile, neighbour tile).
Link = tuple[Tile, Tile]
#: A rectangle of tiles: first and end (exclusive) tile rows, then tile columns.
Block = tuple[int, int, int, int]

#: Solutions of a pass, as a multiple of its tiles, after which it is stopped as an error
#: (a flow graph without cycles settles long before).
MAX_SOLUTIONS_PER_TILE = 64

#: Solutions of a tile after which it is solved together with the tiles that keep changing
#: its ring (a river along a tile border crosses it again and again: solved jointly, once).
JOINT_AFTER = 2

#: Neighbour tiles (row step, column step) in the order of :meth:`Edges.put`'s flags.
_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


@dataclass(frozen=True)
class Tiling:
    """Square tiles of ``edge`` pixels over a grid of ``shape`` (edge tiles smaller)."""

    shape: tuple[int, int]
    edge: int

    @property
    def counts(self) -> tuple[int, int]:
        """Tiles down and across."""
        return -(-self.shape[0] // self.edge), -(-self.shape[1] // self.edge)

    def tiles(self) -> list[Tile]:
        """Every tile, row-major."""
        n_i, n_j = self.counts
        return [(i, j) for i in range(n_i) for j in range(n_j)]

    def window(self, tile: Tile | Block) -> tuple[slice, slice]:
        """The pixels of a tile or of a block of tiles."""
        i0, i1, j0, j1 = _block(tile)
        e = self.edge
        return (
            slice(i0 * e, min(i1 * e, self.shape[0])),
            slice(j0 * e, min(j1 * e, self.shape[1])),
        )

    def padded(self, tile: Tile | Block) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
        """The tile (block) grown by one pixel inside the grid, and the tile in that window."""
        rows, cols = self.window(tile)
        r0, c0 = max(rows.start - 1, 0), max(cols.start - 1, 0)
        r1, c1 = min(rows.stop + 1, self.shape[0]), min(cols.stop + 1, self.shape[1])
        inner = (slice(rows.start - r0, rows.stop - r0), slice(cols.start - c0, cols.stop - c0))
        return (slice(r0, r1), slice(c0, c1)), inner

    def neighbour(self, tile: Tile, step: tuple[int, int]) -> Tile | None:
        """The tile ``step`` away, or None off the grid."""
        i, j = tile[0] + step[0], tile[1] + step[1]
        n_i, n_j = self.counts
        return (i, j) if 0 <= i < n_i and 0 <= j < n_j else None


def _block(tile: Tile | Block) -> Block:
    return (tile[0], tile[0] + 1, tile[1], tile[1] + 1) if len(tile) == 2 else tile  # type: ignore[return-value]


@dataclass
class Edges:
    """The border lines (top, bottom rows; left, right columns) of a per-tile array."""

    tiling: Tiling
    dtype: Any
    missing: Any
    lines: dict[Tile, tuple[np.ndarray, ...]] = field(default_factory=dict)

    def put(self, tile: Tile, values: np.ndarray) -> np.ndarray:
        """Keep ``values``' border lines; which of their pixels changed (concatenated lines)."""
        new = (values[0].copy(), values[-1].copy(), values[:, 0].copy(), values[:, -1].copy())
        old = self.lines.get(tile)
        self.lines[tile] = new
        if old is None:
            return np.ones(sum(a.size for a in new), dtype=bool)
        before, after = np.concatenate(old), np.concatenate(new)
        width = before.dtype.itemsize
        return (before.view(f"V{width}") != after.view(f"V{width}")).astype(bool)

    def put_block(self, block: Block, values: np.ndarray) -> list[tuple[Tile, Tile, np.ndarray]]:
        """:meth:`put` for every tile of a block (``values`` the block's).

        Returns (tile, neighbour outside the block, the tile's changed border pixels) for
        every tile whose border changed.
        """
        i0, i1, j0, j1 = block
        r0, c0 = i0 * self.tiling.edge, j0 * self.tiling.edge
        out = []
        for i in range(i0, i1):
            for j in range(j0, j1):
                rows, cols = self.tiling.window((i, j))
                part = values[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0]
                changed = self.put((i, j), part)
                if not changed.any():
                    continue
                for step in _NEIGHBOURS:
                    other = self.tiling.neighbour((i, j), step)
                    if other is not None and not (i0 <= other[0] < i1 and j0 <= other[1] < j1):
                        out.append(((i, j), other, changed))
        return out

    def ring(self, tile: Tile | Block, center: np.ndarray | None) -> np.ndarray:
        """``center`` (a tile's or block's values; None: missing) in a ring of the neighbours' lines."""
        i0, i1, j0, j1 = _block(tile)
        tiling = self.tiling
        (rows, cols), (ir, ic) = tiling.padded(tile)
        out = np.empty((rows.stop - rows.start, cols.stop - cols.start), self.dtype)
        out[ir, ic] = self.missing if center is None else center
        top, bottom = ir.start == 1, ir.stop < out.shape[0]
        left, right = ic.start == 1, ic.stop < out.shape[1]
        line = self._line
        for j in range(j0, j1):  # the rows above and below, tile by tile
            cs = tiling.window((i0, j))[1]
            span = slice(cs.start - cols.start, cs.stop - cols.start)
            if top:
                out[0, span] = line((i0 - 1, j), 1, slice(None))
            if bottom:
                out[-1, span] = line((i1, j), 0, slice(None))
        for i in range(i0, i1):  # the columns left and right
            rs = tiling.window((i, j0))[0]
            span = slice(rs.start - rows.start, rs.stop - rows.start)
            if left:
                out[span, 0] = line((i, j0 - 1), 3, slice(None))
            if right:
                out[span, -1] = line((i, j1), 2, slice(None))
        self._corners((i0, i1, j0, j1), out, (top, bottom, left, right))
        return out

    def _corners(self, block: Block, out: np.ndarray, sides: tuple[bool, ...]) -> None:
        i0, i1, j0, j1 = block
        top, bottom, left, right = sides
        if top and left:
            out[0, 0] = self._line((i0 - 1, j0 - 1), 1, -1)
        if top and right:
            out[0, -1] = self._line((i0 - 1, j1), 1, 0)
        if bottom and left:
            out[-1, 0] = self._line((i1, j0 - 1), 0, -1)
        if bottom and right:
            out[-1, -1] = self._line((i1, j1), 0, 0)

    def _line(self, tile: Tile, which: int, part: Any) -> Any:
        lines = self.lines.get(tile)
        return self.missing if lines is None else lines[which][part]

    @classmethod
    def of(cls, array: ScratchArray, tiling: Tiling, missing: Any) -> Edges:
        """The border lines of every tile of ``array`` (one read per tile)."""
        edges = cls(tiling, array.dtype, missing)
        for tile in tiling.tiles():
            edges.put(tile, array[tiling.window(tile)])
        return edges


#: ``solve(window, fdir, order, inner, ring)`` of :meth:`TiledDirections.propagate`.
Solve = Callable[
    [tuple[slice, slice], np.ndarray, np.ndarray, tuple[slice, slice], np.ndarray], np.ndarray
]


@dataclass
class TiledDirections:
    """Flow directions by tiles: a scratch array, its border lines and each tile's height."""

    tiling: Tiling
    algorithm: str
    fdir: ScratchArray
    edges: Edges
    #: highest filled elevation of each tile (m; -inf where it has none): the pass order
    height: dict[Tile, float]
    #: (tile, neighbour) → the tile's border pixels sending flow to the neighbour
    sends: dict[Link, np.ndarray]
    #: (tile, neighbour) → the tile's border pixels receiving flow from the neighbour
    receives: dict[Link, np.ndarray]

    @property
    def nodata(self) -> int:
        """The direction code of a pixel without direction."""
        return D8_NODATA if self.algorithm == "d8" else 0

    def padded(self, tile: Tile | Block) -> tuple[np.ndarray, np.ndarray, tuple[slice, slice]]:
        """Directions of a tile (block) and its ring; its topological order in that window.

        The order lists the tile's pixels with a direction, each after its donors in the
        tile (the ring's are read as they are); flat indices in the padded window. Each
        tile's (block's) order is computed once and kept in the scratch folder for the
        later passes.
        """
        (_, _), inner = self.tiling.padded(tile)
        center = self.fdir[self.tiling.window(tile)]
        fdir = self.edges.ring(tile, center)
        i0, i1, j0, j1 = _block(tile)
        path = self.fdir.scratch.path / f"order-{i0}-{i1}-{j0}-{j1}.npy"
        if path.exists():
            return fdir, np.load(path), inner
        own = np.full(fdir.shape, self.nodata, dtype=fdir.dtype)
        own[inner] = center
        order = accumulation.topological_order(own, self.algorithm)
        np.save(path, order)
        return fdir, order, inner

    def propagate(self, solve: Solve, carried: Edges, *, downstream: bool, label: str) -> int:
        """Solve every tile until the carried values settle (module notes).

        ``solve(window, fdir, order, inner, ring)`` computes the pixels of ``window`` (a
        tile or a block of tiles) from its padded directions, order and the carried values
        of its ring (``ring``: the padded window, the window's own pixels missing), stores
        what it produces and returns the window's carried values. A tile solved
        :data:`JOINT_AFTER` times is solved with the tiles that changed its ring since.
        Returns the number of solutions.
        """
        sign = -1.0 if downstream else 1.0
        heap = [(sign * self.height[t], t) for t in self.tiling.tiles()]
        heapq.heapify(heap)
        queued = {t for _, t in heap}
        count = dict.fromkeys(queued, 0)
        callers: dict[Tile, set[Tile]] = {t: set() for t in queued}
        limit = MAX_SOLUTIONS_PER_TILE * len(heap)
        solved = 0
        while heap:
            _, tile = heapq.heappop(heap)
            if tile not in queued:  # solved meanwhile in a block
                continue
            members = {tile} | (callers[tile] if count[tile] >= JOINT_AFTER else set())
            block = (
                min(t[0] for t in members),
                max(t[0] for t in members) + 1,
                min(t[1] for t in members),
                max(t[1] for t in members) + 1,
            )
            inside = [(i, j) for i in range(block[0], block[1]) for j in range(block[2], block[3])]
            for t in inside:
                queued.discard(t)
                callers[t] = set()
                count[t] += 1
            window = self.tiling.window(block)
            fdir, order, inner = self.padded(block)
            values = solve(window, fdir, order, inner, carried.ring(block, None))
            solved += 1
            if solved > limit:
                raise RuntimeError(f"{label}: tiles did not settle (a cycle in the flow graph?)")
            for source, other, changed in carried.put_block(block, values):
                feeds = self.sends if downstream else self.receives
                mask = feeds.get((source, other))
                if mask is None or not (mask & changed).any():
                    continue
                callers[other].update(inside)
                if other not in queued:
                    queued.add(other)
                    heapq.heappush(heap, (sign * self.height[other], other))
        log.info("%s: %d solutions of %d tiles", label, solved, len(self.height))
        return solved


def directions(
    filled: ScratchArray,
    valid: ScratchArray,
    algorithm: str,
    scratch: Scratch,
    tiling: Tiling,
) -> TiledDirections:
    """D8 or MFD flow directions of a filled DEM, tile by tile, equal to the whole raster's.

    Each tile is computed on a window grown by 256-pixel scan blocks
    (:data:`gep.kernels._grid.TILE`), the margin doubled on each side a plateau of the tile
    reaches until every plateau lies inside it (:func:`gep.kernels.plateaus.plateaus_escape`).

    Parameters
    ----------
    filled, valid : ScratchArray
        Pit-filled elevation (m, NaN outside ``valid``) and the routed pixels.
    algorithm : {"d8", "mfd"}
        Flow direction algorithm.
    scratch : Scratch
        Where the directions are stored (``fdir``).
    tiling : Tiling
        The tiles; ``edge`` a multiple of 256.
    """
    if tiling.edge % TILE:
        raise ValueError(f"directions: the tile edge must be a multiple of {TILE}")
    algo = accumulation.check_algorithm(algorithm)
    dtype = np.uint8 if algo == "d8" else np.int32
    fdir = scratch.create("fdir", tiling.shape, dtype)
    edges = Edges(tiling, dtype, D8_NODATA if algo == "d8" else 0)
    height: dict[Tile, float] = {}
    for tile in tiling.tiles():
        values, own = _tile_directions(filled, valid, algo, tiling, tile)
        fdir[tiling.window(tile)] = values
        edges.put(tile, values)
        height[tile] = float(np.nanmax(own)) if np.isfinite(own).any() else -np.inf
    sends, receives = _links(edges, algo)
    return TiledDirections(tiling, algo, fdir, edges, height, sends, receives)


def _border(tiling: Tiling, tile: Tile) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a tile's border lines, concatenated as :meth:`Edges.put` keeps them."""
    rows, cols = tiling.window(tile)
    h, w = rows.stop - rows.start, cols.stop - cols.start
    r = np.concatenate(
        [
            np.full(w, rows.start),
            np.full(w, rows.stop - 1),
            np.arange(rows.start, rows.stop),
            np.arange(rows.start, rows.stop),
        ]
    )
    c = np.concatenate(
        [
            np.arange(cols.start, cols.stop),
            np.arange(cols.start, cols.stop),
            np.full(h, cols.start),
            np.full(h, cols.stop - 1),
        ]
    )
    return r, c


def _links(edges: Edges, algo: str) -> tuple[dict[Link, np.ndarray], dict[Link, np.ndarray]]:
    """Which border pixels of each tile send flow to, and receive flow from, each neighbour.

    Returns ``sends[(tile, other)]`` and ``receives[(tile, other)]``: boolean masks over the
    tile's concatenated border lines.
    """
    tiling = edges.tiling
    width = tiling.shape[1]
    border = {t: _border(tiling, t) for t in edges.lines}
    sends: dict[Link, np.ndarray] = {}
    receives: dict[Link, np.ndarray] = {}
    for tile, lines in edges.lines.items():
        r, c = border[tile]
        v = np.concatenate(lines).astype(np.int64)
        for d in range(8):
            flows = v == d if algo == "d8" else ((v >> (4 * d)) & 0xF) > 0
            rn, cn = r + ROW_OFFSETS[d], c + COL_OFFSETS[d]
            flows &= (rn >= 0) & (rn < tiling.shape[0]) & (cn >= 0) & (cn < width)
            ti, tj = rn // tiling.edge, cn // tiling.edge
            flows &= (ti != tile[0]) | (tj != tile[1])
            for other in set(zip(ti[flows].tolist(), tj[flows].tolist(), strict=True)):
                into = flows & (ti == other[0]) & (tj == other[1])
                mask = sends.setdefault((tile, other), np.zeros(v.size, dtype=bool))
                mask |= into
                orr, orc = border[other]
                hit = np.isin(orr * width + orc, rn[into] * width + cn[into])
                back = receives.setdefault((other, tile), np.zeros(orr.size, dtype=bool))
                back |= hit
    return sends, receives


def _tile_directions(
    filled: ScratchArray, valid: ScratchArray, algo: str, tiling: Tiling, tile: Tile
) -> tuple[np.ndarray, np.ndarray]:
    """A tile's directions and filled DEM (see :func:`directions`).

    The tile is computed on a window grown by 256 pixels on every side inside the raster,
    and on each side a flat of the tile reaches, the margin on that side doubles until none
    does: memory of the tile and of its flats, never of whole rows.
    """
    rows, cols = tiling.window(tile)
    n_rows, n_cols = tiling.shape
    margins = [TILE] * 4  # top, bottom, left, right
    while True:
        r0, r1 = max(rows.start - margins[0], 0), min(rows.stop + margins[1], n_rows)
        c0, c1 = max(cols.start - margins[2], 0), min(cols.stop + margins[3], n_cols)
        ok = valid[r0:r1, c0:c1]
        dem = np.where(ok, filled[r0:r1, c0:c1], np.nan)
        box = (slice(rows.start - r0, rows.stop - r0), slice(cols.start - c0, cols.stop - c0))
        open_edges = (r0 > 0, r1 < n_rows, c0 > 0, c1 < n_cols)
        reached = plateaus_escape(dem, ok, box, open_edges) if any(open_edges) else (False,) * 4
        if not any(reached):
            break
        margins = [m * 2 if grow else m for m, grow in zip(margins, reached, strict=True)]
    kernel = flowdir.flow_dir_d8 if algo == "d8" else flowdir.flow_dir_mfd
    return np.ascontiguousarray(kernel(dem, ok)[box]), dem[box]
