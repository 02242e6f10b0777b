"""Build the embedded sample region (Beijing, synthetic rasters on real boundaries).

Run from the repository root::

    python -m data_catalog.sample.make_sample

Deterministic (seeded numpy); rewrites every generated file in this folder. Inputs it reads,
all shipped beside it with their licences (see README.md):

* ``districts_wgs84.geojson``: the 16 real Beijing district boundaries (WGS84).
* ``township_codes.csv``: the 349 real township (乡镇街道) codes and names.
* ``beijing_dem_0p2deg.tif``: a coarse real DEM (0.2°) that gives the terrain trend.

Everything else is **synthetic**: physically plausible fields made for demonstration and
testing, not data about Beijing. Township polygons are Voronoi cells inside each district,
one per real code.

The fields and tables are made by the modules beside this one; this module writes them:

* :mod:`~data_catalog.sample.region`: the grid, shared constants and seeded noise.
* :mod:`~data_catalog.sample.terrain_climate`: DEM, rivers, land cover, climate, soil, NPP.
* :mod:`~data_catalog.sample.townships`: township polygons, protected areas, unit indicators.
* :mod:`~data_catalog.sample.service_tables`: statistics, prices, pollutant loads, parameters.
* :mod:`~data_catalog.sample.water_tables`: water-quality sections and gauges.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio

from data_catalog.sample.region import (
    CRS,
    FLOAT_NODATA,
    HERE,
    LANDCOVER_NODATA,
    RESERVOIRS_LONLAT,
    SYNTHETIC,
    YEARS,
    Region,
)
from data_catalog.sample.service_tables import (
    make_loads,
    make_statistics,
    sample_parameters,
    sample_prices,
)
from data_catalog.sample.terrain_climate import (
    ellipse_mask,
    make_aet,
    make_dem,
    make_erosivity,
    make_eto,
    make_hot_day_et,
    make_landcover_2015,
    make_landcover_2020,
    make_npp,
    make_precipitation,
    make_rivers,
    make_soil,
    make_storm_precipitation,
)
from data_catalog.sample.townships import make_indicators, make_townships
from data_catalog.sample.water_tables import make_gauges, make_water_quality


def main() -> None:
    """Write every generated file of the sample region."""
    region = Region()
    dem, lcs = write_terrain(region)
    precips, aets = write_climate(region, dem, lcs)
    write_hot_day_et(region, dem, aets)
    write_storm_precipitation(region, precips)
    write_vectors_and_tables(region, dem, lcs, precips, aets)
    write_landcover_counts(region, lcs)


def write_terrain(region: Region) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Make the DEM and both years' land cover; write ``dem.tif`` and the soil rasters.

    Returns the DEM and the land cover by year (written by :func:`write_climate`).
    """
    raster_dir = HERE / "rasters"
    raster_dir.mkdir(exist_ok=True)
    dem = make_dem(region)
    water = make_rivers(region, dem)
    for spec in RESERVOIRS_LONLAT.values():
        water |= ellipse_mask(region, *spec)
    lcs = {2015: make_landcover_2015(region, dem, water)}
    lcs[2020] = make_landcover_2020(region, lcs[2015], dem)
    write_raster(
        raster_dir / "dem.tif",
        dem,
        region,
        nodata=FLOAT_NODATA,
        dtype="float32",
        units="m",
        description="elevation (synthetic)",
    )
    soil = make_soil(region, dem)
    soil_units = {
        "root_restricting_depth": "mm",
        "plant_available_water": "1",
        "erodibility": "t ha h ha-1 MJ-1 mm-1",
    }
    for name, data in soil.items():
        write_raster(
            raster_dir / f"{name}.tif",
            data,
            region,
            nodata=FLOAT_NODATA,
            dtype="float32",
            units=soil_units[name],
            description=f"{name} (synthetic)",
        )
    return dem, lcs


def write_climate(
    region: Region, dem: np.ndarray, lcs: dict[int, np.ndarray]
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Write per year the land cover, precipitation, ETo, ET, erosivity and NPP rasters.

    Returns the precipitation and the actual ET by year.
    """
    raster_dir = HERE / "rasters"
    precips, aets = {}, {}
    for year in YEARS:
        write_raster(
            raster_dir / f"landcover_{year}.tif",
            lcs[year],
            region,
            nodata=LANDCOVER_NODATA,
            dtype="uint8",
            units="class",
            description=f"land cover {year}, CLCD codes (synthetic)",
        )
        precips[year] = make_precipitation(region, dem, year)
        eto = make_eto(region, dem, year)
        aets[year] = make_aet(lcs[year], precips[year], eto)
        fields = {
            "precipitation": (precips[year], "mm yr-1"),
            "reference_evapotranspiration": (eto, "mm yr-1"),
            "evapotranspiration": (aets[year], "mm yr-1"),
            "erosivity": (make_erosivity(precips[year]), "MJ mm ha-1 h-1 yr-1"),
            "net_primary_production": (
                make_npp(region, lcs[year], precips[year], year),
                "g C m-2 yr-1",
            ),
        }
        for name, (data, units) in fields.items():
            write_raster(
                raster_dir / f"{name}_{year}.tif",
                data,
                region,
                nodata=FLOAT_NODATA,
                dtype="float32",
                units=units,
                description=f"{name} {year} (synthetic)",
            )
    return precips, aets


def write_hot_day_et(region: Region, dem: np.ndarray, aets: dict[int, np.ndarray]) -> None:
    """Write ``evapotranspiration_hot_days_<year>.tif`` for every year."""
    for year, aet in aets.items():
        write_raster(
            HERE / "rasters" / f"evapotranspiration_hot_days_{year}.tif",
            make_hot_day_et(aet, dem),
            region,
            nodata=FLOAT_NODATA,
            dtype="float32",
            units="mm yr-1",
            description=f"evapotranspiration on days above 26 °C {year} (synthetic)",
        )


def write_storm_precipitation(region: Region, precips: dict[int, np.ndarray]) -> None:
    """Write ``storm_precipitation_<year>.tif`` for every year."""
    for year, precip in precips.items():
        write_raster(
            HERE / "rasters" / f"storm_precipitation_{year}.tif",
            make_storm_precipitation(precip),
            region,
            nodata=FLOAT_NODATA,
            dtype="float32",
            units="mm yr-1",
            description=f"storm rainfall (days >= 50 mm) {year} (synthetic)",
        )


def write_vectors_and_tables(
    region: Region,
    dem: np.ndarray,
    lcs: dict[int, np.ndarray],
    precips: dict[int, np.ndarray],
    aets: dict[int, np.ndarray],
) -> None:
    """Write the GeoPackages in ``vectors/`` and the CSV tables in ``tables/``."""
    vector_dir = HERE / "vectors"
    vector_dir.mkdir(exist_ok=True)
    townships = make_townships(region)
    _write_gpkg(townships, vector_dir / "townships.gpkg")
    indicators, protected = make_indicators(region, townships, lcs, dem)
    _write_gpkg(protected, vector_dir / "protected_areas.gpkg")
    table_dir = HERE / "tables"
    table_dir.mkdir(exist_ok=True)
    indicators.to_csv(table_dir / "unit_indicators.csv", index=False)
    make_statistics(region, townships, lcs).to_csv(table_dir / "unit_statistics.csv", index=False)
    sample_prices().to_csv(table_dir / "sample_prices.csv", index=False)
    make_loads(region, townships, lcs).to_csv(table_dir / "pollutant_loads.csv", index=False)
    sections, monthly = make_water_quality()
    sections.to_csv(table_dir / "water_sections.csv", index=False)
    monthly.to_csv(table_dir / "water_quality_monthly.csv", index=False)
    catchments, runoff = make_gauges(region, dem, aets, precips)
    _write_gpkg(catchments, vector_dir / "gauge_catchments.gpkg")
    runoff.to_csv(table_dir / "gauge_runoff.csv", index=False)
    sample_parameters().to_csv(table_dir / "parameters.csv", index=False)


def write_landcover_counts(region: Region, lcs: dict[int, np.ndarray]) -> None:
    """Write ``landcover_counts.json``: cells per land-cover class inside Beijing, by year."""
    summary = {
        str(y): {
            int(k): int(v)
            for k, v in zip(*np.unique(lcs[y][region.inside], return_counts=True), strict=True)
        }
        for y in YEARS
    }
    (HERE / "landcover_counts.json").write_text(json.dumps(summary, indent=1) + "\n")


def write_raster(
    path: Path,
    data: np.ndarray,
    region: Region,
    *,
    nodata: float,
    dtype: str,
    units: str,
    description: str,
) -> None:
    """Tiled, ZSTD-compressed GeoTIFF with nodata outside Beijing."""
    out = np.where(region.inside, data, nodata).astype(dtype)
    if dtype.startswith("float"):
        out = np.round(out, 2 if units != "t ha h ha-1 MJ-1 mm-1" else 4).astype(dtype)
        predictor = 3
    else:
        predictor = 2
    profile = dict(
        driver="GTiff",
        height=region.shape[0],
        width=region.shape[1],
        count=1,
        dtype=dtype,
        crs=CRS,
        transform=region.transform,
        nodata=nodata,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="ZSTD",
        zstd_level=15,
        predictor=predictor,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(out, 1)
        dst.update_tags(units=units, synthetic="true", source=SYNTHETIC)
        dst.set_band_description(1, description)


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write a GeoPackage with a fixed timestamp, so reruns give identical bytes."""
    if path.exists():
        path.unlink()
    os.environ["OGR_CURRENT_DATE"] = "2026-01-01T00:00:00.000Z"  # GDAL's GPKG timestamps
    gdf.to_file(path, driver="GPKG", engine="pyogrio")


if __name__ == "__main__":
    main()
