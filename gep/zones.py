"""Zonal sums on a cached zone raster: polygons burnt once at pixel centres, then one pass.

The accounts use exact fractional coverage (:mod:`gep.accounts`). Where many rasters are
summed over the same units and the units are large against a pixel, burning the polygons
once into a zone raster and summing every raster in one memory-bound pass is several times
faster (``PERFORMANCE.md``: 287 against 28 Mpx/s; ``benchmarks/``: 450–520 Mpx/s here); the
price is that a cell counts wholly for the unit holding its centre (``PERFORMANCE.md``
measured exact and pixel-centre sums ≤ 4e-4 apart per township-like polygon on 1e8 pixels).
Overlapping polygons: a cell goes to the last polygon that holds its centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features

from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep.kernels import reductions


@dataclass(frozen=True)
class ZoneRaster:
    """Units burnt into a grid: ``zones`` holds ``k + 1`` for the cells of ``unit_ids[k]``.

    Attributes
    ----------
    zones : numpy.ndarray of int32
        Zone number per cell (0: no unit).
    unit_ids : numpy.ndarray of str
        Unit id of each zone number − 1.
    """

    zones: np.ndarray
    unit_ids: np.ndarray


def zone_raster(polygons: gpd.GeoDataFrame, grid: Grid, *, id_field: str) -> ZoneRaster:
    """Burn unit polygons into ``grid`` at pixel centres (rasterio/GDAL rasterisation).

    Parameters
    ----------
    polygons : GeoDataFrame
        Units (any CRS: reprojected to the grid's).
    grid : Grid
        Target grid.
    id_field : str
        Field with the unit id.

    Returns
    -------
    ZoneRaster

    Raises
    ------
    InputError
        ``id_field`` missing.
    """
    if id_field not in polygons.columns:
        raise InputError(
            f"units: no field {id_field!r} (fields: {', '.join(map(str, polygons.columns))}); "
            "name the field that holds the unit id"
        )
    gdf = polygons.to_crs(grid.crs)
    shapes = [
        (geom, k + 1)
        for k, geom in enumerate(gdf.geometry)
        if geom is not None and not geom.is_empty
    ]
    # GDAL rasterises in chunks of rows that fit its block cache, walking every polygon for
    # every chunk: under a small cache (gep run's) a band of a 30 m grid took several times
    # longer. With room for the whole output it is one chunk (rasterio then holds up to twice
    # the output in temporary memory: callers pass bands, not whole large grids). rasterio
    # takes GDAL_CACHEMAX in bytes.
    out_bytes = 4 * grid.shape[0] * grid.shape[1]
    with rasterio.Env(GDAL_CACHEMAX=max(64 * 2**20, out_bytes + 2**24)):
        zones = rasterio.features.rasterize(
            shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32"
        )
    return ZoneRaster(zones, gdf[id_field].astype(str).to_numpy())


def zonal_sum_centres(raster: ZoneRaster, values: np.ndarray) -> pd.DataFrame:
    """Sums of ``values`` per unit of a zone raster (cells wholly in the unit of their centre).

    Parameters
    ----------
    raster : ZoneRaster
        From :func:`zone_raster`.
    values : numpy.ndarray
        2-D per-pixel totals on the zone raster's grid, NaN for nodata.

    Returns
    -------
    DataFrame
        ``unit_id, sum, valid_fraction`` (as :func:`gep.accounts.zonal_sum_chunked`): ``sum``
        is NaN for a unit that holds no cell centre, ``valid_fraction`` the share of its
        cells with a value.

    Examples
    --------
    >>> from affine import Affine
    >>> import shapely
    >>> from pyproj import CRS
    >>> grid = Grid(CRS.from_epsg(32650), Affine(10, 0, 0, 0, -10, 20), (2, 3))
    >>> units = gpd.GeoDataFrame({"id": ["a", "b"]},
    ...     geometry=[shapely.box(0, 10, 20, 20), shapely.box(0, 0, 30, 10)], crs="EPSG:32650")
    >>> v = np.array([[1.5, 2.0, 9.0], [np.nan, 4.0, 0.5]])
    >>> zonal_sum_centres(zone_raster(units, grid, id_field="id"), v).to_dict("list")
    {'unit_id': ['a', 'b'], 'sum': [3.5, 4.5], 'valid_fraction': [1.0, 0.6666666666666666]}
    """
    if values.shape != raster.zones.shape:
        raise InputError(
            f"values of shape {values.shape} are not on the zone raster's grid {raster.zones.shape}"
        )
    n = raster.unit_ids.size
    sums, valid, cells = reductions.zone_sums(raster.zones, values, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(cells > 0, valid / np.maximum(cells, 1), 0.0)
    return pd.DataFrame(
        {
            "unit_id": raster.unit_ids,
            "sum": np.where(cells > 0, sums, np.nan),
            "valid_fraction": fraction,
        }
    )
