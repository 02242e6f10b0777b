"""The staged SDR's flow passes, on whole grids or by tiles, through one interface.

:class:`WholeGridPasses` loads the compact grids a pass reads (directions, topological
order, the pass's weights and result: 21–29 bytes a pixel) and runs the kernels of
:mod:`gep.kernels` on them: the fastest way while they fit. :class:`TiledPasses` runs the
same kernels tile by tile (:mod:`gep.routing.tiled_passes`), holding a tile and the tiles'
border lines: memory set by the tile, not the raster. Both write the same values, to the
bit (``tests/routing/test_tiled_flow.py``); :func:`flow_passes` picks one by the grid's
size (:data:`WHOLE_GRID_PIXELS`).

Every array is a :class:`~gep.routing.scratch.ScratchArray`; NaN is nodata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from gep.io.memory import release_free_memory
from gep.kernels import accumulation, deposition, distance, flowdir, streams
from gep.routing import tiled_passes
from gep.routing.scratch import Scratch, ScratchArray, row_bands
from gep.routing.tiled_flow import Edges, TiledDirections, Tiling, directions

#: Grids up to this many pixels are routed whole (about 29 bytes a pixel at a pass's peak:
#: 1.8 GiB here; the 30 m sample region, 36 M pixels, takes 1.0 GiB), larger ones by tiles
#: (memory of a few tiles; about 5 times the time of the whole-grid passes, which is why
#: grids that fit go whole).
WHOLE_GRID_PIXELS = 2**26

#: Tile edge of the tiled passes (a multiple of 256, pygeoprocessing's scan blocks).
ROUTE_TILE = 1024

#: ``weight(window)`` → the per-pixel weights of a window (stored as float32).
Weight = Callable[[tuple[slice, slice]], np.ndarray]

_BAND = 256


class FlowPasses(Protocol):
    """The flow passes of the staged SDR over directions kept in a scratch folder."""

    algorithm: str

    def accumulate(self, weight: Weight | None, out: ScratchArray) -> None:
        """Flow accumulation of ``weight`` (1 when None) into ``out`` (float64)."""

    def streams(self, fa: ScratchArray, threshold: float, out: ScratchArray) -> None:
        """InVEST SDR's streams (D8 ``FA > t``; MFD traced, 0.7·t to continue) into ``out``."""

    def distance(
        self,
        channel: ScratchArray,
        weights: ScratchArray,
        out: ScratchArray,
        *,
        convention: str,
        cell_size: float,
    ) -> None:
        """Weighted distance to the channel pixels (``channel == 1``) into ``out``."""

    def deposition(self, e_prime: ScratchArray, sdr: ScratchArray, out: ScratchArray) -> None:
        """InVEST's sediment deposition of ``e_prime`` into ``out`` (float32)."""


def flow_passes(
    filled: ScratchArray,
    valid: ScratchArray,
    algorithm: str,
    scratch: Scratch,
    *,
    tile: int | None = None,
) -> FlowPasses:
    """Flow directions of ``filled`` stored in ``scratch``, and the passes over them.

    ``tile``: route by tiles of this edge (a multiple of 256); default: whole grids up to
    :data:`WHOLE_GRID_PIXELS`, else tiles of :data:`ROUTE_TILE`.
    """
    shape = filled.shape
    if tile is None and shape[0] * shape[1] <= WHOLE_GRID_PIXELS:
        return WholeGridPasses.route(filled, valid, algorithm, scratch)
    tiling = Tiling(shape, tile or ROUTE_TILE)
    return TiledPasses(directions(filled, valid, algorithm, scratch, tiling))


class WholeGridPasses:
    """Passes on whole in-memory grids (directions and order kept in the scratch folder)."""

    def __init__(self, algorithm: str, scratch: Scratch) -> None:
        self.algorithm = algorithm
        self.scratch = scratch

    @classmethod
    def route(
        cls, filled: ScratchArray, valid: ScratchArray, algorithm: str, scratch: Scratch
    ) -> WholeGridPasses:
        """Directions and topological order of the whole grid."""
        release_free_memory()  # before each flow pass: the heap's free pages back first
        ok = valid.load()
        dem = filled.load()
        kernel = flowdir.flow_dir_d8 if algorithm == "d8" else flowdir.flow_dir_mfd
        fdir = kernel(dem, ok)
        del dem, ok
        order = accumulation.topological_order(fdir, algorithm)
        scratch.save("fdir", fdir)
        scratch.save("order", order[np.newaxis], tile=None)
        return cls(algorithm, scratch)

    def _loaded(self) -> tuple[np.ndarray, np.ndarray]:
        release_free_memory()
        return self.scratch["fdir"].load(), self.scratch["order"].load()[0]

    def accumulate(self, weight: Weight | None, out: ScratchArray) -> None:  # noqa: D102
        fdir, order = self._loaded()
        weights = None
        if weight is not None:
            weights = np.empty(fdir.shape, dtype=np.float32)
            for rows in row_bands(fdir.shape[0], _BAND):
                weights[rows] = weight((rows, slice(None)))
        values = accumulation.flow_accumulation(fdir, self.algorithm, weights, order=order)
        del weights, fdir, order
        _write(out, values)

    def streams(self, fa: ScratchArray, threshold: float, out: ScratchArray) -> None:  # noqa: D102
        if self.algorithm == "d8":
            for rows in row_bands(fa.shape[0], _BAND):
                out[rows] = streams.extract_streams_d8(fa[rows], threshold)
            return
        values, fdir = fa.load(), self.scratch["fdir"].load()
        _write(
            out,
            streams.extract_streams_mfd(values, fdir, threshold, trace_threshold_proportion=0.7),
        )

    def distance(  # noqa: D102
        self,
        channel: ScratchArray,
        weights: ScratchArray,
        out: ScratchArray,
        *,
        convention: str,
        cell_size: float,
    ) -> None:
        fdir, order = self._loaded()
        values = distance.distance_to_channel(
            fdir,
            channel.load() == 1,
            self.algorithm,
            weights.load(),
            convention=convention,
            cell_size=cell_size,
            order=order,
        )
        del fdir, order
        _write(out, values)

    def deposition(self, e_prime: ScratchArray, sdr: ScratchArray, out: ScratchArray) -> None:  # noqa: D102
        fdir, order = self._loaded()
        values = e_prime.load()
        trapped = deposition.deposition_in_place(fdir, self.algorithm, values, sdr.load(), order)
        del fdir, order
        _write(out, trapped)


class TiledPasses:
    """Passes tile by tile (:mod:`gep.routing.tiled_passes`)."""

    def __init__(self, routing: TiledDirections) -> None:
        self.routing = routing
        self.algorithm = routing.algorithm

    def accumulate(self, weight: Weight | None, out: ScratchArray) -> None:  # noqa: D102
        tiled_passes.accumulate(self.routing, weight, out)

    def streams(self, fa: ScratchArray, threshold: float, out: ScratchArray) -> None:  # noqa: D102
        edges = Edges.of(fa, self.routing.tiling, np.nan)
        tiled_passes.streams(
            self.routing, fa, edges, threshold, out, trace_threshold_proportion=0.7
        )

    def distance(  # noqa: D102
        self,
        channel: ScratchArray,
        weights: ScratchArray,
        out: ScratchArray,
        *,
        convention: str,
        cell_size: float,
    ) -> None:
        tiled_passes.distance(
            self.routing, channel, weights, out, convention=convention, cell_size=cell_size
        )

    def deposition(self, e_prime: ScratchArray, sdr: ScratchArray, out: ScratchArray) -> None:  # noqa: D102
        tiled_passes.deposition(self.routing, e_prime, sdr, out)


def _write(out: ScratchArray, values: np.ndarray) -> None:
    for rows in row_bands(values.shape[0], max(out.tile or _BAND, 1)):
        out[rows] = values[rows]
