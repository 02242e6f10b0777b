"""The I/O floor of ``gep run``: decode its input rasters and encode its output rasters, nothing else.

The least time any implementation writing the same files from the same inputs needs on this
machine, to set ``gep run``'s time (``main_job.py``) and InVEST's workflow against:

* **decode**: every raster of the run's catalog read window by window (gep's ``CHUNK``-cell
  windows), two files at a time, as the per-pixel pass reads them;
* **encode**: every raster ``gep run`` wrote under ``rasters/`` written again through the same
  calls (:func:`gep.io.window_files.open_targets`, the windows, overview levels on the way, and
  :func:`gep.io.window_files.publish` into Cloud-Optimized GeoTIFFs), from values read into
  memory beforehand (not timed), in window order as :func:`gep.chunked.write_windows`
  finishes them (GDAL compresses on every core). Same values, so the same compressibility.

Reading the inputs once and writing the outputs once is what the floor counts; ``gep run``
also sums the zones, values the quantities, and writes tables, maps and the report.

    .venv/bin/python benchmarks/main_job_floor.py RUN_CONFIG GEP_OUT_FOLDER
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from gep.chunked import CHUNK, block_windows


def _decode(path: Path) -> int:
    """Read every window of ``path``'s first band; cells read."""
    cells = 0
    with rasterio.open(path) as src:
        for rows, cols in block_windows(src.shape, CHUNK):
            window = Window.from_slices(rows, cols)
            cells += src.read(1, window=window).size
    return cells


def _grid(path: Path) -> Any:
    import pyproj

    from data_catalog.grid import Grid

    with rasterio.open(path) as src:
        crs = pyproj.CRS.from_wkt(src.crs.to_wkt())
        return Grid(crs=crs, transform=src.transform, shape=src.shape)


def catalog_rasters(config: Path) -> list[Path]:
    """The raster files of a run configuration's catalog."""
    from data_catalog.catalog import load_catalog
    from gep.config import load_run_config

    cat = load_catalog(load_run_config(config).catalog_file())
    ids = sorted(i for i, e in cat.entries.items() if e.kind == "raster")
    return sorted({cat.resolve(i) for i in ids})


def io_floor(config: Path, out: Path) -> dict[str, Any]:
    """Seconds to decode the catalog's rasters and encode ``out/rasters/*.tif`` again."""
    from gep.io.window_files import open_targets, publish

    inputs = catalog_rasters(config)
    outputs = sorted((out / "rasters").glob("*.tif"))
    if not inputs or not outputs:
        raise SystemExit(f"no rasters in the catalog of {config} or in {out / 'rasters'}")
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        cells = sum(pool.map(_decode, inputs))
    decode_s = time.perf_counter() - started

    grid = _grid(outputs[0])
    scratch = Path(tempfile.mkdtemp(prefix="gep-bench-floor-", dir=out.parent))
    encode_s = 0.0
    try:
        for path in outputs:  # one at a time: all 48 outputs of 30 m in memory would be 7 GB
            with rasterio.open(path) as src:
                values = src.read(1, masked=True)
                dtype, units = np.dtype(src.dtypes[0]), src.tags().get("units", "1")
            array = values.filled(np.nan) if np.issubdtype(dtype, np.floating) else values.data
            started = time.perf_counter()
            with contextlib.ExitStack() as stack:
                targets, pending = open_targets(
                    stack, {path.stem: (dtype, units)}, grid, scratch, cog=True
                )
                for window in block_windows(grid.shape, CHUNK):
                    targets[0][window] = array[window]
            publish(pending, scratch, cog=True)
            encode_s += time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "seconds": decode_s + encode_s,
        "decode_s": decode_s,
        "encode_s": encode_s,
        "inputs": len(inputs),
        "input_cells": cells,
        "outputs": len(outputs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the run configuration gep ran")
    parser.add_argument("out", type=Path, help="a finished gep run's output folder")
    args = parser.parse_args()
    print(json.dumps(io_floor(args.config, args.out), indent=2))


if __name__ == "__main__":
    main()
