"""The pipeline: catalog → services → accounts (zonal sums) → valuation → account tables.

Each stage is a small function so that the command line can show progress per stage, and so
that tests can run a stage alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from data_catalog.catalog import Catalog, load_catalog
from data_catalog.errors import InputError
from data_catalog.tables import (
    load_carbon_market_prices,
    load_price_indices,
    load_scheme,
    load_unit_prices,
    read_table,
)
from gep.accounts import UnitLevel, accounts_table, check_hierarchy, quantity_table, unit_level
from gep.config import RunConfig
from gep.decomposition import decompose
from gep.prices import carbon_market_series
from gep.services import SERVICES
from gep.services.purification import AIR_POLLUTANTS, CAPPED, WATER_POLLUTANTS, capped_quantities
from gep.services.spec import ServiceInputs
from gep.services.statistics import unit_quantities
from gep.valuation import value_quantities

#: quantity (service output) accounted for each pipeline service, per pixel. Each quantity
#: name belongs to one method: the NEP method's CO2 is ``co2_sequestration`` and the stock-change
#: method's is ``co2_sequestration_stock_change``.
ACCOUNTED = {
    "water_conservation": ("water_conserved",),
    "water_yield": ("water_yield",),
    "carbon_nep": ("co2_sequestration",),
    "carbon_stock_change": ("co2_sequestration_stock_change",),
    "soil_retention": ("soil_retention", "avoided_export", "sediment_export"),
    "oxygen_release": ("oxygen_release",),
    "climate_regulation": ("transpiration_cooling_energy", "water_evaporation_energy"),
    "flood_regulation": ("vegetation_flood_storage",),
    "air_purification": tuple(f"{p}_purification_capacity" for p in AIR_POLLUTANTS),
    "water_purification": tuple(f"{p}_purification_capacity" for p in WATER_POLLUTANTS),
}

Progress = Callable[[str], None]

#: Grids with more pixels than this are summed per unit block by block (exact, memory bounded
#: by the block) instead of through a whole-grid coverage matrix (≈ 12 bytes per covered
#: pixel and level, more while it is built): see :func:`gep.accounts.zonal_sum_chunked`.
BLOCKWISE_ZONAL_PIXELS = 100_000_000

#: Block side (pixels) of those blockwise sums.
ZONAL_BLOCK = 2048


@dataclass
class Accounts:
    """What the accounting stages produce."""

    quantities: pd.DataFrame
    accounts: pd.DataFrame
    decomposition: pd.DataFrame
    hierarchy: pd.DataFrame
    rasters: dict[tuple[str, int], xr.DataArray]
    levels: list[UnitLevel]
    warnings: list[str] = field(default_factory=list)
    #: accounts of each later year under the previous year's weather (``weather_year``)
    weather_neutral: pd.DataFrame = field(default_factory=pd.DataFrame)


def class_table(
    cat: Catalog, landcover_id: str, params: pd.DataFrame, columns: dict[str, str]
) -> pd.DataFrame:
    """Per-class table (index = land-cover code) from ecosystem-type parameters.

    Parameters
    ----------
    cat : Catalog
        The catalog (for the land cover's class scheme).
    landcover_id : str
        Land-cover entry whose class codes index the table.
    params : DataFrame
        Long table ``ecosystem_type, parameter, value``.
    columns : dict
        Output column → parameter name.
    """
    scheme = load_scheme(cat.entry(landcover_id).class_scheme or "clcd")
    wide = params.pivot_table(
        index="ecosystem_type", columns="parameter", values="value", aggfunc="first", dropna=False
    )
    missing = [p for p in columns.values() if p not in wide.columns]
    if missing:
        raise InputError(f"parameter table: no parameter {missing}; add rows for them")
    table = pd.DataFrame(index=pd.Index(scheme["code"].astype(int), name="code"))
    types = scheme.set_index(scheme["code"].astype(int))["ecosystem_type"]
    for column, parameter in columns.items():
        table[column] = types.map(wide[parameter]).astype(float).to_numpy()
    return table


#: service → raster input → (catalog variable, read per accounting year)
_RASTERS: dict[str, dict[str, tuple[str, bool]]] = {
    "water_conservation": {
        "precipitation": ("precipitation", True),
        "evapotranspiration": ("evapotranspiration", True),
        "landcover": ("landcover", True),
    },
    "water_yield": {
        "precipitation": ("precipitation", True),
        "reference_evapotranspiration": ("reference_evapotranspiration", True),
        "root_restricting_depth": ("root_restricting_depth", False),
        "plant_available_water": ("plant_available_water", False),
        "landcover": ("landcover", True),
    },
    "carbon_nep": {"npp": ("net_primary_production", True)},
    "oxygen_release": {"npp": ("net_primary_production", True)},
    "carbon_stock_change": {"landcover_alt": ("landcover", True)},
    "soil_retention": {
        "elevation": ("elevation", False),
        "erosivity": ("erosivity", True),
        "erodibility": ("erodibility", False),
        "landcover": ("landcover", True),
    },
    "climate_regulation": {
        "evapotranspiration_hot_days": ("evapotranspiration_hot_days", True),
        "landcover": ("landcover", True),
    },
    "flood_regulation": {
        "storm_precipitation": ("storm_precipitation", True),
        "landcover": ("landcover", True),
    },
    "air_purification": {"landcover": ("landcover", True)},
    "water_purification": {"landcover": ("landcover", True)},
}


#: Catalog variables the year's weather drives. A weather-neutral run of a year reads these
#: from another year and everything else (land cover, NPP, soils, terrain) from its own.
WEATHER_VARIABLES = frozenset(
    {
        "precipitation",
        "evapotranspiration",
        "reference_evapotranspiration",
        "erosivity",
        "evapotranspiration_hot_days",
        "storm_precipitation",
    }
)


def weather_driven(service: str) -> bool:
    """Whether a service reads any weather variable (:data:`WEATHER_VARIABLES`)."""
    return any(v in WEATHER_VARIABLES for v, _ in _RASTERS.get(service, {}).values())


def _rasters_for(
    cat: Catalog, service: str, year: int, weather_year: int | None = None
) -> dict[str, xr.DataArray]:
    def year_of(variable: str, yearly: bool) -> int | None:
        if not yearly:
            return None
        return weather_year if weather_year is not None and variable in WEATHER_VARIABLES else year

    out = {
        name: cat.raster(cat.find(variable=variable, year=year_of(variable, yearly)))
        for name, (variable, yearly) in _RASTERS[service].items()
    }
    if service == "carbon_stock_change":
        base_year = stock_change_base_year(cat, year)
        out["landcover_base"] = cat.raster(cat.find(variable="landcover", year=base_year))
    return out


def stock_change_base_year(cat: Catalog, year: int) -> int:
    """Year of the land-cover map the stock change of ``year`` starts from: the latest earlier.

    Raises
    ------
    InputError
        If the catalog has no land cover before ``year``.
    """
    earlier = [y for y in cat.years("landcover") if y < year]
    if not earlier:
        raise InputError(
            f"carbon_stock_change {year}: the catalog has no land cover before {year} "
            f"(land-cover years: {cat.years('landcover')}); the stock-change method needs two "
            "maps. Add an earlier land cover to the catalog, drop the year from `years`, or use "
            "carbon_nep"
        )
    return max(earlier)


#: service → (table name, {column: parameter}, categorical rasters whose classes it covers)
_TABLES: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "water_conservation": ("runoff_coefficients", {"coef": "runoff_coefficient"}, ("landcover",)),
    "water_yield": (
        "biophysical",
        {"kc": "kc", "root_depth": "root_depth", "vegetated": "lulc_veg"},
        ("landcover",),
    ),
    "soil_retention": (
        "usle_factors",
        {"usle_c": "usle_c", "usle_p": "usle_p", "rusle_applies": "rusle_applies"},
        ("landcover",),
    ),
    "carbon_stock_change": (
        "carbon_pools",
        {pool: pool for pool in ("c_above", "c_below", "c_soil", "c_dead")},
        ("landcover_base", "landcover_alt"),
    ),
    "climate_regulation": (
        "climate_surfaces",
        {"transpiring": "climate_transpiring", "evaporating": "climate_evaporating"},
        ("landcover",),
    ),
    "flood_regulation": (
        "storm_runoff",
        {"coef": "storm_runoff_coefficient"},
        ("landcover",),
    ),
    "air_purification": (
        "air_purification_capacity",
        {p: f"air_capacity_{p}" for p in AIR_POLLUTANTS},
        ("landcover",),
    ),
    "water_purification": (
        "water_purification_capacity",
        {p: f"water_capacity_{p}" for p in WATER_POLLUTANTS},
        ("landcover",),
    ),
}


def run_service(
    cat: Catalog,
    config: RunConfig,
    params: pd.DataFrame,
    service: str,
    year: int,
    *,
    weather_year: int | None = None,
) -> xr.Dataset:
    """Run one service for one year on the catalog's reference grid.

    ``weather_year`` reads the weather variables (:data:`WEATHER_VARIABLES`) of that year
    instead of ``year``'s: the service under ``year``'s ecosystem condition and another year's
    weather.
    """
    registered = SERVICES[service]
    rasters = _rasters_for(cat, service, year, weather_year)
    tables = {}
    if service in _TABLES:
        name, columns, keys = _TABLES[service]
        lc = cat.find(variable="landcover", year=year)
        table = class_table(cat, lc, params, columns)
        tables[name] = _used_classes(table, [rasters[k] for k in keys])
    service_params = dict(config.services[service])
    if service == "carbon_stock_change":
        service_params["n_years"] = float(year - stock_change_base_year(cat, year))
    inputs = ServiceInputs.build(
        registered.spec,
        cat.reference_grid(),
        rasters=rasters,
        tables=tables,
        params=service_params,
    )
    return registered.compute(inputs)


def _used_classes(table: pd.DataFrame, landcovers: list[xr.DataArray]) -> pd.DataFrame:
    """Keep the rows of classes present in the rasters (others may lack parameters)."""
    codes = np.unique(
        np.concatenate([np.unique(lc.values[lc.coords["valid"].values]) for lc in landcovers])
    )
    return table.loc[table.index.intersection(pd.Index(codes.astype(int)))]


def compute_quantities(
    cat: Catalog, config: RunConfig, params: pd.DataFrame, progress: Progress | None = None
) -> dict[tuple[str, int], xr.DataArray]:
    """Per-pixel quantities ``(name, year) → DataArray`` for every service and year."""
    out: dict[tuple[str, int], xr.DataArray] = {}
    for service in config.services:
        for year in config.years:
            if progress:
                progress(f"{service} {year}")
            result = run_service(cat, config, params, service, year)
            for name in ACCOUNTED[service]:
                da = result[name].compute()
                da.attrs["service"] = service
                out[(name, year)] = da
    return out


def weather_neutral_quantities(
    cat: Catalog,
    config: RunConfig,
    params: pd.DataFrame,
    levels: list[UnitLevel],
    quantities: pd.DataFrame,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Quantities of each later year under the previous accounted year's weather.

    For every pair of consecutive accounted years ``(y0, y1)``, the services that read weather
    variables are run again for ``y1`` with the weather of ``y0`` (land cover, vegetation,
    soils and terrain of ``y1``) and summed per unit; quantities that do not depend on the
    weather (statistics, NPP-based carbon, purification capacities) are those of ``y1``. The
    result has the columns of ``quantities`` plus ``weather_year`` (``y0``): the
    ecosystem-condition state that splits ΔGEP's volume effect into a condition effect and a
    weather effect (:func:`gep.decomposition.decompose`).

    Parameters
    ----------
    cat, config, params, levels
        As for :func:`compute_quantities` and :func:`build_accounts`.
    quantities : pandas.DataFrame
        The actual quantities (:func:`gep.accounts.quantity_table`, statistics included).
    progress : callable, optional
        Called with a short message per service and year.
    """
    years = sorted(config.years)
    frames = []
    for y0, y1 in zip(years[:-1], years[1:], strict=True):
        same = quantities[quantities["year"] == y1]
        for service in config.services:
            if not weather_driven(service):
                continue
            if progress:
                progress(f"{service} {y1} under the weather of {y0}")
            result = run_service(cat, config, params, service, y1, weather_year=y0)
            rasters = {}  # summed per unit at once: one service's rasters in memory at a time
            for name in ACCOUNTED[service]:
                da = result[name].compute()
                da.attrs["service"] = service
                rasters[(name, y1)] = da
            redone = quantity_table(levels, rasters)
            del rasters, result
            same = pd.concat(
                [same[~same["quantity_name"].isin(redone["quantity_name"])], redone],
                ignore_index=True,
            )
        frames.append(same.assign(weather_year=y0))
    if not frames:
        return quantities.iloc[0:0].assign(weather_year=pd.Series(dtype=int))
    return pd.concat(frames, ignore_index=True)


def unit_levels(cat: Catalog, config: RunConfig) -> list[UnitLevel]:
    """Intersect each level's polygons with the grid once.

    On grids of more than :data:`BLOCKWISE_ZONAL_PIXELS` pixels the levels are blockwise: the
    accounts sum every quantity block by block (:data:`ZONAL_BLOCK` pixels a side), with the
    same results as the whole-grid coverage matrix.
    """
    grid = cat.reference_grid()
    blockwise = grid.shape[0] * grid.shape[1] > BLOCKWISE_ZONAL_PIXELS
    levels = []
    for level_cfg in config.units:
        entry = cat.entry(level_cfg.entry)
        if entry.id_field is None:
            raise InputError(f"{level_cfg.entry}: units need `id_field:` in the catalog")
        level = unit_level(
            cat.vector(level_cfg.entry),
            grid,
            level=level_cfg.level,
            id_field=entry.id_field,
            name_field=entry.name_field,
            parent_field=entry.parent_field,
            blockwise=blockwise,
            block=ZONAL_BLOCK,
        )
        if level_cfg.parent_id is not None:
            level.units["parent_id"] = level_cfg.parent_id
        levels.append(level)
    return levels


def load_prices(config: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unit prices and price indices (built-in or the config's CSVs).

    The annual-mean carbon market prices (items ``carbon_price_national_ets`` and
    ``carbon_price_beijing_pilot``, :func:`gep.prices.carbon_market_series`) are added unless
    the unit-price table already has those items, and so are the rows of the catalog tables
    named in ``prices.extra_unit_prices``.
    """
    prices_path = config.price_file("unit_prices")
    indices_path = config.price_file("price_indices")
    prices = (
        load_unit_prices() if prices_path is None else read_table(prices_path, name="unit prices")
    )
    market = carbon_market_series(load_carbon_market_prices())
    prices = pd.concat([prices, market[~market["item"].isin(prices["item"])]], ignore_index=True)
    if config.prices.extra_unit_prices:
        cat = load_catalog(config.catalog_file())
        extra = [cat.table(name) for name in config.prices.extra_unit_prices]
        prices = pd.concat([prices, *extra], ignore_index=True)
    indices = (
        load_price_indices()
        if indices_path is None
        else read_table(indices_path, name="price indices")
    )
    return prices, indices


def build_accounts(
    cat: Catalog,
    config: RunConfig,
    rasters: dict[tuple[str, int], xr.DataArray],
    levels: list[UnitLevel],
    *,
    params: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> Accounts:
    """Zonal sums, valuation, the tidy accounts, the hierarchy check and ΔGEP decomposition.

    Blockwise ``levels`` (large grids, :func:`unit_levels`) sum all ``rasters`` in one pass
    over the grid per level. With the parameter table ``params`` and more than one year, the
    weather-neutral accounts (:func:`weather_neutral_quantities`) are built too and ΔGEP's
    volume effect is split into condition and weather effects.
    """
    prices, indices = load_prices(config)
    quantities = quantity_table(levels, rasters)
    if config.statistics is not None:
        stats = unit_quantities(
            cat.table(config.statistics),
            [level.units for level in levels],
            name=config.statistics,
            years=list(config.years),
        )
        quantities = pd.concat([quantities, stats[quantities.columns]], ignore_index=True)
    if config.pollutant_loads is not None and quantities["quantity_name"].isin(CAPPED).any():
        capped = capped_quantities(
            quantities,
            cat.table(config.pollutant_loads),
            [level.units for level in levels],
            name=config.pollutant_loads,
        )
        quantities = pd.concat([quantities, capped[quantities.columns]], ignore_index=True)
    have = set(quantities["quantity_name"])
    lacking = [c.quantity for c in config.valuation.enabled() if c.quantity not in have]
    if lacking:
        raise InputError(
            f"valuation: no quantity {sorted(lacking)} in the accounts; run the service that "
            "produces it, add it to the statistics table (`statistics:`), give the pollutant "
            "loads (`pollutant_loads:`) or disable the component"
        )
    valued = value_quantities(quantities, config.valuation, prices, indices)
    accounts = accounts_table(quantities, valued)
    neutral = pd.DataFrame()
    if params is not None and len(config.years) > 1:
        neutral_q = weather_neutral_quantities(cat, config, params, levels, quantities, progress)
        plain = neutral_q.drop(columns="weather_year")
        neutral = accounts_table(plain, value_quantities(plain, config.valuation, prices, indices))
        neutral = neutral.merge(
            neutral_q[["year", "weather_year"]].drop_duplicates(), on="year", how="left"
        )
    warnings = [w for level in levels for w in level.warnings]
    hierarchy = pd.DataFrame()
    if len(levels) > 1:
        hierarchy = check_hierarchy(quantities, parent=levels[0].level, child=levels[1].level)
        bad = hierarchy[~hierarchy["ok"]]
        warnings += [
            f"{r.unit_id} {r.quantity_name} {r.year}: townships sum to {r.children_sum:.6g}, "
            f"district {r.parent_value:.6g} (relative difference {r.relative_difference:.2e})"
            for r in bad.itertuples()
        ]
    decomposition = (
        pd.concat(
            [
                decompose(
                    accounts[accounts["level"] == lv.level],
                    neutral=neutral[neutral["level"] == lv.level] if len(neutral) else None,
                ).assign(level=lv.level)
                for lv in levels
            ],
            ignore_index=True,
        )
        if len(config.years) > 1
        else pd.DataFrame()
    )
    return Accounts(
        quantities, accounts, decomposition, hierarchy, rasters, levels, warnings, neutral
    )


def run_accounts(config: RunConfig, progress: Progress | None = None) -> tuple[Catalog, Accounts]:
    """Load and check the catalog, compute every service and build the accounts."""
    cat = load_catalog(config.catalog_file())
    problems = cat.check()
    if problems:
        from data_catalog.errors import CatalogError

        raise CatalogError(problems)
    params = cat.table(config.parameters)
    if progress:
        progress("intersecting units with the grid")
    levels = unit_levels(cat, config)
    rasters = compute_quantities(cat, config, params, progress)
    if progress:
        progress("accounts")
    return cat, build_accounts(cat, config, rasters, levels, params=params, progress=progress)


def run_summary(acc: Accounts) -> dict[str, Any]:
    """Totals per level and year (constant prices), for messages and tests."""
    gep = acc.accounts.groupby(["level", "year"], as_index=False)["value_constant_cny"].sum()
    return {f"{r.level} {r.year}": float(r.value_constant_cny) for r in gep.itertuples()}


def restrict_services(config: RunConfig, services: tuple[str, ...] | list[str]) -> RunConfig:
    """The run with only ``services`` and the valuation components of their quantities.

    Name ``"statistics"`` among ``services`` to keep the statistics table and its items.

    The GEP of such a run is labelled partial (:func:`gep.accounts.gep_by_unit`).
    """
    keep = [s for s in config.services if s in services]
    produced = {q for s in keep for q in ACCOUNTED[s]}
    produced |= {CAPPED[q][1] for q in produced if q in CAPPED}
    if config.statistics is not None and "statistics" in services:
        produced |= _statistics_items(config)
    components = [c for c in config.valuation.components if c.quantity in produced]
    return config.model_copy(
        update={
            "services": {s: config.services[s] for s in keep},
            "statistics": config.statistics if "statistics" in services else None,
            "valuation": config.valuation.model_copy(update={"components": components}),
        }
    )


def _statistics_items(config: RunConfig) -> set[str]:
    cat = load_catalog(config.catalog_file())
    assert config.statistics is not None
    return {str(i) for i in cat.table(config.statistics)["item"].unique()}
