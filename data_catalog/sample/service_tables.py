"""Synthetic input tables of the GEP services for the sample region.

Township statistics of provisioning and cultural services (with the reservoirs' capacity),
their 2020 unit prices, pollutant loads per township and the parameter table (built-in sourced
values completed with synthetic ones). Illustrative values only, not data about Beijing.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import rasterize

from data_catalog.sample.region import (
    BUILT,
    CELL,
    CROP,
    FOREST,
    RESERVOIRS_LONLAT,
    SYNTHETIC,
    WATER,
    YEARS,
    Region,
    rng_for,
    to_utm,
)

#: Synthetic statistics of provisioning and cultural services: item → (GEP service, land-cover
#: class the output comes from, output per ha of that class per year, unit). Illustrative only.
STATISTICS = {
    "grain": ("agricultural_products", CROP, 2.5, "t yr-1"),
    "vegetables": ("agricultural_products", CROP, 4.0, "t yr-1"),
    "fruit": ("forestry_products", FOREST, 0.3, "t yr-1"),
    "meat": ("livestock_products", CROP, 0.15, "t yr-1"),
    "fish": ("fishery_products", WATER, 0.8, "t yr-1"),
    "water_supplied": ("water_supply", WATER, 4000.0, "m3 yr-1"),
    "hydropower": ("ecological_energy", WATER, 150.0, "kWh yr-1"),
    "nature_site_visits": ("recreation", FOREST, 40.0, "visits yr-1"),
}
#: Synthetic unit prices of those items (sample catalog table ``sample_prices``).
SAMPLE_PRICES = {
    "grain": (2600.0, "CNY t-1"),
    "vegetables": (3000.0, "CNY t-1"),
    "fruit": (6000.0, "CNY t-1"),
    "meat": (28000.0, "CNY t-1"),
    "fish": (16000.0, "CNY t-1"),
    "water_supplied": (1.6, "CNY m-3"),
    "hydropower": (0.4, "CNY kWh-1"),
    "nature_site_visits": (150.0, "CNY visit-1"),
}


def make_statistics(
    region: Region, townships: gpd.GeoDataFrame, lcs: dict[int, np.ndarray]
) -> pd.DataFrame:
    """Synthetic township statistics: output per item = area of its class × yield × noise.

    Real accounts read these from statistical yearbooks (农林牧渔业产值/产量 by district or
    township), water-resources bulletins and visitor statistics of natural sites.
    """
    rng = rng_for("statistics")
    geoms = [(g, i + 1) for i, g in enumerate(townships.geometry)]
    zone = rasterize(geoms, out_shape=region.shape, transform=region.transform, fill=0).ravel()
    cell_ha = CELL * CELL / 1e4
    rows = []
    for year, lc in lcs.items():
        growth = 1.0 if year == YEARS[0] else 1.08
        for item, (service, cls, per_ha, unit) in STATISTICS.items():
            area = np.bincount(zone, weights=(lc.ravel() == cls), minlength=len(townships) + 1)
            noise = rng.lognormal(0.0, 0.25, len(townships))
            quantity = area[1:] * cell_ha * per_ha * growth * noise
            for code, q in zip(townships["town_code"], quantity, strict=True):
                rows.append((code, year, service, item, round(float(q)), unit))
    rows += _reservoir_rows(townships)
    return pd.DataFrame(
        rows, columns=["unit_id", "year", "service", "item", "quantity", "quantity_unit"]
    )


#: Synthetic total capacities of the sample's reservoirs (m³), in the order of magnitude of the
#: real ones; illustrative only.
RESERVOIR_CAPACITY_M3 = {"miyun": 4.4e9, "guanting": 4.2e9, "huairou": 1.4e8}


def _reservoir_rows(townships: gpd.GeoDataFrame) -> list[tuple]:
    """``reservoir_total_capacity`` per township and year (m³).

    The capacity of the reservoirs whose centre lies in the township, 0 elsewhere; flood
    regulation counts 0.35 of it.
    """
    capacity = dict.fromkeys(townships["town_code"], 0.0)
    for name, (lonlat, _, _) in RESERVOIRS_LONLAT.items():
        centre = shapely.Point(to_utm(lonlat))
        inside = townships[townships.contains(centre)]
        if not inside.empty:
            capacity[inside["town_code"].iloc[0]] += RESERVOIR_CAPACITY_M3[name]
    return [
        (code, year, "flood_regulation", "reservoir_total_capacity", round(value), "m3")
        for year in YEARS
        for code, value in capacity.items()
    ]


#: Synthetic loads of the whole sample per year (t yr-1) and the land-cover classes they are
#: spread over (by area, with noise): air pollutants over built-up land, water pollutants over
#: built-up land and cropland. Illustrative magnitudes only.
LOADS = {
    "sulphur_dioxide": (3000.0, (BUILT,)),
    "nitrogen_oxides": (90000.0, (BUILT,)),
    "dust": (15000.0, (BUILT,)),
    "cod": (60000.0, (BUILT, CROP)),
    "ammonia_nitrogen": (4000.0, (BUILT, CROP)),
    "total_phosphorus": (1200.0, (BUILT, CROP)),
}


def make_loads(
    region: Region, townships: gpd.GeoDataFrame, lcs: dict[int, np.ndarray]
) -> pd.DataFrame:
    """Synthetic pollutant loads per township and year (t yr-1), for the purification caps."""
    rng = rng_for("loads")
    geoms = [(g, i + 1) for i, g in enumerate(townships.geometry)]
    zone = rasterize(geoms, out_shape=region.shape, transform=region.transform, fill=0).ravel()
    rows = []
    for year, lc in lcs.items():
        decline = 1.0 if year == YEARS[0] else 0.7
        for pollutant, (total, classes) in LOADS.items():
            area = np.bincount(
                zone, weights=np.isin(lc.ravel(), classes), minlength=len(townships) + 1
            )[1:]
            weight = area * rng.lognormal(0.0, 0.3, len(townships))
            load = total * decline * weight / weight.sum()
            for code, value in zip(townships["town_code"], load, strict=True):
                rows.append((code, year, pollutant, round(float(value), 2), "t yr-1"))
    return pd.DataFrame(rows, columns=["unit_id", "year", "pollutant", "load", "load_unit"])


def sample_prices() -> pd.DataFrame:
    """Synthetic 2020 unit prices of the statistics items (illustrative, not market data)."""
    return pd.DataFrame(
        [
            {
                "item": f"{item}_price_sample",
                "service": STATISTICS[item][0],
                "value": value,
                "unit": unit,
                "price_year": 2020,
                "deflator": "cpi",
                "source": SYNTHETIC + ": illustrative price for the demo, not data",
                "confidence": "synthetic",
                "note": "",
            }
            for item, (value, unit) in SAMPLE_PRICES.items()
        ]
    )


#: Synthetic values of the parameters nothing could be sourced for: (ecosystem type, parameter)
#: → value. Illustrative values for the demo only, marked ``synthetic`` in the table.
SYNTHETIC_PARAMETERS = {
    ("forest", "c_above"): 10.2,
    ("forest", "c_below"): 4.33,
    ("shrub", "c_above"): 6.0,
    ("shrub", "c_below"): 3.5,
    ("shrub", "c_soil"): 58.0,
    ("shrub", "c_dead"): 4.76,
    ("grassland", "c_above"): 1.2,
    ("grassland", "c_below"): 4.5,
    ("grassland", "c_soil"): 55.0,
    ("cropland", "c_above"): 3.0,
    ("cropland", "c_below"): 0.8,
    ("cropland", "c_soil"): 45.0,
    ("wetland", "c_above"): 2.0,
    ("wetland", "c_below"): 3.0,
    ("wetland", "c_soil"): 90.0,
    ("water", "c_above"): 0.0,
    ("water", "c_below"): 0.0,
    ("water", "c_soil"): 0.0,
    ("built_up", "c_above"): 0.5,
    ("built_up", "c_below"): 0.1,
    ("built_up", "c_soil"): 20.0,
    ("bare", "c_above"): 0.0,
    ("bare", "c_below"): 0.0,
    ("bare", "c_soil"): 10.0,
    ("forest", "usle_c"): 0.006,
    ("shrub", "usle_c"): 0.02,
    ("grassland", "usle_c"): 0.04,
    ("cropland", "usle_c"): 0.23,
    ("wetland", "usle_c"): 0.001,
    ("water", "usle_c"): 0.0,
    ("built_up", "usle_c"): 0.01,
    ("wetland", "usle_p"): 1.0,
    ("shrub", "kc"): 0.8,
    ("shrub", "root_depth"): 1000.0,
    ("forest", "storm_runoff_coefficient"): 0.15,
    ("shrub", "storm_runoff_coefficient"): 0.2,
    ("grassland", "storm_runoff_coefficient"): 0.3,
    ("forest", "air_capacity_sulphur_dioxide"): 12.0,
    ("forest", "air_capacity_nitrogen_oxides"): 6.0,
    ("forest", "air_capacity_dust"): 1500.0,
    ("shrub", "air_capacity_sulphur_dioxide"): 6.0,
    ("shrub", "air_capacity_nitrogen_oxides"): 3.0,
    ("shrub", "air_capacity_dust"): 800.0,
    ("grassland", "air_capacity_sulphur_dioxide"): 3.0,
    ("grassland", "air_capacity_nitrogen_oxides"): 1.5,
    ("grassland", "air_capacity_dust"): 400.0,
    ("wetland", "air_capacity_sulphur_dioxide"): 2.0,
    ("wetland", "air_capacity_nitrogen_oxides"): 1.0,
    ("wetland", "air_capacity_dust"): 200.0,
    ("wetland", "water_capacity_cod"): 400.0,
    ("wetland", "water_capacity_ammonia_nitrogen"): 40.0,
    ("wetland", "water_capacity_total_phosphorus"): 6.0,
    ("water", "water_capacity_cod"): 250.0,
    ("water", "water_capacity_ammonia_nitrogen"): 25.0,
    ("water", "water_capacity_total_phosphorus"): 4.0,
}


def sample_parameters() -> pd.DataFrame:
    """The demo's parameter table: built-in sourced values where they exist, synthetic otherwise.

    Synthetic rows are illustrative values for the demo only, marked ``synthetic``.
    """
    table = _sourced_parameters()
    for (etype, param), value in SYNTHETIC_PARAMETERS.items():
        row = (table["ecosystem_type"] == etype) & (table["parameter"] == param)
        assert row.sum() == 1, (etype, param)
        assert table.loc[row, "value"].isna().all(), f"{etype}/{param} is sourced; keep it"
        table.loc[row, "value"] = value
        table.loc[row, "source"] = SYNTHETIC + ": illustrative value for the demo, not data"
        table.loc[row, "confidence"] = "synthetic"
    return table


def _sourced_parameters() -> pd.DataFrame:
    """The built-in parameter tables, one below the other (without the 2017 red-line runoff)."""
    from data_catalog.tables import builtin_parameter_tables, load_parameters

    frames = [
        load_parameters(name)
        for name in builtin_parameter_tables()
        if name != "runoff_coefficient_redline2017"
    ]
    return pd.concat(frames, ignore_index=True)
