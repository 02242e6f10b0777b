"""Temporary tiled GeoTIFFs written window by window, then published (as COGs or as they are).

The writing end of :mod:`gep.chunked`: one temporary file per output, next to where it will
be published, a ``__setitem__`` target per file (what :func:`dask.array.store` and the window
loops write into), and the publication at the end (:func:`gep.io.cog.publish_cog`, or a rename).
Float NaN is written as :data:`gep.io.bands.FLOAT_NODATA`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from data_catalog.grid import Grid
from gep.io.bands import FLOAT_NODATA
from gep.io.cog import COG_TILE, PyramidWriter, overview_factors, publish_cog

#: A temporary file and the overview levels written with it (COGs of float outputs).
Pending = tuple[Path, PyramidWriter | None]


class WindowTarget:
    """A ``__setitem__`` target for :func:`dask.array.store` writing into one open GeoTIFF.

    With a ``pyramid``, each window also goes into the overview levels of the COG to come.
    """

    def __init__(
        self,
        dst: rasterio.io.DatasetWriter,
        lock: threading.Lock,
        nodata: float | None,
        pyramid: PyramidWriter | None = None,
    ) -> None:
        self.dst = dst
        self.lock = lock
        self.nodata = nodata
        self.pyramid = pyramid
        self.shape = (dst.height, dst.width)
        self.dtype = np.dtype(dst.dtypes[0])
        self.ndim = 2

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        rows, cols = key
        block = np.asarray(value)
        if self.pyramid is not None:
            self.pyramid.write(key, block)
        if self.nodata is not None and np.issubdtype(block.dtype, np.floating):
            block = np.where(np.isnan(block), self.dtype.type(self.nodata), block)
        block = block.astype(self.dtype, copy=False)
        window = ((rows.start, rows.stop), (cols.start, cols.stop))
        with self.lock:  # one GDAL dataset is not thread-safe
            self.dst.write(block[np.newaxis], window=window)


#: Temporary full-resolution files of one write are left uncompressed while they add up to at
#: most this many bytes: the COG conversion then reads them without decoding (about 40 % of
#: its time on a 30 m raster); larger ones (10 m) are ZSTD-compressed to spare the disk.
RAW_TMP_BYTES = 4 << 30


def _profile(grid: Grid, dtype: np.dtype, nodata: Any, *, raw: bool) -> dict[str, Any]:
    rows, cols = grid.shape
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": dtype.name,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": COG_TILE,
        "blockysize": COG_TILE,
        "BIGTIFF": "IF_SAFER",
    }
    if raw:
        return profile
    return profile | {
        "compress": "ZSTD",
        "zstd_level": 1,
        "predictor": _predictor(dtype),
        "num_threads": "ALL_CPUS",
    }


def _predictor(dtype: np.dtype) -> int:
    return 3 if np.issubdtype(dtype, np.floating) else 2


def open_targets(
    stack: contextlib.ExitStack,
    outputs: Mapping[str, tuple[np.dtype, str]],
    grid: Grid,
    out_dir: Path,
    cog: bool,
) -> tuple[list[WindowTarget], dict[str, Pending]]:
    """Open a temporary tiled GeoTIFF per output (name → dtype, units); writers and paths.

    For COGs, float outputs also get their overview levels written as the windows come.
    """
    targets, tmp_paths = [], {}
    size = grid.shape[0] * grid.shape[1]
    # uncompressed only when the COG conversion re-encodes them; published as written otherwise
    raw = cog and sum(size * np.dtype(t).itemsize for t, _ in outputs.values()) <= RAW_TMP_BYTES
    for name, (dtype, units) in outputs.items():
        floating = np.issubdtype(dtype, np.floating)
        nodata = FLOAT_NODATA if floating else None
        tmp = out_dir / f".{name}.tmp.tif"
        profile = _profile(grid, dtype, nodata, raw=raw)
        dst = stack.enter_context(rasterio.open(tmp, "w", **profile))
        dst.update_tags(units=units)
        dst.set_band_description(1, name)
        pyramid = None
        if cog and floating:
            pyramid = PyramidWriter(profile, tmp, overview_factors(grid.shape, limit=COG_TILE))
            stack.callback(pyramid.close)
        tmp_paths[name] = (tmp, pyramid)
        targets.append(WindowTarget(dst, threading.Lock(), nodata, pyramid))
    return targets, tmp_paths


def publish(tmp_paths: dict[str, Pending], out_dir: Path, cog: bool) -> dict[str, Path]:
    """Move the temporary files into place (as COGs with ``cog``, with their overviews)."""
    paths = {}
    for name, (tmp, pyramid) in tmp_paths.items():
        target = out_dir / f"{name}.tif"
        if cog:
            with rasterio.open(tmp) as src:
                predictor = _predictor(np.dtype(src.dtypes[0]))
            levels = pyramid.paths if pyramid is not None else []
            publish_cog(tmp, target, levels, predictor=predictor)
        else:
            os.replace(tmp, target)
        paths[name] = target
    return paths
