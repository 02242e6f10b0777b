"""Chunked execution of the per-pixel services: lazy reads, one shared graph, block writes.

Every per-pixel service already computes on dask-backed arrays (``apply_pixelwise`` runs one
fused kernel per chunk). This module supplies the two ends that keep the peak memory set by
the chunk size rather than by the raster size:

* **reads**: :func:`open_lazy` opens a GeoTIFF as a dask-backed ``DataArray`` (rioxarray,
  ``lock=False``: ``PERFORMANCE.md`` measured 1.6–2.2× faster reads); :func:`synthetic_region`
  generates inputs block by block from their block coordinates (nothing is materialised: a
  40000 × 40000 run needs no input files);
* **writes**: :func:`write_outputs` stores every output of a service with one
  :func:`dask.array.store` call, so each input chunk is read (or generated) once for all
  outputs, and each computed block goes straight into a tiled ZSTD GeoTIFF at its window.
  Chunks are multiples of the 512-pixel tiles, so each tile is compressed once.

:func:`run_service_chunked` ties them together. The numpy path (everything in memory) and the
chunked path call the same kernels on the same values and give identical rasters
(``tests/scale``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from data_catalog.grid import Grid
from gep.errors import InputError
from gep.io.bands import FLOAT_NODATA

#: Tile edge of the GeoTIFFs written (chunks are rounded to multiples of it).
TILE = 512

#: Default chunk edge: 2048² float32 is 16 MiB per array, ≥ 10 ms of work per task.
CHUNK = 2048


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


class _WindowTarget:
    """A ``__setitem__`` target for :func:`dask.array.store` writing into one open GeoTIFF."""

    def __init__(
        self, dst: rasterio.io.DatasetWriter, lock: threading.Lock, nodata: float | None
    ) -> None:
        self.dst = dst
        self.lock = lock
        self.nodata = nodata
        self.shape = (dst.height, dst.width)
        self.dtype = np.dtype(dst.dtypes[0])
        self.ndim = 2

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        rows, cols = key
        block = np.asarray(value)
        if self.nodata is not None and np.issubdtype(block.dtype, np.floating):
            block = np.where(np.isnan(block), self.dtype.type(self.nodata), block)
        block = block.astype(self.dtype, copy=False)
        window = ((rows.start, rows.stop), (cols.start, cols.stop))
        with self.lock:  # one GDAL dataset is not thread-safe
            self.dst.write(block[np.newaxis], window=window)


def _profile(da: xr.DataArray, grid: Grid, dtype: np.dtype, nodata: Any) -> dict[str, Any]:
    rows, cols = grid.shape
    return {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": dtype.name,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
        "compress": "ZSTD",
        "zstd_level": 1,
        "predictor": 3 if np.issubdtype(dtype, np.floating) else 2,
        "num_threads": "ALL_CPUS",
        "BIGTIFF": "IF_SAFER",
    }


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

    Each output becomes ``out_dir/<name>.tif`` (tiled 512², ZSTD level 1, predictor 3, NaN
    written as the lowest float32, ``units`` tag); files appear atomically (temporary name,
    then :func:`os.replace`). Float64 outputs are stored as float32.

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
        sources, targets, tmp_paths = [], [], {}
        for name in names:
            da = ds[name]
            dtype = np.dtype(np.float32 if da.dtype == np.float64 else da.dtype)
            nodata = FLOAT_NODATA if np.issubdtype(dtype, np.floating) else None
            tmp = out_dir / f".{name}.tmp.tif"
            tmp_paths[name] = tmp
            dst = stack.enter_context(rasterio.open(tmp, "w", **_profile(da, grid, dtype, nodata)))
            dst.update_tags(units=str(da.attrs.get("units", "")))
            dst.set_band_description(1, name)
            data = da.data if da.chunks is not None else dsa.from_array(da.values, chunks=CHUNK)
            data = data.rechunk(_tile_chunks(data.chunks))
            sources.append(data)
            targets.append(_WindowTarget(dst, threading.Lock(), nodata))
        sums = [_nan_sum_lazy(s) for s in sources] if totals else []
        stored = dsa.store(sources, targets, lock=False, compute=False)  # type: ignore[arg-type]
        _, *computed = dask.compute(stored, *sums)
    paths = {}
    for name, tmp in tmp_paths.items():
        target = out_dir / f"{name}.tif"
        if cog:
            rasterio.shutil.copy(
                tmp,
                target,
                driver="COG",
                compress="ZSTD",
                level=1,
                predictor=3,
                num_threads="ALL_CPUS",
                blocksize=TILE,
                BIGTIFF="IF_SAFER",
            )
            tmp.unlink()
        else:
            os.replace(tmp, target)
        paths[name] = target
    return Written(paths, {n: float(v) for n, v in zip(names, computed, strict=False)})


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


# ----------------------------------------------------------------------------------------------
# lazily generated inputs


@dataclass(frozen=True)
class SyntheticRegion:
    """A lazily generated water-yield / carbon region (deterministic per block)."""

    grid: Grid
    rasters: dict[str, xr.DataArray]
    tables: dict[str, pd.DataFrame]


#: Land-cover classes of the synthetic region with their InVEST-style parameters.
SYNTHETIC_CLASSES = pd.DataFrame(
    {
        "kc": [0.65, 1.0, 0.85, 0.3, 1.0],
        "root_depth": [2000.0, 5000.0, 1500.0, 1.0, 1.0],
        "vegetated": [1.0, 1.0, 1.0, 0.0, 0.0],
    },
    index=pd.Index([1, 2, 3, 4, 5], name="code"),
)


#: Synthetic continuous layers: (lowest value, range) in their units.
_SYNTHETIC_RANGES = {
    "precipitation": (400.0, 600.0),
    "reference_evapotranspiration": (700.0, 500.0),
    "root_restricting_depth": (300.0, 2500.0),
    "plant_available_water": (0.05, 0.25),
}


def _synthetic_block(kind: str, seed: int, block_info: Any = None) -> np.ndarray:
    """One block of a synthetic layer: a smooth large-scale pattern plus seeded noise."""
    info = block_info[None]
    (r0, r1), (c0, c1) = info["array-location"]
    rows = np.arange(r0, r1, dtype=np.float32)[:, None]
    cols = np.arange(c0, c1, dtype=np.float32)[None, :]
    wave = np.sin(rows / np.float32(733.0)) * np.cos(cols / np.float32(911.0))
    rng = np.random.default_rng([seed, *info["chunk-location"]])
    noise = rng.random((r1 - r0, c1 - c0), dtype=np.float32)
    if kind == "landcover":
        edges = np.array([-0.6, -0.1, 0.3, 0.7], dtype=np.float32)
        return (np.digitize(wave + np.float32(0.35) * noise, edges) + 1).astype(np.uint8)
    lo, span = _SYNTHETIC_RANGES[kind]
    share = np.float32(0.5) + np.float32(0.35) * wave + np.float32(0.15) * noise
    return (np.float32(lo) + np.float32(span) * share).astype(np.float32)


def _chunk_sizes(total: int, size: int) -> tuple[int, ...]:
    return (size,) * (total // size) + ((total % size,) if total % size else ())


def synthetic_region(
    shape: tuple[int, int], *, chunks: int = CHUNK, seed: int = 0, res: float = 30.0
) -> SyntheticRegion:
    """Water-yield inputs generated lazily, block by block (nothing held in memory).

    Values depend only on the pixel position and ``seed`` (each block seeds its own random
    generator from its chunk location), so a run is reproducible whatever the scheduler.
    The grid is UTM 50N with ``res`` m pixels.

    Parameters
    ----------
    shape : tuple of int
        ``(rows, cols)``; any size (a 40000² region is 1.6e9 pixels).
    chunks : int
        Chunk edge (rounded to 512-pixel tiles).
    seed : int
        Random seed.
    res : float
        Pixel size, m.
    """
    size = round_chunks(chunks)
    grid = Grid(pyproj.CRS.from_epsg(32650), Affine(res, 0, 300_000, 0, -res, 5_000_000), shape)
    x, y = grid.coords()
    chunk_spec = (_chunk_sizes(shape[0], size), _chunk_sizes(shape[1], size))
    units = {
        "precipitation": "mm yr-1",
        "reference_evapotranspiration": "mm yr-1",
        "root_restricting_depth": "mm",
        "plant_available_water": "1",
    }
    rasters: dict[str, xr.DataArray] = {}
    for i, kind in enumerate(("landcover", *units)):
        dtype = np.dtype(np.uint8 if kind == "landcover" else np.float32)
        data = dsa.map_blocks(
            _synthetic_block,
            kind,
            seed + i,
            dtype=dtype,
            chunks=chunk_spec,
            meta=np.empty((0, 0), dtype=dtype),
            name=f"synthetic-{kind}-{seed + i}-{shape[0]}x{shape[1]}-{size}",
        )
        da = xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x}, name=kind)
        da = da.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
        da.attrs = {"nodata": 255} if kind == "landcover" else {"units": units[kind]}
        rasters[kind] = da
    return SyntheticRegion(grid, rasters, {"biophysical": SYNTHETIC_CLASSES})


@contextlib.contextmanager
def local_threads(n: int | None = None) -> Iterator[None]:
    """Use dask's threaded scheduler with ``n`` threads (default: every core) in the block."""
    with dask.config.set(scheduler="threads", num_workers=n or os.cpu_count()):
        yield
