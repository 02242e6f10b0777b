"""Flood regulation (洪水调蓄): storm water held by vegetation, and reservoir flood storage.

The standards count the storm water an ecosystem holds back and value it at the cost of
building the same reservoir storage (MEE 2020 GEP guide; GB/T 46869—2025;
发改基础〔2022〕481号; DB11/T 2059—2022)::

    C_veg = Σ_i (P_s − R_s,i)·A_i·10⁻³,    R_s,i = α_s,i·P_s        vegetation, m³
    C_res = 0.35·V_total                                            reservoirs, m³

with ``P_s`` the rainfall of storm events (mm), ``α_s`` the storm-runoff coefficient of the
vegetation type and ``V_total`` a reservoir's total capacity; 0.35 is the share of the total
capacity used for flood control (Pema Dolkar et al. 2017, 生态学报 37(19):6302). This module
computes the vegetation part per pixel; the reservoir part is a per-unit statistic
(``reservoir_total_capacity`` in the statistics table, valued with the factor 0.35). Classes
with a blank coefficient (cropland, built-up, bare, water) are outside the vegetation method
and count 0. Lake and marsh storage are not computed (they need lake water-level data).
"""

from __future__ import annotations

import xarray as xr

from gep import units
from gep.kernels import water
from gep.services.spec import (
    RasterInput,
    RasterOutput,
    Service,
    ServiceInputs,
    ServiceSpec,
    TableInput,
    apply_pixelwise,
    as_output,
    reclassify,
)

SPEC = ServiceSpec(
    name="flood_regulation",
    inputs=(
        RasterInput(
            "storm_precipitation",
            units=units.MM_PER_YR,
            valid_range=(0, 3000),
            description="rainfall of the storm events of the year (days ≥ 50 mm)",
            variable="storm_precipitation",
        ),
        RasterInput("landcover", categorical=True, variable="landcover"),
        TableInput(
            "storm_runoff",
            index=("landcover",),
            columns={"coef": units.DIMENSIONLESS},
            valid_ranges={"coef": (0.0, 1.0)},
            nullable=("coef",),
            description="storm-runoff coefficient α_s per vegetation class; blank = outside",
            parameters={"coef": "storm_runoff_coefficient"},
        ),
    ),
    outputs=(
        RasterOutput(
            "vegetation_flood_storage", units.M3_PER_YR, "storm water held by vegetation, m³"
        ),
    ),
    neighbourhood=0,
    accounted=("vegetation_flood_storage",),
    references=(
        "MEE (2020) 陆地生态系统生产总值（GEP）核算技术指南: flood regulation",
        "GB/T 46869—2025; NDRC & NBS 发改基础〔2022〕481号; DB11/T 2059—2022",
        "Pema Dolkar et al. (2017) 生态学报 37(19):6302 (reservoir share 0.35)",
    ),
)


def compute(inputs: ServiceInputs) -> xr.Dataset:
    """Storm water held by vegetation per pixel, m³ yr-1: ``(P_s − α_s·P_s)·A·10⁻³``.

    The same water balance as water conservation with ET = 0 over the storm
    (:func:`gep.kernels.water.water_balance`); 0 on classes with a blank coefficient, NaN where
    an input is nodata.

    Examples
    --------
    A 1-ha forest pixel with 150 mm of storm rain and α_s = 0.15 holds
    (150 − 22.5) mm × 10 000 m² × 10⁻³ = 1 275 m³ (tests/services/test_flood_regulation.py).
    """
    p = inputs.storm_precipitation
    coef = reclassify(inputs, "landcover", "storm_runoff", "coef", dtype=p.dtype)
    depth = apply_pixelwise(water.water_balance, p, xr.zeros_like(p), coef)
    outside = coef.isnull() & inputs.landcover.coords["valid"] & p.notnull()
    depth = xr.where(outside, depth.dtype.type(0), depth, keep_attrs=True)
    volume = depth * (inputs.cell_area_m2() * units.MM_TO_M).astype(depth.dtype)
    return as_output(SPEC, vegetation_flood_storage=volume)


SERVICE = Service(SPEC, compute)
