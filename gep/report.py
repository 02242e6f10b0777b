"""The self-contained HTML report of a run: summary, maps, tables, methods, data quality."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pandas.api.types import is_numeric_dtype

from gep.io.atomic import atomic_write

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45}
h1{border-bottom:3px solid #2e7d32}h2{color:#2e7d32;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#eef5ee}
td.t,th.t{text-align:left}.warn{background:#fff3e0;border-left:5px solid #ef6c00;padding:.5em 1em}
.synthetic{background:#ffebee;border:2px solid #c62828;padding:.7em 1em;font-weight:bold}
figure{display:inline-block;margin:.5em;vertical-align:top}figure img{max-width:520px}
figcaption{font-size:.85em;color:#555}
"""


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
    """The report as one HTML string (images embedded as data URIs: no external files)."""
    parts = [
        f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>"
        f"{html.escape(content.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(content.title)}</h1>",
    ]
    if content.synthetic_note:
        parts.append(f"<p class='synthetic'>{html.escape(content.synthetic_note)}</p>")
    parts.append(
        "<h2>Summary</h2><ul>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in content.summary_lines)
        + "</ul>"
    )
    for caption, df in content.tables:
        parts.append(f"<h2>{html.escape(caption)}</h2>{_table(df)}")
    if content.maps:
        parts.append("<h2>Maps</h2>" + "".join(_figure(c, p) for c, p in content.maps))
    parts.append("<h2>Methods and prices</h2>" + _table(content.methods))
    parts.append("<h2>Parameters and their sources</h2>" + _table(content.parameters))
    parts.append("<h2>Data quality</h2>")
    if content.warnings:
        parts.append("".join(f"<p class='warn'>{html.escape(w)}</p>" for w in content.warnings))
    else:
        parts.append("<p>No data-quality warning.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(content: ReportContent, path: Path) -> Path:
    """Write ``report.html`` atomically."""
    text = render(content)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
