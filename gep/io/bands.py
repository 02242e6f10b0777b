"""Lean raster band I/O for the hot paths: rasterio straight to numpy, tiled writes streamed by rows.

:func:`data_catalog.rasters.read_raster` builds a labelled ``xarray.DataArray`` (coordinates,
a ``valid`` mask, float64 for integer inputs) — the right object for the catalog and the
services, but each step is a full pass over memory. The InVEST-compatible runners
(:mod:`gep.invest`) and the benchmarks only need the values on a known window, so they
read here: one windowed ``rasterio`` read into the file's float type (float32 stays float32),
GDAL decoding on every core (``NUM_THREADS``), and nodata turned into NaN in place (numpy:
reading does not import numba, whose import and cache loading cost a command-line process
about 0.3 s; the NaN pass of the writes, :func:`fill_nan`, loads it when first used).

Writes go to GDAL's COG driver with ZSTD level 1 (``PERFORMANCE.md``: compressed writes are the
slowest stage; level 1 is ≈ 6× faster than GDAL's default), overviews only above 4096 cells a
side, atomically (temporary name, then :func:`os.replace`). :class:`BackgroundWriter` runs the
writes on one thread so that the model computes the next output while GDAL compresses the last
(GDAL releases the GIL).

Predictors: 3 (floating point) suits continuous fields; rasters of a few distinct values
(carbon density looked up by land-cover class) compress 3× smaller and write 3× faster with no
predictor, which callers choose with ``predictor=1``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from gep.errors import InputError

#: Nodata written for float rasters (the lowest float32, as :mod:`data_catalog.rasters`).
FLOAT_NODATA = float(np.finfo(np.float32).min)

#: Rasters larger than this many cells on a side get internal overviews.
OVERVIEW_MIN_SIDE = 4096


@dataclass(frozen=True)
class Band:
    """One raster band read into memory.

    Attributes
    ----------
    values : numpy.ndarray
        2-D values; floats have NaN where the file has nodata, integers keep their codes.
    nodata : float or int or None
        The file's nodata value (integer rasters: the sentinel still present in ``values``).
    crs : Any
        The file's CRS (rasterio CRS).
    transform : affine.Affine
        Transform of the window read.
    """

    values: np.ndarray
    nodata: float | int | None
    crs: Any
    transform: Affine


#: Pixels per step of :func:`_mask_sentinel` (bounds its boolean temporary to 1 MiB).
_STEP = 1 << 20


def _mask_sentinel(values: np.ndarray, sentinel: Any) -> None:
    """Set the pixels equal to ``sentinel`` to NaN, in place (C-contiguous float array)."""
    flat = values.reshape(-1)
    nan = values.dtype.type(np.nan)
    for i in range(0, flat.size, _STEP):
        part = flat[i : i + _STEP]
        np.copyto(part, nan, where=part == sentinel)


def _fill_nan(values: np.ndarray, fill: Any, out: np.ndarray) -> None:
    from gep.io.band_kernels import fill_nan_into  # numba: imported when first needed

    fill_nan_into(values, fill, out)


def fill_nan(values: np.ndarray, nodata: float) -> None:
    """Replace NaN by ``nodata`` in place (a C-contiguous float array), on every core."""
    flat = values.reshape(-1)
    _fill_nan(flat, flat.dtype.type(nodata), flat)


def value_dtype(file_dtype: np.dtype) -> np.dtype:
    """In-memory type of a continuous raster stored as ``file_dtype`` (see :func:`read_band`).

    Examples
    --------
    >>> value_dtype(np.dtype("int16")), value_dtype(np.dtype("int32"))
    (dtype('float32'), dtype('float64'))
    """
    wide = file_dtype.itemsize > 4 or (
        np.issubdtype(file_dtype, np.integer) and file_dtype.itemsize > 2
    )
    return np.dtype(np.float64 if wide else np.float32)


def read_band(
    path: str | Path,
    *,
    name: str,
    window: tuple[slice, slice] | None = None,
    categorical: bool = False,
) -> Band:
    """Read band 1 of ``path`` (optionally a ``(rows, cols)`` window) into numpy.

    Parameters
    ----------
    path : path-like
        Single-band raster.
    name : str
        Layer name for messages.
    window : tuple of slice, optional
        Row and column slices of the file to read (whole file when omitted).
    categorical : bool
        Keep integer class codes as they are (nodata sentinel included).

    Returns
    -------
    Band
        Continuous layers are float32 when the file is float32 or an integer of ≤ 16 bits,
        float64 otherwise, with NaN for nodata.

    Raises
    ------
    InputError
        Unreadable file or more than one band.
    """
    try:
        src = rasterio.open(path, num_threads="ALL_CPUS")
    except Exception as exc:  # rasterio raises several error types
        raise InputError(f"{name}: cannot open {path} as a raster ({exc})") from exc
    with src:
        if src.count != 1:
            raise InputError(f"{name}: {path} has {src.count} bands; one band is expected")
        win = None
        transform = src.transform
        if window is not None:
            rows, cols = window
            win = Window.from_slices(rows, cols, height=src.height, width=src.width)
            transform = src.window_transform(win)
        nodata = src.nodata
        dtype = np.dtype(src.dtypes[0])
        if not categorical:
            dtype = value_dtype(dtype)
        values = src.read(1, window=win, out_dtype=dtype)
        crs = src.crs
    if not categorical and nodata is not None and not np.isnan(nodata):
        _mask_sentinel(values, values.dtype.type(nodata))
    return Band(values, nodata, crs, transform)


def _profile(
    values: np.ndarray,
    crs: Any,
    transform: Affine,
    nodata: float | int | None,
    predictor: int | None,
    level: int,
    cog: bool = True,
) -> dict[str, Any]:
    floating = np.issubdtype(values.dtype, np.floating)
    if predictor is None:
        predictor = 3 if floating else 2
    rows, cols = values.shape
    common = {
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": values.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "ZSTD",
        "predictor": predictor,
        "num_threads": "ALL_CPUS",
        "BIGTIFF": "IF_SAFER",
    }
    if not cog:  # tiled GeoTIFF written in one pass (the COG driver writes a copy)
        tiles = {"tiled": True, "blockxsize": 512, "blockysize": 512}
        return {"driver": "GTiff", **common, "zstd_level": level, **tiles}
    overviews = "AUTO" if max(rows, cols) > OVERVIEW_MIN_SIDE else "NONE"
    return {"driver": "COG", **common, "level": level, "blocksize": 512, "overviews": overviews}


def write_band(
    path: str | Path,
    values: np.ndarray,
    *,
    crs: Any,
    transform: Affine,
    name: str,
    units: str,
    nodata: float | int | None = None,
    predictor: int | None = None,
    level: int = 1,
    cog: bool = True,
) -> Path:
    """Write a 2-D array as a ZSTD Cloud-Optimized GeoTIFF, atomically.

    Float arrays: NaN is written as ``nodata`` (default the lowest float32); float64 values
    are stored as float32 (7 significant digits, like :func:`data_catalog.rasters.write_cog`).
    ``values`` is left unchanged.

    Parameters
    ----------
    path : path-like
        Target ``.tif``.
    values : numpy.ndarray
        2-D values.
    crs, transform
        Georeferencing of ``values``.
    name, units : str
        Band description and ``units`` tag (UDUNITS style).
    nodata : float or int, optional
        Nodata value.
    predictor : int, optional
        1 (none: best for a few distinct values), 2 (integers) or 3 (floats, the default).
    level : int
        ZSTD level (1 is the fastest).
    cog : bool
        Cloud-Optimized GeoTIFF (GDAL's COG driver, overviews above 4096 cells a side). With
        ``False``, a tiled GeoTIFF (512² tiles, same compression, no overviews) written in one
        pass, as InVEST writes its rasters: the COG driver first writes a temporary copy, which
        costs up to 3× the time of a write for rasters that compress well.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = values
    if np.issubdtype(values.dtype, np.floating):
        nodata = FLOAT_NODATA if nodata is None else nodata
        data = np.empty(values.shape, dtype=np.float32)
        _fill_nan(values, np.float32(nodata), data)
    profile = _profile(data, crs, transform, nodata, predictor, level, cog)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.tif", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.update_tags(units=units)
            dst.set_band_description(1, name)
            dst.write(data[np.newaxis])
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


#: Rows per block of :class:`RowBlockWriter` (the tile height: each block completes a row of tiles).
TILE = 512


class RowBlockWriter:
    """Tiled ZSTD GeoTIFFs written row block by row block while the caller computes.

    For outputs computed block by block (:data:`TILE` rows at a time), so that no output is
    ever whole in memory: each block completes a row of tiles, which GDAL compresses (on every
    core) and writes during :meth:`write` — nothing waits in its block cache. Peak memory is
    a block, not the rasters, which also saves the first-touch cost of large fresh arrays
    (slow on this project's virtual machines). Files are written under a temporary name and
    moved into place when every block has been written (atomic).

    Parameters
    ----------
    paths : list of path-like
        One ``.tif`` per output.
    shape : tuple of int
        ``(rows, cols)`` of every output.
    crs, transform
        Georeferencing.
    names, units : list of str
        Band description and ``units`` tag of each output.
    nodata : float
        Nodata value (values must already hold it: no NaN pass is made).
    predictor : int
        1 (few distinct values), 3 (continuous floats).
    """

    def __init__(
        self,
        paths: list[Path],
        shape: tuple[int, int],
        *,
        crs: Any,
        transform: Affine,
        names: list[str],
        units: list[str],
        nodata: float = FLOAT_NODATA,
        predictor: int = 3,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        values = np.empty((0, 0), dtype=np.float32)
        profile = _profile(values, crs, transform, nodata, predictor, 1, cog=False)
        profile.update(height=shape[0], width=shape[1])
        self._tmp = [p.with_name(f".{p.stem}.{os.getpid()}.tmp.tif") for p in self.paths]
        self._datasets: list[Any] = []
        try:
            for tmp, name, unit in zip(self._tmp, names, units, strict=True):
                tmp.parent.mkdir(parents=True, exist_ok=True)
                dst = rasterio.open(tmp, "w", **profile)
                dst.update_tags(units=unit)
                dst.set_band_description(1, name)
                self._datasets.append(dst)
        except BaseException:
            self._abort()
            raise

    def write(self, row0: int, blocks: list[np.ndarray] | np.ndarray) -> None:
        """Write rows ``row0 ..`` of every output (one 2-D float32 block per output, in order)."""
        for dst, block in zip(self._datasets, blocks, strict=False):
            rows, cols = block.shape
            dst.write(block[np.newaxis], window=Window(0, row0, cols, rows))  # a view, no copy

    def _abort(self) -> None:
        for dst in self._datasets:
            with contextlib.suppress(Exception):
                dst.close()
        for tmp in self._tmp:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def __enter__(self) -> RowBlockWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self._abort()
            return
        try:
            for dst in self._datasets:
                dst.close()  # flushes and compresses the last tiles
            for tmp, path in zip(self._tmp, self.paths, strict=True):
                os.replace(tmp, path)
        except BaseException:
            self._abort()
            raise


class BackgroundWriter:
    """Write rasters on one background thread while the caller keeps computing.

    Use as a context manager; leaving the block waits for every write and re-raises the first
    error. ``max_pending`` bounds how many arrays wait in memory.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from affine import Affine
    >>> with tempfile.TemporaryDirectory() as d, BackgroundWriter() as writer:
    ...     writer.submit(Path(d) / "a.tif", np.zeros((4, 4), np.float32), crs="EPSG:32650",
    ...                   transform=Affine(30, 0, 0, 0, -30, 0), name="a", units="1")
    """

    def __init__(self, *, max_pending: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gep-write")
        self._pending: list[Future[Path]] = []
        self._max_pending = max_pending
        self.seconds = 0.0

    def submit(self, path: str | Path, values: np.ndarray, **kwargs: Any) -> None:
        """Queue :func:`write_band` of ``values`` (keep ``values`` unchanged until written)."""
        active = [f for f in self._pending if not f.done()]
        if len(active) >= self._max_pending:
            active[0].result()  # back-pressure: at most max_pending arrays wait in memory
        self._pending.append(self._pool.submit(self._timed, path, values, kwargs))

    def _timed(self, path: str | Path, values: np.ndarray, kwargs: dict[str, Any]) -> Path:
        import time

        t0 = time.perf_counter()
        try:
            return write_band(path, values, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

    def wait(self) -> list[Path]:
        """Wait for every queued write; return the paths written."""
        done = [f.result() for f in self._pending]
        self._pending = []
        return done

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=exc[0] is not None)


def iter_windows(shape: tuple[int, int], block: int) -> Iterator[tuple[slice, slice]]:
    """Row-major ``(rows, cols)`` slices of ``block``-sized tiles covering ``shape``.

    Examples
    --------
    >>> [tuple((s.start, s.stop) for s in w) for w in iter_windows((3, 5), 4)]
    [((0, 3), (0, 4)), ((0, 3), (4, 5))]
    """
    rows, cols = shape
    for r0 in range(0, rows, block):
        for c0 in range(0, cols, block):
            yield slice(r0, min(r0 + block, rows)), slice(c0, min(c0 + block, cols))
