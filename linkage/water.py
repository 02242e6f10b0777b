"""Two-way water compensation between districts, per monitoring section, pollutant and month.

Versioned rule sets (``water_two_way.rule_set``; ``linkage/defaults/beijing.yaml``):

- ``beijing-2014``: 北京市水环境区域补偿办法（试行）, adopted 2014, in force 2015-01-01. The
  outflow class of each assessed pollutant (COD, NH3-N, TP) follows GB 3838-2002 Table 1; for
  each class worse than the section's target class the upstream district pays the downstream
  district 300,000 CNY per month, 150,000 CNY per class when the outflow concentration is no
  higher than the inflow concentration of the same pollutant; exceeding pollutants add up (one
  line per pollutant); these amounts are sourced defaults.
- ``beijing-2022``: 北京市水生态区域补偿暂行办法 (京政办发〔2022〕31号), issued 2022-12-30, in
  force 2023-01-01, replacing the 2014 rules. Its amounts are not in a public source held by
  this project: a policy using it gives every amount, and validation refuses it otherwise.

Rules common to both (their amounts are policy inputs):

- optional surcharge when a pollutant is worse than class V;
- better than target (Beijing 2022 opinions §(五), two-way): each class better than target is
  paid to the upstream district by the downstream district or the municipal budget;
- improvement on last year (``year_on_year``): each class a section's outflow improved on the
  same month of last year is paid to the upstream district (by the downstream district or the
  municipal budget);
- sections leaving Beijing (downstream party in ``outflow_parties``) settle with the municipal
  pool: the upstream district pays into it and is rewarded from it.

Every line carries its rule set and the source of its amount. Monthly lines are settled per
year into paid, received and net amounts per district.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd

from linkage.config import LinkConfig, WaterTwoWay
from linkage.defaults import class_limits_mg_per_l, load_defaults, sourced
from linkage.errors import LinkageError, Problem

__all__ = [
    "MUNICIPAL",
    "check_water",
    "pollutants",
    "settle_water",
    "water_class",
    "water_lines",
]

MUNICIPAL = "municipal"


def water_class(concentration: npt.ArrayLike, limits: tuple[float, ...]) -> npt.NDArray[np.int64]:
    """Surface-water class (1..5; 6 = worse than V) of concentrations, by GB 3838-2002.

    The class is the best one whose upper limit the concentration does not exceed.

    Parameters
    ----------
    concentration : array_like
        Concentrations in mg L-1.
    limits : tuple of float
        Upper limits of classes I..V in mg L-1 (non-decreasing).

    Returns
    -------
    numpy.ndarray of int
        Class numbers.

    Examples
    --------
    >>> water_class([12.0, 15.0, 16.0, 40.0, 41.0], (15, 15, 20, 30, 40)).tolist()
    [1, 1, 3, 5, 6]
    """
    values = np.asarray(concentration, dtype=float)
    return np.searchsorted(np.asarray(limits, dtype=float), values, side="left") + 1


def _fen(amount_cny: Decimal) -> int:
    return int(amount_cny * 100)


_DEFAULT_KEYS = {
    "deterioration": "deterioration_cny_per_section_month_class",
    "no_worse_than_inflow": "no_worse_than_inflow_cny_per_section_month_class",
}


def _base_amount(water: WaterTwoWay, name: str) -> tuple[Decimal, str]:
    """Amount of a base rule and its source: the policy's, or the 2014 sourced default."""
    rule = getattr(water, name)
    if rule.amount_cny is not None:
        return rule.amount_cny, f"policy input ({rule.id}, rule set {water.rule_set})"
    if water.rule_set != "beijing-2014":
        raise LinkageError(
            f"[{rule.id}] the {water.rule_set} rules have no sourced amount; give amount_cny"
        )
    default = sourced("water_two_way", _DEFAULT_KEYS[name])
    return Decimal(repr(default.value)), f"{default.source} (amount of {default.price_year})"


def _amounts(water: WaterTwoWay) -> dict[str, int]:
    extra = water.worse_than_class_v.amount_cny if water.worse_than_class_v else None
    better = water.improvement.amount_per_class_cny if water.improvement else None
    yoy = water.year_on_year.amount_per_class_cny if water.year_on_year else None
    return {
        "deterioration": _fen(_base_amount(water, "deterioration")[0]),
        "no_worse": _fen(_base_amount(water, "no_worse_than_inflow")[0]),
        "class_v": _fen(extra) if extra is not None else 0,
        "improvement": _fen(better) if better is not None else 0,
        "year_on_year": _fen(yoy) if yoy is not None else 0,
    }


def _amount_sources(water: WaterTwoWay) -> dict[str, str]:
    """Rule id to the source of its amount (for the lines)."""
    out = {
        water.deterioration.id: _base_amount(water, "deterioration")[1],
        water.no_worse_than_inflow.id: _base_amount(water, "no_worse_than_inflow")[1],
    }
    for rule in (water.worse_than_class_v, water.improvement, water.year_on_year):
        if rule is not None:
            out[rule.id] = f"policy input ({rule.id}, rule set {water.rule_set})"
    return out


def pollutants(water: WaterTwoWay) -> list[str]:
    """Pollutants assessed (default COD, NH3-N, TP as in the 2014 rules)."""
    if water.pollutants is not None:
        return list(water.pollutants)
    return [str(p) for p in load_defaults()["water_two_way"]["pollutants"]["value"]]


def _classify(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.copy()
    out["outflow_class"] = 0
    for key, group in out.groupby(["water_body", "pollutant"]):
        body, pollutant = (str(part) for part in key)
        limits = class_limits_mg_per_l(body)[pollutant]
        out.loc[group.index, "outflow_class"] = water_class(group["outflow_mg_per_l"], limits)
    out["no_worse_than_inflow"] = out["inflow_mg_per_l"].notna() & (
        out["outflow_mg_per_l"] <= out["inflow_mg_per_l"]
    )
    out["classes_beyond_target"] = (out["outflow_class"] - out["target_class"]).clip(lower=0)
    out["classes_better_than_target"] = (out["target_class"] - out["outflow_class"]).clip(lower=0)
    return out


def _pay_lines(rows: pd.DataFrame, water: WaterTwoWay, fen: dict[str, int]) -> pd.DataFrame:
    beyond = rows[rows["classes_beyond_target"] > 0].copy()
    inflow = beyond["no_worse_than_inflow"]
    beyond["rule_id"] = np.where(inflow, water.no_worse_than_inflow.id, water.deterioration.id)
    beyond["rate_fen"] = np.where(inflow, fen["no_worse"], fen["deterioration"])
    beyond["classes"] = beyond["classes_beyond_target"]
    beyond["payer"], beyond["receiver"] = beyond["upstream_unit_id"], _receiver(beyond, water)
    parts = [beyond]
    if water.worse_than_class_v is not None:
        worst = rows[rows["outflow_class"] == 6].copy()
        worst["rule_id"], worst["rate_fen"], worst["classes"] = (
            water.worse_than_class_v.id,
            fen["class_v"],
            1,
        )
        worst["payer"], worst["receiver"] = worst["upstream_unit_id"], _receiver(worst, water)
        parts.append(worst)
    return pd.concat(parts)


def _reward_lines(rows: pd.DataFrame, water: WaterTwoWay, fen: dict[str, int]) -> pd.DataFrame:
    rule = water.improvement
    if rule is None:
        return rows.iloc[0:0]
    better = rows[rows["classes_better_than_target"] > 0].copy()
    if rule.require_no_worse_than_inflow:
        better = better[better["inflow_mg_per_l"].isna() | better["no_worse_than_inflow"]]
    better["rule_id"], better["rate_fen"] = rule.id, fen["improvement"]
    better["classes"] = better["classes_better_than_target"]
    better["receiver"] = better["upstream_unit_id"]
    better["payer"] = _receiver(better, water) if rule.payer == "downstream" else MUNICIPAL
    return better


def _receiver(rows: pd.DataFrame, water: WaterTwoWay) -> pd.Series:
    """The downstream district, or the municipal pool for a section leaving Beijing."""
    downstream = rows["downstream_unit_id"]
    return downstream.where(~downstream.isin(water.outflow_parties), MUNICIPAL)


def _year_on_year_lines(
    rows: pd.DataFrame, last: pd.DataFrame, water: WaterTwoWay, fen: dict[str, int]
) -> pd.DataFrame:
    """Classes improved on the same section, month and pollutant of last year."""
    rule = water.year_on_year
    if rule is None or rows.empty:
        return rows.iloc[0:0]
    keys = ["section_id", "month", "pollutant"]
    before = last.set_index(keys)["outflow_class"].rename("last_year_class")
    out = rows.join(before, on=keys)
    out = out[(out["last_year_class"] - out["outflow_class"]) > 0].copy()
    out["classes"] = (out["last_year_class"] - out["outflow_class"]).astype("int64")
    out["rule_id"], out["rate_fen"] = rule.id, fen["year_on_year"]
    out["receiver"] = out["upstream_unit_id"]
    out["payer"] = _receiver(out, water) if rule.payer == "downstream" else MUNICIPAL
    return out.drop(columns="last_year_class")


def water_lines(
    water: WaterTwoWay, year: int, sections: pd.DataFrame, monthly: pd.DataFrame
) -> pd.DataFrame:
    """Compensation lines per section, month and pollutant for one year.

    Parameters
    ----------
    water : WaterTwoWay
        The two-way water rules (amounts left out take the sourced 2014 defaults).
    year : int
        Settlement year.
    sections : pandas.DataFrame
        ``section_id, upstream_unit_id, downstream_unit_id, target_class, water_body``.
    monthly : pandas.DataFrame
        ``section_id, year, month, pollutant, outflow_mg_per_l, inflow_mg_per_l``.

    Returns
    -------
    pandas.DataFrame
        One line per payment: section, month, pollutant, classes, rule id, payer, receiver,
        ``rate_fen`` (per class), ``amount_fen`` and ``amount_cny``.
    """
    fen = _amounts(water)
    assessed = monthly["month"].isin(water.months) & monthly["pollutant"].isin(pollutants(water))
    rows = _classify(monthly[assessed & (monthly["year"] == year)].merge(sections, on="section_id"))
    last = _classify(
        monthly[assessed & (monthly["year"] == year - 1)].merge(sections, on="section_id")
    )
    lines = pd.concat(
        [
            _pay_lines(rows, water, fen),
            _reward_lines(rows, water, fen),
            _year_on_year_lines(rows, last, water, fen),
        ]
    )
    lines["amount_fen"] = (lines["classes"] * lines["rate_fen"]).astype("int64")
    lines["amount_cny"] = lines["amount_fen"] / 100.0
    lines["rule_set"] = water.rule_set
    lines["amount_source"] = lines["rule_id"].map(_amount_sources(water))
    keep = [
        "section_id",
        "year",
        "month",
        "pollutant",
        "outflow_mg_per_l",
        "inflow_mg_per_l",
        "outflow_class",
        "target_class",
        "classes",
        "rule_id",
        "rate_fen",
        "payer",
        "receiver",
        "amount_fen",
        "amount_cny",
        "rule_set",
        "amount_source",
    ]
    return lines[keep].sort_values(
        ["section_id", "month", "pollutant", "rule_id"], ignore_index=True
    )


def settle_water(lines: pd.DataFrame, parties: list[str]) -> pd.DataFrame:
    """Annual settlement: paid, received and net amount per party.

    Parameters
    ----------
    lines : pandas.DataFrame
        Output of :func:`water_lines`.
    parties : list of str
        Districts to report (every one gets a row, also without lines).

    Returns
    -------
    pandas.DataFrame
        ``paid_fen, received_fen, net_fen`` (received minus paid) and CNY columns, indexed
        by party; ``municipal`` appears when it pays rewards.
    """
    paid = lines.groupby("payer")["amount_fen"].sum()
    received = lines.groupby("receiver")["amount_fen"].sum()
    index = sorted(set(parties) | set(paid.index) | set(received.index))
    out = pd.DataFrame(index=pd.Index(index, name="party"))
    out["paid_fen"] = paid.reindex(index, fill_value=0).astype("int64")
    out["received_fen"] = received.reindex(index, fill_value=0).astype("int64")
    out["net_fen"] = out["received_fen"] - out["paid_fen"]
    for column in ("paid", "received", "net"):
        out[f"{column}_cny"] = out[f"{column}_fen"] / 100.0
    return out


def _party_problems(
    water: WaterTwoWay, sections: pd.DataFrame, districts: list[str]
) -> list[Problem]:
    """Upstream and downstream parties of the sections that are not known districts.

    A downstream party may also be one of ``outflow_parties`` (a section leaving Beijing).
    """
    problems: list[Problem] = []
    for column in ("upstream_unit_id", "downstream_unit_id"):
        downstream = column == "downstream_unit_id"
        allowed = set(districts) | (set(water.outflow_parties) if downstream else set())
        unknown = sorted(set(sections[column]) - allowed)
        if unknown:
            hint = f"use district ids of the accounts: {districts}" + (
                "; a party outside Beijing downstream goes in outflow_parties" if downstream else ""
            )
            problems.append(
                Problem(water.id, f"water_sections.{column}", f"unknown districts {unknown}", hint)
            )
    return problems


def _section_problems(water: WaterTwoWay, sections: pd.DataFrame) -> list[Problem]:
    """Target classes outside I..V and water bodies other than river and lake."""
    problems: list[Problem] = []
    if not sections["target_class"].between(1, 5).all():
        problems.append(Problem(water.id, "water_sections.target_class", "must be 1..5", ""))
    bodies = sorted(set(sections["water_body"]) - {"river", "lake"})
    if bodies:
        problems.append(
            Problem(
                water.id,
                "water_sections.water_body",
                f"unknown {bodies}",
                "use 'river' or 'lake' (GB 3838-2002 TP limits differ)",
            )
        )
    return problems


def _unknown_section_problems(
    water: WaterTwoWay, sections: pd.DataFrame, monthly: pd.DataFrame
) -> list[Problem]:
    """Monthly rows of sections that are not in the sections table."""
    unknown = sorted(set(monthly["section_id"]) - set(sections["section_id"]))
    if not unknown:
        return []
    return [
        Problem(
            water.id,
            "water_monthly.section_id",
            f"sections {unknown} not in water_sections",
            "add them to water_sections",
        )
    ]


def _missing_row_problems(
    water: WaterTwoWay, year: int, sections: pd.DataFrame, monthly: pd.DataFrame
) -> list[Problem]:
    """Section-month-pollutant rows missing for the policy year (and last year if compared).

    The year-on-year rule compares with last year, so its rows are required only when the
    policy has that rule; a gap in them is reported under the rule's id.
    """
    wanted = pd.MultiIndex.from_product(
        [sorted(sections["section_id"]), water.months, pollutants(water)]
    )
    years = [year] + ([year - 1] if water.year_on_year else [])
    problems: list[Problem] = []
    for checked in years:
        year_rows = monthly[monthly["year"] == checked]
        have = pd.MultiIndex.from_frame(year_rows[["section_id", "month", "pollutant"]])
        missing = wanted.difference(have)
        if len(missing):
            rule_id = water.id if checked == year else water.year_on_year.id  # type: ignore[union-attr]
            problems.append(
                Problem(
                    rule_id,
                    "water_monthly",
                    f"{len(missing)} section-month-"
                    f"pollutant rows missing for {checked}, e.g. "
                    f"{list(missing[0])}",
                    "add every month of every section"
                    + (
                        " (last year's too: the year-on-year rule compares)"
                        if checked < year
                        else ""
                    ),
                )
            )
    return problems


def check_water(
    config: LinkConfig, sections: pd.DataFrame, monthly: pd.DataFrame, districts: list[str]
) -> list[Problem]:
    """Check the water tables against the configuration (before computing).

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``water_two_way`` section.
    sections, monthly : pandas.DataFrame
        The two water tables.
    districts : list of str
        Known district ids.

    Returns
    -------
    list of Problem
        Unknown districts or sections, bad classes or water bodies, missing months.
    """
    water = config.water_two_way
    if water is None:
        return []
    return [
        *_party_problems(water, sections, districts),
        *_section_problems(water, sections),
        *_unknown_section_problems(water, sections, monthly),
        *_missing_row_problems(water, config.policy.year, sections, monthly),
    ]
