"""Boundaries and other vector layers: read with pyogrio/geopandas, check CRS, undo GCJ-02."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from data_catalog.errors import CRSError, InputError
from data_catalog.gcj02 import gcj02_to_wgs84

#: The pseudo-CRS name for Chinese web-map offset coordinates.
GCJ02 = "GCJ-02"


def read_vector(
    path: str | Path,
    *,
    name: str,
    crs: str | None = None,
    id_field: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer and return it in a real CRS.

    Parameters
    ----------
    path : path-like
        Any OGR-readable vector file (GeoPackage, GeoJSON, Shapefile...).
    name : str
        Layer name for messages.
    crs : str, optional
        Declared CRS. ``"GCJ-02"`` means Chinese web-map offset coordinates: the geometry is
        converted to WGS84 (EPSG:4326). A declared CRS is used when the file has none and
        must agree with the file's CRS when it has one (GeoJSON files always read as
        EPSG:4326, so ``GCJ-02`` is accepted over them).
    id_field : str, optional
        Field that must exist and hold unique, non-null identifiers.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{name}: vector file not found: {path}")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:
        raise InputError(f"{name}: cannot open {path} as a vector layer ({exc})") from exc
    gdf = _resolve_crs(gdf, name, crs)
    if id_field is not None:
        _check_ids(gdf, name, id_field)
    return gdf


def _resolve_crs(gdf: gpd.GeoDataFrame, name: str, crs: str | None) -> gpd.GeoDataFrame:
    if crs is not None and crs.upper().replace("_", "-") in ("GCJ-02", "GCJ02"):
        return gcj02_to_wgs84_frame(gdf.set_crs("EPSG:4326", allow_override=True))
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f"{name}: the layer has no CRS; declare `crs:` in the catalog (e.g. EPSG:4326)"
            )
        return gdf.set_crs(crs)
    if crs is not None and pyproj.CRS.from_user_input(crs) != gdf.crs:
        raise CRSError(
            f"{name}: the file's CRS {gdf.crs.to_string()} differs from the declared {crs}; "
            "fix the catalog's `crs:` or reproject the file"
        )
    return gdf


def gcj02_to_wgs84_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert every vertex of a GCJ-02 layer to WGS84 (EPSG:4326)."""

    def transform(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = gdf.copy()
    out.geometry = shapely.transform(gdf.geometry.values, transform)
    return out.set_crs("EPSG:4326", allow_override=True)


def _check_ids(gdf: gpd.GeoDataFrame, name: str, id_field: str) -> None:
    if id_field not in gdf.columns:
        raise InputError(
            f"{name}: expected the field {id_field!r} but found {list(gdf.columns)}; "
            "set `id_field:` in the catalog to the field that identifies the units"
        )
    ids = gdf[id_field]
    if ids.isna().any():
        raise InputError(f"{name}.{id_field}: {int(ids.isna().sum())} features have no id")
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"{name}.{id_field}: duplicate ids {dup[:10]}; ids must be unique")
