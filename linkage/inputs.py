"""Load the input tables a configuration names and check them against it.

Every problem (missing column, unit missing from a table, indicator without a value, floors
above the budget ...) is collected and reported at once, tagged with the rule id that needs
the data, before anything is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import ceil, floor

import pandas as pd

from linkage.config import INDICATOR_KINDS, IndicatorSpec, LinkConfig, StageConfig
from linkage.eligibility import Eligibility, decide_eligibility
from linkage.errors import InputTableError, Problem
from linkage.indicators import gep_totals_cny, needed_indicators
from linkage.reading import check_tables, read_tables
from linkage.tables import TABLES
from linkage.validate import fen_from_cny

__all__ = [
    "LinkInputs",
    "Units",
    "bounds_fen",
    "check_inputs",
    "load_inputs",
    "stage_units",
]


@dataclass(frozen=True)
class Units:
    """The units taking part: districts, and townships grouped by district."""

    districts: list[str]
    townships: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def all_townships(self) -> list[str]:
        """Every township id, sorted."""
        return sorted(t for group in self.townships.values() for t in group)


@dataclass(frozen=True)
class LinkInputs:
    """The input tables (declared columns only), the unit registry and who takes part.

    ``units`` is the registry (every district of the accounts, or ``districts.units``), used
    by the programmes; ``participants`` are the units of the district and township stages
    after the eligibility rule (the registry without one); ``eligibility`` its outcome.
    """

    tables: dict[str, pd.DataFrame]
    units: Units
    participants: Units | None = None
    eligibility: Eligibility | None = None

    @property
    def stage_units(self) -> Units:
        """Units of the district and township stages."""
        return self.participants if self.participants is not None else self.units

    def table(self, name: str) -> pd.DataFrame:
        """Return a table, or an empty frame with its declared columns if not given."""
        frame = self.tables.get(name)
        if frame is None:
            return pd.DataFrame(columns=[c.name for c in TABLES[name].columns])
        return frame


def stage_units(accounts: pd.DataFrame, config: LinkConfig) -> tuple[Units, list[Problem]]:
    """Districts and townships of the policy year, from the accounts table.

    Parameters
    ----------
    accounts : pandas.DataFrame
        Accounts table (``unit_id, unit_name, level, parent_id, year``).
    config : LinkConfig
        Configuration (policy year, optional list of districts).

    Returns
    -------
    Units
        The registry.
    list of Problem
        Unknown districts in the configuration, districts without townships.
    """
    rule = config.districts.id
    year_rows = accounts[accounts["year"] == config.policy.year]
    problems: list[Problem] = []
    bad_level = sorted(set(accounts["level"]) - {"district", "township"})
    if bad_level:
        problems.append(
            Problem(
                config.gep_indicators.id,
                "accounts.level",
                f"unknown levels {bad_level}",
                "use 'district' or 'township'",
            )
        )
    names = dict(zip(accounts["unit_id"], accounts["unit_name"], strict=False))
    found = sorted(set(year_rows.loc[year_rows["level"] == "district", "unit_id"]))
    districts = found
    if config.districts.units is not None:
        districts = sorted(config.districts.units)
        problems += [
            Problem(
                rule,
                "accounts.unit_id",
                f"district {d!r} of districts.units has"
                f" no {config.policy.year} rows in the accounts table",
                "add its accounts or remove it from districts.units",
            )
            for d in districts
            if d not in found
        ]
    if not districts:
        problems.append(
            Problem(
                rule,
                "accounts.level",
                f"no district rows for {config.policy.year}",
                "check the policy year and levels",
            )
        )
    townships: dict[str, list[str]] = {}
    if config.townships is not None:
        rows = year_rows[year_rows["level"] == "township"]
        for district in districts:
            townships[district] = sorted(set(rows.loc[rows["parent_id"] == district, "unit_id"]))
            if not townships[district]:
                problems.append(
                    Problem(
                        config.townships.id,
                        "accounts.parent_id",
                        f"district {district!r} has no townships in {config.policy.year}",
                        "add its township rows or remove `townships`",
                    )
                )
    return Units(districts, townships, names), problems


def _missing(
    rule_id: str, where: str, expected: list[str], present: set[str], what: str
) -> list[Problem]:
    absent = [u for u in expected if u not in present]
    if not absent:
        return []
    return [
        Problem(
            rule_id,
            where,
            f"{len(absent)} unit(s) missing {what}: {absent[:8]}",
            "add a row for every unit taking part",
        )
    ]


def _accounts_indicator_problems(
    config: LinkConfig,
    spec: IndicatorSpec,
    units: list[str],
    years: list[int],
    inputs: dict[str, pd.DataFrame],
) -> list[Problem]:
    """GEP indicators need accounts rows, a positive area and a positive comparison total."""
    accounts, factors = inputs["accounts"], inputs["base_factors"]
    span = config.policy.year - config.policy.base_year
    problems: list[Problem] = []
    if (
        config.gep_indicators.measure == "gep_r"
        and not (accounts["category"] == "regulating").any()
    ):
        problems.append(
            Problem(
                config.gep_indicators.id,
                "accounts.category",
                "gep_indicators.measure is gep_r (regulating services only), but no accounts row "
                "has category 'regulating'",
                "give each row its GEP category (gep run writes it), or use measure: gep",
            )
        )
    if spec.kind == "gep_volume_change":
        years = sorted({y - s for y in years for s in (0, span)})
    totals = gep_totals_cny(accounts, config.gep_indicators.services, config.gep_indicators.measure)
    for year in years:
        present = set(accounts.loc[accounts["year"] == year, "unit_id"])
        problems += _missing(
            spec.id, "accounts.unit_id", units, present, f"from the accounts for {year}"
        )
    if spec.kind == "gep_density_constant":
        area = factors.set_index("unit_id")["area_km2"].reindex(units)
        flat = sorted(area.index[~(area > 0)])
        if flat:
            problems.append(
                Problem(
                    spec.id,
                    "base_factors.area_km2",
                    f"GEP density needs an area > 0; not so for {flat[:8]}",
                    "give the unit area",
                )
            )
    else:
        earlier = [y for y in years if y not in (config.policy.year,)] or years[:1]
        for year in earlier:
            keys = pd.MultiIndex.from_product([units, [year]])
            zero = [
                u for u, v in zip(units, totals.reindex(keys).to_numpy(), strict=True) if not v > 0
            ]
            if zero:
                problems.append(
                    Problem(
                        spec.id,
                        "accounts.value_constant_cny",
                        f"GEP volume change needs a positive {year} total; not so for {zero[:8]}",
                        "check the accounts of that year",
                    )
                )
    return problems


def _indicator_problems(
    config: LinkConfig, stage: StageConfig, units: list[str], inputs: dict[str, pd.DataFrame]
) -> list[Problem]:
    problems: list[Problem] = []
    table = inputs.get("indicators", pd.DataFrame())
    declared = {spec.id: spec for spec in config.indicators}
    for name, needs_base in needed_indicators(stage, config).items():
        spec = declared.get(name)
        if spec is None or spec.kind not in INDICATOR_KINDS:
            continue  # reported by check_config
        years = [config.policy.year] + ([config.policy.base_year] if needs_base else [])
        if INDICATOR_KINDS[spec.kind] == "accounts":
            problems += _accounts_indicator_problems(config, spec, units, years, inputs)
            continue
        if table.empty:
            problems.append(
                Problem(
                    spec.id,
                    "inputs.indicators",
                    "no indicator table given",
                    "add inputs.indicators",
                )
            )
            continue
        rows = table[table["indicator"] == name]
        for year in years:
            present = set(rows.loc[rows["year"] == year, "unit_id"])
            problems += _missing(
                spec.id, "indicators.unit_id", units, present, f"indicator {name!r} for {year}"
            )
        wrong = sorted(set(rows["value_unit"]) - {spec.value_unit})
        if wrong:
            problems.append(
                Problem(
                    spec.id,
                    "indicators.value_unit",
                    f"found unit(s) {wrong}, declared {spec.value_unit!r}",
                    "convert the values",
                )
            )
    return problems


def _price_year_problems(config: LinkConfig, accounts: pd.DataFrame) -> list[Problem]:
    span = config.policy.year - config.policy.base_year
    years = {config.policy.year - k * span for k in range(3)}
    used = sorted(set(accounts.loc[accounts["year"].isin(years), "price_year"]))
    if len(used) > 1:
        return [
            Problem(
                config.gep_indicators.id,
                "accounts.price_year",
                f"constant prices of several price years {used}",
                "recompute the accounts at one base year",
            )
        ]
    return []


def bounds_fen(stage: StageConfig, previous_fen: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """Floors and caps in whole fen from last year's amounts (``None`` without bounds).

    ``floor = ceil(floor_ratio x last)``, ``cap = max(floor, floor(cap_ratio x last))``.

    Parameters
    ----------
    stage : StageConfig
        The stage (its ``bounds`` rule).
    previous_fen : pandas.Series
        Last year's amounts in fen, indexed by unit id.

    Returns
    -------
    tuple of pandas.Series or None
        Floors and caps (fen; caps are a huge number where no cap ratio is given).
    """
    if stage.bounds is None:
        return None
    low = Fraction(repr(stage.bounds.floor_ratio or 0.0))
    cap_ratio = stage.bounds.cap_ratio
    floors = previous_fen.map(lambda fen: ceil(low * int(fen)))
    if cap_ratio is None:
        caps = previous_fen.map(lambda fen: 10**18)
    else:
        high = Fraction(repr(cap_ratio))
        caps = previous_fen.map(lambda fen: floor(high * int(fen)))
    return floors.astype("int64"), pd.concat([floors, caps], axis=1).max(axis=1).astype("int64")


def _previous(
    config: LinkConfig, stage: StageConfig, units: list[str], table: pd.DataFrame | None
) -> tuple[pd.Series, list[Problem]]:
    if stage.bounds is None:
        return pd.Series(dtype="int64"), []
    rule = stage.bounds.id
    if table is None or table.empty:
        return pd.Series(dtype="int64"), [
            Problem(
                rule, "inputs.previous_allocation", "floors/caps need last year's allocation", ""
            )
        ]
    rows = table[table["year"] == config.policy.base_year].set_index("unit_id")["amount_cny"]
    problems = _missing(
        rule,
        "previous_allocation.unit_id",
        units,
        set(rows.index),
        f"for {config.policy.base_year}",
    )
    fen = {u: fen_from_cny(Decimal(repr(float(rows[u])))) for u in units if u in rows.index}
    bad = [u for u, value in fen.items() if value is None]
    if bad:
        problems.append(
            Problem(
                rule,
                "previous_allocation.amount_cny",
                f"more than two decimals for {bad[:5]}",
                "amounts are in whole fen",
            )
        )
    return pd.Series({u: v for u, v in fen.items() if v is not None}, dtype="int64"), problems


def _feasibility(config: LinkConfig, previous: pd.Series) -> list[Problem]:
    stage = config.districts
    budget = fen_from_cny(stage.budget.amount_cny)
    bounds = bounds_fen(stage, previous)
    if bounds is None or budget is None or budget < 0 or previous.empty:
        return []
    floors, caps = bounds
    rule = stage.bounds.id if stage.bounds else "bounds"
    if int(floors.sum()) > budget:
        return [
            Problem(
                rule,
                "districts.bounds.floor_ratio",
                f"floors add up to "
                f"{int(floors.sum()) / 100:.2f} CNY, above the budget {budget / 100:.2f}",
                "lower floor_ratio or raise the budget",
            )
        ]
    if stage.bounds and stage.bounds.cap_ratio is not None and int(caps.sum()) < budget:
        return [
            Problem(
                rule,
                "districts.bounds.cap_ratio",
                f"caps add up to "
                f"{int(caps.sum()) / 100:.2f} CNY, below the budget {budget / 100:.2f}",
                "raise cap_ratio or lower the budget",
            )
        ]
    return []


def load_inputs(config: LinkConfig) -> tuple[LinkInputs, dict[str, pd.Series]]:
    """Read every input table and check it against the configuration.

    Parameters
    ----------
    config : LinkConfig
        A configuration that passed :func:`linkage.validate.check_config`.

    Returns
    -------
    LinkInputs
        Tables and unit registry.
    dict of str to pandas.Series
        Last year's amounts in fen per stage (``district``, ``township``), empty without bounds.

    Raises
    ------
    InputTableError
        With every problem found, each naming the table, column and rule id.
    """
    raw, problems = read_tables(config)
    inputs, previous = check_inputs(config, raw, problems)
    return inputs, previous


def check_inputs(
    config: LinkConfig,
    given: Mapping[str, pd.DataFrame],
    problems: list[Problem] | None = None,
) -> tuple[LinkInputs, dict[str, pd.Series]]:
    """Check in-memory input tables against the configuration.

    Parameters
    ----------
    config : LinkConfig
        A configuration that passed :func:`linkage.validate.check_config`.
    given : mapping of str to pandas.DataFrame
        Table name (as in ``inputs:``) to table; declared columns are checked and converted.
    problems : list of Problem, optional
        Problems already found (e.g. files not read); reported with the rest.

    Returns
    -------
    LinkInputs
        Tables and unit registry.
    dict of str to pandas.Series
        Last year's amounts in fen per stage (``district``, ``township``), empty without bounds.

    Raises
    ------
    InputTableError
        With every problem found, each naming the table, column and rule id.
    """
    tables, found_here = check_tables(config, given)
    problems = list(problems or []) + found_here
    if "accounts" not in tables or "base_factors" not in tables:
        raise InputTableError(problems)
    problems += _price_year_problems(config, tables["accounts"])
    units, found = stage_units(tables["accounts"], config)
    problems += found
    eligibility, found = decide_eligibility(
        config, units.districts, tables["accounts"], tables.get("area_shares")
    )
    problems += found
    taking = _participants(config, units, eligibility)
    problems += _partial_factor_problems(config, eligibility, tables["base_factors"])
    previous: dict[str, pd.Series] = {}
    stages: list[tuple[str, StageConfig, list[str]]] = [
        ("district", config.districts, taking.districts)
    ]
    if config.townships is not None:
        stages.append(("township", config.townships, taking.all_townships))
    for name, stage, members in stages:
        problems += _missing(
            stage.base_factors.id,
            "base_factors.unit_id",
            members,
            set(tables["base_factors"]["unit_id"]),
            "",
        )
        problems += _indicator_problems(config, stage, members, tables)
        previous[name], found = _previous(config, stage, members, tables.get("previous_allocation"))
        problems += found
    if len(previous["district"]) == len(taking.districts):  # complete: bounds can be summed
        problems += _feasibility(config, previous["district"])
    if problems:
        raise InputTableError(problems)
    return LinkInputs(tables, units, taking, eligibility), previous


def _participants(config: LinkConfig, units: Units, eligibility: Eligibility | None) -> Units:
    """The registry restricted to the units the eligibility rule lets take part."""
    if eligibility is None:
        return units
    townships = (
        {d: eligibility.townships.get(d, []) for d in eligibility.districts}
        if config.townships is not None
        else {}
    )
    return Units(eligibility.districts, townships, units.names)


def _partial_factor_problems(
    config: LinkConfig, eligibility: Eligibility | None, factors: pd.DataFrame
) -> list[Problem]:
    """A district taking part in part needs the base factors of its eligible townships."""
    if eligibility is None or not eligibility.partial:
        return []
    towns = sorted(t for group in eligibility.partial.values() for t in group)
    return _missing(
        eligibility.rule.id,
        "base_factors.unit_id",
        towns,
        set(factors["unit_id"]),
        "(townships whose base factors a district taking part in part sums)",
    )
