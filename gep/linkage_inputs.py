"""Prepare the linkage layer's input tables from a run's accounts and the catalog's tables.

The linkage layer reads CSV tables named in its policy file (``linkage.config.Inputs``). A run
writes them into ``<output>/linkage_inputs/`` from:

* the accounts (``accounts.csv``);
* the catalog table ``unit_indicators`` (``unit_id, year, area_km2, population,
  eco_quality_index, redline_area_km2, nature_reserve_area_km2, ecological_land_km2,
  eco_damaging_industry_pct``) → long ``indicators`` and ``base_factors``;
* the catalog tables ``water_sections`` and ``water_quality_monthly`` → the two-way water
  tables, and each district's water-quality indicator: the share of section-months whose
  outflow meets the target class (GB 3838-2002 limits, worst pollutant);
* the catalog table ``cropland_base`` (official cropland per unit from 三调 and the annual land
  change survey: ``unit_id, year, cropland_area_mu, survey``), when the catalog has one: the
  cropland programme pays it and falls back to the land-cover cropland, reported as such,
  where it is missing;
* the catalog's DEM and unit polygons → ``area_shares``, each unit's share inside the area of a
  spatial eligibility rule (e.g. the mountain area of §(九)), when the policy declares one.

It then writes a concrete policy file beside them, copied from the run's policy template with
``inputs:`` filled in.
"""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from data_catalog.catalog import Catalog
from data_catalog.errors import InputError
from gep.io.atomic import atomic_write

# GB 3838-2002 class limits for rivers (mg/L), classes I..V
CLASS_LIMITS = {
    "cod": (15.0, 15.0, 20.0, 30.0, 40.0),
    "nh3_n": (0.15, 0.5, 1.0, 1.5, 2.0),
    "tp": (0.02, 0.1, 0.2, 0.3, 0.4),
}

#: tables written for the linkage layer (``inputs:`` names of its policy file)
PREPARED_TABLES = (
    "accounts",
    "indicators",
    "base_factors",
    "water_sections",
    "water_monthly",
    "cropland_areas",
    "area_shares",
)

INDICATOR_UNITS = {
    "eco_quality": "EI index 0-100 (HJ 192-2015)",
    "red_line_area": "% of unit area",
    "nature_reserves": "% of unit area",
    "eco_damaging": "% of value added",
    "water_quality": "% of section-months meeting target",
}


def water_class(pollutant: pd.Series, concentration: pd.Series) -> np.ndarray:
    """GB 3838-2002 class (1–5; 6 = worse than V) of each concentration of its pollutant."""
    out = np.full(len(concentration), 6, dtype=np.int64)
    for name, limits in CLASS_LIMITS.items():
        rows = (pollutant == name).to_numpy()
        values = concentration.to_numpy()[rows]
        out[rows] = np.searchsorted(np.asarray(limits), values, side="left") + 1
    return out


def water_quality_indicator(
    sections: pd.DataFrame, monthly: pd.DataFrame, districts: list[str]
) -> pd.DataFrame:
    """Share (%) of section-months whose outflow meets the target, per upstream district.

    A district with no assessed outflow section gets the share over all sections of that year
    (a neutral value: it is neither rewarded nor penalised relative to the municipality).
    """
    m = monthly.merge(sections[["section_id", "upstream_unit_id", "target_class"]], on="section_id")
    m["cls"] = water_class(m["pollutant"], m["outflow_mg_per_l"])
    worst = m.groupby(
        ["section_id", "upstream_unit_id", "year", "month", "target_class"], as_index=False
    )["cls"].max()
    worst["meets"] = worst["cls"] <= worst["target_class"]
    share = worst.groupby(["upstream_unit_id", "year"])["meets"].mean()
    overall = worst.groupby("year")["meets"].mean()
    rows = [
        {
            "unit_id": d,
            "year": int(y),
            "indicator": "water_quality",
            "value": 100.0 * float(share.get((d, y), overall[y])),
            "value_unit": INDICATOR_UNITS["water_quality"],
        }
        for y in overall.index
        for d in districts
    ]
    return pd.DataFrame(rows)


def indicator_table(units: pd.DataFrame) -> pd.DataFrame:
    """Long ``unit_id, year, indicator, value, value_unit`` from the unit indicator table."""
    area = units["area_km2"].where(units["area_km2"] > 0)
    columns = {
        "eco_quality": units["eco_quality_index"],
        "red_line_area": 100.0 * units["redline_area_km2"] / area,
        "nature_reserves": 100.0 * units["nature_reserve_area_km2"] / area,
        "eco_damaging": units["eco_damaging_industry_pct"],
    }
    frames = [
        pd.DataFrame(
            {
                "unit_id": units["unit_id"].astype(str),
                "year": units["year"],
                "indicator": name,
                "value": values.fillna(0.0),
                "value_unit": INDICATOR_UNITS[name],
            }
        )
        for name, values in columns.items()
    ]
    return pd.concat(frames, ignore_index=True)


def check_condition_change_years(template: Path, years: list[int]) -> None:
    """Refuse, before any work, a policy whose ``gep_condition_change`` the run cannot give.

    The weather-neutral accounts exist for each later year under the previous accounted
    year's weather, so the policy's base year and year must be consecutive in ``years``.
    """
    policy = yaml.safe_load(template.read_text(encoding="utf-8")) or {}
    if not isinstance(policy, dict):
        return
    kinds = {i.get("kind") for i in policy.get("indicators") or [] if isinstance(i, dict)}
    if "gep_condition_change" not in kinds or not isinstance(policy.get("policy"), dict):
        return
    year, base = policy["policy"].get("year"), policy["policy"].get("base_year")
    ordered = sorted(years)
    pairs = set(zip(ordered[:-1], ordered[1:], strict=True))
    if (base, year) not in pairs:
        raise InputError(
            f"{template}: an indicator of kind gep_condition_change compares {year} with {base} "
            f"under {base}'s weather, but the run's years {ordered} have no such consecutive "
            f"pair; add them to `years` (nothing between them) or use kind gep_volume_change"
        )


def condition_change_table(
    policy: dict, accounts: pd.DataFrame, weather_neutral: pd.DataFrame | None
) -> pd.DataFrame:
    """Values of the policy's ``gep_condition_change`` indicators: GEP change with fixed weather.

    ``value = Σ GEP'(t) / Σ GEP(t0) − 1`` per unit at constant prices, where ``GEP'(t)`` is the
    policy year's GEP under the base year's weather (the weather-neutral accounts) and
    ``GEP(t0)`` the base year's: the part of the GEP volume change due to ecosystem condition
    (land cover, vegetation), not to a wet or dry year. ``gep_volume_change`` keeps both.
    Services are those of ``gep_indicators.services`` (all when null), of the regulating
    category only with ``gep_indicators.measure: gep_r``.

    Raises
    ------
    InputError
        A policy asks for the indicator, but the run has no weather-neutral accounts of its
        year under its base year's weather (base year and year must be consecutive years of
        the run configuration's ``years``).
    """
    wanted = [
        i["id"] for i in policy.get("indicators", []) if i.get("kind") == "gep_condition_change"
    ]
    columns = ["unit_id", "year", "indicator", "value", "value_unit"]
    if not wanted:
        return pd.DataFrame(columns=columns)
    year, base = int(policy["policy"]["year"]), int(policy["policy"]["base_year"])
    neutral = weather_neutral if weather_neutral is not None else pd.DataFrame()
    if neutral.empty or not ((neutral["year"] == year) & (neutral["weather_year"] == base)).any():
        raise InputError(
            f"linkage policy: indicator(s) {wanted} of kind gep_condition_change need the "
            f"{year} accounts under the weather of {base}; the run has none. Make {base} and "
            f"{year} consecutive years of the run's `years`, or use kind gep_volume_change"
        )
    rule = policy.get("gep_indicators") or {}
    services = rule.get("services")
    now = neutral[(neutral["year"] == year) & (neutral["weather_year"] == base)]
    before = accounts[accounts["year"] == base]
    if services:
        now, before = now[now["service"].isin(services)], before[before["service"].isin(services)]
    if rule.get("measure") == "gep_r":  # GEP-R: the regulating services only
        now = now[now["category"] == "regulating"]
        before = before[before["category"] == "regulating"]
    ratio = now.groupby("unit_id")["value_constant_cny"].sum() / before.groupby("unit_id")[
        "value_constant_cny"
    ].sum().where(lambda v: v != 0)
    values = (ratio - 1.0).dropna()
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unit_id": values.index.astype(str),
                    "year": year,
                    "indicator": name,
                    "value": values.to_numpy(),
                    "value_unit": "1 (condition volume index - 1)",
                }
            )
            for name in wanted
        ],
        ignore_index=True,
    )


def base_factor_table(units: pd.DataFrame, year: int) -> pd.DataFrame:
    """``unit_id, area_km2, population_persons, ecological_land_km2`` of the policy year."""
    rows = units[units["year"] == year]
    if rows.empty:
        raise InputError(f"unit_indicators: no rows for the policy year {year}")
    return pd.DataFrame(
        {
            "unit_id": rows["unit_id"].astype(str),
            "area_km2": rows["area_km2"],
            "population_persons": rows["population"],
            "ecological_land_km2": rows["ecological_land_km2"],
        }
    )


def inside_area(
    elevation: np.ndarray,
    cell_size_m: tuple[float, float],
    *,
    elevation_min_m: float | None,
    slope_min_deg: float | None,
) -> np.ndarray:
    """Cells inside a declared area by DEM thresholds: 1.0 inside, 0.0 outside, NaN no data.

    A cell is inside when its elevation is at least ``elevation_min_m`` *or* its slope (central
    differences, :func:`numpy.gradient`) is at least ``slope_min_deg``; a threshold left out
    does not count.

    Parameters
    ----------
    elevation : numpy.ndarray
        2-D elevation (m), NaN for no data.
    cell_size_m : tuple of float
        Cell height and width (m).
    elevation_min_m, slope_min_deg : float or None
        Thresholds (at least one).

    Returns
    -------
    numpy.ndarray
        Float mask.

    Examples
    --------
    >>> dem = np.array([[50.0, 150.0], [np.nan, 90.0]])
    >>> inside_area(dem, (30.0, 30.0), elevation_min_m=100.0, slope_min_deg=None).tolist()
    [[0.0, 1.0], [nan, 0.0]]
    """
    if elevation_min_m is None and slope_min_deg is None:
        raise InputError(
            "linkage eligibility area: give elevation_min_m and/or slope_min_deg to compute "
            "each unit's share inside the area from the DEM"
        )
    inside = np.zeros(elevation.shape, dtype=bool)
    if elevation_min_m is not None:
        inside |= elevation >= elevation_min_m
    if slope_min_deg is not None:
        dy, dx = np.gradient(elevation, *cell_size_m)
        slope = np.degrees(np.arctan(np.hypot(dx, dy)))
        inside |= np.nan_to_num(slope, nan=0.0) >= slope_min_deg
    return np.where(np.isnan(elevation), np.nan, inside.astype(float))


#: Rows of DEM read at a time by :func:`area_share_table` (plus one halo row on each side).
AREA_BAND = 1024


def _area_cells_by_bands(
    dem: Any,
    grid: Any,
    layers: dict[str, tuple[Any, str]],
    thresholds: dict[str, float | None],
    band: int,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per layer: unit ids, cells inside the area and cells with DEM data, band by band.

    Each band of the DEM is read with one halo row on each side, so the slope (central
    differences) of its rows is the whole raster's; the units are burnt at pixel centres into
    the band's window of the grid (:func:`gep.zones.zone_raster`).
    """
    from affine import Affine

    from data_catalog.grid import Grid
    from gep.kernels import reductions
    from gep.zones import zone_raster

    rows = grid.shape[0]
    size = (abs(grid.transform.e), abs(grid.transform.a))
    out = {}
    for entry_id, (vector, id_field) in layers.items():
        ids = vector[id_field].astype(str).to_numpy()
        out[entry_id] = (ids, np.zeros(ids.size), np.zeros(ids.size))
    for r0 in range(0, rows, band):
        r1 = min(r0 + band, rows)
        a0, a1 = max(r0 - 1, 0), min(r1 + 1, rows)
        elevation = np.asarray(dem[a0:a1].values, dtype=float)
        mask = inside_area(elevation, size, **thresholds)[r0 - a0 : r0 - a0 + (r1 - r0)]
        window = Grid(
            grid.crs, grid.transform * Affine.translation(0, r0), (r1 - r0, grid.shape[1])
        )
        data = np.where(np.isnan(mask), np.nan, 1.0)
        for entry_id, (vector, id_field) in layers.items():
            zones = zone_raster(vector, window, id_field=id_field)
            ids, inside, cells = out[entry_id]
            inside += reductions.zone_sums(zones.zones, mask, ids.size)[0]
            cells += reductions.zone_sums(zones.zones, data, ids.size)[0]
    return out


def area_share_table(
    cat: Catalog, area: dict[str, object], *, band: int = AREA_BAND
) -> pd.DataFrame:
    """Each district's and township's share inside a declared area, from the catalog's DEM.

    The hand-over of a spatial eligibility rule (``districts.eligibility.area`` of the linkage
    policy): linkage never reads rasters or polygons, so the share is computed here, per unit
    polygon of every district and township layer of the catalog, as the fraction of the unit's
    cells (burnt at pixel centres, :mod:`gep.zones`) with DEM data that lie inside the area
    (:func:`inside_area`). The DEM is read ``band`` rows at a time (memory bounded by the
    band).

    Parameters
    ----------
    cat : Catalog
        The catalog (an ``elevation`` raster; vector layers with a ``level``).
    area : dict
        The area rule: ``area_id``, ``elevation_min_m`` and/or ``slope_min_deg``.
    band : int
        Rows per band.

    Returns
    -------
    pandas.DataFrame
        ``unit_id, area_id, share, source`` (the ``area_shares`` table of linkage).
    """
    grid = cat.reference_grid()
    dem_id = cat.find(variable="elevation")
    low, slope = area.get("elevation_min_m"), area.get("slope_min_deg")
    thresholds = {
        "elevation_min_m": None if low is None else float(str(low)),
        "slope_min_deg": None if slope is None else float(str(slope)),
    }
    layers = {
        entry_id: (cat.vector(entry_id).to_crs(grid.crs), entry.id_field or "unit_id")
        for entry_id, entry in sorted(cat.entries.items())
        if entry.kind == "vector" and entry.level in ("district", "township")
    }
    totals = _area_cells_by_bands(
        cat.raster(dem_id, chunks={"y": band, "x": -1}), grid, layers, thresholds, band
    )
    frames = [
        pd.DataFrame(
            {
                "unit_id": ids.astype(str),
                "share": pd.Series(inside / np.where(cells > 0, cells, np.nan))
                .fillna(0.0)
                .clip(0.0, 1.0)
                .to_numpy(),
            }
        )
        for ids, inside, cells in totals.values()
    ]
    rule = f"elevation >= {low} m" if low is not None else ""
    rule += (" or " if rule and slope is not None else "") + (
        f"slope >= {slope} deg" if slope is not None else ""
    )
    out = pd.concat(frames, ignore_index=True).drop_duplicates("unit_id")
    out.insert(1, "area_id", str(area["area_id"]))
    out["source"] = f"gep.linkage_inputs: share of cells with {rule} ({dem_id}, {grid.shape})"
    return out


def _to_csv(table: pd.DataFrame, path: Path) -> None:
    table.to_csv(path, index=False, encoding="utf-8")


def as_text(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as :func:`linkage.reading.read_tables` reads its CSV file: every cell text.

    Round-trips through an in-memory CSV, so the tables handed to
    :func:`linkage.run.compute_link` in memory are the ones the record in ``linkage_inputs/``
    holds, cell for cell.

    Examples
    --------
    >>> as_text(pd.DataFrame({"a": [0.1, float("nan")], "b": ["x", "y"]})).to_dict("list")
    {'a': ['0.1', ''], 'b': ['x', 'y']}
    """
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype=str, keep_default_na=False)


def linkage_tables(
    cat: Catalog,
    accounts: pd.DataFrame,
    template: Path,
    *,
    cropland: pd.DataFrame | None = None,
    weather_neutral: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The concrete policy (a mapping) and the linkage input tables, in memory.

    ``cropland`` is the per-unit cropland table of :func:`gep.cropland.cropland_areas`
    (needed when the policy has a cropland programme). ``weather_neutral`` holds the accounts
    of later years under the previous year's weather (:class:`gep.pipeline.Accounts`): the
    values of indicators of kind ``gep_condition_change`` are computed from it
    (:func:`condition_change_table`). The policy's ``inputs:`` name ``<table>.csv`` for each
    table (the files :func:`write_linkage_record` writes).
    """
    policy = yaml.safe_load(template.read_text(encoding="utf-8"))
    year = int(policy["policy"]["year"])
    units = cat.table("unit_indicators").astype({"unit_id": str})
    sections = cat.table("water_sections").astype(
        {"section_id": str, "upstream_unit_id": str, "downstream_unit_id": str}
    )
    monthly = cat.table("water_quality_monthly").astype({"section_id": str})
    districts = sorted(units.loc[units["level"] == "district", "unit_id"].unique())
    indicators = pd.concat(
        [
            indicator_table(units),
            water_quality_indicator(sections, monthly, districts),
            condition_change_table(policy, accounts, weather_neutral),
        ],
        ignore_index=True,
    )
    tables = {
        "accounts": accounts,
        "indicators": indicators,
        "base_factors": base_factor_table(units, year),
        "water_sections": sections,
        "water_monthly": monthly,
    }
    area = ((policy.get("districts") or {}).get("eligibility") or {}).get("area")
    if area:
        tables["area_shares"] = area_share_table(cat, area)
    if cropland is not None and policy.get("cropland"):
        level = policy["cropland"].get("level", "township")
        tables["cropland_areas"] = cropland[cropland["level"] == level]
        if "cropland_base" in cat.entries:  # official base (三调 / annual change survey)
            tables["cropland_base"] = cat.table("cropland_base")
    policy["inputs"] = {name: f"{name}.csv" for name in tables}
    return policy, tables


def write_linkage_record(
    folder: Path, policy: dict[str, Any], tables: dict[str, pd.DataFrame]
) -> Path:
    """Write the tables as ``<name>.csv`` and the policy as ``policy.yaml``; return its path.

    The record of what the run handed to the linkage: ``gep link folder/policy.yaml``
    recomputes the same allocation from it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        atomic_write(folder / f"{name}.csv", partial(_to_csv, table))
    path = folder / "policy.yaml"
    text = yaml.safe_dump(policy, allow_unicode=True, sort_keys=False)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def prepare_linkage(
    cat: Catalog,
    accounts: pd.DataFrame,
    template: Path,
    folder: Path,
    *,
    cropland: pd.DataFrame | None = None,
    weather_neutral: pd.DataFrame | None = None,
) -> Path:
    """Write the linkage inputs and a concrete policy file into ``folder``; return its path.

    :func:`linkage_tables` then :func:`write_linkage_record`.
    """
    policy, tables = linkage_tables(
        cat, accounts, template, cropland=cropland, weather_neutral=weather_neutral
    )
    return write_linkage_record(folder, policy, tables)
