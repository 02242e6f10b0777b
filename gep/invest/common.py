"""What every InVEST-compatible model shares: the runner record, vectors, table codes, totals.

Heavy libraries (geopandas, rasterio.features, numba's kernels) are imported inside the
functions that need them: ``gep invest carbon`` uses none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gep.invest.args import Arg
from gep.invest.frame import Frame
from gep.invest.tables import Table

if TYPE_CHECKING:
    import geopandas as gpd


Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class Runner:
    """An InVEST-compatible model: its args, a checking/reading step and a computing step."""

    args: tuple[Arg, ...]
    prepare: Callable[[dict[str, Any], Path, Callable[[str], None]], Any]
    execute: Callable[[Any, Path], dict[str, Any]]


def read_vector(path: Path, *, name: str) -> gpd.GeoDataFrame:
    """Read a vector arg (geopandas is imported here: the carbon model does not need it)."""
    from data_catalog.vectors import read_vector as read

    return read(path, name=name)


def table_codes(table: Table) -> np.ndarray:
    """The class codes of a biophysical table (its key column), as int64."""
    return np.asarray(table.index, dtype=np.int64)


def nan_total(values: np.ndarray) -> float:
    """Sum of the finite values (NaN is nodata), in float64."""
    from gep.kernels import reductions

    return reductions.nan_sum(values)


def vector_bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of all features, as floats in the layer's CRS."""
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    return minx, miny, maxx, maxy


def feature_mask(geom: Any, frame: Frame) -> tuple[tuple[slice, slice], np.ndarray]:
    """Window of the grid around ``geom`` and the pixel-centre mask of ``geom`` in it."""
    import rasterio.features

    grid = frame.grid
    rows, cols = grid.shape
    resx, resy = grid.res
    left, _, _, top = grid.bounds
    minx, miny, maxx, maxy = geom.bounds
    c0 = min(max(int(np.floor((minx - left) / resx)), 0), cols)
    c1 = min(max(int(np.ceil((maxx - left) / resx)), c0), cols)
    r0 = min(max(int(np.floor((top - maxy) / resy)), 0), rows)
    r1 = min(max(int(np.ceil((top - miny) / resy)), r0), rows)
    shape = (r1 - r0, c1 - c0)
    if 0 in shape:
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), dtype=bool)
    transform = grid.transform @ grid.transform.translation(c0, r0)
    mask = rasterio.features.geometry_mask([geom], shape, transform, invert=True)
    if not mask.any():
        mask = rasterio.features.geometry_mask(
            [geom], shape, transform, invert=True, all_touched=True
        )
    return (slice(r0, r1), slice(c0, c1)), mask
