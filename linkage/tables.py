"""Input tables: the columns linkage consumes, declared once, and a reader that checks them.

Every table is a CSV file; lines starting with ``#`` are comments (used for provenance
headers). Columns not declared here are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from linkage.errors import Problem

__all__ = ["TABLES", "Column", "TableSpec", "check_table", "read_table"]

Kind = Literal["str", "int", "float"]


@dataclass(frozen=True)
class Column:
    """A declared column.

    Parameters
    ----------
    name : str
        Column name in the CSV header.
    kind : {"str", "int", "float"}
        Expected type.
    unit : str
        Unit of the values (``""`` for identifiers and labels).
    nullable : bool
        Whether empty cells are allowed.
    minimum : float or None
        Smallest allowed value of a numeric column.
    optional : bool
        Whether the column may be left out of the file (it is then read as all empty).
    """

    name: str
    kind: Kind
    unit: str = ""
    nullable: bool = False
    minimum: float | None = None
    optional: bool = False


@dataclass(frozen=True)
class TableSpec:
    """The columns linkage consumes from one input table and its key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]


def _s(name: str, *, nullable: bool = False) -> Column:
    return Column(name, "str", nullable=nullable)


def _i(name: str, *, minimum: float | None = None) -> Column:
    return Column(name, "int", minimum=minimum)


def _f(name: str, unit: str, *, minimum: float | None = None, nullable: bool = False) -> Column:
    return Column(name, "float", unit, nullable, minimum)


def _opt(name: str, unit: str, *, minimum: float | None = 0.0) -> Column:
    """An optional, nullable numeric column (absent from the file: read as all empty)."""
    return Column(name, "float", unit, True, minimum, optional=True)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "accounts",
            (
                _s("unit_id"),
                _s("unit_name"),
                _s("level"),
                _s("parent_id", nullable=True),
                _i("year"),
                _s("service"),
                _f("quantity", "quantity_unit", nullable=True),
                _s("quantity_unit", nullable=True),
                _f("value_constant_cny", "CNY (constant prices of price_year)"),
                _i("price_year"),
                # GEP category of the service (provisioning, regulating, cultural): needed by
                # `gep_indicators.measure: gep_r`
                Column("category", "str", nullable=True, optional=True),
            ),
            ("unit_id", "year", "service", "component"),
        ),
        TableSpec(
            "indicators",
            (
                _s("unit_id"),
                _i("year"),
                _s("indicator"),
                _f("value", "value_unit"),
                _s("value_unit"),
            ),
            ("unit_id", "year", "indicator"),
        ),
        TableSpec(
            "base_factors",
            (
                _s("unit_id"),
                _f("area_km2", "km2", minimum=0.0),
                _f("population_persons", "persons", minimum=0.0),
                _f("ecological_land_km2", "km2", minimum=0.0),
            ),
            ("unit_id",),
        ),
        TableSpec(
            "previous_allocation",
            (_s("unit_id"), _i("year"), _f("amount_cny", "CNY", minimum=0.0)),
            ("unit_id", "year"),
        ),
        TableSpec(
            "water_sections",
            (
                _s("section_id"),
                _s("upstream_unit_id"),
                _s("downstream_unit_id"),
                _i("target_class", minimum=1),
                _s("water_body"),
            ),
            ("section_id",),
        ),
        TableSpec(
            "water_monthly",
            (
                _s("section_id"),
                _i("year"),
                _i("month", minimum=1),
                _s("pollutant"),
                _f("outflow_mg_per_l", "mg L-1", minimum=0.0),
                _f("inflow_mg_per_l", "mg L-1", minimum=0.0, nullable=True),
            ),
            ("section_id", "year", "month", "pollutant"),
        ),
        TableSpec(
            "water_flow",
            (
                _s("section_id"),
                _i("year"),
                _i("month", minimum=1),
                _f("flow_m3_per_s", "m3 s-1", minimum=0.0),
                _f("eco_flow_m3_per_s", "m3 s-1", minimum=0.0),
            ),
            ("section_id", "year", "month"),
        ),
        TableSpec(
            "sewage_tasks",
            (_s("unit_id"), _i("year"), _f("completion_pct", "% of the annual task", minimum=0.0)),
            ("unit_id", "year"),
        ),
        TableSpec(
            "horizontal_scores",
            (_s("agreement_id"), _i("year"), _f("score", "points", minimum=0.0)),
            ("agreement_id", "year"),
        ),
        TableSpec(
            "horizontal_observations",
            (
                _s("agreement_id"),
                Column("section_id", "str", nullable=True, optional=True),
                _i("year"),
                _i("month", minimum=1),
                _f("inflow_m3", "m3 month-1", minimum=0.0),
                _f("tn_mg_per_l", "mg L-1", minimum=0.0),
                _i("water_class", minimum=1),
            ),
            ("agreement_id", "section_id", "year", "month"),
        ),
        TableSpec(
            "forest_areas",
            (_s("unit_id"), _s("area_id"), _i("year"), _f("forest_area_mu", "mu", minimum=0.0)),
            ("unit_id", "area_id", "year"),
        ),
        TableSpec(
            "forest_factors",
            (
                _i("year"),
                _s("factor"),
                _f("value", "value_unit", minimum=0.0),
                _s("value_unit"),
                _s("source", nullable=True),
            ),
            ("year", "factor"),
        ),
        TableSpec(
            "ledger_claims",
            (
                _s("unit_id"),
                _s("area_id"),
                _s("service"),
                _i("year"),
                _s("programme"),
                _f("amount_cny", "CNY", minimum=0.0),
            ),
            ("unit_id", "area_id", "service", "year", "programme"),
        ),
        TableSpec(
            "cropland_areas",
            (
                _s("unit_id"),
                _i("year"),
                _f("cropland_area_m2", "m2", minimum=0.0),
                _opt("cropland_to_construction_m2", "m2"),
                _opt("quality_factor", "1"),
            ),
            ("unit_id", "year"),
        ),
        TableSpec(
            "cropland_base",
            (
                _s("unit_id"),
                _i("year"),
                _f("cropland_area_mu", "mu", minimum=0.0),
                _s("survey"),
            ),
            ("unit_id", "year"),
        ),
        TableSpec(
            "transfer_inputs",
            (
                _s("unit_id"),
                _i("year"),
                _f("standard_expenditure_cny", "CNY", minimum=0.0),
                _f("standard_revenue_cny", "CNY", minimum=0.0),
                _opt("subsidy_coefficient", "1"),
                _opt("prohibited_zone_area_km2", "km2"),
                _opt("prohibited_zone_count", "zones"),
                _opt("guidance_subsidy_cny", "CNY"),
            ),
            ("unit_id", "year"),
        ),
        TableSpec(
            "area_shares",
            (
                _s("unit_id"),
                _s("area_id"),
                _f("share", "1 (fraction of the unit's area)", minimum=0.0),
                _s("source", nullable=True),
            ),
            ("unit_id", "area_id"),
        ),
        TableSpec(
            "designations",
            (_s("unit_id"), _i("year"), _s("designation")),
            ("unit_id", "designation"),
        ),
        TableSpec(
            "performance_scores",
            (_s("unit_id"), _i("year"), _s("criterion"), _f("score", "points 0-100", minimum=0.0)),
            ("unit_id", "year", "criterion"),
        ),
    )
}


def _convert(
    raw: pd.Series, column: Column, table: str, rule_id: str
) -> tuple[pd.Series, list[Problem]]:
    where = f"{table}.{column.name}"
    text = raw.str.strip()
    empty = text == ""
    problems: list[Problem] = []
    if empty.any() and not column.nullable:
        problems.append(
            Problem(
                rule_id,
                where,
                f"{int(empty.sum())} empty cell(s), first in data row "
                f"{int(empty.to_numpy().argmax()) + 1}",
                "fill in every value",
            )
        )
    if column.kind == "str":
        return text, problems
    numbers = pd.to_numeric(text.where(~empty), errors="coerce")
    bad = numbers.isna() & ~empty
    if bad.any():
        problems.append(
            Problem(
                rule_id,
                where,
                f"expected numbers ({column.unit or column.kind}), found {text[bad].iloc[0]!r}",
                "write plain numbers without units or separators",
            )
        )
    if column.kind == "int":
        not_whole = numbers.notna() & (numbers % 1 != 0)
        if not_whole.any():
            problems.append(Problem(rule_id, where, "expected whole numbers", "remove decimals"))
    if column.minimum is not None and (numbers < column.minimum).any():
        problems.append(
            Problem(
                rule_id,
                where,
                f"values below {column.minimum} (found {numbers.min()})",
                f"values must be >= {column.minimum} {column.unit}",
            )
        )
    return numbers, problems


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text, empty for a missing value (as a CSV file would be read)."""
    return frame.astype(object).map(lambda v: "" if v is None or pd.isna(v) else str(v))


def check_table(
    frame: pd.DataFrame, spec: TableSpec, rule_id: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check the declared columns of an in-memory table and convert them.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (any dtypes; missing values are empty cells).
    spec : TableSpec
        The declared columns.
    rule_id : str
        Id of the rule that needs the table (reported with every problem).

    Returns
    -------
    pandas.DataFrame
        The declared columns, converted (numbers as float, ``int`` columns as int64 when
        complete); empty when a declared column is missing.
    list of Problem
        Everything wrong with the table, all at once.

    Examples
    --------
    >>> spec = TABLES["previous_allocation"]
    >>> frame = pd.DataFrame({"unit_id": ["a"], "year": [2023], "amount_cny": ["x"]})
    >>> check_table(frame, spec, "D.C")[1][0].where
    'previous_allocation.amount_cny'
    """
    raw = _as_text(frame.reset_index(drop=True))
    for column in spec.columns:
        if column.optional and column.name not in raw.columns:
            raw[column.name] = ""
    missing = [c.name for c in spec.columns if c.name not in raw.columns]
    if missing:
        return pd.DataFrame(), [
            Problem(
                rule_id,
                f"{spec.name}",
                f"missing column(s) {missing}; found {list(raw.columns)}",
                "add the columns: " + ", ".join(c.name for c in spec.columns if not c.optional),
            )
        ]
    out = pd.DataFrame(index=raw.index)
    problems: list[Problem] = []
    for column in spec.columns:
        out[column.name], found = _convert(raw[column.name], column, spec.name, rule_id)
        problems.extend(found)
        if column.kind == "int" and not found and out[column.name].notna().all():
            out[column.name] = out[column.name].astype("int64")
    key = [k for k in spec.key if k in raw.columns]
    duplicated = raw.duplicated(subset=key, keep=False)
    if duplicated.any():
        first = raw.loc[duplicated, key].iloc[0].to_dict()
        problems.append(
            Problem(
                rule_id,
                f"{spec.name}.{'+'.join(key)}",
                f"{int(duplicated.sum())} rows repeat a key, e.g. {first}",
                "keep one row per key",
            )
        )
    return out, problems


def read_table(path: Path, spec: TableSpec, rule_id: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Read one input table from CSV and check its declared columns (:func:`check_table`).

    Parameters
    ----------
    path : pathlib.Path
        CSV file (``#`` starts a comment line).
    spec : TableSpec
        The declared columns.
    rule_id : str
        Id of the rule that needs the table (reported with every problem).

    Returns
    -------
    pandas.DataFrame
        As :func:`check_table`; empty when the table could not be read.
    list of Problem
        Everything wrong with the table, all at once.
    """
    if not path.is_file():
        return pd.DataFrame(), [
            Problem(
                rule_id,
                spec.name,
                f"table file not found: {path}",
                "fix the path in `inputs` (relative to the configuration file)",
            )
        ]
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    return check_table(raw, spec, rule_id)
