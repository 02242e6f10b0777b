"""Write small InVEST-style input folders (rasters, tables, args JSON) for adapter tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine

CRS = "EPSG:32650"
RES = 30.0
ORIGIN = (400_000.0, 4_500_000.0)


def write_tif(
    path: Path, values: np.ndarray, *, nodata: float | int | None, origin=ORIGIN, res=RES, crs=CRS
) -> Path:
    rows, cols = values.shape
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": values.dtype.name,
        "crs": crs,
        "transform": Affine(res, 0, origin[0], 0, -res, origin[1]),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_args(path: Path, args: dict[str, Any], *, datastack: str | None = None) -> Path:
    content: dict[str, Any] = (
        args
        if datastack is None
        else {"args": args, "model_id": datastack, "invest_version": "3.20.2"}
    )
    path.write_text(json.dumps(content, indent=1))
    return path


def watershed_polygons(
    path: Path, boxes: dict[int, tuple[float, float, float, float]], field: str = "ws_id"
) -> Path:
    gdf = gpd.GeoDataFrame(
        {field: list(boxes)}, geometry=[shapely.box(*b) for b in boxes.values()], crs=CRS
    )
    gdf.to_file(path, driver="GPKG")
    return path


def carbon_case(folder: Path, *, rows: int = 6, cols: int = 5, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    bas = rng.choice([1, 2, 3], size=(rows, cols)).astype(np.int16)
    alt = rng.choice([1, 2, 3], size=(rows, cols)).astype(np.int16)
    bas[0, 0] = -1
    write_tif(folder / "lulc_bas.tif", bas, nodata=-1)
    write_tif(folder / "lulc_alt.tif", alt, nodata=-1)
    write_csv(
        folder / "pools.csv",
        "LUCODE,c_above,C_Below ,c_soil,c_dead,name\n1,100,20,50.5,3,forest\n2,10,5,40,0,grass\n3,0,0,20,0,urban\n",
    )
    args = {
        "workspace_dir": "ws",
        "lulc_bas_path": "lulc_bas.tif",
        "lulc_alt_path": "lulc_alt.tif",
        "carbon_pools_path": "pools.csv",
        "calc_sequestration": True,
        "do_valuation": True,
        "lulc_bas_year": 2010,
        "lulc_alt_year": 2020,
        "price_per_metric_ton_of_c": 43,
        "discount_rate": 3,
        "rate_change": 0,
    }
    return write_args(folder / "carbon_args.json", args)


def awy_case(folder: Path, *, rows: int = 6, cols: int = 8, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lulc = rng.choice([1, 2, 3], size=(rows, cols)).astype(np.uint8)
    lulc[0, 0] = 255
    write_tif(folder / "lulc.tif", lulc, nodata=255)
    write_tif(
        folder / "precip.tif", rng.uniform(300, 900, (rows, cols)).astype(np.float32), nodata=-1.0
    )
    write_tif(
        folder / "eto.tif", rng.uniform(600, 1100, (rows, cols)).astype(np.float32), nodata=-1.0
    )
    write_tif(
        folder / "depth.tif", rng.uniform(200, 2000, (rows, cols)).astype(np.float32), nodata=-1.0
    )
    write_tif(
        folder / "pawc.tif", rng.uniform(0.05, 0.3, (rows, cols)).astype(np.float32), nodata=-1.0
    )
    write_csv(
        folder / "bio.csv",
        "lucode,lulc_veg,root_depth,kc,description\n1,1,2000,1.0,forest\n2,1,500,0.65,crop\n3,0,,0.3,urban\n",
    )
    x0, y0 = ORIGIN
    half = cols * RES / 2
    watershed_polygons(
        folder / "ws.gpkg",
        {
            1: (x0, y0 - rows * RES, x0 + half, y0),
            2: (x0 + half, y0 - rows * RES, x0 + cols * RES, y0),
        },
    )
    args = {
        "workspace_dir": "ws",
        "lulc_path": "lulc.tif",
        "precipitation_path": "precip.tif",
        "eto_path": "eto.tif",
        "depth_to_root_rest_layer_path": "depth.tif",
        "pawc_path": "pawc.tif",
        "watersheds_path": "ws.gpkg",
        "biophysical_table_path": "bio.csv",
        "seasonality_constant": 5,
    }
    return write_args(folder / "awy_args.json", args)
