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
second. Each file is written to a temporary name and moved into place. The words are those of
:mod:`gep.i18n` in the run's language; Chinese pages give amounts in 万元 or 亿元
(:func:`gep.i18n.format_yuan`), English pages exact CNY. The HTML pages share one subset of
the CJK font (``gep-cjk.woff`` beside the level folders, :mod:`gep.fonts`), so Chinese shows
in a browser without CJK fonts.
"""

from __future__ import annotations

import functools
import html
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.decomposition import decompose
from gep.fonts import HTML_FAMILY, cjk_characters, subset_woff
from gep.i18n import STRINGS, Language, format_yuan, level_label, text
from gep.services.catalogue import (
    CATALOGUE,
    CATEGORIES,
    category_or_unclassified,
    missing_items,
)

__all__ = ["FONT_FILE", "PROGRAMME_LABELS", "bulletin_facts", "write_bulletins"]

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


def _cny(x: float) -> str:
    return f"{x:,.2f}"


def _money(x: float, language: Language, *, with_unit: bool = True) -> str:
    """An amount for a bulletin in ``language``.

    Exact CNY in English (the unit in the column heading unless ``with_unit``), 万元 or 亿元 in
    Chinese (:func:`gep.i18n.format_yuan`).
    """
    if language == "en" and not with_unit:
        return _cny(x)
    return format_yuan(x, language)


def _service(name: str, language: Language) -> str:
    return _SERVICE_ZH.get(name, name) if language == "zh" else name


def _drivers(f: _Facts) -> list[tuple[str, float]]:
    changes = [(name, change) for name, _, _, change in f.services if change is not None]
    return sorted(changes, key=lambda item: (-abs(item[1]), item[0]))[:_TOP_DRIVERS]


Rows = list[tuple[str, ...]]


def _head(f: _Facts, language: Language) -> Rows:
    """Rows of the bulletin's first table: GEP, scope, categories, change and its parts."""
    t = functools.partial(text, language)
    head: Rows = [
        (t("bulletin.gep_current"), _money(f.gep_current, language)),
        (t("bulletin.gep_constant", year=f.price_year), _money(f.gep_constant, language)),
        (
            t("bulletin.scope"),
            t("bulletin.partial", missing=f.missing) if f.missing else t("bulletin.complete"),
        ),
    ]
    head += [
        (f"  {t(f'bulletin.category.{c}')}", _money(f.categories.get(c, 0.0), language))
        for c in CATEGORIES
    ]
    if f.change_constant is not None:
        head.append(
            (
                t("bulletin.change_constant", previous=f.previous_year),
                _money(f.change_constant, language),
            )
        )
    if f.decomposition is not None:
        d = f.decomposition
        head += [
            (
                t("bulletin.change_current", previous=f.previous_year, year=f.year),
                _money(d["change_cny"], language),
            ),
            (t("bulletin.volume_effect"), _money(d["volume_effect_cny"], language)),
            (t("bulletin.price_effect"), _money(d["price_effect_cny"], language)),
            (t("bulletin.indices"), f"{d['volume_index']:.4f}, {d['price_index']:.4f}"),
        ]
    return head


def _sections(f: _Facts, language: Language = "en") -> dict[str, Rows]:
    """Table rows of each section, as formatted text (shared by Markdown and HTML)."""
    ordered = sorted(f.services, key=lambda r: (-r[1], r[0]))
    na = text(language, "bulletin.not_applicable")
    composition: Rows = [
        (
            _service(name, language),
            _money(value, language, with_unit=False),
            f"{value / f.gep_constant:.1%}" if f.gep_constant else na,
        )
        for name, value, _, _ in ordered
    ]
    drivers: Rows = [
        (_service(name, language), _money(v, language, with_unit=False)) for name, v in _drivers(f)
    ]
    money: Rows = [
        (label, _money(fen / 100, language, with_unit=False)) for label, fen in f.compensation
    ]
    if f.compensation:
        total = sum(fen for _, fen in f.compensation) / 100
        money.append(
            (text(language, "bulletin.total_received"), _money(total, language, with_unit=False))
        )
    return {
        "head": _head(f, language),
        "composition": composition,
        "drivers": drivers,
        "money": money,
    }


def _where(f: _Facts, language: Language) -> str:
    """The unit's level and parent: ``District of 110000.`` or ``区，上级单元：….``."""
    level = level_label(f.level, language)
    if language == "en":
        level = level.capitalize()
    if not f.parent_id:
        return text(language, "bulletin.level", level=level)
    parent = (
        f"{f.parent_name}（{f.parent_id}）" if language == "zh" and f.parent_name else f.parent_id
    )
    return text(language, "bulletin.level_of", level=level, parent=parent)


def _headers(language: Language) -> dict[str, tuple[str, ...]]:
    t = functools.partial(text, language)
    return {
        "head": (t("bulletin.item"), t("bulletin.value")),
        "composition": (t("bulletin.service"), t("bulletin.amount"), t("bulletin.share")),
        "drivers": (t("bulletin.service"), t("bulletin.change")),
        "money": (t("bulletin.programme"), t("bulletin.amount")),
    }


def _markdown(f: _Facts, s: dict[str, Rows], note: str | None, language: Language = "en") -> str:
    t = functools.partial(text, language)
    headers = _headers(language)

    def table(key: str) -> list[str]:
        cols = headers[key]
        align = "|---|" + "---:|" * (len(cols) - 1)
        return ["| " + " | ".join(cols) + " |", align] + [
            "| " + " | ".join(row) + " |" for row in s[key]
        ]

    title = t("bulletin.title", year=f.year, name=f.unit_name, unit_id=f.unit_id)
    out = [f"# {title}", "", _where(f, language), ""]
    if note:
        out += [f"> **{note}**", ""]
    out += table("head")
    out += ["", f"## {t('bulletin.composition', year=f.year)}", ""] + table("composition")
    if s["drivers"]:
        out += ["", f"## {t('bulletin.drivers')}", ""] + table("drivers")
    out += ["", f"## {t('bulletin.compensation', year=f.year)}", ""]
    if s["money"]:
        out += table("money")
    else:
        out.append(t("bulletin.no_compensation"))
    return "\n".join(out) + "\n"


def _html_table(header: tuple[str, ...], rows: Rows) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


_STYLE = (
    f"body{{font-family:'{HTML_FAMILY}',sans-serif;max-width:48em}}"
    "td,th{border:1px solid #ccc;padding:2px 6px}"
    "td:not(:first-child){text-align:right}.note{color:#a00}"
)
_FONT_FACE = (
    f"@font-face{{font-family:'{HTML_FAMILY}';src:url(../{FONT_FILE}) format('woff');"
    "unicode-range:U+2E80-9FFF,U+F900-FAFF,U+FE30-FE4F,U+FF00-FFEF}"
)


def _html(f: _Facts, s: dict[str, Rows], note: str | None, language: Language = "en") -> str:
    esc = html.escape
    t = functools.partial(text, language)
    headers = _headers(language)
    title = t("bulletin.title", year=f.year, name=f.unit_name, unit_id=f.unit_id)
    lang = "zh-CN" if language == "zh" else "en"
    parts = [
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{esc(title)}'
        f"</title><style>{_FONT_FACE}{_STYLE}</style></head><body><h1>{esc(title)}</h1>",
        f"<p>{esc(_where(f, language))}</p>",
    ]
    if note:
        parts.append(f'<p class="note"><strong>{esc(note)}</strong></p>')
    parts.append(_html_table(headers["head"], s["head"]))
    parts.append(f"<h2>{esc(t('bulletin.composition', year=f.year))}</h2>")
    parts.append(_html_table(headers["composition"], s["composition"]))
    if s["drivers"]:
        parts.append(f"<h2>{esc(t('bulletin.drivers'))}</h2>")
        parts.append(_html_table(headers["drivers"], s["drivers"]))
    parts.append(f"<h2>{esc(t('bulletin.compensation', year=f.year))}</h2>")
    parts.append(
        _html_table(headers["money"], s["money"])
        if s["money"]
        else f"<p>{esc(t('bulletin.no_compensation'))}</p>"
    )
    return "".join(parts) + "</body></html>\n"


def _write(path: Path, page: str) -> Path:
    """Write to a hidden temporary file beside ``path``, then rename it into place."""
    return _write_bytes(path, page.encode("utf-8"))


def _write_bytes(path: Path, data: bytes) -> Path:
    """Write to a hidden temporary file beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
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
    language: Language = "en",
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
    language : {"en", "zh"}
        Language of the pages (:mod:`gep.i18n`); Chinese amounts in 万元 or 亿元.

    Returns
    -------
    list of pathlib.Path
        The pages written (two per unit). The CJK font subset the HTML pages share,
        ``out_dir / FONT_FILE``, is written too when the pages have Chinese characters.
    """
    pages: dict[Path, str] = {}
    for facts in bulletin_facts(accounts, allocation, programmes, language=language):
        folder = Path(out_dir) / facts.level
        sections = _sections(facts, language)
        pages[folder / f"{facts.unit_id}.md"] = _markdown(facts, sections, synthetic_note, language)
        pages[folder / f"{facts.unit_id}.html"] = _html(facts, sections, synthetic_note, language)
    characters = cjk_characters("".join(t for p, t in pages.items() if p.suffix == ".html"))
    if characters:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        _write_bytes(Path(out_dir) / FONT_FILE, subset_woff(characters))
    written = []
    for path, page in pages.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        written.append(_write(path, page))
    return written
