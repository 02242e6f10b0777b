"""Climate regulation (气候调节): cooling by plant transpiration and water-surface evaporation.

The standards value the heat that vegetation and water surfaces absorb on hot days as the
electricity an air conditioner would use to remove it (MEE 2020 GEP guide; GB/T 46869—2025
A.11; 发改基础〔2022〕481号; DB11/T 2059—2022)::

    E_pt = Σ_i EPP_i·S_i·D·10⁶ / (3600·r)          plant transpiration, kWh
    E_we = E_w·q·ρ / (3600·r) + y·E_w              water evaporation (+ humidification)

with ``EPP·D`` the latent heat of the water transpired on the ``D`` days whose maximum
temperature exceeds 26 °C, ``r`` the air conditioner's energy efficiency ratio, ``q`` the latent
heat of vaporisation, ``E_w`` the water evaporated on those days and ``y`` the electricity a
humidifier uses per m³; humidification is counted only where the relative humidity is below
45 %. gep takes the latent heat from the evapotranspiration of the hot days directly (a raster
``evapotranspiration_hot_days``, mm summed over the days above 26 °C, e.g. from daily PML-V2 or
MOD16 ET and CMA station temperatures) instead of a per-type EPP constant: per pixel::

    heat (kJ) = ET_hot (mm) · 10⁻³ (m mm⁻¹) · A (m²) · 1000 (kg m⁻³) · q (kJ kg⁻¹)
    energy (kWh) = heat / 3600 / r

on classes flagged ``transpiring`` (forest, shrub, grassland; only the transpired share
``T/ET`` of their ET, parameter ``transpiration_share``, as the standards count transpiration)
and ``evaporating`` (water, wetland: all of it) in the class table; other classes (cropland,
built-up, bare) are outside the method and count 0.
"""

from __future__ import annotations

import xarray as xr

from gep import units
from gep.services.spec import (
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

KWH_PER_YR = "kWh yr-1"
#: kJ per kWh
KJ_PER_KWH = 3600.0
#: density of water, kg m-3
WATER_KG_PER_M3 = 1000.0

SPEC = ServiceSpec(
    name="climate_regulation",
    inputs=(
        RasterInput(
            "evapotranspiration_hot_days",
            units=units.MM_PER_YR,
            valid_range=(0, 3000),
            description="evapotranspiration summed over the days with maximum above 26 °C",
            variable="evapotranspiration_hot_days",
        ),
        RasterInput("landcover", categorical=True, variable="landcover"),
        TableInput(
            "climate_surfaces",
            index=("landcover",),
            columns={"transpiring": units.DIMENSIONLESS, "evaporating": units.DIMENSIONLESS},
            flags=("transpiring", "evaporating"),
            description="1 where the class cools by transpiration (vegetation) or by "
            "evaporation (water surface); 0 outside the method",
            parameters={"transpiring": "climate_transpiring", "evaporating": "climate_evaporating"},
        ),
    ),
    params=(
        Parameter(
            "transpiration_share",
            units.DIMENSIONLESS,
            0.61,
            valid_range=(0.0, 1.0),
            description="share of vegetation ET that is transpiration, T/ET (0.61 ± 0.15: "
            "Schlesinger & Jasechko 2014, Agric. For. Meteorol. 189–190:115); 1 if the "
            "raster is already transpiration",
        ),
        Parameter(
            "energy_efficiency_ratio",
            units.DIMENSIONLESS,
            3.0,
            valid_range=(0.5, 10.0),
            description="air-conditioner EER r (3: Bo W.J. et al. 2017, 生态学报 37(12):4182)",
        ),
        Parameter(
            "latent_heat_kj_per_kg",
            "kJ kg-1",
            2450.0,
            valid_range=(2200.0, 2600.0),
            description="latent heat of vaporisation q (2450 kJ kg-1 at about 20 °C)",
        ),
        Parameter(
            "humidifier_kwh_per_m3",
            "kWh m-3",
            120.0,
            valid_range=(0.0, 1000.0),
            description="electricity a humidifier uses per m³ evaporated y (120: Youyang "
            "GEP platform default, PARAMETERS.md §5c)",
        ),
        Parameter(
            "relative_humidity_percent",
            "%",
            None,
            valid_range=(0.0, 100.0),
            optional=True,
            description="mean relative humidity of the hot days; humidification is counted "
            "only when it is below the threshold (unset: not counted)",
        ),
        Parameter(
            "humidification_threshold_percent",
            "%",
            45.0,
            valid_range=(0.0, 100.0),
            description="humidification counts below this relative humidity (MEE 2020 pattern)",
        ),
    ),
    outputs=(
        RasterOutput(
            "transpiration_cooling_energy", KWH_PER_YR, "cooling by plant transpiration, kWh"
        ),
        RasterOutput(
            "water_evaporation_energy",
            KWH_PER_YR,
            "cooling (and humidification) by water-surface evaporation, kWh",
        ),
    ),
    neighbourhood=0,
    accounted=("transpiration_cooling_energy", "water_evaporation_energy"),
    references=(
        "MEE (2020) 陆地生态系统生产总值（GEP）核算技术指南: climate regulation",
        "GB/T 46869—2025 A.11; NDRC & NBS 发改基础〔2022〕481号; DB11/T 2059—2022",
        "Bo W.J. et al. (2017) 生态学报 37(12):4182 (EER = 3)",
    ),
)


def compute(inputs: ServiceInputs) -> xr.Dataset:
    """Electricity equivalent of the cooling by transpiration and evaporation, kWh yr-1.

    Per pixel ``heat = ET_hot·10⁻³·A·1000·q`` (kJ), ``energy = (T/ET)·heat/3600/r`` (kWh) on
    transpiring classes, and the same plus ``y·ET_hot·10⁻³·A`` (humidification, only when
    ``relative_humidity_percent`` is below the threshold) on evaporating classes; 0 on other
    classes, NaN where an input is nodata.

    Examples
    --------
    A 1-ha forest pixel whose ET on the hot days was 100 mm, of which T/ET = 0.61 transpired:
    61 mm = 610 m³ = 6.1·10⁵ kg of water, × 2450 kJ kg⁻¹ = 1.4945·10⁹ kJ = 415 139 kWh of heat,
    / r = 3 → 138 380 kWh yr-1 (tests/services/test_climate_oxygen.py reproduces it by hand).
    """
    transpiring = reclassify(inputs, "landcover", "climate_surfaces", "transpiring")
    evaporating = reclassify(inputs, "landcover", "climate_surfaces", "evaporating")
    volume_m3 = inputs.evapotranspiration_hot_days * units.MM_TO_M * inputs.cell_area_m2()
    heat_kj = volume_m3 * WATER_KG_PER_M3 * float(inputs.latent_heat_kj_per_kg)
    cooling_kwh = heat_kj / KJ_PER_KWH / float(inputs.energy_efficiency_ratio)
    rh = inputs.relative_humidity_percent
    humidify = rh is not None and float(rh) < float(inputs.humidification_threshold_percent)
    humidification_kwh = volume_m3 * float(inputs.humidifier_kwh_per_m3) if humidify else 0.0
    return as_output(
        SPEC,
        transpiration_cooling_energy=cooling_kwh * float(inputs.transpiration_share) * transpiring,
        water_evaporation_energy=(cooling_kwh + humidification_kwh) * evaporating,
    )


SERVICE = Service(SPEC, compute)
