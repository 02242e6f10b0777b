"""Synthetic terrain, land cover and climate fields of the sample region (numpy arrays).

Makes the DEM (the coarse real DEM's trend plus fractal relief), the rivers (pyflwdir upstream
area) and reservoirs, land cover 2015 and 2020 (CLCD codes), precipitation, reference and
actual evapotranspiration, hot-day ET, storm rainfall, the soil fields (depth, plant available
water, erodibility), rainfall erosivity and net primary production. Writing them is
:mod:`data_catalog.sample.make_sample`'s job.
"""

from __future__ import annotations

import numpy as np
import pyflwdir
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import reproject
from scipy import ndimage

from data_catalog.sample.region import (
    BARE,
    BUILT,
    CELL,
    CITY_CENTRE_LONLAT,
    CROP,
    CRS,
    FOREST,
    GRASS,
    HERE,
    SHRUB,
    WATER,
    WETLAND,
    Region,
    fractal_noise,
    rng_for,
    smooth_noise,
    to_utm,
)


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


def make_storm_precipitation(precip: np.ndarray) -> np.ndarray:
    """Rainfall of the storm days (≥ 50 mm) of the year (mm yr⁻¹), for flood regulation.

    Synthetic: a share of the annual rainfall rising from 18 % where the year is driest to
    about 43 % where it is wettest (Beijing's rain falls mostly in July–August storms).
    Illustrative only.
    """
    return precip * np.clip(0.18 + 0.25 * (precip - 380.0) / 380.0, 0.15, 0.45)


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
