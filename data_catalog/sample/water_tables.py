"""Synthetic water tables of the sample region: cross-district sections and gauges.

Ten monitoring sections between districts with monthly outflow and inflow COD, NH3-N and TP
(the linkage layer's two-way water compensation columns), and four gauges on the synthetic
rivers with their catchments and "observed" annual runoff.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyflwdir
import shapely
from rasterio.features import shapes

from data_catalog.sample.region import CELL, CRS, YEARS, Region, rng_for

# GB 3838-2002 surface-water class limits (mg/L) for classes I..V (rivers; TP river limits)
GB3838_LIMITS = {
    "cod": (15, 15, 20, 30, 40),
    "nh3_n": (0.15, 0.5, 1.0, 1.5, 2.0),
    "tp": (0.02, 0.1, 0.2, 0.3, 0.4),
}
# (section id, river, upstream district, downstream district, target class): synthetic
SECTIONS = [
    ("S01", "潮白河", "110118", "110113", 2),
    ("S02", "潮白河", "110113", "110112", 3),
    ("S03", "永定河", "110109", "110107", 3),
    ("S04", "永定河", "110107", "110106", 3),
    ("S05", "北运河", "110114", "110105", 4),
    ("S06", "北运河", "110105", "110112", 4),
    ("S07", "泃河", "110117", "110113", 3),
    ("S08", "妫水河", "110119", "110109", 3),
    ("S09", "怀河", "110116", "110113", 3),
    ("S10", "大石河", "110111", "110106", 4),
]
HEADWATERS = {"S01", "S03", "S05", "S07", "S08", "S09", "S10"}  # no upstream section
BASE_MG_L = {"cod": 12.0, "nh3_n": 0.45, "tp": 0.09}


def water_class(concentrations: dict[str, float]) -> int:
    """GB 3838-2002 class (1–5, 6 = worse than V): the worst class over COD, NH3-N and TP."""
    worst = 1
    for pollutant, limits in GB3838_LIMITS.items():
        cls = next((i + 1 for i, lim in enumerate(limits) if concentrations[pollutant] <= lim), 6)
        worst = max(worst, cls)
    return worst


def make_water_quality() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-district sections and monthly outflow/inflow concentrations (synthetic).

    Columns follow the linkage layer's two-way water compensation tables: sections
    ``section_id, section_name, upstream_unit_id, downstream_unit_id, target_class,
    water_body``; monthly ``section_id, year, month, pollutant, outflow_mg_per_l,
    inflow_mg_per_l`` (inflow empty where the river rises in the upstream district).
    """
    rng = rng_for("water")
    sections = pd.DataFrame(
        [
            (sid, f"{river} {up}/{down} (synthetic)", up, down, target, "river")
            for sid, river, up, down, target in SECTIONS
        ],
        columns=[
            "section_id",
            "section_name",
            "upstream_unit_id",
            "downstream_unit_id",
            "target_class",
            "water_body",
        ],
    )
    rows = []
    for sid, _, _, _, target in SECTIONS:
        for year in YEARS:
            for month in range(1, 13):
                scale = [0.0, 0.8, 1.0, 1.2, 1.6, 2.0][target] * (
                    1.0 + 0.25 * rng.standard_normal()
                )
                wet = 1.25 if month in (7, 8) else 1.0
                trend = 0.9 if year == 2020 else 1.0
                f_out = max(scale * wet * trend, 0.1)
                f_in = max(f_out * (1.0 + 0.15 * rng.standard_normal()), 0.1)
                for pollutant, base in BASE_MG_L.items():
                    rows.append(
                        {
                            "section_id": sid,
                            "year": year,
                            "month": month,
                            "pollutant": pollutant,
                            "outflow_mg_per_l": round(base * f_out, 3),
                            "inflow_mg_per_l": None if sid in HEADWATERS else round(base * f_in, 3),
                        }
                    )
    return sections, pd.DataFrame(rows)


def make_gauges(
    region: Region, dem: np.ndarray, aets: dict[int, np.ndarray], precips: dict[int, np.ndarray]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Four gauges on the synthetic rivers, their catchments and 'observed' annual runoff.

    The observations are the catchment mean of P − AET of the synthetic fields times a
    multiplicative noise of 5 % (so calibration has something to recover), in mm yr⁻¹ and m³.
    """
    flw = pyflwdir.from_dem(dem.astype(np.float32), transform=region.transform, latlon=False)
    upa = flw.upstream_area(unit="km2")
    rng = rng_for("gauges")
    candidates = np.argwhere(region.inside & (upa > 300) & (upa < 2500))
    order = rng.permutation(len(candidates))
    chosen: list[tuple[int, int]] = []
    basins = np.zeros(region.shape, dtype=np.int32)
    for idx in order:
        r, c = candidates[idx]
        basin = flw.basins(xy=(region.x[r, c], region.y[r, c])) > 0
        if (basins[basin] > 0).any() or not region.inside[basin].all():
            continue
        chosen.append((r, c))
        basins[basin] = len(chosen)
        if len(chosen) == 4:
            break
    polys = [
        {"gauge_id": f"G{int(v)}", "geometry": shapely.geometry.shape(g)}
        for g, v in shapes(basins, mask=basins > 0, transform=region.transform)
    ]
    catchments = gpd.GeoDataFrame(polys, crs=CRS).dissolve("gauge_id", as_index=False)
    rows = []
    for i, (r, c) in enumerate(chosen, start=1):
        cells = basins == i
        for year in YEARS:
            mm = float(np.mean(precips[year][cells] - aets[year][cells])) * (
                1 + 0.05 * rng.standard_normal()
            )
            rows.append(
                {
                    "gauge_id": f"G{i}",
                    "x": region.x[r, c],
                    "y": region.y[r, c],
                    "year": year,
                    "catchment_km2": round(cells.sum() * CELL * CELL / 1e6, 2),
                    "observed_runoff_mm": round(mm, 1),
                    "observed_runoff_m3": round(mm / 1000 * cells.sum() * CELL * CELL),
                }
            )
    return catchments, pd.DataFrame(rows)
