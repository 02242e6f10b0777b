"""Watershed polygons with integer ids, for ``gep invest annual_water_yield``.

Read with :func:`data_catalog.vectors.read_vector` (geopandas and pyogrio: every OGR format),
reprojected to the rasters' CRS; the ids are checked here (integers, present, unique) with
the messages InVEST users get from gep. A reader of GeoPackages through :mod:`sqlite3` was
tried to spare the 0.3 s geopandas' import costs and left out: it rewrote part of what OGR
does for one model's start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gep.errors import InputError
from gep.invest.tables import parse_number


@dataclass(frozen=True)
class Features:
    """Polygons with unique integer ids, in the rasters' CRS.

    Attributes
    ----------
    id_field : str
        Name of the id field (lower case, as InVEST names it).
    ids : numpy.ndarray
        int64 ids, one per feature, in the file's order.
    geometries : list
        Shapely geometries.
    """

    id_field: str
    ids: np.ndarray
    geometries: list[Any]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of all features (NaN without any, as geopandas)."""
        import shapely

        if not self.geometries:
            return (math.nan, math.nan, math.nan, math.nan)
        b = shapely.bounds(np.asarray(self.geometries, dtype=object))
        return (
            float(np.nanmin(b[:, 0])),
            float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])),
            float(np.nanmax(b[:, 3])),
        )


def read_features(path: Path, *, name: str, id_field: str, crs: Any) -> Features:
    """Read polygons and their integer ids, reprojected to ``crs`` when the file's differs.

    Parameters
    ----------
    path : pathlib.Path
        Vector file (any OGR format).
    name : str
        Layer name for messages.
    id_field : str
        Integer id field, matched case-insensitively.
    crs : rasterio.crs.CRS
        CRS of the rasters.

    Raises
    ------
    InputError
        Unreadable file; missing id field; ids missing, not integers or repeated.
    """
    return _read_with_geopandas(path, name=name, id_field=id_field, crs=crs)


def _check_ids(path: Path, fields: list[str], rows: dict[str, list[Any]], id_field: str) -> Any:
    """The id field's values as int64, or the error InVEST users get from gep."""
    columns = {c.lower(): c for c in fields}
    if id_field not in columns:
        raise InputError(
            f"{path}: expected the field '{id_field}' but did not find it (fields: {fields}); "
            "add an integer id field"
        )
    ids = np.array([_id_number(v) for v in rows[columns[id_field]]], dtype=np.float64)
    if (~np.isfinite(ids)).any() or (ids != np.round(ids)).any():
        raise InputError(f"{path}: field '{id_field}' must hold integers on every feature")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        repeated = sorted({int(v) for v in unique[counts > 1]})
        raise InputError(
            f"{path}: field '{id_field}' repeats {repeated}; "
            "ids must be unique to report one volume per watershed"
        )
    return ids.astype(np.int64)


def _id_number(value: Any) -> float:
    """``pandas.to_numeric(value, errors="coerce")`` for one field value."""
    if value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    return parse_number(str(value).strip())


def _read_with_geopandas(path: Path, *, name: str, id_field: str, crs: Any) -> Features:
    from data_catalog.vectors import read_vector

    gdf = read_vector(path, name=name)
    fields = [str(c) for c in gdf.columns]
    rows = {str(c): gdf[c].tolist() for c in gdf.columns if c != gdf.geometry.name}
    ids = _check_ids(path, fields, rows, id_field)
    if gdf.crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)  # InVEST requires one projection; reprojecting is harmless here
    return Features(id_field, ids, list(gdf.geometry))
