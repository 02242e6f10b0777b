"""Meaning checks of a policy configuration, before any table is read or anything computed.

Each check returns problems tagged with the id of the rule concerned; :func:`check_config`
runs them all so that every problem is reported at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

from pydantic import BaseModel

from linkage.config import (
    BASE_FACTORS,
    INDICATOR_KINDS,
    ForestStandardRule,
    GepRule,
    HorizontalAgreement,
    ImprovementRule,
    IndicatorSpec,
    LevelRule,
    LinkConfig,
    Log,
    MinMax,
    Rule,
    StageConfig,
    Target,
    WaterTwoWay,
    WeightedRule,
)
from linkage.defaults import class_limits_mg_per_l
from linkage.errors import Problem
from linkage.forest import forest_review_problems, review_interval

__all__ = ["check_config", "fen_from_cny"]

_TOLERANCE = 1e-9


def fen_from_cny(amount: Decimal) -> int | None:
    """Convert a CNY amount to whole fen, or ``None`` if it has more than two decimals.

    Examples
    --------
    >>> fen_from_cny(Decimal("1234.56")), fen_from_cny(Decimal("0.005"))
    (123456, None)
    """
    fen = amount * 100
    return int(fen) if fen == fen.to_integral_value() else None


def _weights(rule: WeightedRule | ForestStandardRule, where: str) -> Iterator[Problem]:
    total = sum(rule.weights.values())
    if not rule.weights:
        yield Problem(rule.id, f"{where}.weights", "no weights given", "name at least one")
    if abs(total - rule.weights_sum) > _TOLERANCE * max(1.0, abs(rule.weights_sum)):
        yield Problem(
            rule.id,
            f"{where}.weights",
            f"weights sum to {total:g}, but weights_sum declares {rule.weights_sum:g}",
            "correct the weights or weights_sum",
        )
    for name, weight in rule.weights.items():
        if weight < 0:
            yield Problem(
                rule.id,
                f"{where}.weights.{name}",
                f"negative weight {weight:g}",
                "weights must be >= 0 (use the indicator direction to reverse it)",
            )


def _known(rule_id: str, where: str, names: list[str], declared: set[str]) -> Iterator[Problem]:
    for name in names:
        if name not in declared:
            yield Problem(
                rule_id,
                where,
                f"unknown indicator {name!r}",
                f"declare it under `indicators` or use one of {sorted(declared)}",
            )


def _indicator(spec: IndicatorSpec) -> Iterator[Problem]:
    where = f"indicators.{spec.id}"
    if spec.kind not in INDICATOR_KINDS:
        yield Problem(
            spec.id,
            f"{where}.kind",
            f"unknown indicator kind {spec.kind!r}",
            f"use one of {sorted(INDICATOR_KINDS)}",
        )
    norm = spec.normalisation
    if isinstance(norm, MinMax | Log) and not norm.lower < norm.upper:
        yield Problem(
            spec.id,
            f"{where}.normalisation",
            "lower must be below upper",
            "give fixed reference bounds with lower < upper",
        )
    if isinstance(norm, Log) and norm.lower <= 0:
        yield Problem(
            spec.id,
            f"{where}.normalisation",
            "log bounds must be > 0",
            "use min_max for indicators that can be zero or negative",
        )
    if isinstance(norm, Target) and norm.target <= 0:
        yield Problem(spec.id, f"{where}.normalisation", "target must be > 0", "")


def _tilt_rules(
    stage: StageConfig,
) -> list[tuple[LevelRule | ImprovementRule | GepRule | None, str]]:
    return [(stage.level, "level"), (stage.improvement, "improvement"), (stage.gep, "gep")]


def _tilts(stage: StageConfig, where: str) -> Iterator[Problem]:
    level, improvement = stage.level, stage.improvement
    for rule, name in _tilt_rules(stage):
        if rule is not None and rule.beta < 0:
            yield Problem(
                rule.id,
                f"{where}.{name}.beta",
                "beta must be >= 0",
                "a negative tilt would reward worse scores",
            )
    if level is not None and level.beta * level.reference_score > 1 + _TOLERANCE:
        yield Problem(
            level.id,
            f"{where}.level",
            "beta x reference_score > 1 makes the tilt negative for a level score of 0",
            "lower beta or reference_score",
        )
    if improvement is not None:
        if improvement.beta * sum(improvement.weights.values()) > 1 + _TOLERANCE:
            yield Problem(
                improvement.id,
                f"{where}.improvement.beta",
                "beta x sum of weights > 1 makes the tilt negative for the worst decline",
                "lower beta",
            )
        if set(improvement.full_credit_change) != set(improvement.weights):
            yield Problem(
                improvement.id,
                f"{where}.improvement.full_credit_change",
                "needs one entry per weighted indicator",
                "",
            )
        for name, change in improvement.full_credit_change.items():
            if change <= 0:
                yield Problem(
                    improvement.id,
                    f"{where}.improvement.full_credit_change.{name}",
                    "must be > 0 (score change that earns full credit)",
                    "",
                )


def _bounds_and_reverse(stage: StageConfig, where: str) -> Iterator[Problem]:
    reverse = stage.reverse_linkage
    if reverse is not None and not 0 <= reverse.max_deduction_share < 1:
        yield Problem(
            reverse.id,
            f"{where}.reverse_linkage.max_deduction_share",
            f"must be in [0, 1), found {reverse.max_deduction_share}",
            "",
        )
    bounds = stage.bounds
    if bounds is None:
        return
    if bounds.floor_ratio is None and bounds.cap_ratio is None:
        yield Problem(
            bounds.id,
            f"{where}.bounds",
            "neither floor_ratio nor cap_ratio given",
            "give one, or remove `bounds`",
        )
    for value in (bounds.floor_ratio, bounds.cap_ratio):
        if value is not None and value < 0:
            yield Problem(bounds.id, f"{where}.bounds", "ratios must be >= 0", "")
    if (
        bounds.floor_ratio is not None
        and bounds.cap_ratio is not None
        and (bounds.floor_ratio > bounds.cap_ratio)
    ):
        yield Problem(bounds.id, f"{where}.bounds", "floor_ratio is above cap_ratio", "")


def _stage(stage: StageConfig, where: str, declared: set[str]) -> Iterator[Problem]:
    base = stage.base_factors
    yield from _weights(base, f"{where}.base_factors")
    for name in base.weights:
        if name not in BASE_FACTORS:
            yield Problem(
                base.id,
                f"{where}.base_factors.weights",
                f"unknown base factor {name!r}",
                f"use {sorted(BASE_FACTORS)}",
            )
    for rule, name in _tilt_rules(stage):
        if rule is not None:
            yield from _weights(rule, f"{where}.{name}")
            yield from _known(rule.id, f"{where}.{name}.weights", list(rule.weights), declared)
    if stage.reverse_linkage is not None:
        yield from _known(
            stage.reverse_linkage.id,
            f"{where}.reverse_linkage.indicator",
            [stage.reverse_linkage.indicator],
            declared,
        )
    yield from _tilts(stage, where)
    yield from _bounds_and_reverse(stage, where)


def _money(config: LinkConfig) -> Iterator[Problem]:
    budget = config.districts.budget
    if budget.amount_cny < 0:
        yield Problem(
            budget.id,
            "districts.budget.amount_cny",
            f"negative budget {budget.amount_cny} CNY",
            "the fund to split must be >= 0",
        )
    if fen_from_cny(budget.amount_cny) is None:
        yield Problem(
            budget.id,
            "districts.budget.amount_cny",
            "more than two decimals",
            "budgets are settled in whole fen (0.01 CNY)",
        )
    if config.townships is not None:
        envelope = config.townships.envelope
        if not 0 <= envelope.share_of_district_allocation <= 1:
            yield Problem(
                envelope.id,
                "townships.envelope.share_of_district_allocation",
                "must be in [0, 1]",
                "",
            )


def _water(config: LinkConfig) -> Iterator[Problem]:
    water = config.water_two_way
    if water is None:
        return
    if config.inputs.water_sections is None or config.inputs.water_monthly is None:
        yield Problem(
            water.id,
            "inputs",
            "water_two_way needs inputs.water_sections and inputs.water_monthly",
            "add both tables",
        )
    known = set(class_limits_mg_per_l("river"))
    for pollutant in water.pollutants or []:
        if pollutant not in known:
            yield Problem(
                water.id,
                "water_two_way.pollutants",
                f"unknown pollutant {pollutant!r}",
                f"use {sorted(known)} (GB 3838-2002 codes)",
            )
    if any(not 1 <= m <= 12 for m in water.months) or len(set(water.months)) != len(water.months):
        yield Problem(water.id, "water_two_way.months", "months must be distinct, 1..12", "")
    amounts = [water.deterioration, water.no_worse_than_inflow, water.worse_than_class_v]
    for rule in amounts:
        if rule is not None and rule.amount_cny is not None and rule.amount_cny < 0:
            yield Problem(rule.id, "amount_cny", "must be >= 0", "")
    if water.worse_than_class_v is not None and water.worse_than_class_v.amount_cny is None:
        yield Problem(
            water.worse_than_class_v.id,
            "amount_cny",
            "no default exists for the worse-than-class-V surcharge",
            "give the amount of your rules",
        )
    yield from _water_rule_set(water)
    if water.rule_set == "beijing-2014" and config.policy.year >= 2023:
        yield Problem(
            water.id,
            "water_two_way.rule_set",
            f"the 2014 rules were replaced on 2023-01-01 by 北京市水生态区域补偿暂行办法 "
            f"(京政办发〔2022〕31号); policy year {config.policy.year}",
            "use rule_set beijing-2022 and give its amounts",
        )
    yield from _water_tables(config, water)


def _water_tables(config: LinkConfig, water: WaterTwoWay) -> Iterator[Problem]:
    """The 2022 components need their tables."""
    for part, table in (("ecological_flow", "water_flow"), ("sewage_tasks", "sewage_tasks")):
        rule = getattr(water, part)
        if rule is not None and getattr(config.inputs, table) is None:
            yield Problem(rule.id, f"inputs.{table}", f"{part} needs the {table} table", "")


def _water_rule_set(water: WaterTwoWay) -> Iterator[Problem]:
    """Paid amounts are not negative; the 2022 rule set needs every amount given."""
    for pay in (water.improvement, water.year_on_year):
        if pay is not None and pay.amount_per_class_cny < 0:
            yield Problem(pay.id, "amount_per_class_cny", "must be >= 0", "")
    flow, sewage = water.ecological_flow, water.sewage_tasks
    if flow is not None and flow.amount_per_month_cny < 0:
        yield Problem(flow.id, "amount_per_month_cny", "must be >= 0", "")
    if sewage is not None and sewage.amount_per_point_cny < 0:
        yield Problem(sewage.id, "amount_per_point_cny", "must be >= 0", "")
    if water.rule_set != "beijing-2014":
        for rule in (water.deterioration, water.no_worse_than_inflow):
            if rule.amount_cny is None:
                yield Problem(
                    rule.id,
                    "amount_cny",
                    f"rule set {water.rule_set} (北京市水生态区域补偿暂行办法, 京政办发〔2022〕31号, "
                    "in force 2023-01-01) has no sourced amount: its text is not in a public "
                    "source held by this project",
                    "give amount_cny from the rules, or use rule_set beijing-2014 for years "
                    "before 2023",
                )


def _horizontal(config: LinkConfig) -> Iterator[Problem]:
    if config.horizontal and config.inputs.horizontal_observations is None:
        yield Problem(
            config.horizontal[0].id,
            "inputs.horizontal_observations",
            "horizontal agreements need an observations table",
            "",
        )
    for agreement in config.horizontal:
        if agreement.prepayment.amount_cny is None or agreement.prepayment.amount_cny < 0:
            yield Problem(
                agreement.prepayment.id,
                "amount_cny",
                "give the pre-payment (>= 0)",
                "agreement parameter, no default",
            )
        if agreement.quality is not None and not 1 <= agreement.quality.target_class <= 5:
            yield Problem(agreement.quality.id, "target_class", "must be 1..5", "")
        if agreement.quantity is not None and agreement.quantity.mean_inflow_m3 <= 0:
            yield Problem(agreement.quantity.id, "mean_inflow_m3", "must be > 0", "")
        if agreement.nitrogen is not None and agreement.nitrogen.baseline_tn_mg_per_l <= 0:
            yield Problem(agreement.nitrogen.id, "baseline_tn_mg_per_l", "must be > 0", "")
        yield from _agreement_terms(config, agreement)


def _agreement_terms(config: LinkConfig, agreement: HorizontalAgreement) -> Iterator[Problem]:
    """Sections, co-funders, period and behaviour score of one agreement."""
    where = f"horizontal.{agreement.id}"
    ids = [s.section_id for s in agreement.sections]
    top = [agreement.quantity, agreement.nitrogen, agreement.quality, agreement.year_on_year]
    if agreement.sections and any(rule is not None for rule in top + [agreement.ecological_flow]):
        yield Problem(
            agreement.id,
            f"{where}.sections",
            "terms both at the top level and per section",
            "with sections, put every term in its section",
        )
    if len(set(ids)) != len(ids):
        yield Problem(agreement.id, f"{where}.sections", f"repeated section ids {ids}", "")
    for section in agreement.sections:
        if section.quality is not None and not 1 <= section.quality.target_class <= 5:
            yield Problem(section.quality.id, "target_class", "must be 1..5", "")
    shares = [f.share for f in agreement.funders]
    if shares and (min(shares) < 0 or abs(sum(shares) - 1.0) > _TOLERANCE):
        yield Problem(
            agreement.id,
            f"{where}.funders",
            f"shares {shares} must be >= 0 and add up to 1",
            "give each co-funder's share of the amount due",
        )
    period = agreement.period
    if period is not None and period.first_year > period.last_year:
        yield Problem(agreement.id, f"{where}.period", "first_year is after last_year", "")
    behaviour = agreement.behaviour
    if behaviour is not None and (behaviour.amount_cny < 0 or behaviour.full_score <= 0):
        yield Problem(behaviour.id, "behaviour", "amount must be >= 0, full_score > 0", "")
    if behaviour is not None and config.inputs.horizontal_scores is None:
        yield Problem(
            behaviour.id,
            "inputs.horizontal_scores",
            "the behaviour-control score needs the horizontal_scores table",
            "add inputs.horizontal_scores (agreement_id, year, score)",
        )


def _forest_and_ledger(config: LinkConfig) -> Iterator[Problem]:
    forest, ledger = config.forest, config.ledger
    if forest is not None:
        standard = forest.standard
        yield from _weights(standard, "forest.standard")
        if config.inputs.forest_areas is None:
            yield Problem(forest.id, "inputs.forest_areas", "forest needs a forest_areas table", "")
        review_year = standard.review_base_year + review_interval(standard)
        if config.inputs.forest_factors is None and config.policy.year == review_year:
            yield Problem(
                standard.id,
                "inputs.forest_factors",
                "the forest standard needs the forest_factors table (year, factor, value, "
                "value_unit, source)",
                "add inputs.forest_factors",
            )
        if standard.review_base_year > config.policy.year:
            yield Problem(standard.id, "review_base_year", "must not be after the policy year", "")
        yield from forest_review_problems(standard, config.policy.year)
    if ledger is not None:
        if config.inputs.ledger_claims is None:
            yield Problem(ledger.id, "inputs.ledger_claims", "the ledger needs a claims table", "")
        repeated = [p for p, n in Counter(ledger.programme_priority).items() if n > 1]
        if repeated:
            yield Problem(ledger.id, "programme_priority", f"repeated {repeated}", "")
        if forest is not None and forest.programme not in ledger.programme_priority:
            yield Problem(
                ledger.id,
                "programme_priority",
                f"forest programme {forest.programme!r} has no priority",
                "add it to the list",
            )


def _eligibility(config: LinkConfig) -> Iterator[Problem]:
    """Required tables; an eligibility rule must name someone and a share in (0, 1]."""
    for name in ("accounts", "base_factors"):
        if getattr(config.inputs, name) is None:
            yield Problem("inputs", f"inputs.{name}", "table not given", f"add inputs.{name}")
    rule = config.districts.eligibility
    if rule is None:
        return
    if not rule.units and not rule.levels and rule.area is None:
        yield Problem(
            rule.id,
            "districts.eligibility",
            "no unit list, level or area rule: nobody would take part",
            "give units, levels or area",
        )
    area = rule.area
    if area is not None and not 0.0 < area.minimum_share <= 1.0:
        yield Problem(
            area.id,
            "districts.eligibility.area.minimum_share",
            f"expected a share in (0, 1], found {area.minimum_share}",
            "give the fraction of a unit's area that must lie inside the area, e.g. 0.5",
        )
    if area is not None and area.applies_to is not None and not area.applies_to:
        yield Problem(
            area.id,
            "districts.eligibility.area.applies_to",
            "empty list",
            "name the districts whose townships are tested, or leave applies_to out",
        )


def _rules(node: object) -> Iterator[Rule]:
    if isinstance(node, Rule):
        yield node
    if isinstance(node, list | dict):
        for item in node.values() if isinstance(node, dict) else node:
            yield from _rules(item)
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _rules(getattr(node, name))


def check_config(config: LinkConfig) -> list[Problem]:
    """Check the meaning of a configuration; return every problem found.

    Parameters
    ----------
    config : LinkConfig
        A type-checked configuration.

    Returns
    -------
    list of Problem
        Empty when the configuration is consistent.
    """
    problems: list[Problem] = []
    ids = Counter(rule.id for rule in _rules(config))
    problems += [
        Problem(rid, "id", f"rule id used {n} times", "make rule ids unique")
        for rid, n in ids.items()
        if n > 1
    ]
    declared = Counter(spec.id for spec in config.indicators)
    for spec in config.indicators:
        problems.extend(_indicator(spec))
    if config.policy.base_year >= config.policy.year:
        problems.append(Problem("policy", "policy.base_year", "must be before policy.year", ""))
    problems.extend(_stage(config.districts, "districts", set(declared)))
    if config.townships is not None:
        problems.extend(_stage(config.townships, "townships", set(declared)))
    for check in (_money, _water, _horizontal, _forest_and_ledger, _eligibility):
        problems.extend(check(config))
    return problems
