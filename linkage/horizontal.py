"""Horizontal upstream–downstream compensation: a template for agreements such as Miyun–Chaobai.

Structure of the Beijing–Hebei agreements on the Chaobai (Miyun reservoir) and Yongding
(Guanting reservoir) upstreams (Beijing 2022 implementation opinions §(十), METHODS §4); every
amount is an agreement parameter, none has a default:

- quantity reward: ``rate_per_m3 x max(0, annual inflow - multi-year mean inflow)``;
- total-nitrogen reward: ``rate_per_percent x max(0, 100 (baseline - mean TN) / baseline)``,
  with the annual mean TN flow-weighted (``sum c V / sum V``) or arithmetic;
- quality bottom line: ``deduction_per_month x number of months the section misses its class``;
- amount due ``= rewards - deductions`` (optionally not below zero); annual clearing
  ``= due - pre-payment`` (positive: the downstream party pays the balance; negative: the
  upstream party refunds it).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from linkage.config import HorizontalAgreement, LinkConfig
from linkage.errors import Problem

__all__ = ["HORIZONTAL_COLUMNS", "agreement_lines", "check_horizontal", "horizontal_lines"]

HORIZONTAL_COLUMNS = (
    "agreement_id",
    "rule_id",
    "description",
    "basis",
    "basis_unit",
    "rate_cny",
    "amount_fen",
    "amount_cny",
)


def _fen(amount_cny: Decimal) -> int:
    return int((amount_cny * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decimal(x: float) -> Decimal:
    return Decimal(repr(float(x)))


_Line = tuple[str, str, float, str, Decimal, int]


def _mean_tn(rows: pd.DataFrame, how: str) -> float:
    if how == "flow_weighted" and float(rows["inflow_m3"].sum()) > 0:
        return float((rows["tn_mg_per_l"] * rows["inflow_m3"]).sum() / rows["inflow_m3"].sum())
    return float(rows["tn_mg_per_l"].mean())


def _rewards(agreement: HorizontalAgreement, rows: pd.DataFrame) -> list[_Line]:
    lines: list[_Line] = []
    quantity = agreement.quantity
    if quantity is not None:
        extra = max(0.0, float(rows["inflow_m3"].sum()) - quantity.mean_inflow_m3)
        lines.append(
            (
                quantity.id,
                "inflow above the multi-year mean",
                extra,
                "m3",
                quantity.reward_cny_per_m3,
                _fen(quantity.reward_cny_per_m3 * _decimal(extra)),
            )
        )
    nitrogen = agreement.nitrogen
    if nitrogen is not None:
        mean = _mean_tn(rows, nitrogen.mean)
        cut = max(
            0.0, 100.0 * (nitrogen.baseline_tn_mg_per_l - mean) / nitrogen.baseline_tn_mg_per_l
        )
        lines.append(
            (
                nitrogen.id,
                f"total-nitrogen reduction ({nitrogen.mean} mean {mean:.4f} mg L-1)",
                cut,
                "%",
                nitrogen.reward_cny_per_percent,
                _fen(nitrogen.reward_cny_per_percent * _decimal(round(cut, 10))),
            )
        )
    quality = agreement.quality
    if quality is not None:
        missed = int((rows["water_class"] > quality.target_class).sum())
        lines.append(
            (
                quality.id,
                f"months worse than class {quality.target_class}",
                missed,
                "months",
                quality.deduction_cny_per_month,
                -_fen(quality.deduction_cny_per_month * missed),
            )
        )
    return lines


def agreement_lines(agreement: HorizontalAgreement, rows: pd.DataFrame) -> pd.DataFrame:
    """Rule lines of one agreement for one year, ending with the amount due and the clearing.

    Parameters
    ----------
    agreement : HorizontalAgreement
        The agreement terms.
    rows : pandas.DataFrame
        Monthly observations of the year: ``inflow_m3``, ``tn_mg_per_l``, ``water_class``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HORIZONTAL_COLUMNS`; amounts in fen and CNY.
    """
    lines = _rewards(agreement, rows)
    due = sum(line[5] for line in lines)
    if agreement.floor_at_zero and due < 0:
        lines.append(
            (agreement.id, "amount due is not below zero (floor_at_zero)", 0, "", Decimal(0), -due)
        )
        due = 0
    lines.append((agreement.id, "amount due for the year", 0, "", Decimal(0), due))
    prepaid = agreement.prepayment.amount_cny or Decimal(0)
    lines.append(
        (agreement.prepayment.id, "pre-payment already transferred", 0, "", prepaid, -_fen(prepaid))
    )
    lines.append(
        (
            agreement.id,
            "annual clearing (due - pre-payment; > 0 downstream pays)",
            0,
            "",
            Decimal(0),
            due - _fen(prepaid),
        )
    )
    out = pd.DataFrame(
        [(agreement.id, *line) for line in lines], columns=list(HORIZONTAL_COLUMNS[:-1])
    )
    out["rate_cny"] = out["rate_cny"].astype(float)
    out["amount_fen"] = out["amount_fen"].astype("int64")
    out["amount_cny"] = out["amount_fen"] / 100.0
    return out


def horizontal_lines(config: LinkConfig, observations: pd.DataFrame) -> pd.DataFrame:
    """Lines of every horizontal agreement for the policy year.

    Parameters
    ----------
    config : LinkConfig
        Configuration with ``horizontal`` agreements.
    observations : pandas.DataFrame
        ``agreement_id, year, month, inflow_m3, tn_mg_per_l, water_class``.

    Returns
    -------
    pandas.DataFrame
        Concatenated :func:`agreement_lines`, with ``upstream_party`` and ``downstream_party``.
    """
    frames = []
    for agreement in config.horizontal:
        rows = observations[
            (observations["agreement_id"] == agreement.id)
            & (observations["year"] == config.policy.year)
        ]
        lines = agreement_lines(agreement, rows)
        lines["upstream_party"] = agreement.upstream_party
        lines["downstream_party"] = agreement.downstream_party
        frames.append(lines)
    return pd.concat(frames, ignore_index=True)


def check_horizontal(config: LinkConfig, observations: pd.DataFrame) -> list[Problem]:
    """Every agreement needs 12 months of observations in the policy year.

    Parameters
    ----------
    config : LinkConfig
        Configuration with ``horizontal`` agreements.
    observations : pandas.DataFrame
        The observations table.

    Returns
    -------
    list of Problem
        Agreements with missing months, observations of unknown agreements.
    """
    problems = []
    ids = {a.id for a in config.horizontal}
    unknown = sorted(set(observations["agreement_id"]) - ids)
    if unknown:
        problems.append(
            Problem(
                "horizontal",
                "horizontal_observations.agreement_id",
                f"unknown agreements {unknown}",
                f"use {sorted(ids)}",
            )
        )
    for agreement in config.horizontal:
        rows = observations[
            (observations["agreement_id"] == agreement.id)
            & (observations["year"] == config.policy.year)
        ]
        missing = sorted(set(range(1, 13)) - set(rows["month"]))
        if missing:
            problems.append(
                Problem(
                    agreement.id,
                    "horizontal_observations.month",
                    f"months {missing} of {config.policy.year} missing",
                    "give all twelve months (the clearing is annual)",
                )
            )
    return problems
