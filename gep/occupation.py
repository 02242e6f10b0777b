"""Occupation compensation (占用补偿): the GEP a construction footprint removes, as money due.

Beijing 2022 implementation opinions §(十七) ask for an occupation compensation system for
construction that occupies natural ecological space (建立健全依法建设占用各类自然生态空间的
占用补偿制度). Here the compensation due is the ecosystem services the footprint removes, at
constant prices, over a horizon, discounted:

1. the footprint's pixels (coverage ≥ ``min_coverage`` of the pixel, exact fractions from
   exactextract) are converted to the built-up class of the land-cover scheme (CLCD 8,
   impervious); state-dependent inputs that the land cover does not drive (actual
   evapotranspiration, NPP) take, on converted pixels, the median over the region's pixels of
   the built-up class in the same year (``analogue: class_median``; ``keep`` leaves them);
2. every service of the run configuration is recomputed on the whole region for both states
   (so off-site effects of routed services such as soil retention count) and summed over the
   region's units (:func:`gep.accounts.zonal_sum`);
3. both states are valued at the constant prices of the valuation base year
   (:func:`gep.valuation.value_quantities`); the annual loss is ``ΔG = GEP_before −
   GEP_after`` (CNY yr⁻¹);
4. the compensation due is the present value of ``ΔG`` paid at the end of each of ``H``
   years at discount rate ``r``:
   ``PV = ΔG · Σ_{t=1..H} (1 + r)^−t = ΔG · (1 − (1 + r)^−H) / r`` (``ΔG · H`` when
   ``r = 0``) — the present value of an ordinary annuity (Boardman et al. 2018,
   *Cost–Benefit Analysis*, 5th ed., ch. 6; the same discounting as InVEST's carbon
   valuation, METHODS §2.3). The horizon and the rate are policy inputs without default.

The run configuration (like ``gep/configs/demo.yaml``) carries an ``occupation:`` section::

    occupation:
      horizon_years: 20        # required
      discount_rate: 0.08      # required (e.g. China's social discount rate, 8 %)
      year: 2020               # land-cover and weather year (default: last of `years`)
      min_coverage: 0.5        # share of a pixel the footprint must cover to convert it
      analogue: class_median   # or keep
      reproject: false         # true: accept a footprint in another CRS and reproject it

Outputs (each written atomically): ``occupation_map.png``, ``occupation_summary.md``,
``occupation_summary.html``, ``occupation.json``, ``occupation_components.csv``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry.base import BaseGeometry

from data_catalog.catalog import Catalog, load_catalog
from data_catalog.grid import Grid
from data_catalog.tables import load_scheme
from gep.accounts import UnitLevel, unit_level, zonal_sum
from gep.config import RunConfig, load_run_config
from gep.errors import CRSError, InputError
from gep.exports import atomic_write
from gep.pipeline import ACCOUNTED, load_prices, run_service
from gep.valuation import value_quantities

__all__ = [
    "ANALOGUE_VARIABLES",
    "OccupationSettings",
    "annuity_factor",
    "cropland_areas",
    "load_occupation_config",
    "run_occupation",
]

#: Input rasters that the land cover does not drive but that change with it: replaced on
#: converted pixels by the built-up class median (``analogue: class_median``).
ANALOGUE_VARIABLES = ("evapotranspiration", "net_primary_production")

SECTION = "occupation"


class OccupationSettings(BaseModel):
    """The ``occupation:`` section of a run configuration (or command-line options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon_years: int = Field(ge=1, le=500)
    discount_rate: float = Field(ge=0.0, lt=1.0)
    year: int | None = None
    min_coverage: float = Field(default=0.5, gt=0.0, le=1.0)
    analogue: Literal["class_median", "keep"] = "class_median"
    reproject: bool = False


def annuity_factor(rate: float, years: int) -> float:
    """Present value of 1 paid at the end of each of ``years`` years: ``Σ (1 + r)^−t``.

    Parameters
    ----------
    rate : float
        Discount rate per year (0 ≤ r < 1).
    years : int
        Horizon in years.

    Returns
    -------
    float
        ``(1 − (1 + r)^−H) / r``, or ``H`` when ``r = 0``.

    Examples
    --------
    >>> round(annuity_factor(0.08, 20), 6), annuity_factor(0.0, 20)
    (9.818147, 20.0)
    """
    if rate == 0.0:
        return float(years)
    return float((1.0 - (1.0 + rate) ** (-years)) / rate)


def load_occupation_config(path: Path, **overrides: Any) -> tuple[RunConfig, OccupationSettings]:
    """Read a run configuration and its ``occupation:`` section (options override it).

    Parameters
    ----------
    path : pathlib.Path
        Run configuration YAML with an ``occupation:`` section.
    **overrides
        Settings given on the command line (``None`` values are ignored).

    Returns
    -------
    tuple
        The run configuration and the occupation settings.

    Raises
    ------
    InputError
        Missing file, invalid run configuration, or missing/invalid occupation settings.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"run configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    section = raw.pop(SECTION, None) or {}
    run = load_run_config(path)
    settings = {**section, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        occupation = OccupationSettings.model_validate(settings)
    except ValidationError as exc:
        lines = [f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InputError(
            f"{path}: occupation settings invalid (give them under `occupation:` or as options; "
            "horizon_years and discount_rate are policy inputs without default):\n"
            + "\n".join(lines)
        ) from exc
    return run, occupation


# --- the footprint -------------------------------------------------------------------------


def _read_footprint(path: Path, grid: Grid, reproject: bool) -> gpd.GeoDataFrame:
    if not Path(path).is_file():
        raise InputError(f"footprint file not found: {path}")
    gdf = gpd.read_file(path)
    polygons = gdf[gdf.geometry.notna() & gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise InputError(
            f"footprint {path}: no polygon found (geometry types {sorted(set(gdf.geom_type))}); "
            "give the construction footprint as one or more polygons"
        )
    if polygons.crs is None:
        raise CRSError(
            f"footprint {path}: has no CRS, so it cannot be placed on the region's grid "
            f"({grid.crs.to_string()}); write the CRS into the file (e.g. ogr2ogr -a_srs)"
        )
    if not polygons.crs.equals(grid.crs):
        if not reproject:
            raise CRSError(
                f"footprint {path}: is in {polygons.crs.to_string()} but the region's grid is in "
                f"{grid.crs.to_string()}, and no transform was asked for; reproject the file "
                f"(ogr2ogr -t_srs {grid.crs.to_string()}) or set occupation.reproject: true "
                "(--reproject)"
            )
        polygons = polygons.to_crs(grid.crs.to_wkt())
    merged = polygons.geometry.union_all()
    return gpd.GeoDataFrame(
        {"footprint_id": ["footprint"]}, geometry=[merged], crs=grid.crs.to_wkt()
    )


def _region(cat: Catalog, run: RunConfig, grid: Grid) -> tuple[gpd.GeoDataFrame, BaseGeometry]:
    units = cat.vector(run.units[0].entry).to_crs(grid.crs.to_wkt())
    return units, units.geometry.union_all()


def _check_inside(footprint: gpd.GeoDataFrame, region: BaseGeometry, path: Path) -> None:
    shape = footprint.geometry.iloc[0]
    outside = shape.difference(region).area
    if outside > 1e-6 * shape.area:
        raise InputError(
            f"footprint {path}: {outside / shape.area:.1%} of its area "
            f"({outside / 1e6:.3f} km2) lies outside the accounting region; the services are "
            "only computed inside it; clip the footprint to the region or use a catalog that "
            "covers it"
        )


@dataclass(frozen=True)
class _Conversion:
    year: int
    target: int
    mask: np.ndarray  # converted pixels (rows, cols)
    coverage: np.ndarray  # footprint coverage fraction per pixel
    before: xr.DataArray
    after: xr.DataArray
    classes_before: dict[int, int]


def _built_up_class(cat: Catalog, landcover_id: str) -> int:
    scheme = load_scheme(cat.entry(landcover_id).class_scheme or "clcd")
    codes = scheme.loc[scheme["ecosystem_type"] == "built_up", "code"].astype(int).tolist()
    if len(codes) != 1:
        raise InputError(
            f"{landcover_id}: the class scheme has {len(codes)} built-up classes {codes}; "
            "occupation needs exactly one class to convert the footprint to"
        )
    return int(codes[0])


def _convert(
    cat: Catalog, footprint: gpd.GeoDataFrame, year: int, min_coverage: float
) -> _Conversion:
    grid = cat.reference_grid()
    level = unit_level(footprint, grid, level="footprint", id_field="footprint_id")
    coverage = np.asarray(level.weights.sum(axis=0)).reshape(grid.shape)
    landcover_id = cat.find(variable="landcover", year=year)
    before = cat.raster(landcover_id)
    target = _built_up_class(cat, landcover_id)
    valid = before.coords["valid"].values
    mask = (coverage >= min_coverage) & valid & (before.values != target)
    if not mask.any():
        raise InputError(
            f"footprint: no pixel to convert in {year}: none is covered to at least "
            f"{min_coverage:.0%} (largest coverage {coverage.max():.0%}) with a land cover "
            "other than built-up; the footprint may be already built up or smaller than the "
            "grid resolution (lower occupation.min_coverage)"
        )
    after = before.copy(deep=True)
    values = after.values
    values[mask] = target
    codes, counts = np.unique(before.values[mask], return_counts=True)
    return _Conversion(
        year,
        target,
        mask,
        coverage,
        before,
        after,
        {int(c): int(n) for c, n in zip(codes, counts, strict=True)},
    )


@dataclass
class _Overlay(Catalog):
    """The catalog with some rasters replaced (the converted state)."""

    overrides: dict[str, xr.DataArray] | None = None

    def raster(self, entry_id: str, *, chunks: int | dict[str, int] | None = None) -> xr.DataArray:
        """The replaced raster for an overridden entry, else the catalog's."""
        if self.overrides and entry_id in self.overrides:
            return self.overrides[entry_id]
        return super().raster(entry_id, chunks=chunks)


def _analogues(cat: Catalog, conv: _Conversion, how: str) -> dict[str, xr.DataArray]:
    out: dict[str, xr.DataArray] = {}
    built = conv.before.coords["valid"].values & (conv.before.values == conv.target)
    for variable in ANALOGUE_VARIABLES:
        try:
            entry_id = cat.find(variable=variable, year=conv.year)
        except InputError:
            continue
        if how == "keep":
            continue
        da = cat.raster(entry_id)
        reference = da.values[built & np.isfinite(da.values)]
        if reference.size == 0:
            raise InputError(
                f"{entry_id}: no built-up pixel with data in {conv.year} to take the "
                "converted pixels' value from; set occupation.analogue: keep"
            )
        changed = da.copy(deep=True)
        changed.values[conv.mask] = np.median(reference)
        out[entry_id] = changed
    return out


def _overlay(cat: Catalog, conv: _Conversion, analogue: str) -> _Overlay:
    state = {f.name: getattr(cat, f.name) for f in fields(cat)}
    overrides = {cat.find(variable="landcover", year=conv.year): conv.after}
    overrides.update(_analogues(cat, conv, analogue))
    return _Overlay(**state, overrides=overrides)


# --- services, quantities, values ----------------------------------------------------------


def _pixel_quantities(
    cat: Catalog, run: RunConfig, params: pd.DataFrame, year: int
) -> dict[str, xr.DataArray]:
    out = {}
    for service in run.services:
        result = run_service(cat, run, params, service, year)
        for name in ACCOUNTED[service]:
            out[name] = result[name].compute()
    return out


def _region_totals(
    level: UnitLevel, rasters: dict[str, xr.DataArray], state: str, year: int
) -> pd.DataFrame:
    rows = []
    for name, da in rasters.items():
        sums, _ = zonal_sum(level, da.values)
        rows.append((state, year, name, float(np.nansum(sums)), str(da.attrs.get("units", ""))))
    return pd.DataFrame(
        rows, columns=["unit_id", "year", "quantity_name", "quantity", "quantity_unit"]
    )


@dataclass(frozen=True)
class _States:
    before: dict[str, xr.DataArray]
    after: dict[str, xr.DataArray]
    components: pd.DataFrame  # per valued component: before/after quantity and value
    pixel_loss_cny: np.ndarray  # constant-price value lost per pixel (CNY yr-1)


def _value_states(
    run: RunConfig,
    level: UnitLevel,
    before: dict[str, xr.DataArray],
    after: dict[str, xr.DataArray],
    year: int,
) -> _States:
    quantities = pd.concat(
        [
            _region_totals(level, before, "before", year),
            _region_totals(level, after, "after", year),
        ],
        ignore_index=True,
    )
    prices, indices = load_prices(run)
    valued = value_quantities(quantities, run.valuation, prices, indices)
    keys = ["service", "component"]
    wide = valued.pivot_table(
        index=keys, columns="unit_id", values=["quantity", "value_constant_cny"], aggfunc="first"
    )
    first = valued.drop_duplicates(keys).set_index(keys)
    components = pd.DataFrame(
        {
            "quantity_before": wide[("quantity", "before")],
            "quantity_after": wide[("quantity", "after")],
            "quantity_unit": first["quantity_unit"],
            "value_before_constant_cny": wide[("value_constant_cny", "before")],
            "value_after_constant_cny": wide[("value_constant_cny", "after")],
            "price_constant_cny": first["price_constant_cny"],
            "price_unit": first["price_unit"],
            "factor": first["factor"],
            "price_base_year": run.valuation.base_year,
            "price_source": first["price_source"],
        }
    ).reset_index()
    components["annual_loss_constant_cny"] = (
        components["value_before_constant_cny"] - components["value_after_constant_cny"]
    )
    pixel = np.zeros(level.weights.shape[1]).reshape(before[next(iter(before))].shape)
    for comp in run.valuation.enabled():
        row = components[
            (components["service"] == comp.service) & (components["component"] == comp.component)
        ]
        if row.empty or comp.quantity not in before:
            continue
        rate = float(row["factor"].iloc[0]) * float(row["price_constant_cny"].iloc[0])
        delta = np.nan_to_num(before[comp.quantity].values - after[comp.quantity].values)
        pixel = pixel + delta * rate
    return _States(before, after, components, pixel)


def _physical(states: _States) -> pd.DataFrame:
    rows = []
    for name, da in states.before.items():
        b = float(np.nansum(da.values))
        a = float(np.nansum(states.after[name].values))
        rows.append((name, str(da.attrs.get("units", "")), b, a, b - a))
    return pd.DataFrame(
        rows, columns=["quantity_name", "quantity_unit", "grid_before", "grid_after", "grid_loss"]
    )


# --- outputs -------------------------------------------------------------------------------


def _map(
    conv: _Conversion,
    states: _States,
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


def _write_outputs(
    out_dir: Path,
    result: dict[str, Any],
    states: _States,
    conv: _Conversion,
    footprint: gpd.GeoDataFrame,
    grid: Grid,
    settings: OccupationSettings,
    note: str | None,
) -> dict[str, Path]:
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


def run_occupation(
    footprint: Path,
    config: Path,
    out_dir: Path | None = None,
    *,
    horizon_years: int | None = None,
    discount_rate: float | None = None,
    reproject: bool | None = None,
) -> dict[str, Any]:
    """GEP removed by a construction footprint and the compensation due; write map and summary.

    Parameters
    ----------
    footprint : pathlib.Path
        Vector file (GeoJSON, GeoPackage, shapefile) with the footprint polygon(s).
    config : pathlib.Path
        Run configuration with an ``occupation:`` section (see the module docstring).
    out_dir : pathlib.Path, optional
        Output folder (default ``./gep-occupation-output``).
    horizon_years, discount_rate, reproject : optional
        Override the ``occupation:`` settings (command-line options).

    Returns
    -------
    dict
        ``compensation_cny``, ``annual_loss_constant_cny``, ``annuity_factor``, ``year``,
        ``price_base_year``, ``horizon_years``, ``discount_rate``, ``converted_pixels``,
        ``converted_area_m2``, ``footprint_area_m2``, ``classes_before``, ``on_site_share``,
        ``components`` (DataFrame), ``physical`` (DataFrame) and ``outputs`` (paths).

    Raises
    ------
    InputError
        Missing settings, footprint outside the region, nothing to convert.
    CRSError
        Footprint without CRS, or in another CRS without ``reproject``.
    """
    run, settings = load_occupation_config(
        config, horizon_years=horizon_years, discount_rate=discount_rate, reproject=reproject
    )
    year = settings.year if settings.year is not None else max(run.years)
    cat = load_catalog(run.catalog_file())
    grid = cat.reference_grid()
    shape = _read_footprint(Path(footprint), grid, settings.reproject)
    units, region = _region(cat, run, grid)
    _check_inside(shape, region, Path(footprint))
    conv = _convert(cat, shape, year, settings.min_coverage)
    params = cat.table(run.parameters)
    before = _pixel_quantities(cat, run, params, year)
    after = _pixel_quantities(_overlay(cat, conv, settings.analogue), run, params, year)
    cfg = run.units[0]
    entry = cat.entry(cfg.entry)
    level = unit_level(units, grid, level=cfg.level, id_field=entry.id_field or "")
    states = _value_states(run, level, before, after, year)
    annual = float(states.components["annual_loss_constant_cny"].sum())
    factor = annuity_factor(settings.discount_rate, settings.horizon_years)
    on_site = float(states.pixel_loss_cny[conv.mask].sum())
    cell = grid.cell_area_m2()
    result: dict[str, Any] = {
        "compensation_cny": annual * factor,
        "annual_loss_constant_cny": annual,
        "annuity_factor": factor,
        "year": year,
        "price_base_year": run.valuation.base_year,
        "horizon_years": settings.horizon_years,
        "discount_rate": settings.discount_rate,
        "converted_pixels": int(conv.mask.sum()),
        "converted_area_m2": float(np.broadcast_to(cell, grid.shape)[conv.mask].sum()),
        "footprint_area_m2": float(shape.geometry.iloc[0].area * grid.linear_unit_factor() ** 2),
        "classes_before": conv.classes_before,
        "on_site_share": on_site / float(states.pixel_loss_cny.sum())
        if states.pixel_loss_cny.sum()
        else float("nan"),
        "currency": "CNY",
    }
    note = None
    if cat.synthetic:
        note = "SYNTHETIC INPUTS (gep sample region): not data about Beijing"
    target = out_dir if out_dir is not None else Path.cwd() / "gep-occupation-output"
    outputs = _write_outputs(Path(target), result, states, conv, shape, grid, settings, note)
    return {
        **result,
        "components": states.components,
        "physical": _physical(states),
        "outputs": outputs,
    }


# --- land-cover accounts for the cropland programme -----------------------------------------


def cropland_areas(cat: Catalog, levels: list[UnitLevel], years: list[int]) -> pd.DataFrame:
    """Cropland area per unit and year, and cropland lost to construction since the last year.

    The ``cropland_areas`` table of the linkage cropland programme
    (:mod:`linkage.programmes.cropland`): ``cropland_area_m2 = Σ W·[lc = cropland]·A`` (exact
    coverage ``W``, cell area ``A``) and ``cropland_to_construction_m2 = Σ W·[lc_prev =
    cropland and lc = built-up]·A`` against the previous year of ``years`` (0 for the first).
    Classes are those of the scheme's ecosystem types ``cropland`` and ``built_up``.

    Parameters
    ----------
    cat : Catalog
        The catalog (land cover per year, its class scheme, the grid).
    levels : list of UnitLevel
        Accounting units.
    years : list of int
        Accounted years.

    Returns
    -------
    pandas.DataFrame
        ``unit_id, level, year, cropland_area_m2, cropland_to_construction_m2``.
    """
    area = np.broadcast_to(cat.reference_grid().cell_area_m2(), cat.reference_grid().shape)
    frames = []
    previous: np.ndarray | None = None
    for year in sorted(years):
        entry_id = cat.find(variable="landcover", year=year)
        da = cat.raster(entry_id)
        scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
        types = scheme.set_index(scheme["code"].astype(int))["ecosystem_type"]
        crop_codes = types.index[types == "cropland"].to_numpy()
        built = np.isin(da.values, types.index[types == "built_up"].to_numpy())
        crop = np.isin(da.values, crop_codes) & da.coords["valid"].values
        lost = (previous & built) if previous is not None else np.zeros_like(crop)
        for level in levels:
            cropland, _ = zonal_sum(level, np.where(crop, area, 0.0))
            loss, _ = zonal_sum(level, np.where(lost, area, 0.0))
            frames.append(
                pd.DataFrame(
                    {
                        "unit_id": level.ids,
                        "level": level.level,
                        "year": year,
                        "cropland_area_m2": cropland,
                        "cropland_to_construction_m2": loss,
                    }
                )
            )
        previous = crop
    return pd.concat(frames, ignore_index=True)
