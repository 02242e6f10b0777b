"""The footprint on the grid: read, check, convert its pixels to built-up land, analogue inputs."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import geopandas as gpd
import numpy as np
import xarray as xr
from shapely.geometry.base import BaseGeometry

from data_catalog.catalog import Catalog
from data_catalog.grid import Grid
from data_catalog.tables import load_scheme
from gep.accounts import unit_level
from gep.config import RunConfig
from gep.errors import CRSError, InputError
from gep.occupation.config import ANALOGUE_VARIABLES


def read_footprint(path: Path, grid: Grid, reproject: bool) -> gpd.GeoDataFrame:
    """Read the footprint polygons; refuse a missing file, no polygon or another CRS (unless reprojected)."""
    if not Path(path).is_file():
        raise InputError(f"footprint file not found: {path}")
    gdf = gpd.read_file(path)
    polygons = gdf[gdf.geometry.notna() & gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise InputError(
            f"footprint {path}: no polygon found (geometry types {sorted(set(gdf.geom_type))}); "
            "give the construction footprint as one or more polygons"
        )
    if polygons.crs is None:
        raise CRSError(
            f"footprint {path}: has no CRS, so it cannot be placed on the region's grid "
            f"({grid.crs.to_string()}); write the CRS into the file (e.g. ogr2ogr -a_srs)"
        )
    if not polygons.crs.equals(grid.crs):
        if not reproject:
            raise CRSError(
                f"footprint {path}: is in {polygons.crs.to_string()} but the region's grid is in "
                f"{grid.crs.to_string()}, and no transform was asked for; reproject the file "
                f"(ogr2ogr -t_srs {grid.crs.to_string()}) or set occupation.reproject: true "
                "(--reproject)"
            )
        polygons = polygons.to_crs(grid.crs.to_wkt())
    merged = polygons.geometry.union_all()
    return gpd.GeoDataFrame(
        {"footprint_id": ["footprint"]}, geometry=[merged], crs=grid.crs.to_wkt()
    )


def region_outline(
    cat: Catalog, run: RunConfig, grid: Grid
) -> tuple[gpd.GeoDataFrame, BaseGeometry]:
    """The first level's units in the grid's CRS and their union (the accounted region)."""
    units = cat.vector(run.units[0].entry).to_crs(grid.crs.to_wkt())
    return units, units.geometry.union_all()


def check_inside(footprint: gpd.GeoDataFrame, region: BaseGeometry, path: Path) -> None:
    """Refuse a footprint that lies partly outside the accounted region."""
    shape = footprint.geometry.iloc[0]
    outside = shape.difference(region).area
    if outside > 1e-6 * shape.area:
        raise InputError(
            f"footprint {path}: {outside / shape.area:.1%} of its area "
            f"({outside / 1e6:.3f} km2) lies outside the accounting region; the services are "
            "only computed inside it; clip the footprint to the region or use a catalog that "
            "covers it"
        )


@dataclass(frozen=True)
class Conversion:
    """The land cover of ``year`` before and after the footprint is built up, and what changed."""

    year: int
    target: int
    mask: np.ndarray  # converted pixels (rows, cols)
    coverage: np.ndarray  # footprint coverage fraction per pixel
    before: xr.DataArray
    after: xr.DataArray
    classes_before: dict[int, int]


def built_up_class(cat: Catalog, landcover_id: str) -> int:
    """The class code of the scheme's built-up ecosystem type (CLCD 8, impervious)."""
    scheme = load_scheme(cat.entry(landcover_id).class_scheme or "clcd")
    codes = scheme.loc[scheme["ecosystem_type"] == "built_up", "code"].astype(int).tolist()
    if len(codes) != 1:
        raise InputError(
            f"{landcover_id}: the class scheme has {len(codes)} built-up classes {codes}; "
            "occupation needs exactly one class to convert the footprint to"
        )
    return int(codes[0])


def convert_footprint(
    cat: Catalog, footprint: gpd.GeoDataFrame, year: int, min_coverage: float
) -> Conversion:
    """Convert pixels covered at least ``min_coverage`` by the footprint to the built-up class."""
    grid = cat.reference_grid()
    level = unit_level(footprint, grid, level="footprint", id_field="footprint_id")
    coverage = np.asarray(level.weights.sum(axis=0)).reshape(grid.shape)
    landcover_id = cat.find(variable="landcover", year=year)
    before = cat.raster(landcover_id)
    target = built_up_class(cat, landcover_id)
    valid = before.coords["valid"].values
    mask = (coverage >= min_coverage) & valid & (before.values != target)
    if not mask.any():
        raise InputError(
            f"footprint: no pixel to convert in {year}: none is covered to at least "
            f"{min_coverage:.0%} (largest coverage {coverage.max():.0%}) with a land cover "
            "other than built-up; the footprint may be already built up or smaller than the "
            "grid resolution (lower occupation.min_coverage)"
        )
    after = before.copy(deep=True)
    values = after.values
    values[mask] = target
    codes, counts = np.unique(before.values[mask], return_counts=True)
    return Conversion(
        year,
        target,
        mask,
        coverage,
        before,
        after,
        {int(c): int(n) for c, n in zip(codes, counts, strict=True)},
    )


@dataclass
class Overlay(Catalog):
    """The catalog with some rasters replaced (the converted state)."""

    overrides: dict[str, xr.DataArray] | None = None

    def raster(
        self,
        entry_id: str,
        *,
        chunks: int | dict[str, int] | None = None,
        window: tuple[slice, slice] | None = None,
    ) -> xr.DataArray:
        """The replaced raster for an overridden entry, else the catalog's (or their window)."""
        if self.overrides and entry_id in self.overrides:
            return self.window_of(self.overrides[entry_id], window)
        return super().raster(entry_id, chunks=chunks, window=window)


def analogue_rasters(cat: Catalog, conv: Conversion, how: str) -> dict[str, xr.DataArray]:
    """Inputs the land cover does not drive, set on converted pixels to the built-up median (``class_median``)."""
    out: dict[str, xr.DataArray] = {}
    built = conv.before.coords["valid"].values & (conv.before.values == conv.target)
    for variable in ANALOGUE_VARIABLES:
        try:
            entry_id = cat.find(variable=variable, year=conv.year)
        except InputError:
            continue
        if how == "keep":
            continue
        da = cat.raster(entry_id)
        reference = da.values[built & np.isfinite(da.values)]
        if reference.size == 0:
            raise InputError(
                f"{entry_id}: no built-up pixel with data in {conv.year} to take the "
                "converted pixels' value from; set occupation.analogue: keep"
            )
        changed = da.copy(deep=True)
        changed.values[conv.mask] = np.median(reference)
        out[entry_id] = changed
    return out


def overlay(cat: Catalog, conv: Conversion, analogue: str) -> Overlay:
    """A catalog that reads the converted land cover (and analogue inputs) instead of the files."""
    state = {f.name: getattr(cat, f.name) for f in fields(cat)}
    overrides = {cat.find(variable="landcover", year=conv.year): conv.after}
    overrides.update(analogue_rasters(cat, conv, analogue))
    return Overlay(**state, overrides=overrides)
