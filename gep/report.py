"""The self-contained HTML report of a run: summary, maps, tables, methods, data quality.

The report is in the run's ``language`` (:mod:`gep.i18n`): headings, summary lines, table
captions and column headings; Chinese reports give amounts in 万元 or 亿元 (each table column in
one unit, named in its heading), English reports exact CNY. Warnings and the sources of prices
and parameters are shown as the run and the catalog wrote them.

Chinese shows in a browser without CJK fonts: the page embeds the CJK font of the ``mplfonts``
package cut down to the characters the page uses (:func:`gep.fonts.css_font_face`, WOFF in a
data URI), tens of kilobytes instead of the 16 MB font, and used only for CJK code points.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pandas.api.types import is_numeric_dtype

from data_catalog.catalog import Catalog
from gep.accounts import gep_by_unit
from gep.config import RunConfig
from gep.fonts import HTML_FAMILY, css_font_face
from gep.i18n import Language, column_label, is_amount_column, level_label, text, yuan_unit
from gep.io.atomic import atomic_write
from gep.services.catalogue import CATALOGUE

if TYPE_CHECKING:
    from gep.pipeline import Accounts

__all__ = [
    "CATEGORY_COLUMNS",
    "ReportContent",
    "gep_summary_lines",
    "render",
    "run_report_content",
    "write_report",
    "write_run_report",
]

CATEGORY_COLUMNS = (
    "gep_provisioning_constant_cny",
    "gep_regulating_constant_cny",
    "gep_cultural_constant_cny",
    "gep_r_constant_cny",
)

_CSS = """
body{font-family:'FAMILY',system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45}
h1{border-bottom:3px solid #2e7d32}h2{color:#2e7d32;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#eef5ee}
td.t,th.t{text-align:left}.warn{background:#fff3e0;border-left:5px solid #ef6c00;padding:.5em 1em}
.synthetic{background:#ffebee;border:2px solid #c62828;padding:.7em 1em;font-weight:bold}
figure{display:inline-block;margin:.5em;vertical-align:top}figure img{max-width:520px}
figcaption{font-size:.85em;color:#555}
""".replace("FAMILY", HTML_FAMILY)  # the embedded CJK subset first: it covers CJK code points only


@dataclass
class ReportContent:
    """Everything the report shows; built by the run, rendered by :func:`write_report`."""

    title: str
    summary_lines: list[str]
    tables: list[tuple[str, pd.DataFrame]]
    maps: list[tuple[str, Path]]
    methods: pd.DataFrame
    parameters: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    synthetic_note: str | None = None
    language: Language = "en"


def _table(df: pd.DataFrame, *, text_columns: tuple[str, ...] = ()) -> str:
    text = {c for c in df.columns if c in text_columns or not is_numeric_dtype(df[c])}
    head = "".join(
        f"<th class='t'>{html.escape(str(c))}</th>"
        if c in text
        else f"<th>{html.escape(str(c))}</th>"
        for c in df.columns
    )
    rows = []
    for record in df.itertuples(index=False):
        cells = []
        for column, value in zip(df.columns, record, strict=True):
            if isinstance(value, float):
                cells.append(f"<td>{value:,.2f}</td>")
            else:
                cls = " class='t'" if column in text else ""
                cells.append(f"<td{cls}>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(caption: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def render(content: ReportContent) -> str:
    """The report as one HTML string (images and the CJK font subset embedded: no external file).

    Column headings are translated by :func:`gep.i18n.column_label` (English keeps them).
    """
    language = content.language
    t = lambda key: html.escape(text(language, key))  # noqa: E731

    def table(df: pd.DataFrame) -> str:
        return _table(df.rename(columns=lambda c: column_label(str(c), language)))

    body = [f"<h1>{html.escape(content.title)}</h1>"]
    if content.synthetic_note:
        body.append(f"<p class='synthetic'>{html.escape(content.synthetic_note)}</p>")
    body.append(
        f"<h2>{t('report.summary')}</h2><ul>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in content.summary_lines)
        + "</ul>"
    )
    for caption, df in content.tables:
        body.append(f"<h2>{html.escape(caption)}</h2>{table(df)}")
    if content.maps:
        body.append(
            f"<h2>{t('report.maps')}</h2>" + "".join(_figure(c, p) for c, p in content.maps)
        )
    body.append(f"<h2>{t('report.methods')}</h2>" + table(content.methods))
    body.append(f"<h2>{t('report.parameters')}</h2>" + table(content.parameters))
    body.append(f"<h2>{t('report.quality')}</h2>")
    if content.warnings:
        body.append("".join(f"<p class='warn'>{html.escape(w)}</p>" for w in content.warnings))
    else:
        body.append(f"<p>{t('report.no_warning')}</p>")
    text_shown = html.unescape(content.title + "".join(body))
    font = css_font_face(text_shown)
    lang = "zh-CN" if language == "zh" else "en"
    head = (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>"
        f"{html.escape(content.title)}</title><style>{font}{_CSS}</style></head><body>"
    )
    return "\n".join([head, *body, "</body></html>"])


def write_report(content: ReportContent, path: Path) -> Path:
    """Write ``report.html`` atomically."""
    text = render(content)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def gep_summary_lines(
    accounts: pd.DataFrame, base_year: int, language: Language = "en"
) -> list[str]:
    """One line per level and year: GEP, its categories and GEP-R (亿元); partial totals say so."""
    gep = gep_by_unit(accounts)
    totals = gep.groupby(["level", "year"], as_index=False)[
        ["gep_constant_cny", *CATEGORY_COLUMNS]
    ].sum()
    missing = str(gep["gep_missing"].iloc[0]) if len(gep) else ""
    label = (
        text(language, "report.gep_partial", missing=missing)
        if missing
        else text(language, "report.gep")
    )
    lines = []
    for r in totals.to_dict("records"):
        v = {k: f"{float(r[k]) / 1e8:,.2f}" for k in ("gep_constant_cny", *CATEGORY_COLUMNS)}
        lines.append(
            text(
                language,
                "report.summary_line",
                level=level_label(str(r["level"]), language),
                year=r["year"],
                label=label,
                total=v["gep_constant_cny"],
                base=base_year,
                provisioning=v["gep_provisioning_constant_cny"],
                regulating=v["gep_regulating_constant_cny"],
                cultural=v["gep_cultural_constant_cny"],
            )
        )
    return lines


_SERVICE_ZH = {item.service: item.zh for item in CATALOGUE}
_SCOPE_ZH = {"complete": "完整", "partial": "部分核算"}


def localise_amounts(df: pd.DataFrame, language: Language) -> pd.DataFrame:
    """``df`` with its amount columns in 万元 or 亿元 and every heading in Chinese (zh).

    Each amount column (:func:`gep.i18n.is_amount_column`) is divided by the unit its largest
    absolute value calls for (:func:`gep.i18n.yuan_unit`), named in its heading; service names
    and scopes are translated. English tables are returned as they are (exact CNY).

    Examples
    --------
    >>> df = pd.DataFrame({"unit_name": ["密云区"], "gep_constant_cny": [2_100_726_068.31]})
    >>> localise_amounts(df, "zh").to_dict("records")
    [{'单元名称': '密云区', '生态产品总值，不变价（亿元）': 21.0072606831}]
    """
    if language == "en":
        return df
    out = df.copy()
    labels = {}
    for column in df.columns:
        name = str(column)
        if is_amount_column(name):
            divisor, unit = yuan_unit(float(df[column].abs().max()), language)
            out[column] = df[column] / divisor
            labels[column] = column_label(name, language, unit=unit)
        else:
            labels[column] = column_label(name, language)
    if "service" in out.columns:
        out["service"] = out["service"].map(lambda s: _SERVICE_ZH.get(str(s), s))
    if "gep_scope" in out.columns:
        out["gep_scope"] = out["gep_scope"].map(lambda s: _SCOPE_ZH.get(str(s), s))
    return out.rename(columns=labels)


def _components(acc: Accounts, level: str, language: Language) -> pd.DataFrame:
    """Constant-price value of each service component of ``level`` per year (columns)."""
    top = acc.accounts[acc.accounts["level"] == level]
    by_service = top.pivot_table(
        index=["service", "component"], columns="year", values="value_constant_cny", aggfunc="sum"
    )
    names = {}
    for year in by_service.columns:
        if language == "en":
            names[year] = text(language, "report.component_year", year=year)
        else:
            divisor, unit = yuan_unit(float(by_service[year].abs().max()), language)
            by_service[year] = by_service[year] / divisor
            names[year] = text(language, "report.component_year", year=year, unit=unit)
    return localise_amounts(by_service.rename(columns=names).reset_index(), language)


def _methods(config: RunConfig, acc: Accounts) -> pd.DataFrame:
    """Prices of each valued component with their years, deflators and sources."""
    from gep.outputs import component_prices

    prices = component_prices(config, acc.accounts)
    observed = acc.accounts[["service", "component", "year", "price_observed_year"]]
    prices = prices.merge(
        observed.drop_duplicates(["service", "component", "year"]),
        on=["service", "component", "year"],
        how="left",
    )
    return prices[
        [
            "service",
            "component",
            "year",
            "factor",
            "price_current_cny",
            "price_constant_cny",
            "price_unit",
            "price_year",
            "price_observed_year",
            "deflator",
            "price_source",
            "price_confidence",
        ]
    ]


def run_report_content(
    cat: Catalog,
    config: RunConfig,
    acc: Accounts,
    summary: pd.DataFrame,
    maps: list[tuple[str, Path]],
    warnings: list[str],
) -> ReportContent:
    """What a run's report shows, in the configuration's ``language``.

    Parameters
    ----------
    cat : Catalog
        The run's catalog (parameters table, synthetic flag).
    config : RunConfig
        The run configuration (``language``, services, units, base year).
    acc : Accounts
        The run's accounts.
    summary : pandas.DataFrame
        GEP per district (``gep.run.district_summary``), amounts in CNY.
    maps : list of (str, pathlib.Path)
        Captions and files of the maps (:func:`gep.outputs.write_maps`).
    warnings : list of str
        Data-quality warnings.
    """
    language = config.language
    base = config.valuation.base_year
    top = config.units[0].level
    level = level_label(top, language)
    params = cat.table(config.parameters)[
        ["ecosystem_type", "parameter", "value", "unit", "confidence", "source"]
    ]
    service_params = pd.DataFrame(
        [
            {"service": s, "parameter": k, "value": str(v)}
            for s, ps in config.services.items()
            for k, v in ps.items()
        ],
        columns=["service", "parameter", "value"],
    )
    lines = gep_summary_lines(acc.accounts, base, language)
    lines.append(
        text(
            language,
            "report.services_line",
            services=", ".join(config.services),
            years=config.years,
        )
    )
    gep = gep_by_unit(acc.accounts)
    by_category = gep[gep["level"] == top][
        ["unit_id", "unit_name", "year", "gep_constant_cny", *CATEGORY_COLUMNS, "gep_scope"]
    ]
    tables = [
        (text(language, "report.table.districts", base=base), summary),
        (text(language, "report.table.categories", level=level, base=base), by_category),
    ]
    tables = [(caption, localise_amounts(df, language)) for caption, df in tables]
    tables += [
        (
            text(language, "report.table.components", level=level, base=base),
            _components(acc, top, language),
        ),
        (
            text(language, "report.table.service_parameters"),
            localise_amounts(service_params, language),
        ),
    ]
    return ReportContent(
        title=text(language, "report.title", name=config.name),
        summary_lines=lines,
        tables=tables,
        maps=maps,
        methods=localise_amounts(_methods(config, acc), language),
        parameters=params,
        warnings=warnings,
        synthetic_note=text(language, "synthetic_note") if cat.synthetic else None,
        language=language,
    )


def write_run_report(
    cat: Catalog,
    config: RunConfig,
    acc: Accounts,
    summary: pd.DataFrame,
    maps: list[tuple[str, Path]],
    warnings: list[str],
    path: Path,
) -> Path:
    """Write a run's ``report.html`` (:func:`run_report_content`, :func:`write_report`)."""
    return write_report(run_report_content(cat, config, acc, summary, maps, warnings), path)
