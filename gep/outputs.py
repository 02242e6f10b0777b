"""Write a run's account outputs into a folder (built by :func:`gep.io.atomic.staged_folder`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from data_catalog.sample import SYNTHETIC_NOTE
from data_catalog.tables import load_scheme
from gep.accounts import gep_by_unit, service_shares
from gep.accounts.ecosystem_types import apply_types, type_lookup
from gep.config import RunConfig
from gep.exports import (
    supply_table,
    write_accounts_csv,
    write_accounts_xlsx,
    write_units_gpkg,
)
from gep.i18n import Language, level_label, quantity_label, text, unit_label, yuan_unit
from gep.io.atomic import staged_folder
from gep.maps import bar_chart, choropleth, largest_units, raster_map
from gep.pipeline import CHUNK, Accounts

__all__ = [
    "component_prices",
    "ecosystem_type_index",
    "ecosystem_types_present",
    "staged_folder",
    "write_account_outputs",
    "write_maps",
]


def ecosystem_type_index(
    cat: Catalog, year: int, *, chunks: int | None = None
) -> tuple[Any, list[str]]:
    """Per-pixel index into the ecosystem-type names of ``year``'s land cover, and the names.

    One byte per pixel (``-1`` where the land cover is nodata or its class has no type), instead
    of a string per pixel: the supply table sums each quantity per type with
    :func:`numpy.bincount` on this index. With ``chunks`` the index is a lazy dask array
    (the land cover read by chunks when it is used).

    Returns
    -------
    index : numpy.ndarray or dask.array.Array
        int8, the land cover's shape.
    names : list of str
        Ecosystem-type names, sorted; ``names[index]`` is the pixel's type.
    """
    lut, names, entry_id = type_lookup(cat, year)
    lazy = None if chunks is None else {"y": chunks, "x": chunks}
    da = cat.raster(entry_id, chunks=lazy)
    if chunks is not None:
        import dask.array as dsa

        codes, valid = da.data, da.coords["valid"].data
        index = dsa.map_blocks(apply_types, codes, valid, lut, dtype=np.int8)
        return index, names
    return apply_types(np.asarray(da.values), da.coords["valid"].values, lut), names


def ecosystem_types_present(cat: Catalog, year: int) -> set[str]:
    """Names of the ecosystem types with at least one pixel in ``year``'s land cover.

    Read by chunks of :data:`gep.pipeline.CHUNK` pixels (memory bounded by the chunk).
    """
    from gep.pipeline.inputs import codes_present

    entry_id = cat.find(variable="landcover", year=year)
    chunks = {"y": CHUNK, "x": CHUNK}
    codes = codes_present(cat.raster(entry_id, chunks=chunks))
    scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
    types = scheme.set_index(scheme["code"].astype(int))["ecosystem_type"]
    present = types.reindex(codes.astype(int))
    return {str(t) for t in present if isinstance(t, str) and t}


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
    ``decomposition.csv``, ``quantities.csv``, ``units.gpkg`` and ``supply_table.csv``. The
    XLSX sheet names and headings are in the configuration's ``language``; values are exact.
    """
    folder.mkdir(parents=True, exist_ok=True)
    gep = gep_by_unit(acc.accounts)
    prices = component_prices(config, acc.accounts)
    language = config.language
    if language != "en":
        # the English synthetic-data note is replaced by its translation (which names it too)
        notes = [text(language, "synthetic_note") if n == SYNTHETIC_NOTE else n for n in notes]
    written = {
        "accounts.csv": write_accounts_csv(acc.accounts, folder / "accounts.csv"),
        "accounts.xlsx": write_accounts_xlsx(
            acc.accounts, gep, prices, folder / "accounts.xlsx", notes=notes, language=language
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
    lazy = any(da.chunks is not None for da in acc.rasters.values())
    types = {
        year: ecosystem_type_index(cat, year, chunks=CHUNK if lazy else None)
        for year in config.years
    }
    supply = supply_table(acc.rasters, types, prices, totals=acc.type_totals or None)
    written["supply_table.csv"] = write_accounts_csv(supply, folder / "supply_table.csv")
    return written


def _unit_polygons(cat: Catalog, config: RunConfig) -> dict[str, gpd.GeoDataFrame]:
    """Polygons of every level in the reference grid's CRS: ``unit_id``, ``unit_name``."""
    crs = cat.reference_grid().crs.to_wkt()
    polygons = {}
    for cfg in config.units:
        entry = cat.entry(cfg.entry)
        gdf = cat.vector(cfg.entry).rename(columns={entry.id_field: "unit_id"})
        gdf["unit_id"] = gdf["unit_id"].astype(str)
        if entry.name_field and entry.name_field in gdf.columns:
            gdf["unit_name"] = gdf[entry.name_field].astype(str)
        else:
            gdf["unit_name"] = gdf["unit_id"]
        polygons[cfg.level] = gdf.to_crs(crs)
    return polygons


def _names(gdf: gpd.GeoDataFrame) -> pd.Series:
    return pd.Series(gdf["unit_name"].to_numpy(), index=gdf["unit_id"].to_numpy())


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
    district; ``step`` is called with the name of each map before it is drawn. Titles, legends
    and captions are in the configuration's ``language``, amounts in 10⁶ CNY (English) or
    万元/亿元 (Chinese, :func:`gep.i18n.yuan_unit`); maps name the districts and the
    :data:`gep.maps.LABELLED_UNITS` units with the largest values (names from the catalog's
    ``name_field``).
    """
    language: Language = config.language
    note = text(language, "synthetic_short") if cat.synthetic else None
    polygons = _unit_polygons(cat, config)
    top = polygons[config.units[0].level]
    top_names = _names(top)
    shared = {"note": note, "outline": top, "outline_names": top_names, "language": language}
    maps = _unit_maps(acc, config, polygons, folder, shared, step)
    maps += _raster_maps(acc, folder, shared, language, step)
    if allocation is not None:
        maps += _allocation_maps(allocation, top, top_names, folder, note, language, step)
    return maps


def _unit_maps(
    acc: Accounts,
    config: RunConfig,
    polygons: dict[str, gpd.GeoDataFrame],
    folder: Path,
    shared: dict[str, object],
    step: Callable[[str], None],
) -> list[tuple[str, Path]]:
    """GEP per unit of the finest level: total, by category and change (choropleths)."""
    language: Language = config.language
    base = config.valuation.base_year
    gep = gep_by_unit(acc.accounts)
    fine = config.units[-1].level
    fine_names = _names(polygons[fine])
    level = level_label(fine, language)
    last, first = max(config.years), min(config.years)
    rows = gep[(gep["level"] == fine) & (gep["year"] == last)].set_index("unit_id")
    name_fine = fine != config.units[0].level  # one level: the outline names every unit
    maps = []

    def unit_map(column: str, name: str, *, title: str, legend: str, **kwargs: object) -> Path:
        divisor, unit = yuan_unit(float(rows[column].abs().max()), language)
        values = rows[column] / divisor
        return choropleth(
            polygons[fine],
            values,
            folder / name,
            title=title,
            legend=legend.format(unit=unit),
            names=largest_units(values, fine_names) if name_fine else None,
            **shared,  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )

    step("GEP per unit")
    fields = {"level": level, "year": last, "base": base, "first": first, "last": last}
    path = unit_map(
        "gep_constant_cny",
        f"gep_{fine}_{last}.png",
        title=text(language, "map.gep.title", **fields),
        legend=text(language, "map.gep.legend", unit="{unit}", base=base),
    )
    maps.append((text(language, "map.gep.caption", **fields), path))
    for category in ("provisioning", "regulating", "cultural"):
        step(f"GEP {category} per unit")
        label = text(language, f"category.{category}")
        path = unit_map(
            f"gep_{category}_constant_cny",
            f"gep_{category}_{fine}_{last}.png",
            title=text(language, "map.category.title", category=label, **fields),
            legend=text(language, "map.category.legend", unit="{unit}", base=base),
        )
        maps.append((text(language, "map.category.caption", category=label, **fields), path))
    if first != last:
        step("GEP change per unit")
        path = unit_map(
            "change_constant_cny",
            f"gep_change_{fine}_{first}_{last}.png",
            title=text(language, "map.change.title", **fields),
            legend=text(language, "map.change.legend", unit="{unit}", base=base),
            diverging=True,
        )
        maps.append((text(language, "map.change.caption", **fields), path))
    return maps


def _raster_maps(
    acc: Accounts,
    folder: Path,
    shared: dict[str, object],
    language: Language,
    step: Callable[[str], None],
) -> list[tuple[str, Path]]:
    """A map of every per-pixel quantity (block means of the rasters, read by chunks)."""
    maps = []
    for (name, year), da in acc.rasters.items():
        step(f"{name} {year}")
        units = unit_label(str(da.attrs.get("units", "")), language)
        quantity = quantity_label(name, language)
        # a streamed raster is the file it was read from (read_raster's source_path)
        source = da.attrs.get("source_path") if da.chunks is not None else None
        path = raster_map(
            da,
            folder / f"{name}_{year}.png",
            title=text(language, "map.raster.title", quantity=quantity, year=year),
            legend=text(language, "map.raster.legend", units=units),
            source=Path(source) if source else None,
            **shared,  # type: ignore[arg-type]
        )
        caption = text(
            language, "map.raster.caption", name=name, quantity=quantity, year=year, units=units
        )
        maps.append((caption, path))
    return maps


def _allocation_maps(
    allocation: pd.DataFrame,
    top: gpd.GeoDataFrame,
    names: pd.Series,
    folder: Path,
    note: str | None,
    language: Language,
    step: Callable[[str], None],
) -> list[tuple[str, Path]]:
    """The allocation per district as a map (names on the districts) and a bar chart."""
    step("allocation by district")
    district = allocation[allocation["level"] == "district"].set_index("unit_id")
    amounts = district["amount_cny"].astype(float)
    divisor, unit = yuan_unit(float(amounts.abs().max()), language)
    path = choropleth(
        top,
        amounts / divisor,
        folder / "allocation_district.png",
        title=text(language, "map.allocation.title"),
        legend=text(language, "map.allocation.legend", unit=unit),
        note=note,
        outline_names=names,
        outline=top,
        language=language,
    )
    maps = [(text(language, "map.allocation.caption"), path)]
    ordered = (amounts / divisor).sort_values(ascending=False)
    ordered.index = [str(names.get(u, u)) for u in ordered.index]
    path = bar_chart(
        ordered,
        folder / "allocation_district_bar.png",
        title=text(language, "map.bar.title"),
        ylabel=unit,
        note=note,
        language=language,
    )
    maps.append((text(language, "map.bar.caption"), path))
    return maps
