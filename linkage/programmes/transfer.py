"""Key ecological function area transfer payment (重点生态功能区转移支付), per unit.

Structure of the Ministry of Finance's management measures for the transfer payment to key
ecological function areas (财政部《中央对地方重点生态功能区转移支付办法》, e.g. 财预〔2022〕59号)
as the Beijing 2022 opinions §(八) ask to revise the municipal measures. Every amount and rate is
a policy input of the configuration (the Ministry's amounts change yearly; none is a default).
Per unit ``u`` and policy year ``t``::

    key         = max(0, E_u - R_u) x c_u            standard fiscal gap x subsidy coefficient
    prohibited  = a_u x rate_area (+ n_u x rate_zone) prohibited-development zones
    guidance    = G_u                                 guidance subsidy (table)
    subsidy     = key + prohibited + guidance
    reward/pen. = +/- share_g x subsidy  or  +/- amount_g
    entitlement = max(0, subsidy + reward - penalty)

with ``E`` and ``R`` the standard fiscal expenditure and revenue, and ``g`` the grade of the
change of the eco-environment index ``dEI = EI(t) - EI(base year)`` after HJ 192-2015
《生态环境状况评价技术规范》 (生态环境状况变化度分级): ``|dEI| < 1`` no obvious change,
``1 <= |dEI| < 3`` slight, ``3 <= |dEI| < 8`` obvious, ``|dEI| >= 8`` significant; a rise is
an improvement (reward), a fall a deterioration (penalty).

Each line is settled in whole fen (half up). The entitlement then goes through the
de-duplication ledger, the optional performance factor (:mod:`linkage.programmes.evaluation`)
and, when a budget is given, a proportional scaling to the budget in exact fen
(:func:`linkage.allocation.allocate_fen`).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from linkage.allocation import allocate_fen
from linkage.config import EcoIndexRule, GradeAmount, LinkConfig, TransferConfig
from linkage.errors import Problem
from linkage.programmes.lines import Line, cny, fen_half_up, to_decimal, total
from linkage.validate import fen_from_cny

__all__ = [
    "AREA_ID",
    "HJ192_THRESHOLDS",
    "check_eco_index",
    "check_transfer",
    "finalise_transfer",
    "grade_ei_change",
    "transfer_entitlements",
]

#: Ledger area id of a unit's transfer (the fiscal unit as a whole).
AREA_ID = "fiscal_unit"

#: HJ 192-2015 change grades: lower bounds of |dEI| for slight, obvious, significant change.
HJ192_THRESHOLDS = ((1.0, "slight"), (3.0, "obvious"), (8.0, "significant"))


def grade_ei_change(delta_ei: float) -> tuple[str, str]:
    """Grade of an eco-environment index change after HJ 192-2015.

    Parameters
    ----------
    delta_ei : float
        ``EI(t) - EI(t0)`` in index points.

    Returns
    -------
    tuple of str
        Grade (``"none"``, ``"slight"``, ``"obvious"``, ``"significant"``) and direction
        (``"better"``, ``"worse"`` or ``""`` for no obvious change).

    Examples
    --------
    >>> [grade_ei_change(d) for d in (0.99, -1.0, 2.99, 3.0, -7.5, 8.0)]
    [('none', ''), ('slight', 'worse'), ('slight', 'better'), ('obvious', 'better'), \
('obvious', 'worse'), ('significant', 'better')]
    """
    size = abs(delta_ei)
    grade = "none"
    for lower, name in HJ192_THRESHOLDS:
        if size >= lower:
            grade = name
    if grade == "none":
        return grade, ""
    return grade, "better" if delta_ei > 0 else "worse"


def _fen_of(value: float) -> int:
    return fen_half_up(to_decimal(float(value)))


def _grade_line(rule: EcoIndexRule, delta: float, subsidy_fen: int) -> Line | None:
    grade, direction = grade_ei_change(delta)
    if grade == "none":
        return None
    table = rule.reward if direction == "better" else rule.penalty
    setting: GradeAmount | None = table.get(grade)  # type: ignore[call-overload]
    if setting is None:
        return None
    sign = 1 if direction == "better" else -1
    word = "reward" if sign > 0 else "penalty"
    text = f"{word}: dEI {delta:+.2f}, {grade} change ({direction}), HJ 192-2015"
    if setting.share_of_subsidy is not None:
        share = setting.share_of_subsidy
        fen = fen_half_up(Fraction(subsidy_fen, 100) * Fraction(to_decimal(share)))
        return Line(rule.id, text, sign * cny(fen), delta, "EI points", share, "x subsidy")
    amount = setting.amount_cny or Decimal(0)
    return Line(rule.id, text, sign * amount, delta, "EI points", float(amount), "CNY")


def _coefficient(rule: TransferConfig, row: pd.Series) -> float:
    value = row["subsidy_coefficient"]
    return float(value) if pd.notna(value) else float(rule.key_subsidy.coefficient or 0.0)


def _subsidy_lines(rule: TransferConfig, row: pd.Series) -> list[Line]:
    gap = max(0.0, float(row["standard_expenditure_cny"]) - float(row["standard_revenue_cny"]))
    coefficient = _coefficient(rule, row)
    key = fen_half_up(Fraction(to_decimal(gap)) * Fraction(to_decimal(coefficient)))
    lines = [
        Line(
            rule.key_subsidy.id,
            "key subsidy: standard fiscal gap (expenditure - revenue, >= 0) x coefficient",
            cny(key),
            gap,
            "CNY",
            coefficient,
            "1",
        )
    ]
    zones = rule.prohibited_zones
    if zones is not None:
        area = float(np.nan_to_num(row["prohibited_zone_area_km2"]))
        fen = fen_half_up(Fraction(zones.cny_per_km2) * Fraction(to_decimal(area)))
        lines.append(
            Line(
                zones.id,
                "prohibited-development zones: area x rate",
                cny(fen),
                area,
                "km2",
                float(zones.cny_per_km2),
                "CNY km-2",
            )
        )
        if zones.cny_per_zone is not None:
            count = int(np.nan_to_num(row["prohibited_zone_count"]))
            lines.append(
                Line(
                    zones.id,
                    "prohibited-development zones: number x rate",
                    zones.cny_per_zone * count,
                    count,
                    "zones",
                    float(zones.cny_per_zone),
                    "CNY zone-1",
                )
            )
    if rule.guidance is not None:
        fen = _fen_of(float(np.nan_to_num(row["guidance_subsidy_cny"])))
        lines.append(Line(rule.guidance.id, "guidance subsidy", cny(fen)))
    return lines


def _ei_change(config: LinkConfig, indicators: pd.DataFrame, units: list[str]) -> pd.Series:
    rule = config.transfer.eco_index if config.transfer else None
    if rule is None:
        return pd.Series(np.nan, index=units)
    rows = indicators[indicators["indicator"] == rule.indicator]
    wide = rows.pivot(index="unit_id", columns="year", values="value")

    def year(y: int) -> pd.Series:
        return (wide[y] if y in wide.columns else pd.Series(dtype=float)).reindex(units)

    return year(config.policy.year) - year(config.policy.base_year)


def transfer_entitlements(
    config: LinkConfig, table: pd.DataFrame, indicators: pd.DataFrame
) -> tuple[dict[str, list[Line]], pd.DataFrame]:
    """Rule lines and entitlement of every unit of the transfer table in the policy year.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``transfer`` section.
    table : pandas.DataFrame
        The ``transfer_inputs`` table.
    indicators : pandas.DataFrame
        The indicator table (eco-environment index of the policy and base years).

    Returns
    -------
    dict of str to list of Line
        Rule lines per unit (before the ledger, performance factor and budget).
    pandas.DataFrame
        Per unit: ``unit_id, fiscal_gap_cny, subsidy_coefficient, subsidy_fen, delta_ei,
        ei_grade, ei_direction, entitlement_fen``.
    """
    rule = config.transfer
    if rule is None:
        raise ValueError("configuration has no transfer section")
    rows = table[table["year"] == config.policy.year].sort_values("unit_id")
    units = [str(u) for u in rows["unit_id"]]
    delta = _ei_change(config, indicators, units)
    lines: dict[str, list[Line]] = {}
    summary = []
    for (_, row), unit in zip(rows.iterrows(), units, strict=True):
        unit_lines = _subsidy_lines(rule, row)
        subsidy = sum(fen_half_up(line.contribution) for line in unit_lines)
        change = float(delta[unit])
        grade, direction = grade_ei_change(change) if np.isfinite(change) else ("", "")
        extra = _grade_line(rule.eco_index, change, subsidy) if rule.eco_index else None
        if extra is not None:
            unit_lines.append(extra)
        total = sum(fen_half_up(line.contribution) for line in unit_lines)
        if total < 0:
            unit_lines.append(Line(rule.id, "entitlement not below zero", -cny(total)))
            total = 0
        lines[unit] = unit_lines
        gap = float(row["standard_expenditure_cny"]) - float(row["standard_revenue_cny"])
        summary.append(
            (unit, max(0.0, gap), _coefficient(rule, row), subsidy, change, grade, direction, total)
        )
    frame = pd.DataFrame(
        summary,
        columns=[
            "unit_id",
            "fiscal_gap_cny",
            "subsidy_coefficient",
            "subsidy_fen",
            "delta_ei",
            "ei_grade",
            "ei_direction",
            "entitlement_fen",
        ],
    )
    return lines, frame.astype({"subsidy_fen": "int64", "entitlement_fen": "int64"})


def _budget_lines(
    rule: TransferConfig, weights: pd.Series, lines: dict[str, list[Line]]
) -> dict[str, int]:
    budget = rule.budget
    if budget is None:
        return {u: fen_half_up(total(lines[u])) for u in lines}
    budget_fen = fen_from_cny(budget.amount_cny) or 0
    if not (weights > 0).any():
        return {u: 0 for u in lines}
    result = allocate_fen(weights, budget_fen, rule_id=budget.id).table
    quotas = result["bounded_fen"].astype(float).to_dict()
    fen = result["amount_fen"].astype("int64").to_dict()
    amounts = {}
    for unit in lines:
        quota = Decimal(repr(quotas[unit])) / 100
        running = total(lines[unit])
        lines[unit].append(
            Line(
                budget.id,
                f"scaled to the budget ({budget.amount_cny} CNY) in proportion to the amounts",
                quota - running,
            )
        )
        amounts[unit] = int(fen[unit])
    return amounts


def finalise_transfer(
    config: LinkConfig,
    lines: dict[str, list[Line]],
    summary: pd.DataFrame,
    paid: dict[str, bool],
    factors: pd.Series | None,
) -> tuple[pd.DataFrame, dict[str, list[Line]]]:
    """Apply the ledger decisions, the performance factor and the budget; close to the fen.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``transfer`` section.
    lines : dict of str to list of Line
        Lines from :func:`transfer_entitlements` (extended in place).
    summary : pandas.DataFrame
        Summary from :func:`transfer_entitlements`.
    paid : dict of str to bool
        Whether the ledger accepted each unit's claim.
    factors : pandas.Series or None
        Performance factor per unit (``None``: no performance scaling).

    Returns
    -------
    pandas.DataFrame
        The summary with ``performance_factor`` and ``amount_fen``.
    dict of str to list of Line
        The lines, ending with a rounding line so that they add up to ``amount_fen``.
    """
    rule = config.transfer
    if rule is None:
        raise ValueError("configuration has no transfer section")
    ledger_id = config.ledger.id if config.ledger is not None else "ledger"
    entitlement = summary.set_index("unit_id")["entitlement_fen"].astype("int64")
    weights = {}
    for unit, fen in entitlement.items():
        unit = str(unit)
        if not paid.get(unit, True):
            lines[unit].append(Line(ledger_id, "benefit paid by another programme", -cny(fen)))
            fen = 0
        factor = float(factors[unit]) if factors is not None else 1.0
        if factors is not None and config.evaluation and config.evaluation.performance:
            scaled = Fraction(int(fen)) * Fraction(to_decimal(factor))
            change = scaled - int(fen)
            if rule.budget is None:
                change = Fraction(fen_half_up(change / 100))
            lines[unit].append(
                Line(
                    config.evaluation.performance.id,
                    "performance evaluation: amount x (factor - 1)",
                    Decimal(change.numerator) / Decimal(change.denominator) / 100,
                    int(fen) / 100.0,
                    "CNY",
                    factor,
                    "1",
                )
            )
        weights[unit] = int(fen) * factor
    amounts = _budget_lines(rule, pd.Series(weights, dtype=float), lines)
    for unit, fen in amounts.items():
        running = total(lines[unit])
        if cny(fen) != running:
            lines[unit].append(
                Line(f"{rule.id}.rounding", "rounding to whole fen", cny(fen) - running)
            )
    out = summary.copy()
    out["performance_factor"] = out["unit_id"].map(
        lambda u: float(factors[u]) if factors is not None else 1.0
    )
    out["amount_fen"] = out["unit_id"].map(amounts).astype("int64")
    return out, lines


def _eco_problems(config: LinkConfig, rule: EcoIndexRule, units: list[str]) -> list[Problem]:
    problems = []
    declared = {spec.id for spec in config.indicators}
    if rule.indicator not in declared:
        problems.append(
            Problem(
                rule.id,
                "transfer.eco_index.indicator",
                f"unknown indicator {rule.indicator!r}",
                f"declare it under `indicators` (kind eco_environment_quality); known: "
                f"{sorted(declared)}",
            )
        )
    for name, table in (("reward", rule.reward), ("penalty", rule.penalty)):
        for grade, setting in table.items():
            given = [setting.share_of_subsidy is not None, setting.amount_cny is not None]
            share = setting.share_of_subsidy
            if sum(given) != 1 or (share is not None and share < 0):
                problems.append(
                    Problem(
                        rule.id,
                        f"transfer.eco_index.{name}.{grade}",
                        "give exactly one of share_of_subsidy (>= 0) or amount_cny",
                        "",
                    )
                )
    return problems


def check_eco_index(
    config: LinkConfig, indicators: pd.DataFrame, units: list[str]
) -> list[Problem]:
    """The eco-environment index of the policy and base years for every unit of the transfer.

    Parameters
    ----------
    config : LinkConfig
        The configuration.
    indicators : pandas.DataFrame
        The indicator table.
    units : list of str
        Units of the transfer.

    Returns
    -------
    list of Problem
        Units without an index value in either year.
    """
    rule = config.transfer.eco_index if config.transfer else None
    if rule is None:
        return []
    delta = _ei_change(config, indicators, units)
    missing = sorted(delta.index[delta.isna()])
    if not missing:
        return []
    return [
        Problem(
            rule.id,
            "indicators.value",
            f"no {rule.indicator!r} value for {config.policy.base_year} and "
            f"{config.policy.year} for {missing[:8]}",
            "the change of the index needs both years",
        )
    ]


def check_transfer(config: LinkConfig, table: pd.DataFrame, units: list[str]) -> list[Problem]:
    """Check the transfer table and settings against the units of the paid level.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``transfer`` section.
    table : pandas.DataFrame
        The ``transfer_inputs`` table.
    units : list of str
        Units of the paid level taking part.

    Returns
    -------
    list of Problem
        Missing units or coefficients, missing zone or guidance values, bad grade settings.
    """
    rule = config.transfer
    if rule is None:
        return []
    rows = table[table["year"] == config.policy.year]
    problems = []
    absent = sorted(set(units) - set(rows["unit_id"]))
    if absent:
        problems.append(
            Problem(
                rule.id,
                "transfer_inputs.unit_id",
                f"no {config.policy.year} row for {absent[:8]}",
                f"give one row per {rule.level} taking part",
            )
        )
    needs = [("subsidy_coefficient", rule.key_subsidy.id, rule.key_subsidy.coefficient is None)]
    if rule.prohibited_zones is not None:
        needs.append(("prohibited_zone_area_km2", rule.prohibited_zones.id, True))
        needs.append(
            (
                "prohibited_zone_count",
                rule.prohibited_zones.id,
                rule.prohibited_zones.cny_per_zone is not None,
            )
        )
    if rule.guidance is not None:
        needs.append(("guidance_subsidy_cny", rule.guidance.id, True))
    for column, rule_id, required in needs:
        empty = sorted(rows.loc[rows[column].isna(), "unit_id"])
        if required and empty:
            problems.append(
                Problem(
                    rule_id,
                    f"transfer_inputs.{column}",
                    f"no value for {empty[:8]}",
                    "fill the column (0 where it does not apply)",
                )
            )
    if rule.eco_index is not None:
        problems += _eco_problems(config, rule.eco_index, units)
    if rule.budget is not None and fen_from_cny(rule.budget.amount_cny) is None:
        problems.append(Problem(rule.budget.id, "amount_cny", "more than two decimals", ""))
    return problems
