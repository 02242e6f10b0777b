"""Eligibility: which districts and townships take part in the comprehensive compensation.

Beijing 2022 implementation opinions §(九): the comprehensive compensation is for the
ecological conservation area (生态涵养区): 门头沟, 平谷, 怀柔, 密云, 延庆 and the mountain areas of
昌平 and 房山. A policy states this with an :class:`~linkage.config.EligibilityRule`:

- by unit list: a listed district takes part whole, with all its townships;
- by level: every unit of a listed level takes part whole (``levels: [district]`` is the old
  "all districts" behaviour, stated);
- by a spatial rule: a unit's share inside a declared area (``area_shares`` table, computed by
  the accounts side from a polygon or DEM and slope thresholds; linkage only reads it) must
  reach ``minimum_share``. Without ``applies_to`` every district is tested on its own share
  and takes part whole when it passes. With ``applies_to`` the listed districts take part
  with their townships that pass only: at the district stage their base factors are those of
  the eligible townships, summed, and at the township stage only those townships share the
  envelope.

Units that do not take part get nothing from the stages; every unit of the registry has a
row in the eligibility table (rule, article, basis, share) and every participant an audit
line. The reverse-linkage pool of a group is shared among the group's participants only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from linkage.config import EligibilityRule, LinkConfig
from linkage.errors import Problem

__all__ = ["ELIGIBILITY_COLUMNS", "Eligibility", "decide_eligibility", "eligible_factors"]

ELIGIBILITY_COLUMNS = (
    "unit_id",
    "level",
    "parent_id",
    "eligible",
    "part",
    "basis",
    "area_id",
    "area_share",
    "rule_id",
    "article",
)

FACTOR_COLUMNS = ("area_km2", "population_persons", "ecological_land_km2")


@dataclass(frozen=True)
class Eligibility:
    """The outcome of an eligibility rule.

    Attributes
    ----------
    rule : EligibilityRule
        The rule applied.
    table : pandas.DataFrame
        One row per unit of the registry: :data:`ELIGIBILITY_COLUMNS`; ``part`` is
        ``"whole"``, ``"part"`` (a district taking part with some townships) or ``""``.
    districts : list of str
        Districts taking part (whole or in part), sorted.
    townships : dict of str to list of str
        Townships taking part, per district taking part.
    partial : dict of str to list of str
        Districts taking part in part, to the townships whose base factors they take.
    """

    rule: EligibilityRule
    table: pd.DataFrame
    districts: list[str]
    townships: dict[str, list[str]]
    partial: dict[str, list[str]]

    def basis(self, unit_id: str) -> str:
        """The reason a unit takes part (or not)."""
        return str(self.table.set_index("unit_id").loc[unit_id, "basis"])

    def share(self, unit_id: str) -> float:
        """The unit's share inside the declared area (NaN when not tested)."""
        shares = self.table.set_index("unit_id")["area_share"].astype(float)
        return float(shares[unit_id])


def _shares(rule: EligibilityRule, shares: pd.DataFrame | None) -> pd.Series:
    if rule.area is None or shares is None or shares.empty:
        return pd.Series(dtype=float)
    rows = shares[shares["area_id"] == rule.area.area_id]
    return rows.set_index("unit_id")["share"].astype(float)


def _share_problems(
    rule: EligibilityRule, tested: list[str], share: pd.Series, given: bool
) -> list[Problem]:
    area = rule.area
    if area is None or not tested:
        return []
    if not given:
        return [
            Problem(
                area.id,
                "inputs.area_shares",
                f"the spatial rule needs each unit's share inside area {area.area_id!r}",
                "add the area_shares table (unit_id, area_id, share, source), written by "
                "gep.linkage_inputs",
            )
        ]
    problems = []
    absent = [u for u in tested if u not in share.index]
    if absent:
        problems.append(
            Problem(
                area.id,
                "area_shares.unit_id",
                f"{len(absent)} unit(s) without a share for area {area.area_id!r}: {absent[:8]}",
                "add a row per unit tested by the spatial rule",
            )
        )
    above = sorted(share.index[share > 1.0 + 1e-9])
    if above:
        problems.append(
            Problem(
                area.id,
                "area_shares.share",
                f"shares above 1 for {above[:8]}",
                "give the fraction of the unit's area inside the area (0 to 1)",
            )
        )
    return problems


def _registry(accounts: pd.DataFrame, year: int) -> pd.DataFrame:
    rows = accounts[accounts["year"] == year]
    units = rows.drop_duplicates("unit_id")[["unit_id", "level", "parent_id"]]
    return units.sort_values("unit_id", ignore_index=True)


def _district_row(rule: EligibilityRule, unit: str, share: pd.Series) -> tuple[str, str]:
    """``(part, basis)`` of one district, before its townships are looked at."""
    area = rule.area
    if unit in rule.units:
        return "whole", f"listed in {rule.id} ({rule.article})"
    if "district" in rule.levels:
        return "whole", f"every district takes part ({rule.id}, {rule.article})"
    if area is None:
        return "", f"not listed in {rule.id} ({rule.article})"
    if area.applies_to is not None:
        if unit in area.applies_to:
            return "part", f"townships inside {area.area_id} take part ({area.id}, {rule.article})"
        return "", f"not listed in {rule.id} and not in {area.id}.applies_to ({rule.article})"
    value = float(share.get(unit, float("nan")))
    if value >= area.minimum_share:
        return "whole", f"{area.area_id} share {value:.4f} >= {area.minimum_share} ({area.id})"
    return "", f"{area.area_id} share {value:.4f} < {area.minimum_share} ({area.id})"


def _township_row(
    rule: EligibilityRule, unit: str, district_part: str, share: pd.Series
) -> tuple[str, str]:
    area = rule.area
    if district_part == "whole":
        return "whole", "its district takes part whole"
    if district_part == "":
        return "", "its district does not take part"
    if "township" in rule.levels:
        return "whole", f"every township of a taking-part district ({rule.id})"
    assert area is not None  # a district takes part in part only through the area rule
    value = float(share.get(unit, float("nan")))
    if value >= area.minimum_share:
        return "whole", f"{area.area_id} share {value:.4f} >= {area.minimum_share} ({area.id})"
    return "", f"{area.area_id} share {value:.4f} < {area.minimum_share} ({area.id})"


def _list_problems(rule: EligibilityRule, districts: list[str]) -> list[Problem]:
    problems = []
    listed = [("units", rule.units)]
    if rule.area is not None and rule.area.applies_to is not None:
        listed.append(("area.applies_to", rule.area.applies_to))
    for where, ids in listed:
        unknown = sorted(set(ids) - set(districts))
        if unknown:
            problems.append(
                Problem(
                    rule.id,
                    f"eligibility.{where}",
                    f"{unknown[:8]} are not districts of the accounts in the policy year",
                    "use district unit ids of the accounts table",
                )
            )
    return problems


def _tested(rule: EligibilityRule, registry: pd.DataFrame) -> list[str]:
    area = rule.area
    if area is None:
        return []
    districts = registry[registry["level"] == "district"]
    if area.applies_to is None:
        return [u for u in districts["unit_id"] if u not in rule.units]
    if "township" in rule.levels:
        return []
    towns = registry[registry["level"] == "township"]
    return sorted(towns.loc[towns["parent_id"].isin(area.applies_to), "unit_id"])


def _rows(
    rule: EligibilityRule, registry: pd.DataFrame, districts: list[str], share: pd.Series
) -> list[dict[str, object]]:
    part = {d: _district_row(rule, d, share) for d in districts}
    rows: list[dict[str, object]] = []
    for unit_id, level, parent_id in registry[["unit_id", "level", "parent_id"]].itertuples(
        index=False
    ):
        unit, parent = str(unit_id), str(parent_id)
        if level == "district":
            if unit not in part:
                continue
            kind, basis = part[unit]
        else:
            kind, basis = _township_row(rule, unit, part.get(parent, ("", ""))[0], share)
            if parent not in part:
                basis = "its district does not take part"
        rows.append(
            {
                "unit_id": unit,
                "level": level,
                "parent_id": parent_id,
                "eligible": kind != "",
                "part": kind,
                "basis": basis,
                "area_id": rule.area.area_id if rule.area is not None else "",
                "area_share": float(share.get(unit, float("nan"))),
                "rule_id": rule.id,
                "article": rule.article,
            }
        )
    return rows


def _outcome(rule: EligibilityRule, table: pd.DataFrame) -> Eligibility:
    towns = table[(table["level"] == "township") & table["eligible"]]
    by_district = towns.groupby("parent_id")["unit_id"].apply(sorted).to_dict()
    districts = table[(table["level"] == "district") & table["eligible"]]
    partial = {
        str(d): by_district.get(d, [])
        for d in districts.loc[districts["part"] == "part", "unit_id"]
    }
    empty = [d for d, towns_of in partial.items() if not towns_of]
    if empty:  # a district in part with no township inside the area does not take part
        hit = table["unit_id"].isin(empty)
        table["eligible"] = table["eligible"] & ~hit
        table["part"] = table["part"].where(~hit, "")
        table["basis"] = table["basis"].where(
            ~hit, table["basis"] + "; none of its townships is inside"
        )
        partial = {d: t for d, t in partial.items() if t}
    taking = sorted(table.loc[(table["level"] == "district") & table["eligible"], "unit_id"])
    townships = {d: by_district.get(d, []) for d in taking}
    return Eligibility(rule, table, taking, townships, partial)


def decide_eligibility(
    config: LinkConfig,
    districts: list[str],
    accounts: pd.DataFrame,
    shares: pd.DataFrame | None,
) -> tuple[Eligibility | None, list[Problem]]:
    """Apply the district stage's eligibility rule to the units of the policy year.

    Parameters
    ----------
    config : LinkConfig
        The configuration (``districts.eligibility``; ``None`` there: everyone takes part).
    districts : list of str
        Districts of the registry (the accounts, or ``districts.units``).
    accounts : pandas.DataFrame
        Accounts table (unit levels and parents of the policy year).
    shares : pandas.DataFrame or None
        The ``area_shares`` table (``unit_id, area_id, share, source``).

    Returns
    -------
    Eligibility or None
        The outcome (``None`` without a rule).
    list of Problem
        Unknown districts, missing shares, no district taking part.
    """
    rule = config.districts.eligibility
    if rule is None:
        return None, []
    registry = _registry(accounts, config.policy.year)
    share = _shares(rule, shares)
    problems = _list_problems(rule, districts)
    problems += _share_problems(rule, _tested(rule, registry), share, shares is not None)
    if problems:
        return None, problems
    table = pd.DataFrame(_rows(rule, registry, districts, share), columns=list(ELIGIBILITY_COLUMNS))
    outcome = _outcome(rule, table)
    if not outcome.districts:
        problems.append(
            Problem(
                rule.id,
                "districts.eligibility",
                "no district takes part",
                "check the unit list, levels and the area rule's minimum_share",
            )
        )
    return outcome, problems


def eligible_factors(factors: pd.DataFrame, eligibility: Eligibility | None) -> pd.DataFrame:
    """Base factors with each district taking part in part replaced by its townships' sum.

    Parameters
    ----------
    factors : pandas.DataFrame
        Base-factor table indexed by unit id.
    eligibility : Eligibility or None
        The outcome of :func:`decide_eligibility`.

    Returns
    -------
    pandas.DataFrame
        The table, with ``area_km2``, ``population_persons`` and ``ecological_land_km2`` of a
        district in part the sums over its eligible townships.

    Examples
    --------
    >>> f = pd.DataFrame({"area_km2": [10.0, 4.0, 6.0], "population_persons": [9.0, 2.0, 7.0],
    ...     "ecological_land_km2": [5.0, 3.0, 2.0]}, index=["d", "t1", "t2"])
    >>> e = Eligibility(None, pd.DataFrame(), ["d"], {"d": ["t1"]}, {"d": ["t1"]})  # type: ignore[arg-type]
    >>> eligible_factors(f, e).loc["d"].tolist()
    [4.0, 2.0, 3.0]
    """
    if eligibility is None or not eligibility.partial:
        return factors
    out = factors.copy()
    columns = list(FACTOR_COLUMNS)
    for district, towns in eligibility.partial.items():
        out.loc[district, columns] = factors.loc[towns, columns].sum().to_numpy()
    return out


def outside_rows(eligibility: Eligibility, with_townships: bool) -> pd.DataFrame:
    """Allocation rows of the units that do not take part: amount 0, the reason stated.

    Parameters
    ----------
    eligibility : Eligibility
        The outcome of :func:`decide_eligibility`.
    with_townships : bool
        Whether the policy has a township stage (townships get rows then).

    Returns
    -------
    pandas.DataFrame
        Indexed by unit id: ``stage``, ``group_id``, ``group_budget_fen``, ``amount_fen``,
        ``amount_cny``, ``coefficient``, ``bound`` (other allocation columns are missing).
    """
    table = eligibility.table
    districts = set(table.loc[table["level"] == "district", "unit_id"])
    towns = (table["level"] == "township") & table["parent_id"].isin(districts)
    rows = table[~table["eligible"] & ((table["level"] == "district") | (towns & with_townships))]
    group = rows["parent_id"].astype(str).where(rows["level"] == "township", "all")
    out = pd.DataFrame(
        {
            "stage": rows["level"].to_numpy(),
            "group_id": group.to_numpy(),
            "group_budget_fen": 0,
            "amount_fen": pd.array([0] * len(rows), dtype="int64"),
            "amount_cny": 0.0,
            "coefficient": 0.0,
            "bound": "",
        },
        index=pd.Index(rows["unit_id"].to_numpy()),
    )
    return out


def outside_audit(eligibility: Eligibility, rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One audit line per unit that does not take part (contribution 0, its reason).

    Parameters
    ----------
    eligibility : Eligibility
        The outcome of :func:`decide_eligibility`.
    rows : pandas.DataFrame
        Output of :func:`outside_rows`.
    columns : list of str
        Audit columns (:data:`linkage.audit.AUDIT_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        The lines.
    """
    rule = eligibility.rule
    table = eligibility.table.set_index("unit_id").reindex(rows.index)
    lines = pd.DataFrame(
        {
            "stage": rows["stage"].to_numpy(),
            "group_id": rows["group_id"].to_numpy(),
            "unit_id": rows.index.to_numpy(),
            "step": 1,
            "rule_id": rule.id,
            "description": [f"does not take part ({rule.article}): {b}" for b in table["basis"]],
            "coefficient": table["area_share"].astype(float).to_numpy(),
            "contribution_cny": 0.0,
            "running_total_cny": 0.0,
        }
    )
    return lines[columns]
