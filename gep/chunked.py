"""Chunked execution of the per-pixel services: lazy reads, one shared graph, block writes.

Every per-pixel service already computes on dask-backed arrays (``apply_pixelwise`` runs one
fused kernel per chunk). This module supplies the two ends that keep the peak memory set by
the chunk size rather than by the raster size:

* **reads**: :func:`open_lazy` opens a GeoTIFF as a dask-backed ``DataArray`` (rioxarray,
  ``lock=False``: ``PERFORMANCE.md`` measured 1.6–2.2× faster reads);
  :func:`gep.synthetic.synthetic_region` generates inputs block by block (no files);
* **writes**: :func:`write_outputs` stores every output of a service with one
  :func:`dask.array.store` call, so each input chunk is read (or generated) once for all
  outputs, and each computed block goes straight into a tiled ZSTD GeoTIFF at its window;
  :func:`write_windows` (what ``gep run`` uses) walks the grid window by window instead, with
  the values of each window computed by a callback (``gep run`` evaluates the services on the
  window's inputs in numpy), so at most two windows of every output are in memory, and hands
  each window to another callback (the per-unit sums); :func:`write_by_blocks` does the same
  for arrays already built (dask- or numpy-backed). Chunks are multiples of the 512-pixel tiles,
  so each tile is compressed once.

:func:`run_service_chunked` ties them together. The numpy path (everything in memory) and the
chunked path call the same kernels on the same values and give identical rasters
(``tests/scale``).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from data_catalog.grid import Grid
from gep.errors import InputError
from gep.io.memory import release_free_memory
from gep.io.window_files import open_targets, publish

#: Tile edge of the GeoTIFFs written (chunks are rounded to multiples of it).
TILE = 512  # = gep.io.cog.COG_TILE

#: Default chunk edge: 2048² float32 is 16 MiB per array, ≥ 10 ms of work per task.
CHUNK = 2048

#: Window edge of :func:`write_by_blocks` in ``gep run``: every quantity of a year is computed
#: for one 1024² window at a time (16 float64 quantities: 128 MiB), about 0.9 GB peak at 30 m.
STREAM_BLOCK = 1024

#: GDAL's block cache while writing by blocks, bytes (64 MiB). GDAL's default (5 % of the
#: machine's memory) keeps the written blocks of every open file: on a 24 GB machine it doubled
#: the peak memory of the 30 m sample run. rasterio takes an integer ``GDAL_CACHEMAX`` as bytes
#: (``GDALSetCacheMax``), not as GDAL's configuration option reads it (MB below 100000): an
#: earlier ``GDAL_CACHEMAX=64`` meant 64 bytes, no cache at all, which made GDAL rasterise
#: polygons a few rows at a time (8× slower) and re-read partly written tiles.
GDAL_CACHE_BYTES = 64 * 2**20


def round_chunks(chunk: int) -> int:
    """``chunk`` rounded up to a whole number of 512-pixel tiles.

    Examples
    --------
    >>> round_chunks(1000), round_chunks(2048)
    (1024, 2048)
    """
    return max(TILE, -(-int(chunk) // TILE) * TILE)


def open_lazy(
    path: str | Path,
    *,
    name: str,
    chunks: int = CHUNK,
    categorical: bool = False,
    units: str | None = None,
) -> xr.DataArray:
    """Open a raster lazily (dask chunks of ``chunks`` pixels, no lock) with nodata interpreted.

    Thin wrapper over :func:`data_catalog.rasters.read_raster` (the one place nodata is
    interpreted), with chunks rounded to whole output tiles.
    """
    from data_catalog.rasters import read_raster

    size = round_chunks(chunks)
    return read_raster(
        path,
        name=name,
        categorical=categorical,
        units=units,
        chunks={"y": size, "x": size},
    )


# ----------------------------------------------------------------------------------------------
# block writes


@dataclass
class Written:
    """What :func:`write_outputs` wrote."""

    paths: dict[str, Path]
    totals: dict[str, float]


def write_outputs(
    ds: xr.Dataset,
    grid: Grid,
    out_dir: str | Path,
    *,
    names: tuple[str, ...] | None = None,
    cog: bool = False,
    totals: bool = True,
) -> Written:
    """Compute and write the outputs of ``ds`` block by block with one shared dask graph.

    Each output becomes ``out_dir/<name>.tif`` (tiled 512², NaN written as the lowest
    float32, ``units`` tag; ZSTD level 1 with predictor 3 as published); files appear
    atomically (temporary name, then :func:`os.replace`). Float64 outputs are stored as
    float32.

    Parameters
    ----------
    ds : xarray.Dataset
        Service outputs on ``grid`` (numpy- or dask-backed).
    grid : Grid
        Their grid.
    out_dir : path-like
        Output folder.
    names : tuple of str, optional
        Outputs to write (default: all).
    cog : bool
        Rewrite each file as a Cloud-Optimized GeoTIFF with overviews afterwards (one more
        pass over the file; GDAL streams it).
    totals : bool
        Also return the sum of each output over valid pixels (float64), from the same pass.

    Returns
    -------
    Written
        Paths and totals.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = tuple(str(v) for v in ds.data_vars) if names is None else names
    with contextlib.ExitStack() as stack:
        selected = {name: ds[name] for name in names}
        types = {name: _written_type(da) for name, da in selected.items()}
        targets, tmp_paths = open_targets(stack, types, grid, out_dir, cog)
        sources = []
        for da in selected.values():
            data = da.data if da.chunks is not None else dsa.from_array(da.values, chunks=CHUNK)
            sources.append(data.rechunk(_tile_chunks(data.chunks)))
        sums = [_nan_sum_lazy(s) for s in sources] if totals else []
        stored = dsa.store(sources, targets, lock=False, compute=False)  # type: ignore[arg-type]
        _, *computed = dask.compute(stored, *sums)
    paths = publish(tmp_paths, out_dir, cog)
    return Written(paths, {n: float(v) for n, v in zip(names, computed, strict=False)})


def write_by_blocks(
    arrays: Mapping[str, xr.DataArray],
    grid: Grid,
    out_dir: str | Path,
    *,
    block: int = CHUNK,
    on_block: Callable[[tuple[slice, slice], list[np.ndarray]], None] | None = None,
    cog: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Compute, write and hand over ``arrays`` one block at a time (memory set by the block).

    :func:`write_windows` with each window of every array computed in one
    :func:`dask.compute` (numpy-backed arrays are sliced).

    Parameters
    ----------
    arrays : mapping of str to xarray.DataArray
        Output name → array on ``grid`` (dask- or numpy-backed).
    grid, out_dir, block, on_block, cog, progress
        As for :func:`write_windows`.
    """

    def compute(window: tuple[slice, slice]) -> list[np.ndarray]:
        lazy = [
            da.data[window] if da.chunks is not None else da.values[window]
            for da in arrays.values()
        ]
        return [np.asarray(v) for v in dask.compute(*lazy)]

    outputs = {name: _written_type(da) for name, da in arrays.items()}
    return write_windows(
        outputs,
        grid,
        out_dir,
        compute,
        block=block,
        on_block=on_block,
        cog=cog,
        progress=progress,
    )


def write_windows(
    outputs: Mapping[str, tuple[np.dtype, str]],
    grid: Grid,
    out_dir: str | Path,
    compute: Callable[[tuple[slice, slice]], list[np.ndarray]],
    *,
    block: int = CHUNK,
    on_block: Callable[[tuple[slice, slice], list[np.ndarray]], None] | None = None,
    cog: bool = True,
    progress: Callable[[str], None] | None = None,
    parallel: int = 1,
) -> dict[str, Path]:
    """Compute, write and hand over the outputs one window of the grid at a time.

    For each ``block``² window, ``compute(window)`` returns the values of every output in the
    window; they are written into ``out_dir/<name>.tif`` (tiled, the dtype given, NaN as the
    float nodata, ``units`` tag) and given to ``on_block(window, values)`` (e.g. per-unit
    sums). The write and ``on_block`` of one window run in a second thread while the next
    ``parallel`` windows are computed, so at most ``parallel + 1`` windows are in memory;
    GDAL's block cache is held to :data:`GDAL_CACHE_BYTES`. Files appear atomically at the
    end: with ``cog``, as COGs (ZSTD level 1, predictor 3) whose overviews were built from the
    windows as they were written (:mod:`gep.io.cog`); otherwise as the tiled ZSTD GeoTIFFs
    written (:mod:`gep.io.window_files`).

    Parameters
    ----------
    outputs : mapping of str to (dtype, str)
        Output name → dtype written and units.
    grid : Grid
        The grid the windows cut.
    out_dir : path-like
        Output folder.
    compute : callable
        Window → list of 2-D arrays of the window's shape, in the order of ``outputs``.
    block : int
        Window edge in pixels (rounded to whole 512-pixel tiles).
    on_block : callable, optional
        Called with the window and the computed values.
    cog : bool
        Rewrite each file as a Cloud-Optimized GeoTIFF with overviews at the end.
    progress : callable, optional
        Called with a short message every tenth of the windows.
    parallel : int
        Windows computed at once, in threads (``compute`` must be thread-safe), after the
        first computed alone; each more holds one more window in memory. They are written
        and handed over in order, so the sums are the same.

    Returns
    -------
    dict of str to Path
        The written files.
    """
    import itertools
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    windows = block_windows(grid.shape, round_chunks(block))
    with (
        rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES),
        contextlib.ExitStack() as stack,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        targets, tmp_paths = open_targets(stack, outputs, grid, out_dir, cog)

        def finish(window: tuple[slice, slice], values: list[np.ndarray]) -> None:
            for target, value in zip(targets, values, strict=True):
                target[window] = value
            if on_block is not None:
                on_block(window, values)

        pending: Future[None] | None = None
        stack.enter_context(frozen_heap())
        computers = stack.enter_context(ThreadPoolExecutor(max_workers=max(parallel, 1)))
        todo = iter(windows)
        computing: deque[tuple[tuple[slice, slice], Future[list[np.ndarray]]]] = deque()
        for window in itertools.islice(todo, 1):  # the first alone: numba kernels compile or
            computing.append((window, computers.submit(compute, window)))  # load in one thread
        k = 0
        while computing:
            window, future = computing.popleft()
            values = future.result()
            for following in itertools.islice(todo, max(parallel, 1) - len(computing)):
                computing.append((following, computers.submit(compute, following)))
            if pending is not None:
                pending.result()
            pending = pool.submit(finish, window, values)  # in window order: the same sums
            del values
            # the xarray objects of a window's computation hold their arrays in reference
            # cycles: collected now, not when Python's generational thresholds come round
            # (without it a 10 m run's memory grew by about 7 MB per window)
            gc.collect()
            release_free_memory()  # the window's freed arrays, back to the system
            k += 1
            if progress and k % max(1, len(windows) // 10) == 0:
                progress(f"{k}/{len(windows)} blocks")
        if pending is not None:
            pending.result()
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        return publish(tmp_paths, out_dir, cog)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Window loops: the objects alive before the loop are left out of garbage collections.

    The loops collect after each window (its xarray objects hold their arrays in reference
    cycles); :func:`gc.freeze` keeps those collections to the window's own objects instead of
    every object of the process (about 130 ms a collection at 30 m without it).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def block_windows(shape: tuple[int, int], size: int) -> list[tuple[slice, slice]]:
    """Row-major ``size``² windows covering a grid of ``shape`` (the last ones cut).

    Examples
    --------
    >>> [(w[0].start, w[0].stop, w[1].start, w[1].stop) for w in block_windows((3, 5), 2)]
    [(0, 2, 0, 2), (0, 2, 2, 4), (0, 2, 4, 5), (2, 3, 0, 2), (2, 3, 2, 4), (2, 3, 4, 5)]
    """
    rows, cols = shape
    return [
        (slice(r, min(r + size, rows)), slice(c, min(c + size, cols)))
        for r in range(0, rows, size)
        for c in range(0, cols, size)
    ]


def _written_type(da: xr.DataArray) -> tuple[np.dtype, str]:
    """Type written for ``da`` (float64 stored as float32) and its units."""
    dtype = np.dtype(np.float32 if da.dtype == np.float64 else da.dtype)
    return dtype, str(da.attrs.get("units", ""))


def _tile_chunks(chunks: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    """Chunks whose edges fall on tile boundaries (all but the last a multiple of 512)."""
    out = []
    for sizes in chunks:
        total = sum(sizes)
        step = round_chunks(max(sizes))
        out.append(tuple(min(step, total - s) for s in range(0, total, step)))
    return tuple(out)


def _block_total(block: np.ndarray) -> np.ndarray:
    from gep.kernels.reductions import nan_sum

    return np.array([[nan_sum(block)]])


def _nan_sum_lazy(data: dsa.Array) -> Any:
    mapper: Any = dsa.map_blocks
    return mapper(_block_total, data, dtype=np.float64, chunks=(1, 1)).sum()


# ----------------------------------------------------------------------------------------------
# running a service


def run_service_chunked(
    service: str,
    grid: Grid,
    rasters: Mapping[str, xr.DataArray],
    out_dir: str | Path,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    params: Mapping[str, Any] | None = None,
    names: tuple[str, ...] | None = None,
    cog: bool = False,
) -> Written:
    """Run one registered per-pixel service on (lazy) rasters and write its outputs by block.

    Parameters
    ----------
    service : str
        A name in :data:`gep.services.SERVICES` whose spec has ``neighbourhood == 0``.
    grid : Grid
        Grid of the rasters.
    rasters : mapping
        Inputs by name (dask-backed from :func:`open_lazy` or :func:`synthetic_region`, or
        numpy-backed).
    out_dir : path-like
        Output folder.
    tables, params
        As for :meth:`gep.services.spec.ServiceInputs.build`.
    names : tuple of str, optional
        Outputs to write (default: all).
    cog : bool
        Convert the outputs to COGs at the end.

    Raises
    ------
    InputError
        Unknown service, or one whose computation is not per pixel (flow routing needs
        :mod:`gep.routing.basins`).
    """
    from gep.services import SERVICES
    from gep.services.spec import ServiceInputs

    if service not in SERVICES:
        raise InputError(f"unknown service {service!r}; choose one of {sorted(SERVICES)}")
    registered = SERVICES[service]
    if registered.spec.neighbourhood != 0:
        raise InputError(
            f"service {service!r} is not per-pixel (neighbourhood {registered.spec.neighbourhood}); "
            "route it by basin with gep.routing.basins instead"
        )
    inputs = ServiceInputs.build(
        registered.spec, grid, rasters=rasters, tables=tables or {}, params=params or {}
    )
    ds = registered.compute(inputs)
    return write_outputs(ds, grid, out_dir, names=names, cog=cog)


@contextlib.contextmanager
def local_threads(n: int | None = None) -> Iterator[None]:
    """Use dask's threaded scheduler with ``n`` threads (default: every core) in the block."""
    with dask.config.set(scheduler="threads", num_workers=n or os.cpu_count()):
        yield
