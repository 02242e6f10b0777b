"""Services recomputed before and after the conversion, summed per unit and valued."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from data_catalog.catalog import Catalog
from gep.accounts import UnitLevel, zonal_sum
from gep.config import RunConfig
from gep.pipeline import ACCOUNTED, load_prices, run_service
from gep.valuation import value_quantities


def pixel_quantities(
    cat: Catalog, run: RunConfig, params: pd.DataFrame, year: int
) -> dict[str, xr.DataArray]:
    """Every accounted per-pixel quantity of the run's services in ``year`` (computed)."""
    out = {}
    for service in run.services:
        result = run_service(cat, run, params, service, year)
        for name in ACCOUNTED[service]:
            out[name] = result[name].compute()
    return out


def region_totals(
    level: UnitLevel, rasters: dict[str, xr.DataArray], state: str, year: int
) -> pd.DataFrame:
    """Region-wide totals of each quantity (one row per quantity), labelled by ``state``."""
    rows = []
    for name, da in rasters.items():
        sums, _ = zonal_sum(level, da.values)
        rows.append((state, year, name, float(np.nansum(sums)), str(da.attrs.get("units", ""))))
    return pd.DataFrame(
        rows, columns=["unit_id", "year", "quantity_name", "quantity", "quantity_unit"]
    )


@dataclass(frozen=True)
class States:
    """Quantities before and after the conversion, the valued components and the loss per pixel."""

    before: dict[str, xr.DataArray]
    after: dict[str, xr.DataArray]
    components: pd.DataFrame  # per valued component: before/after quantity and value
    pixel_loss_cny: np.ndarray  # constant-price value lost per pixel (CNY yr-1)


def value_states(
    run: RunConfig,
    level: UnitLevel,
    before: dict[str, xr.DataArray],
    after: dict[str, xr.DataArray],
    year: int,
) -> States:
    """Value both states at constant prices; components and the value lost per pixel (CNY yr-1)."""
    quantities = pd.concat(
        [
            region_totals(level, before, "before", year),
            region_totals(level, after, "after", year),
        ],
        ignore_index=True,
    )
    prices, indices = load_prices(run)
    valued = value_quantities(quantities, run.valuation, prices, indices)
    keys = ["service", "component"]
    wide = valued.pivot_table(
        index=keys, columns="unit_id", values=["quantity", "value_constant_cny"], aggfunc="first"
    )
    first = valued.drop_duplicates(keys).set_index(keys)
    components = pd.DataFrame(
        {
            "quantity_before": wide[("quantity", "before")],
            "quantity_after": wide[("quantity", "after")],
            "quantity_unit": first["quantity_unit"],
            "value_before_constant_cny": wide[("value_constant_cny", "before")],
            "value_after_constant_cny": wide[("value_constant_cny", "after")],
            "price_constant_cny": first["price_constant_cny"],
            "price_unit": first["price_unit"],
            "factor": first["factor"],
            "price_base_year": run.valuation.base_year,
            "price_source": first["price_source"],
        }
    ).reset_index()
    components["annual_loss_constant_cny"] = (
        components["value_before_constant_cny"] - components["value_after_constant_cny"]
    )
    pixel = np.zeros(level.weights.shape[1]).reshape(before[next(iter(before))].shape)
    for comp in run.valuation.enabled():
        row = components[
            (components["service"] == comp.service) & (components["component"] == comp.component)
        ]
        if row.empty or comp.quantity not in before:
            continue
        rate = float(row["factor"].iloc[0]) * float(row["price_constant_cny"].iloc[0])
        delta = np.nan_to_num(before[comp.quantity].values - after[comp.quantity].values)
        pixel = pixel + delta * rate
    return States(before, after, components, pixel)


def physical_table(states: States) -> pd.DataFrame:
    """Grid totals of each quantity before and after, and the loss (in the quantity's units)."""
    rows = []
    for name, da in states.before.items():
        b = float(np.nansum(da.values))
        a = float(np.nansum(states.after[name].values))
        rows.append((name, str(da.attrs.get("units", "")), b, a, b - a))
    return pd.DataFrame(
        rows, columns=["quantity_name", "quantity_unit", "grid_before", "grid_after", "grid_loss"]
    )
