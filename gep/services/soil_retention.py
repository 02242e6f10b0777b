"""Soil retention: RUSLE erosion, sediment delivery ratio and avoided export (InVEST SDR).

Two quantities are kept apart on purpose:

* the **accounting** soil retention of the Chinese GEP standards (MEE 2020 guide; 发改基础〔2022〕
  481号; DB11/T 2059—2022; GB/T 46869—2025): RUSLE potential minus actual erosion,
  ``R·K·LS − R·K·LS·C·P``, on every valid pixel of the classes the method applies to, with LS
  from the DEM (Desmet & Govers 1996 with the upslope area, slope length capped) and **no
  stream mask**, so it depends neither on the SDR stream threshold nor much on the resolution;
  built-up land and water (``rusle_applies = 0``) are outside the method and count 0, not
  their whole potential erosion;
* InVEST SDR's sediment export, avoided export and deposition (and its stream-masked
  ``avoided_erosion`` as ``soil_retention_sdr``), kept for parity with InVEST and for the
  sediment delivered to streams.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import xarray as xr

from gep import units
from gep.kernels.rusle import ls_factor_area, rusle
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
            columns={
                "usle_c": units.DIMENSIONLESS,
                "usle_p": units.DIMENSIONLESS,
                "rusle_applies": units.DIMENSIONLESS,
            },
            valid_ranges={"usle_c": (0.0, 1.0), "usle_p": (0.0, 1.0)},
            flags=("rusle_applies",),
            description="RUSLE C and P per class; rusle_applies = 0 for classes outside the "
            "soil-retention method (built-up land, water)",
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
            "max_slope_length_m",
            units.METRE,
            305.0,
            valid_range=(1.0, 1e5),
            description="longest slope length λ_max of the accounting LS (RUSLE: about 1,000 "
            "ft; Renard et al. 1997)",
        ),
        Parameter(
            "downslope_distance",
            "",
            "pixels",
            choices=("pixels", "metres"),
            description="D_dn in pixel steps (InVEST 3.20) or metres (Borselli et al.)",
        ),
    ),
    outputs=(
        RasterOutput("soil_loss_potential", units.T_PER_YR, "R·K·LS per pixel, no stream mask"),
        RasterOutput("soil_loss", units.T_PER_YR, "R·K·LS·C·P per pixel, no stream mask"),
        RasterOutput(
            "soil_retention",
            units.T_PER_YR,
            "accounting retention R·K·LS·(1 − C·P); 0 on classes outside the method",
        ),
        RasterOutput(
            "soil_retention_sdr", units.T_PER_YR, "InVEST avoided erosion (NaN on streams)"
        ),
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
    "avoided_erosion": ("soil_retention_sdr", True),
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

    Accounting quantities (MEE 2020; 481; DB11/T 2059—2022): potential erosion ``R·K·LS``,
    actual ``R·K·LS·C·P`` and retention ``R·K·LS − R·K·LS·C·P`` (Renard et al. 1997) on every
    valid pixel, LS from the pit-filled DEM by Desmet & Govers (1996) with the upslope area and
    the slope length capped at ``max_slope_length_m``
    (:func:`gep.kernels.rusle.ls_factor_area`, nearly independent of the pixel size), without
    InVEST's stream mask; retention is 0 where ``rusle_applies`` is 0. InVEST's quantities
    (LS as InVEST ≥ 3.14 codes it, RKLS masked on streams): SDR, export, avoided export and deposition with InVEST 3.20's
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

    Examples
    --------
    One pixel with R = 2000, K = 0.02, LS = 1.5, C = 0.1, P = 0.5 retains
    60 − 3 = 57 t ha-1 yr-1 (:func:`gep.kernels.rusle.rusle`); the same pixel of built-up land
    (``rusle_applies = 0``) retains 0.
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
    applies = reclassify(inputs, "landcover", "usle_factors", "rusle_applies", dtype=dtype)
    ls = ls_factor_area(
        result["slope_percent"],
        np.where(result["valid"], result["flow_accumulation"], np.nan),
        float(min(cell_x, cell_y)),
        max_slope_length_m=inputs.max_slope_length_m,
    )
    accounting = accounting_retention(
        arrays[1], arrays[2], ls, arrays[3], arrays[4], np.asarray(applies.values), valid
    )
    names = ("soil_loss_potential", "soil_loss", "soil_retention")
    for name, values in zip(names, accounting, strict=True):
        outputs[name] = template.copy(data=values * area_ha)
    return as_output(SPEC, **outputs)


def accounting_retention(
    erosivity: np.ndarray,
    erodibility: np.ndarray,
    ls: np.ndarray,
    usle_c: np.ndarray,
    usle_p: np.ndarray,
    applies: np.ndarray,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RUSLE potential, actual and retained erosion of the accounts, t ha-1 yr-1.

    ``potential = R·K·LS``, ``actual = R·K·LS·C·P``, ``retained = potential − actual``
    (Renard et al. 1997; MEE 2020 GEP guide, soil retention) on every ``valid`` pixel, streams
    included; ``retained = 0`` where ``applies`` is 0 (classes outside the method: built-up
    land and water are not perfect soil retainers). NaN outside ``valid``.

    Examples
    --------
    >>> one = lambda v: np.array([v])
    >>> accounting_retention(one(2000.0), one(0.02), one(1.5), one(0.1), one(0.5),
    ...                      np.array([1.0, 0.0]), np.array([True, True]))[2]
    array([57.,  0.])
    """
    potential, actual, retained = rusle(erosivity, erodibility, ls, usle_c, usle_p)
    ok = np.asarray(valid, dtype=bool) & np.isfinite(ls)
    retained = np.where(np.asarray(applies) == 1, retained, 0.0)
    return tuple(np.where(ok, a, np.nan) for a in (potential, actual, retained))  # type: ignore[return-value]


SERVICE = Service(SPEC, compute)
