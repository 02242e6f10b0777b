"""What an occupation run writes: the map, the summaries, the JSON and the components table."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from data_catalog.grid import Grid
from gep.io.atomic import atomic_write
from gep.occupation.compute import States
from gep.occupation.config import ANALOGUE_VARIABLES, OccupationSettings
from gep.occupation.footprint import Conversion


def _map(
    conv: Conversion,
    states: States,
    footprint: gpd.GeoDataFrame,
    grid: Grid,
    path: Path,
    note: str | None,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    rows, cols = np.nonzero(conv.coverage > 0)
    pad = 12
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, grid.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, grid.shape[1])
    window = states.pixel_loss_cny[r0:r1, c0:c1]
    left, top = grid.transform * (c0, r0)
    right, bottom = grid.transform * (c1, r1)
    fig, ax = plt.subplots(figsize=(7.0, 6.0))
    limit = float(np.nanmax(np.abs(window))) or 1.0
    image = ax.imshow(
        window,
        extent=(left, right, bottom, top),
        cmap="RdBu_r",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit),
        interpolation="nearest",
    )
    footprint.boundary.plot(ax=ax, color="black", linewidth=1.2)
    fig.colorbar(
        image, ax=ax, shrink=0.8, label="GEP removed per pixel (CNY yr-1, constant prices)"
    )
    ax.set_title(f"Occupation: GEP removed by the footprint ({conv.year})")
    width_km = (right - left) / 1000.0
    bar = float(next((v for v in (10, 5, 2, 1, 0.5, 0.2, 0.1) if v <= width_km / 4), 0.1))
    ax.plot(
        [left + 0.05 * (right - left), left + 0.05 * (right - left) + bar * 1000],
        [bottom + 0.05 * (top - bottom)] * 2,
        color="black",
        linewidth=3,
    )
    ax.text(
        left + 0.05 * (right - left) + bar * 500,
        bottom + 0.07 * (top - bottom),
        f"{bar:g} km",
        ha="center",
        fontsize=8,
    )
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9},
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    if note:
        ax.text(0.0, -0.04, note, transform=ax.transAxes, fontsize=7, color="firebrick", va="top")

    def write(tmp: Path) -> None:
        fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight")

    try:
        return atomic_write(path, write)
    finally:
        plt.close(fig)


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _summary_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Footprint area (polygon)", f"{result['footprint_area_m2']:,.0f} m2"),
        (
            "Pixels converted to built-up",
            f"{result['converted_pixels']} ({result['converted_area_m2']:,.0f} m2)",
        ),
        (
            "Land cover before (class: pixels)",
            ", ".join(f"{k}: {v}" for k, v in result["classes_before"].items()),
        ),
        ("Year (land cover and weather)", str(result["year"])),
        (
            f"Annual GEP removed (constant prices of {result['price_base_year']})",
            f"{_money(result['annual_loss_constant_cny'])} CNY yr-1",
        ),
        ("Horizon, discount rate", f"{result['horizon_years']} yr, {result['discount_rate']:.2%}"),
        ("Annuity factor", f"{result['annuity_factor']:.6f}"),
        ("Compensation due (present value)", f"{_money(result['compensation_cny'])} CNY"),
    ]


_METHOD = (
    "Footprint pixels (coverage ≥ {cov:.0%}) converted to the built-up class; every service "
    "recomputed on the whole region for both states and summed over the region's units; both "
    "states valued at constant prices; compensation = annual loss × Σ_(t=1..H) (1+r)^−t "
    "(ordinary annuity). Converted pixels' {vars}: {analogue}."
)


def _method_text(settings: OccupationSettings) -> str:
    how = (
        "median of the region's built-up pixels"
        if settings.analogue == "class_median"
        else "unchanged"
    )
    return _METHOD.format(
        cov=settings.min_coverage, vars=", ".join(ANALOGUE_VARIABLES), analogue=how
    )


def _markdown(
    result: dict[str, Any], components: pd.DataFrame, settings: OccupationSettings, note: str | None
) -> str:
    lines = ["# Occupation compensation: one-page summary", ""]
    if note:
        lines += [f"> **{note}**", ""]
    lines += ["| item | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in _summary_rows(result)]
    lines += ["", "## GEP removed by component (constant prices)", ""]
    lines += [
        "| service | component | quantity before | quantity after | unit | loss (CNY yr-1) |",
        "|---|---|---:|---:|---|---:|",
    ]
    for r in components.to_dict("records"):
        lines.append(
            f"| {r['service']} | {r['component']} | {r['quantity_before']:,.1f} | "
            f"{r['quantity_after']:,.1f} | {r['quantity_unit']} | "
            f"{_money(float(r['annual_loss_constant_cny']))} |"
        )
    lines += ["", "![map](occupation_map.png)", "", "## Method", "", _method_text(settings), ""]
    return "\n".join(lines)


def _html(
    result: dict[str, Any], components: pd.DataFrame, settings: OccupationSettings, note: str | None
) -> str:
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _summary_rows(result))
    comp = "".join(
        f"<tr><td>{esc(str(r['service']))}</td><td>{esc(str(r['component']))}</td>"
        f"<td>{r['quantity_before']:,.1f}</td><td>{r['quantity_after']:,.1f}</td>"
        f"<td>{esc(str(r['quantity_unit']))}</td>"
        f"<td>{_money(float(r['annual_loss_constant_cny']))}</td></tr>"
        for r in components.to_dict("records")
    )
    banner = f'<p class="note"><strong>{esc(note)}</strong></p>' if note else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Occupation compensation</title><style>body{font-family:sans-serif;max-width:60em}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.note{color:#a00}</style>"
        f"</head><body><h1>Occupation compensation: one-page summary</h1>{banner}"
        f"<table>{rows}</table><h2>GEP removed by component (constant prices)</h2><table>"
        "<tr><th>service</th><th>component</th><th>quantity before</th><th>quantity after</th>"
        f"<th>unit</th><th>loss (CNY yr-1)</th></tr>{comp}</table>"
        '<p><img src="occupation_map.png" alt="map of the GEP removed" width="600"></p>'
        f"<h2>Method</h2><p>{esc(_method_text(settings))}</p></body></html>\n"
    )


def _write_text(path: Path, text: str) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def write_outputs(
    out_dir: Path,
    result: dict[str, Any],
    states: States,
    conv: Conversion,
    footprint: gpd.GeoDataFrame,
    grid: Grid,
    settings: OccupationSettings,
    note: str | None,
) -> dict[str, Path]:
    """Write the map, the Markdown and HTML summaries, the JSON and the components CSV atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    components = states.components
    document = {**result, "components": components.to_dict("records")}
    return {
        "map": _map(conv, states, footprint, grid, out_dir / "occupation_map.png", note),
        "markdown": _write_text(
            out_dir / "occupation_summary.md", _markdown(result, components, settings, note)
        ),
        "html": _write_text(
            out_dir / "occupation_summary.html", _html(result, components, settings, note)
        ),
        "json": _write_text(
            out_dir / "occupation.json",
            json.dumps(document, ensure_ascii=False, indent=1, default=str) + "\n",
        ),
        "components": atomic_write(
            out_dir / "occupation_components.csv", lambda tmp: components.to_csv(tmp, index=False)
        ),
    }
