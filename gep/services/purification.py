"""Air and water purification: capacity per ecosystem type, capped by the actual loads.

The standards count the pollutants an ecosystem removes, which is its purification capacity
but never more than what is emitted into it (MEE 2020 GEP guide; GB/T 46869—2025;
发改基础〔2022〕481号; DB11/T 2059—2022)::

    Q_j = min(Σ_i C_ij·A_i, E_j)        per accounting unit

with ``C_ij`` the capacity of ecosystem type *i* for pollutant *j* (t km⁻² yr⁻¹), ``A_i`` its
area (km²) and ``E_j`` the load of *j* emitted in the unit (t yr⁻¹; air: SO2, NOx, dust from the
emission inventory; water: COD, NH3-N, TP entering the unit's water bodies). The value is
``Q_j`` × the pollutant's price (Beijing's environmental protection tax equivalents, or a
treatment cost).

The raster step (:data:`AIR`, :data:`WATER`) gives the capacity per pixel; the cap is taken per
unit of the **finest** accounting level (:func:`capped_quantities`), and coarser levels are the
sums of their units' capped amounts, so a district never counts purification of pollution
emitted in a township that has no capacity left. Classes with a blank capacity are outside the
method (0).
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from data_catalog.errors import InputError
from gep import units
from gep.services.spec import (
    RasterInput,
    RasterOutput,
    Service,
    ServiceInputs,
    ServiceSpec,
    TableInput,
    as_output,
    reclassify,
)

#: t km-2 yr-1 of capacity per class
T_PER_KM2_PER_YR = "t km-2 yr-1"
#: pollutants of each service
AIR_POLLUTANTS = ("sulphur_dioxide", "nitrogen_oxides", "dust")
WATER_POLLUTANTS = ("cod", "ammonia_nitrogen", "total_phosphorus")
REFERENCES = (
    "MEE (2020) 陆地生态系统生产总值（GEP）核算技术指南: air and water purification",
    "GB/T 46869—2025; NDRC & NBS 发改基础〔2022〕481号; DB11/T 2059—2022",
)


def _spec(name: str, pollutants: tuple[str, ...], table: str, prefix: str) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        inputs=(
            RasterInput("landcover", categorical=True, variable="landcover"),
            TableInput(
                table,
                index=("landcover",),
                columns=dict.fromkeys(pollutants, T_PER_KM2_PER_YR),
                valid_ranges=dict.fromkeys(pollutants, (0.0, 1e6)),
                nullable=pollutants,
                description="purification capacity per class, t km-2 yr-1; blank = outside",
                parameters={p: f"{prefix}_capacity_{p}" for p in pollutants},
            ),
        ),
        outputs=tuple(
            RasterOutput(f"{p}_purification_capacity", units.T_PER_YR, f"{p} capacity, t yr-1")
            for p in pollutants
        ),
        neighbourhood=0,
        references=REFERENCES,
        accounted=tuple(f"{p}_purification_capacity" for p in pollutants),
    )


AIR_SPEC = _spec("air_purification", AIR_POLLUTANTS, "air_purification_capacity", "air")
WATER_SPEC = _spec("water_purification", WATER_POLLUTANTS, "water_purification_capacity", "water")


def _capacity(inputs: ServiceInputs, pollutants: tuple[str, ...], table: str) -> xr.Dataset:
    """Per pixel ``C_class · A`` (t yr-1; A in km²); 0 where the class capacity is blank."""
    area_km2 = inputs.cell_area_m2() / 1e6
    valid = inputs.landcover.coords["valid"]
    out = {}
    for p in pollutants:
        c = reclassify(inputs, "landcover", table, p)
        c = xr.where(c.isnull() & valid, 0.0, c)
        out[f"{p}_purification_capacity"] = c * area_km2
    return as_output(inputs.spec, **out)


def compute_air(inputs: ServiceInputs) -> xr.Dataset:
    """Air purification capacity per pixel, t yr-1 (SO2, NOx, dust): ``C_i·A``.

    Examples
    --------
    A 1-ha pixel (0.01 km²) of a class that takes up 8 t km-2 yr-1 of SO2 has a capacity of
    0.08 t yr-1 (tests/services/test_purification.py).
    """
    return _capacity(inputs, AIR_POLLUTANTS, "air_purification_capacity")


def compute_water(inputs: ServiceInputs) -> xr.Dataset:
    """Water purification capacity per pixel, t yr-1 (COD, NH3-N, TP): ``C_i·A``."""
    return _capacity(inputs, WATER_POLLUTANTS, "water_purification_capacity")


AIR = Service(AIR_SPEC, compute_air)
WATER = Service(WATER_SPEC, compute_water)

#: the services of this module, registered by :mod:`gep.services`
SERVICES = (AIR, WATER)

#: capacity quantity → (pollutant of the loads table, purified quantity)
CAPPED = {
    f"{p}_purification_capacity": (p, f"{p}_purified") for p in AIR_POLLUTANTS + WATER_POLLUTANTS
}
LOAD_COLUMNS = ("unit_id", "year", "pollutant", "load", "load_unit")


def capped_quantities(
    quantities: pd.DataFrame, loads: pd.DataFrame, units_by_level: list[pd.DataFrame], *, name: str
) -> pd.DataFrame:
    """Purified amounts ``min(capacity, load)`` per finest unit, summed to coarser levels.

    Parameters
    ----------
    quantities : DataFrame
        Quantity table with ``<pollutant>_purification_capacity`` rows (t yr-1).
    loads : DataFrame
        ``unit_id, year, pollutant, load, load_unit`` per unit of the finest level (t yr-1).
    units_by_level : list of DataFrame
        Unit tables, coarsest first.
    name : str
        Loads table name for messages.

    Returns
    -------
    DataFrame
        Rows ``<pollutant>_purified`` (t yr-1) in the quantity-table layout.

    Raises
    ------
    InputError
        Loads missing for a unit, year and pollutant whose capacity was computed; negative
        loads; units other than ``t yr-1``.

    Examples
    --------
    A township with 40 t of SO2 capacity and 25 t emitted purifies 25 t; one with 10 t of
    capacity and 25 t emitted purifies 10 t; their district counts 35 t (not min(50, 50)).
    """
    missing = [c for c in LOAD_COLUMNS if c not in loads.columns]
    if missing:
        raise InputError(f"pollutant loads {name}: no column(s) {missing}; expected {LOAD_COLUMNS}")
    finest = units_by_level[-1]
    level = finest["level"].iloc[0]
    caps = quantities[quantities["quantity_name"].isin(CAPPED) & (quantities["level"] == level)]
    caps = caps.assign(pollutant=caps["quantity_name"].map(lambda q: CAPPED[q][0]))
    table = _checked_loads(loads, name)
    merged = caps.merge(table, on=["unit_id", "year", "pollutant"], how="left")
    lacking = merged[merged["load"].isna() & merged["quantity"].notna()]
    if not lacking.empty:
        first = lacking.iloc[0]
        raise InputError(
            f"pollutant loads {name}: {len(lacking)} (unit, year, pollutant) rows are missing "
            f"(first: unit {first['unit_id']}, {first['year']}, {first['pollutant']}); give the "
            "load emitted in every unit of the finest level (0 when none)"
        )
    merged["quantity"] = merged[["quantity", "load"]].min(axis=1, skipna=False)
    merged["quantity_name"] = merged["quantity_name"].map(lambda q: CAPPED[q][1])
    frames = [merged.drop(columns=["pollutant", "load", "load_unit"])]
    child = frames[0]
    for parent in reversed(units_by_level[:-1]):
        keys = ["parent_id", "year", "quantity_name", "quantity_unit"]
        sums = pd.DataFrame(child.groupby(keys, as_index=False)["quantity"].sum(min_count=1))
        child = parent.merge(sums.rename(columns={"parent_id": "unit_id"}), on="unit_id")
        child = child.assign(valid_fraction=1.0)
        frames.append(child)
    return pd.concat(frames, ignore_index=True)


def _checked_loads(loads: pd.DataFrame, name: str) -> pd.DataFrame:
    table = loads.assign(unit_id=loads["unit_id"].astype(str), year=loads["year"].astype(int))
    table["load"] = pd.to_numeric(table["load"], errors="coerce")
    if (table["load"] < 0).any() or table["load"].isna().any():
        raise InputError(f"pollutant loads {name}: blank or negative load; expected ≥ 0 t yr-1")
    wrong = sorted(set(table["load_unit"]) - {units.T_PER_YR})
    if wrong:
        raise InputError(f"pollutant loads {name}: load_unit {wrong}; expected 't yr-1'")
    return table[list(LOAD_COLUMNS)]
