"""Evaluation-linked allocation: demonstration awards and the performance factor.

Beijing 2022 implementation opinions:

- §(十九) fund districts that obtain demonstration designations (国家生态文明建设示范区,
  "绿水青山就是金山银山"实践创新基地, 国家水土保持生态文明县 ...). Each designation of the
  configuration pays either a fixed bonus ``amount_cny``, or a share of an award pool
  ``pool x w_d / sum of the weights of the designations obtained`` (split in exact fen by
  :func:`linkage.allocation.allocate_fen`). A designation is paid once, in the year it is
  obtained (``designations.year`` = policy year); one held since an earlier year is listed
  but not paid again.
- §(二十) link the performance evaluation of the compensation funds to the transfer
  allocation (评价结果与转移支付资金分配挂钩). The evaluation of year ``s`` (before the policy
  year) gives each unit a score ``S = sum w_c s_c / sum w_c`` over the criteria ``c`` (points
  0-100) and a factor ``f = clip(S / S_ref, floor, cap)`` that multiplies its transfer of the
  policy year (:func:`linkage.programmes.transfer.finalise_transfer`).

Weights, amounts, the reference score, floor and cap are policy inputs; none has a default.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from linkage.allocation import allocate_fen
from linkage.config import AwardsRule, LinkConfig, PerformanceRule
from linkage.errors import Problem
from linkage.programmes.lines import Line, cny
from linkage.validate import fen_from_cny

__all__ = [
    "award_claims",
    "check_awards",
    "check_performance",
    "performance_factors",
    "settle_awards",
]


def performance_factors(
    rule: PerformanceRule, scores: pd.DataFrame, units: list[str]
) -> pd.DataFrame:
    """Composite score and factor of every unit.

    Parameters
    ----------
    rule : PerformanceRule
        Weights per criterion, reference score, floor and cap.
    scores : pandas.DataFrame
        ``unit_id, year, criterion, score`` (points 0-100).
    units : list of str
        Units whose factor is wanted.

    Returns
    -------
    pandas.DataFrame
        Indexed by unit id: ``score`` (weighted mean) and ``factor``.

    Examples
    --------
    >>> rule = PerformanceRule(id="EV.P", score_year=2023, reference_score=80, floor=0.9,
    ...     cap=1.1, weights_sum=1, weights={"a": 0.5, "b": 0.5})
    >>> table = pd.DataFrame({"unit_id": ["u", "u"], "year": [2023, 2023],
    ...     "criterion": ["a", "b"], "score": [90.0, 78.0]})
    >>> performance_factors(rule, table, ["u"]).loc["u"].tolist()
    [84.0, 1.05]
    """
    rows = scores[scores["year"] == rule.score_year]
    wide = rows.pivot(index="unit_id", columns="criterion", values="score").reindex(units)
    total = sum(rule.weights.values())
    score = (
        sum(
            (wide[c].astype(float) * w for c, w in rule.weights.items() if c in wide.columns),
            pd.Series(0.0, index=wide.index),
        )
        / total
    )
    factor = np.clip(score / rule.reference_score, rule.floor, rule.cap)
    return pd.DataFrame({"score": score, "factor": factor}, index=pd.Index(units, name="unit_id"))


def award_claims(config: LinkConfig, designations: pd.DataFrame, units: list[str]) -> pd.DataFrame:
    """Ledger claims of the designations obtained in the policy year by units of the level.

    Parameters
    ----------
    config : LinkConfig
        Configuration with ``evaluation.awards``.
    designations : pandas.DataFrame
        ``unit_id, year, designation``.
    units : list of str
        Units of the awarded level.

    Returns
    -------
    pandas.DataFrame
        ``unit_id, area_id`` (the designation), ``service, year, programme, amount_fen``
        (fixed bonus; 0 for pool shares, settled after the ledger), ``rule_id``, ``mode``.
    """
    rule = _awards(config)
    rows = designations[
        (designations["year"] == config.policy.year) & designations["unit_id"].isin(units)
    ].sort_values(["unit_id", "designation"])
    out = []
    for unit, name in zip(rows["unit_id"], rows["designation"], strict=True):
        award = rule.designations[name]
        fixed = award.amount_cny is not None
        fen = fen_from_cny(award.amount_cny) if award.amount_cny is not None else 0
        out.append(
            (
                unit,
                name,
                rule.benefit,
                config.policy.year,
                rule.programme,
                fen or 0,
                award.id,
                "fixed" if fixed else "pool",
            )
        )
    columns = [
        "unit_id",
        "area_id",
        "service",
        "year",
        "programme",
        "amount_fen",
        "rule_id",
        "mode",
    ]
    return pd.DataFrame(out, columns=columns).astype({"amount_fen": "int64"})


def _awards(config: LinkConfig) -> AwardsRule:
    if config.evaluation is None or config.evaluation.awards is None:
        raise ValueError("configuration has no evaluation.awards section")
    return config.evaluation.awards


def settle_awards(
    config: LinkConfig, claims: pd.DataFrame, paid: pd.Series
) -> tuple[pd.Series, dict[str, list[Line]]]:
    """Amounts of the award claims after the ledger: fixed bonuses and shares of the pool.

    Parameters
    ----------
    config : LinkConfig
        Configuration with ``evaluation.awards``.
    claims : pandas.DataFrame
        Output of :func:`award_claims`.
    paid : pandas.Series of bool
        Ledger decision of each claim (same index as ``claims``).

    Returns
    -------
    pandas.Series
        Amount in fen per claim (0 for rejected claims); pool shares add up to the pool.
    dict of str to list of Line
        Rule lines per unit, one per designation.
    """
    rule = _awards(config)
    ledger_id = config.ledger.id if config.ledger is not None else "ledger"
    amounts = claims["amount_fen"].where(paid, 0).astype("int64")
    pooled = claims.index[(claims["mode"] == "pool") & paid]
    if rule.pool is not None and len(pooled):
        names = claims["area_id"].astype(str).to_dict()
        weights = pd.Series({str(i): rule.designations[names[i]].weight or 0.0 for i in pooled})
        split = allocate_fen(weights, fen_from_cny(rule.pool.amount_cny) or 0, rule_id=rule.pool.id)
        shares = split.table["amount_fen"].astype("int64").to_dict()
        for i in pooled:
            amounts[i] = int(shares[str(i)])
    lines: dict[str, list[Line]] = {}
    decided = paid.astype(bool).to_dict()
    paid_fen = amounts.astype("int64").to_dict()
    for i, claim in claims.iterrows():
        award = rule.designations[str(claim["area_id"])]
        if not decided[i]:
            text = f"{claim['area_id']}: already paid by another programme (ledger)"
            lines.setdefault(str(claim["unit_id"]), []).append(Line(ledger_id, text, Decimal(0)))
            continue
        pool_text = f"share of the pool {rule.pool.amount_cny} CNY" if rule.pool else ""
        text = f"{claim['area_id']}: " + ("fixed bonus" if claim["mode"] == "fixed" else pool_text)
        rate = float(award.amount_cny) if award.amount_cny is not None else float(award.weight or 0)
        lines.setdefault(str(claim["unit_id"]), []).append(
            Line(
                award.id,
                text,
                cny(int(paid_fen[i])),
                1.0,
                "designation",
                rate,
                "CNY" if claim["mode"] == "fixed" else "weight",
            )
        )
    return amounts, lines


def check_awards(config: LinkConfig, designations: pd.DataFrame, units: list[str]) -> list[Problem]:
    """Every designation listed is configured, every award is fixed or weighted, pool given.

    Parameters
    ----------
    config : LinkConfig
        The configuration.
    designations : pandas.DataFrame
        The designations table.
    units : list of str
        Units of the awarded level.

    Returns
    -------
    list of Problem
        Unknown designations or units, awards with neither or both of amount and weight,
        weighted awards without a pool.
    """
    if config.evaluation is None or config.evaluation.awards is None:
        return []
    rule = config.evaluation.awards
    problems = []
    unknown = sorted(set(designations["designation"]) - set(rule.designations))
    if unknown:
        problems.append(
            Problem(
                rule.id,
                "designations.designation",
                f"designations {unknown} are not configured",
                f"add them under evaluation.awards.designations or use {sorted(rule.designations)}",
            )
        )
    outside = sorted(set(designations["unit_id"]) - set(units))
    if outside:
        problems.append(
            Problem(
                rule.id,
                "designations.unit_id",
                f"units {outside[:8]} are not {rule.level}s taking part",
                f"awards are paid to {rule.level}s: use their unit ids",
            )
        )
    for name, award in rule.designations.items():
        if (award.amount_cny is None) == (award.weight is None):
            problems.append(
                Problem(
                    award.id,
                    f"evaluation.awards.designations.{name}",
                    "give exactly one of amount_cny (fixed) or weight (pool share)",
                    "",
                )
            )
        if award.amount_cny is not None and (
            award.amount_cny < 0 or fen_from_cny(award.amount_cny) is None
        ):
            problems.append(Problem(award.id, "amount_cny", "must be >= 0, in whole fen", ""))
        if award.weight is not None and (award.weight <= 0 or rule.pool is None):
            problems.append(
                Problem(
                    award.id,
                    "weight",
                    "weights must be > 0 and need evaluation.awards.pool",
                    "give the pool to split, or a fixed amount",
                )
            )
    if rule.pool is not None and (
        rule.pool.amount_cny < 0 or fen_from_cny(rule.pool.amount_cny) is None
    ):
        problems.append(Problem(rule.pool.id, "amount_cny", "must be >= 0, in whole fen", ""))
    return problems


def check_performance(config: LinkConfig, scores: pd.DataFrame, units: list[str]) -> list[Problem]:
    """Scores of every criterion for every unit of the transfer in the evaluation year.

    Parameters
    ----------
    config : LinkConfig
        The configuration.
    scores : pandas.DataFrame
        The performance-score table.
    units : list of str
        Units whose transfer is scaled.

    Returns
    -------
    list of Problem
        Bad settings (year, reference, floor and cap), a missing transfer section, missing
        scores.
    """
    if config.evaluation is None or config.evaluation.performance is None:
        return []
    rule = config.evaluation.performance
    problems = []
    if config.transfer is None:
        problems.append(
            Problem(
                rule.id,
                "evaluation.performance",
                "scales the transfer, but no `transfer`",
                "add the transfer section or remove performance",
            )
        )
    if rule.score_year >= config.policy.year:
        problems.append(
            Problem(
                rule.id,
                "score_year",
                "must be before the policy year",
                "the evaluation of one year scales the next year's transfer",
            )
        )
    if not (rule.reference_score > 0 and 0 <= rule.floor <= rule.cap):
        problems.append(
            Problem(
                rule.id,
                "reference_score/floor/cap",
                "need reference_score > 0 and 0 <= floor <= cap",
                "",
            )
        )
    rows = scores[scores["year"] == rule.score_year]
    for criterion in rule.weights:
        have = set(rows.loc[rows["criterion"] == criterion, "unit_id"])
        missing = [u for u in units if u not in have]
        if missing:
            problems.append(
                Problem(
                    rule.id,
                    "performance_scores",
                    f"no {rule.score_year} score {criterion!r} for {missing[:8]}",
                    "give every weighted criterion for every unit",
                )
            )
    return problems
