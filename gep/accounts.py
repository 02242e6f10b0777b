"""Zonal accounts: per-pixel quantities summed per district and township, exactly.

Each unit polygon's exact fractional coverage of every pixel comes from exactextract (Baston
2022, *exactextract*: the area fraction of each cell covered by the polygon). The fractions are
kept as a sparse matrix ``W`` (units × pixels), so that the sum of any raster ``v`` over every
unit is one sparse product ``W·v``: the polygons are intersected with the grid once, and every
service, year and component reuses it.

Rules (what a statistics bureau checks):

* a unit's quantity is ``Σ_pixels W[u, pixel]·v[pixel]`` over valid pixels; the share of the
  unit's area with valid data is reported beside it (``valid_fraction``);
* a unit that does not overlap the grid at all is reported and its quantities are missing
  (NaN), never a silent zero;
* townships inside a district add up to the district: checked for every quantity and reported
  (``check_hierarchy``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

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


@dataclass
class UnitLevel:
    """The accounting units of one level and their exact coverage of the grid.

    Parameters
    ----------
    level : str
        ``"district"`` or ``"township"`` (any name works).
    units : DataFrame
        ``unit_id, unit_name, parent_id, area_km2`` (area of the polygon in the grid CRS).
    weights : scipy.sparse.csr_matrix
        Coverage fraction of each pixel by each unit, shape ``(n_units, rows × cols)``.
    warnings : list of str
        Units that do not overlap the grid, and similar data-quality notes.
    """

    level: str
    units: pd.DataFrame
    weights: sp.csr_matrix
    warnings: list[str] = field(default_factory=list)

    @property
    def ids(self) -> np.ndarray:
        """Unit ids in matrix row order."""
        return self.units["unit_id"].to_numpy()


def unit_level(
    polygons: gpd.GeoDataFrame,
    grid: Grid,
    *,
    level: str,
    id_field: str,
    name_field: str | None = None,
    parent_field: str | None = None,
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
    """
    if polygons.crs is None:
        raise InputError(f"{level} units have no CRS; declare it in the catalog")
    gdf = polygons.to_crs(grid.crs.to_wkt()).reset_index(drop=True)
    gdf = gdf.assign(_row=np.arange(len(gdf)))
    left, bottom, right, top = grid.bounds
    ones = NumPyRasterSource(
        np.ones(grid.shape, dtype=np.float32), left, bottom, right, top, srs_wkt=grid.crs.to_wkt()
    )
    cover = exact_extract(
        ones,
        gdf[["_row", "geometry"]],
        ["cell_id", "coverage"],
        include_cols=["_row"],
        output="pandas",
    )
    weights = _sparse_weights(cover, len(gdf), grid)
    units = pd.DataFrame(
        {
            "unit_id": gdf[id_field].astype(str).to_numpy(),
            "unit_name": gdf[name_field].astype(str).to_numpy() if name_field else "",
            "parent_id": gdf[parent_field].astype(str).to_numpy() if parent_field else "",
            "area_km2": gdf.geometry.area.to_numpy() * grid.linear_unit_factor() ** 2 / 1e6,
        }
    )
    units["level"] = level
    found = UnitLevel(level, units, weights)
    empty = np.flatnonzero(np.asarray(weights.sum(axis=1)).ravel() == 0)
    for i in empty:
        found.warnings.append(
            f"{level} {units['unit_id'].iloc[i]!s} ({units['unit_name'].iloc[i]!s}) does not "
            "overlap the "
            "raster grid: its quantities are reported as missing (NaN), not zero"
        )
    return found


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
        Units and their coverage.
    values : DataArray or ndarray
        Per-pixel totals (m³, t, t CO₂ per pixel, not densities) on the grid; NaN = nodata.

    Returns
    -------
    sums : ndarray
        ``Σ W·v`` over valid pixels; NaN for units that cover no pixel.
    valid_fraction : ndarray
        Share of the unit's covered area where ``values`` is valid (1 when complete).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size != level.weights.shape[1]:
        raise InputError(
            f"zonal sum: raster has {v.size} cells but the {level.level} coverage was built for "
            f"{level.weights.shape[1]}; sum rasters on the grid the units were intersected with"
        )
    valid = np.isfinite(v)
    sums = level.weights @ np.where(valid, v, 0.0)
    covered = np.asarray(level.weights.sum(axis=1)).ravel()
    covered_valid = level.weights @ valid.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(covered > 0, covered_valid / np.where(covered > 0, covered, 1), 0.0)
    sums = np.where(covered > 0, sums, np.nan)
    return sums, fraction


def quantity_table(
    levels: list[UnitLevel],
    quantities: dict[tuple[str, int], xr.DataArray],
) -> pd.DataFrame:
    """Tidy table of physical quantities per unit, year and quantity name.

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
    frames = []
    for (name, year), da in quantities.items():
        units = da.attrs.get("units")
        if not units:
            raise InputError(f"quantity '{name}' ({year}) has no units attribute")
        for level in levels:
            sums, fraction = zonal_sum(level, da.values)
            frame = level.units.assign(
                year=year,
                quantity_name=name,
                quantity=sums,
                quantity_unit=units,
                valid_fraction=fraction,
            )
            frames.append(frame)
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
    values: xr.DataArray,
    *,
    id_field: str,
) -> pd.DataFrame:
    """Exact zonal sums of a raster of any size, block by block (bounded memory).

    The coverage fraction of a cell by a polygon depends on that cell and polygon only, so
    intersecting the polygons with each dask block of ``values`` (exactextract on the block's
    window) gives the same fractions as :func:`unit_level` on the whole grid; the per-block
    products ``W_block·v_block`` are added up. Memory is set by the block, not the raster (the
    whole-grid sparse matrix of :func:`unit_level` holds ≈ 12 bytes per covered pixel).

    Parameters
    ----------
    polygons : GeoDataFrame
        Unit polygons (any CRS; reprojected to the grid's).
    grid : Grid
        Grid of ``values``.
    values : xarray.DataArray
        Per-pixel totals, numpy- or dask-backed; NaN is nodata.
    id_field : str
        Field with the unit id.

    Returns
    -------
    DataFrame
        ``unit_id, sum, valid_fraction`` with the meaning of :func:`zonal_sum`'s results
        (``sum`` NaN for units that cover no pixel).
    """
    import dask

    gdf = polygons.to_crs(grid.crs.to_wkt()).reset_index(drop=True)
    gdf = gdf.assign(_row=np.arange(len(gdf)))
    data = values.data
    if not hasattr(data, "blocks"):
        import dask.array as dsa

        data = dsa.from_array(np.asarray(data), chunks=2048)
    row_edges = np.cumsum((0, *data.chunks[0]))
    col_edges = np.cumsum((0, *data.chunks[1]))
    parts = []
    for i in range(len(row_edges) - 1):
        for j in range(len(col_edges) - 1):
            window = (
                slice(int(row_edges[i]), int(row_edges[i + 1])),
                slice(int(col_edges[j]), int(col_edges[j + 1])),
            )
            sub = _block_grid(grid, window)
            inside = gdf[gdf.intersects(_box(sub))]
            if len(inside):
                parts.append(dask.delayed(_block_sums)(data.blocks[i, j], inside, sub, len(gdf)))
    totals = np.sum(dask.compute(*parts), axis=0) if parts else np.zeros((3, len(gdf)))
    sums, covered_valid, covered = totals
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(covered > 0, covered_valid / np.where(covered > 0, covered, 1), 0.0)
    return pd.DataFrame(
        {
            "unit_id": gdf[id_field].astype(str).to_numpy(),
            "sum": np.where(covered > 0, sums, np.nan),
            "valid_fraction": fraction,
        }
    )


def _block_grid(grid: Grid, window: tuple[slice, slice]) -> Grid:
    rows, cols = window
    transform = grid.transform * grid.transform.translation(cols.start, rows.start)
    return Grid(grid.crs, transform, (rows.stop - rows.start, cols.stop - cols.start))


def _box(grid: Grid) -> object:
    import shapely

    return shapely.box(*grid.bounds)


def _block_sums(
    block: np.ndarray, polygons: gpd.GeoDataFrame, grid: Grid, n_units: int
) -> np.ndarray:
    """Σ W·v, Σ W over valid cells and Σ W for every unit, on one block (3 × n_units)."""
    left, bottom, right, top = grid.bounds
    ones = NumPyRasterSource(
        np.ones(grid.shape, dtype=np.float32), left, bottom, right, top, srs_wkt=grid.crs.to_wkt()
    )
    cover = exact_extract(
        ones,
        polygons[["_row", "geometry"]],
        ["cell_id", "coverage"],
        include_cols=["_row"],
        output="pandas",
    )
    weights = _sparse_weights(cover, n_units, grid)
    v = np.asarray(block, dtype=np.float64).ravel()
    valid = np.isfinite(v)
    return np.stack(
        [
            weights @ np.where(valid, v, 0.0),
            weights @ valid.astype(np.float64),
            np.asarray(weights.sum(axis=1)).ravel(),
        ]
    )
