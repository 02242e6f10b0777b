"""Maps (PNG) of a run: GEP and its change per township, service rasters, allocation.

Every map has a title, a legend with units, a north arrow and a scale bar (projected grids) or
a graticule (geographic), and a note when the inputs are synthetic. Units are named, not coded:
district names over their outlines and the names of the units with the largest values, in the
run's language (``language``: labels of the north arrow, scale bar and missing data). Chinese is
drawn with the CJK font of the ``mplfonts`` package, registered by file path
(:func:`gep.fonts.font_rc`), never with a system font.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gep.fonts import font_rc  # noqa: E402
from gep.i18n import Language, text  # noqa: E402
from gep.io.atomic import atomic_write  # noqa: E402

SYNTHETIC_FOOTNOTE = "SYNTHETIC INPUTS (gep sample region): not data about Beijing"
DPI = 110
#: Names drawn on a map of many units: those of the units with the largest absolute values.
LABELLED_UNITS = 8
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


@contextmanager
def _fonts(language: Language) -> Iterator[None]:
    """Draw (and save) with the CJK font of :mod:`gep.fonts` for ``language``."""
    with plt.rc_context({"font.family": font_rc(language)["font.family"]}):
        yield


def _decorate(ax: Axes, *, projected: bool, note: str | None, language: Language) -> None:
    ax.annotate(
        text(language, "map.north"),
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        # the CJK font has one weight: bold only for the Latin "N"
        fontweight="bold" if language == "en" else "normal",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9},
    )
    if projected:
        _scale_bar(ax, language)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.grid(True, linewidth=0.3, color="0.6")
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


def scale_bar_km(span_km: float) -> float:
    """Length of a scale bar for a map ``span_km`` wide: 1, 2 or 5 × 10ⁿ km, at most a quarter.

    Examples
    --------
    >>> scale_bar_km(180.0), scale_bar_km(90.0), scale_bar_km(3.0), scale_bar_km(0.1)
    (20.0, 20.0, 0.5, 0.02)
    >>> scale_bar_km(4000.0)
    1000.0
    """
    quarter = span_km / 4
    if not quarter > 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(quarter))
    step = max(m for m in (1, 2, 5) if m * power <= quarter * (1 + 1e-9))
    return float(f"{step * power:.6g}")


def _scale_bar(ax: Axes, language: Language) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span_km = (x1 - x0) / 1000.0
    length_km = scale_bar_km(span_km)
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.plot([bx, bx + length_km * 1000.0], [by, by], color="black", linewidth=3)
    ax.text(
        bx + length_km * 500.0,
        by + 0.015 * (y1 - y0),
        text(language, "map.scale", length=f"{length_km:g}"),
        ha="center",
        va="bottom",
        fontsize=8,
    )


def _name_units(
    ax: Axes, polygons: gpd.GeoDataFrame, names: pd.Series, *, fontsize: float, dark: bool
) -> None:
    """Write ``names`` (indexed by ``unit_id``) at a point inside each named polygon.

    Names are set in the CJK font's only weight (no bold): ``dark`` ones in black, others in
    dark grey.
    """
    named = polygons[polygons["unit_id"].isin(names.index)]
    for unit_id, point in zip(named["unit_id"], named.representative_point(), strict=True):
        ax.text(
            point.x,
            point.y,
            str(names[unit_id]),
            ha="center",
            va="center",
            fontsize=fontsize,
            color="black" if dark else "0.25",
            path_effects=_HALO,
        )


def largest_units(values: pd.Series, names: pd.Series, count: int = LABELLED_UNITS) -> pd.Series:
    """Names of the ``count`` units with the largest absolute values (the ones a map labels).

    Examples
    --------
    >>> values = pd.Series({"a": 1.0, "b": -5.0, "c": 3.0, "d": float("nan")})
    >>> names = pd.Series({"a": "甲", "b": "乙", "c": "丙", "d": "丁"})
    >>> largest_units(values, names, 2).to_dict()
    {'b': '乙', 'c': '丙'}
    """
    finite = values[np.isfinite(values.astype(float))]
    top = finite.abs().sort_values(ascending=False, kind="stable").index[:count]
    return names.reindex(top).dropna()


def _boundaries(ax: Axes, units: gpd.GeoDataFrame, *, color: str, linewidth: float) -> None:
    """Draw the units' boundaries as one line collection.

    What ``units.boundary.plot(ax=ax, ...)`` draws (geopandas adds a ``LineCollection`` and
    rescales the view the same way), without the whole-figure draw (``plt.draw()``) geopandas
    ends its plots with: a third of the time of a raster map.
    """
    import shapely
    from matplotlib.collections import LineCollection

    lines = shapely.get_parts(np.asarray(units.geometry.boundary.values))
    segments = [shapely.get_coordinates(line) for line in lines if not line.is_empty]
    ax.add_collection(LineCollection(segments, colors=color, linewidths=linewidth), autolim=True)
    ax.autoscale_view()


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
    names: pd.Series | None = None,
    outline_names: pd.Series | None = None,
    language: Language = "en",
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
        Upper-level boundaries drawn on top (districts over townships), with ``unit_id``.
    names : Series, optional
        Names (indexed by ``unit_id``) written on the units they name.
    outline_names : Series, optional
        Names (indexed by ``unit_id``) written larger, in black, on the outline's units.
    language : {"en", "zh"}
        Language of the map's own labels (north arrow, scale bar, missing data) and font order.
    """
    with _fonts(language):
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
            missing_kwds={"color": "0.9", "label": text(language, "map.no_data")},
            **kwargs,
        )
        if outline is not None:
            outline = outline.to_crs(gdf.crs)
            _boundaries(ax, outline, color="black", linewidth=0.6)
            if outline_names is not None:
                _name_units(ax, outline, outline_names, fontsize=8, dark=True)
        if names is not None:
            _name_units(ax, gdf, names, fontsize=6.5, dark=False)
        ax.set_title(title)
        _decorate(ax, projected=not bool(gdf.crs.is_geographic), note=note, language=language)
        return _save(fig, path)


#: Largest side (pixels) of the array a raster map is drawn from (a 7.5-inch figure at
#: :data:`DPI` shows about 800).
DISPLAY_MAX_SIDE = 1500


def display_factor(shape: tuple[int, ...], max_side: int) -> int:
    """Block side of a raster map's means: the smallest power of two fitting ``max_side``.

    A power of two, so a COG's overview of that factor (exact block means, as
    :mod:`gep.io.cog` writes them) is the display array itself.

    Examples
    --------
    >>> display_factor((6030, 5990), 1500), display_factor((603, 599), 1500)
    (8, 1)
    """
    needed = -(-max(shape) // max_side)
    return 1 << max(0, int(needed - 1).bit_length())


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
    factor = display_factor(values.shape, max_side)
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


def display_values(da: xr.DataArray, max_side: int, source: Path | None = None) -> np.ndarray:
    """:func:`display_array` of ``da``; dask-backed arrays are reduced chunk by chunk.

    A raster streamed to disk (``gep run`` at 30 m or 10 m) is never read whole: with its
    ``source`` file, the COG's overview of the display factor is read (the same block means,
    written with the raster); otherwise each chunk is reduced to its block means (NaN ignored,
    the edge padded with NaN), as :func:`display_array` does for an array in memory.

    Examples
    --------
    >>> import dask.array as dsa
    >>> a = np.arange(16, dtype=float).reshape(4, 4)
    >>> lazy = xr.DataArray(dsa.from_array(a, chunks=2), dims=("y", "x"))
    >>> bool(np.array_equal(display_values(lazy, 2), display_array(a, 2)))
    True
    """
    if da.chunks is None:
        return display_array(np.asarray(da.values), max_side)
    factor = display_factor(da.shape, max_side)
    if factor <= 1:
        return np.asarray(da.values, dtype=np.float64)
    if source is not None:
        overview = _overview(source, factor, da.shape)
        if overview is not None:
            return overview
    coarse = da.astype(np.float64).coarsen(y=factor, x=factor, boundary="pad").mean()
    return np.asarray(coarse.values)


def _overview(path: Path, factor: int, shape: tuple[int, ...]) -> np.ndarray | None:
    """The overview of ``factor`` of the raster file ``path`` (NaN for nodata), if it has one."""
    import rasterio

    with rasterio.open(path) as src:
        if (src.height, src.width) != tuple(shape) or factor not in src.overviews(1):
            return None
        out_shape = (-(-src.height // factor), -(-src.width // factor))
        # read at the overview's size: GDAL serves it from that overview, nothing resampled
        values = src.read(1, out_shape=out_shape, masked=True)
    return values.astype(np.float64).filled(np.nan)


def raster_map(
    da: xr.DataArray,
    path: Path,
    *,
    title: str,
    legend: str,
    note: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    outline_names: pd.Series | None = None,
    language: Language = "en",
    source: Path | None = None,
) -> Path:
    """Map a per-pixel raster (robust 2–98 % colour stretch; diverging if it changes sign).

    Rasters larger than :data:`DISPLAY_MAX_SIDE` pixels a side are drawn from block means
    (:func:`display_array`): a 7.5-inch figure shows no more, and a 30 m or 10 m raster is not
    copied, sorted and resampled whole by the plotting library. ``outline_names`` (indexed by
    ``unit_id`` of ``outline``) are written on the outline's units. ``source``: the file a
    dask-backed ``da`` was read from as it is, whose overviews serve as the block means.
    """
    values = display_values(da, DISPLAY_MAX_SIDE, source)
    finite = values[np.isfinite(values)]
    with _fonts(language):
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
            _boundaries(ax, outline, color="white", linewidth=0.4)
            if outline_names is not None:
                _name_units(ax, outline, outline_names, fontsize=8, dark=True)
        ax.set_title(title)
        _decorate(ax, projected=True, note=note, language=language)
        return _save(fig, path)


def bar_chart(
    values: pd.Series,
    path: Path,
    *,
    title: str,
    ylabel: str,
    note: str | None = None,
    language: Language = "en",
) -> Path:
    """Bar chart of one value per unit (e.g. allocation by district), labelled by the index.

    Index ``values`` by unit name to show names rather than codes.
    """
    with _fonts(language):
        fig, ax = plt.subplots(figsize=(9, 4.5))
        ax.bar([str(i) for i in values.index], values.to_numpy(), color="seagreen")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
        fig.subplots_adjust(bottom=0.25)
        if note:
            fig.text(0.01, 0.01, note, fontsize=8, color="firebrick", va="bottom")
        return _save(fig, path)
