"""Write a run's account outputs into a folder, atomically (temporary folder, then rename)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from data_catalog.tables import load_scheme
from gep.accounts import gep_by_unit, service_shares
from gep.config import RunConfig
from gep.exports import (
    supply_table,
    write_accounts_csv,
    write_accounts_xlsx,
    write_units_gpkg,
)
from gep.pipeline import Accounts


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Build outputs in a temporary sibling folder; move it to ``target`` only on success.

    An existing ``target`` is replaced only after the new one is complete; a failed or
    interrupted run removes its temporary folder and leaves ``target`` untouched.
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ecosystem_types(cat: Catalog, year: int) -> np.ndarray:
    """Ecosystem-type name of every pixel in ``year`` (``""`` where land cover is nodata)."""
    entry_id = cat.find(variable="landcover", year=year)
    da = cat.raster(entry_id)
    scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
    lut = np.full(256 if da.dtype.itemsize == 1 else 65536, "", dtype=object)
    for code, etype in zip(scheme["code"].astype(int), scheme["ecosystem_type"], strict=True):
        lut[code] = etype
    types = lut[da.values.astype(np.int64)]
    types[~da.coords["valid"].values] = ""
    return types.astype(str)


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
    types = {year: ecosystem_types(cat, year) for year in config.years}
    supply = supply_table(acc.rasters, types, prices)
    written["supply_table.csv"] = write_accounts_csv(supply, folder / "supply_table.csv")
    return written
