"""Cropland accounts of the land cover, for the linkage's cropland programme (耕地保护补偿).

Zonal sums of the land-cover maps (not of a service): cropland area per unit and year and the
cropland lost to construction since the previous accounted year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from data_catalog.tables import load_scheme
from gep.accounts import UnitLevel, zonal_sum

__all__ = ["cropland_areas"]


def cropland_areas(cat: Catalog, levels: list[UnitLevel], years: list[int]) -> pd.DataFrame:
    """Cropland area per unit and year, and cropland lost to construction since the last year.

    The ``cropland_areas`` table of the linkage cropland programme
    (:mod:`linkage.programmes.cropland`): ``cropland_area_m2 = Σ W·[lc = cropland]·A`` (exact
    coverage ``W``, cell area ``A``) and ``cropland_to_construction_m2 = Σ W·[lc_prev =
    cropland and lc = built-up]·A`` against the previous year of ``years`` (0 for the first).
    Classes are those of the scheme's ecosystem types ``cropland`` and ``built_up``.

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
    area = np.broadcast_to(cat.reference_grid().cell_area_m2(), cat.reference_grid().shape)
    frames = []
    previous: np.ndarray | None = None
    for year in sorted(years):
        entry_id = cat.find(variable="landcover", year=year)
        da = cat.raster(entry_id)
        scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
        types = scheme.set_index(scheme["code"].astype(int))["ecosystem_type"]
        crop_codes = types.index[types == "cropland"].to_numpy()
        built = np.isin(da.values, types.index[types == "built_up"].to_numpy())
        crop = np.isin(da.values, crop_codes) & da.coords["valid"].values
        lost = (previous & built) if previous is not None else np.zeros_like(crop)
        for level in levels:
            cropland, _ = zonal_sum(level, np.where(crop, area, 0.0))
            loss, _ = zonal_sum(level, np.where(lost, area, 0.0))
            frames.append(
                pd.DataFrame(
                    {
                        "unit_id": level.ids,
                        "level": level.level,
                        "year": year,
                        "cropland_area_m2": cropland,
                        "cropland_to_construction_m2": loss,
                    }
                )
            )
        previous = crop
    return pd.concat(frames, ignore_index=True)
