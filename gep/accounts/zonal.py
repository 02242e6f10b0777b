"""Zonal sums of per-pixel quantities per unit: the sparse coverage product, or block by block."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr

from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep.accounts.coverage import LevelCoverage, window_totals
from gep.accounts.exact_blocks import CellNumbers, block_totals
from gep.accounts.units import (
    ZONAL_BLOCK,
    UnitLevel,
    _in_grid_crs,
    _north_up,
    _pixel_bounds,
    _pixel_space,
)


def zonal_sum(level: UnitLevel, values: xr.DataArray | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact sums of a per-pixel quantity over every unit.

    Parameters
    ----------
    level : UnitLevel
        Units and their coverage (matrix, or polygons for a blockwise level).
    values : DataArray or ndarray
        Per-pixel totals (m³, t, t CO₂ per pixel, not densities) on the grid; NaN (and ±inf)
        = nodata. Flat arrays of ``rows × cols`` cells are accepted.

    Returns
    -------
    sums : ndarray
        ``Σ W·v`` over valid pixels; NaN for units that cover no pixel.
    valid_fraction : ndarray
        Share of the unit's covered area where ``values`` is valid (1 when complete).
    """
    if level.blockwise:
        return _level_sums(level, [values])[0]
    v = np.asarray(values, dtype=np.float64).ravel()
    _check_cells(level, v.size, level.weights.shape[1])
    valid = np.isfinite(v)
    sums = level.weights @ np.where(valid, v, 0.0)
    covered = np.asarray(level.weights.sum(axis=1)).ravel()
    return _finish(sums, level.weights @ valid.astype(np.float64), covered)


def _check_cells(level: UnitLevel, size: int, expected: int) -> None:
    if size != expected:
        raise InputError(
            f"zonal sum: raster has {size} cells but the {level.level} coverage was built for "
            f"{expected}; sum rasters on the grid the units were intersected with"
        )


def _finish(
    sums: np.ndarray, covered_valid: np.ndarray, covered: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sums (NaN where nothing is covered) and valid fractions from the three totals."""
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(covered > 0, covered_valid / np.where(covered > 0, covered, 1), 0.0)
    return np.where(covered > 0, sums, np.nan), fraction


def _level_sums(
    level: UnitLevel, rasters: Sequence[xr.DataArray | np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blockwise sums and valid fractions of several rasters (the level's kept coverage)."""
    import dask

    data = [values.data if isinstance(values, xr.DataArray) else values for values in rasters]
    parts, finish = level_sum_tasks(level, data)
    return finish(dask.compute(*parts))


def zonal_sum_chunked(
    polygons: gpd.GeoDataFrame,
    grid: Grid,
    values: xr.DataArray | np.ndarray | Sequence[xr.DataArray] | Mapping[str, xr.DataArray],
    *,
    id_field: str,
    block: int = ZONAL_BLOCK,
) -> pd.DataFrame:
    """Exact zonal sums of rasters of any size, block by block (bounded memory).

    The coverage fraction of a cell by a polygon depends on that cell and polygon only, so
    intersecting the polygons with each block of the grid (exactextract on the block's
    window) gives the same fractions as :func:`unit_level` on the whole grid; the per-block
    sums ``Σ c·v`` are added up. Both work in the grid's pixel coordinates, where every cell
    edge is a whole number whether a block or the whole grid is cut, so the fractions are
    the same to the last bit and the sums the same to rounding (≈ 1e-14).

    Per block, one exactextract pass: for a single raster with no nodata in the block, its
    own ``sum`` (``Σ c·x``) and ``count`` (``Σ c``); otherwise the ``values`` of a raster
    numbering the block's cells and their ``coverage`` fractions, read once and applied to
    every raster by a compiled loop (``Σ c·v`` and ``Σ c`` over finite ``v``). exactextract
    skips NaN cells in ``sum`` and ``count`` (its nodata) but would add ±inf, which
    :func:`zonal_sum` treats as nodata; hence the split. Memory is set by the block, not the
    raster (the whole-grid matrix of :func:`unit_level` holds ≈ 12 bytes per covered pixel).

    Parameters
    ----------
    polygons : GeoDataFrame
        Unit polygons (any CRS; reprojected to the grid's).
    grid : Grid
        Grid of ``values``.
    values : DataArray or array, or a list or dict of them
        Per-pixel totals on ``grid``, numpy- or dask-backed; NaN (and ±inf) is nodata.
        Several rasters are summed in one pass (the blocks of the first dask-backed one; the
        others are rechunked to them).
    id_field : str
        Field with the unit id.
    block : int
        Block side in pixels when no raster is dask-backed.

    Returns
    -------
    DataFrame
        ``unit_id, sum, valid_fraction`` with the meaning of :func:`zonal_sum`'s results
        (``sum`` NaN for units that cover no pixel); for a list or dict of rasters, one such
        table per raster stacked, with its key (list position or dict key) in a first column
        ``name``.
    """
    import dask.array as dsa

    gdf = _in_grid_crs(polygons, _north_up(grid), "the")
    single = isinstance(values, xr.DataArray | np.ndarray | dsa.Array)
    if single:
        named: dict[Any, Any] = {None: values}
    elif isinstance(values, Mapping):
        named = dict(values)
    else:
        named = dict(enumerate(values))
    arrays = []
    for name, da in named.items():
        data = da.data if isinstance(da, xr.DataArray) else da
        if tuple(data.shape) != tuple(grid.shape):
            raise InputError(
                f"zonal sum: raster {name if name is not None else ''} has shape "
                f"{tuple(data.shape)}, the grid {tuple(grid.shape)}; sum rasters on the grid"
            )
        arrays.append(data)
    sums, valid, covered = _blockwise_totals(gdf, grid, arrays, block)
    ids = gdf[id_field].astype(str).to_numpy()
    frames = []
    for k, name in enumerate(named):
        total, fraction = _finish(sums[k], valid[k], covered)
        frame = pd.DataFrame({"unit_id": ids, "sum": total, "valid_fraction": fraction})
        frames.append(frame if name is None else frame.assign(name=name))
    if single:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    return out[["name", "unit_id", "sum", "valid_fraction"]]


def _blockwise_totals(
    polygons: gpd.GeoDataFrame, grid: Grid, arrays: list[Any], block: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Σ c·v`` and ``Σ c`` over valid cells per raster and unit, and ``Σ c`` per unit.

    ``polygons`` are in the grid CRS and numbered in ``_row``; ``arrays`` have the grid's
    shape. One dask task per block (the current scheduler); returns arrays of shape
    ``(n_rasters, n_units)``, ``(n_rasters, n_units)`` and ``(n_units,)``.
    """
    import dask

    parts = _blockwise_parts(polygons, grid, _same_blocks(arrays, block))
    return _add_parts(dask.compute(*parts), len(arrays), len(polygons))


def _blockwise_parts(polygons: gpd.GeoDataFrame, grid: Grid, lazy: list[Any]) -> list[Any]:
    """One delayed :func:`block_totals` per block of the dask arrays ``lazy`` (same chunks)."""
    import dask

    chunks = [a.to_delayed() for a in lazy]  # each block's own task: no copy by dask
    row_edges = np.cumsum((0, *lazy[0].chunks[0]))
    col_edges = np.cumsum((0, *lazy[0].chunks[1]))
    pixels = _pixel_space(polygons, grid)
    tree = shapely.STRtree(pixels)
    wkb = np.asarray(shapely.to_wkb(pixels), dtype=object)
    rows = polygons["_row"].to_numpy()
    numbers = CellNumbers(grid.crs.to_wkt(), (max(lazy[0].chunks[0]), max(lazy[0].chunks[1])))
    parts = []
    for i in range(len(row_edges) - 1):
        for j in range(len(col_edges) - 1):
            bounds = _pixel_bounds(
                (
                    slice(int(row_edges[i]), int(row_edges[i + 1])),
                    slice(int(col_edges[j]), int(col_edges[j + 1])),
                )
            )
            hit = np.sort(tree.query(shapely.box(*bounds), predicate="intersects"))
            if hit.size:
                parts.append(
                    dask.delayed(block_totals, pure=False)(
                        rows[hit], wkb[hit].tolist(), bounds, numbers, *(c[i, j] for c in chunks)
                    )
                )
    return parts


def _level_parts(coverage: LevelCoverage, lazy: list[Any]) -> list[Any]:
    """One delayed :func:`window_totals` per block of ``lazy`` that a unit touches.

    ``coverage`` is one node of the graph, shared by its tasks: the threaded scheduler
    reuses (and keeps) each window's coverage; a dask.distributed worker gets a copy that
    keeps nothing and computes its windows.
    """
    import dask

    chunks = [a.to_delayed() for a in lazy]  # each block's own task: no copy by dask
    row_edges = np.cumsum((0, *lazy[0].chunks[0]))
    col_edges = np.cumsum((0, *lazy[0].chunks[1]))
    shared = dask.delayed(coverage, name=coverage.key, traverse=False)
    parts = []
    for i in range(len(row_edges) - 1):
        for j in range(len(col_edges) - 1):
            window = (
                slice(int(row_edges[i]), int(row_edges[i + 1])),
                slice(int(col_edges[j]), int(col_edges[j + 1])),
            )
            if coverage.touched(window).size:
                parts.append(
                    dask.delayed(window_totals, pure=False)(
                        shared, window, *(c[i, j] for c in chunks)
                    )
                )
    return parts


def _add_parts(
    results: Sequence[Any], n_rasters: int, n_units: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add up the per-block results of :func:`block_totals` (``None``: no unit touched)."""
    sums = np.zeros((n_rasters, n_units))
    valid = np.zeros((n_rasters, n_units))
    covered = np.zeros(n_units)
    for result in results:
        if result is None:
            continue
        hit_rows, part_sums, part_valid, part_covered = result
        sums[:, hit_rows] += part_sums
        valid[:, hit_rows] += part_valid
        covered[hit_rows] += part_covered
    return sums, valid, covered


LevelSums = list[tuple[np.ndarray, np.ndarray]]


class LevelAccumulator:
    """Sums of a blockwise level, added block by block as the caller computes the blocks.

    For a caller that walks the grid itself (``gep run`` computes each block of every quantity,
    writes it and sums it before the next): ``add(window, blocks)`` adds one block of every
    raster, :meth:`result` gives per raster the ``(sums, valid_fraction)`` of
    :func:`zonal_sum`. The coverage of each block is exact (as :func:`zonal_sum_chunked`),
    computed once per window for the level (:attr:`UnitLevel.coverage`) and reused by every
    later accumulator of the level that adds the same window.

    Parameters
    ----------
    level : UnitLevel
        A blockwise level (polygons and grid).
    n_rasters : int
        Rasters summed (the length of each ``blocks`` given to :meth:`add`).
    """

    def __init__(self, level: UnitLevel, n_rasters: int) -> None:
        self._coverage = level.coverage
        self._n_units = len(level.units)
        self._n_rasters = n_rasters
        self._results: list[Any] = []

    def add(self, window: tuple[slice, slice], blocks: Sequence[np.ndarray]) -> None:
        """Add the block ``window`` (row and column slices) of every raster."""
        coverage = self._coverage.window(window)
        if coverage is not None:
            self._results.append(coverage.totals(blocks))

    def result(self) -> LevelSums:
        """Per raster, the sums and valid fractions over the units."""
        sums, valid, covered = _add_parts(self._results, self._n_rasters, self._n_units)
        return [_finish(sums[k], valid[k], covered) for k in range(self._n_rasters)]


def level_sum_tasks(
    level: UnitLevel, arrays: Sequence[Any]
) -> tuple[list[Any], Callable[[Sequence[Any]], LevelSums]]:
    """The delayed block tasks of a blockwise level's sums, and how to finish them.

    For computing the sums in the same dask pass as other work on the same arrays (writing
    them, other levels): ``parts, finish = level_sum_tasks(level, arrays)``, then
    ``finish(dask.compute(*parts))`` gives, per array, the ``(sums, valid_fraction)`` of
    :func:`zonal_sum`. ``arrays`` are dask arrays on the level's grid with the same chunks
    (numpy arrays are cut into the level's blocks).
    """
    polygons, grid = level._blockwise_inputs()
    for a in arrays:
        _check_cells(level, int(np.prod(a.shape)), grid.shape[0] * grid.shape[1])
    lazy = _same_blocks([a.reshape(grid.shape) for a in arrays], level.block)
    parts = _level_parts(level.coverage, lazy)

    def finish(results: Sequence[Any]) -> LevelSums:
        sums, valid, covered = _add_parts(results, len(lazy), len(polygons))
        return [_finish(sums[k], valid[k], covered) for k in range(len(lazy))]

    return parts, finish


def sum_levels(levels: Sequence[UnitLevel], rasters: Sequence[Any]) -> list[LevelSums]:
    """Sums and valid fractions of every raster over every level, per level.

    Blockwise levels are summed in one dask pass for all of them (each block of a lazy raster
    is computed once); matrix levels through :func:`zonal_sum`.
    """
    import dask

    data = [r.data if isinstance(r, xr.DataArray) else r for r in rasters]
    tasks = {k: level_sum_tasks(level, data) for k, level in enumerate(levels) if level.blockwise}
    flat = [part for parts, _ in tasks.values() for part in parts]
    computed = list(dask.compute(*flat)) if flat else []
    out: list[LevelSums] = []
    start = 0
    for k, level in enumerate(levels):
        if k in tasks:
            parts, finish = tasks[k]
            out.append(finish(computed[start : start + len(parts)]))
            start += len(parts)
        else:
            out.append([zonal_sum(level, np.asarray(r)) for r in data])
    return out


def _same_blocks(arrays: list[Any], block: int) -> list[Any]:
    """Dask arrays with one block layout: the first dask-backed input's, else ``block``²."""
    import dask.array as dsa

    chunks = next((a.chunks for a in arrays if isinstance(a, dsa.Array)), None)
    out = []
    for a in arrays:
        if not isinstance(a, dsa.Array):
            a = dsa.from_array(np.asarray(a), chunks=chunks or (block, block), name=False)
        elif a.chunks != chunks:
            a = a.rechunk(chunks)
        out.append(a)
    return out
