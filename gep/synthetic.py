"""Inputs generated lazily, block by block: a water-yield region of any size, no files.

:func:`synthetic_region` makes deterministic per-block layers (each block seeds its own random
generator from its chunk location), for the scale tests and benchmarks of the chunked path
(:mod:`gep.chunked`): a 40000² run needs no input files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.array as dsa
import numpy as np
import pandas as pd
import pyproj
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from data_catalog.grid import Grid
from gep.chunked import CHUNK, round_chunks


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
