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
from pathlib import Path

import pandas as pd

from gep.bulletin.facts import (
    _SERVICE_ZH,
    _TOP_DRIVERS,
    CATEGORY_LABELS,
    FONT_FILE,
    PROGRAMME_LABELS,
    _Facts,
    bulletin_facts,
)
from gep.fonts import HTML_FAMILY, cjk_characters, subset_woff
from gep.i18n import Language, format_yuan, level_label, text
from gep.services.catalogue import CATEGORIES

__all__ = [
    "CATEGORY_LABELS",
    "FONT_FILE",
    "PROGRAMME_LABELS",
    "bulletin_facts",
    "write_bulletins",
]


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
