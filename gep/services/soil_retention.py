"""Soil retention: RUSLE erosion, sediment delivery ratio and avoided export (InVEST SDR)."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import xarray as xr

from gep import units
from gep.services.spec import (
    GLOBAL,
    Parameter,
    RasterInput,
    RasterOutput,
    Service,
    ServiceInputs,
    ServiceSpec,
    TableInput,
    as_output,
    reclassify,
)

SPEC = ServiceSpec(
    name="soil_retention",
    inputs=(
        RasterInput("elevation", units=units.METRE, valid_range=(-500, 9_000)),
        RasterInput("erosivity", units=units.EROSIVITY, valid_range=(0, 100_000)),
        RasterInput("erodibility", units=units.ERODIBILITY, valid_range=(0, 2)),
        RasterInput("landcover", categorical=True),
        RasterInput(
            "drainage", categorical=True, optional=True, description="1 = drains to stream"
        ),
        TableInput(
            "usle_factors",
            index=("landcover",),
            columns={"usle_c": units.DIMENSIONLESS, "usle_p": units.DIMENSIONLESS},
            valid_ranges={"usle_c": (0.0, 1.0), "usle_p": (0.0, 1.0)},
            description="RUSLE cover-management C and support-practice P per class",
        ),
    ),
    params=(
        Parameter("flow_dir_algorithm", "", "mfd", choices=("mfd", "d8")),
        Parameter("threshold_flow_accumulation", "pixel", 1000.0, valid_range=(0, 1e12)),
        Parameter("k", units.DIMENSIONLESS, 2.0, valid_range=(1e-9, 1e3), description="Borselli k"),
        Parameter("ic0", units.DIMENSIONLESS, 0.5, valid_range=(-1e3, 1e3), description="IC0"),
        Parameter("sdr_max", units.DIMENSIONLESS, 0.8, valid_range=(0.0, 1.0)),
        Parameter("l_max", units.DIMENSIONLESS, 122.0, valid_range=(1e-9, 1e4)),
        Parameter(
            "downslope_distance",
            "",
            "pixels",
            choices=("pixels", "metres"),
            description="D_dn in pixel steps (InVEST 3.20) or metres (Borselli et al.)",
        ),
    ),
    outputs=(
        RasterOutput("soil_loss_potential", units.T_PER_YR, "R·K·LS per pixel"),
        RasterOutput("soil_loss", units.T_PER_YR, "R·K·LS·C·P per pixel"),
        RasterOutput("soil_retention", units.T_PER_YR, "avoided erosion R·K·LS·(1 − C·P)"),
        RasterOutput("sediment_export", units.T_PER_YR, "USLE · SDR"),
        RasterOutput("avoided_export", units.T_PER_YR, "(RKLS − USLE)·SDR + trapped upslope"),
        RasterOutput("sediment_deposition", units.T_PER_YR, "sediment trapped on the pixel"),
        RasterOutput("sdr", units.DIMENSIONLESS, "sediment delivery ratio"),
    ),
    neighbourhood=GLOBAL,
    references=(
        "Renard et al. (1997) USDA Agric. Handb. 703 (RUSLE)",
        "Desmet & Govers (1996) J. Soil Water Conserv. 51(5):427–433 (LS)",
        "Borselli et al. (2008) Catena 75:268–277; Vigiak et al. (2012) Geomorphology 138:74–88",
        "Sharp et al., InVEST User's Guide: SDR (natcap.invest 3.20)",
    ),
)

#: sdr_model result key → (output name, is a t ha-1 yr-1 density to convert to t yr-1).
_RESULT_KEYS: dict[str, tuple[str, bool]] = {
    "rkls": ("soil_loss_potential", True),
    "usle": ("soil_loss", True),
    "avoided_erosion": ("soil_retention", True),
    "sed_export": ("sediment_export", True),
    "avoided_export": ("avoided_export", True),
    "sed_deposition": ("sediment_deposition", True),
    "sdr": ("sdr", False),
}


def sdr_kernel() -> Any:
    """The SDR model kernel, :func:`gep.kernels.sdr.sdr_model` (imported on first use)."""
    return importlib.import_module("gep.kernels.sdr").sdr_model


def compute(inputs: ServiceInputs) -> xr.Dataset:
    """Compute RUSLE soil loss, soil retention and sediment delivery per pixel.

    Potential erosion ``R·K·LS``, actual ``R·K·LS·C·P`` and retention (avoided erosion)
    ``R·K·LS − R·K·LS·C·P`` (Renard et al. 1997), LS from the pit-filled DEM as InVEST ≥ 3.14
    (Desmet & Govers 1996); SDR, export, avoided export and deposition with InVEST 3.20's
    conventions (Borselli et al. 2008; Vigiak et al. 2012), computed by
    :func:`gep.kernels.sdr.sdr_model`. Flow routing is global over the basin: dask inputs are
    computed into memory on purpose. Densities (t ha-1 yr-1) become t yr-1 per pixel with the
    cell area (``× A/10 000``, A in m²).

    Parameters
    ----------
    inputs : ServiceInputs
        ``elevation`` (m), ``erosivity``, ``erodibility``, ``landcover`` with the
        ``usle_factors`` table, optional ``drainage``; routing and SDR parameters.

    Returns
    -------
    xarray.Dataset
        Soil loss, retention, export, avoided export and deposition in t yr-1 per pixel;
        ``sdr`` (1).
    """
    dem = inputs.elevation
    dtype = np.float64
    c = reclassify(inputs, "landcover", "usle_factors", "usle_c", dtype=dtype)
    p = reclassify(inputs, "landcover", "usle_factors", "usle_p", dtype=dtype)
    arrays = [
        np.asarray(a.values, dtype=dtype) for a in (dem, inputs.erosivity, inputs.erodibility, c, p)
    ]
    valid = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    drainage = inputs.rasters.get("drainage")
    drainage_mask = None if drainage is None else np.asarray(drainage.values) == 1
    cell_x, cell_y = inputs.grid.pixel_size_m()
    result = sdr_kernel()(
        *arrays,
        valid,
        float(min(cell_x, cell_y)),
        flow_dir_algorithm=inputs.flow_dir_algorithm,
        threshold_flow_accumulation=inputs.threshold_flow_accumulation,
        k=inputs.k,
        ic0=inputs.ic0,
        sdr_max=inputs.sdr_max,
        l_max=inputs.l_max,
        downslope_distance=inputs.downslope_distance,
        drainage=drainage_mask,
    )
    area_ha = inputs.grid.cell_area_m2() / units.M2_PER_HA  # (rows, 1)
    template = dem.copy(data=np.empty(dem.shape, dtype=dtype))
    outputs: dict[str, xr.DataArray] = {}
    for key, (name, per_ha) in _RESULT_KEYS.items():
        values = np.asarray(result[key], dtype=dtype)
        outputs[name] = template.copy(data=values * area_ha if per_ha else values)
    return as_output(SPEC, **outputs)


SERVICE = Service(SPEC, compute)
