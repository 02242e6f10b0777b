"""Maps (PNG) of a run: GEP and its change per township, service rasters, allocation.

Every map has a title, a legend with units, a north arrow and a scale bar (projected grids) or
a graticule (geographic), and a note when the inputs are synthetic. Unit names are not drawn
(the default fonts have no Chinese glyphs); units are identified by code in the tables.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gep.io.atomic import atomic_write  # noqa: E402

SYNTHETIC_FOOTNOTE = "SYNTHETIC INPUTS (gep sample region): not data about Beijing"
DPI = 110


def _decorate(ax: Axes, *, projected: bool, note: str | None) -> None:
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9},
    )
    if projected:
        _scale_bar(ax)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.grid(True, linewidth=0.3, color="0.6")
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
    ax.set_xlabel("")
    ax.set_ylabel("")
    if note:
        ax.text(
            0.0,
            -0.03,
            note,
            transform=ax.transAxes,
            fontsize=8,
            color="firebrick",
            ha="left",
            va="top",
        )


def _scale_bar(ax: Axes) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span_km = (x1 - x0) / 1000.0
    length_km = float(next(v for v in (100, 50, 20, 10, 5, 2, 1) if v <= span_km / 4))
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.plot([bx, bx + length_km * 1000.0], [by, by], color="black", linewidth=3)
    ax.text(
        bx + length_km * 500.0,
        by + 0.015 * (y1 - y0),
        f"{length_km:g} km",
        ha="center",
        va="bottom",
        fontsize=8,
    )


def _save(fig: Figure, path: Path) -> Path:
    def write(tmp: Path) -> None:
        fig.savefig(tmp, dpi=DPI, format="png", bbox_inches="tight")

    try:
        return atomic_write(path, write)
    finally:
        plt.close(fig)


def choropleth(
    units: gpd.GeoDataFrame,
    values: pd.Series,
    path: Path,
    *,
    title: str,
    legend: str,
    note: str | None = None,
    diverging: bool = False,
    outline: gpd.GeoDataFrame | None = None,
) -> Path:
    """Map one value per unit polygon.

    Parameters
    ----------
    units : GeoDataFrame
        Polygons with a ``unit_id`` column.
    values : Series
        Values indexed by ``unit_id``.
    legend : str
        Colour-bar label, with units (e.g. ``"GEP, 10⁶ CNY (2020 prices)"``).
    diverging : bool
        Centre the colour scale on zero (for changes).
    outline : GeoDataFrame, optional
        Upper-level boundaries drawn on top (districts over townships).
    """
    gdf = units.merge(values.rename("value").reset_index(), on="unit_id", how="left")
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    kwargs: dict[str, object] = {"cmap": "YlGn"}
    finite = gdf["value"][np.isfinite(gdf["value"])]
    if diverging and len(finite):
        bound = float(max(abs(finite.min()), abs(finite.max()), 1e-12))
        kwargs = {"cmap": "RdBu", "norm": TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)}
    gdf.plot(
        column="value",
        ax=ax,
        legend=True,
        edgecolor="0.5",
        linewidth=0.2,
        legend_kwds={"label": legend, "shrink": 0.7},
        missing_kwds={"color": "0.9", "label": "no data"},
        **kwargs,
    )
    if outline is not None:
        outline.to_crs(gdf.crs).boundary.plot(ax=ax, color="black", linewidth=0.6)
    ax.set_title(title)
    _decorate(ax, projected=not bool(gdf.crs.is_geographic), note=note)
    return _save(fig, path)


#: Largest side (pixels) of the array a raster map is drawn from.
DISPLAY_MAX_SIDE = 1500


def display_array(values: np.ndarray, max_side: int) -> np.ndarray:
    """``values`` reduced by whole-block means (NaN ignored) to at most ``max_side`` a side.

    Works through bands of rows, so the memory it adds is a band, not a copy of the raster.

    Examples
    --------
    >>> a = np.arange(16, dtype=float).reshape(4, 4)
    >>> display_array(a, 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    >>> display_array(a, 4).shape
    (4, 4)
    """
    factor = int(np.ceil(max(values.shape) / max_side))
    if factor <= 1:
        return values.astype(np.float64, copy=False)
    rows, cols = values.shape
    out_rows, out_cols = -(-rows // factor), -(-cols // factor)
    out = np.full((out_rows, out_cols), np.nan)
    band_rows = factor * 64
    for r0 in range(0, rows, band_rows):
        band = values[r0 : r0 + band_rows].astype(np.float64)
        n = -(-band.shape[0] // factor)
        padded = np.full((n * factor, out_cols * factor), np.nan)
        padded[: band.shape[0], :cols] = band
        blocks = padded.reshape(n, factor, out_cols, factor)
        finite = np.isfinite(blocks)
        counts = finite.sum(axis=(1, 3))
        sums = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[r0 // factor : r0 // factor + n] = np.where(counts > 0, sums / counts, np.nan)
    return out


def raster_map(
    da: xr.DataArray,
    path: Path,
    *,
    title: str,
    legend: str,
    note: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
) -> Path:
    """Map a per-pixel raster (robust 2–98 % colour stretch; diverging if it changes sign).

    Rasters larger than :data:`DISPLAY_MAX_SIDE` pixels a side are drawn from block means
    (:func:`display_array`): a 7.5-inch figure shows no more, and a 30 m or 10 m raster is not
    copied, sorted and resampled whole by the plotting library.
    """
    values = display_array(np.asarray(da.values), DISPLAY_MAX_SIDE)
    finite = values[np.isfinite(values)]
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    x, y = da["x"].values, da["y"].values
    extent = (
        x[0] - (x[1] - x[0]) / 2,
        x[-1] + (x[1] - x[0]) / 2,
        y[-1] - (y[0] - y[1]) / 2,
        y[0] + (y[0] - y[1]) / 2,
    )
    if finite.size and finite.min() < 0 < finite.max():
        bound = float(np.percentile(np.abs(finite), 98)) or 1.0
        image = ax.imshow(
            values,
            extent=extent,
            cmap="RdBu",
            norm=TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound),
        )
    else:
        lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
        image = ax.imshow(values, extent=extent, cmap="viridis", vmin=lo, vmax=hi or lo + 1)
    fig.colorbar(image, ax=ax, shrink=0.7, label=legend)
    if outline is not None:
        outline.boundary.plot(ax=ax, color="white", linewidth=0.4)
    ax.set_title(title)
    _decorate(ax, projected=True, note=note)
    return _save(fig, path)


def bar_chart(
    values: pd.Series, path: Path, *, title: str, ylabel: str, note: str | None = None
) -> Path:
    """Bar chart of one value per unit (e.g. allocation by district)."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bar([str(i) for i in values.index], values.to_numpy(), color="seagreen")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.subplots_adjust(bottom=0.25)
    if note:
        fig.text(0.01, 0.01, note, fontsize=8, color="firebrick", va="bottom")
    return _save(fig, path)
