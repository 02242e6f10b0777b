"""Write the accounts: CSV, XLSX, GeoPackage of units and a SEEA-style supply table.

Every writer goes through a temporary file in the target folder and :func:`os.replace`, so an
interrupted run never leaves a file that looks complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from gep.accounts.ecosystem_types import block_type_totals
from gep.i18n import Language, column_label, level_label, text
from gep.io.atomic import atomic_write
from gep.io.reproducible import fixed_gdal_date
from linkage.xlsx import write_sheets

SYNTHETIC_FLAG = "inputs_synthetic"


def write_accounts_csv(accounts: pd.DataFrame, path: Path) -> Path:
    """The tidy accounts table as UTF-8 CSV (with BOM, so spreadsheet programs read Chinese)."""
    return atomic_write(path, lambda tmp: accounts.to_csv(tmp, index=False, encoding="utf-8-sig"))


def write_accounts_xlsx(
    accounts: pd.DataFrame,
    gep: pd.DataFrame,
    prices: pd.DataFrame,
    path: Path,
    *,
    notes: list[str] | None = None,
    language: Language = "en",
) -> Path:
    """One sheet per level, the GEP view, units, and prices with their years and sources.

    Numbers are written as numbers (:func:`linkage.xlsx.write_sheets`); amounts stay exact
    yuan. Sheet names and column headings are in ``language`` (:func:`gep.i18n.column_label`:
    English keeps the CSV column names, Chinese names each column and its unit, 元).
    """

    def labelled(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.rename(columns={c: column_label(str(c), language) for c in frame.columns})

    def write(tmp: Path) -> None:
        sheets = {
            level_label(str(level), language): labelled(rows)
            for level, rows in accounts.groupby("level", sort=False)
        }
        sheets[text(language, "sheet.gep")] = labelled(gep)
        units = accounts.drop_duplicates(["level", "unit_id"])[
            [c for c in ("unit_id", "unit_name", "level", "parent_id", "area_km2") if c in accounts]
        ]
        sheets[text(language, "sheet.units")] = labelled(units)
        sheets[text(language, "sheet.prices")] = labelled(prices)
        sheets[text(language, "sheet.notes")] = labelled(pd.DataFrame({"note": notes or []}))
        write_sheets(tmp, sheets)

    return atomic_write(path, write)


def write_units_gpkg(polygons: dict[str, gpd.GeoDataFrame], gep: pd.DataFrame, path: Path) -> Path:
    """GeoPackage with one layer per level: unit polygons with GEP per year as attributes.

    Parameters
    ----------
    polygons : dict
        ``level → GeoDataFrame`` with a ``unit_id`` column.
    gep : DataFrame
        Output of :func:`gep.accounts.gep_by_unit`.
    """

    def write(tmp: Path) -> None:
        with fixed_gdal_date():
            _write_layers(polygons, gep, tmp)

    return atomic_write(path, write)


def _write_layers(polygons: dict[str, gpd.GeoDataFrame], gep: pd.DataFrame, tmp: Path) -> None:
    """One GeoPackage layer per level, in the configuration's order of levels."""
    for level, gdf in polygons.items():
        rows = gep[gep["level"] == level]
        wide = rows.pivot_table(
            index="unit_id",
            columns="year",
            values=["gep_current_cny", "gep_constant_cny"],
            aggfunc="first",
        )
        wide.columns = [f"{col[0]}_{col[1]}" for col in wide.columns]
        layer = gdf.merge(wide.reset_index(), on="unit_id", how="left")
        layer.to_file(tmp, layer=level, driver="GPKG", engine="pyogrio")


def _type_totals(
    quantities: dict[tuple[str, int], xr.DataArray],
    ecosystem_type: dict[int, tuple[Any, list[str]]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per quantity, the sums and pixel counts per ecosystem type (numpy, or dask by blocks)."""
    import dask
    import dask.array as dsa

    parts: list[Any] = []
    for (_, year), da in quantities.items():
        index, names = ecosystem_type[year]
        if da.chunks is None and not isinstance(index, dsa.Array):
            parts.append(block_type_totals(da.values, index, len(names)))
            continue
        data = da.data if da.chunks is not None else dsa.from_array(da.values, chunks=2048)
        index = dsa.asarray(index).rechunk(data.chunks)
        blocks = [
            dask.delayed(block_type_totals)(v, i, len(names))
            for v, i in zip(data.to_delayed().ravel(), index.to_delayed().ravel(), strict=True)
        ]
        parts.append(dask.delayed(sum)(blocks))
    computed = dask.compute(*parts)
    return [(t[0], t[1].astype(np.int64)) for t in computed]


def supply_table(
    quantities: dict[tuple[str, int], xr.DataArray],
    ecosystem_type: dict[int, tuple[Any, list[str]]],
    prices: pd.DataFrame,
    *,
    totals: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """SEEA EA ecosystem-services supply table: services × ecosystem types, per year.

    Dask-backed quantities (a streamed run's rasters) are summed block by block, unless
    ``totals`` already holds their per-type sums and counts (a streamed run adds them up as it
    writes the rasters: :class:`gep.accounts.ecosystem_types.TypeTotals`).

    Physical supply is the sum of each per-pixel quantity over the pixels of each ecosystem
    type (the land cover of that year); monetary supply multiplies by the year's current and
    constant unit prices of the components valuing that quantity (SEEA EA 2021, ch. 7 and 9).

    Parameters
    ----------
    quantities : dict
        ``(quantity_name, year) → per-pixel DataArray`` with units.
    ecosystem_type : dict
        ``year → (index, names)`` from :func:`gep.outputs.ecosystem_type_index`: an int8 index
        per pixel into ``names`` (``-1`` outside the area), numpy or dask.
    prices : DataFrame
        ``quantity_name, year, service, component, factor, price_current_cny,
        price_constant_cny`` (one row per component valuing a quantity).

    Examples
    --------
    >>> q = xr.DataArray(np.array([[1.0, 2.0], [np.nan, 4.0]]), attrs={"units": "t yr-1"})
    >>> types = {2020: (np.array([[0, 1], [1, -1]], dtype=np.int8), ["cropland", "forest"])}
    >>> table = supply_table({("soil", 2020): q}, types, pd.DataFrame(
    ...     columns=["quantity_name", "year", "factor", "price_current_cny", "price_constant_cny"]))
    >>> table[["ecosystem_type", "quantity"]].to_records(index=False).tolist()
    [('cropland', 1.0), ('forest', 2.0)]
    """
    if totals is not None and all(key in totals for key in quantities):
        per_type = [totals[key] for key in quantities]
    else:
        per_type = _type_totals(quantities, ecosystem_type)
    rows = []
    for ((name, year), da), (sums, counts) in zip(quantities.items(), per_type, strict=True):
        names = ecosystem_type[year][1]
        for etype, q, n in zip(names, sums, counts, strict=True):
            if n:
                rows.append(
                    {
                        "quantity_name": name,
                        "year": year,
                        "ecosystem_type": etype,
                        "quantity": float(q),
                        "quantity_unit": da.attrs.get("units", ""),
                    }
                )
    physical = pd.DataFrame(rows)
    if physical.empty:
        return physical
    table = physical.merge(prices, on=["quantity_name", "year"], how="left")
    valued = table["quantity"] * table["factor"].fillna(1.0)
    table["value_current_cny"] = valued * table["price_current_cny"]
    table["value_constant_cny"] = valued * table["price_constant_cny"]
    return table
