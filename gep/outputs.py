"""Write a run's account outputs into a folder (built by :func:`gep.io.atomic.staged_folder`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from data_catalog.sample import SYNTHETIC_NOTE
from data_catalog.tables import load_scheme
from gep.accounts import gep_by_unit, service_shares
from gep.config import RunConfig
from gep.exports import (
    supply_table,
    write_accounts_csv,
    write_accounts_xlsx,
    write_units_gpkg,
)
from gep.io.atomic import staged_folder
from gep.maps import bar_chart, choropleth, raster_map
from gep.pipeline import Accounts

__all__ = [
    "component_prices",
    "ecosystem_type_index",
    "ecosystem_types_present",
    "staged_folder",
    "write_account_outputs",
    "write_maps",
]


def ecosystem_type_index(cat: Catalog, year: int) -> tuple[np.ndarray, list[str]]:
    """Per-pixel index into the ecosystem-type names of ``year``'s land cover, and the names.

    One byte per pixel (``-1`` where the land cover is nodata or its class has no type), instead
    of a string per pixel: the supply table sums each quantity per type with
    :func:`numpy.bincount` on this index.

    Returns
    -------
    index : numpy.ndarray
        int8, the land cover's shape.
    names : list of str
        Ecosystem-type names, sorted; ``names[index]`` is the pixel's type.
    """
    entry_id = cat.find(variable="landcover", year=year)
    da = cat.raster(entry_id)
    scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
    names = sorted({str(t) for t in scheme["ecosystem_type"] if isinstance(t, str) and t})
    lut = np.full(256 if da.dtype.itemsize == 1 else 65536, -1, dtype=np.int8)
    for code, etype in zip(scheme["code"].astype(int), scheme["ecosystem_type"], strict=True):
        if isinstance(etype, str) and etype:
            lut[code] = names.index(etype)
    index = lut[np.asarray(da.values).astype(np.int64, copy=False)]
    index[~da.coords["valid"].values] = -1
    return index, names


def ecosystem_types_present(cat: Catalog, year: int) -> set[str]:
    """Names of the ecosystem types with at least one pixel in ``year``'s land cover."""
    index, names = ecosystem_type_index(cat, year)
    counts = np.bincount(index[index >= 0].astype(np.int64), minlength=len(names))
    return {name for name, n in zip(names, counts, strict=True) if n}


def component_prices(config: RunConfig, accounts: pd.DataFrame) -> pd.DataFrame:
    """``quantity_name, year, service, component, factor, price_*`` of each valued component."""
    rows = []
    for comp in config.valuation.enabled():
        sel = accounts[
            (accounts["service"] == comp.service) & (accounts["component"] == comp.component)
        ]
        for year, group in sel.groupby("year"):
            first = group.iloc[0]
            rows.append(
                {
                    "quantity_name": comp.quantity,
                    "year": year,
                    "service": comp.service,
                    "component": comp.component,
                    "factor": comp.factor,
                    "price_current_cny": first["price_current_cny"],
                    "price_constant_cny": first["price_constant_cny"],
                    "price_unit": first["price_unit"],
                    "price_year": first["price_year"],
                    "deflator": first["deflator"],
                    "price_source": first["price_source"],
                    "price_confidence": first["price_confidence"],
                }
            )
    return pd.DataFrame(rows)


def write_account_outputs(
    cat: Catalog, config: RunConfig, acc: Accounts, folder: Path, *, notes: list[str]
) -> dict[str, Path]:
    """Write the files of the accounting stage into ``folder``.

    ``accounts.csv`` and ``.xlsx``, ``gep_by_unit.csv``, ``service_shares.csv``,
    ``decomposition.csv``, ``quantities.csv``, ``units.gpkg`` and ``supply_table.csv``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    gep = gep_by_unit(acc.accounts)
    prices = component_prices(config, acc.accounts)
    written = {
        "accounts.csv": write_accounts_csv(acc.accounts, folder / "accounts.csv"),
        "accounts.xlsx": write_accounts_xlsx(
            acc.accounts, gep, prices, folder / "accounts.xlsx", notes=notes
        ),
        "gep_by_unit.csv": write_accounts_csv(gep, folder / "gep_by_unit.csv"),
        "service_shares.csv": write_accounts_csv(
            service_shares(acc.accounts), folder / "service_shares.csv"
        ),
        "decomposition.csv": write_accounts_csv(acc.decomposition, folder / "decomposition.csv"),
        "quantities.csv": write_accounts_csv(acc.quantities, folder / "quantities.csv"),
    }
    polygons = {}
    for level_cfg, level in zip(config.units, acc.levels, strict=True):
        entry = cat.entry(level_cfg.entry)
        gdf = cat.vector(level_cfg.entry)
        gdf = gdf.rename(columns={entry.id_field: "unit_id"})
        gdf["unit_id"] = gdf["unit_id"].astype(str)
        polygons[level.level] = gdf
    written["units.gpkg"] = write_units_gpkg(polygons, gep, folder / "units.gpkg")
    types = {year: ecosystem_type_index(cat, year) for year in config.years}
    supply = supply_table(acc.rasters, types, prices)
    written["supply_table.csv"] = write_accounts_csv(supply, folder / "supply_table.csv")
    return written


def write_maps(
    cat: Catalog,
    config: RunConfig,
    acc: Accounts,
    allocation: pd.DataFrame | None,
    folder: Path,
    step: Callable[[str], None],
) -> list[tuple[str, Path]]:
    """Draw the run's maps into ``folder``; ``(title, path)`` of each, in report order.

    GEP per unit of the finest level (total, by category, change), every per-pixel quantity
    (from block means of large rasters, :func:`gep.maps.raster_map`) and the allocation per
    district; ``step`` is called with the name of each map before it is drawn.
    """
    note = SYNTHETIC_NOTE if cat.synthetic else None
    short = "SYNTHETIC INPUTS (sample region): not data about Beijing" if note else None
    base = config.valuation.base_year
    gep = gep_by_unit(acc.accounts)
    levels = {u.level: u for u in config.units}
    polygons = {}
    for level, cfg in levels.items():
        entry = cat.entry(cfg.entry)
        gdf = cat.vector(cfg.entry).rename(columns={entry.id_field: "unit_id"})
        gdf["unit_id"] = gdf["unit_id"].astype(str)
        polygons[level] = gdf.to_crs(cat.reference_grid().crs.to_wkt())
    fine = config.units[-1].level
    top = polygons[config.units[0].level]
    last, first = max(config.years), min(config.years)
    rows = gep[(gep["level"] == fine) & (gep["year"] == last)].set_index("unit_id")
    maps = []
    step("GEP per unit")
    path = choropleth(
        polygons[fine],
        rows["gep_constant_cny"] / 1e6,
        folder / f"gep_{fine}_{last}.png",
        title=f"GEP per {fine}, {last}",
        legend=f"GEP, 10⁶ CNY yr⁻¹ ({base} prices)",
        note=short,
        outline=top,
    )
    maps.append((f"GEP per {fine}, {last} ({base} prices)", path))
    for category, label in (
        ("provisioning", "provisioning services"),
        ("regulating", "regulating services (GEP-R)"),
        ("cultural", "cultural services"),
    ):
        step(f"GEP {category} per unit")
        path = choropleth(
            polygons[fine],
            rows[f"gep_{category}_constant_cny"] / 1e6,
            folder / f"gep_{category}_{fine}_{last}.png",
            title=f"GEP, {label}, per {fine}, {last}",
            legend=f"10⁶ CNY yr⁻¹ ({base} prices)",
            note=short,
            outline=top,
        )
        maps.append((f"GEP {label} per {fine}, {last} ({base} prices)", path))
    if first != last:
        step("GEP change per unit")
        path = choropleth(
            polygons[fine],
            rows["change_constant_cny"] / 1e6,
            folder / f"gep_change_{fine}_{first}_{last}.png",
            title=f"GEP change per {fine}, {first}→{last}",
            legend=f"ΔGEP, 10⁶ CNY yr⁻¹ ({base} prices)",
            note=short,
            diverging=True,
            outline=top,
        )
        maps.append((f"GEP change per {fine}, {first}→{last}", path))
    for (name, year), da in acc.rasters.items():
        step(f"{name} {year}")
        units = str(da.attrs.get("units", ""))
        path = raster_map(
            da,
            folder / f"{name}_{year}.png",
            title=f"{name.replace('_', ' ')}, {year}",
            legend=f"{units} per pixel",
            note=short,
            outline=top,
        )
        maps.append((f"{name} {year} ({units} per pixel)", path))
    if allocation is not None:
        step("allocation by district")
        district = allocation[allocation["level"] == "district"].set_index("unit_id")
        path = choropleth(
            top,
            district["amount_cny"] / 1e6,
            folder / "allocation_district.png",
            title="Compensation allocated per district",
            legend="allocation, 10⁶ CNY",
            note=short,
        )
        maps.append(("Compensation allocated per district", path))
        path = bar_chart(
            district["amount_cny"].sort_values(ascending=False) / 1e6,
            folder / "allocation_district_bar.png",
            title="Compensation per district",
            ylabel="10⁶ CNY",
            note=short,
        )
        maps.append(("Compensation per district (bar)", path))
    return maps
