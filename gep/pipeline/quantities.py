"""Services → per-pixel quantities: in memory, or streamed block by block to GeoTIFFs.

:func:`compute_quantities` holds every quantity of every year as a numpy array (small grids,
library callers). :func:`stream_quantities` is what ``gep run`` does: per year, every per-pixel
service is one lazy dask graph over the inputs read once by chunks; each chunk of every
accounted quantity is written into its GeoTIFF and summed over every unit in the same pass
(:func:`gep.chunked.write_outputs`, :func:`gep.accounts.zonal.level_sum_tasks`), so memory is
set by the chunks, not by the raster. Services whose spec is ``GLOBAL`` (flow routing) are
computed one at a time over the grid, written and summed the same way, and freed.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from data_catalog.catalog import Catalog
from data_catalog.rasters import read_raster
from gep.accounts import UnitLevel, quantity_table
from gep.accounts.ecosystem_types import TypeTotals, apply_types, type_lookup
from gep.accounts.zonal import LevelAccumulator, LevelSums
from gep.chunked import STREAM_BLOCK
from gep.config import RunConfig
from gep.io.memory import release_free_memory
from gep.pipeline.inputs import RasterSource, WindowSource, run_service, weather_driven
from gep.services import SERVICES
from gep.services.spec import GLOBAL

Progress = Callable[[str], None]

#: Default window edge of the streamed run (:data:`gep.chunked.STREAM_BLOCK`).
CHUNK = STREAM_BLOCK


def compute_quantities(
    cat: Catalog, config: RunConfig, params: pd.DataFrame, progress: Progress | None = None
) -> dict[tuple[str, int], xr.DataArray]:
    """Per-pixel quantities ``(name, year) → DataArray`` for every service and year, in memory."""
    out: dict[tuple[str, int], xr.DataArray] = {}
    for year in config.years:
        source = RasterSource(cat)  # each input read once per year
        for service in config.services:
            if progress:
                progress(f"{service} {year}")
            result = run_service(cat, config, params, service, year, source=source)
            for name in SERVICES[service].spec.accounted:
                da = _computed(result[name], service)
                da.attrs["service"] = service
                out[(name, year)] = da
    return out


def _computed(da: xr.DataArray, service: str) -> xr.DataArray:
    """``da`` computed: routed services' outputs here, per-pixel ones on the current scheduler.

    A routed service's outputs read its scratch files (:mod:`gep.routing.staged_sdr`), which
    only this process sees.
    """
    if SERVICES[service].spec.neighbourhood == GLOBAL:
        return da.compute(scheduler="sync")
    return da.compute()


@dataclass
class Streamed:
    """What :func:`stream_quantities` produced.

    Attributes
    ----------
    rasters : dict
        ``(name, year) → DataArray`` opened lazily from the written GeoTIFFs (float32).
    quantities : pandas.DataFrame
        Per-unit sums (:func:`gep.accounts.quantity_table`) of the float64 values, computed
        in the pass that wrote them.
    paths : dict
        ``(name, year) → path`` of each written file.
    type_totals : dict
        ``(name, year) → (sums, pixel counts)`` per ecosystem type (the supply table's), added
        up in the same pass.
    """

    rasters: dict[tuple[str, int], xr.DataArray]
    quantities: pd.DataFrame
    paths: dict[tuple[str, int], Path]
    type_totals: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def stream_quantities(
    cat: Catalog,
    config: RunConfig,
    params: pd.DataFrame,
    levels: list[UnitLevel],
    folder: Path,
    *,
    chunks: int = CHUNK,
    progress: Progress | None = None,
) -> Streamed:
    """Every accounted quantity written to ``folder/{name}_{year}.tif`` and summed per unit.

    Parameters
    ----------
    cat, config, params
        The catalog, run configuration and ecosystem-type parameter table.
    levels : list of UnitLevel
        Blockwise unit levels (:func:`gep.pipeline.unit_levels` with ``blockwise=True``).
    folder : Path
        Where the quantity rasters go (Cloud-Optimized GeoTIFFs, float32, units tagged).
    chunks : int
        Chunk edge in pixels (rounded to whole 512-pixel tiles).
    progress : callable, optional
        Called with a short message per pass.
    """
    from gep.chunked import round_chunks

    size = round_chunks(chunks)
    grid = cat.reference_grid()
    rasters: dict[tuple[str, int], xr.DataArray] = {}
    paths: dict[tuple[str, int], Path] = {}
    frames = []
    type_totals: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for year in config.years:
        source = RasterSource(cat, chunks=size)
        types = _TypeSums.of(cat, year)
        local = [s for s in config.services if SERVICES[s].spec.neighbourhood != GLOBAL]
        routed = [s for s in config.services if SERVICES[s].spec.neighbourhood == GLOBAL]
        if local:
            if progress:
                progress(f"{', '.join(local)} {year}")
            meta = _accounted_meta(local, year)
            types.start(len(meta))
            written = _windows_written_and_summed(
                local,
                meta,
                (cat, config, params, year),
                source,
                folder,
                levels,
                size,
                progress,
                types,
            )
            type_totals.update(zip(meta, types.result(), strict=True))
            frames.append(quantity_table(levels, meta, written))
            _open_all(meta, folder, size, rasters, paths)
        for service in routed:
            # read whole inside ``compute`` from the lazy rasters and handed to its kernel, so
            # no second copy is held while it runs
            if progress:
                progress(f"{service} {year}")
            arrays = _accounted(
                run_service(cat, config, params, service, year, source=source), service, year
            )
            # nothing else may refer to the service's outputs: they hold its scratch files (a
            # year of soil retention's: 7 GB at 10 m), removed once the last reference goes
            types.start(len(arrays))
            written = _write_and_sum(arrays, grid, folder, levels, size, progress, types)
            type_totals.update(zip(arrays, types.result(), strict=True))
            frames.append(quantity_table(levels, arrays, written))
            _open_all(arrays, folder, size, rasters, paths)
            del arrays
    table = pd.concat(frames, ignore_index=True) if frames else quantity_table(levels, {})
    return Streamed(rasters, table, paths, type_totals)


@dataclass
class _TypeSums:
    """A pass's per-ecosystem-type sums: the land cover's window typed for every block."""

    cat: Catalog
    lut: np.ndarray
    entry_id: str
    n_types: int
    totals: TypeTotals | None = None

    @classmethod
    def of(cls, cat: Catalog, year: int) -> _TypeSums:
        lut, names, entry_id = type_lookup(cat, year)
        return cls(cat, lut, entry_id, len(names))

    pending: dict[tuple[int, int, int, int], np.ndarray] = field(default_factory=dict)

    def start(self, n_quantities: int) -> None:
        self.totals = TypeTotals(n_quantities, self.n_types)

    def remember(self, window: tuple[slice, slice], source: WindowSource) -> None:
        """Type the window's land cover as the services read it (no second read in ``add``)."""
        self.pending[_key(window)] = self._index(source.raster(self.entry_id))

    def add(self, window: tuple[slice, slice], values: list[Any]) -> None:
        assert self.totals is not None
        index = self.pending.pop(_key(window), None)
        if index is None:  # routed outputs: the land cover of the window is read here
            index = self._index(self.cat.raster(self.entry_id, window=window))
        self.totals.add(index, [np.asarray(v) for v in values])

    def _index(self, landcover: xr.DataArray) -> np.ndarray:
        return apply_types(landcover.values, landcover.coords["valid"].values, self.lut)

    def result(self) -> list[tuple[np.ndarray, np.ndarray]]:
        assert self.totals is not None
        return self.totals.result()


def _key(window: tuple[slice, slice]) -> tuple[int, int, int, int]:
    rows, cols = window
    return (rows.start, rows.stop, cols.start, cols.stop)


def _accounted(result: xr.Dataset, service: str, year: int) -> dict[tuple[str, int], xr.DataArray]:
    """``(name, year) →`` each accounted output of a service's result, tagged with the service."""
    arrays = {}
    for name in SERVICES[service].spec.accounted:
        da = result[name]
        da.attrs["service"] = service
        arrays[(name, year)] = da
    return arrays


def _accounted_meta(services: list[str], year: int) -> dict[tuple[str, int], xr.DataArray]:
    """``(name, year) →`` an empty array carrying the units and service of each quantity."""
    meta = {}
    for service in services:
        spec = SERVICES[service].spec
        for name in spec.accounted:
            attrs = {"units": spec.output_units[name], "service": service}
            meta[(name, year)] = xr.DataArray(np.empty((0, 0)), dims=("y", "x"), attrs=attrs)
    return meta


def _window_quantities(
    services: list[str],
    run: tuple[Catalog, RunConfig, pd.DataFrame, int],
    source: WindowSource,
    weather_year: int | None = None,
) -> list[np.ndarray]:
    """Every accounted quantity of ``services`` in the window of ``source`` (float64)."""
    cat, config, params, year = run
    values = []
    for service in services:
        result = run_service(
            cat, config, params, service, year, weather_year=weather_year, source=source
        )
        for name in SERVICES[service].spec.accounted:
            values.append(np.asarray(result[name].values, dtype=np.float64))
    return values


def _windows_written_and_summed(
    services: list[str],
    meta: dict[tuple[str, int], xr.DataArray],
    run: tuple[Catalog, RunConfig, pd.DataFrame, int],
    source: RasterSource,
    folder: Path,
    levels: list[UnitLevel],
    size: int,
    progress: Progress | None,
    types: _TypeSums | None = None,
) -> list[LevelSums]:
    """The per-pixel services evaluated window by window: written and summed per unit.

    With ``types``, also summed per ecosystem type.
    """
    from gep.chunked import write_windows

    grid = run[0].reference_grid()
    sums = _accumulators(levels, len(meta))

    def compute(window: tuple[slice, slice]) -> list[np.ndarray]:
        inputs = WindowSource(source, window)
        values = _window_quantities(services, run, inputs)
        if types is not None:
            types.remember(window, inputs)
        return values

    def add(window: tuple[slice, slice], values: list[Any]) -> None:
        for accumulator in sums:
            accumulator.add(window, values)
        if types is not None:
            types.add(window, values)

    outputs = {f"{n}_{y}": (np.dtype(np.float32), da.attrs["units"]) for (n, y), da in meta.items()}
    write_windows(
        outputs, grid, folder, compute, block=size, on_block=add, progress=progress, parallel=2
    )
    return [accumulator.result() for accumulator in sums]


def _windows_summed(
    services: list[str],
    meta: dict[tuple[str, int], xr.DataArray],
    run: tuple[Catalog, RunConfig, pd.DataFrame, int],
    source: RasterSource,
    levels: list[UnitLevel],
    size: int,
    weather_year: int | None,
) -> list[LevelSums]:
    """The per-pixel services summed per unit window by window (nothing written)."""

    def compute(window: tuple[slice, slice]) -> list[np.ndarray]:
        return _window_quantities(services, run, WindowSource(source, window), weather_year)

    return _summed_by_windows(compute, len(meta), run[0].reference_grid().shape, levels, size)


def _summed_by_windows(
    compute: Callable[[tuple[slice, slice]], list[np.ndarray]],
    n_quantities: int,
    grid_shape: tuple[int, int],
    levels: list[UnitLevel],
    size: int,
) -> list[LevelSums]:
    """``compute(window)``'s quantities summed over every level, one window at a time."""
    from gep.chunked import block_windows, frozen_heap, round_chunks

    block = round_chunks(size)
    sums = _accumulators(levels, n_quantities)
    with frozen_heap():
        for window in block_windows(grid_shape, block):
            values = compute(window)
            for accumulator in sums:
                accumulator.add(window, values)
            del values
            gc.collect()  # as in gep.chunked.write_windows: the window's reference cycles
            release_free_memory()
    return [accumulator.result() for accumulator in sums]


def _accumulators(levels: list[UnitLevel], n_quantities: int) -> list[LevelAccumulator]:
    """One per-unit accumulator per level (each window's coverage is kept by the level)."""
    return [LevelAccumulator(level, n_quantities) for level in levels]


def _summed_whole(
    services: list[str],
    run: tuple[Catalog, RunConfig, pd.DataFrame, int],
    source: RasterSource,
    levels: list[UnitLevel],
    weather_year: int,
    chunks: int | None = None,
) -> pd.DataFrame:
    """Quantities of ``services`` computed over the whole grid and summed per unit.

    With ``chunks`` (blockwise levels) the outputs are read and summed one block at a time,
    never held whole.
    """
    cat, config, params, year = run
    rasters = {}
    for service in services:
        result = run_service(
            cat, config, params, service, year, weather_year=weather_year, source=source
        )
        for name in SERVICES[service].spec.accounted:
            da = result[name] if chunks is not None else _computed(result[name], service)
            da.attrs["service"] = service
            rasters[(name, year)] = da
        del result
    if chunks is None:
        return quantity_table(levels, rasters)
    arrays = list(rasters.values())

    def read(window: tuple[slice, slice]) -> list[np.ndarray]:
        return [np.asarray(da[window].values, dtype=np.float64) for da in arrays]

    sums = _summed_by_windows(read, len(arrays), cat.reference_grid().shape, levels, chunks)
    return quantity_table(levels, rasters, sums)


def _open_all(
    arrays: dict[tuple[str, int], xr.DataArray],
    folder: Path,
    size: int,
    rasters: dict[tuple[str, int], xr.DataArray],
    paths: dict[tuple[str, int], Path],
) -> None:
    """Open each written quantity lazily into ``rasters`` (its path into ``paths``)."""
    for key, da in arrays.items():
        path = folder / f"{key[0]}_{key[1]}.tif"
        paths[key] = path
        rasters[key] = _open_written(path, key[0], da.attrs, size)


def _write_and_sum(
    arrays: dict[tuple[str, int], xr.DataArray],
    grid: Any,
    folder: Path,
    levels: list[UnitLevel],
    size: int,
    progress: Progress | None = None,
    types: _TypeSums | None = None,
) -> list[LevelSums]:
    """Write every array and sum it over every level, one block of the grid at a time.

    With ``types``, also summed per ecosystem type.
    """
    from gep.chunked import round_chunks, write_by_blocks

    block = round_chunks(size)
    sums = _accumulators(levels, len(arrays))

    def add(window: tuple[slice, slice], values: list[Any]) -> None:
        for accumulator in sums:
            accumulator.add(window, values)
        if types is not None:
            types.add(window, values)

    named = {f"{name}_{year}": da for (name, year), da in arrays.items()}
    write_by_blocks(named, grid, folder, block=block, on_block=add, cog=True, progress=progress)
    return [accumulator.result() for accumulator in sums]


def _open_written(path: Path, name: str, attrs: dict[str, Any], size: int) -> xr.DataArray:
    da = read_raster(path, name=name, units=attrs.get("units"), chunks={"y": size, "x": size})
    da.attrs = {**da.attrs, **attrs, "source_path": str(path)}  # the written file, not an input
    return da


def weather_neutral_quantities(
    cat: Catalog,
    config: RunConfig,
    params: pd.DataFrame,
    levels: list[UnitLevel],
    quantities: pd.DataFrame,
    progress: Progress | None = None,
    *,
    chunks: int | None = None,
) -> pd.DataFrame:
    """Quantities of each later year under the previous accounted year's weather.

    For every pair of consecutive accounted years ``(y0, y1)``, the services that read weather
    variables are run again for ``y1`` with the weather of ``y0`` (land cover, vegetation,
    soils and terrain of ``y1``) and summed per unit; quantities that do not depend on the
    weather (statistics, NPP-based carbon, purification capacities) are those of ``y1``. The
    result has the columns of ``quantities`` plus ``weather_year`` (``y0``): the
    ecosystem-condition state that splits ΔGEP's volume effect into a condition effect and a
    weather effect (:func:`gep.decomposition.decompose`).

    Parameters
    ----------
    cat, config, params, levels
        As for :func:`compute_quantities` and :func:`gep.pipeline.build_accounts`.
    quantities : pandas.DataFrame
        The actual quantities (:func:`gep.accounts.quantity_table`, statistics included).
    progress : callable, optional
        Called with a short message per service and year.
    chunks : int, optional
        Evaluate the per-pixel services window by window (windows of this edge; bounded
        memory; the levels must be blockwise); ``None`` computes in memory.
    """
    years = sorted(config.years)
    frames = []
    for y0, y1 in zip(years[:-1], years[1:], strict=True):
        same = quantities[quantities["year"] == y1]
        source = RasterSource(cat, chunks=chunks)
        driven = [s for s in config.services if weather_driven(s)]
        local = [s for s in driven if SERVICES[s].spec.neighbourhood != GLOBAL]
        batches = [local] if chunks is not None else [[s] for s in local]
        batches += [[s] for s in driven if SERVICES[s].spec.neighbourhood == GLOBAL]
        for services in batches:
            if not services:
                continue
            if progress:
                progress(f"{', '.join(services)} {y1} under the weather of {y0}")
            if chunks is not None and services == local:
                meta = _accounted_meta(local, y1)
                run = (cat, config, params, y1)
                sums = _windows_summed(local, meta, run, source, levels, chunks, y0)
                redone = quantity_table(levels, meta, sums)
            else:
                run = (cat, config, params, y1)
                redone = _summed_whole(services, run, source, levels, y0, chunks)
            same = pd.concat(
                [same[~same["quantity_name"].isin(redone["quantity_name"])], redone],
                ignore_index=True,
            )
        frames.append(same.assign(weather_year=y0))
    if not frames:
        return quantities.iloc[0:0].assign(weather_year=pd.Series(dtype=int))
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "CHUNK",
    "Streamed",
    "compute_quantities",
    "stream_quantities",
    "weather_neutral_quantities",
]
