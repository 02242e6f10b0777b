"""Shared fixtures: tiny rasters and catalogs written into tmp folders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

UTM_30M = Affine(30, 0, 400000, 0, -30, 4450000)


@pytest.fixture(autouse=True, scope="session")
def _accounts_store_outside_the_checkout(tmp_path_factory):
    """Runs append to an accounts store: one in a tmp folder, never ./gep-store.duckdb."""
    previous = os.environ.get("GEP_STORE")
    os.environ["GEP_STORE"] = str(tmp_path_factory.mktemp("store") / "gep-store.duckdb")
    yield
    if previous is None:
        os.environ.pop("GEP_STORE", None)
    else:
        os.environ["GEP_STORE"] = previous


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    transform: Affine = UTM_30M,
    crs: str | None = "EPSG:32650",
    nodata: float | None = -9999.0,
) -> Path:
    """Write a single-band GeoTIFF for a test."""
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": data.dtype.name,
        "transform": transform,
    }
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture
def tif(tmp_path: Path):
    """Factory writing GeoTIFFs into the test's tmp folder."""

    def make(name: str, data: np.ndarray, **kwargs) -> Path:
        return write_tif(tmp_path / name, data, **kwargs)

    return make
