"""Horizontal upstream–downstream compensation: a template for Miyun–Chaobai and Guanting–Yongding.

Structure of the Beijing–Hebei agreements on the Chaobai (Miyun reservoir) and Yongding
(Guanting reservoir) upstreams (Beijing 2022 implementation opinions §(十), METHODS §4); every
amount is an agreement parameter, none has a default. An agreement has one or several
monitoring ``sections`` (e.g. the rivers entering Miyun reservoir), each with its own terms:

- quantity (多来水、多奖励): ``rate_per_m3 x max(0, annual inflow - multi-year mean inflow)``;
- total-nitrogen reward: ``rate_per_percent x max(0, 100 (baseline - mean TN) / baseline)``,
  with the annual mean TN flow-weighted (``sum c V / sum V``) or arithmetic;
- quality floor: ``deduction_per_month x number of months the section misses its class``;
- year-on-year test (只能更好、不能变差, Guanting): the annual mean TN (or class) against last
  year's: worse costs ``deduction``, no worse earns ``reward``;
- ecological flow: ``deduction_per_month x months whose inflow is below the flow volume``;

then for the agreement:

- upstream behaviour control (上游行为管控): ``amount x score / full score`` (scores table);
- amount due ``= sum of the lines`` (optionally not below zero); annual clearing
  ``= due - pre-payment`` (positive: the downstream side pays the balance; negative: the
  upstream party refunds it);
- co-funders (e.g. Beijing, Hebei, central funds): the amount due split by their shares, in
  whole fen by largest remainder (the split lines add up to the amount due exactly);
- agreement period: outside its years an agreement settles nothing (one line says so).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pandas as pd

from linkage.allocation import largest_remainder
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
    "section_id",
    "party",
    "amount_cny",
)

_Line = tuple[str, str, float, str, Decimal, int, str, str]


def _fen(amount_cny: Decimal) -> int:
    return int((amount_cny * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decimal(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _mean_tn(rows: pd.DataFrame, how: str) -> float:
    if how == "flow_weighted" and float(rows["inflow_m3"].sum()) > 0:
        return float((rows["tn_mg_per_l"] * rows["inflow_m3"]).sum() / rows["inflow_m3"].sum())
    return float(rows["tn_mg_per_l"].mean())


def _quantity_and_nitrogen(terms: Any, rows: pd.DataFrame, section: str) -> list[_Line]:
    lines: list[_Line] = []
    quantity = terms.quantity
    if quantity is not None:
        extra = max(0.0, float(rows["inflow_m3"].sum()) - quantity.mean_inflow_m3)
        base = f" ({quantity.baseline})" if quantity.baseline else ""
        lines.append(
            (
                quantity.id,
                f"inflow above the multi-year mean{base}",
                extra,
                "m3",
                quantity.reward_cny_per_m3,
                _fen(quantity.reward_cny_per_m3 * _decimal(extra)),
                section,
                "",
            )
        )
    nitrogen = terms.nitrogen
    if nitrogen is not None:
        mean = _mean_tn(rows, nitrogen.mean)
        base_tn = nitrogen.baseline_tn_mg_per_l
        cut = max(0.0, 100.0 * (base_tn - mean) / base_tn)
        lines.append(
            (
                nitrogen.id,
                f"total-nitrogen reduction ({nitrogen.mean} mean {mean:.4f} mg L-1)",
                cut,
                "%",
                nitrogen.reward_cny_per_percent,
                _fen(nitrogen.reward_cny_per_percent * _decimal(round(cut, 10))),
                section,
                "",
            )
        )
    return lines


def _floors(terms: Any, rows: pd.DataFrame, last: pd.DataFrame, section: str) -> list[_Line]:
    lines: list[_Line] = []
    quality = terms.quality
    if quality is not None:
        missed = int((rows["water_class"] > quality.target_class).sum())
        rate = quality.deduction_cny_per_month
        text = f"months worse than class {quality.target_class}"
        lines.append((quality.id, text, missed, "months", rate, -_fen(rate * missed), section, ""))
    test = getattr(terms, "year_on_year", None)
    if test is not None:
        now, before = float(rows[test.measure].mean()), float(last[test.measure].mean())
        worse = now > before
        amount = -_fen(test.deduction_cny) if worse else _fen(test.reward_cny)
        verdict = "worse than last year" if worse else "no worse than last year"
        text = f"year-on-year {test.measure}: {now:.4f} against {before:.4f} ({verdict})"
        lines.append((test.id, text, now - before, test.measure, Decimal(0), amount, section, ""))
    flow = getattr(terms, "ecological_flow", None)
    if flow is not None:
        short = int((rows["inflow_m3"] < flow.min_inflow_m3_per_month).sum())
        rate = flow.deduction_cny_per_month
        text = f"months with inflow below {flow.min_inflow_m3_per_month:g} m3"
        lines.append((flow.id, text, short, "months", rate, -_fen(rate * short), section, ""))
    return lines


def _sections(agreement: HorizontalAgreement) -> list[tuple[str, Any]]:
    """``(section id, terms)``: the listed sections, or the agreement itself as one section."""
    if agreement.sections:
        return [(s.section_id, s) for s in agreement.sections]
    return [("", agreement)]


def _rows_of(frame: pd.DataFrame, section: str) -> pd.DataFrame:
    if frame.empty or section == "":
        return frame
    return frame[frame["section_id"] == section]


def _behaviour(agreement: HorizontalAgreement, score: float | None) -> list[_Line]:
    rule = agreement.behaviour
    if rule is None:
        return []
    points = float(score if score is not None else 0.0)
    share = _decimal(points) / _decimal(rule.full_score)
    text = f"upstream behaviour-control score {points:g} of {rule.full_score:g}"
    return [
        (rule.id, text, points, "points", rule.amount_cny, _fen(rule.amount_cny * share), "", "")
    ]


def _funding(agreement: HorizontalAgreement, due: int) -> list[_Line]:
    if not agreement.funders:
        return []
    quotas = {f.party: Fraction(repr(f.share)) * due for f in agreement.funders}
    split = largest_remainder(quotas, due) if due >= 0 else {}
    return [
        (
            agreement.id,
            f"funded by {f.party} ({f.share:.2%} of the amount due)",
            f.share,
            "share",
            Decimal(0),
            split.get(f.party, 0),
            "",
            f.party,
        )
        for f in agreement.funders
    ]


def _closing(agreement: HorizontalAgreement, lines: list[_Line]) -> list[_Line]:
    due = sum(line[5] for line in lines)
    out: list[_Line] = []
    if agreement.floor_at_zero and due < 0:
        out.append(
            (agreement.id, "amount due is not below zero (floor_at_zero)", 0, "", Decimal(0), -due)
            + ("", "")
        )
        due = 0
    out.append((agreement.id, "amount due for the year", 0, "", Decimal(0), due, "", ""))
    prepaid = agreement.prepayment.amount_cny or Decimal(0)
    out.append(
        (
            agreement.prepayment.id,
            "pre-payment already transferred",
            0,
            "",
            prepaid,
            -_fen(prepaid),
            "",
            "",
        )
    )
    text = "annual clearing (due - pre-payment; > 0 downstream pays)"
    out.append((agreement.id, text, 0, "", Decimal(0), due - _fen(prepaid), "", ""))
    return out + _funding(agreement, due)


def agreement_lines(
    agreement: HorizontalAgreement,
    rows: pd.DataFrame,
    last_year: pd.DataFrame | None = None,
    score: float | None = None,
) -> pd.DataFrame:
    """Rule lines of one agreement for one year, ending with the amount due and the clearing.

    Parameters
    ----------
    agreement : HorizontalAgreement
        The agreement terms.
    rows : pandas.DataFrame
        Monthly observations of the year: ``section_id`` (with several sections),
        ``inflow_m3``, ``tn_mg_per_l``, ``water_class``.
    last_year : pandas.DataFrame, optional
        Last year's observations (needed by a year-on-year test).
    score : float, optional
        The upstream behaviour-control score of the year (needed by ``behaviour``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HORIZONTAL_COLUMNS`; amounts in fen and CNY. The lines before
        "amount due" add up to it; the funding lines split it among the co-funders.
    """
    last = last_year if last_year is not None else rows.iloc[0:0]
    lines: list[_Line] = []
    for section, terms in _sections(agreement):
        own = _rows_of(rows, section)
        lines += _quantity_and_nitrogen(terms, own, section)
        lines += _floors(terms, own, _rows_of(last, section), section)
    lines += _behaviour(agreement, score)
    lines += _closing(agreement, lines)
    out = pd.DataFrame(
        [(agreement.id, *line) for line in lines], columns=list(HORIZONTAL_COLUMNS[:-1])
    )
    out["rate_cny"] = out["rate_cny"].astype(float)
    out["amount_fen"] = out["amount_fen"].astype("int64")
    out["amount_cny"] = out["amount_fen"] / 100.0
    return out


def _outside_period(agreement: HorizontalAgreement, year: int) -> pd.DataFrame | None:
    period = agreement.period
    if period is None or period.first_year <= year <= period.last_year:
        return None
    text = f"outside the agreement period {period.first_year}-{period.last_year}: nothing due"
    line = (agreement.id, agreement.id, text, 0.0, "", 0.0, 0, "", "", 0.0)
    return pd.DataFrame([line], columns=list(HORIZONTAL_COLUMNS))


def horizontal_lines(
    config: LinkConfig, observations: pd.DataFrame, scores: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Lines of every horizontal agreement for the policy year.

    Parameters
    ----------
    config : LinkConfig
        Configuration with ``horizontal`` agreements.
    observations : pandas.DataFrame
        ``agreement_id, section_id, year, month, inflow_m3, tn_mg_per_l, water_class``.
    scores : pandas.DataFrame, optional
        ``agreement_id, year, score`` (behaviour-control scores).

    Returns
    -------
    pandas.DataFrame
        Concatenated :func:`agreement_lines`, with ``upstream_party`` and ``downstream_party``.
    """
    frames = []
    year = config.policy.year
    for agreement in config.horizontal:
        lines = _outside_period(agreement, year)
        if lines is None:
            own = observations[observations["agreement_id"] == agreement.id]
            score = None
            if scores is not None and not scores.empty:
                hit = scores[(scores["agreement_id"] == agreement.id) & (scores["year"] == year)]
                score = float(hit["score"].iloc[0]) if len(hit) else None
            lines = agreement_lines(
                agreement, own[own["year"] == year], own[own["year"] == year - 1], score
            )
        lines["upstream_party"] = agreement.upstream_party
        lines["downstream_party"] = agreement.downstream_party
        frames.append(lines)
    return pd.concat(frames, ignore_index=True)


def _month_problems(
    agreement: HorizontalAgreement, section: str, rows: pd.DataFrame, year: int
) -> list[Problem]:
    missing = sorted(set(range(1, 13)) - set(rows.loc[rows["year"] == year, "month"]))
    if not missing:
        return []
    where = f" of section {section!r}" if section else ""
    return [
        Problem(
            agreement.id,
            "horizontal_observations.month",
            f"months {missing} of {year}{where} missing",
            "give all twelve months (the clearing is annual)",
        )
    ]


def _agreement_problems(
    agreement: HorizontalAgreement, observations: pd.DataFrame, scores: pd.DataFrame, year: int
) -> list[Problem]:
    own = observations[observations["agreement_id"] == agreement.id]
    problems: list[Problem] = []
    for section, terms in _sections(agreement):
        rows = _rows_of(own, section)
        problems += _month_problems(agreement, section, rows, year)
        if getattr(terms, "year_on_year", None) is not None:
            problems += _month_problems(agreement, section, rows, year - 1)
    behaviour = agreement.behaviour
    if behaviour is not None:
        hit = scores[(scores["agreement_id"] == agreement.id) & (scores["year"] == year)]
        if hit.empty or float(hit["score"].iloc[0]) > behaviour.full_score:
            problems.append(
                Problem(
                    behaviour.id,
                    "horizontal_scores",
                    f"no behaviour-control score of {year} within 0..{behaviour.full_score:g}",
                    "give the year's score in horizontal_scores (agreement_id, year, score)",
                )
            )
    return problems


def check_horizontal(
    config: LinkConfig, observations: pd.DataFrame, scores: pd.DataFrame | None = None
) -> list[Problem]:
    """Every agreement in its period needs 12 months per section (and last year's for a test).

    Parameters
    ----------
    config : LinkConfig
        Configuration with ``horizontal`` agreements.
    observations : pandas.DataFrame
        The observations table.
    scores : pandas.DataFrame, optional
        The behaviour-control scores table.

    Returns
    -------
    list of Problem
        Missing months or scores, observations of unknown agreements.
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
    given = scores if scores is not None else pd.DataFrame(columns=["agreement_id", "year"])
    for agreement in config.horizontal:
        if _outside_period(agreement, config.policy.year) is None:
            problems += _agreement_problems(agreement, observations, given, config.policy.year)
    return problems
