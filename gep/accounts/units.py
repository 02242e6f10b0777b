"""Accounting units on the grid: each level's polygons and their exact coverage of the pixels."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import NumPyRasterSource

from data_catalog.errors import InputError
from data_catalog.grid import Grid

if TYPE_CHECKING:
    from gep.accounts.coverage import LevelCoverage

#: Block side (pixels) of blockwise zonal sums over rasters that are not dask-backed.
ZONAL_BLOCK = 2048

#: Guards the lazy creation of a level's coverage (accumulators may start in threads).
_COVERAGE_LOCK = threading.Lock()


@dataclass
class UnitLevel:
    """The accounting units of one level and their exact coverage of the grid.

    Parameters
    ----------
    level : str
        ``"district"`` or ``"township"`` (any name works).
    units : DataFrame
        ``unit_id, unit_name, parent_id, area_km2`` (area of the polygon in the grid CRS).
    sparse : scipy.sparse.csr_matrix or None
        Coverage fraction of each pixel by each unit, shape ``(n_units, rows × cols)``; None for
        a blockwise level (sums intersect ``polygons`` with the grid block by block).
    warnings : list of str
        Units that do not overlap the grid, and similar data-quality notes.
    polygons : GeoDataFrame, optional
        Blockwise levels: the unit polygons in the grid CRS, in the order of ``units``.
    grid : Grid, optional
        Blockwise levels: the grid the rasters to be summed are on.
    block : int
        Blockwise levels: block side in pixels for rasters that are not dask-backed.
    """

    level: str
    units: pd.DataFrame
    sparse: sp.csr_matrix | None
    warnings: list[str] = field(default_factory=list)
    polygons: gpd.GeoDataFrame | None = None
    grid: Grid | None = None
    block: int = ZONAL_BLOCK
    _coverage: LevelCoverage | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ids(self) -> np.ndarray:
        """Unit ids in matrix row order."""
        return self.units["unit_id"].to_numpy()

    @property
    def blockwise(self) -> bool:
        """True when sums are computed block by block (no whole-grid coverage matrix)."""
        return self.sparse is None

    @property
    def weights(self) -> sp.csr_matrix:
        """Coverage matrix ``(n_units, rows × cols)``.

        A blockwise level builds it on first use (≈ 12 bytes per covered pixel), for callers
        that need the matrix itself; sums never do.
        """
        if self.sparse is None:
            polygons, grid = self._blockwise_inputs()
            self.sparse = _coverage_matrix(polygons, grid)
        return self.sparse

    @property
    def coverage(self) -> LevelCoverage:
        """The exact coverage of the grid's windows by the units, computed once per window.

        Blockwise sums of the same window (every pass of a streamed run, every level's
        accumulator) share it: :class:`gep.accounts.coverage.LevelCoverage`, built on first
        use, its scratch files removed with the level.
        """
        with _COVERAGE_LOCK:
            if self._coverage is None:
                from gep.accounts.coverage import LevelCoverage

                polygons, grid = self._blockwise_inputs()
                self._coverage = LevelCoverage(polygons, grid)
            return self._coverage

    def _blockwise_inputs(self) -> tuple[gpd.GeoDataFrame, Grid]:
        if self.polygons is None or self.grid is None:
            raise InputError(
                f"{self.level} units have neither a coverage matrix nor polygons and a grid; "
                "build them with gep.accounts.unit_level"
            )
        return self.polygons, self.grid


def unit_level(
    polygons: gpd.GeoDataFrame,
    grid: Grid,
    *,
    level: str,
    id_field: str,
    name_field: str | None = None,
    parent_field: str | None = None,
    blockwise: bool = False,
    block: int = ZONAL_BLOCK,
) -> UnitLevel:
    """Intersect unit polygons with the grid once (exact fractional coverage).

    Parameters
    ----------
    polygons : GeoDataFrame
        Unit polygons in any CRS (reprojected to the grid's).
    grid : Grid
        The reference grid of the rasters to be summed.
    level : str
        Level name written into the accounts.
    id_field, name_field, parent_field : str
        Fields holding the unit id, its name and its parent unit's id.
    blockwise : bool
        Keep the polygons instead of the whole-grid coverage matrix: every sum then
        intersects them with the grid block by block (:func:`zonal_sum_chunked`), in memory
        bounded by the block. For grids whose matrix would not fit in memory.
    block : int
        Block side in pixels of blockwise sums over rasters that are not dask-backed.
    """
    gdf = _in_grid_crs(polygons, _north_up(grid), level)
    units = pd.DataFrame(
        {
            "unit_id": gdf[id_field].astype(str).to_numpy(),
            "unit_name": gdf[name_field].astype(str).to_numpy() if name_field else "",
            "parent_id": gdf[parent_field].astype(str).to_numpy() if parent_field else "",
            "area_km2": gdf.geometry.area.to_numpy() * grid.linear_unit_factor() ** 2 / 1e6,
        }
    )
    units["level"] = level
    if blockwise:
        found = UnitLevel(level, units, None, polygons=gdf, grid=grid, block=block)
        overlaps = _overlaps_grid(gdf, grid)
    else:
        found = UnitLevel(level, units, _coverage_matrix(gdf, grid))
        overlaps = np.asarray(found.weights.sum(axis=1)).ravel() > 0
    for i in np.flatnonzero(~overlaps):
        found.warnings.append(
            f"{level} {units['unit_id'].iloc[i]!s} ({units['unit_name'].iloc[i]!s}) does not "
            "overlap the "
            "raster grid: its quantities are reported as missing (NaN), not zero"
        )
    return found


def _in_grid_crs(polygons: gpd.GeoDataFrame, grid: Grid, level: str) -> gpd.GeoDataFrame:
    """The polygons in the grid's CRS, numbered 0… in column ``_row``."""
    if polygons.crs is None:
        raise InputError(f"{level} units have no CRS; declare it in the catalog")
    gdf = polygons.to_crs(grid.crs.to_wkt()).reset_index(drop=True)
    return gdf.assign(_row=np.arange(len(gdf)))


def _overlaps_grid(gdf: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """Whether each polygon shares area with the grid (its coverage sum is then > 0)."""
    box = _box(grid)
    touching = gdf.intersects(box).to_numpy()
    try:
        return touching & (shapely.area(shapely.intersection(gdf.geometry.values, box)) > 0)
    except shapely.errors.GEOSException:  # invalid polygon: exactextract still covers it
        return touching


def _coverage_matrix(gdf: gpd.GeoDataFrame, grid: Grid) -> sp.csr_matrix:
    """Whole-grid sparse coverage matrix of the numbered polygons ``gdf`` (in pixel space)."""
    rows, cols = grid.shape
    ones = NumPyRasterSource(
        np.ones(grid.shape, dtype=np.float32), 0, -rows, cols, 0, srs_wkt=grid.crs.to_wkt()
    )
    pixels = _pixel_space(gdf, grid)
    present = np.flatnonzero(~(shapely.is_missing(pixels) | shapely.is_empty(pixels)))
    polygons = _Polygons(list(shapely.to_wkb(pixels[present])), grid.crs.to_wkt(), present.tolist())
    cover = exact_extract(
        ones, polygons, ["cell_id", "coverage"], include_cols=["_row"], output="pandas"
    )
    return _sparse_weights(cover, len(gdf), grid)


def _pixel_space(gdf: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """The polygons in the grid's pixel coordinates: ``x`` → column, ``y`` → −row.

    exactextract puts cell edges at ``xmin + i·dx``. In pixel coordinates they are whole
    numbers, for the whole grid and for every block alike, so a cell has the same edges
    either way and the same coverage fraction (in map coordinates a block's origin
    ``x0 + c0·dx`` rounds differently from the grid's, and fractions can differ in their
    last bits).
    """
    t = _north_up(grid).transform
    origin = np.array([t.c, t.f])
    size = np.array([t.a, -t.e])
    return np.asarray(
        shapely.transform(np.asarray(gdf.geometry.values), lambda xy: (xy - origin) / size)
    )


def _north_up(grid: Grid) -> Grid:
    t = grid.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise InputError(
            f"zonal sums need a north-up grid (no rotation, rows from north to south); the "
            f"grid's transform is {tuple(t)[:6]}: warp the rasters to a north-up grid"
        )
    return grid


def _pixel_bounds(window: tuple[slice, slice]) -> tuple[float, float, float, float]:
    """Extent of the cells ``window`` (rows, columns) in pixel coordinates."""
    rows, cols = window
    return (cols.start, -rows.stop, cols.stop, -rows.start)


def _sparse_weights(cover: pd.DataFrame, n_units: int, grid: Grid) -> sp.csr_matrix:
    rows = np.concatenate(
        [np.full(len(c), r) for r, c in zip(cover["_row"], cover["cell_id"], strict=True)]
        or [np.zeros(0, dtype=np.int64)]
    )
    cols = np.concatenate(list(cover["cell_id"]) or [np.zeros(0, dtype=np.int64)])
    vals = np.concatenate(list(cover["coverage"]) or [np.zeros(0)]).astype(np.float64)
    n_pixels = grid.shape[0] * grid.shape[1]
    return sp.csr_matrix(
        (vals, (rows.astype(np.int64), cols.astype(np.int64))), shape=(n_units, n_pixels)
    )


def _box(grid: Grid) -> shapely.Polygon:
    return shapely.box(*grid.bounds)


class _Polygon(Feature):
    """One polygon for exactextract: its row number and WKB (no GeoJSON round trip)."""

    def __init__(self, row: int, wkb: bytes) -> None:
        Feature.__init__(self)
        self.row = row
        self.wkb = wkb

    def geometry(self) -> bytes:
        return self.wkb

    def get(self, name: str) -> int:
        return self.row

    def fields(self) -> list[str]:
        return ["_row"]


class _Polygons(FeatureSource):
    """Polygons (WKB) as exactextract features, numbered ``rows`` (default 0, 1, … in order)."""

    def __init__(self, wkb: list[bytes], wkt: str, rows: Sequence[int] | None = None) -> None:
        super().__init__()
        self.wkb = wkb
        self.wkt = wkt
        self.rows = range(len(wkb)) if rows is None else rows

    def count(self) -> int:
        return len(self.wkb)

    def __iter__(self) -> Iterator[_Polygon]:
        for row, wkb in zip(self.rows, self.wkb, strict=True):
            yield _Polygon(int(row), wkb)

    def srs_wkt(self) -> str:
        return self.wkt
