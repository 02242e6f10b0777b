"""Carbon sequestration: stock change between land-cover maps, and the NEP method.

The two methods write distinct quantities, so that a run (or a comparison) never mixes them:
``co2_sequestration`` is the NEP method's CO2 (GB/T 46869—2025 A.7; MEE 2020) and
``co2_sequestration_stock_change`` the stock-change method's (InVEST Carbon). Both are
runnable from a run configuration (services ``carbon_nep`` and ``carbon_stock_change``); the
valuation refuses to value both (:data:`gep.valuation.SAME_QUANTITY`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gep import units
from gep.errors import ParameterError
from gep.kernels import carbon
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
)

POOLS = ("c_above", "c_below", "c_soil", "c_dead")

STOCK_CHANGE_SPEC = ServiceSpec(
    name="carbon_stock_change",
    inputs=(
        RasterInput(
            "landcover_base",
            categorical=True,
            description="land cover, first year",
            variable="landcover",
            year="previous",
        ),
        RasterInput(
            "landcover_alt",
            categorical=True,
            description="land cover, second year",
            variable="landcover",
        ),
        TableInput(
            "carbon_pools",
            index=("landcover_base", "landcover_alt"),
            columns={pool: units.T_C_PER_HA for pool in POOLS},
            valid_ranges={pool: (0.0, 10_000.0) for pool in POOLS},
            description="carbon density of the four pools per class (t C ha-1)",
            parameters={pool: pool for pool in POOLS},
        ),
    ),
    params=(
        Parameter("n_years", "yr", None, valid_range=(1e-9, 1e4), description="years between maps"),
    ),
    outputs=(
        RasterOutput("carbon_stock_base", units.T_C, "carbon stock, first year"),
        RasterOutput("carbon_stock_alt", units.T_C, "carbon stock, second year"),
        RasterOutput("carbon_stock_change", units.T_C, "stock change alt − base"),
        RasterOutput(
            "carbon_sequestration_stock_change", units.T_C_PER_YR, "annualised stock change"
        ),
        RasterOutput(
            "co2_sequestration_stock_change",
            units.T_CO2_PER_YR,
            "annualised stock change × 44/12",
        ),
    ),
    neighbourhood=0,
    accounted=("co2_sequestration_stock_change",),
    references=("Sharp et al., InVEST User's Guide: Carbon Storage and Sequestration",),
)


def compute_stock_change(inputs: ServiceInputs) -> xr.Dataset:
    """Compute carbon stocks and their change between two land-cover maps.

    Per class ``density = c_above + c_below + c_soil + c_dead`` (t C ha-1, InVEST Carbon);
    per pixel ``stock = density · A/10 000`` (t C, A in m²); ``change = stock_alt −
    stock_base``; annual sequestration ``change / n_years`` (t C yr-1) and
    ``× 44/12`` (t CO2 yr-1). Negative change is emission and is kept.

    Parameters
    ----------
    inputs : ServiceInputs
        ``landcover_base``, ``landcover_alt``, table ``carbon_pools``, parameter ``n_years``.

    Returns
    -------
    xarray.Dataset
        Stocks and change in t C per pixel; sequestration in t C yr-1 and t CO2 yr-1.
    """
    pools = inputs.carbon_pools
    density = pools[list(POOLS)].sum(axis=1)  # t C ha-1 per class
    base = lookup_classes(inputs.landcover_base, density, units=units.T_C_PER_HA)
    alt = lookup_classes(inputs.landcover_alt, density, units=units.T_C_PER_HA)
    change_density = apply_pixelwise(carbon.stock_change, base, alt)
    area_ha = inputs.cell_area_m2() / units.M2_PER_HA
    change = change_density * area_ha  # t C ha-1 · ha = t C
    annual = carbon.annualise(change, inputs.n_years)
    return as_output(
        STOCK_CHANGE_SPEC,
        carbon_stock_base=base * area_ha,
        carbon_stock_alt=alt * area_ha,
        carbon_stock_change=change,
        carbon_sequestration_stock_change=annual,
        co2_sequestration_stock_change=annual * units.C_TO_CO2,
    )


NEP_SPEC = ServiceSpec(
    name="carbon_nep",
    inputs=(
        RasterInput(
            "npp",
            units=units.T_C_PER_HA_PER_YR,
            valid_range=(-100, 100),
            description="net primary production",
            variable="net_primary_production",
        ),
        RasterInput(
            "heterotrophic_respiration",
            units=units.T_C_PER_HA_PER_YR,
            valid_range=(0, 100),
            optional=True,
            description="soil heterotrophic respiration Rh (NEP = NPP − Rh)",
        ),
    ),
    params=(
        Parameter(
            "nep_npp_ratio",
            units.DIMENSIONLESS,
            None,
            valid_range=(0.0, 1.0),
            optional=True,
            description="α in NEP = α·NPP when Rh is not given",
        ),
    ),
    outputs=(
        RasterOutput("nep", units.T_C_PER_YR, "net ecosystem production per pixel"),
        RasterOutput("co2_sequestration", units.T_CO2_PER_YR, "NEP × 44/12"),
    ),
    neighbourhood=0,
    accounted=("co2_sequestration",),
    references=("GB/T 46869—2025 A.7; MEE (2020) GEP guide: carbon sequestration, NEP method",),
)


def compute_nep(inputs: ServiceInputs) -> xr.Dataset:
    """Compute carbon sequestration from net primary production.

    ``NEP = NPP − Rh`` when a heterotrophic-respiration raster is given, otherwise
    ``NEP = α·NPP`` (GB/T 46869—2025 A.7; MEE 2020). NPP in carbon units: the 72/162
    dry-matter factor of the standards is not applied (see
    :func:`gep.kernels.carbon.nep_from_npp_ratio`). Per pixel ``NEP·A/10 000`` in t C yr-1 and
    ``× 44/12`` in t CO2 yr-1. Negative NEP (a carbon source) is kept.

    Raises
    ------
    ParameterError
        If neither or both of ``heterotrophic_respiration`` and ``nep_npp_ratio`` are given.
    """
    nep = nep_per_pixel(inputs)
    return as_output(NEP_SPEC, nep=nep, co2_sequestration=nep * units.C_TO_CO2)


def nep_per_pixel(inputs: ServiceInputs) -> xr.DataArray:
    """NEP per pixel, t C yr-1: ``(NPP − Rh)·A/10 000`` or ``α·NPP·A/10 000``.

    Shared by the carbon and oxygen services (same inputs and parameters, :data:`NEP_SPEC`).

    Raises
    ------
    ParameterError
        If neither or both of ``heterotrophic_respiration`` and ``nep_npp_ratio`` are given.
    """
    rh = inputs.rasters.get("heterotrophic_respiration")
    ratio = inputs.nep_npp_ratio
    if (rh is None) == (ratio is None):
        raise ParameterError(
            f"{inputs.spec.name} needs exactly one of the raster 'heterotrophic_respiration' "
            "(NEP = NPP − Rh) or the parameter 'nep_npp_ratio' (NEP = α·NPP); "
            f"got {'both' if rh is not None else 'neither'}"
        )
    if rh is not None:
        nep_density = apply_pixelwise(_nep_respiration, inputs.npp, rh)
    else:
        nep_density = apply_pixelwise(_nep_ratio, inputs.npp, ratio=float(ratio))
    return nep_density * (inputs.cell_area_m2() / units.M2_PER_HA)  # t C ha-1 yr-1 · ha


def _nep_respiration(npp: np.ndarray, rh: np.ndarray, *, parallel: bool = True) -> np.ndarray:
    return carbon.nep_from_respiration(npp, rh)


def _nep_ratio(npp: np.ndarray, *, ratio: float, parallel: bool = True) -> np.ndarray:
    return carbon.nep_from_npp_ratio(npp, ratio)


STOCK_CHANGE = Service(STOCK_CHANGE_SPEC, compute_stock_change)
NEP = Service(NEP_SPEC, compute_nep)

#: the services of this module, registered by :mod:`gep.services`
SERVICES = (STOCK_CHANGE, NEP)
