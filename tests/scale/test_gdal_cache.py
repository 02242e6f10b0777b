"""The GDAL block cache ``gep run`` sets is megabytes, not bytes (rasterio reads bytes)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
import rasterio

from gep.chunked import GDAL_CACHE_BYTES


def _libgdal() -> ctypes.CDLL:
    """The GDAL library rasterio loaded (pyogrio's wheel may bring its own copy)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps to find the GDAL rasterio loaded")
    paths = {
        line.split()[-1]
        for line in maps.read_text().splitlines()
        if "libgdal" in Path(line.split()[-1]).name
    }
    ours = sorted(p for p in paths if "rasterio" in p) or (sorted(paths) if len(paths) == 1 else [])
    if not ours:
        pytest.skip(f"cannot tell rasterio's GDAL among {sorted(paths)}")
    lib = ctypes.CDLL(ours[0])
    lib.GDALGetCacheMax64.restype = ctypes.c_int64
    return lib


def test_run_cache_is_64_mib() -> None:
    lib = _libgdal()
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        assert lib.GDALGetCacheMax64() == 64 * 2**20
