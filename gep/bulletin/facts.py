"""What a bulletin states for each unit: GEP, categories, services, change, compensation.

:func:`bulletin_facts` gathers it from the accounts, the allocation and the programme ledger;
:mod:`gep.bulletin` renders it as Markdown and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gep.decomposition import decompose
from gep.i18n import STRINGS, Language, level_label, text
from gep.services.catalogue import (
    CATALOGUE,
    CATEGORIES,
    category_or_unclassified,
    missing_items,
)

_PROGRAMMES = (
    "amount_fen",
    "water_two_way_net_fen",
    "beijing_mountain_forest",
    "cropland_protection",
    "key_ecological_function_area_transfer",
    "demonstration_awards",
)
#: English labels of the compensation lines (allocation columns and ledger programmes).
PROGRAMME_LABELS = {k: STRINGS["en"][f"programme.{k}"] for k in _PROGRAMMES}
_TOP_DRIVERS = 3
#: Labels of the GEP categories (English pages: bilingual).
CATEGORY_LABELS = {c: STRINGS["en"][f"bulletin.category.{c}"] for c in CATEGORIES}
#: The CJK font subset shared by the HTML pages, in the bulletins' folder.
FONT_FILE = "gep-cjk.woff"
_SERVICE_ZH = {item.service: item.zh for item in CATALOGUE}


@dataclass(frozen=True)
class _Facts:
    """Everything a bulletin shows for one unit."""

    unit_id: str
    unit_name: str
    level: str
    parent_id: str
    year: int
    previous_year: int | None
    price_year: int
    gep_current: float
    gep_constant: float
    services: list[tuple[str, float, float, float | None]]  # service, constant, current, change
    change_constant: float | None
    decomposition: dict[str, float] | None
    compensation: list[tuple[str, int]]  # (label, fen)
    categories: dict[str, float]  # category → constant-price value
    missing: str  # catalogue items not valued ("" when the GEP is complete)
    parent_name: str = ""  # name of the parent unit ("" when it is not a unit of the accounts)


def _factor(accounts: pd.DataFrame) -> pd.Series:
    if "factor" in accounts.columns:
        return accounts["factor"].astype(float)
    # value = quantity x factor x price (gep.valuation): recover the factor exactly
    denominator = accounts["quantity"] * accounts["price_current_cny"]
    factor = accounts["value_current_cny"] / denominator.where(denominator != 0)
    return factor.fillna(1.0)


def _decomposition(accounts: pd.DataFrame, y0: int, y1: int) -> pd.DataFrame:
    needed = {"quantity", "price_current_cny", "value_current_cny", "component"}
    if not needed <= set(accounts.columns):
        return pd.DataFrame()
    rows = accounts[accounts["year"].isin([y0, y1])].assign(factor=_factor(accounts))
    table = decompose(rows)
    return table[(table["year_from"] == y0) & (table["year_to"] == y1)].set_index("unit_id")


def _programme(key: str, language: Language) -> str:
    return STRINGS[language].get(f"programme.{key}", key)


def _compensation(
    allocation: pd.DataFrame | None,
    programmes: dict[str, pd.DataFrame] | None,
    language: Language = "en",
) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    if allocation is not None and not allocation.empty:
        for column in ("amount_fen", "water_two_way_net_fen"):
            if column not in allocation.columns:
                continue
            label = _programme(column, language)
            stages = (
                allocation["stage"] if "stage" in allocation.columns else [""] * len(allocation)
            )
            for unit, stage, fen in zip(
                allocation["unit_id"], stages, allocation[column], strict=True
            ):
                shown = (
                    text(
                        language, "bulletin.stage", label=label, stage=level_label(stage, language)
                    )
                    if column == "amount_fen" and stage
                    else label
                )
                out.setdefault(str(unit), []).append((shown, int(fen)))
    ledger = (programmes or {}).get("ledger")
    if ledger is not None and not ledger.empty:
        accepted = ledger[ledger["status"] == "accepted"]
        paid = accepted.groupby(["unit_id", "programme"], as_index=False)["paid_fen"].sum()
        for unit, programme, fen in zip(
            paid["unit_id"], paid["programme"], paid["paid_fen"], strict=True
        ):
            label = _programme(str(programme), language)
            out.setdefault(str(unit), []).append((label, int(fen)))
    return out


def _service_rows(
    latest: pd.DataFrame, before: pd.DataFrame | None
) -> dict[str, list[tuple[str, float, float, float | None]]]:
    """Per unit: ``(service, value_constant, value_current, change_constant)`` rows."""
    merged = latest.copy()
    if before is not None:
        old = before["value_constant_cny"].rename("old")
        merged = merged.join(old, how="outer").fillna(
            {"value_constant_cny": 0.0, "value_current_cny": 0.0}
        )
        merged = merged[merged.index.get_level_values(0).isin(latest.index.get_level_values(0))]
    out: dict[str, list[tuple[str, float, float, float | None]]] = {}
    has_old = "old" in merged.columns
    for (unit, service), constant, current, old_value in zip(
        merged.index,
        merged["value_constant_cny"].to_numpy(float),
        merged["value_current_cny"].to_numpy(float),
        merged["old"].to_numpy(float) if has_old else np.full(len(merged), np.nan),
        strict=True,
    ):
        change = float(constant - np.nan_to_num(old_value)) if has_old else None
        out.setdefault(str(unit), []).append(
            (str(service), float(constant), float(current), change)
        )
    return out


def _base_year(accounts: pd.DataFrame) -> int:
    column = "base_year" if "base_year" in accounts.columns else "price_year"
    return int(accounts[column].iloc[0])


def bulletin_facts(
    accounts: pd.DataFrame,
    allocation: pd.DataFrame | None = None,
    programmes: dict[str, pd.DataFrame] | None = None,
    *,
    language: Language = "en",
) -> list[_Facts]:
    """The figures of every unit's bulletin (used by :func:`write_bulletins` and tests).

    Parameters
    ----------
    accounts : pandas.DataFrame
        Tidy accounts (``unit_id, unit_name, level, parent_id, year, service, component,
        quantity, value_current_cny, value_constant_cny`` and ``base_year`` (constant-price
        year; else ``price_year``) and, for the decomposition, ``price_current_cny``).
    allocation : pandas.DataFrame, optional
        Linkage allocation (``unit_id, stage, amount_fen`` and programme columns).
    programmes : dict of str to pandas.DataFrame, optional
        Linkage programme tables (``ledger`` is used).
    language : {"en", "zh"}
        Language of the compensation labels.

    Returns
    -------
    list
        One record per unit, districts first.
    """
    years = sorted(int(y) for y in accounts["year"].unique())
    year, previous = years[-1], (years[-2] if len(years) > 1 else None)
    by_service = accounts.groupby(["year", "unit_id", "service"])[
        ["value_current_cny", "value_constant_cny"]
    ].sum()
    latest = pd.DataFrame(by_service.xs(year, level="year"))
    before = pd.DataFrame(by_service.xs(previous, level="year")) if previous is not None else None
    rows = _service_rows(latest, before)
    table = _decomposition(accounts, previous, year) if previous is not None else pd.DataFrame()
    columns = ["change_cny", "volume_effect_cny", "price_effect_cny", "volume_index", "price_index"]
    parts = (
        {
            str(u): dict(zip(columns, map(float, v), strict=True))
            for u, v in zip(table.index, table[columns].to_numpy(), strict=True)
        }
        if not table.empty
        else {}
    )
    paid = _compensation(allocation, programmes, language)
    categories = _categories(accounts, year)
    absent = missing_items(set(accounts["service"]))
    missing = (
        "、".join(i.zh for i in absent)
        if language == "zh"
        else "; ".join(f"{i.service} {i.zh}" for i in absent)
    )
    units = accounts.drop_duplicates("unit_id")
    names = dict(zip(units["unit_id"].astype(str), units["unit_name"].astype(str), strict=True))
    price_year = _base_year(accounts)
    facts = []
    for unit_id, name, level, parent in zip(
        units["unit_id"], units["unit_name"], units["level"], units["parent_id"], strict=True
    ):
        unit = str(unit_id)
        services = rows.get(unit, [])
        total = sum(r[1] for r in services)
        has_change = previous is not None and any(r[3] is not None for r in services)
        facts.append(
            _Facts(
                unit,
                str(name),
                str(level),
                "" if pd.isna(parent) else str(parent),
                year,
                previous,
                price_year,
                sum(r[2] for r in services),
                total,
                services,
                sum(r[3] or 0.0 for r in services) if has_change else None,
                parts.get(unit),
                paid.get(unit, []),
                categories.get(unit, dict.fromkeys(CATEGORIES, 0.0)),
                missing,
                "" if pd.isna(parent) else names.get(str(parent), ""),
            )
        )
    order = {"district": 0, "township": 1}
    return sorted(facts, key=lambda f: (order.get(f.level, 2), f.unit_id))


def _categories(accounts: pd.DataFrame, year: int) -> dict[str, dict[str, float]]:
    """Per unit: constant-price value of each GEP category in ``year`` (0 when absent)."""
    rows = accounts[accounts["year"] == year]
    category = (
        rows["category"]
        if "category" in rows.columns
        else rows["service"].map(category_or_unclassified)
    )
    sums = (
        rows.assign(category=category).groupby(["unit_id", "category"])["value_constant_cny"].sum()
    )
    out: dict[str, dict[str, float]] = {}
    for unit, cat, value in zip(
        sums.index.get_level_values(0), sums.index.get_level_values(1), sums.to_numpy(), strict=True
    ):
        out.setdefault(str(unit), dict.fromkeys(CATEGORIES, 0.0))[str(cat)] = float(value)
    return out
