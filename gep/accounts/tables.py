"""The account tables: quantities per unit, the tidy accounts, GEP by unit, service shares."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from data_catalog.errors import InputError
from gep.accounts.units import (
    UnitLevel,
)
from gep.accounts.zonal import LevelSums, sum_levels
from gep.services.catalogue import CATEGORIES, category_or_unclassified, missing_items

QUANTITY_COLUMNS = [
    "unit_id",
    "unit_name",
    "level",
    "parent_id",
    "area_km2",
    "year",
    "quantity_name",
    "quantity",
    "quantity_unit",
    "valid_fraction",
]

ACCOUNT_COLUMNS = [
    "unit_id",
    "unit_name",
    "level",
    "parent_id",
    "year",
    "service",
    "component",
    "quantity",
    "quantity_unit",
    "value_current_cny",
    "value_constant_cny",
    "price_year",
]


def quantity_table(
    levels: list[UnitLevel],
    quantities: Mapping[tuple[str, int], xr.DataArray],
    sums: list[LevelSums] | None = None,
) -> pd.DataFrame:
    """Tidy table of physical quantities per unit, year and quantity name.

    Blockwise levels sum every quantity in one pass over the grid (one coverage per block,
    one dask pass for all levels: :func:`gep.accounts.zonal.sum_levels`).

    Parameters
    ----------
    levels : list of UnitLevel
        E.g. districts and townships.
    quantities : mapping
        ``(quantity_name, year) → per-pixel DataArray`` with ``attrs["units"]`` per pixel
        (e.g. ``"m3 yr-1"``); numpy- or dask-backed.
    sums : list, optional
        Sums already computed (per level, per quantity in the order of ``quantities``: the
        ``(sums, valid_fraction)`` of :func:`gep.accounts.zonal.zonal_sum`), e.g. in the pass
        that wrote the rasters; ``quantities`` then only need ``attrs``.

    Returns
    -------
    DataFrame
        ``unit_id, unit_name, level, parent_id, area_km2, year, quantity_name, quantity,
        quantity_unit, valid_fraction``.
    """
    for (name, year), da in quantities.items():
        if not da.attrs.get("units"):
            raise InputError(f"quantity '{name}' ({year}) has no units attribute")
    if sums is None:
        sums = sum_levels(levels, list(quantities.values()))
    frames = []
    for q, ((name, year), da) in enumerate(quantities.items()):
        for level, level_sums in zip(levels, sums, strict=True):
            frames.append(
                level.units.assign(
                    year=year,
                    quantity_name=name,
                    quantity=level_sums[q][0],
                    quantity_unit=da.attrs["units"],
                    valid_fraction=level_sums[q][1],
                )
            )
    if not frames:
        return pd.DataFrame(columns=QUANTITY_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def check_hierarchy(
    table: pd.DataFrame, *, parent: str, child: str, rtol: float = 1e-6
) -> pd.DataFrame:
    """Compare each parent unit's quantity with the sum of its children's.

    Returns
    -------
    DataFrame
        One row per parent, year and quantity: ``parent_value, children_sum, relative_difference``
        (rows where both are missing are dropped), and an ``ok`` flag at ``rtol``.
    """
    keys = ["year", "quantity_name"]
    children = table[table["level"] == child]
    kids = pd.DataFrame(children.groupby(["parent_id", *keys], as_index=False)["quantity"].sum())
    kids = kids.rename(columns={"parent_id": "unit_id", "quantity": "children_sum"})
    top = table[table["level"] == parent][["unit_id", *keys, "quantity"]].rename(
        columns={"quantity": "parent_value"}
    )
    merged = top.merge(kids, on=["unit_id", *keys], how="outer")
    scale = np.maximum(np.abs(merged["parent_value"]), np.abs(merged["children_sum"]))
    diff = np.abs(merged["parent_value"] - merged["children_sum"])
    merged["relative_difference"] = np.where(scale > 0, diff / scale.where(scale > 0, 1.0), 0.0)
    merged["ok"] = merged["relative_difference"] <= rtol
    return merged


def accounts_table(quantities: pd.DataFrame, valued: pd.DataFrame) -> pd.DataFrame:
    """The tidy accounts table (``ACCOUNT_COLUMNS`` plus price details) from valued rows.

    ``price_year`` is the year of the constant prices (the base year) and
    ``price_observed_year`` the year the unit price was observed in before the deflator moved
    it; ``category`` is the GEP category (provisioning, regulating, cultural).

    ``value = quantity × factor × price``: the factor (e.g. λ/ρ m³ t⁻¹, or the N content of
    soil) and the price are kept beside each row so that every value can be recomputed.
    """
    cols = [c for c in ACCOUNT_COLUMNS if c in valued.columns]
    extra = [
        c
        for c in (
            "category",
            "price_item",
            "factor",
            "price_current_cny",
            "price_constant_cny",
            "price_unit",
            "base_year",
            "deflator",
            "price_source",
            "price_confidence",
            "valid_fraction",
            "area_km2",
        )
        if c in valued.columns
    ]
    out = valued[cols + extra].copy()
    if "base_year" in valued.columns and "price_year" in valued.columns:
        # the accounts' price_year is the year of the constant prices (the schema the linkage
        # reads: "value_constant_cny: CNY at constant prices of price_year"); the year each
        # price was observed in stays beside it
        out["price_observed_year"] = valued["price_year"].to_numpy()
        out["price_year"] = valued["base_year"].to_numpy()
    return out.sort_values(["level", "unit_id", "year", "service", "component"]).reset_index(
        drop=True
    )


def gep_by_unit(accounts: pd.DataFrame) -> pd.DataFrame:
    """GEP per unit and year (current and constant prices), per km², by category, and change.

    ``GEP = provisioning + regulating + cultural`` (Ouyang et al. 2020; DB11/T 2059—2022);
    ``gep_r_constant_cny`` is the regulating part (GEP-R). ``gep_scope`` is ``complete`` when
    every non-optional item of :data:`gep.services.catalogue.CATALOGUE` is valued, otherwise
    ``partial``, and ``gep_missing`` lists the missing items (the same for every row: a
    property of the run).
    """
    keys = ["unit_id", "unit_name", "level", "parent_id", "year"]
    gep = accounts.groupby(keys, as_index=False)[["value_current_cny", "value_constant_cny"]].sum(
        min_count=1
    )
    if "area_km2" in accounts.columns:
        area = accounts.groupby(["unit_id", "level"], as_index=False)["area_km2"].first()
        gep = gep.merge(area, on=["unit_id", "level"], how="left")
        gep["gep_constant_cny_per_km2"] = gep["value_constant_cny"] / gep["area_km2"]
    gep = gep.rename(
        columns={"value_current_cny": "gep_current_cny", "value_constant_cny": "gep_constant_cny"}
    )
    gep = gep.merge(_by_category(accounts, keys), on=keys, how="left")
    missing = missing_items(set(accounts["service"]))
    gep["gep_scope"] = "partial" if missing else "complete"
    gep["gep_missing"] = "; ".join(f"{i.service} ({i.zh})" for i in missing)
    gep = gep.sort_values(["level", "unit_id", "year"])
    grouped = gep.groupby(["level", "unit_id"])
    gep["change_constant_cny"] = grouped["gep_constant_cny"].diff()
    gep["change_current_cny"] = grouped["gep_current_cny"].diff()
    return gep.reset_index(drop=True)


def _by_category(accounts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Constant-price value per category (0 where a category has no component) and GEP-R."""
    category = (
        accounts["category"]
        if "category" in accounts.columns
        else accounts["service"].map(category_or_unclassified)
    )
    wide = (
        accounts.assign(category=category)
        .pivot_table(index=keys, columns="category", values="value_constant_cny", aggfunc="sum")
        .reindex(columns=list(CATEGORIES))
        .fillna(0.0)
    )
    wide.columns = [f"gep_{c}_constant_cny" for c in CATEGORIES]
    wide["gep_r_constant_cny"] = wide["gep_regulating_constant_cny"]
    return wide.reset_index()


def service_shares(accounts: pd.DataFrame) -> pd.DataFrame:
    """Share of each service in each unit's GEP per year (at constant prices)."""
    keys = ["unit_id", "level", "year"]
    by_service = pd.DataFrame(
        accounts.groupby([*keys, "service"], as_index=False)["value_constant_cny"].sum()
    )
    total = by_service.groupby(keys)["value_constant_cny"].transform("sum")
    by_service["share"] = by_service["value_constant_cny"] / total.where(total != 0)
    return by_service
