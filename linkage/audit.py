"""Audit trail: for every unit, one line per rule with its contribution in CNY.

The lines of a unit, added in order, give its amount exactly (to the fen), so a finance
officer can recompute an allocation line by hand from the exported coefficients:

1. base factor (rule ``base_factors``): ``B F_u / sum F``;
2. each tilt in turn (``level``, ``improvement``, ``gep``): the change in the unit's share of
   ``B`` when the tilt is multiplied into the weights, ``B (F T_1..T_k)_u / sum(F T_1..T_k)``
   minus the share without ``T_k``;
3. reverse linkage (``reverse_linkage``, §(十九) 逆向关联): deduction ``-r_u a_u`` from the
   share ``a_u = B W_u / sum W``; then the deducted pool ``D = sum r_j a_j`` shared among the
   units *of the same group taking part* (the eligible districts; the eligible townships of
   one district) in proportion to the amounts left, ``D (1 - r_u) a_u / sum (1 - r_j) a_j``
   (this equals ``B W'_u / sum W'``); units not taking part get none of it;
4. floors and caps (``bounds``): clamped quota minus the share of step 3;
5. rounding to whole fen (``<stage>.rounding``).

With an eligibility rule (``districts.eligibility``, §(九)) a line comes first: why the unit
takes part, with its share inside the declared area as coefficient; it contributes nothing.

Each contribution is rounded to 0.0001 CNY (0.01 fen) and the rounding line closes the sum
exactly in decimal arithmetic.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import numpy as np
import pandas as pd

from linkage.allocation import FenAllocation
from linkage.config import StageConfig
from linkage.eligibility import Eligibility

__all__ = ["AUDIT_COLUMNS", "group_audit_lines"]

AUDIT_COLUMNS = (
    "stage",
    "group_id",
    "unit_id",
    "step",
    "rule_id",
    "description",
    "coefficient",
    "contribution_cny",
    "running_total_cny",
)

_PLACES = Decimal("0.0001")


_BOUND_TEXT = {
    "floor": "floor reached (last year x floor ratio)",
    "cap": "cap reached (last year x cap ratio)",
    "": "within floor and cap: share of the amounts moved by floors and caps",
}


class _Step(NamedTuple):
    rule_id: str
    description: str | pd.Series
    coefficient: pd.Series
    contribution_cny: pd.Series


def _share(budget_cny: float, weights: pd.Series) -> pd.Series:
    total = float(weights.sum())
    return budget_cny * weights / total if total > 0 else 0.0 * weights


def _tilt_steps(stage: StageConfig, coefs: pd.DataFrame, budget_cny: float) -> list[_Step]:
    steps: list[_Step] = []
    weight = coefs["base_factor"]
    previous = _share(budget_cny, weight)
    steps.append(_Step(stage.base_factors.id, "base factor share of the budget", weight, previous))
    tilts = (
        (stage.level, "level_tilt", "level tilt (quality level)"),
        (stage.improvement, "improvement_tilt", "improvement tilt (year-on-year change)"),
        (stage.gep, "gep_tilt", "GEP tilt (constant-price GEP)"),
    )
    for rule, column, text in tilts:
        if rule is None:
            continue
        weight = weight * coefs[column].clip(lower=0.0)
        share = _share(budget_cny, weight)
        steps.append(_Step(rule.id, text, coefs[column], share - previous))
        previous = share
    return steps


def _reverse_steps(stage: StageConfig, coefs: pd.DataFrame, budget_cny: float) -> list[_Step]:
    rule = stage.reverse_linkage
    if rule is None:
        return []
    before = _share(budget_cny, coefs["weight"])
    deducted = coefs["deduction_share"] * before
    after = _share(budget_cny, coefs["effective_weight"])
    kept = before - deducted
    pool = float(deducted.sum())
    pool_share = kept / float(kept.sum()) if float(kept.sum()) > 0 else 0.0 * kept
    return [
        _Step(
            rule.id,
            "reverse-linkage deduction (share of own amount)",
            coefs["deduction_share"],
            -deducted,
        ),
        _Step(
            rule.id,
            f"redistribution of the deducted pool ({pool:.2f} CNY) among the {len(kept)} "
            "units of this group taking part, in proportion to the amounts they keep "
            "(§(十九); units not taking part get none)",
            pool_share,
            after - kept,
        ),
    ]


def _eligibility_step(eligibility: Eligibility | None, units: pd.Index) -> list[_Step]:
    """Step 0 of a participant: why it takes part (contributes nothing)."""
    if eligibility is None:
        return []
    rule = eligibility.rule
    table = eligibility.table.set_index("unit_id").reindex(units)
    text = pd.Series(
        [
            f"takes part ({rule.article}): {basis}"
            + (
                f"; base factors of its eligible townships {eligibility.partial[u]} summed"
                if u in eligibility.partial
                else ""
            )
            for u, basis in zip(units, table["basis"], strict=True)
        ],
        index=units,
    )
    share = table["area_share"].astype(float)
    return [_Step(rule.id, text, share, 0.0 * share.fillna(0.0))]


def group_audit_lines(
    stage_name: str,
    group_id: str,
    stage: StageConfig,
    coefs: pd.DataFrame,
    allocation: FenAllocation,
    budget_fen: int,
    eligibility: Eligibility | None = None,
) -> pd.DataFrame:
    """Audit lines of every unit of one allocation group.

    Parameters
    ----------
    stage_name : {"district", "township"}
        Stage of the group.
    group_id : str
        ``"all"`` for districts, the district id for its townships.
    stage : StageConfig
        Rules of the stage (their ids label the lines).
    coefs : pandas.DataFrame
        Output of :func:`linkage.coefficients.stage_coefficients`.
    allocation : FenAllocation
        Output of :func:`linkage.allocation.allocate_fen` for the same units.
    budget_fen : int
        The group's budget in fen.
    eligibility : Eligibility, optional
        Outcome of the eligibility rule: a first line per unit states why it takes part
        (coefficient: its share inside the declared area; contribution 0).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AUDIT_COLUMNS`; contributions in CNY.
    """
    budget_cny = budget_fen / 100.0
    table = allocation.table
    coefs = coefs.loc[table.index]
    steps = (
        _eligibility_step(eligibility, table.index)
        + _tilt_steps(stage, coefs, budget_cny)
        + _reverse_steps(stage, coefs, budget_cny)
    )
    proportional = _share(budget_cny, coefs["effective_weight"])
    bounded = table["bounded_fen"] / 100.0
    if stage.bounds is not None:
        status = table["bound"].map(_BOUND_TEXT)
        steps.append(_Step(stage.bounds.id, status, np.nan * bounded, bounded - proportional))
    rows = []
    amounts_fen = table["amount_fen"].to_dict()
    for unit in table.index:
        running = Decimal(0)
        for number, step in enumerate(steps, start=1):
            value = Decimal(repr(float(step.contribution_cny[unit]))).quantize(_PLACES)
            running += value
            text = step.description
            rows.append(
                (
                    stage_name,
                    group_id,
                    unit,
                    number,
                    step.rule_id,
                    text if isinstance(text, str) else str(text[unit]),
                    float(step.coefficient[unit]),
                    float(value),
                    float(running),
                )
            )
        amount = Decimal(int(amounts_fen[unit])) / 100
        rows.append(
            (
                stage_name,
                group_id,
                unit,
                len(steps) + 1,
                f"{stage.id}.rounding",
                "rounding to whole fen (largest remainder)",
                np.nan,
                float(amount - running),
                float(amount),
            )
        )
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
