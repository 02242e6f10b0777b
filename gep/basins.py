"""Flow routing at scale: split the DEM into drainage basins, route each alone, stitch.

Depression filling, flow direction and flow accumulation are global: one pixel's result can
depend on pixels far away. A country at 30 m cannot be routed as one array (≈ 50 bytes per
pixel, ``PERFORMANCE.md``), so :func:`route_by_basin` decomposes it:

1. **Coarse basins.** The DEM is reduced by ``factor`` (minimum of each ``factor²`` block),
   pit-filled and routed with D8 on that coarse grid, and every coarse cell is labelled by the
   outlet it drains to. Each label, mapped back onto the fine pixels, is a candidate basin.
2. **Pieces.** Each basin is cut out (its bounding box, snapped to the 256-pixel blocks the
   kernels scan in, so plateau tie-breaking is unchanged), pixels of other basins set to
   nodata, and filled, routed and accumulated on its own; results are stitched back.
3. **Check and merge.** A basin boundary is a true drainage divide when every pixel on it
   drains *strictly* downhill into its own basin, more steeply than towards any pixel across
   the boundary. Where that fails (flow would cross, or a boundary pixel is a sink or a flat
   that the cut turned into an outlet), the basins on both sides are merged and the merged
   piece is routed again, until no boundary fails (at worst one piece: the whole raster).

What is exact. For **D8**, after step 3 the stitched pit-filled DEM, flow directions and
flow accumulation are identical to routing the whole raster at once: with every boundary
pixel draining strictly inwards, no boundary pixel is an outlet of its piece, each piece's
priority flood ends at the same outlets as the whole raster's (so the filled heights are the
same), every pixel picks the same steepest neighbour, and no flow crosses a boundary (so the
upslope areas are the same). ``tests/scale/test_basins.py`` checks this against the whole
raster on DEMs with pits, flats and basins that the coarse grid gets wrong.

What is approximate. **MFD** spreads each pixel's water over *every* lower neighbour, so a
divide between two basins is a band, not a line: pixels on it send a share of their water
both ways. Routed per basin (the same pieces), each boundary pixel keeps the whole of its
water in its own basin; accumulation differs from the whole-raster MFD by at most the
upslope area of the boundary pixels' cross-divide shares, and only downstream of them.
:func:`route_by_basin` with ``algorithm="mfd"`` reports that leak (the cross-boundary share
of flow at the boundaries, in pixels) so the caller can judge it; SDR's MFD totals change by
far less than the 5 % peer tolerance on the test DEMs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from gep.kernels import accumulation, fill, flowdir
from gep.kernels._grid import COL_OFFSETS, D8_NODATA, ROW_OFFSETS, SQRT2, TILE

#: A pixel changes piece at most this many times before its cut is merged instead.
MAX_MOVES = 3

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
        Check-and-merge rounds (1 when the coarse basins were already divides).
    boundary_pixels : int
        Pixels on boundaries between pieces.
    mfd_leak_px : float
        MFD only: flow (pixels of upslope area) the whole-raster MFD would send across the
        final boundaries; 0 for D8, which is exact.
    notes : list of str
        What was merged and why.
    """

    filled: np.ndarray
    flow_direction: np.ndarray
    flow_accumulation: np.ndarray
    pieces: np.ndarray
    n_pieces: int
    rounds: int
    boundary_pixels: int
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


@numba.njit(cache=True)
def _outlet_labels(fdir, order):  # pragma: no cover - numba
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
    labels, _ = _outlet_labels(fdir, order)
    fine = np.repeat(np.repeat(labels, factor, axis=0), factor, axis=1)
    fine = np.ascontiguousarray(fine[: dem.shape[0], : dem.shape[1]])
    fine[~valid] = -1
    return fine


# ----------------------------------------------------------------------------------------------
# the boundary check


@numba.njit(cache=True)
def _drops(filled, pieces, r, c, pid):  # pragma: no cover - numba
    """Steepest drop to a neighbour of piece ``pid``, to one of another piece, and that piece.

    Drops are per unit distance (diagonals ÷ √2); ``-inf`` when there is no such neighbour.
    """
    n_rows, n_cols = pieces.shape
    z = filled[r, c]
    s_in = -np.inf
    s_out = -np.inf
    other = -1
    for d in range(8):
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols:
            continue
        b = pieces[rn, cn]
        if b < 0:
            continue
        drop = z - filled[rn, cn]
        if d % 2 == 1:
            drop /= SQRT2
        if b == pid:
            s_in = max(s_in, drop)
        elif drop > s_out or other < 0:
            s_out = drop
            other = b
    return s_in, s_out, other


@numba.njit(cache=True)
def _failing_boundaries(filled, pieces, is_d8):  # pragma: no cover - numba
    """Pairs (piece, other piece) across which the cut changes the routing.

    A pixel with a neighbour in another piece passes when its steepest drop to a neighbour
    of its own piece is > 0 and larger than its drop to any neighbour across (D8), or when
    no neighbour across is lower or level (MFD: no share of water crosses). Returns the
    failing pairs and the number of boundary pixels.
    """
    n_rows, n_cols = filled.shape
    pairs = []
    n_boundary = 0
    for r in range(n_rows):
        for c in range(n_cols):
            a = pieces[r, c]
            if a < 0:
                continue
            s_in, s_out, other = _drops(filled, pieces, r, c, a)
            if other < 0:
                continue
            n_boundary += 1
            if is_d8:
                failed = not (s_in > 0.0 and s_in > s_out)
            else:
                failed = s_out >= 0.0 or not s_in > 0.0
            if failed:
                pairs.append((a, other))
    return pairs, n_boundary


@numba.njit(cache=True)
def _mfd_leak(filled, pieces, fa):  # pragma: no cover - numba
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


# ----------------------------------------------------------------------------------------------
# routing pieces


def _window(mask: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of ``mask`` snapped outwards to the 256-pixel scan blocks."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1 = (rows[0] // TILE) * TILE, min(-(-(rows[-1] + 1) // TILE) * TILE, mask.shape[0])
    c0, c1 = (cols[0] // TILE) * TILE, min(-(-(cols[-1] + 1) // TILE) * TILE, mask.shape[1])
    return slice(int(r0), int(r1)), slice(int(c0), int(c1))


def _route_piece(dem: np.ndarray, mask: np.ndarray, algorithm: str) -> dict:
    window = _window(mask)
    ok = np.ascontiguousarray(mask[window])
    z = np.where(ok, dem[window], np.nan)
    filled = fill.fill_pits(z, ok)
    if algorithm == "d8":
        fdir = flowdir.flow_dir_d8(filled, ok)
    else:
        fdir = flowdir.flow_dir_mfd(filled, ok)
    order = accumulation.topological_order(fdir, algorithm)
    fa = accumulation.flow_accumulation(fdir, algorithm, order=order)
    return {
        "window": window,
        "inside": ok,
        "filled": filled,
        "fdir": fdir,
        "fa": fa,
        "order": order,
    }


def _route_all(
    dem: np.ndarray, pieces: np.ndarray, ids: list[int], algorithm: str, out: Routing
) -> dict[int, dict]:
    routed = {}
    for pid in ids:
        piece = _route_piece(dem, pieces == pid, algorithm)
        window, inside = piece["window"], piece["inside"]
        out.filled[window][inside] = piece["filled"][inside]
        out.flow_direction[window][inside] = piece["fdir"][inside]
        out.flow_accumulation[window][inside] = piece["fa"][inside]
        routed[pid] = piece
    return routed


@numba.njit(cache=True)
def _crossings(pieces, filled, fdir, order, r0, c0, pid):  # pragma: no cover - numba
    """Piece each pixel of a piece really drains into, or -1 when it stays.

    A pixel whose steepest drop to a valid neighbour across the cut is > 0 and strictly
    steeper than any drop inside its piece (including outlets the cut created) drains across
    in the whole raster; so does everything upstream of it in its piece. Visited downstream
    first, each pixel inherits the answer of its receiver unless it crosses itself.
    """
    n_rows, n_cols = pieces.shape
    pr, pc = fdir.shape
    dest = np.full(fdir.size, -1, dtype=np.int32)
    for k in range(order.size - 1, -1, -1):
        p = order[k]
        lr = p // pc
        lc = p % pc
        r = r0 + lr
        c = c0 + lc
        s_in, s_out, target = _drops(filled, pieces, r, c, pid)
        if target >= 0 and s_out > 0.0 and s_out > s_in:
            dest[p] = target
            continue
        d = fdir[lr, lc]
        rn = lr + ROW_OFFSETS[d]
        cn = lc + COL_OFFSETS[d]
        if 0 <= rn < pr and 0 <= cn < pc and fdir[rn, cn] != D8_NODATA:
            dest[p] = dest[rn * pc + cn]
    return dest.reshape(fdir.shape)


def _reassign(
    pieces: np.ndarray, filled: np.ndarray, routed: dict[int, dict], moved: np.ndarray
) -> set[int]:
    """Move the pixels that drain across a cut (and their upslope area) to that piece.

    A pixel moves at most ``MAX_MOVES`` times (``moved``): a pit at the cut can otherwise make its
    catchment swing between two pieces as their fills change; such cuts are merged instead.
    """
    touched: set[int] = set()
    for pid, piece in routed.items():
        window = piece["window"]
        dest = _crossings(
            pieces,
            filled,
            piece["fdir"],
            piece["order"],
            window[0].start,
            window[1].start,
            pid,
        )
        move = (dest >= 0) & piece["inside"] & (moved[window] < MAX_MOVES)
        if not move.any():
            continue
        sub = pieces[window]
        sub[move] = dest[move]
        moved[window] += move
        touched.add(pid)
        touched.update(int(t) for t in np.unique(dest[move]))
    return touched


def _merge(pieces: np.ndarray, pairs: list[tuple[int, int]]) -> tuple[np.ndarray, list[int]]:
    """Union the failing pairs; return the new piece ids and the ids that changed."""
    parent = {int(p): int(p) for p in np.unique(pieces) if p >= 0}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    lut = np.arange(max(parent) + 1, dtype=np.int32)
    for p in parent:
        lut[p] = find(p)
    changed = sorted({find(int(a)) for a, _ in pairs})
    merged = np.where(pieces >= 0, lut[np.maximum(pieces, 0)], -1).astype(np.int32)
    return merged, changed


def route_by_basin(
    dem: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    algorithm: str = "d8",
    factor: int = COARSE_FACTOR,
    max_rounds: int = 50,
) -> Routing:
    """Fill, flow direction and accumulation, basin by basin, stitched (see module notes).

    Parameters
    ----------
    dem : numpy.ndarray
        Elevation, m (2-D; NaN is nodata).
    valid : numpy.ndarray of bool, optional
        Pixels to route (default: finite ``dem``).
    algorithm : {"d8", "mfd"}
        Flow directions. D8 is exact; MFD is approximate at basin boundaries
        (``mfd_leak_px``).
    factor : int
        Coarse-grid block edge used to find candidate basins.
    max_rounds : int
        Check-and-merge rounds before giving up and routing what is left as one piece.

    Returns
    -------
    Routing
        Stitched results and the decomposition.

    Examples
    --------
    A ridge down the middle: each half drains sideways off the raster, in two pieces:

    >>> z = np.add.outer(np.zeros(8), np.r_[np.arange(1, 5), np.arange(4, 0, -1)]).astype(float)
    >>> r = route_by_basin(z, factor=4)
    >>> int(np.nanmax(r.flow_accumulation)), r.n_pieces
    (4, 2)
    """
    algo = str(algorithm).lower()
    if algo not in ("d8", "mfd"):
        raise ValueError(f"route_by_basin: algorithm must be 'd8' or 'mfd', got {algorithm!r}")
    dem = np.asarray(dem, dtype=np.float64)
    ok = np.isfinite(dem) if valid is None else np.asarray(valid, dtype=bool) & np.isfinite(dem)
    pieces = coarse_basins(dem, ok, factor)
    fdir_dtype = np.uint8 if algo == "d8" else np.int32
    out = Routing(
        filled=np.full(dem.shape, np.nan),
        flow_direction=np.full(dem.shape, D8_NODATA if algo == "d8" else 0, dtype=fdir_dtype),
        flow_accumulation=np.full(dem.shape, np.nan),
        pieces=pieces,
        n_pieces=0,
        rounds=0,
        boundary_pixels=0,
    )
    todo = sorted(int(p) for p in np.unique(pieces) if p >= 0)
    frozen = np.zeros(dem.shape, dtype=np.uint8)
    for _ in range(max_rounds):
        out.rounds += 1
        routed = _route_all(dem, out.pieces, todo, "d8", out)
        moved = _reassign(out.pieces, out.filled, routed, frozen)
        if moved:  # catchments changed piece: route the pieces they left and joined again
            todo = sorted(p for p in moved if (out.pieces == p).any())
            out.notes.append(f"round {out.rounds}: catchments moved between {len(moved)} pieces")
            continue
        pairs, out.boundary_pixels = _failing_boundaries(out.filled, out.pieces, True)
        if not pairs:
            break
        out.pieces, todo = _merge(out.pieces, pairs)
        out.notes.append(f"round {out.rounds}: merged pieces across {len(pairs)} boundary pixels")
    else:
        out.pieces = np.where(ok, 0, -1).astype(np.int32)
        _route_all(dem, out.pieces, [0], "d8", out)
        out.notes.append(f"no divides after {max_rounds} rounds: routed as one piece")
    ids = sorted(int(p) for p in np.unique(out.pieces) if p >= 0)
    out.n_pieces = len(ids)
    if algo == "mfd":
        _route_all(dem, out.pieces, ids, "mfd", out)
        out.mfd_leak_px = float(_mfd_leak(out.filled, out.pieces, out.flow_accumulation))
    return out
