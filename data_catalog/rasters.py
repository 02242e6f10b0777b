"""Read rasters into xarray (nodata interpreted here, once) and write COGs atomically."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from data_catalog.errors import InputError

#: Nodata written for float rasters when none is given (the lowest float32).
FLOAT_NODATA = float(np.finfo(np.float32).min)


def read_raster(
    path: str | Path,
    *,
    name: str,
    categorical: bool = False,
    units: str | None = None,
    nodata: float | int | None = None,
    chunks: int | dict[str, int] | bool | None = None,
    window: tuple[slice, slice] | None = None,
) -> xr.DataArray:
    """Read a single-band raster; the one place where nodata is interpreted.

    Parameters
    ----------
    path : path-like
        Raster file readable by GDAL.
    name : str
        Layer name used in messages and as ``DataArray.name``.
    categorical : bool
        Class codes (land cover): keep integers, add a boolean ``valid`` coordinate.
        Otherwise values become float with nodata set to NaN.
    units : str, optional
        Units of the values (UDUNITS style, e.g. ``"mm yr-1"``), stored in ``attrs["units"]``.
    nodata : float or int, optional
        Nodata value to use when the file declares none (the catalog's ``nodata``).
    chunks : int, dict or bool, optional
        Dask chunking; ``None`` reads eagerly into numpy.
    window : tuple of slice, optional
        Rows and columns to read (only those are read from the file); the result's transform
        is the window's.

    Returns
    -------
    xarray.DataArray
        Dims ``("y", "x")`` with CRS and transform on ``.rio``. Float layers have NaN where
        nodata was; integer layers keep their sentinel in ``attrs["nodata"]``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{name}: raster file not found: {path}")
    if window is not None:
        # read the window now and close the file: a run reads thousands of windows, and each
        # open file kept in xarray's file cache holds GDAL's buffers
        da, file_nodata = _read_window(path, name, window)
    else:
        da, file_nodata = _open(path, name, chunks)
    nd = file_nodata if file_nodata is not None else nodata
    attrs: dict[str, Any] = {"long_name": name, "source_path": str(path)}
    if units is not None:
        attrs["units"] = units
    if categorical:
        da = _as_categorical(da, nd, name)
    else:
        da = _as_continuous(da, nd, own=window is not None)  # a window read is ours
    da.attrs = {**attrs, **({"nodata": nd} if categorical and nd is not None else {})}
    da.encoding["_FillValue"] = nd
    da.name = name
    return da


def _open(path: Path, name: str, chunks: Any) -> tuple[xr.DataArray, Any]:
    """The file as a (lazy with ``chunks``) DataArray, band dropped, and its nodata."""
    try:
        da = rioxarray.open_rasterio(
            path, chunks=chunks, lock=False if chunks else None, masked=False
        )
    except Exception as exc:  # rasterio raises several error types
        raise InputError(f"{name}: cannot open {path} as a raster ({exc})") from exc
    assert isinstance(da, xr.DataArray)
    if da.sizes.get("band", 1) != 1:
        raise InputError(f"{name}: {path} has {da.sizes['band']} bands; one band is expected")
    da = da.squeeze("band", drop=True)
    return da, da.rio.nodata


def _read_window(path: Path, name: str, window: tuple[slice, slice]) -> tuple[xr.DataArray, Any]:
    """The ``window`` (rows, columns) of the file in memory, and the file's nodata.

    What ``rioxarray.open_rasterio`` cut to the window and loaded gives (the same pixel-centre
    coordinates, CRS and window transform), read with rasterio directly: a ``gep run`` reads
    thousands of windows, and opening each through rioxarray cost about 20 ms against 4 ms
    for the read itself.
    """
    from rasterio.windows import Window
    from rioxarray.rioxarray import affine_to_coords

    try:
        with rasterio.open(path) as src:
            if src.count != 1:
                raise InputError(f"{name}: {path} has {src.count} bands; one band is expected")
            r0, r1, _ = window[0].indices(src.height)
            c0, c1, _ = window[1].indices(src.width)
            values = src.read(1, window=Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0)))
            transform, crs, nodata = src.transform, src.crs, src.nodata
            height, width = src.height, src.width
    except rasterio.errors.RasterioError as exc:
        raise InputError(f"{name}: cannot read {path} as a raster ({exc})") from exc
    coords = affine_to_coords(transform, width, height)
    da = xr.DataArray(
        values, dims=("y", "x"), coords={"y": coords["y"][r0:r1], "x": coords["x"][c0:c1]}
    )
    da = da.assign_coords(spatial_ref=_spatial_ref(crs.to_wkt() if crs else None))
    da.rio.write_transform(transform * transform.translation(c0, r0), inplace=True)
    if nodata is None:
        return da, None
    try:  # cast to the raster's type, as rioxarray's ``rio.nodata``
        return da, values.dtype.type(nodata)
    except (ValueError, OverflowError):  # e.g. NaN declared for integers
        return da, nodata


@functools.lru_cache(maxsize=16)
def _spatial_ref(wkt: str | None) -> xr.DataArray:
    """The ``spatial_ref`` coordinate rioxarray gives a raster of this CRS (built once)."""
    ref = xr.DataArray(0)
    if wkt is None:
        return ref
    return ref.rio.write_crs(wkt).coords["spatial_ref"].reset_coords(drop=True)


def _as_continuous(
    da: xr.DataArray, nodata: float | int | None, *, own: bool = False
) -> xr.DataArray:
    """Float values with NaN for ``nodata``; ``own``: ``da``'s values may be changed in place."""
    if not np.issubdtype(da.dtype, np.floating):
        da = da.astype(np.float64)
    if nodata is None:
        return da
    if np.isnan(nodata):
        return da
    sentinel = np.asarray(nodata).astype(da.dtype)
    if da.chunks is None:  # in memory: numpy, without xarray's alignment machinery
        values = da.values if own else da.values.copy()
        values[values == sentinel] = np.nan
        return da if own else da.copy(data=values)
    return da.where(da != sentinel)


def _as_categorical(da: xr.DataArray, nodata: float | int | None, name: str) -> xr.DataArray:
    if np.issubdtype(da.dtype, np.floating):
        values = da.values if da.chunks is None else None
        if values is not None and np.any(np.isfinite(values) & (values != np.round(values))):
            raise InputError(
                f"{name}: class codes must be whole numbers but the raster holds fractions; "
                "save land cover as an integer raster"
            )
    valid = da.notnull() if nodata is None else da != np.asarray(nodata).astype(da.dtype)
    if np.issubdtype(da.dtype, np.floating):
        valid = valid & da.notnull()
    valid.attrs = {}  # not the raster's (file tags, _FillValue)
    return da.assign_coords(valid=valid)


def _fill_nodata(da: xr.DataArray, nodata: float | int | None) -> tuple[xr.DataArray, Any]:
    if np.issubdtype(da.dtype, np.floating):
        nd = FLOAT_NODATA if nodata is None else nodata
        return da.fillna(nd), nd
    if "valid" in da.coords:
        if nodata is None:
            nodata = da.attrs.get("nodata")
        if nodata is None:
            raise InputError(
                f"{da.name}: integer raster with masked cells needs a nodata value to write"
            )
        return da.where(da.coords["valid"], nodata).astype(da.dtype), nodata
    return da, nodata


def write_cog(
    da: xr.DataArray,
    path: str | Path,
    *,
    nodata: float | int | None = None,
    compress: str = "ZSTD",
    level: int = 1,
    overviews: bool | None = None,
) -> Path:
    """Write ``da`` as a Cloud-Optimized GeoTIFF, atomically.

    The file is written to a temporary name beside the target and moved into place with
    :func:`os.replace`, so a failed or interrupted write never leaves a file that looks
    complete. numpy-backed arrays go straight to GDAL's COG driver; dask-backed arrays are
    first streamed block by block into a tiled GeoTIFF (memory bounded by the block), then
    copied to a COG. Floats use the floating-point predictor (3), integers predictor 2;
    GDAL threads are on.

    Parameters
    ----------
    da : xarray.DataArray
        2-D array with CRS and transform on ``.rio`` (numpy- or dask-backed).
    path : path-like
        Target ``.tif``.
    nodata : float or int, optional
        Value written for NaN / invalid cells (floats default to the lowest float32).
    compress : str
        GDAL compression codec.
    level : int
        Compression level (ZSTD 1 is ≈ 6× faster to write than GDAL's default 9 and ≈ 20 %
        larger; see PERFORMANCE.md: compressed writes are the slowest stage).
    overviews : bool, optional
        Build internal overviews; by default only for rasters larger than 4096 cells a side.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    filled, nd = _fill_nodata(da, nodata)
    dtype = np.dtype(filled.dtype)
    if dtype == np.float64:
        dtype = np.dtype(np.float32) if _fits_float32(filled) else dtype
    if overviews is None:
        overviews = max(filled.sizes["y"], filled.sizes["x"]) > 4096
    cog = {
        "driver": "COG",
        "compress": compress,
        "level": level,
        "predictor": 3 if np.issubdtype(dtype, np.floating) else 2,
        "num_threads": "ALL_CPUS",
        "blocksize": 512,
        "overviews": "AUTO" if overviews else "NONE",
        "BIGTIFF": "IF_SAFER",
    }
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.tif", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tiled = tmp.with_suffix(".tiled.tif")
    try:
        if filled.chunks is None:
            _write(filled, tmp, dtype=dtype, nodata=nd, options=cog)
        else:
            _write(
                filled,
                tiled,
                dtype=dtype,
                nodata=nd,
                options={
                    "driver": "GTiff",
                    "tiled": True,
                    "blockxsize": 512,
                    "blockysize": 512,
                    "BIGTIFF": "IF_SAFER",
                },
            )
            rasterio.shutil.copy(tiled, tmp, **cog)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tiled):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return path


def _fits_float32(da: xr.DataArray) -> bool:
    """Float64 results are stored as float32 (7 significant digits) unless a caller opts out."""
    return bool(da.attrs.get("store_float32", True))


def _write(
    da: xr.DataArray, path: Path, *, dtype: np.dtype, nodata: Any, options: dict[str, Any]
) -> None:
    """Write band 1 with rasterio; row strips of 2048 for lazily computed (dask) arrays."""
    rows, cols = da.sizes["y"], da.sizes["x"]
    profile = {
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": dtype.name,
        "crs": da.rio.crs,
        "transform": da.rio.transform(),
        "nodata": nodata,
        **options,
    }
    step = rows if da.chunks is None else 2048
    with rasterio.open(path, "w", **profile) as dst:
        if da.attrs.get("units"):
            dst.update_tags(units=str(da.attrs["units"]))
        if da.name is not None:
            dst.set_band_description(1, str(da.name))
        for r0 in range(0, rows, step):
            block = np.asarray(da.isel(y=slice(r0, r0 + step)).values, dtype=dtype)
            dst.write(block, 1, window=((r0, r0 + block.shape[0]), (0, cols)))
