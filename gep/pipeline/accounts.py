"""Accounts: units intersected with the grid, zonal sums, valuation, tidy tables, ΔGEP.

:func:`build_accounts` turns per-pixel quantities (or their per-unit sums, computed while
they were streamed to disk) into the accounts; :func:`run_accounts` is the whole in-memory
chain for library callers and tests.
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
    load_unit_prices,
    read_table,
)
from gep.accounts import UnitLevel, accounts_table, check_hierarchy, quantity_table, unit_level
from gep.config import RunConfig
from gep.decomposition import decompose
from gep.pipeline.inputs import ACCOUNTED
from gep.pipeline.quantities import compute_quantities, weather_neutral_quantities
from gep.prices import carbon_market_series
from gep.services.purification import CAPPED, capped_quantities
from gep.services.statistics import unit_quantities
from gep.valuation import value_quantities

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
    #: ``(name, year) → (sums, pixel counts)`` per ecosystem type, where a streamed run added
    #: them up (:class:`gep.accounts.ecosystem_types.TypeTotals`)
    type_totals: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def unit_levels(
    cat: Catalog, config: RunConfig, *, blockwise: bool | None = None
) -> list[UnitLevel]:
    """Intersect each level's polygons with the grid once.

    Blockwise levels (``blockwise=True``, and by default on grids of more than
    :data:`BLOCKWISE_ZONAL_PIXELS` pixels) keep no whole-grid coverage matrix: the accounts
    sum every quantity block by block (:data:`ZONAL_BLOCK` pixels a side, or the chunks of
    dask-backed rasters), with the same results as the matrix to rounding.
    """
    grid = cat.reference_grid()
    if blockwise is None:
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
    quantities: pd.DataFrame | None = None,
    chunks: int | None = None,
    type_totals: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] | None = None,
) -> Accounts:
    """Zonal sums, valuation, the tidy accounts, the hierarchy check and ΔGEP decomposition.

    Blockwise ``levels`` (large grids, :func:`unit_levels`) sum all ``rasters`` in one pass
    over the grid. ``quantities`` gives sums already computed (the streamed run sums while
    it writes: :func:`gep.pipeline.stream_quantities`). With the parameter table ``params``
    and more than one year, the weather-neutral accounts (:func:`weather_neutral_quantities`,
    by chunks of ``chunks`` pixels when given) are built too and ΔGEP's volume effect is
    split into condition and weather effects. ``type_totals`` (per ecosystem type, from the
    streamed run) are passed on to the outputs' supply table.
    """
    prices, indices = load_prices(config)
    if quantities is None:
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
        neutral_q = weather_neutral_quantities(
            cat, config, params, levels, quantities, progress, chunks=chunks
        )
        neutral = _valued(neutral_q, config, prices, indices)
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
    decomposition = _decomposition(accounts, neutral, levels) if len(config.years) > 1 else None
    return Accounts(
        quantities,
        accounts,
        pd.DataFrame() if decomposition is None else decomposition,
        hierarchy,
        rasters,
        levels,
        warnings,
        neutral,
        type_totals or {},
    )


def _decomposition(
    accounts: pd.DataFrame, neutral: pd.DataFrame, levels: list[UnitLevel]
) -> pd.DataFrame:
    """ΔGEP decomposition per level (condition and weather effects when ``neutral`` is given)."""
    return pd.concat(
        [
            decompose(
                accounts[accounts["level"] == lv.level],
                neutral=neutral[neutral["level"] == lv.level] if len(neutral) else None,
            ).assign(level=lv.level)
            for lv in levels
        ],
        ignore_index=True,
    )


def _valued(
    neutral_q: pd.DataFrame, config: RunConfig, prices: pd.DataFrame, indices: pd.DataFrame
) -> pd.DataFrame:
    """The weather-neutral accounts: the quantities valued, with their ``weather_year``."""
    plain = neutral_q.drop(columns="weather_year")
    neutral = accounts_table(plain, value_quantities(plain, config.valuation, prices, indices))
    return neutral.merge(
        neutral_q[["year", "weather_year"]].drop_duplicates(), on="year", how="left"
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
