"""Synthetic inputs for service tests, built from a service's spec."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyproj
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from data_catalog.grid import Grid
from gep.services.spec import ServiceInputs, ServiceSpec

CRS = pyproj.CRS.from_epsg(32650)
NODATA = 255
CLASSES = (1, 2, 3)


def make_grid(rows: int = 8, cols: int = 8, res: float = 30.0) -> Grid:
    return Grid(CRS, Affine(res, 0, 400_000, 0, -res, 4_500_000), (rows, cols))


def raster(
    values: np.ndarray, grid: Grid, *, units: str | None = None, name: str = "x"
) -> xr.DataArray:
    x, y = grid.coords()
    da = xr.DataArray(np.asarray(values), dims=("y", "x"), coords={"y": y, "x": x}, name=name)
    da = da.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    if units is not None:
        da.attrs["units"] = units
    return da


def categorical(
    codes: np.ndarray, grid: Grid, *, nodata: int = NODATA, name: str = "landcover"
) -> xr.DataArray:
    da = raster(np.asarray(codes, dtype=np.uint8), grid, name=name)
    da = da.assign_coords(valid=(("y", "x"), np.asarray(codes) != nodata))
    da.attrs["nodata"] = nodata
    return da


def _continuous(
    rng: np.random.Generator, lo: float, hi: float, shape: tuple[int, int]
) -> np.ndarray:
    lo = max(lo, -1e3)
    hi = min(hi, lo + 2e3)
    return rng.uniform(lo + 0.01 * (hi - lo), hi, size=shape)


def synthetic_inputs(
    spec: ServiceSpec, *, seed: int = 0, chunks: int | None = None
) -> ServiceInputs:
    """Random valid inputs for every raster (optional ones too), table and parameter."""
    rng = np.random.default_rng(seed)
    grid = make_grid()
    rasters: dict[str, xr.DataArray] = {}
    for name, rin in spec.rasters.items():
        if rin.categorical:
            codes = rng.choice(CLASSES, size=grid.shape).astype(np.uint8)
            codes[0, 0] = NODATA
            da = categorical(codes, grid, name=name)
        else:
            lo, hi = rin.valid_range or (0.0, 1.0)
            values = _continuous(rng, lo, hi, grid.shape)
            values[1, 1] = np.nan
            da = raster(values, grid, units=rin.units, name=name)
        rasters[name] = da.chunk({"y": 4, "x": 4}) if chunks else da
    tables: dict[str, pd.DataFrame] = {}
    for name, tin in spec.tables.items():
        cols: dict[str, Any] = {}
        for col in tin.columns:
            if col in tin.flags:
                cols[col] = [1.0, 0.0, 1.0]
            else:
                lo, hi = tin.valid_ranges.get(col, (0.0, 1.0))
                cols[col] = _continuous(rng, lo, min(hi, 1e3), (1, len(CLASSES)))[0]
        tables[name] = pd.DataFrame(cols, index=pd.Index(CLASSES, name="code"))
    params: dict[str, Any] = {}
    for p in spec.params:
        if p.default is None and not p.optional:
            lo, hi = p.valid_range or (0.0, 10.0)
            params[p.name] = float(min(max(lo, 1.0), hi) if hi > 1.0 else (lo + hi) / 2)
    return ServiceInputs.build(spec, grid, rasters=rasters, tables=tables, params=params)
