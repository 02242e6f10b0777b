"""The common frame of an InVEST run's rasters: grids, windows, reading, checks and writing."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from data_catalog.grid import Grid
from gep.errors import CRSError, GridMismatchError, InputError, MissingClassError
from gep.io import bands
from gep.kernels import classes as class_kernels

if TYPE_CHECKING:
    pass


# ----------------------------------------------------------------------------------------------
# rasters: grids, alignment, windows, reading


@dataclass
class RasterLayer:
    """A raster arg to read on the common grid."""

    key: str
    path: Path
    name: str
    categorical: bool = False
    units: str | None = None
    valid_range: tuple[float, float] | None = None


@dataclass
class Frame:
    """The common grid of a run and the window of each raster on it."""

    grid: Grid
    windows: dict[str, tuple[slice, slice]] = field(default_factory=dict)

    @property
    def pixel_area_m2(self) -> float:
        """Area of one pixel (projected grids have one area)."""
        return float(self.grid.cell_area_m2()[0, 0])


def raster_grid(key: str, path: Path) -> Grid:
    """Grid of a raster arg, requiring a projected CRS with a linear unit.

    Raises
    ------
    InputError, CRSError
        Unreadable file; no CRS; geographic CRS.
    """
    try:
        grid = Grid.from_file(path)
    except CRSError as exc:
        raise CRSError(f"{key}: {exc}") from None
    except Exception as exc:  # rasterio raises several types for unreadable files
        raise InputError(f"{key}: {path} could not be opened as a GDAL raster ({exc})") from exc
    if grid.is_geographic:
        raise CRSError(
            f"{key}: {path} is in a geographic CRS ({grid.crs.name}); InVEST and gep need a "
            "projected CRS in metres. Reproject it, e.g. gdalwarp -t_srs EPSG:32650 (UTM 50N)"
        )
    grid.linear_unit_factor()  # CRSError when the axis unit is not a length
    return grid


def common_frame(
    reference: str,
    grids: Mapping[str, Grid],
    paths: Mapping[str, Path],
    *,
    bbox: tuple[float, float, float, float] | None = None,
    resampling: Mapping[str, str] | None = None,
) -> Frame:
    """Intersect rasters on the reference raster's pixel lattice (pygeoprocessing style).

    The target bounding box is the intersection of every raster's bounds and ``bbox``; its
    lower-left corner is snapped down onto the reference lattice and its size rounded to whole
    pixels (``align_and_resize_raster_stack`` with ``raster_align_index``).

    Raises
    ------
    GridMismatchError
        A raster in another CRS, with another pixel size, or off the reference lattice; the
        message names the resampling InVEST would have applied and how to do it beforehand.
    """
    ref = grids[reference]
    resx, resy = ref.res
    left, bottom, right, top = ref.bounds
    for key, grid in grids.items():
        _check_lattice(key, grid, reference, ref, paths, (resampling or {}).get(key, "near"))
        b = grid.bounds
        left, bottom, right, top = (
            max(left, b[0]),
            max(bottom, b[1]),
            min(right, b[2]),
            min(top, b[3]),
        )
    if bbox is not None:
        left, bottom = max(left, bbox[0]), max(bottom, bbox[1])
        right, top = min(right, bbox[2]), min(top, bbox[3])
    if right <= left or top <= bottom:
        listing = "; ".join(f"{k}: {g.bounds}" for k, g in grids.items())
        raise InputError(
            "the spatial layers do not overlap each other; all bounding boxes must intersect: "
            f"{listing}" + (f"; watersheds: {bbox}" if bbox else "")
        )
    ref_left, ref_bottom, _, ref_top = ref.bounds
    left = ref_left + int((left - ref_left) / resx) * resx
    bottom = ref_bottom + int((bottom - ref_bottom) / resy) * resy
    cols = int((right - left) / resx + 0.5)
    rows = int((top - bottom) / resy + 0.5)
    top = bottom + rows * resy
    transform = ref.transform.__class__(resx, 0.0, left, 0.0, -resy, top)
    frame = Frame(Grid(ref.crs, transform, (rows, cols)))
    for key, grid in grids.items():
        g_left, _, _, g_top = grid.bounds
        c0 = int(round((left - g_left) / resx))
        r0 = int(round((g_top - top) / resy))
        frame.windows[key] = (slice(r0, r0 + rows), slice(c0, c0 + cols))
    return frame


def _check_lattice(
    key: str,
    grid: Grid,
    ref_key: str,
    ref: Grid,
    paths: Mapping[str, Path],
    method: str,
) -> None:
    how = (
        f"InVEST would resample it ('{method}') onto the grid of {ref_key}; do that first, e.g. "
        f"gdalwarp -t_srs '{ref.crs.to_string()}' -tr {ref.res[0]} {ref.res[1]} -tap -r {method} "
        f"{paths[key]} aligned.tif"
    )
    if grid.crs != ref.crs:
        raise GridMismatchError(
            f"{key}: CRS {grid.crs.to_string()} differs from {ref.crs.to_string()} of {ref_key}; {how}"
        )
    if not np.allclose(grid.res, ref.res, rtol=1e-9, atol=0):
        raise GridMismatchError(
            f"{key}: pixel size {grid.res} differs from {ref.res} of {ref_key}; {how}"
        )
    for offset, res in (
        (grid.bounds[0] - ref.bounds[0], ref.res[0]),
        (grid.bounds[3] - ref.bounds[3], ref.res[1]),
    ):
        shift = offset / res
        if abs(shift - round(shift)) > 1e-6:
            raise GridMismatchError(
                f"{key}: pixels are offset by {shift - round(shift):+.4f} pixel from those of {ref_key}; {how}"
            )


@dataclass
class Layer:
    """A raster arg read on the frame: values (NaN for nodata; class codes kept) and nodata."""

    values: np.ndarray
    nodata: int | None = None


def read_layer(layer: RasterLayer, frame: Frame) -> Layer:
    """Read a raster arg on the frame's window and check its values' physical range.

    Continuous layers keep the file's float precision (float32 stays float32, as InVEST
    computes) with NaN for nodata; categorical layers keep their integer codes and nodata.

    Raises
    ------
    InputError
        Values outside ``layer.valid_range`` (usually an undeclared nodata sentinel), or
        fractional class codes.
    """
    band = bands.read_band(
        layer.path, name=layer.name, window=frame.windows[layer.key], categorical=layer.categorical
    )
    if layer.categorical:
        return Layer(*_integer_codes(layer, band.values, band.nodata))
    if layer.valid_range is not None:
        _check_range(layer, band.values)
    return Layer(band.values)  # nodata is NaN now


def read_layers(layers: list[RasterLayer], frame: Frame) -> list[Layer]:
    """:func:`read_layer` of several rasters at once, two files at a time.

    GDAL decodes with the GIL released, so two files read concurrently use both cores even
    where one file's blocks are too few to keep GDAL's own decoding threads busy. Nothing else
    runs meanwhile: loading numba's kernels during the reads (as this function once offered)
    did not shorten the runs on 2 cores, where both are CPU-bound.
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gep-read") as pool:
        return list(pool.map(lambda layer: read_layer(layer, frame), layers))


def raster_dtype(path: Path) -> np.dtype:
    """Data type of band 1 of a raster (from its header)."""
    import rasterio

    with rasterio.open(path) as src:
        return np.dtype(src.dtypes[0])


def _integer_codes(
    layer: RasterLayer, values: np.ndarray, nodata: float | int | None
) -> tuple[np.ndarray, int | None]:
    """Class codes as integers (a float land-cover raster must hold whole numbers)."""
    if np.issubdtype(values.dtype, np.integer):
        return values, (None if nodata is None else int(nodata))
    valid = np.isfinite(values) if nodata is None else np.isfinite(values) & (values != nodata)
    if np.any(values[valid] != np.round(values[valid])):
        raise InputError(
            f"{layer.key}: {layer.path}: class codes must be whole numbers but the raster holds "
            "fractions; save land cover as an integer raster"
        )
    sentinel = int(nodata) if nodata is not None and np.isfinite(nodata) else -(2**31)
    codes = np.where(valid, values, sentinel).astype(np.int64)
    has_invalid = nodata is not None or not valid.all()
    return codes, (sentinel if has_invalid else None)


def _check_range(layer: RasterLayer, values: np.ndarray) -> None:
    assert layer.valid_range is not None
    lo, hi = layer.valid_range
    # NaN-skipping minimum and maximum (inf and -inf when every value is NaN), in numpy: this
    # runs in the reading threads, which must not wait for numba's import
    flat = values.reshape(-1)
    vmin = float(np.fmin.reduce(flat, initial=np.inf))
    vmax = float(np.fmax.reduce(flat, initial=-np.inf))
    if not np.isfinite(vmin):
        raise InputError(f"{layer.key}: {layer.path} has no valid pixel in the analysis area")
    if vmin < lo or vmax > hi:
        bad = vmin if vmin < lo else vmax
        raise InputError(
            f"{layer.key}: {layer.path} holds {bad:g} but {layer.name} ({layer.units}) must be "
            f"within [{lo:g}, {hi:g}]. If {bad:g} marks missing data, declare it as the "
            f"raster's nodata (gdal_edit.py -a_nodata {bad:g} {layer.path}); otherwise fix the data"
        )


def check_codes(classes: Layer, table_codes: np.ndarray, *, table: Path, raster: str) -> None:
    """Raise :class:`MissingClassError` (before any work) for codes absent from the table."""
    missing = class_kernels.missing_codes(classes.values, table_codes, nodata=classes.nodata)
    if missing.size:
        raise MissingClassError(str(table), raster, [int(c) for c in missing], column="lucode")


def class_values(classes: Layer, codes: np.ndarray, values: np.ndarray, dtype: Any) -> np.ndarray:
    """Per-pixel table values through the numba lookup table (NaN for nodata)."""
    from gep.kernels import lookup

    lut, offset = lookup.build_lut(codes, values, dtype=dtype)
    return lookup.apply_lut(classes.values, lut, offset, nodata=classes.nodata)


def write_layer(
    frame: Frame,
    values: np.ndarray,
    path: Path,
    *,
    name: str,
    units: str,
    writer: bands.BackgroundWriter | None = None,
    predictor: int | None = None,
) -> None:
    """Write one per-pixel output as a tiled ZSTD GeoTIFF on the frame's grid (NaN → nodata).

    With ``writer`` the write is queued on its background thread (``values`` must then stay
    unchanged until the writer is closed). ``predictor=1`` suits rasters of a few distinct
    values (class lookups); the default is the floating-point predictor.
    """
    kwargs: dict[str, Any] = {
        "crs": frame.grid.crs,
        "transform": frame.grid.transform,
        "name": name,
        "units": units,
        "predictor": predictor,
        "cog": False,  # tiled ZSTD GeoTIFFs, as InVEST writes tiled GeoTIFFs
    }
    if writer is None:
        bands.write_band(path, values, **kwargs)
    else:
        writer.submit(path, values, **kwargs)
