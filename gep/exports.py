"""Write the accounts: CSV, XLSX, GeoPackage of units and a SEEA-style supply table.

Every writer goes through a temporary file in the target folder and :func:`os.replace`, so an
interrupted run never leaves a file that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

SYNTHETIC_FLAG = "inputs_synthetic"


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # writers such as GDAL refuse to overwrite an empty file
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


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
) -> Path:
    """One sheet per level, the GEP view, units, and prices with their years and sources.

    Numbers are written as numbers (openpyxl keeps pandas' numeric dtypes).
    """

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for level, rows in accounts.groupby("level", sort=False):
                rows.to_excel(xl, sheet_name=str(level)[:31], index=False)
            gep.to_excel(xl, sheet_name="gep", index=False)
            units = accounts.drop_duplicates(["level", "unit_id"])[
                [
                    c
                    for c in ("unit_id", "unit_name", "level", "parent_id", "area_km2")
                    if c in accounts
                ]
            ]
            units.to_excel(xl, sheet_name="units", index=False)
            prices.to_excel(xl, sheet_name="prices", index=False)
            pd.DataFrame({"note": notes or []}).to_excel(xl, sheet_name="notes", index=False)

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

    return atomic_write(path, write)


def supply_table(
    quantities: dict[tuple[str, int], xr.DataArray],
    ecosystem_type: dict[int, np.ndarray],
    prices: pd.DataFrame,
) -> pd.DataFrame:
    """SEEA EA ecosystem-services supply table: services × ecosystem types, per year.

    Physical supply is the sum of each per-pixel quantity over the pixels of each ecosystem
    type (the land cover of that year); monetary supply multiplies by the year's current and
    constant unit prices of the components valuing that quantity (SEEA EA 2021, ch. 7 and 9).

    Parameters
    ----------
    quantities : dict
        ``(quantity_name, year) → per-pixel DataArray`` with units.
    ecosystem_type : dict
        ``year → 2-D array of ecosystem-type names`` (``""`` outside the area).
    prices : DataFrame
        ``quantity_name, year, service, component, factor, price_current_cny,
        price_constant_cny`` (one row per component valuing a quantity).
    """
    rows = []
    for (name, year), da in quantities.items():
        types = ecosystem_type[year]
        values = np.asarray(da.values, dtype=np.float64)
        valid = np.isfinite(values) & (types != "")
        frame = pd.DataFrame({"type": types[valid], "q": values[valid]})
        sums = frame.groupby("type")["q"].sum()
        for etype, q in sums.items():
            rows.append(
                {
                    "quantity_name": name,
                    "year": year,
                    "ecosystem_type": etype,
                    "quantity": q,
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
