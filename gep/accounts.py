"""Zonal accounts: per-pixel quantities summed per district and township, exactly.

Each unit polygon's exact fractional coverage of every pixel comes from exactextract (Baston
2022, *exactextract*: the area fraction of each cell covered by the polygon). The fractions are
kept as a sparse matrix ``W`` (units × pixels), so that the sum of any raster ``v`` over every
unit is one sparse product ``W·v``: the polygons are intersected with the grid once, and every
service, year and component reuses it.

On grids too large for that matrix (≈ 12 bytes per covered pixel), a *blockwise* level keeps
only the polygons: every sum intersects them with the grid block by block (one coverage per
block for all the rasters summed together) and adds the block sums up. A cell's coverage
fraction depends on that cell and polygon only, so both ways give the same fractions and the
same sums (to rounding).

Rules (what a statistics bureau checks):

* a unit's quantity is ``Σ_pixels W[u, pixel]·v[pixel]`` over valid pixels; the share of the
  unit's area with valid data is reported beside it (``valid_fraction``);
* a unit that does not overlap the grid at all is reported and its quantities are missing
  (NaN), never a silent zero;
* townships inside a district add up to the district: checked for every quantity and reported
  (``check_hierarchy``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
import xarray as xr
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource, JSONFeature
from exactextract.raster import NumPyRasterSource
from exactextract.writer import Writer

from data_catalog.errors import InputError
from data_catalog.grid import Grid

ACCOUNT_COLUMNS = [
    "unit_id",
    "unit_name",
    "level",
    "parent_id",
    "year",
    "service",
    "component",
    "quantity",
    "quantity_unit",
    "value_current_cny",
    "value_constant_cny",
    "price_year",
]


#: Block side (pixels) of blockwise zonal sums over rasters that are not dask-backed.
ZONAL_BLOCK = 2048


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
    """Blockwise sums and valid fractions of several rasters (one coverage per block)."""
    polygons, grid = level._blockwise_inputs()
    arrays = []
    for values in rasters:
        data = values.data if isinstance(values, xr.DataArray) else values
        _check_cells(level, int(np.prod(data.shape)), grid.shape[0] * grid.shape[1])
        arrays.append(data.reshape(grid.shape))
    sums, valid, covered = _blockwise_totals(polygons, grid, arrays, level.block)
    return [_finish(sums[k], valid[k], covered) for k in range(len(arrays))]


def quantity_table(
    levels: list[UnitLevel],
    quantities: dict[tuple[str, int], xr.DataArray],
) -> pd.DataFrame:
    """Tidy table of physical quantities per unit, year and quantity name.

    Blockwise levels sum every quantity in one pass over the grid (one coverage per block).

    Parameters
    ----------
    levels : list of UnitLevel
        E.g. districts and townships.
    quantities : dict
        ``(quantity_name, year) → per-pixel DataArray`` with ``attrs["units"]`` per pixel
        (e.g. ``"m3 yr-1"``).

    Returns
    -------
    DataFrame
        ``unit_id, unit_name, level, parent_id, area_km2, year, quantity_name, quantity,
        quantity_unit, valid_fraction``.
    """
    for (name, year), da in quantities.items():
        if not da.attrs.get("units"):
            raise InputError(f"quantity '{name}' ({year}) has no units attribute")
    rasters = list(quantities.values())
    results = [
        _level_sums(level, rasters)
        if level.blockwise
        else [zonal_sum(level, da.values) for da in rasters]
        for level in levels
    ]
    frames = []
    for q, ((name, year), da) in enumerate(quantities.items()):
        for level, sums in zip(levels, results, strict=True):
            frames.append(
                level.units.assign(
                    year=year,
                    quantity_name=name,
                    quantity=sums[q][0],
                    quantity_unit=da.attrs["units"],
                    valid_fraction=sums[q][1],
                )
            )
    return pd.concat(frames, ignore_index=True)


def check_hierarchy(
    table: pd.DataFrame, *, parent: str, child: str, rtol: float = 1e-6
) -> pd.DataFrame:
    """Compare each parent unit's quantity with the sum of its children's.

    Returns
    -------
    DataFrame
        One row per parent, year and quantity: ``parent_value, children_sum, relative_difference``
        (rows where both are missing are dropped), and an ``ok`` flag at ``rtol``.
    """
    keys = ["year", "quantity_name"]
    children = table[table["level"] == child]
    kids = pd.DataFrame(children.groupby(["parent_id", *keys], as_index=False)["quantity"].sum())
    kids = kids.rename(columns={"parent_id": "unit_id", "quantity": "children_sum"})
    top = table[table["level"] == parent][["unit_id", *keys, "quantity"]].rename(
        columns={"quantity": "parent_value"}
    )
    merged = top.merge(kids, on=["unit_id", *keys], how="outer")
    scale = np.maximum(np.abs(merged["parent_value"]), np.abs(merged["children_sum"]))
    diff = np.abs(merged["parent_value"] - merged["children_sum"])
    merged["relative_difference"] = np.where(scale > 0, diff / scale.where(scale > 0, 1.0), 0.0)
    merged["ok"] = merged["relative_difference"] <= rtol
    return merged


def accounts_table(quantities: pd.DataFrame, valued: pd.DataFrame) -> pd.DataFrame:
    """The tidy accounts table (``ACCOUNT_COLUMNS`` plus price details) from valued rows.

    ``value = quantity × factor × price``: the factor (e.g. λ/ρ m³ t⁻¹, or the N content of
    soil) and the price are kept beside each row so that every value can be recomputed.
    """
    cols = [c for c in ACCOUNT_COLUMNS if c in valued.columns]
    extra = [
        c
        for c in (
            "price_item",
            "factor",
            "price_current_cny",
            "price_constant_cny",
            "price_unit",
            "base_year",
            "deflator",
            "price_source",
            "price_confidence",
            "valid_fraction",
            "area_km2",
        )
        if c in valued.columns
    ]
    out = valued[cols + extra].copy()
    return out.sort_values(["level", "unit_id", "year", "service", "component"]).reset_index(
        drop=True
    )


def gep_by_unit(accounts: pd.DataFrame) -> pd.DataFrame:
    """GEP per unit and year (current and constant prices), per km², and its change."""
    keys = ["unit_id", "unit_name", "level", "parent_id", "year"]
    gep = accounts.groupby(keys, as_index=False)[["value_current_cny", "value_constant_cny"]].sum(
        min_count=1
    )
    if "area_km2" in accounts.columns:
        area = accounts.groupby(["unit_id", "level"], as_index=False)["area_km2"].first()
        gep = gep.merge(area, on=["unit_id", "level"], how="left")
        gep["gep_constant_cny_per_km2"] = gep["value_constant_cny"] / gep["area_km2"]
    gep = gep.rename(
        columns={"value_current_cny": "gep_current_cny", "value_constant_cny": "gep_constant_cny"}
    )
    gep = gep.sort_values(["level", "unit_id", "year"])
    grouped = gep.groupby(["level", "unit_id"])
    gep["change_constant_cny"] = grouped["gep_constant_cny"].diff()
    gep["change_current_cny"] = grouped["gep_current_cny"].diff()
    return gep.reset_index(drop=True)


def service_shares(accounts: pd.DataFrame) -> pd.DataFrame:
    """Share of each service in each unit's GEP per year (at constant prices)."""
    keys = ["unit_id", "level", "year"]
    by_service = pd.DataFrame(
        accounts.groupby([*keys, "service"], as_index=False)["value_constant_cny"].sum()
    )
    total = by_service.groupby(keys)["value_constant_cny"].transform("sum")
    by_service["share"] = by_service["value_constant_cny"] / total.where(total != 0)
    return by_service


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

    n_units, n_rasters = len(polygons), len(arrays)
    lazy = _same_blocks(arrays, block)
    chunks = [a.to_delayed() for a in lazy]  # each block's own task: no copy by dask
    row_edges = np.cumsum((0, *lazy[0].chunks[0]))
    col_edges = np.cumsum((0, *lazy[0].chunks[1]))
    pixels = _pixel_space(polygons, grid)
    tree = shapely.STRtree(pixels)
    wkb = np.asarray(shapely.to_wkb(pixels), dtype=object)
    rows = polygons["_row"].to_numpy()
    numbers = _CellNumbers(grid.crs.to_wkt(), (max(lazy[0].chunks[0]), max(lazy[0].chunks[1])))
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
                    dask.delayed(_block_totals, pure=False)(
                        rows[hit], wkb[hit].tolist(), bounds, numbers, *(c[i, j] for c in chunks)
                    )
                )
    sums = np.zeros((n_rasters, n_units))
    valid = np.zeros((n_rasters, n_units))
    covered = np.zeros(n_units)
    for hit_rows, part_sums, part_valid, part_covered in dask.compute(*parts):
        sums[:, hit_rows] += part_sums
        valid[:, hit_rows] += part_valid
        covered[hit_rows] += part_covered
    return sums, valid, covered


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


def _box(grid: Grid) -> shapely.Polygon:
    return shapely.box(*grid.bounds)


class _CellNumbers:
    """A raster numbering cells 0, 1, … row by row (float64: exact below 2⁵³), for blocks.

    One array of the largest block's shape serves every block of a sum (a block of ``w``
    columns reads a view of it, whose numbers ``n`` stand for cell ``(n // stride, n %
    stride)``); read-only, shared by the threads, sent to a dask.distributed worker empty
    and rebuilt there.
    """

    def __init__(self, wkt: str, shape: tuple[int, int]) -> None:
        if shape[1] >= 2**26 or shape[0] * shape[1] >= 2**52:
            raise InputError(
                f"zonal sum: blocks of {shape} cells are too large; use smaller chunks"
            )
        self.wkt = wkt
        self.shape = shape
        self.stride = shape[1]
        self._numbers: np.ndarray | None = None
        self._lock = threading.Lock()

    def __call__(self, shape: tuple[int, int]) -> np.ndarray:
        with self._lock:
            if self._numbers is None:
                numbers = np.arange(self.shape[0] * self.shape[1], dtype=np.float64)
                numbers.flags.writeable = False
                self._numbers = numbers.reshape(self.shape)
        return self._numbers[: shape[0], : shape[1]]

    def __getstate__(self) -> dict[str, Any]:
        return {"wkt": self.wkt, "shape": self.shape}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["wkt"], state["shape"])  # type: ignore[misc]


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


class _BlockSums(Writer):
    """Adds up each polygon's results as exactextract writes them (nothing per cell is kept).

    Two kinds of results: a polygon's covered cells (``values`` of the block's cell numbers:
    their indices) with their ``coverage`` fractions ``c`` (float32, as :func:`unit_level`'s),
    from which a compiled loop adds ``c·v`` for every raster; or, for one raster without
    nodata in the block, exactextract's own ``sum`` (``Σ c·v``) and ``count`` (``Σ c``).
    """

    def __init__(self, blocks: list[np.ndarray], n_units: int, stride: int) -> None:
        super().__init__()
        self.blocks = blocks
        self.stride = stride
        self.sums = np.zeros((len(blocks), n_units))
        self.valid = np.zeros((len(blocks), n_units))
        self.covered = np.zeros(n_units)

    def add_operation(self, op: object) -> None:
        """Nothing to set up per operation."""

    def add_column(self, col_name: str) -> None:
        """Nothing to set up per column."""

    def write(self, feature: Feature) -> None:
        """Add one polygon's results to its unit's totals."""
        out = JSONFeature()
        feature.copy_to(out)
        props = out.feature["properties"]
        row = int(props["_row"])
        if "values" not in props:  # one raster, no nodata: Σ c over valid cells = Σ c
            self.sums[0, row] += props["sum"]
            self.valid[0, row] += props["count"]
            self.covered[row] += props["count"]
            return
        index, fraction = props["values"], props["coverage"]
        self.covered[row] += fraction.sum()
        for k, values in enumerate(self.blocks):
            total, covered_valid = _covered_sum(index, fraction, values, self.stride)
            self.sums[k, row] += total
            self.valid[k, row] += covered_valid

    def features(self) -> None:
        """Results are in ``sums``, ``valid`` and ``covered``."""


def _block_totals(
    rows: np.ndarray,
    wkb: list[bytes],
    bounds: tuple[float, float, float, float],
    numbers: _CellNumbers,
    *blocks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One block's ``Σ c·v``, ``Σ c`` over valid cells (per raster) and ``Σ c`` per unit.

    ``rows`` numbers the units of the polygons ``wkb`` touching the block; the totals are
    returned for those units only (``rows`` first): plain arrays, small, picklable.
    exactextract's ``sum`` and ``count`` skip NaN cells (its nodata) but add ±inf, which
    :func:`zonal_sum` treats as nodata: its own operations serve only one raster whose block
    is all finite; otherwise the coverage of the block's cells is read once for all rasters.
    """
    left, bottom, right, top = bounds
    values = [_as_float(b) for b in blocks]
    sums = _BlockSums(values, len(rows), numbers.stride)
    if len(values) == 1 and _all_finite(values[0]):
        raster = values[0]
        ops = ["sum", "count"]
    else:
        raster = numbers(blocks[0].shape)
        ops = ["values", "coverage"]
    source = NumPyRasterSource(raster, left, bottom, right, top, srs_wkt=numbers.wkt)
    polygons = _Polygons(wkb, numbers.wkt)
    exact_extract(source, polygons, ops, include_cols=["_row"], output=sums)
    return rows, sums.sums, sums.valid, sums.covered


def _as_float(block: np.ndarray) -> np.ndarray:
    """The block as a 2-D float array (a view when it is one already: no copy)."""
    v = np.asarray(block)
    return v if v.dtype.kind == "f" else v.astype(np.float64)


@numba.njit(nogil=True, cache=True)
def _covered_sum(index, fraction, values, stride):  # pragma: no cover - numba
    """``Σ c·v`` and ``Σ c`` over covered cells with a finite value (float64 sums).

    ``index`` holds cell numbers ``n`` (float64) of a raster ``stride`` cells wide: cell ``n``
    is ``values[⌊n / stride⌋, n − ⌊n / stride⌋·stride]``. exactextract lists a polygon's
    cells row by row, so the row is recomputed only when ``n`` leaves the current one (the
    float division is exact here: ``n < 2⁵²``, ``stride < 2²⁶``).
    """
    total = 0.0
    valid = 0.0
    row = 0
    start = 0.0
    end = -1.0
    for t in range(index.size):
        n = index[t]
        if n >= end or n < start:
            first = np.floor(n / stride)
            row = np.int64(first)
            start = first * stride
            end = start + stride
        v = values[row, np.int64(n - start)]
        if np.isfinite(v):
            total += fraction[t] * v
            valid += fraction[t]
    return total, valid


@numba.njit(nogil=True, cache=True)
def _all_finite(values):  # pragma: no cover - numba
    """Whether every value of a 2-D array is finite (stops at the first that is not)."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            if not np.isfinite(values[r, c]):
                return False
    return True
