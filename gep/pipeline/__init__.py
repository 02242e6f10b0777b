"""The pipeline: catalog → services → quantities → accounts (zonal sums) → valuation → tables.

Modules, in the order data flows:

* :mod:`gep.pipeline.inputs` — each service's inputs from the catalog, as its spec declares
  them (catalog variables, parameter tables), each raster opened once per run;
* :mod:`gep.pipeline.quantities` — services → per-pixel quantities, in memory or streamed
  block by block to GeoTIFFs with the per-unit sums taken in the same pass;
* :mod:`gep.pipeline.accounts` — units on the grid, zonal sums, valuation, the tidy accounts,
  the hierarchy check and the ΔGEP decomposition.
"""

from __future__ import annotations

from gep.pipeline.accounts import (
    BLOCKWISE_ZONAL_PIXELS,
    ZONAL_BLOCK,
    Accounts,
    build_accounts,
    load_prices,
    restrict_services,
    run_accounts,
    run_summary,
    unit_levels,
)
from gep.pipeline.inputs import (
    ACCOUNTED,
    WEATHER_VARIABLES,
    RasterSource,
    class_table,
    run_service,
    service_inputs,
    stock_change_base_year,
    weather_driven,
)
from gep.pipeline.quantities import (
    CHUNK,
    Streamed,
    compute_quantities,
    stream_quantities,
    weather_neutral_quantities,
)

__all__ = [
    "ACCOUNTED",
    "BLOCKWISE_ZONAL_PIXELS",
    "CHUNK",
    "WEATHER_VARIABLES",
    "ZONAL_BLOCK",
    "Accounts",
    "RasterSource",
    "Streamed",
    "build_accounts",
    "class_table",
    "compute_quantities",
    "load_prices",
    "restrict_services",
    "run_accounts",
    "run_service",
    "run_summary",
    "service_inputs",
    "stock_change_base_year",
    "stream_quantities",
    "unit_levels",
    "weather_driven",
    "weather_neutral_quantities",
]
