"""A small output folder with the layout of a ``gep run`` (2 districts, 3 townships, 2 years).

Values are made up and chosen so that totals can be checked by hand: the store tests must not
depend on the engine, which other work changes. The browser test uses a real ``gep demo``.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

#: (unit_id, name, level, parent_id, x0 in metres of UTM zone 50N)
UNITS = [
    ("110101", "东城区", "district", "110000", 440_000),
    ("110102", "西城区", "district", "110000", 450_000),
    ("110101001", "东华门街道", "township", "110101", 440_000),
    ("110101002", "景山街道", "township", "110101", 445_000),
    ("110102001", "西长安街街道", "township", "110102", 450_000),
]
SERVICES = {"water_conservation": 1_000_000.0, "carbon_sequestration": 250_000.0}
YEARS = (2015, 2020)


def _value(unit_index: int, service: str, year: int, scale: float) -> float:
    """元: a different value per unit, service and year (year 2020 is 10 % above 2015)."""
    base = SERVICES[service] * (unit_index + 1) * (1.1 if year == 2020 else 1.0)
    return base * scale


def _accounts(scale: float, units: list[tuple]) -> pd.DataFrame:
    rows = []
    for index, (uid, name, level, parent, _) in enumerate(units):
        for year in YEARS:
            for service in SERVICES:
                value = _value(index, service, year, scale)
                rows.append(
                    {
                        "unit_id": uid,
                        "unit_name": name,
                        "level": level,
                        "parent_id": parent,
                        "year": year,
                        "service": service,
                        "component": "total",
                        "quantity": value / 8.0,
                        "quantity_unit": "m3 yr-1",
                        "value_current_cny": value * 0.9,
                        "value_constant_cny": value,
                        "price_year": 2020,
                        "category": "regulating",
                        "price_source": "made up for a test, 'quoted', with commas",
                        "area_km2": 25.0,
                    }
                )
    return pd.DataFrame(rows)


def _gep(accounts: pd.DataFrame) -> pd.DataFrame:
    keys = ["unit_id", "unit_name", "level", "parent_id", "year"]
    gep = accounts.groupby(keys, sort=False)[["value_current_cny", "value_constant_cny"]].sum()
    gep = gep.reset_index().rename(
        columns={"value_current_cny": "gep_current_cny", "value_constant_cny": "gep_constant_cny"}
    )
    gep["area_km2"] = 25.0
    gep["gep_constant_cny_per_km2"] = gep["gep_constant_cny"] / 25.0
    gep["gep_scope"] = "partial"
    gep["change_constant_cny"] = gep.groupby("unit_id")["gep_constant_cny"].diff()
    return gep


def _allocation(units: list[tuple], scale: float) -> pd.DataFrame:
    rows = []
    for index, (uid, name, level, parent, _) in enumerate(units):
        amount_fen = int(100_000_000 * (index + 1) * scale)
        rows.append(
            {
                "unit_id": uid,
                "unit_name": name,
                "level": level,
                "parent_id": parent,
                "year": 2020,
                "stage": level,
                "group_id": "all",
                "coefficient": 0.1 * (index + 1),
                "amount_fen": amount_fen,
                "amount_cny": amount_fen / 100,
            }
        )
    return pd.DataFrame(rows)


def _write_units(path: Path, units: list[tuple]) -> None:
    for level in ("district", "township"):
        chosen = [u for u in units if u[2] == level]
        frame = gpd.GeoDataFrame(
            {"unit_id": [u[0] for u in chosen], "name": [u[1] for u in chosen]},
            geometry=[box(u[4], 4_420_000, u[4] + 5_000, 4_425_000) for u in chosen],
            crs="EPSG:32650",
        )
        frame.to_file(path, layer=level, driver="GPKG")


def make_output_folder(folder: Path, *, scale: float = 1.0, drop_unit: str | None = None) -> Path:
    """Write a fake run's output folder; ``scale`` multiplies every value and amount."""
    folder.mkdir(parents=True, exist_ok=True)
    units = [u for u in UNITS if u[0] != drop_unit]
    accounts = _accounts(scale, units)
    accounts.to_csv(folder / "accounts.csv", index=False, encoding="utf-8-sig")
    _gep(accounts).to_csv(folder / "gep_by_unit.csv", index=False, encoding="utf-8-sig")
    _allocation(units, scale).to_csv(folder / "allocation.csv", index=False, encoding="utf-8-sig")
    _write_units(folder / "units.gpkg", units)
    manifest = {
        "engine": {"name": "gep", "version": "0.1.0"},
        "config": {"name": "fake-run", "years": list(YEARS)},
        "catalog": {"name": "fake", "synthetic": True},
        "inputs": [
            {
                "id": "landcover_2020",
                "kind": "raster",
                "path": "lc.tif",
                "bytes": 10,
                "sha256": "ab" * 32,
            },
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
