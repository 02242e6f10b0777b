"""Reading (nodata handled once) and atomic COG writing."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr

from data_catalog import rasters
from data_catalog.errors import InputError
from data_catalog.rasters import read_raster, write_cog


def test_float_nodata_becomes_nan_and_keeps_dtype(tif):
    data = np.array([[1.5, -9999.0], [3.0, 4.0]], dtype=np.float32)
    da = read_raster(tif("p.tif", data), name="precipitation", units="mm yr-1")
    assert da.dtype == np.float32
    assert np.isnan(da.values[0, 1])
    assert da.values[1, 1] == 4.0
    assert da.attrs["units"] == "mm yr-1"
    assert "_FillValue" not in da.attrs


def test_integer_continuous_becomes_float(tif):
    data = np.array([[10, 0], [20, 30]], dtype=np.int16)
    da = read_raster(tif("d.tif", data, nodata=0), name="depth")
    assert da.dtype == np.float64
    assert np.isnan(da.values[0, 1]) and da.values[1, 1] == 30


def test_categorical_keeps_codes_and_valid_mask(tif):
    data = np.array([[1, 255], [2, 3]], dtype=np.uint8)
    da = read_raster(tif("lc.tif", data, nodata=255), name="landcover", categorical=True)
    assert da.dtype == np.uint8
    assert da.attrs["nodata"] == 255
    assert da.coords["valid"].values.tolist() == [[True, False], [True, True]]


def test_declared_nodata_used_when_file_has_none(tif):
    data = np.array([[-1.0, 2.0]], dtype=np.float32)
    da = read_raster(tif("x.tif", data, nodata=None), name="x", nodata=-1.0)
    assert np.isnan(da.values[0, 0])


def test_dask_chunks_are_lazy(tif):
    data = np.arange(16, dtype=np.float32).reshape(4, 4)
    da = read_raster(tif("c.tif", data), name="c", chunks=2)
    assert da.chunks is not None
    assert float(da.sum()) == data.sum()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="precipitation: raster file not found"):
        read_raster(tmp_path / "nope.tif", name="precipitation")


def test_write_cog_round_trip(tif, tmp_path):
    data = np.array([[1.0, -9999.0], [2.5, 4.0]], dtype=np.float32)
    da = read_raster(tif("in.tif", data), name="yield", units="mm yr-1")
    out = write_cog(da, tmp_path / "out" / "yield.tif")
    with rasterio.open(out) as src:
        assert src.driver == "GTiff"
        assert src.profile["tiled"]
        assert src.nodata == pytest.approx(rasters.FLOAT_NODATA)
        assert src.tags()["units"] == "mm yr-1"
        assert src.crs.to_epsg() == 32650
    back = read_raster(out, name="yield")
    np.testing.assert_array_equal(np.isnan(back.values), np.isnan(da.values))
    assert back.values[1, 0] == 2.5
    with rasterio.open(out) as src:
        structure = src.tags(ns="IMAGE_STRUCTURE")
    assert structure["LAYOUT"] == "COG"
    assert structure["COMPRESSION"] == "ZSTD"
    assert structure["PREDICTOR"] == "3"  # floating-point predictor


def test_write_cog_is_atomic_on_failure(tif, tmp_path, monkeypatch):
    da = read_raster(tif("in.tif", np.ones((3, 3), dtype=np.float32)), name="x")
    target = tmp_path / "out" / "x.tif"

    real_write = rasters._write

    def half_then_boom(da, path, **kwargs):
        real_write(da, path, **kwargs)  # a complete-looking temporary file exists ...
        raise RuntimeError("disk full")  # ... when the write fails

    monkeypatch.setattr(rasters, "_write", half_then_boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_cog(da, target)
    with pytest.raises(RuntimeError, match="disk full"):
        write_cog(da.chunk(2), target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary file left behind


def test_write_cog_dask_backed(tif, tmp_path):
    data = np.arange(36, dtype=np.float32).reshape(6, 6)
    da = read_raster(tif("in.tif", data), name="x", chunks=3)
    assert isinstance(da.data, type(da.chunk(3).data))
    out = write_cog(da, tmp_path / "x.tif")
    np.testing.assert_array_equal(read_raster(out, name="x").values, data)
    with rasterio.open(out) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_overviews_on_request(tif, tmp_path):
    da = read_raster(tif("in.tif", np.ones((1024, 1024), dtype=np.float32)), name="x")
    with rasterio.open(write_cog(da, tmp_path / "plain.tif")) as src:
        assert src.overviews(1) == []
    with rasterio.open(write_cog(da, tmp_path / "ovr.tif", overviews=True)) as src:
        assert src.overviews(1) == [2]  # down to one 512-pixel block


def test_categorical_written_with_its_sentinel(tif, tmp_path):
    data = np.array([[1, 255], [2, 3]], dtype=np.uint8)
    da = read_raster(tif("lc.tif", data, nodata=255), name="lc", categorical=True)
    out = write_cog(da, tmp_path / "lc.tif")
    with rasterio.open(out) as src:
        assert src.nodata == 255
        assert src.read(1).tolist() == [[1, 255], [2, 3]]
    assert isinstance(da, xr.DataArray)
