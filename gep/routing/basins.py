"""Flow routing at scale: fill the DEM exactly by tiles, split it into catchments, stitch.

Depression filling, flow direction and flow accumulation are global: one pixel's result can
depend on pixels far away. A country at 30 m cannot be routed as one array (≈ 50 bytes per
pixel, ``PERFORMANCE.md``), so :func:`route_by_basin` decomposes it:

1. **Exact fill by tiles.** The DEM is pit-filled with :func:`gep.routing.tiled_fill.fill_pits_tiled`
   (Barnes 2016), which gives the whole-raster filled DEM bit for bit while holding one tile
   and the tile perimeters at a time. Every later step works on this filled surface, so a cut
   never creates a false sink or outlet (the earlier per-piece refill did, and on real-like
   DEMs every cut then failed the checks and the pieces merged into one).
2. **Coarse basins.** The filled DEM is reduced by ``factor`` (minimum of each ``factor²``
   block), routed with D8 on that coarse grid, and every coarse cell is labelled by the outlet
   it drains to. Each label, mapped back onto the fine pixels, is a first piece.
3. **Route each piece with its context.** A piece is routed in a window holding its own
   pixels, a one-pixel ring around them and every *flat* its pixels belong to, whole, with its
   own ring (a flat is a set of 8-connected pixels of equal filled height reached from a pixel
   with no lower neighbour: what pygeoprocessing's plateau search visits). The window is
   snapped to the 256-pixel blocks the kernels scan in, so plateau roots and tie-breaking are
   unchanged. Every own pixel then sees exactly the neighbourhood it has in the whole raster,
   and its D8 direction is the whole-raster one. Directions of the context pixels are dropped
   before accumulating.
4. **Move catchments to where they drain.** An own pixel whose direction points into another
   piece, and everything upstream of it in its piece, moves to that piece; the pieces that
   lost or gained pixels are routed again, until nothing moves. Because the directions are
   exact, a pixel only ever follows its real flow path: after ``k`` rounds every pixel whose
   path crosses at most ``k`` cuts sits in the piece of its outlet; nothing oscillates and no
   piece needs merging.

What is exact. For **D8**, at the end every piece is a union of whole catchments (closed
upstream and downstream), its own pixels carry the whole-raster directions and no flow
crosses a cut, so the stitched filled DEM, flow directions and flow accumulation are
identical to routing the whole raster at once. ``tests/scale/test_basins.py`` checks this on
DEMs with pits, flats, nodata and coarse basins that are wrong, and on the 256² benchmark-like
DEM. The limit is hydrological, not numerical: a piece cannot be smaller than the largest
catchment it holds (41 % of the pixels of the 2000² benchmark DEM drain to one outlet).

What is approximate. **MFD** spreads each pixel's water over *every* lower neighbour, so a
divide between two catchments is a band, not a line: pixels on it send a share of their water
both ways. Routed per piece (the D8 pieces, own pixels only), each boundary pixel keeps the
whole of its water in its own piece; accumulation differs from the whole-raster MFD by at
most the upslope area of the boundary pixels' cross-divide shares, and only downstream of
them. :func:`route_by_basin` with ``algorithm="mfd"`` reports that leak (the cross-boundary
share of flow at the boundaries, in pixels) so the caller can judge it; the filled DEM is
exact in both cases.

Memory. Steps 1 and 3 hold a tile or a piece's window at a time; this function still keeps
the stitched outputs (and the filled DEM, piece and flat labels) as whole in-memory arrays.
Streaming those through memmaps is the next step for rasters larger than memory.

References
----------
Barnes R. (2016) Parallel priority-flood depression filling for trillion cell digital
elevation models on desktops or clusters. Computers & Geosciences 96, 56–68.
O'Callaghan J.F., Mark D.M. (1984) The extraction of drainage networks from digital
elevation data. Computer Vision, Graphics and Image Processing 28, 323–344.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from gep.kernels import accumulation, fill, flowdir
from gep.kernels import basins as basin_kernels
from gep.kernels._grid import D8_NODATA, TILE
from gep.routing.tiled_fill import FILL_TILE, fill_pits_tiled

#: Default coarsening factor of the basin grid.
COARSE_FACTOR = 64


@dataclass
class Routing:
    """Stitched routing of a DEM and how it was decomposed.

    Attributes
    ----------
    filled : numpy.ndarray
        Pit-filled elevation (m, float64), NaN outside the valid pixels.
    flow_direction : numpy.ndarray
        D8 codes (uint8, 128 nodata) or MFD packed weights (int32, 0 nodata).
    flow_accumulation : numpy.ndarray
        Upslope area in pixels (float64), NaN outside the valid pixels.
    pieces : numpy.ndarray
        Piece id of every pixel (int32, -1 outside the valid pixels).
    n_pieces : int
        Pieces routed in the final decomposition.
    rounds : int
        Routing rounds (1 when the coarse basins were already unions of catchments).
    boundary_pixels : int
        Pixels with a neighbour in another piece.
    largest_piece_px : int
        Pixels of the largest piece (what bounds the memory of step 3).
    context_px : int
        Pixels routed as context (rings and flats of other pieces) in the last round of
        each piece, summed over pieces: the overhead of the decomposition.
    mfd_leak_px : float
        MFD only: flow (pixels of upslope area) the whole-raster MFD would send across the
        final boundaries; 0 for D8, which is exact.
    notes : list of str
        What moved between pieces, and when.
    """

    filled: np.ndarray
    flow_direction: np.ndarray
    flow_accumulation: np.ndarray
    pieces: np.ndarray
    n_pieces: int
    rounds: int
    boundary_pixels: int
    largest_piece_px: int = 0
    context_px: int = 0
    mfd_leak_px: float = 0.0
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# coarse basins


def _coarse_dem(dem: np.ndarray, valid: np.ndarray, factor: int) -> np.ndarray:
    """Minimum of the valid pixels of each ``factor × factor`` block (NaN if none)."""
    rows, cols = dem.shape
    pr, pc = -rows % factor, -cols % factor
    z = np.where(valid, dem, np.nan)
    z = np.pad(z, ((0, pr), (0, pc)), constant_values=np.nan)
    blocks = z.reshape(z.shape[0] // factor, factor, z.shape[1] // factor, factor)
    finite = np.isfinite(blocks).any(axis=(1, 3))
    out = np.full(finite.shape, np.nan)
    out[finite] = np.nanmin(np.where(np.isfinite(blocks), blocks, np.inf), axis=(1, 3))[finite]
    return out


def coarse_basins(dem: np.ndarray, valid: np.ndarray, factor: int = COARSE_FACTOR) -> np.ndarray:
    """Candidate basins: outlets of the D8 routing of the block-minimum DEM, per fine pixel.

    Parameters
    ----------
    dem : numpy.ndarray
        Elevation, m (NaN is nodata).
    valid : numpy.ndarray of bool
        Pixels to route.
    factor : int
        Block edge of the coarse grid, pixels.

    Returns
    -------
    numpy.ndarray of int32
        Basin label of each pixel (-1 outside ``valid``).
    """
    coarse = _coarse_dem(dem, valid, factor)
    ok = np.isfinite(coarse)
    filled = fill.fill_pits(coarse, ok)
    fdir = flowdir.flow_dir_d8(filled, ok)
    order = accumulation.topological_order(fdir, "d8")
    labels, _ = basin_kernels.outlet_labels(fdir, order)
    fine = np.repeat(np.repeat(labels, factor, axis=0), factor, axis=1)
    fine = np.ascontiguousarray(fine[: dem.shape[0], : dem.shape[1]])
    fine[~valid] = -1
    return fine


# ----------------------------------------------------------------------------------------------
# routing pieces


@dataclass
class _Surface:
    """The filled DEM and what the piece windows are cut from."""

    filled: np.ndarray
    valid: np.ndarray
    flats: np.ndarray
    flat_boxes: np.ndarray


def _snap(box: np.ndarray, shape: tuple[int, int]) -> tuple[slice, slice]:
    """A box grown by one pixel and snapped outwards to the 256-pixel scan blocks."""
    r0, r1 = max(int(box[0]) - 1, 0), min(int(box[1]) + 1, shape[0])
    c0, c1 = max(int(box[2]) - 1, 0), min(int(box[3]) + 1, shape[1])
    r0, c0 = (r0 // TILE) * TILE, (c0 // TILE) * TILE
    r1, c1 = min(-(-r1 // TILE) * TILE, shape[0]), min(-(-c1 // TILE) * TILE, shape[1])
    return slice(r0, r1), slice(c0, c1)


def _context(
    surface: _Surface, pieces: np.ndarray, pid: int, box: np.ndarray
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """Window, own pixels and routed pixels (own + ring + their flats + ring) of a piece."""
    window = _snap(box, pieces.shape)
    flats = np.unique(surface.flats[window][pieces[window] == pid])
    flats = flats[flats > 0]
    if flats.size:
        grown = np.concatenate([box[None, :], surface.flat_boxes[flats]])
        box = np.array([grown[:, 0].min(), grown[:, 1].max(), grown[:, 2].min(), grown[:, 3].max()])
        window = _snap(box, pieces.shape)
    own = pieces[window] == pid
    core = own | np.isin(surface.flats[window], flats) if flats.size else own
    routed = ndimage.binary_dilation(core, structure=np.ones((3, 3), bool))
    routed &= surface.valid[window]
    return window, own, routed


def _route_piece(
    surface: _Surface, pieces: np.ndarray, pid: int, box: np.ndarray, algorithm: str
) -> dict:
    if algorithm == "d8":
        window, own, routed = _context(surface, pieces, pid, box)
        z = np.where(routed, surface.filled[window], np.nan)
        fdir = flowdir.flow_dir_d8(z, routed)
        fdir[~own] = D8_NODATA
    else:  # MFD: own pixels only, so boundary pixels keep their water (see module notes)
        window = _snap(box, pieces.shape)
        own = routed = pieces[window] == pid
        fdir = flowdir.flow_dir_mfd(np.where(own, surface.filled[window], np.nan), own)
    order = accumulation.topological_order(fdir, algorithm)
    fa = accumulation.flow_accumulation(fdir, algorithm, order=order)
    return {
        "window": window,
        "own": own,
        "fdir": fdir,
        "fa": fa,
        "order": order,
        "context": int(routed.sum() - own.sum()),
    }


def _route_all(
    surface: _Surface, pieces: np.ndarray, ids: list[int], algorithm: str, out: Routing
) -> dict[int, dict]:
    boxes = basin_kernels.boxes(pieces, int(pieces.max()) + 1)
    routed = {}
    for pid in ids:
        piece = _route_piece(surface, pieces, pid, boxes[pid], algorithm)
        window, own = piece["window"], piece["own"]
        out.flow_direction[window][own] = piece["fdir"][own]
        out.flow_accumulation[window][own] = piece["fa"][own]
        routed[pid] = piece
    return routed


def _move(pieces: np.ndarray, routed: dict[int, dict]) -> set[int]:
    """Move the pixels that drain across a cut (and their upslope area) to that piece."""
    touched: set[int] = set()
    for pid, piece in routed.items():
        window = piece["window"]
        dest = basin_kernels.destinations(
            pieces, piece["fdir"], piece["order"], window[0].start, window[1].start, pid
        )
        move = (dest >= 0) & piece["own"]
        if not move.any():
            continue
        pieces[window][move] = dest[move]
        touched.add(pid)
        touched.update(int(t) for t in np.unique(dest[move]))
    return touched


def _surface(dem: np.ndarray, ok: np.ndarray, fill_tile: int) -> _Surface:
    filled = fill_pits_tiled(dem, ok, tile=fill_tile).filled
    flats, n_flats = basin_kernels.flat_components(filled, ok)
    boxes = basin_kernels.boxes(flats, n_flats + 1)
    return _Surface(filled=filled, valid=ok, flats=flats, flat_boxes=boxes)


def route_by_basin(
    dem: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    algorithm: str = "d8",
    factor: int = COARSE_FACTOR,
    max_rounds: int = 50,
    fill_tile: int = FILL_TILE,
) -> Routing:
    """Fill, flow direction and accumulation, catchment by catchment, stitched (module notes).

    Parameters
    ----------
    dem : numpy.ndarray
        Elevation, m (2-D; NaN is nodata).
    valid : numpy.ndarray of bool, optional
        Pixels to route (default: finite ``dem``).
    algorithm : {"d8", "mfd"}
        Flow directions. D8 is exact; MFD is approximate at piece boundaries
        (``mfd_leak_px``).
    factor : int
        Coarse-grid block edge used to find the first pieces (more pieces when smaller).
    max_rounds : int
        Routing rounds before giving up and routing what is left as one piece.
    fill_tile : int
        Tile edge of the exact tiled depression filling.

    Returns
    -------
    Routing
        Stitched results and the decomposition.

    Examples
    --------
    A ridge down the middle: every row drains sideways off the raster, so each of the four
    4 × 4 coarse cells is already a union of whole catchments and stays a piece (the
    1 m edge columns are flats cut by the pieces, routed whole as context):

    >>> z = np.add.outer(np.zeros(8), np.r_[np.arange(1, 5), np.arange(4, 0, -1)]).astype(float)
    >>> r = route_by_basin(z, factor=4)
    >>> int(np.nanmax(r.flow_accumulation)), r.n_pieces, r.rounds
    (4, 4, 1)
    """
    algo = str(algorithm).lower()
    if algo not in ("d8", "mfd"):
        raise ValueError(f"route_by_basin: algorithm must be 'd8' or 'mfd', got {algorithm!r}")
    dem = np.asarray(dem, dtype=np.float64)
    ok = np.isfinite(dem) if valid is None else np.asarray(valid, dtype=bool) & np.isfinite(dem)
    ok = np.ascontiguousarray(ok)
    surface = _surface(dem, ok, fill_tile)
    out = Routing(
        filled=surface.filled,
        flow_direction=np.full(dem.shape, D8_NODATA if algo == "d8" else 0, dtype=np.uint8),
        flow_accumulation=np.full(dem.shape, np.nan),
        pieces=coarse_basins(surface.filled, ok, factor),
        n_pieces=0,
        rounds=0,
        boundary_pixels=0,
    )
    _settle(surface, out, max_rounds)
    ids = sorted(int(p) for p in np.unique(out.pieces) if p >= 0)
    sizes = np.bincount(out.pieces[ok])
    out.n_pieces = len(ids)
    out.largest_piece_px = int(sizes.max()) if sizes.size else 0
    out.boundary_pixels = int(basin_kernels.boundary_pixels(out.pieces))
    if algo == "mfd":
        out.flow_direction = np.zeros(dem.shape, dtype=np.int32)
        _route_all(surface, out.pieces, ids, "mfd", out)
        out.mfd_leak_px = float(
            basin_kernels.mfd_leak(out.filled, out.pieces, out.flow_accumulation)
        )
    return out


def _settle(surface: _Surface, out: Routing, max_rounds: int) -> None:
    """Route and move catchments until every piece is a union of whole catchments."""
    todo = sorted(int(p) for p in np.unique(out.pieces) if p >= 0)
    context: dict[int, int] = {}
    for _ in range(max_rounds):
        out.rounds += 1
        routed = _route_all(surface, out.pieces, todo, "d8", out)
        context.update({pid: piece["context"] for pid, piece in routed.items()})
        moved = _move(out.pieces, routed)
        if not moved:
            break
        todo = sorted(p for p in moved if (out.pieces == p).any())
        out.notes.append(f"round {out.rounds}: catchments moved between {len(moved)} pieces")
    else:
        out.pieces = np.where(surface.valid, 0, -1).astype(np.int32)
        context = {0: _route_all(surface, out.pieces, [0], "d8", out)[0]["context"]}
        out.notes.append(f"pieces did not settle in {max_rounds} rounds: routed as one piece")
    alive = set(np.unique(out.pieces[surface.valid]).tolist())
    out.context_px = sum(v for k, v in context.items() if k in alive)
