"""The sample region resampled to a finer grid (30 m, 10 m), for the main-job benchmark.

Every raster of the embedded sample catalog is resampled onto a grid with the same extent and
CRS and the given pixel size (``nearest`` for categorical rasters, ``bilinear`` for continuous
ones), window by window (memory bounded by the window, not by the raster), into tiled ZSTD
GeoTIFFs. Vectors and tables stay where they are (absolute paths). The data stay SYNTHETIC:
only the grid changes. A run configuration next to the catalog runs the demo's services,
valuation and linkage on it.

    .venv/bin/python benchmarks/make_region.py --resolution 30 --out /tmp/gep-bench/region_30m
    .venv/bin/python benchmarks/make_region.py --resolution 10 --out /tmp/gep-bench/region_10m

Not committed, regenerated on demand (a 10 m region is about 325 M pixels per raster).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rasterio.windows import Window

from data_catalog.sample import catalog_path
from gep.config import demo_config_path

ROWS_PER_WINDOW = 1024


def target_grid(reference: Path, resolution_m: float) -> tuple[Affine, int, int, Any]:
    """Transform, rows, columns and CRS of the finer grid over the reference raster's extent."""
    with rasterio.open(reference) as src:
        left, bottom, right, top = src.bounds
        crs = src.crs
    cols = math.ceil((right - left) / resolution_m)
    rows = math.ceil((top - bottom) / resolution_m)
    return Affine(resolution_m, 0, left, 0, -resolution_m, top), rows, cols, crs


def resample(
    src_path: Path, dst_path: Path, grid: tuple[Affine, int, int, Any], *, categorical: bool
) -> None:
    """Resample one raster onto ``grid`` window by window."""
    transform, rows, cols, crs = grid
    method = Resampling.nearest if categorical else Resampling.bilinear
    with rasterio.open(src_path) as src:
        profile = {
            "driver": "GTiff",
            "height": rows,
            "width": cols,
            "count": 1,
            "dtype": src.dtypes[0],
            "crs": crs,
            "transform": transform,
            "nodata": src.nodata,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "zstd",
            "zstd_level": 1,
            "BIGTIFF": "IF_SAFER",
        }
        fill = src.nodata if src.nodata is not None else 0
        with rasterio.open(dst_path, "w", **profile) as dst:
            for r0 in range(0, rows, ROWS_PER_WINDOW):
                window = Window(0, r0, cols, min(ROWS_PER_WINDOW, rows - r0))
                block = np.full((int(window.height), cols), fill, dtype=src.dtypes[0])
                reproject(
                    source=rasterio.band(src, 1),
                    destination=block,
                    dst_transform=rasterio.windows.transform(window, transform),
                    dst_crs=crs,
                    resampling=method,
                    src_nodata=src.nodata,
                    dst_nodata=src.nodata,
                )
                dst.write(block, 1, window=window)


def make_region(resolution_m: float, out: Path) -> Path:
    """Write the resampled catalog and a run configuration into ``out``; return the config."""
    source = catalog_path()
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    reference = source.parent / raw["entries"][raw["reference_grid"]]["path"]
    grid = target_grid(reference, resolution_m)
    (out / "rasters").mkdir(parents=True, exist_ok=True)
    for entry_id, entry in raw["entries"].items():
        path = source.parent / entry["path"]
        if entry["kind"] == "raster":
            target = out / "rasters" / path.name
            if not target.exists():
                started = time.perf_counter()
                resample(path, target, grid, categorical=bool(entry.get("categorical")))
                print(f"{entry_id}: {time.perf_counter() - started:.1f} s", flush=True)
            entry["path"] = str(target)
        else:
            entry["path"] = str(path)
    raw["name"] = f"{raw['name']}-{resolution_m:g}m"
    raw["description"] = (
        f"{raw.get('description', '')} Resampled to {resolution_m:g} m for benchmarks."
    )
    (out / "catalog.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    config = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    config["name"] = f"benchmark-{resolution_m:g}m"
    config["catalog"] = str(out / "catalog.yaml")
    if config.get("linkage"):
        config["linkage"] = str(demo_config_path().parent / config["linkage"])
    prices = config.get("prices") or {}
    for key in ("unit_prices", "price_indices"):  # files; other keys name catalog entries
        if isinstance(prices.get(key), str) and prices[key] != "builtin":
            prices[key] = str(demo_config_path().parent / prices[key])
    config["output"] = str(out / "output")
    path = out / "run.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, required=True, help="pixel size, m")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(make_region(args.resolution, args.out))


if __name__ == "__main__":
    main()
