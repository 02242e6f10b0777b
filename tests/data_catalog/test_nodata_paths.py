"""Nodata becomes NaN the same way whether a raster is read whole, lazily or by window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from data_catalog.rasters import read_raster


@pytest.mark.parametrize("dtype", ["int16", "uint8", "float32"])
@pytest.mark.parametrize(
    "how", [{}, {"chunks": {"y": 1, "x": 1}}, {"window": (slice(0, 2), slice(0, 3))}]
)
def test_nodata_is_nan_on_every_read_path(tmp_path: Path, dtype: str, how: dict) -> None:
    nodata = 255 if dtype == "uint8" else -9999
    values = np.array([[1, nodata, 3], [4, 5, nodata]], dtype=dtype)
    path = tmp_path / "a.tif"
    profile = {"driver": "GTiff", "height": 2, "width": 3, "count": 1, "dtype": dtype}
    with rasterio.open(
        path, "w", **profile, crs="EPSG:32650", transform=from_origin(0, 2, 1, 1), nodata=nodata
    ) as dst:
        dst.write(values, 1)
    first = read_raster(path, name="a", **how)
    again = read_raster(path, name="a", **how)  # the file itself is never changed
    for da in (first, again):
        got = np.asarray(da.values)
        assert got.dtype.kind == "f"
        np.testing.assert_array_equal(got, [[1, np.nan, 3], [4, 5, np.nan]])
