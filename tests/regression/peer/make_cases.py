"""Deterministic generator of small synthetic regions used as InVEST peer inputs.

Run it with the InVEST venv (it needs ``osgeo.gdal``/``ogr`` and scipy)::

    ~/.venvs/invest/bin/python tests/regression/peer/make_cases.py            # all cases
    ~/.venvs/invest/bin/python tests/regression/peer/make_cases.py hills_30m  # one case

For every case it writes ``tests/regression/peer/<case>/inputs/`` (rasters, vectors, InVEST
biophysical tables) and, beside ``inputs/``, the InVEST args files whose paths are relative to
the case folder (which is also the folder of the args file):

* ``<model>.args.json``  a bare InVEST args dict;
* ``<model>.invs.json``  an InVEST datastack (``{"args": ..., "model_id": ...}``, as written
  by ``natcap.invest.datastack.build_parameter_set(..., relative=True)`` in 3.20); one case
  (``valley_100m``) writes the pre-3.15 style instead (``{"args", "invest_version",
  "model_name"}``) which 3.20 still reads.

``<model>`` is one of ``carbon``, ``annual_water_yield``, ``sdr_d8``, ``sdr_mfd``.

The same generator (``make_region``) is used by ``benchmarks/invest_peer.py`` for the
2000 x 2000 benchmark inputs, so both implementations run on identical inputs.

Everything is a pure function of the case parameters and the numpy seed: re-running produces
byte-identical rasters (GDAL writes no timestamps into GeoTIFFs) and identical tables.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr
from scipy import ndimage

gdal.UseExceptions()
ogr.UseExceptions()
# fixed GeoPackage `last_change` timestamps, so that re-running gives byte-identical files
gdal.SetConfigOption("OGR_CURRENT_DATE", "2026-11-29T00:00:00.000Z")

HERE = Path(__file__).resolve().parent
EPSG = 32650  # WGS 84 / UTM zone 50N
DEM_NODATA = -9999.0
FLOAT_NODATA = -9999.0
LULC_NODATA = 255
INVEST_VERSION = "3.20.2"

# Land-cover classes (codes as in the brief; 6 = wetland is in the tables but not in the maps)
CROP, FOREST, SHRUB, GRASS, WATER, WETLAND, BARE, BUILT = 1, 2, 3, 4, 5, 6, 7, 8

# Carbon pools, t C/ha (c_above, c_below, c_soil, c_dead); magnitudes typical of North China
# (forest ~ 40-60 t C/ha above ground, cropland soil ~ 60-80 t C/ha).  Totals are chosen so
# that no two classes differ by exactly 1 t C/ha (InVEST treats a change of -1 as nodata).
CARBON_POOLS = {
    CROP: (5.2, 1.3, 68.0, 0.5),
    FOREST: (48.6, 12.1, 95.4, 6.3),
    SHRUB: (14.3, 6.8, 80.2, 2.1),
    GRASS: (3.1, 5.4, 72.7, 0.8),
    WATER: (0.0, 0.0, 0.0, 0.0),
    WETLAND: (6.0, 3.0, 160.0, 2.5),
    BARE: (0.0, 0.0, 12.5, 0.0),
    BUILT: (1.5, 0.3, 24.0, 0.0),
}
# Annual water yield table: lulc_veg, root_depth (mm), kc
AWY_TABLE = {
    CROP: (1, 1500.0, 0.65),
    FOREST: (1, 4000.0, 1.0),
    SHRUB: (1, 2500.0, 0.8),
    GRASS: (1, 1700.0, 0.65),
    WATER: (0, 1.0, 1.05),
    WETLAND: (0, 1.0, 1.1),
    BARE: (0, 1.0, 0.3),
    BUILT: (0, 1.0, 0.2),
}
# SDR table: usle_c, usle_p
SDR_TABLE = {
    CROP: (0.23, 0.4),
    FOREST: (0.003, 1.0),
    SHRUB: (0.02, 1.0),
    GRASS: (0.05, 1.0),
    WATER: (0.0, 1.0),
    WETLAND: (0.0, 1.0),
    BARE: (0.6, 1.0),
    BUILT: (0.01, 1.0),
}


@dataclass(frozen=True)
class CaseSpec:
    """Parameters of one synthetic region.

    Lengths are metres unless named otherwise; ``origin`` is the upper-left corner (x, y) in
    EPSG:32650.
    """

    name: str
    nrows: int
    ncols: int
    pixel_m: float
    origin: tuple[float, float]
    seed: int
    relief_m: float = 600.0
    n_pits: int = 6
    flat_fraction: float = 0.04
    plateau: bool = False
    holes: bool = False
    n_watersheds: int = 2
    subwatersheds: bool = False
    seasonality_z: float = 5.0
    tfa_px: int = 100
    years: tuple[int, int] = (2015, 2020)
    price: float = 61.5
    discount_rate: float = 3.0
    rate_change: float = 1.0
    old_style_datastack: bool = False
    mfd_option: str = "MFD"
    notes: str = ""


CASES: dict[str, CaseSpec] = {
    c.name: c
    for c in (
        CaseSpec(
            name="hills_30m",
            nrows=60,
            ncols=80,
            pixel_m=30.0,
            origin=(414_000.0, 4_468_020.0),
            seed=20261129,
            relief_m=420.0,
            n_pits=6,
            n_watersheds=2,
            seasonality_z=5.0,
            tfa_px=100,
            notes="hilly 30 m terrain with ridges, a main valley, 6 pits, one flat terrace",
        ),
        CaseSpec(
            name="valley_100m",
            nrows=50,
            ncols=70,
            pixel_m=100.0,
            origin=(452_000.0, 4_480_000.0),
            seed=20261130,
            relief_m=900.0,
            n_pits=8,
            n_watersheds=3,
            subwatersheds=True,
            seasonality_z=12.0,
            tfa_px=40,
            years=(2000, 2020),
            price=43.0,
            discount_rate=7.0,
            rate_change=0.0,
            old_style_datastack=True,
            mfd_option="mfd",
            notes="100 m mountain valley, 3 watersheds + 6 sub-watersheds, old-style datastack",
        ),
        CaseSpec(
            name="plateau_pits_30m",
            nrows=64,
            ncols=64,
            pixel_m=30.0,
            origin=(430_020.0, 4_440_000.0),
            seed=20261131,
            relief_m=250.0,
            n_pits=14,
            flat_fraction=0.10,
            plateau=True,
            holes=True,
            n_watersheds=3,
            seasonality_z=30.0,
            tfa_px=80,
            years=(2010, 2020),
            price=50.0,
            discount_rate=0.0,
            rate_change=0.0,
            notes=(
                "flat plateau, 14 pits, nodata holes in DEM/LULC/precip/K/soil depth, "
                "Z=30 (omega cap), 0 % discount (r == 1 valuation branch)"
            ),
        ),
    )
}


# --------------------------------------------------------------------------- terrain


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """White noise smoothed by a Gaussian of ``sigma_px`` pixels, rescaled to [-1, 1].

    For wide kernels the noise is drawn on a grid coarser by ``f = sigma_px // 8`` and
    bilinearly upsampled (same look, ~f² times cheaper on the 2000 x 2000 benchmark grid).
    """
    f = max(1, int(sigma_px // 8))
    coarse = (-(-shape[0] // f) + 1, -(-shape[1] // f) + 1)
    noise = ndimage.gaussian_filter(rng.standard_normal(coarse), sigma=max(sigma_px / f, 0.5))
    if f > 1:
        rows = np.arange(shape[0]) / f
        cols = np.arange(shape[1]) / f
        grid = np.meshgrid(rows, cols, indexing="ij")
        noise = ndimage.map_coordinates(noise, grid, order=1)
    else:
        noise = noise[: shape[0], : shape[1]]
    span = float(np.abs(noise).max()) or 1.0
    return noise / span


def _coords(spec: CaseSpec) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates relative to the upper-left corner, metres (x east, y south)."""
    x = (np.arange(spec.ncols) + 0.5) * spec.pixel_m
    y = (np.arange(spec.nrows) + 0.5) * spec.pixel_m
    return np.meshgrid(x, y)


def _valley_depth(spec: CaseSpec, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """A meandering main valley running west to east, deepest at its centre line (m)."""
    width, height = spec.ncols * spec.pixel_m, spec.nrows * spec.pixel_m
    centre = height * (0.55 + 0.12 * np.sin(2 * np.pi * xx / (0.8 * width)))
    half_width = 0.12 * height
    return 0.35 * spec.relief_m * np.exp(-(((yy - centre) / half_width) ** 2))


def _ridges(spec: CaseSpec, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Two oblique ridge systems (m), wavelengths ~ 1/2 and 1/3 of the region's extent."""
    extent = max(spec.ncols, spec.nrows) * spec.pixel_m
    r1 = np.sin(2 * np.pi * (xx + 0.6 * yy) / (0.55 * extent))
    r2 = np.cos(2 * np.pi * (0.7 * xx - yy) / (0.35 * extent))
    return 0.12 * spec.relief_m * (r1 + 0.5 * r2)


def _fractal(rng: np.random.Generator, spec: CaseSpec) -> np.ndarray:
    """Multi-octave smoothed noise (m): hills and side valleys at 1/6, 1/15, 1/40 of the extent."""
    shape = (spec.nrows, spec.ncols)
    extent_px = max(shape)
    total = np.zeros(shape)
    for frac, amp in ((1 / 6, 0.30), (1 / 15, 0.12), (1 / 40, 0.04)):
        total += amp * _smooth_noise(rng, shape, frac * extent_px)
    return spec.relief_m * total


def _add_pits(rng: np.random.Generator, spec: CaseSpec, dem: np.ndarray) -> None:
    """Carve ``n_pits`` closed bowl-shaped depressions (2-9 m deep, 1-3 px radius) in place."""
    for _ in range(spec.n_pits):
        r0 = int(rng.integers(3, spec.nrows - 3))
        c0 = int(rng.integers(3, spec.ncols - 3))
        radius = rng.uniform(1.0, 3.0)
        depth = rng.uniform(2.0, 9.0)
        reach = int(np.ceil(2.5 * radius))
        r_lo, c_lo = max(r0 - reach, 0), max(c0 - reach, 0)
        window = dem[r_lo : r0 + reach + 1, c_lo : c0 + reach + 1]
        rows, cols = np.indices(window.shape)
        dist2 = (rows + r_lo - r0) ** 2 + (cols + c_lo - c0) ** 2
        window -= depth * np.exp(-dist2 / (2 * radius**2)) * (dist2 <= (2.5 * radius) ** 2)


def _add_flats(rng: np.random.Generator, spec: CaseSpec, dem: np.ndarray) -> None:
    """Flatten a terrace (and, for ``plateau`` cases, a large plateau) to one exact elevation."""
    n_flat = int(spec.flat_fraction * dem.size)
    side = max(int(np.sqrt(n_flat)), 3)
    r0 = rng.integers(2, max(spec.nrows - side - 2, 3))
    c0 = rng.integers(2, max(spec.ncols - side - 2, 3))
    block = dem[r0 : r0 + side, c0 : c0 + side]
    block[...] = np.float32(np.round(np.median(block)))
    if spec.plateau:
        # plateau in the upper-left quarter, at the 60th percentile of the elevations: part of it
        # is a closed flat basin (behind higher ground), part drains over its lower rim.
        rows, cols = np.indices(dem.shape)
        inside = ((rows - spec.nrows * 0.3) ** 2 + (cols - spec.ncols * 0.3) ** 2) < (
            0.22 * min(spec.nrows, spec.ncols)
        ) ** 2
        dem[inside] = np.float32(np.round(np.percentile(dem, 60)))


def make_dem(spec: CaseSpec, rng: np.random.Generator) -> np.ndarray:
    """Synthetic DEM (m a.s.l., float32) sloping from the north-west mountains to the plain."""
    xx, yy = _coords(spec)
    width, height = spec.ncols * spec.pixel_m, spec.nrows * spec.pixel_m
    regional = spec.relief_m * (1.0 - 0.5 * xx / width - 0.3 * yy / height)
    fine = 0.005 * spec.relief_m * _smooth_noise(rng, xx.shape, 1.0)
    dem = regional + _ridges(spec, xx, yy) - _valley_depth(spec, xx, yy) + _fractal(rng, spec)
    dem = dem + fine
    dem = dem.astype(np.float32)
    dem += np.float32(60.0 - float(dem.min()))  # lowest point ~ the Beijing plain (~60 m)
    _add_pits(rng, spec, dem)
    _add_flats(rng, spec, dem)
    return dem.astype(np.float32)


def slope_percent(dem: np.ndarray, pixel_m: float) -> np.ndarray:
    """Central-difference slope (%), used only to place land cover and soils."""
    gy, gx = np.gradient(dem.astype(np.float64), pixel_m)
    return 100.0 * np.hypot(gx, gy)


# --------------------------------------------------------------------------- land cover


def _norm(a: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(a)), float(np.max(a))
    return (a - lo) / ((hi - lo) or 1.0)


def make_lulc_base(
    spec: CaseSpec, rng: np.random.Generator, dem: np.ndarray, slope: np.ndarray
) -> np.ndarray:
    """Baseline land cover from elevation, slope and smooth noise (uint8 class codes)."""
    z = _norm(dem) + 0.15 * _smooth_noise(rng, dem.shape, 300.0 / spec.pixel_m)
    patch = _smooth_noise(rng, dem.shape, 150.0 / spec.pixel_m)
    lulc = np.full(dem.shape, SHRUB, dtype=np.uint8)
    lulc[z > 0.62] = FOREST
    lulc[(z > 0.45) & (z <= 0.62) & (patch > 0.25)] = GRASS
    lulc[z <= 0.40] = CROP
    lulc[(z <= 0.40) & (patch < -0.45)] = GRASS
    lulc[(z > 0.80) & (slope > np.percentile(slope, 85))] = BARE
    lulc[_town(spec, 0.09)] = BUILT
    lulc[z < np.percentile(z, 4)] = WATER
    return lulc


def _town(spec: CaseSpec, radius_frac: float) -> np.ndarray:
    """Disk-shaped town in the south-east lowland; radius as a fraction of the region's width."""
    rows, cols = np.indices((spec.nrows, spec.ncols))
    r0, c0 = 0.78 * spec.nrows, 0.78 * spec.ncols
    radius = radius_frac * max(spec.nrows, spec.ncols)
    return (rows - r0) ** 2 + (cols - c0) ** 2 <= radius**2


def make_lulc_alt(
    spec: CaseSpec, rng: np.random.Generator, base: np.ndarray, slope: np.ndarray
) -> np.ndarray:
    """Later land cover: urban expansion, Grain-for-Green afforestation, shrub succession."""
    u = rng.random(base.shape)
    alt = base.copy()
    steep = slope > np.percentile(slope, 60)
    alt[(base == CROP) & steep & (u < 0.6)] = FOREST  # Grain for Green on sloping cropland
    alt[(base == GRASS) & (u < 0.3)] = SHRUB
    alt[(base == SHRUB) & (u < 0.15)] = FOREST
    alt[(base == BARE) & (u < 0.4)] = SHRUB
    alt[(base == FOREST) & (u < 0.02)] = GRASS  # some clearing
    growth = _town(spec, 0.15) & (base != WATER)
    alt[growth & (u < 0.85)] = BUILT
    return alt


# --------------------------------------------------------------------------- other rasters


def make_climate_soil(
    spec: CaseSpec, rng: np.random.Generator, dem: np.ndarray, slope: np.ndarray
) -> dict[str, np.ndarray]:
    """Precipitation, ET0, soil depth, PAWC, erosivity R and erodibility K (float32)."""
    z = _norm(dem)
    big = _smooth_noise(rng, dem.shape, 1500.0 / spec.pixel_m)
    small = _smooth_noise(rng, dem.shape, 200.0 / spec.pixel_m)
    precip = np.clip(450.0 + 230.0 * z + 20.0 * big, 450.0, 700.0)
    et0 = np.clip(1100.0 - 280.0 * z + 20.0 * small, 800.0, 1100.0)
    s_norm = np.clip(slope / max(float(np.percentile(slope, 98)), 1e-6), 0.0, 1.0)
    soil_depth = np.clip(2000.0 - 1500.0 * s_norm + 150.0 * small, 200.0, 2500.0)
    pawc = np.clip(0.14 + 0.06 * big + 0.03 * small - 0.05 * s_norm, 0.04, 0.3)
    erosivity = 5.5 * precip + 300.0 * small  # MJ mm / (ha h yr), Beijing ~ 2500-4000
    erodibility = np.clip(
        0.03 + 0.008 * big - 0.008 * small + 0.004 * s_norm, 0.01, 0.05
    )  # t ha h / (ha MJ mm)
    out = {
        "precip": precip,
        "et0": et0,
        "soil_depth": soil_depth,
        "pawc": pawc,
        "erosivity": erosivity,
        "erodibility": erodibility,
    }
    return {k: v.astype(np.float32) for k, v in out.items()}


def punch_holes(spec: CaseSpec, layers: dict[str, np.ndarray]) -> None:
    """Set small blocks of each input to nodata (only for ``holes`` cases), in place."""
    if not spec.holes:
        return
    r, c = spec.nrows, spec.ncols
    layers["dem"][r // 2 : r // 2 + 3, c // 2 + 4 : c // 2 + 8] = DEM_NODATA  # interior hole
    layers["dem"][0:4, c - 6 : c] = DEM_NODATA  # notch on the edge
    layers["precip"][r - 10 : r - 7, 5:9] = FLOAT_NODATA
    layers["erodibility"][8:11, c - 15 : c - 12] = FLOAT_NODATA
    layers["soil_depth"][r - 4 : r - 2, c // 3 : c // 3 + 5] = FLOAT_NODATA
    layers["lulc_bas"][r // 3 : r // 3 + 2, 2:6] = LULC_NODATA
    layers["lulc_alt"][r // 3 : r // 3 + 2, 2:6] = LULC_NODATA
    layers["lulc_alt"][r - 3 : r - 1, c - 8 : c - 5] = LULC_NODATA  # only in the later map


# --------------------------------------------------------------------------- writers


def _srs() -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def write_raster(path: Path, array: np.ndarray, spec: CaseSpec, nodata: float) -> None:
    """Write a single-band compressed GeoTIFF on the case grid (tiled when large)."""
    dtype = gdal.GDT_Byte if array.dtype == np.uint8 else gdal.GDT_Float32
    options = ["COMPRESS=DEFLATE", f"PREDICTOR={2 if dtype == gdal.GDT_Byte else 3}"]
    if max(array.shape) > 512:
        options += ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "BIGTIFF=IF_SAFER"]
    driver = gdal.GetDriverByName("GTiff")
    ds = driver.Create(str(path), spec.ncols, spec.nrows, 1, dtype, options=options)
    x0, y0 = spec.origin
    ds.SetGeoTransform((x0, spec.pixel_m, 0.0, y0, 0.0, -spec.pixel_m))
    ds.SetProjection(_srs().ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(nodata)
    band.WriteArray(array)
    band.FlushCache()
    ds = None


def _split_line(spec: CaseSpec, frac: float, n: int = 6) -> list[tuple[float, float]]:
    """A wavy north-south line at ``frac`` of the width, vertices off the pixel edges."""
    x0, y0 = spec.origin
    width, height = spec.ncols * spec.pixel_m, spec.nrows * spec.pixel_m
    ys = np.linspace(0.0, height, n)
    xs = width * (frac + 0.06 * np.sin(np.linspace(0.3, 2.8, n))) + 0.37 * spec.pixel_m
    return [(x0 + float(x), y0 - float(y)) for x, y in zip(xs, ys, strict=True)]


def watershed_rings(spec: CaseSpec, n: int) -> list[list[tuple[float, float]]]:
    """``n`` west-to-east strip polygons (closed rings) that tile the raster extent exactly.

    Internal boundaries are wavy north-south lines that cut through pixels, so polygon areas
    differ from pixel-count areas (InVEST's water-yield volume uses the polygon area).
    """
    x0, y0 = spec.origin
    x1, y1 = x0 + spec.ncols * spec.pixel_m, y0 - spec.nrows * spec.pixel_m
    bounds = [[(x0, y0), (x0, y1)]]
    bounds += [_split_line(spec, (i + 1) / n) for i in range(n - 1)]
    bounds += [[(x1, y0), (x1, y1)]]
    rings = [[*west, *east[::-1]] for west, east in zip(bounds[:-1], bounds[1:], strict=True)]
    return [[*ring, ring[0]] for ring in rings]


def subwatershed_rings(spec: CaseSpec) -> list[list[tuple[float, float]]]:
    """Six sub-watersheds: a 3 x 2 grid with a diagonal jog, tiling the extent."""
    x0, y0 = spec.origin
    w, h = spec.ncols * spec.pixel_m, spec.nrows * spec.pixel_m
    xs = [x0, x0 + w / 3 + 0.31 * spec.pixel_m, x0 + 2 * w / 3 - 0.42 * spec.pixel_m, x0 + w]
    ym = y0 - h / 2 - 0.27 * spec.pixel_m
    rings = []
    for i in range(3):
        xa, xb = xs[i], xs[i + 1]
        rings.append([(xa, y0), (xb, y0), (xb, ym + 0.5 * spec.pixel_m), (xa, ym)])
        rings.append([(xa, ym), (xb, ym + 0.5 * spec.pixel_m), (xb, y0 - h), (xa, y0 - h)])
    return [[*r, r[0]] for r in rings]


def write_polygons(
    path: Path, rings: list[list[tuple[float, float]]], id_field: str, ids: list[int]
) -> None:
    """Write polygons with one integer id field to a GeoPackage."""
    if path.exists():
        path.unlink()
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer(path.stem, _srs(), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn(id_field, ogr.OFTInteger))
    for ring_xy, ident in zip(rings, ids, strict=True):
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in ring_xy:
            ring.AddPoint_2D(x, y)
        poly = ogr.Geometry(ogr.wkbPolygon)
        poly.AddGeometry(ring)
        if not poly.IsValid():
            raise ValueError(f"generated an invalid polygon for {id_field}={ident}")
        feat = ogr.Feature(layer.GetLayerDefn())
        feat.SetField(id_field, ident)
        feat.SetGeometry(poly)
        layer.CreateFeature(feat)
    ds = None


def write_tables(folder: Path) -> None:
    """Write the three InVEST biophysical tables (CSV)."""
    rows = ["lucode,c_above,c_below,c_soil,c_dead"]
    rows += [f"{k},{a},{b},{s},{d}" for k, (a, b, s, d) in CARBON_POOLS.items()]
    (folder / "carbon_pools.csv").write_text("\n".join(rows) + "\n")
    rows = ["lucode,lulc_veg,root_depth,kc"]
    rows += [f"{k},{v},{r},{kc}" for k, (v, r, kc) in AWY_TABLE.items()]
    (folder / "awy_biophysical.csv").write_text("\n".join(rows) + "\n")
    rows = ["lucode,usle_c,usle_p"]
    rows += [f"{k},{c},{p}" for k, (c, p) in SDR_TABLE.items()]
    (folder / "sdr_biophysical.csv").write_text("\n".join(rows) + "\n")


# --------------------------------------------------------------------------- args files

MODEL_IDS = {
    "carbon": "carbon",
    "annual_water_yield": "annual_water_yield",
    "sdr_d8": "sdr",
    "sdr_mfd": "sdr",
}
MODEL_PYNAMES = {
    "carbon": "natcap.invest.carbon",
    "annual_water_yield": "natcap.invest.annual_water_yield",
    "sdr": "natcap.invest.sdr.sdr",
}


def model_args(spec: CaseSpec) -> dict[str, dict[str, object]]:
    """InVEST args per model run, paths relative to the case folder."""
    common = {"workspace_dir": "invest_workspace", "results_suffix": "", "n_workers": -1}
    carbon = {
        **common,
        "lulc_bas_path": "inputs/lulc_bas.tif",
        "calc_sequestration": True,
        "lulc_alt_path": "inputs/lulc_alt.tif",
        "carbon_pools_path": "inputs/carbon_pools.csv",
        "lulc_bas_year": spec.years[0],
        "lulc_alt_year": spec.years[1],
        "do_valuation": True,
        "price_per_metric_ton_of_c": spec.price,
        "discount_rate": spec.discount_rate,
        "rate_change": spec.rate_change,
    }
    awy = {
        **common,
        "lulc_path": "inputs/lulc_bas.tif",
        "depth_to_root_rest_layer_path": "inputs/soil_depth.tif",
        "precipitation_path": "inputs/precip.tif",
        "pawc_path": "inputs/pawc.tif",
        "eto_path": "inputs/et0.tif",
        "watersheds_path": "inputs/watersheds.gpkg",
        "sub_watersheds_path": "inputs/subwatersheds.gpkg" if spec.subwatersheds else "",
        "biophysical_table_path": "inputs/awy_biophysical.csv",
        "seasonality_constant": spec.seasonality_z,
        "demand_table_path": "",
        "valuation_table_path": "",
    }
    sdr = {
        **common,
        "dem_path": "inputs/dem.tif",
        "erosivity_path": "inputs/erosivity.tif",
        "erodibility_path": "inputs/erodibility.tif",
        "lulc_path": "inputs/lulc_bas.tif",
        "watersheds_path": "inputs/watersheds.gpkg",
        "biophysical_table_path": "inputs/sdr_biophysical.csv",
        "threshold_flow_accumulation": spec.tfa_px,
        "k_param": 2.0,
        "sdr_max": 0.8,
        "ic_0_param": 0.5,
        "l_max": 122.0,
        "drainage_path": "",
    }
    return {
        "carbon": carbon,
        "annual_water_yield": awy,
        "sdr_d8": {**sdr, "flow_dir_algorithm": "D8"},
        "sdr_mfd": {**sdr, "flow_dir_algorithm": spec.mfd_option},
    }


def write_args_files(spec: CaseSpec, case_dir: Path) -> None:
    """Write ``<model>.args.json`` (bare dict) and ``<model>.invs.json`` (datastack)."""
    for key, args in model_args(spec).items():
        model_id = MODEL_IDS[key]
        (case_dir / f"{key}.args.json").write_text(json.dumps(args, indent=4, sort_keys=True))
        if spec.old_style_datastack:
            stack: dict[str, object] = {
                "args": args,
                "invest_version": INVEST_VERSION,
                "model_name": MODEL_PYNAMES[model_id],
            }
        else:
            stack = {"args": args, "model_id": model_id}
        (case_dir / f"{key}.invs.json").write_text(json.dumps(stack, indent=4, sort_keys=True))


# --------------------------------------------------------------------------- driver


def make_layers(spec: CaseSpec) -> dict[str, np.ndarray]:
    """All raster layers of a case, as arrays (nodata already applied)."""
    rng = np.random.default_rng(spec.seed)
    dem = make_dem(spec, rng)
    slope = slope_percent(dem, spec.pixel_m)
    lulc_bas = make_lulc_base(spec, rng, dem, slope)
    layers = {
        "dem": dem,
        "lulc_bas": lulc_bas,
        "lulc_alt": make_lulc_alt(spec, rng, lulc_bas, slope),
    }
    layers.update(make_climate_soil(spec, rng, dem, slope))
    punch_holes(spec, layers)
    return layers


def make_region(spec: CaseSpec, case_dir: Path) -> Path:
    """Write all inputs and args files of ``spec`` under ``case_dir``; return ``case_dir``."""
    inputs = case_dir / "inputs"
    if inputs.exists():
        shutil.rmtree(inputs)
    inputs.mkdir(parents=True)
    for name, array in make_layers(spec).items():
        nodata = LULC_NODATA if array.dtype == np.uint8 else FLOAT_NODATA
        write_raster(inputs / f"{name}.tif", array, spec, nodata)
    ws_ids = [11, 12, 20][: spec.n_watersheds]
    write_polygons(
        inputs / "watersheds.gpkg", watershed_rings(spec, spec.n_watersheds), "ws_id", ws_ids
    )
    if spec.subwatersheds:
        write_polygons(
            inputs / "subwatersheds.gpkg", subwatershed_rings(spec), "subws_id", [1, 2, 3, 4, 5, 6]
        )
    write_tables(inputs)
    write_args_files(spec, case_dir)
    return case_dir


def benchmark_spec(size: int, pixel_m: float = 30.0) -> CaseSpec:
    """The benchmark region: ``size`` x ``size`` pixels, hills-like, 3 watersheds."""
    return CaseSpec(
        name=f"bench_{size}",
        nrows=size,
        ncols=size,
        pixel_m=pixel_m,
        origin=(380_010.0, 4_520_010.0),
        seed=2000 + size,
        relief_m=1500.0,
        n_pits=max(6, size // 20),
        n_watersheds=3,
        seasonality_z=5.0,
        tfa_px=1000,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=sorted(CASES), help="case names")
    ns = parser.parse_args(argv)
    for name in ns.cases:
        spec = CASES[name]
        make_region(spec, HERE / name)
        print(f"{name}: {spec.nrows}x{spec.ncols} px at {spec.pixel_m:g} m -> {HERE / name}")


if __name__ == "__main__":
    main()
