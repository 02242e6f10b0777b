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
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyflwdir
import rasterio
import shapely
from affine import Affine
from rasterio.enums import Resampling
from rasterio.features import rasterize, shapes
from rasterio.warp import reproject
from scipy import ndimage

HERE = Path(__file__).resolve().parent
CRS = "EPSG:32650"  # WGS 84 / UTM zone 50N
CELL = 300.0  # m
YEARS = (2015, 2020)
SEED = 20221
SYNTHETIC = "synthetic (gep sample generator, data_catalog/sample/make_sample.py)"

# CLCD codes (Yang & Huang 2021)
CROP, FOREST, SHRUB, GRASS, WATER, BARE, BUILT, WETLAND = 1, 2, 3, 4, 5, 7, 8, 9
LANDCOVER_NODATA = 255
FLOAT_NODATA = -9999.0

CITY_CENTRE_LONLAT = (116.397, 39.909)  # Tiananmen
RESERVOIRS_LONLAT = {  # centre, semi-axes (km), rotation (deg): rough shapes, synthetic
    "miyun": ((116.98, 40.50), (9.0, 5.0), 20.0),
    "guanting": ((115.78, 40.38), (6.0, 2.5), -15.0),
    "huairou": ((116.60, 40.32), (2.5, 1.2), 0.0),
}
PROTECTED_LONLAT = {  # synthetic circles near real reserve locations
    "songshan": ((115.80, 40.51), 6.0),
    "baihuashan": ((115.58, 39.84), 7.0),
    "labagoumen": ((116.62, 40.93), 8.0),
    "yunmengshan": ((116.76, 40.56), 5.0),
    "wulingshan": ((117.47, 40.59), 5.0),
    "yeyahu_wetland": ((115.90, 40.42), 4.0),
}


def rng_for(name: str) -> np.random.Generator:
    """Independent, reproducible random stream per field."""
    return np.random.default_rng([SEED, sum(ord(c) * (i + 1) for i, c in enumerate(name))])


def smooth_noise(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian-filtered white noise scaled to unit standard deviation."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return field / field.std()


def fractal_noise(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Sum of octaves (sigma 1.5 to 24 px) with amplitude ∝ sigma (a rough terrain spectrum)."""
    total = np.zeros(shape)
    for sigma in (1.5, 3, 6, 12, 24):
        total += sigma * smooth_noise(shape, sigma, rng)
    return total / total.std()


def to_utm(lonlat: tuple[float, float]) -> tuple[float, float]:
    """A WGS84 lon/lat in UTM 50N metres."""
    pt = gpd.GeoSeries([shapely.Point(*lonlat)], crs="EPSG:4326").to_crs(CRS).iloc[0]
    return pt.x, pt.y


class Region:
    """The sample grid and the district/township layers on it."""

    def __init__(self) -> None:
        self.districts = gpd.read_file(HERE / "districts_wgs84.geojson").to_crs(CRS)
        left, bottom, right, top = self.districts.total_bounds
        pad = 2 * CELL
        left = np.floor((left - pad) / CELL) * CELL
        top = np.ceil((top + pad) / CELL) * CELL
        cols = int(np.ceil((right + pad - left) / CELL))
        rows = int(np.ceil((top - (bottom - pad)) / CELL))
        self.transform = Affine(CELL, 0, left, 0, -CELL, top)
        self.shape = (rows, cols)
        xs = left + CELL * (np.arange(cols) + 0.5)
        ys = top - CELL * (np.arange(rows) + 0.5)
        self.x, self.y = np.meshgrid(xs, ys)
        geoms = [(g, i + 1) for i, g in enumerate(self.districts.geometry)]
        self.district_index = rasterize(
            geoms, out_shape=self.shape, transform=self.transform, fill=0
        )
        self.inside = self.district_index > 0

    def km_from(self, lonlat: tuple[float, float]) -> np.ndarray:
        """Distance of every cell centre from a point, km."""
        cx, cy = to_utm(lonlat)
        return np.hypot(self.x - cx, self.y - cy) / 1000.0


def make_dem(region: Region) -> np.ndarray:
    """Elevation (m): the coarse real DEM's trend plus synthetic relief that grows with height."""
    trend = np.zeros(region.shape, dtype=np.float64)
    with rasterio.open(HERE / "beijing_dem_0p2deg.tif") as src:
        reproject(
            source=src.read(1).astype(np.float64),
            destination=trend,
            src_transform=src.transform,
            src_crs=src.crs,
            dst_transform=region.transform,
            dst_crs=CRS,
            resampling=Resampling.cubic_spline,
        )
    trend = ndimage.gaussian_filter(np.clip(trend, 5.0, None), 8)
    relief = fractal_noise(region.shape, rng_for("dem"))
    amplitude = 12.0 + 0.45 * np.clip(trend - 40.0, 0.0, None)
    dem = trend + amplitude * relief
    plain = trend < 80.0
    dem = np.where(plain, trend + 3.0 * relief, dem)
    return np.clip(dem, 5.0, None)


def slope_deg(dem: np.ndarray) -> np.ndarray:
    """Slope in degrees from central differences on the 300 m grid."""
    gy, gx = np.gradient(dem, CELL)
    return np.degrees(np.arctan(np.hypot(gx, gy)))


def make_rivers(region: Region, dem: np.ndarray) -> np.ndarray:
    """River cells: where the D8 upstream area of the DEM exceeds 800 km² (pyflwdir)."""
    flw = pyflwdir.from_dem(dem.astype(np.float32), transform=region.transform, latlon=False)
    upa = flw.upstream_area(unit="km2")
    return upa > 800.0


def ellipse_mask(
    region: Region, lonlat: tuple[float, float], axes_km: tuple[float, float], angle: float
) -> np.ndarray:
    """Cells inside a rotated ellipse."""
    cx, cy = to_utm(lonlat)
    t = np.deg2rad(angle)
    dx, dy = (region.x - cx) / 1000.0, (region.y - cy) / 1000.0
    u = dx * np.cos(t) + dy * np.sin(t)
    v = -dx * np.sin(t) + dy * np.cos(t)
    return (u / axes_km[0]) ** 2 + (v / axes_km[1]) ** 2 <= 1.0


def make_landcover_2015(region: Region, dem: np.ndarray, water: np.ndarray) -> np.ndarray:
    """Land cover 2015 (CLCD codes): mountains wooded, plain farmed, a city in the middle."""
    rng = rng_for("lc2015")
    slope = slope_deg(dem)
    n1 = smooth_noise(region.shape, 3, rng)
    n2 = smooth_noise(region.shape, 6, rng)
    mountain = (dem > 150) | (slope > 6)
    lc = np.full(region.shape, CROP, dtype=np.uint8)
    lc[mountain] = FOREST
    lc[mountain & (n1 < -0.9) & (dem < 900)] = SHRUB
    lc[mountain & (dem > 1150) & (n2 > -0.2)] = GRASS
    lc[~mountain & (n2 > 1.4)] = FOREST  # plain woodland patches
    lc[mountain & (n1 > 2.3) & (slope < 25)] = CROP  # terraced valley farms
    urban = region.km_from(CITY_CENTRE_LONLAT) + 4.0 * n1 < 20.0
    for seat in _district_seats(region):
        urban |= region.km_from(seat) + 1.5 * n2 < 4.0
    lc[urban & ~mountain] = BUILT
    villages = (~mountain) & (smooth_noise(region.shape, 1, rng) > 1.6)
    lc[villages] = BUILT
    quarries = mountain & (dem < 500) & (smooth_noise(region.shape, 1, rng) > 2.9)
    lc[quarries] = BARE
    lc[water] = WATER
    rim = ndimage.binary_dilation(water, iterations=2) & ~water & (lc != BUILT)
    lc[rim & (smooth_noise(region.shape, 2, rng) > 0.0)] = WETLAND
    return lc


def _district_seats(region: Region) -> list[tuple[float, float]]:
    """Lon/lat of the representative point of each outer district (its seat, roughly)."""
    outer = region.districts[
        ~region.districts["adcode"].isin(
            ["110101", "110102", "110105", "110106", "110107", "110108"]
        )
    ]
    pts = outer.geometry.representative_point().to_crs("EPSG:4326")
    return [(p.x, p.y) for p in pts]


def make_landcover_2020(region: Region, lc2015: np.ndarray, dem: np.ndarray) -> np.ndarray:
    """Land cover 2020: urban growth, plain afforestation (平原造林), shrub→forest, some loss."""
    rng = rng_for("lc2020")
    lc = lc2015.copy()
    n = smooth_noise(region.shape, 3, rng)
    grow = region.km_from(CITY_CENTRE_LONLAT) + 4.0 * n < 23.0
    near_built = ndimage.binary_dilation(lc2015 == BUILT, iterations=2)
    lc[(grow | (near_built & (n > 1.3))) & (lc2015 == CROP)] = BUILT
    afforest = (lc2015 == CROP) & (smooth_noise(region.shape, 4, rng) > 1.0) & (lc != BUILT)
    lc[afforest] = FOREST
    lc[(lc2015 == SHRUB) & (smooth_noise(region.shape, 2, rng) > 0.8)] = FOREST
    lost = (lc2015 == FOREST) & near_built & (n < -1.2)
    lc[lost] = BUILT
    quarry_growth = ndimage.binary_dilation(lc2015 == BARE, iterations=1) & (lc2015 == FOREST)
    lc[quarry_growth] = BARE
    return lc


def make_precipitation(region: Region, dem: np.ndarray, year: int) -> np.ndarray:
    """Annual precipitation (mm yr⁻¹): ≈450 in the north-west to ≈700 at the north-eastern front.

    A west→east and north→south gradient plus orographic enhancement on the windward
    (south-east facing) mountain front and a rain shadow behind the first ridges.
    """
    rng = rng_for(f"precip{year}")
    xs = (region.x - region.x.min()) / (region.x.max() - region.x.min())
    ys = (region.y - region.y.min()) / (region.y.max() - region.y.min())
    base = 470.0 + 150.0 * xs - 40.0 * ys
    front = np.exp(-(((dem - 450.0) / 350.0) ** 2))
    gy, gx = np.gradient(ndimage.gaussian_filter(dem, 6), CELL)
    windward = np.clip(-(gx * -0.7 + gy * -0.7) * 40.0, -1.0, 1.0)  # slopes facing the SE
    shadow = np.clip((dem - 900.0) / 900.0, 0.0, 1.0)
    p = base + 90.0 * front + 40.0 * windward - 60.0 * shadow
    p += 12.0 * smooth_noise(region.shape, 10, rng)
    factor = {2015: 0.96, 2020: 1.03}[year]
    return np.clip(p * factor, 380.0, 760.0)


def make_eto(region: Region, dem: np.ndarray, year: int) -> np.ndarray:
    """Reference evapotranspiration (mm yr⁻¹): ≈1100 on the plain, less with height."""
    rng = rng_for(f"eto{year}")
    eto = 1120.0 - 0.22 * dem + 15.0 * smooth_noise(region.shape, 12, rng)
    return np.clip(eto * {2015: 1.0, 2020: 0.99}[year], 700.0, 1200.0)


# Fu's ω by CLCD class for the synthetic actual ET (higher ω: more evaporation)
FU_OMEGA = {
    CROP: 2.6,
    FOREST: 3.0,
    SHRUB: 2.5,
    GRASS: 2.2,
    WATER: 6.0,
    BARE: 1.4,
    BUILT: 1.5,
    WETLAND: 4.0,
}
KC = {
    CROP: 0.65,
    FOREST: 1.0,
    SHRUB: 0.8,
    GRASS: 0.65,
    WATER: 1.0,
    BARE: 0.5,
    BUILT: 0.3,
    WETLAND: 1.1,
}


def make_aet(lc: np.ndarray, precip: np.ndarray, eto: np.ndarray) -> np.ndarray:
    """Actual evapotranspiration (mm yr⁻¹) from Fu's equation with class-dependent ω and Kc."""
    omega = np.vectorize(FU_OMEGA.get)(lc).astype(np.float64)
    kc = np.vectorize(KC.get)(lc).astype(np.float64)
    phi = kc * eto / precip
    ratio = 1.0 + phi - (1.0 + phi**omega) ** (1.0 / omega)
    return precip * np.clip(ratio, 0.0, 1.0)


def make_hot_day_et(aet: np.ndarray, dem: np.ndarray) -> np.ndarray:
    """ET summed over the days with maximum above 26 °C (mm yr⁻¹), for climate regulation.

    Synthetic: about 105 such days on the plain, fewer with height (−0.06 day m⁻¹ above 50 m,
    at least 15); the daily ET of those summer days taken as 1.5× the annual mean daily rate,
    so the hot-day share of annual ET is ``min(0.75, 1.5·D/365)``. Illustrative only.
    """
    days = np.clip(105.0 - 0.06 * np.maximum(dem - 50.0, 0.0), 15.0, 110.0)
    return aet * np.minimum(0.75, 1.5 * days / 365.0)


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


def make_storm_precipitation(precip: np.ndarray) -> np.ndarray:
    """Rainfall of the storm days (≥ 50 mm) of the year (mm yr⁻¹), for flood regulation.

    Synthetic: a share of the annual rainfall rising from 18 % where the year is driest to
    about 43 % where it is wettest (Beijing's rain falls mostly in July–August storms).
    Illustrative only.
    """
    return precip * np.clip(0.18 + 0.25 * (precip - 380.0) / 380.0, 0.15, 0.45)


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


def make_soil(region: Region, dem: np.ndarray) -> dict[str, np.ndarray]:
    """Root-restricting depth (mm), plant available water (fraction), erodibility K."""
    rng = rng_for("soil")
    slope = slope_deg(dem)
    n = smooth_noise(region.shape, 5, rng)
    depth = np.clip(2200.0 * np.exp(-slope / 12.0) + 150.0 * n, 200.0, 3000.0)
    pawc = np.clip(np.where(dem < 150, 0.17, 0.11) + 0.015 * n, 0.05, 0.25)
    k = np.clip(
        np.where(dem < 150, 0.032, 0.026) + 0.003 * smooth_noise(region.shape, 8, rng), 0.015, 0.045
    )
    return {"root_restricting_depth": depth, "plant_available_water": pawc, "erodibility": k}


def make_erosivity(precip: np.ndarray) -> np.ndarray:
    """Rainfall erosivity R (MJ mm ha⁻¹ h⁻¹ yr⁻¹) ≈ 0.3·P^1.5: 2 200–6 000 for 380–760 mm."""
    return 0.3 * precip**1.5


NPP_BY_CLASS = {
    CROP: 430.0,
    FOREST: 560.0,
    SHRUB: 400.0,
    GRASS: 300.0,
    WATER: 40.0,
    BARE: 30.0,
    BUILT: 90.0,
    WETLAND: 480.0,
}


def make_npp(region: Region, lc: np.ndarray, precip: np.ndarray, year: int) -> np.ndarray:
    """Net primary production (g C m⁻² yr⁻¹) by class, scaled by water supply."""
    base = np.vectorize(NPP_BY_CLASS.get)(lc).astype(np.float64)
    scale = np.clip(precip / 600.0, 0.7, 1.2)
    noise = 1.0 + 0.05 * smooth_noise(region.shape, 2, rng_for(f"npp{year}"))
    return base * scale * noise


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


def make_townships(region: Region) -> gpd.GeoDataFrame:
    """One Voronoi cell per real township code inside its district (seed points: random)."""
    codes = pd.read_csv(HERE / "township_codes.csv", dtype=str)
    rows = []
    for _, district in region.districts.iterrows():
        towns = codes[codes["district_code"] == district["adcode"]].reset_index(drop=True)
        seeds = _seed_points(district.geometry, len(towns), rng_for(district["adcode"]))
        cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=district.geometry)
        polys = list(cells.geoms)
        for i, town in towns.iterrows():
            seed = shapely.Point(seeds[i])
            cell = next(p for p in polys if p.covers(seed))
            geom = shapely.make_valid(cell.intersection(district.geometry))
            rows.append(
                {
                    "town_code": town["town_code"],
                    "town_name": town["town_name"],
                    "district_code": district["adcode"],
                    "district_name": district["name"],
                    "geometry": geom,
                }
            )
    gdf = gpd.GeoDataFrame(rows, crs=CRS)
    gdf["geometry"] = gdf.geometry.apply(_polygonal)
    return gdf


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts of an intersection result (drop stray lines/points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.unary_union(parts)


def _seed_points(polygon: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random points inside a polygon (rejection sampling), at least 600 m apart."""
    minx, miny, maxx, maxy = polygon.bounds
    prepared = shapely.prepared.prep(polygon)
    points: list[tuple[float, float]] = []
    while len(points) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if prepared.contains(shapely.Point(x, y)) and all(
            (x - px) ** 2 + (y - py) ** 2 > 600.0**2 for px, py in points
        ):
            points.append((x, y))
    return np.array(points)


def unit_shares(
    region: Region,
    townships: gpd.GeoDataFrame,
    lc: np.ndarray,
    dem: np.ndarray,
    protected: np.ndarray,
) -> pd.DataFrame:
    """Per township: area, land-cover shares, red-line and protected area (km²)."""
    geoms = [(g, i + 1) for i, g in enumerate(townships.geometry)]
    zone = rasterize(geoms, out_shape=region.shape, transform=region.transform, fill=0)
    cell_km2 = CELL * CELL / 1e6
    natural = np.isin(lc, [FOREST, SHRUB, GRASS, WETLAND, WATER])
    redline = natural & ((dem > 300) | (lc == WATER) | (lc == WETLAND))
    n = len(townships) + 1
    count = np.bincount(zone.ravel(), minlength=n)
    nat = np.bincount(zone.ravel(), weights=natural.ravel(), minlength=n)
    red = np.bincount(zone.ravel(), weights=redline.ravel(), minlength=n)
    pro = np.bincount(zone.ravel(), weights=protected.ravel(), minlength=n)
    built = np.bincount(zone.ravel(), weights=(lc == BUILT).ravel(), minlength=n)
    return pd.DataFrame(
        {
            "unit_id": townships["town_code"].to_numpy(),
            "area_km2": count[1:] * cell_km2,
            "natural_share": np.divide(nat[1:], np.maximum(count[1:], 1)),
            "built_share": np.divide(built[1:], np.maximum(count[1:], 1)),
            "redline_area_km2": red[1:] * cell_km2,
            "nature_reserve_area_km2": pro[1:] * cell_km2,
        }
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


def make_indicators(
    region: Region, townships: gpd.GeoDataFrame, lcs: dict[int, np.ndarray], dem: np.ndarray
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Unit indicator table (townships and districts, both years) and protected areas."""
    protected_geoms = []
    protected = np.zeros(region.shape, dtype=bool)
    for name, (lonlat, radius_km) in PROTECTED_LONLAT.items():
        cx, cy = to_utm(lonlat)
        protected_geoms.append(
            {"name": name, "geometry": shapely.Point(cx, cy).buffer(radius_km * 1000)}
        )
        protected |= region.km_from(lonlat) <= radius_km
    rng = rng_for("indicators")
    frames = []
    for year, lc in lcs.items():
        shares = unit_shares(region, townships, lc, dem, protected)
        shares["year"] = year
        shares["level"] = "township"
        shares["parent_id"] = townships["district_code"].to_numpy()
        shares["unit_name"] = townships["town_name"].to_numpy()
        noise = rng.normal(0.0, 2.0, len(shares))
        shares["eco_quality_index"] = np.clip(30 + 55 * shares["natural_share"] + noise, 0, 100)
        shares["ecological_land_km2"] = shares["natural_share"] * shares["area_km2"]
        density = 3000 + 22000 * shares["built_share"] ** 1.5
        shares["population"] = np.round(
            shares["area_km2"] * density * (1 + 0.03 * (year - 2015) / 5)
        )
        frames.append(shares)
    towns = pd.concat(frames, ignore_index=True)
    districts = _district_indicators(region, towns)
    out = pd.concat([districts, towns], ignore_index=True)
    # share of value added from eco-damaging industries (%): synthetic, two districts rising
    out["eco_damaging_industry_pct"] = np.round(rng.uniform(0.5, 3.0, len(out)), 2)
    rising = out["unit_id"].str.startswith(("110111", "110109")) & (out["year"] == 2020)
    out.loc[rising, "eco_damaging_industry_pct"] += 6.0
    cols = [
        "unit_id",
        "unit_name",
        "level",
        "parent_id",
        "year",
        "area_km2",
        "population",
        "eco_quality_index",
        "redline_area_km2",
        "nature_reserve_area_km2",
        "ecological_land_km2",
        "eco_damaging_industry_pct",
    ]
    out = out[cols].round(
        {
            "area_km2": 2,
            "eco_quality_index": 2,
            "redline_area_km2": 2,
            "nature_reserve_area_km2": 2,
            "ecological_land_km2": 2,
        }
    )
    return out, gpd.GeoDataFrame(protected_geoms, crs=CRS)


def _district_indicators(region: Region, towns: pd.DataFrame) -> pd.DataFrame:
    """District rows: sums of township areas and population, area-weighted eco-quality."""
    towns = towns.assign(eq_area=towns["eco_quality_index"] * towns["area_km2"])
    agg = towns.groupby(["parent_id", "year"], as_index=False)[
        [
            "area_km2",
            "population",
            "redline_area_km2",
            "nature_reserve_area_km2",
            "ecological_land_km2",
            "eq_area",
        ]
    ].sum()
    agg["eco_quality_index"] = agg["eq_area"] / agg["area_km2"]
    names = dict(zip(region.districts["adcode"], region.districts["name"], strict=True))
    agg["unit_id"] = agg["parent_id"]
    agg["unit_name"] = agg["unit_id"].map(names)
    agg["level"] = "district"
    agg["parent_id"] = "110000"
    return agg.drop(columns="eq_area")


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


def sample_parameters() -> pd.DataFrame:
    """The demo's parameter table: built-in sourced values where they exist, synthetic otherwise.

    Synthetic rows are illustrative values for the demo only, marked ``synthetic``.
    """
    from data_catalog.tables import builtin_parameter_tables, load_parameters

    frames = [
        load_parameters(name)
        for name in builtin_parameter_tables()
        if name != "runoff_coefficient_redline2017"
    ]
    table = pd.concat(frames, ignore_index=True)
    synthetic = {
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
    for (etype, param), value in synthetic.items():
        row = (table["ecosystem_type"] == etype) & (table["parameter"] == param)
        assert row.sum() == 1, (etype, param)
        assert table.loc[row, "value"].isna().all(), f"{etype}/{param} is sourced; keep it"
        table.loc[row, "value"] = value
        table.loc[row, "source"] = SYNTHETIC + ": illustrative value for the demo, not data"
        table.loc[row, "confidence"] = "synthetic"
    return table


def main() -> None:
    """Write every generated file of the sample region."""
    region = Region()
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
    write_hot_day_et(region, dem, aets)
    write_storm_precipitation(region, precips)
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
    summary = {
        str(y): {
            int(k): int(v)
            for k, v in zip(*np.unique(lcs[y][region.inside], return_counts=True), strict=True)
        }
        for y in YEARS
    }
    (HERE / "landcover_counts.json").write_text(json.dumps(summary, indent=1) + "\n")


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write a GeoPackage with a fixed timestamp, so reruns give identical bytes."""
    if path.exists():
        path.unlink()
    os.environ["OGR_CURRENT_DATE"] = "2026-01-01T00:00:00.000Z"  # GDAL's GPKG timestamps
    gdf.to_file(path, driver="GPKG", engine="pyogrio")


if __name__ == "__main__":
    main()
