"""Annual water yield: Budyko / Fu–Zhang water yield, exactly as InVEST 3.20 computes it."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from gep import units
from gep.kernels import water
from gep.services.spec import (
    Parameter,
    RasterInput,
    RasterOutput,
    Service,
    ServiceInputs,
    ServiceSpec,
    TableInput,
    apply_pixelwise,
    as_output,
    lookup_classes,
    reclassify,
)

SPEC = ServiceSpec(
    name="water_yield",
    inputs=(
        RasterInput(
            "precipitation",
            units=units.MM_PER_YR,
            valid_range=(0, 10_000),
            variable="precipitation",
        ),
        RasterInput(
            "reference_evapotranspiration",
            units=units.MM_PER_YR,
            valid_range=(0, 5_000),
            variable="reference_evapotranspiration",
        ),
        RasterInput(
            "root_restricting_depth",
            units=units.MM,
            valid_range=(0, 100_000),
            variable="root_restricting_depth",
            year="fixed",
        ),
        RasterInput(
            "plant_available_water",
            units=units.DIMENSIONLESS,
            valid_range=(0, 1),
            variable="plant_available_water",
            year="fixed",
        ),
        RasterInput("landcover", categorical=True, variable="landcover"),
        RasterInput(
            "seasonality_by_basin",
            units=units.DIMENSIONLESS,
            valid_range=(1e-9, 1e6),
            optional=True,
            description="Z per pixel where it was fitted (per gauged basin, gep calibrate); "
            "NaN elsewhere, where the parameter seasonality applies",
            variable="seasonality",
            year="fixed",
        ),
        TableInput(
            "biophysical",
            index=("landcover",),
            columns={"kc": units.DIMENSIONLESS, "root_depth": units.MM, "vegetated": "1"},
            valid_ranges={"kc": (0.0, 3.0), "root_depth": (0.0, 100_000.0)},
            nullable=("root_depth",),
            flags=("vegetated",),
            description="Kc, root depth (mm; may be blank where vegetated = 0), vegetated flag 0/1",
            parameters={"kc": "kc", "root_depth": "root_depth", "vegetated": "lulc_veg"},
        ),
    ),
    params=(
        Parameter(
            "seasonality",
            units.DIMENSIONLESS,
            None,
            valid_range=(1e-9, 1e6),
            description="seasonality constant Z (> 0; typically 1–30); where the raster "
            "seasonality_by_basin has a value, that value applies instead",
        ),
    ),
    outputs=(
        RasterOutput("aet_fraction", units.DIMENSIONLESS, "AET/P"),
        RasterOutput("actual_evapotranspiration", units.MM_PER_YR, "AET"),
        RasterOutput("water_yield_depth", units.MM_PER_YR, "water yield (1 − AET/P)·P"),
        RasterOutput("water_yield", units.M3_PER_YR, "water yield volume per pixel"),
    ),
    neighbourhood=0,
    accounted=("water_yield",),
    references=(
        "Fu (1981) Sci. Atmos. Sin. 5:23–31; Zhang et al. (2004) WRR 40:W02502",
        "Sharp et al., InVEST User's Guide: Annual Water Yield (natcap.invest 3.20)",
    ),
)


def compute(inputs: ServiceInputs) -> xr.Dataset:
    """Compute annual water yield per pixel with the Budyko curve (Fu–Zhang form).

    ``PET = Kc·ET0``, ``φ = PET/P``, ``AWC = min(root, soil depth)·PAWC``,
    ``ω = min(Z·AWC/P + 1.25, 5)``; vegetated classes
    ``AET/P = min(φ, 1 + φ − (1 + φ^ω)^(1/ω))``, others ``min(Kc·ET0, P)/P``;
    ``yield = (1 − AET/P)·P`` (see :func:`gep.kernels.water.annual_water_yield`). Z is the
    parameter ``seasonality``, or per pixel the optional raster ``seasonality_by_basin``
    where it has a value (catalog variable ``seasonality``: the per-basin Z that ``gep
    calibrate`` writes, :func:`gep.kernels.water.annual_water_yield_zmap`). As in InVEST
    the root depth of non-vegetated classes is a placeholder of 1 mm (unused). The arithmetic
    runs in the precision of the climate rasters: float32 inputs reproduce InVEST's float32.
    Volumes: 1 mm over 1 m² is 0.001 m³; summing pixel volumes is the accounting form
    (InVEST reports mean × polygon area per watershed instead).

    Parameters
    ----------
    inputs : ServiceInputs
        Climate and soil rasters, ``landcover`` with the ``biophysical`` table, parameter
        ``seasonality`` (Z), optional ``seasonality_by_basin`` (Z per pixel, NaN elsewhere).

    Returns
    -------
    xarray.Dataset
        ``aet_fraction`` (1), ``actual_evapotranspiration`` and ``water_yield_depth``
        (mm yr-1), ``water_yield`` (m3 yr-1 per pixel).
    """
    climate = (
        inputs.precipitation,
        inputs.reference_evapotranspiration,
        inputs.root_restricting_depth,
        inputs.plant_available_water,
    )
    dtype = np.result_type(*(c.dtype for c in climate))
    kc = reclassify(inputs, "landcover", "biophysical", "kc", dtype=dtype)
    vegetated = reclassify(inputs, "landcover", "biophysical", "vegetated", dtype=dtype)
    table = inputs.biophysical
    # InVEST's placeholder: root depth 1 mm where the class is not vegetated (unused there).
    root_by_class = table["root_depth"].where(table["vegetated"] == 1, 1.0)
    root = lookup_classes(inputs.landcover, root_by_class, dtype=dtype, units=units.MM)
    arrays = (
        kc,
        inputs.reference_evapotranspiration,
        inputs.precipitation,
        root,
        inputs.root_restricting_depth,
        inputs.plant_available_water,
        vegetated,
    )
    z_map = inputs.rasters.get("seasonality_by_basin")
    kernel: Any
    extra: tuple[xr.DataArray, ...]
    if z_map is None:
        kernel, extra = water.annual_water_yield, ()
    else:  # the fitted Z where the map has one, the parameter elsewhere (one pass per chunk)
        kernel, extra = water.annual_water_yield_zmap, (z_map,)
    fraction, aet, depth = apply_pixelwise(
        kernel, *arrays, *extra, n_outputs=3, dtype=dtype, seasonality=inputs.seasonality
    )
    # mm · m² · 0.001 m/mm = m³, in the precision of the depths
    volume = depth * (inputs.cell_area_m2() * units.MM_TO_M).astype(depth.dtype)
    return as_output(
        SPEC,
        aet_fraction=fraction,
        actual_evapotranspiration=aet,
        water_yield_depth=depth,
        water_yield=volume,
    )


SERVICE = Service(SPEC, compute)
