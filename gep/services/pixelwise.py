"""Per-pixel helpers of the services: class lookups, fused kernels on numpy or dask, outputs.

:func:`reclassify` and :func:`lookup_classes` map class codes to table values (numba lookup
table, per chunk for dask arrays); :func:`apply_pixelwise` runs one fused kernel per chunk;
:func:`as_output` checks that a service returns exactly its declared outputs and attaches
their units. Re-exported by :mod:`gep.services.spec`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from gep.errors import ServiceSpecError
from gep.kernels import lookup

if TYPE_CHECKING:
    from gep.services.spec import ServiceInputs, ServiceSpec


def reclassify(
    inputs: ServiceInputs, raster: str, table: str, column: str, *, dtype: Any = np.float64
) -> xr.DataArray:
    """Per-pixel value of ``column`` of ``table`` for the classes of ``raster`` (NaN for nodata).

    Uses the numba lookup table of :mod:`gep.kernels.lookup`, per chunk for dask arrays.
    """
    units = inputs.spec.tables[table].columns[column]
    return lookup_classes(
        inputs.rasters[raster], inputs.tables[table][column], dtype=dtype, units=units
    )


def lookup_classes(
    classes: xr.DataArray, values: pd.Series, *, dtype: Any = np.float64, units: str = ""
) -> xr.DataArray:
    """Map each pixel's class code to ``values[code]`` (NaN for nodata and absent codes).

    Parameters
    ----------
    classes : xarray.DataArray
        Categorical raster (``attrs["nodata"]`` marks nodata), numpy- or dask-backed.
    values : pandas.Series
        Value per class code (the index).
    dtype : numpy dtype
        Output dtype.
    units : str
        Units written to ``attrs``.
    """
    lut, offset = lookup.build_lut(values.index.to_numpy(), values.to_numpy(), dtype=dtype)
    nodata = classes.attrs.get("nodata")
    da = classes.drop_vars("valid", errors="ignore")
    if da.chunks is None:
        result = da.copy(data=lookup.apply_lut(da.values, lut, offset, nodata=nodata))
    else:
        result = xr.apply_ufunc(
            lookup.apply_lut,
            da,
            kwargs={"lut": lut, "offset": offset, "nodata": nodata, "parallel": False},
            dask="parallelized",
            output_dtypes=[lut.dtype],
        )
    result.attrs = {"units": units}
    return result


def apply_pixelwise(
    func: Callable[..., Any],
    *arrays: xr.DataArray,
    n_outputs: int = 1,
    dtype: Any = None,
    **kwargs: Any,
) -> Any:
    """Run a fused per-pixel kernel on numpy- or dask-backed arrays.

    Numpy inputs call ``func(*values, parallel=True, **kwargs)`` once; dask inputs go through
    ``xr.apply_ufunc(..., dask="parallelized")`` with ``parallel=False`` (dask already runs
    chunks in parallel), one kernel call per chunk.

    Returns
    -------
    xarray.DataArray or tuple of xarray.DataArray
        ``n_outputs`` arrays on the grid of the first input.
    """
    ref = arrays[0]
    if dtype is None:
        dtype = np.result_type(*(a.dtype for a in arrays), np.float32)
    if all(a.chunks is None for a in arrays):
        result = func(*(a.values for a in arrays), parallel=True, **kwargs)
        results = result if n_outputs > 1 else (result,)
        wrapped = tuple(ref.copy(data=r) for r in results)
    else:
        out = xr.apply_ufunc(
            func,
            *arrays,
            kwargs={"parallel": False, **kwargs},
            dask="parallelized",
            output_dtypes=[dtype] * n_outputs,
            output_core_dims=[[]] * n_outputs,
        )
        wrapped = out if n_outputs > 1 else (out,)
    for w in wrapped:
        w.attrs = {}
    return wrapped if n_outputs > 1 else wrapped[0]


def as_output(spec: ServiceSpec, **arrays: xr.DataArray) -> xr.Dataset:
    """Assemble a service's outputs, checking names and attaching declared units.

    Raises
    ------
    ServiceSpecError
        If the arrays are not exactly the declared outputs.
    """
    declared = spec.output_units
    if set(arrays) != set(declared):
        raise ServiceSpecError(
            f"service '{spec.name}' returned {sorted(arrays)} but declares {sorted(declared)}"
        )
    data = {}
    for out in spec.outputs:
        da = arrays[out.name].drop_vars("valid", errors="ignore")
        da.attrs = {"units": out.units, "long_name": out.description or out.name}
        data[out.name] = da.rename(out.name)
    return xr.Dataset(data, attrs={"service": spec.name})
