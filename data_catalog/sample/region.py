"""The sample region's grid, shared constants and seeded noise (used by every generator module).

The grid is EPSG:32650 (WGS 84 / UTM 50N) at 300 m over the 16 real Beijing districts
(``districts_wgs84.geojson``); :class:`Region` holds it and the district raster. Also here:
the years, the seed, the CLCD land-cover codes, the nodata values, the synthetic locations
(city centre, reservoirs, protected areas) and the per-field random streams and noise fields.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
from scipy import ndimage

HERE = Path(__file__).resolve().parent
CRS = "EPSG:32650"  # WGS 84 / UTM zone 50N
CELL = 300.0  # m
YEARS = (2015, 2020)
SEED = 20221
#: Written into every generated raster and synthetic table row; names the entry script.
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
