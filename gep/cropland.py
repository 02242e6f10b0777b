"""Cropland accounts of the land cover, for the linkage's cropland programme (耕地保护补偿).

Zonal sums of the land-cover maps (not of a service): cropland area per unit and year and the
cropland lost to construction since the previous accounted year.
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from data_catalog.catalog import Catalog
from data_catalog.tables import load_scheme
from gep.accounts import UnitLevel
from gep.accounts.zonal import sum_levels

#: Chunk edge of the land-cover reads on grids summed block by block.
CHUNK = 2048

__all__ = ["cropland_areas"]


def cropland_areas(cat: Catalog, levels: list[UnitLevel], years: list[int]) -> pd.DataFrame:
    """Cropland area per unit and year, and cropland lost to construction since the last year.

    The ``cropland_areas`` table of the linkage cropland programme
    (:mod:`linkage.programmes.cropland`): ``cropland_area_m2 = Σ W·[lc = cropland]·A`` (exact
    coverage ``W``, cell area ``A``) and ``cropland_to_construction_m2 = Σ W·[lc_prev =
    cropland and lc = built-up]·A`` against the previous year of ``years`` (0 for the first).
    Classes are those of the scheme's ecosystem types ``cropland`` and ``built_up``. With
    blockwise levels the land cover is read by chunks (memory bounded by the chunk).

    Parameters
    ----------
    cat : Catalog
        The catalog (land cover per year, its class scheme, the grid).
    levels : list of UnitLevel
        Accounting units.
    years : list of int
        Accounted years.

    Returns
    -------
    pandas.DataFrame
        ``unit_id, level, year, cropland_area_m2, cropland_to_construction_m2``.
    """
    grid = cat.reference_grid()
    lazy = any(level.blockwise for level in levels)
    chunks = {"y": CHUNK, "x": CHUNK} if lazy else None
    area = xr.DataArray(grid.cell_area_m2()[:, 0], dims=("y",))
    frames = []
    previous: xr.DataArray | None = None
    for year in sorted(years):
        entry_id = cat.find(variable="landcover", year=year)
        da = cat.raster(entry_id, chunks=chunks)
        scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
        types = scheme.set_index(scheme["code"].astype(int))["ecosystem_type"]
        codes = da.drop_vars("valid", errors="ignore")
        built = codes.isin(types.index[types == "built_up"].to_numpy())
        crop = codes.isin(types.index[types == "cropland"].to_numpy()) & da.coords["valid"]
        lost = (previous & built) if previous is not None else xr.zeros_like(crop)
        rasters = [
            xr.where(crop, area, 0.0).transpose("y", "x"),
            xr.where(lost, area, 0.0).transpose("y", "x"),
        ]
        for level, sums in zip(levels, sum_levels(levels, rasters), strict=True):
            frames.append(
                pd.DataFrame(
                    {
                        "unit_id": level.ids,
                        "level": level.level,
                        "year": year,
                        "cropland_area_m2": sums[0][0],
                        "cropland_to_construction_m2": sums[1][0],
                    }
                )
            )
        previous = crop
    return pd.concat(frames, ignore_index=True)
