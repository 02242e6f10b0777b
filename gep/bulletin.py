"""GEP bulletins: a short generated page (Markdown and HTML) per district and township.

Beijing 2022 implementation opinions §(十六) ask for an information release system of the
compensation statistics (建立本市生态保护补偿统计指标体系和信息发布制度). Each bulletin states,
for its unit:

* GEP of the latest year at current and constant prices, by category (provisioning 供给服务,
  regulating 调节服务, cultural 文化服务) with GEP-R (the regulating part), whether the total is
  complete or partial (and which catalogue items are missing,
  :func:`gep.services.catalogue.missing_items`), and its composition by service (share of the
  constant-price total);
* the change since the previous accounted year at constant prices (volume change), and the
  volume/price decomposition of the current-price change (:func:`gep.decomposition.decompose`:
  ``ΔV = Σ p0 (q1 − q0) + Σ q1 (p1 − p0)``, METHODS §3);
* the main drivers: the services with the largest constant-price changes;
* the compensation received, by programme: the GEP-linked allocation (``amount_fen`` of the
  linkage allocation), the two-way water net amount, and every programme paid through the
  de-duplication ledger (forest, cropland, transfer, awards: ``paid_fen``).

Pages are made from string templates (no template engine); 365 units take well under a
second. Each file is written to a temporary name and moved into place.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.decomposition import decompose
from gep.services.catalogue import CATEGORIES, category_or_unclassified, missing_items

__all__ = ["PROGRAMME_LABELS", "bulletin_facts", "write_bulletins"]

#: Labels of the compensation lines (allocation columns and ledger programmes).
PROGRAMME_LABELS = {
    "amount_fen": "GEP-linked eco-conservation compensation",
    "water_two_way_net_fen": "two-way water compensation (net)",
    "beijing_mountain_forest": "mountain ecological public-welfare forest",
    "cropland_protection": "cropland protection compensation",
    "key_ecological_function_area_transfer": "key ecological function area transfer",
    "demonstration_awards": "demonstration-designation awards",
}
_TOP_DRIVERS = 3
#: Bilingual labels of the GEP categories.
CATEGORY_LABELS = {
    "provisioning": "provisioning services 供给服务",
    "regulating": "regulating services 调节服务 (GEP-R)",
    "cultural": "cultural services 文化服务",
}


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


def _compensation(
    allocation: pd.DataFrame | None, programmes: dict[str, pd.DataFrame] | None
) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    if allocation is not None and not allocation.empty:
        for column in ("amount_fen", "water_two_way_net_fen"):
            if column not in allocation.columns:
                continue
            label = PROGRAMME_LABELS[column]
            stages = (
                allocation["stage"] if "stage" in allocation.columns else [""] * len(allocation)
            )
            for unit, stage, fen in zip(
                allocation["unit_id"], stages, allocation[column], strict=True
            ):
                text = f"{label} ({stage} stage)" if column == "amount_fen" and stage else label
                out.setdefault(str(unit), []).append((text, int(fen)))
    ledger = (programmes or {}).get("ledger")
    if ledger is not None and not ledger.empty:
        accepted = ledger[ledger["status"] == "accepted"]
        paid = accepted.groupby(["unit_id", "programme"], as_index=False)["paid_fen"].sum()
        for unit, programme, fen in zip(
            paid["unit_id"], paid["programme"], paid["paid_fen"], strict=True
        ):
            label = PROGRAMME_LABELS.get(str(programme), str(programme))
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
    paid = _compensation(allocation, programmes)
    categories = _categories(accounts, year)
    missing = "; ".join(f"{i.service} {i.zh}" for i in missing_items(set(accounts["service"])))
    units = accounts.drop_duplicates("unit_id")
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


def _cny(x: float) -> str:
    return f"{x:,.2f}"


def _drivers(f: _Facts) -> list[tuple[str, float]]:
    changes = [(name, change) for name, _, _, change in f.services if change is not None]
    return sorted(changes, key=lambda item: (-abs(item[1]), item[0]))[:_TOP_DRIVERS]


Rows = list[tuple[str, ...]]


def _sections(f: _Facts) -> dict[str, Rows]:
    """Table rows of each section, as formatted text (shared by Markdown and HTML)."""
    head: Rows = [
        ("GEP at current prices", f"{_cny(f.gep_current)} CNY"),
        (f"GEP at constant prices of {f.price_year}", f"{_cny(f.gep_constant)} CNY"),
    ]
    head.append(
        (
            "Scope 核算范围",
            f"partial 部分 (missing 缺: {f.missing})" if f.missing else "complete 完整",
        )
    )
    head += [
        (f"  {CATEGORY_LABELS[c]}", f"{_cny(f.categories.get(c, 0.0))} CNY") for c in CATEGORIES
    ]
    if f.change_constant is not None:
        head.append(
            (f"Change since {f.previous_year} at constant prices", f"{_cny(f.change_constant)} CNY")
        )
    if f.decomposition is not None:
        d = f.decomposition
        head += [
            (
                f"Change at current prices {f.previous_year}-{f.year}",
                f"{_cny(d['change_cny'])} CNY",
            ),
            ("  of which volume effect (Σ p0 Δq)", f"{_cny(d['volume_effect_cny'])} CNY"),
            ("  of which price effect (Σ q1 Δp)", f"{_cny(d['price_effect_cny'])} CNY"),
            ("Volume index, price index", f"{d['volume_index']:.4f}, {d['price_index']:.4f}"),
        ]
    ordered = sorted(f.services, key=lambda r: (-r[1], r[0]))
    composition: Rows = [
        (name, _cny(value), f"{value / f.gep_constant:.1%}" if f.gep_constant else "n/a")
        for name, value, _, _ in ordered
    ]
    drivers: Rows = [(name, _cny(v)) for name, v in _drivers(f)]
    money: Rows = [(label, _cny(fen / 100)) for label, fen in f.compensation]
    if f.compensation:
        money.append(("total received", _cny(sum(fen for _, fen in f.compensation) / 100)))
    return {"head": head, "composition": composition, "drivers": drivers, "money": money}


def _markdown(f: _Facts, s: dict[str, Rows], note: str | None) -> str:
    out = [f"# GEP bulletin {f.year}: {f.unit_name} ({f.unit_id})", ""]
    out.append(f"{f.level.capitalize()}" + (f" of {f.parent_id}" if f.parent_id else "") + ".")
    out.append("")
    if note:
        out += [f"> **{note}**", ""]
    out += ["| item | value |", "|---|---:|"] + [f"| {a} | {b} |" for a, b in s["head"]]
    out += [
        "",
        f"## Composition {f.year} (constant prices)",
        "",
        "| service | CNY | share |",
        "|---|---:|---:|",
    ]
    out += [f"| {a} | {b} | {c} |" for a, b, c in s["composition"]]
    if s["drivers"]:
        out += [
            "",
            "## Main drivers of the change (constant prices)",
            "",
            "| service | change (CNY) |",
            "|---|---:|",
        ]
        out += [f"| {a} | {b} |" for a, b in s["drivers"]]
    out += ["", f"## Compensation received {f.year}", ""]
    if s["money"]:
        out += ["| programme | CNY |", "|---|---:|"] + [f"| {a} | {b} |" for a, b in s["money"]]
    else:
        out.append("No compensation recorded for this unit.")
    return "\n".join(out) + "\n"


def _html_table(header: tuple[str, ...], rows: Rows) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


_STYLE = (
    "body{font-family:sans-serif;max-width:48em}td,th{border:1px solid #ccc;padding:2px 6px}"
    "td:not(:first-child){text-align:right}.note{color:#a00}"
)


def _html(f: _Facts, s: dict[str, Rows], note: str | None) -> str:
    esc = html.escape
    title = f"GEP bulletin {f.year}: {f.unit_name} ({f.unit_id})"
    parts = [
        f'<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8"><title>{esc(title)}</title>',
        f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>",
        f"<p>{esc(f.level.capitalize())}{esc(' of ' + f.parent_id) if f.parent_id else ''}.</p>",
    ]
    if note:
        parts.append(f'<p class="note"><strong>{esc(note)}</strong></p>')
    parts.append(_html_table(("item", "value"), s["head"]))
    parts.append(f"<h2>Composition {f.year} (constant prices)</h2>")
    parts.append(_html_table(("service", "CNY", "share"), s["composition"]))
    if s["drivers"]:
        parts.append("<h2>Main drivers of the change (constant prices)</h2>")
        parts.append(_html_table(("service", "change (CNY)"), s["drivers"]))
    parts.append(f"<h2>Compensation received {f.year}</h2>")
    parts.append(
        _html_table(("programme", "CNY"), s["money"])
        if s["money"]
        else "<p>No compensation recorded for this unit.</p>"
    )
    return "".join(parts) + "</body></html>\n"


def _write(path: Path, text: str) -> Path:
    """Write to a hidden temporary file beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_bulletins(
    accounts: pd.DataFrame,
    allocation: pd.DataFrame | None,
    programmes: dict[str, pd.DataFrame] | None,
    out_dir: Path,
    *,
    synthetic_note: str | None,
) -> list[Path]:
    """Write ``<level>/<unit_id>.md`` and ``.html`` for every district and township.

    Parameters
    ----------
    accounts : pandas.DataFrame
        Tidy accounts of the run (all levels and years).
    allocation : pandas.DataFrame or None
        Linkage allocation, if linkage ran.
    programmes : dict of str to pandas.DataFrame or None
        Linkage programme tables (the ``ledger`` gives the programmes paid per unit).
    out_dir : pathlib.Path
        Folder of the bulletins (created).
    synthetic_note : str or None
        Banner shown on every page when the inputs are synthetic.

    Returns
    -------
    list of pathlib.Path
        The files written (two per unit).
    """
    written = []
    for facts in bulletin_facts(accounts, allocation, programmes):
        folder = Path(out_dir) / facts.level
        folder.mkdir(parents=True, exist_ok=True)
        sections = _sections(facts)
        markdown = _markdown(facts, sections, synthetic_note)
        written.append(_write(folder / f"{facts.unit_id}.md", markdown))
        written.append(
            _write(folder / f"{facts.unit_id}.html", _html(facts, sections, synthetic_note))
        )
    return written
