"""One allocation stage: indicators → scores → coefficients → fen allocation → audit lines.

The district stage has one group (all districts, the budget); the township stage has one group
per district (its townships, the district's envelope).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.allocation import allocate_fen
from linkage.audit import group_audit_lines
from linkage.coefficients import stage_coefficients
from linkage.config import LinkConfig, StageConfig
from linkage.eligibility import eligible_factors
from linkage.errors import LinkageError
from linkage.indicators import gep_totals_cny, indicator_values, needed_indicators
from linkage.inputs import LinkInputs, bounds_fen
from linkage.scores import indicator_scores, stage_scores

__all__ = ["StageResult", "run_stage"]


@dataclass(frozen=True)
class StageResult:
    """Everything one stage produced.

    Attributes
    ----------
    allocation : pandas.DataFrame
        One row per unit: group, budget, coefficients, quotas and amount in fen and CNY.
    scores : pandas.DataFrame
        One row per unit: indicator values (policy and base year) and scores.
    audit : pandas.DataFrame
        Rule lines (see :mod:`linkage.audit`).
    """

    allocation: pd.DataFrame
    scores: pd.DataFrame
    audit: pd.DataFrame


def _values(
    config: LinkConfig,
    stage: StageConfig,
    units: list[str],
    inputs: LinkInputs,
    totals: pd.Series,
    year: int,
) -> pd.DataFrame:
    names = list(needed_indicators(stage, config))
    factors = inputs.table("base_factors").set_index("unit_id")
    return indicator_values(
        config,
        names,
        units,
        year,
        indicator_table=inputs.table("indicators"),
        totals=totals,
        area_km2=factors["area_km2"],
    )


def score_stage(
    config: LinkConfig, stage: StageConfig, units: list[str], inputs: LinkInputs
) -> pd.DataFrame:
    """Indicator values, indicator scores and stage scores of every unit of a stage.

    Parameters
    ----------
    config : LinkConfig
        The configuration.
    stage : StageConfig
        The stage.
    units : list of str
        Every unit of the stage (all groups).
    inputs : LinkInputs
        Validated inputs.

    Returns
    -------
    pandas.DataFrame
        ``value__<id>``, ``base_value__<id>``, ``score__<id>``, ``base_score__<id>`` and the
        stage scores, indexed by unit id.
    """
    needs_base = any(needed_indicators(stage, config).values())
    totals = gep_totals_cny(
        inputs.table("accounts"), config.gep_indicators.services, config.gep_indicators.measure
    )
    current = _values(config, stage, units, inputs, totals, config.policy.year)
    base = (
        _values(config, stage, units, inputs, totals, config.policy.base_year)
        if needs_base
        else None
    )
    current_scores = indicator_scores(config, current, base)
    base_scores = indicator_scores(config, base, base) if base is not None else None
    parts = [current.add_prefix("value__"), current_scores.add_prefix("score__")]
    if base is not None and base_scores is not None:
        parts += [base.add_prefix("base_value__"), base_scores.add_prefix("base_score__")]
    parts.append(stage_scores(stage, current_scores, base_scores))
    return pd.concat(parts, axis=1)


def _check_finite(rule_id: str, coefs: pd.DataFrame) -> None:
    """Guard: validation should make every weight finite; say which units are not."""
    bad = coefs.index[~np.isfinite(coefs["effective_weight"].to_numpy())].tolist()
    if bad:
        raise LinkageError(
            f"[{rule_id}] weights are not finite for {bad[:8]}: an indicator value is missing "
            "or not a number; check the indicator table and the accounts for these units"
        )


def run_stage(
    name: str,
    config: LinkConfig,
    stage: StageConfig,
    groups: dict[str, tuple[int, list[str]]],
    inputs: LinkInputs,
    previous_fen: pd.Series,
) -> StageResult:
    """Allocate every group of a stage.

    Parameters
    ----------
    name : {"district", "township"}
        Stage name (recorded in the outputs).
    config : LinkConfig
        The configuration.
    stage : StageConfig
        The stage rules.
    groups : dict of str to (int, list of str)
        Group id to (budget in fen, unit ids).
    inputs : LinkInputs
        Validated inputs.
    previous_fen : pandas.Series
        Last year's amounts in fen per unit (empty without bounds).

    Returns
    -------
    StageResult
        Allocation, scores and audit lines of the stage.
    """
    members = sorted(u for _, units in groups.values() for u in units)
    scores = score_stage(config, stage, members, inputs)
    factors = eligible_factors(
        inputs.table("base_factors").set_index("unit_id"), inputs.eligibility
    )
    frames, audits = [], []
    for group_id, (budget_fen, units) in sorted(groups.items()):
        units = sorted(units)
        coefs = stage_coefficients(stage, factors.loc[units], scores.loc[units])
        _check_finite(stage.id, coefs)
        bounds = bounds_fen(stage, previous_fen.reindex(units)) if stage.bounds else None
        rule = stage.bounds.id if stage.bounds else stage.id
        result = allocate_fen(
            coefs["effective_weight"],
            budget_fen,
            rule_id=rule,
            floor_fen=bounds[0] if bounds else None,
            cap_fen=bounds[1] if bounds else None,
        )
        table = coefs.join(result.table)
        table.insert(0, "group_budget_fen", budget_fen)
        table.insert(0, "group_id", group_id)
        if bounds is not None:
            table["previous_fen"], table["floor_fen"], table["cap_fen"] = (
                previous_fen.reindex(units),
                bounds[0],
                bounds[1],
            )
        table["coefficient"] = table["amount_fen"] / budget_fen if budget_fen else 0.0
        frames.append(table)
        audits.append(
            group_audit_lines(name, group_id, stage, coefs, result, budget_fen, inputs.eligibility)
        )
    allocation = pd.concat(frames)
    allocation["amount_cny"] = allocation["amount_fen"] / 100.0
    allocation.insert(0, "stage", name)
    return StageResult(allocation, scores, pd.concat(audits, ignore_index=True))
