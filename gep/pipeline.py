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
from data_catalog.tables import load_price_indices, load_scheme, load_unit_prices, read_table
from gep.accounts import UnitLevel, accounts_table, check_hierarchy, quantity_table, unit_level
from gep.config import RunConfig
from gep.decomposition import decompose
from gep.services import SERVICES
from gep.services.spec import ServiceInputs
from gep.valuation import value_quantities

#: quantity (service output) accounted for each pipeline service, per pixel
ACCOUNTED = {
    "water_conservation": ("water_conserved",),
    "water_yield": ("water_yield",),
    "carbon_nep": ("co2_sequestration",),
    "soil_retention": ("soil_retention", "avoided_export", "sediment_export"),
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


def _rasters_for(cat: Catalog, service: str, year: int) -> dict[str, xr.DataArray]:
    def by_var(variable: str, yearly: bool = True) -> xr.DataArray:
        return cat.raster(cat.find(variable=variable, year=year if yearly else None))

    landcover = by_var("landcover")
    if service == "water_conservation":
        return {
            "precipitation": by_var("precipitation"),
            "evapotranspiration": by_var("evapotranspiration"),
            "landcover": landcover,
        }
    if service == "water_yield":
        return {
            "precipitation": by_var("precipitation"),
            "reference_evapotranspiration": by_var("reference_evapotranspiration"),
            "root_restricting_depth": by_var("root_restricting_depth", False),
            "plant_available_water": by_var("plant_available_water", False),
            "landcover": landcover,
        }
    if service == "carbon_nep":
        return {"npp": by_var("net_primary_production")}
    return {
        "elevation": by_var("elevation", False),
        "erosivity": by_var("erosivity"),
        "erodibility": by_var("erodibility", False),
        "landcover": landcover,
    }


_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "water_conservation": ("runoff_coefficients", {"coef": "runoff_coefficient"}),
    "water_yield": (
        "biophysical",
        {"kc": "kc", "root_depth": "root_depth", "vegetated": "lulc_veg"},
    ),
    "soil_retention": ("usle_factors", {"usle_c": "usle_c", "usle_p": "usle_p"}),
}

_REGISTRY_NAME = {"carbon_nep": "carbon_nep"}


def run_service(
    cat: Catalog, config: RunConfig, params: pd.DataFrame, service: str, year: int
) -> xr.Dataset:
    """Run one service for one year on the catalog's reference grid."""
    registered = SERVICES[_REGISTRY_NAME.get(service, service)]
    rasters = _rasters_for(cat, service, year)
    tables = {}
    if service in _TABLES:
        name, columns = _TABLES[service]
        lc = cat.find(variable="landcover", year=year)
        tables[name] = _used_classes(class_table(cat, lc, params, columns), rasters["landcover"])
    inputs = ServiceInputs.build(
        registered.spec,
        cat.reference_grid(),
        rasters=rasters,
        tables=tables,
        params=config.services[service],
    )
    return registered.compute(inputs)


def _used_classes(table: pd.DataFrame, landcover: xr.DataArray) -> pd.DataFrame:
    """Keep the rows of classes present in the raster (others may lack parameters)."""
    codes = np.unique(landcover.values[landcover.coords["valid"].values])
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
    """Unit prices and price indices (built-in or the config's CSVs)."""
    prices_path = config.price_file("unit_prices")
    indices_path = config.price_file("price_indices")
    prices = (
        load_unit_prices() if prices_path is None else read_table(prices_path, name="unit prices")
    )
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
) -> Accounts:
    """Zonal sums, valuation, the tidy accounts, the hierarchy check and ΔGEP decomposition.

    Blockwise ``levels`` (large grids, :func:`unit_levels`) sum all ``rasters`` in one pass
    over the grid per level.
    """
    prices, indices = load_prices(config)
    quantities = quantity_table(levels, rasters)
    valued = value_quantities(quantities, config.valuation, prices, indices)
    accounts = accounts_table(quantities, valued)
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
                decompose(accounts[accounts["level"] == lv.level]).assign(level=lv.level)
                for lv in levels
            ],
            ignore_index=True,
        )
        if len(config.years) > 1
        else pd.DataFrame()
    )
    return Accounts(quantities, accounts, decomposition, hierarchy, rasters, levels, warnings)


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
    return cat, build_accounts(cat, config, rasters, levels)


def run_summary(acc: Accounts) -> dict[str, Any]:
    """Totals per level and year (constant prices), for messages and tests."""
    gep = acc.accounts.groupby(["level", "year"], as_index=False)["value_constant_cny"].sum()
    return {f"{r.level} {r.year}": float(r.value_constant_cny) for r in gep.itertuples()}
