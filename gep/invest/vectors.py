"""Watershed polygons with integer ids, for ``gep invest annual_water_yield``.

Read with :func:`data_catalog.vectors.read_vector` (geopandas and pyogrio: every OGR format)
and reprojected to the rasters' CRS; the ids are checked here (integers, present, unique) with
the messages InVEST users get from gep.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gep.errors import InputError


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
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` of all features, in the rasters' CRS units.
    """

    id_field: str
    ids: np.ndarray
    geometries: list[Any]
    bounds: tuple[float, float, float, float]


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
        Unreadable file; missing id field; ids missing, not finite integers or repeated.
    """
    import pandas as pd

    from data_catalog.vectors import read_vector

    gdf = read_vector(path, name=name)
    columns = {str(c).lower(): c for c in gdf.columns}
    if id_field not in columns:
        raise InputError(
            f"{path}: expected the field '{id_field}' but did not find it "
            f"(fields: {[str(c) for c in gdf.columns]}); add an integer id field"
        )
    ids = pd.to_numeric(gdf[columns[id_field]], errors="coerce").astype(np.float64).to_numpy()
    if (~np.isfinite(ids)).any() or (ids != np.round(ids)).any():
        raise InputError(f"{path}: field '{id_field}' must hold integers on every feature")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise InputError(
            f"{path}: field '{id_field}' repeats {sorted(int(v) for v in unique[counts > 1])}; "
            "ids must be unique to report one volume per watershed"
        )
    if gdf.crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)  # InVEST requires one projection; reprojecting is harmless here
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    return Features(id_field, ids.astype(np.int64), list(gdf.geometry), (minx, miny, maxx, maxy))
