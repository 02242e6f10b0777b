"""Synthetic townships, protected areas and the unit indicator table of the sample region.

Township polygons are Voronoi cells, one per real township code, inside each real district;
protected areas are circles near real nature-reserve locations; the indicator table gives per
district and township and year the area, population, eco-environment quality index, red-line,
nature-reserve and ecological-land area and the eco-damaging industries' share.
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
    CRS,
    FOREST,
    GRASS,
    HERE,
    PROTECTED_LONLAT,
    SHRUB,
    WATER,
    WETLAND,
    Region,
    rng_for,
    to_utm,
)


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
