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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from data_catalog.catalog import Catalog
from data_catalog.rasters import read_raster
from gep.accounts import UnitLevel, quantity_table
from gep.accounts.zonal import LevelAccumulator, LevelSums
from gep.config import RunConfig
from gep.pipeline.inputs import RasterSource, run_service, weather_driven
from gep.services import SERVICES
from gep.services.spec import GLOBAL

Progress = Callable[[str], None]

#: Default chunk edge of the streamed run: 2048² float64 is 32 MiB per array.
CHUNK = 2048


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
                da = result[name].compute()
                da.attrs["service"] = service
                out[(name, year)] = da
    return out


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
    """

    rasters: dict[tuple[str, int], xr.DataArray]
    quantities: pd.DataFrame
    paths: dict[tuple[str, int], Path]


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
    for year in config.years:
        source = RasterSource(cat, chunks=size)
        local = [s for s in config.services if SERVICES[s].spec.neighbourhood != GLOBAL]
        routed = [s for s in config.services if SERVICES[s].spec.neighbourhood == GLOBAL]
        # routed services get the lazy rasters too: they read them whole inside ``compute``
        # and hand them to their kernel, so no second copy is held while it runs
        batches = [local] + [[s] for s in routed]
        for services in batches:
            if not services:
                continue
            if progress:
                progress(f"{', '.join(services)} {year}")
            arrays = {}
            for service in services:
                result = run_service(cat, config, params, service, year, source=source)
                for name in SERVICES[service].spec.accounted:
                    da = result[name]
                    da.attrs["service"] = service
                    arrays[(name, year)] = da
                del result  # a routed service's other outputs are freed before the write
            written = _write_and_sum(arrays, grid, folder, levels, size, progress)
            frames.append(quantity_table(levels, arrays, written))
            for key, da in arrays.items():
                path = folder / f"{key[0]}_{key[1]}.tif"
                paths[key] = path
                rasters[key] = _open_written(path, key[0], da.attrs, size)
            del arrays
    table = pd.concat(frames, ignore_index=True) if frames else quantity_table(levels, {})
    return Streamed(rasters, table, paths)


def _write_and_sum(
    arrays: dict[tuple[str, int], xr.DataArray],
    grid: Any,
    folder: Path,
    levels: list[UnitLevel],
    size: int,
    progress: Progress | None = None,
) -> list[LevelSums]:
    """Write every array and sum it over every level, one block of the grid at a time."""
    from gep.chunked import round_chunks, write_by_blocks

    block = round_chunks(size)
    shape = (min(block, grid.shape[0]), min(block, grid.shape[1]))
    sums = [LevelAccumulator(level, len(arrays), shape) for level in levels]

    def add(window: tuple[slice, slice], values: list[Any]) -> None:
        for accumulator in sums:
            accumulator.add(window, values)

    named = {f"{name}_{year}": da for (name, year), da in arrays.items()}
    write_by_blocks(named, grid, folder, block=block, on_block=add, cog=True, progress=progress)
    return [accumulator.result() for accumulator in sums]


def _open_written(path: Path, name: str, attrs: dict[str, Any], size: int) -> xr.DataArray:
    da = read_raster(path, name=name, units=attrs.get("units"), chunks={"y": size, "x": size})
    da.attrs = {**da.attrs, **attrs}
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
        Read by chunks of this edge and sum the per-pixel services lazily (bounded memory;
        the levels must be blockwise); ``None`` computes in memory.
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
            rasters = {}  # summed per unit at once: one batch's rasters at a time
            for service in services:
                result = run_service(
                    cat, config, params, service, y1, weather_year=y0, source=source
                )
                for name in SERVICES[service].spec.accounted:
                    da = result[name] if chunks is not None else result[name].compute()
                    da.attrs["service"] = service
                    rasters[(name, y1)] = da
            redone = quantity_table(levels, rasters)
            del rasters
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
