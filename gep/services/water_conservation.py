"""Water conservation: annual water retained by ecosystems (water-balance method)."""

from __future__ import annotations

import numpy as np
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
    name="water_conservation",
    inputs=(
        RasterInput(
            "precipitation",
            units=units.MM_PER_YR,
            valid_range=(0, 10_000),
            variable="precipitation",
        ),
        RasterInput(
            "evapotranspiration",
            units=units.MM_PER_YR,
            valid_range=(0, 5_000),
            variable="evapotranspiration",
        ),
        RasterInput("landcover", categorical=True, variable="landcover"),
        TableInput(
            "runoff_coefficients",
            index=("landcover",),
            columns={"coef": units.DIMENSIONLESS},
            valid_ranges={"coef": (0.0, 1.0)},
            nullable=("coef",),
            description="surface-runoff coefficient α per class; blank = class excluded",
            parameters={"coef": "runoff_coefficient"},
        ),
    ),
    outputs=(
        RasterOutput("water_conserved_depth", units.MM_PER_YR, "P − αP − ET, signed"),
        RasterOutput("water_conserved", units.M3_PER_YR, "water conserved per pixel, signed"),
        RasterOutput(
            "water_conserved_clipped",
            units.M3_PER_YR,
            "water conserved per pixel, negatives set to 0",
        ),
    ),
    neighbourhood=0,
    accounted=("water_conserved",),
    references=(
        "MEE (2020) 陆地生态系统生产总值（GEP）核算技术指南: water conservation, water balance",
        "DB11/T 2059—2022 生态产品总值核算技术规范",
    ),
)


def compute(inputs: ServiceInputs) -> xr.Dataset:
    """Compute water conservation per pixel by the water-balance method.

    ``Q = (P − R − ET)·A`` with ``R = α·P``, α the runoff coefficient of the land-cover class
    (MEE 2020; NDRC/NBS 2022; DB11/T 2059—2022). 1 mm over 1 m² is 0.001 m³. Negative values
    (ET > P − R) are kept in ``water_conserved``; ``water_conserved_clipped`` sets them to 0,
    so both the signed and the clipped sums can be reported. Classes whose coefficient is blank
    are outside the method (the standards restrict it to natural ecosystems): they conserve 0 by
    definition where the inputs are valid, so that accounts count them as covered and zero;
    nodata in any input stays NaN.

    Parameters
    ----------
    inputs : ServiceInputs
        ``precipitation`` and ``evapotranspiration`` (mm yr-1), ``landcover`` and the
        ``runoff_coefficients`` table (column ``coef``, 0–1).

    Returns
    -------
    xarray.Dataset
        ``water_conserved_depth`` (mm yr-1), ``water_conserved`` and
        ``water_conserved_clipped`` (m3 yr-1 per pixel).
    """
    dtype = np.result_type(inputs.precipitation.dtype, inputs.evapotranspiration.dtype)
    coef = reclassify(inputs, "landcover", "runoff_coefficients", "coef", dtype=dtype)
    depth = apply_pixelwise(
        water.water_balance, inputs.precipitation, inputs.evapotranspiration, coef
    )
    outside_method = (
        coef.isnull()
        & inputs.landcover.coords["valid"]
        & inputs.precipitation.notnull()
        & inputs.evapotranspiration.notnull()
    )
    depth = xr.where(outside_method, depth.dtype.type(0), depth, keep_attrs=True)
    # mm · m² · 0.001 m/mm = m³, in the precision of the depths
    volume = depth * (inputs.cell_area_m2() * units.MM_TO_M).astype(depth.dtype)
    return as_output(
        SPEC,
        water_conserved_depth=depth,
        water_conserved=volume,
        water_conserved_clipped=volume.clip(min=0),
    )


SERVICE = Service(SPEC, compute)
