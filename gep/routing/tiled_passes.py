"""The SDR's flow passes by tiles, equal to the whole-raster kernels to the bit.

Each function runs one pass of :mod:`gep.kernels` over a
:class:`~gep.routing.tiled_flow.TiledDirections`, reading its inputs and writing its result
tile by tile in scratch arrays tiled like the passes (module notes of
:mod:`gep.routing.tiled_flow`):

* :func:`accumulate` — (weighted) flow accumulation, ``FA_i = w_i + Σ_j p(j,i)·FA_j``;
* :func:`streams` — D8 ``FA > threshold``, or MFD streams traced from the outlets over the
  sparse set of pixels that can be streams (:mod:`gep.kernels.sparse_streams`);
* :func:`distance` — InVEST's D_dn, pulled from the receivers (an upstream pass);
* :func:`deposition` — InVEST's sediment deposition, with the flux carried between tiles.

References
----------
pygeoprocessing 2.4.11 ``routing`` and natcap.invest 3.20.2 ``sdr`` (the formulas, see the
kernels); Barnes R. (2017) Environmental Modelling & Software 92, 202–212 (tiles).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from gep.kernels import accumulation, sparse_streams
from gep.kernels import deposition as deposition_kernels
from gep.kernels import distance as distance_kernels
from gep.kernels import streams as stream_kernels
from gep.kernels._grid import STREAM_NODATA
from gep.routing.scratch import ScratchArray
from gep.routing.tiled_flow import Block, Edges, TiledDirections, Tiling

#: ``weight(window)`` → the per-pixel weights of a tile (float32 as the whole-grid pass).
Weight = Callable[[tuple[slice, slice]], np.ndarray]
Window = tuple[slice, slice]


def _tiles(tiling: Tiling, window: Window) -> Block:
    """The block of tiles whose pixels are ``window`` (a tile or block window)."""
    e = tiling.edge
    rows, cols = window
    return rows.start // e, -(-rows.stop // e), cols.start // e, -(-cols.stop // e)


def accumulate(routing: TiledDirections, weight: Weight | None, out: ScratchArray) -> Edges:
    """Flow accumulation of ``weight`` (1 when None) into ``out`` (float64); its border lines.

    :func:`gep.kernels.accumulation.flow_accumulation` by tiles: NaN where there is no
    direction, NaN weights count 0.
    """
    tiling = routing.tiling
    carried = Edges(tiling, np.float64, np.nan)

    def solve(
        window: Window, fdir: np.ndarray, order: np.ndarray, inner: Window, acc: np.ndarray
    ) -> np.ndarray:
        weights = None
        if weight is not None:
            weights = np.zeros(acc.shape, dtype=np.float32)
            weights[inner] = weight(window)
        accumulation.accumulate_into(fdir, routing.algorithm, weights, order, acc)
        values = acc[inner]
        out[window] = values
        return values

    routing.propagate(solve, carried, downstream=True, label="flow accumulation")
    return carried


def streams(
    routing: TiledDirections,
    fa: ScratchArray,
    fa_edges: Edges,
    threshold: float,
    out: ScratchArray,
    *,
    trace_threshold_proportion: float = 0.7,
) -> None:
    """Streams (uint8: 1, 0, 255 nodata) of :func:`gep.kernels.streams` into ``out``.

    D8: ``FA > threshold`` per tile. MFD: the pixels with ``FA`` at least the trace threshold
    are gathered with their directions and whether they are outlets (read on the tile's
    ring), and traced in pygeoprocessing's scan order by
    :func:`gep.kernels.sparse_streams.extract_streams_mfd_sparse`.
    """
    tiling = routing.tiling
    if routing.algorithm == "d8":
        for tile in tiling.tiles():
            window = tiling.window(tile)
            out[window] = stream_kernels.extract_streams_d8(fa[window], threshold)
        return
    if not 0.0 <= trace_threshold_proportion <= 1.0:  # as the dense kernel: the levels need it
        raise ValueError(
            "streams: trace_threshold_proportion must be in [0, 1], "
            f"got {trace_threshold_proportion}"
        )
    parts = _candidates_by_band(routing, fa, fa_edges, threshold, trace_threshold_proportion)
    total = sum(n for _, n in parts)
    index = np.empty(total, dtype=np.int64)
    level = np.empty(total, dtype=np.uint8)
    fdir_c = np.empty(total, dtype=np.int32)
    outlet = np.empty(total, dtype=bool)
    start = 0
    for path, n in parts:  # read back into the arrays: no second copy of all candidates
        with np.load(path) as band:
            for name, target in (
                ("index", index),
                ("level", level),
                ("fdir", fdir_c),
                ("outlet", outlet),
            ):
                target[start : start + n] = band[name]
        path.unlink()
        start += n
    # FA as levels (2: >= threshold, 1: >= trace): 1 byte a candidate, the same comparisons
    stream = sparse_streams.extract_streams_mfd_sparse(
        index, level, fdir_c, outlet, tiling.shape, 2.0, trace_threshold_proportion=0.5
    )
    del index, level, fdir_c, outlet
    for tile in tiling.tiles():
        rows, cols = tiling.window(tile)
        values = fa[rows, cols]
        codes = np.where(np.isnan(values), STREAM_NODATA, 0).astype(np.uint8)
        lo, hi = np.searchsorted(
            stream, [rows.start * tiling.shape[1], rows.stop * tiling.shape[1]]
        )
        r, c = np.divmod(stream[lo:hi], tiling.shape[1])
        mine = (c >= cols.start) & (c < cols.stop)
        codes[r[mine] - rows.start, c[mine] - cols.start] = 1
        out[rows, cols] = codes


def _candidates_by_band(
    routing: TiledDirections, fa: ScratchArray, fa_edges: Edges, threshold: float, proportion: float
) -> list[tuple[Path, int]]:
    """Stream candidates (``FA >= proportion·threshold``) of each row of tiles, in scratch files.

    Each file holds the flat ``index``, the FA ``level`` (2 at or above ``threshold``, 1 at or
    above the trace threshold), the direction and whether the pixel is an outlet (read on its ring).
    """
    tiling = routing.tiling
    parts: list[tuple[Path, int]] = []
    for i in range(tiling.counts[0]):
        found = []
        for j in range(tiling.counts[1]):
            window = tiling.window((i, j))
            (rows, cols), inner = tiling.padded((i, j))
            fdir = routing.edges.ring((i, j), routing.fdir[window])
            values = fa_edges.ring((i, j), fa[window])
            index, fa_c, fdir_c, outlet = sparse_streams.candidates(
                values, fdir, threshold, proportion
            )
            r, c = np.divmod(index, values.shape[1])
            own = (r >= inner[0].start) & (r < inner[0].stop)
            own &= (c >= inner[1].start) & (c < inner[1].stop)
            flat = (r[own] + rows.start) * tiling.shape[1] + (c[own] + cols.start)
            level = np.where(fa_c[own] >= threshold, 2, 1).astype(np.uint8)
            found.append((flat, level, fdir_c[own], outlet[own]))
        flat, level, fdir_c, outlet = (np.concatenate(p) for p in zip(*found, strict=True))
        ordered = np.argsort(flat, kind="stable")
        path = fa.scratch.path / f"stream-candidates-{i}.npz"
        np.savez(
            path,
            index=flat[ordered],
            level=level[ordered],
            fdir=fdir_c[ordered],
            outlet=outlet[ordered],
        )
        parts.append((path, int(flat.size)))
    return parts


def distance(
    routing: TiledDirections,
    channel: ScratchArray,
    weights: ScratchArray,
    out: ScratchArray,
    *,
    convention: str,
    cell_size: float,
) -> None:
    """:func:`gep.kernels.distance.distance_to_channel` by tiles into ``out`` (float64).

    ``channel``: the stream raster (1 is a channel pixel); ``weights`` per pixel (read on
    the ring too: InVEST's MFD distance takes the receiver's weight).
    """
    tiling = routing.tiling
    weight_edges = Edges.of(weights, tiling, np.nan)
    carried = Edges(tiling, np.float64, np.nan)

    def solve(
        window: Window, fdir: np.ndarray, order: np.ndarray, inner: Window, dist: np.ndarray
    ) -> np.ndarray:
        chan = np.zeros(dist.shape, dtype=bool)
        chan[inner] = channel[window] == 1
        dist[inner][chan[inner]] = 0.0
        w = weight_edges.ring(_tiles(tiling, window), weights[window])
        distance_kernels.distance_into(
            fdir,
            chan,
            routing.algorithm,
            w,
            order,
            dist,
            convention=convention,
            cell_size=cell_size,
        )
        values = dist[inner]
        out[window] = values
        return values

    routing.propagate(solve, carried, downstream=False, label="distance to channel")


def deposition(
    routing: TiledDirections, e_prime: ScratchArray, sdr: ScratchArray, out: ScratchArray
) -> None:
    """:func:`gep.kernels.deposition.sediment_deposition`'s deposition by tiles into ``out``.

    ``e_prime`` and ``out`` float32, t ha-1 yr-1; the flux (float64) is carried between
    tiles and not kept.
    """
    tiling = routing.tiling
    sdr_edges = Edges.of(sdr, tiling, np.nan)
    carried = Edges(tiling, np.float64, np.nan)

    def solve(
        window: Window, fdir: np.ndarray, order: np.ndarray, inner: Window, flux: np.ndarray
    ) -> np.ndarray:
        e = np.full(flux.shape, np.nan, dtype=e_prime.dtype)
        e[inner] = e_prime[window]
        trapped = np.full(flux.shape, np.nan, dtype=np.float32)
        deposition_kernels.deposition_into(
            fdir,
            routing.algorithm,
            e,
            sdr_edges.ring(_tiles(tiling, window), sdr[window]),
            order,
            trapped,
            flux,
        )
        out[window] = trapped[inner]
        return flux[inner]

    routing.propagate(solve, carried, downstream=True, label="sediment deposition")
