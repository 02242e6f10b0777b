"""Hydrological routing for the engine: a thin facade over :mod:`gep.kernels`.

The kernels reproduce pygeoprocessing 2.4.11 (InVEST 3.20.2) routing pixel for pixel:

* :func:`fill_depressions` — depressions filled to the pour point (``fill_pits``);
* :func:`route` — D8 or MFD flow directions on the filled DEM, their topological order and
  the flow accumulation in pixels (the pixel included), bundled in a :class:`FlowRouting`;
* :meth:`FlowRouting.accumulate` — weighted accumulation (e.g. W̄, S̄ of the SDR);
* :meth:`FlowRouting.streams` — D8 ``FA > threshold`` or MFD traced streams;
* :meth:`FlowRouting.distance_to_channel` — InVEST's pixel-unit or Borselli's metre D_dn.

These functions route a whole in-memory grid (callers computing dask arrays do so on
purpose). Grids larger than memory go through :mod:`gep.routing.staged_sdr`, whose flow
passes run by tiles (:mod:`gep.routing.tiled_flow`, :mod:`gep.routing.tiled_passes`) with
the same results. Arrays are 2-D numpy; NaN is nodata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gep.kernels import accumulation, distance, fill, flowdir, streams

__all__ = ["FlowRouting", "fill_depressions", "route"]


def fill_depressions(dem: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Fill every depression of ``dem`` (m) to its pour point; see :func:`fill.fill_pits`.

    Parameters
    ----------
    dem : numpy.ndarray
        Elevation, m. NaN is nodata.
    valid : numpy.ndarray of bool, optional
        Pixels to route; default finite ``dem``.

    Returns
    -------
    numpy.ndarray of float64
        Filled elevation, m; NaN outside ``valid``.
    """
    return fill.fill_pits(dem, valid)


@dataclass(frozen=True)
class FlowRouting:
    """Flow directions of a filled DEM with their topological order and accumulation.

    Attributes
    ----------
    algorithm : {"d8", "mfd"}
        Flow direction algorithm.
    flow_direction : numpy.ndarray
        D8 codes (uint8, 128 none) or MFD packed 4-bit weights (int32, 0 none).
    order : numpy.ndarray of int64
        Flat pixel indices, each after every pixel that drains into it.
    flow_accumulation : numpy.ndarray of float64
        Upslope pixels including the pixel itself; NaN where not routed.
    """

    algorithm: str
    flow_direction: np.ndarray
    order: np.ndarray
    flow_accumulation: np.ndarray

    def accumulate(self, weights: np.ndarray) -> np.ndarray:
        """Flow-weighted upslope sum of ``weights``, the pixel's own weight included."""
        return accumulation.flow_accumulation(
            self.flow_direction, self.algorithm, weights, order=self.order
        )

    def streams(self, threshold: float, *, trace_threshold_proportion: float = 0.7) -> np.ndarray:
        """Stream raster (uint8: 1 stream, 0 not, 255 nodata) as InVEST SDR derives it.

        D8: ``FA > threshold``; MFD: traced from outlets with ``FA >= threshold`` continued
        through ``FA >= trace_threshold_proportion·threshold`` (InVEST uses 0.7).
        """
        if self.algorithm == "d8":
            return streams.extract_streams_d8(self.flow_accumulation, threshold)
        return streams.extract_streams_mfd(
            self.flow_accumulation,
            self.flow_direction,
            threshold,
            trace_threshold_proportion=trace_threshold_proportion,
        )

    def distance_to_channel(
        self,
        channel: np.ndarray,
        weights: np.ndarray | None = None,
        *,
        convention: str = "invest",
        cell_size: float = 1.0,
    ) -> np.ndarray:
        """Weighted flow-path distance to ``channel``; see :func:`distance.distance_to_channel`."""
        return distance.distance_to_channel(
            self.flow_direction,
            channel,
            self.algorithm,
            weights,
            convention=convention,
            cell_size=cell_size,
            order=self.order,
        )


def route(
    filled_dem: np.ndarray, algorithm: str = "mfd", valid: np.ndarray | None = None
) -> FlowRouting:
    """Flow directions, topological order and flow accumulation of a filled DEM.

    Parameters
    ----------
    filled_dem : numpy.ndarray
        Pit-filled elevation, m (:func:`fill_depressions`).
    algorithm : {"mfd", "d8"}
        Flow direction algorithm (case-insensitive).
    valid : numpy.ndarray of bool, optional
        Pixels to route; default finite ``filled_dem``.

    Returns
    -------
    FlowRouting
        The routing, ready for weighted accumulation, streams and distances.

    Examples
    --------
    >>> import numpy as np
    >>> routing = route(np.array([[3.0, 2.0, 1.0]]), "d8")
    >>> routing.flow_accumulation.tolist()
    [[1.0, 2.0, 3.0]]
    """
    algo = str(algorithm).lower()
    if algo not in ("d8", "mfd"):
        raise ValueError(f"route: algorithm must be 'd8' or 'mfd', got {algorithm!r}")
    fdir = (
        flowdir.flow_dir_d8(filled_dem, valid)
        if algo == "d8"
        else flowdir.flow_dir_mfd(filled_dem, valid)
    )
    order = accumulation.topological_order(fdir, algo)
    fa = accumulation.flow_accumulation(fdir, algo, order=order)
    return FlowRouting(algo, fdir, order, fa)
