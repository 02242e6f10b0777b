"""Services measured by statistics, not rasters: provisioning products and recreation.

The standards value provisioning services as output × price per product (agriculture,
forestry, livestock, fishery, water supply, ecological energy) and recreation as visits to
natural sites × spending per visit (or the travel cost), from statistical yearbooks, water
resources bulletins and visitor statistics (MEE 2020 GEP guide; 发改基础〔2022〕481号;
GB/T 46869—2025; DB11/T 2059—2022). GB/T 46869 counts only products that originate in the
accounting region (water brought in by the South-to-North transfer is not Beijing's supply).

gep reads them like any table of the catalog: one row per unit of the finest accounting level,
year and item (``unit_id, year, service, item, quantity, quantity_unit``); coarser levels are
the sums of their children, so the hierarchy check holds by construction. Each item becomes a
quantity of the accounts named after it; a valuation component prices it (``output × price``,
with its own dated price row). The SEEA resource-rent option (value net of the producers'
costs) is a price choice: give a unit resource rent as the price item.
"""

from __future__ import annotations

import pandas as pd

from data_catalog.errors import InputError
from gep.services.catalogue import BY_SERVICE

COLUMNS = ("unit_id", "year", "service", "item", "quantity", "quantity_unit")

REFERENCES = (
    "MEE (2020) 陆地生态系统生产总值（GEP）核算技术指南: provisioning (output × price); "
    "recreation (visits × spending)",
    "GB/T 46869—2025; NDRC & NBS 发改基础〔2022〕481号; DB11/T 2059—2022",
    "UN SEEA Ecosystem Accounting (2021) §9: resource rent",
)


def check_statistics(table: pd.DataFrame, *, name: str, years: list[int]) -> pd.DataFrame:
    """Validate a statistics table; return it with ``unit_id`` as text.

    Raises
    ------
    InputError
        Missing columns, a service outside the catalogue, negative or blank quantities, a blank
        unit, an item under two services or two units, duplicate rows, or a year with no rows;
        every problem in one message with its fix.
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"statistics table {name}: no column(s) {missing}; expected {COLUMNS}")
    df = table.assign(unit_id=table["unit_id"].astype(str), year=table["year"].astype(int))
    problems = []
    unknown = sorted(set(df["service"]) - set(BY_SERVICE))
    if unknown:
        problems.append(f"services {unknown} are not in the GEP catalogue ({sorted(BY_SERVICE)})")
    quantity = pd.to_numeric(df["quantity"], errors="coerce")
    bad = df[quantity.isna() | (quantity < 0)]
    if not bad.empty:
        first = bad.iloc[0]
        problems.append(
            f"{len(bad)} rows have a blank, non-numeric or negative quantity (first: unit "
            f"{first['unit_id']}, {first['year']}, {first['item']}); expected ≥ 0: a zero "
            "output is 0, an unknown one must be filled in or the item dropped"
        )
    for column in ("service", "quantity_unit"):
        per_item = df.groupby("item")[column].nunique()
        if (per_item > 1).any():
            problems.append(f"items {sorted(per_item[per_item > 1].index)} have several {column}")
    if df["quantity_unit"].isna().any():
        problems.append("blank quantity_unit: give the unit of every row (e.g. 't yr-1')")
    dup = df.duplicated(["unit_id", "year", "item"])
    if dup.any():
        problems.append(f"{int(dup.sum())} duplicate (unit_id, year, item) rows")
    absent = sorted(set(years) - set(df["year"]))
    if absent:
        problems.append(f"no rows for year(s) {absent} of the run")
    if problems:
        raise InputError(f"statistics table {name}:\n  - " + "\n  - ".join(problems))
    return df.assign(quantity=quantity.astype(float))


def unit_quantities(
    table: pd.DataFrame, units: list[pd.DataFrame], *, name: str, years: list[int]
) -> pd.DataFrame:
    """Statistics as rows of the quantity table, at every accounting level.

    Parameters
    ----------
    table : DataFrame
        Statistics (:data:`COLUMNS`) for the units of the **finest** level.
    units : list of DataFrame
        The levels' unit tables, coarsest first (``unit_id, unit_name, level, parent_id,
        area_km2``; :class:`gep.accounts.UnitLevel.units`).
    name : str
        Table name for messages.
    years : list of int
        Years of the run.

    Returns
    -------
    DataFrame
        ``unit_id, unit_name, level, parent_id, area_km2, year, quantity_name, quantity,
        quantity_unit, valid_fraction`` (``quantity_name`` = item; ``valid_fraction`` = 1).

    Raises
    ------
    InputError
        A unit of the finest level has no row for an item and year, or a row names a unit
        that is not of the finest level.

    Examples
    --------
    Two townships of one district grew 3 t and 5 t of grain: the district has 8 t.
    """
    df = check_statistics(table, name=name, years=years)
    df = df[df["year"].isin(years)]
    finest = units[-1]
    _check_units(df, finest, name)
    rows = df.rename(columns={"item": "quantity_name"})[
        ["unit_id", "year", "quantity_name", "quantity", "quantity_unit"]
    ]
    frames = [finest.merge(rows, on="unit_id", how="inner")]
    child = frames[0]
    for parent in reversed(units[:-1]):
        keys = ["parent_id", "year", "quantity_name", "quantity_unit"]
        sums = pd.DataFrame(child.groupby(keys, as_index=False)["quantity"].sum())
        sums = sums.rename(columns={"parent_id": "unit_id"})
        child = parent.merge(sums, on="unit_id", how="inner")
        frames.append(child)
    return pd.concat(frames, ignore_index=True).assign(valid_fraction=1.0)


def _check_units(df: pd.DataFrame, finest: pd.DataFrame, name: str) -> None:
    known = set(finest["unit_id"].astype(str))
    strange = sorted(set(df["unit_id"]) - known)
    if strange:
        raise InputError(
            f"statistics table {name}: unit_id {strange[:5]}{' ...' if len(strange) > 5 else ''} "
            f"are not units of the finest level ({finest['level'].iloc[0]}); give statistics "
            "per unit of that level (coarser totals are summed from them)"
        )
    expected = pd.MultiIndex.from_product(
        [sorted(known), sorted(set(df["year"])), sorted(set(df["item"]))],
        names=["unit_id", "year", "item"],
    )
    have = pd.MultiIndex.from_frame(df[["unit_id", "year", "item"]])
    lacking = expected.difference(have)
    if len(lacking):
        first = lacking[0]
        raise InputError(
            f"statistics table {name}: {len(lacking)} (unit, year, item) rows are missing "
            f"(first: unit {first[0]}, {first[1]}, {first[2]}); every unit needs every item "
            "and year (0 when there is no output), else its total would be silently low"
        )
