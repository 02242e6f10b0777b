"""The GDAL block cache ``gep run`` sets is megabytes, not bytes (rasterio reads bytes)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
import rasterio

from gep.chunked import GDAL_CACHE_BYTES


def _libgdal() -> ctypes.CDLL:
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps to find the GDAL rasterio loaded")
    for line in maps.read_text().splitlines():
        path = line.split()[-1]
        if "libgdal" in Path(path).name:
            lib = ctypes.CDLL(path)
            lib.GDALGetCacheMax64.restype = ctypes.c_int64
            return lib
    pytest.skip("GDAL library not found among the mapped files")


def test_run_cache_is_64_mib() -> None:
    lib = _libgdal()
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        assert lib.GDALGetCacheMax64() == 64 * 2**20
