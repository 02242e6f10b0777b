"""The 2022 water rules' components beyond water quality: ecological flow and sewage tasks.

北京市水生态区域补偿暂行办法 (京政办发〔2022〕31号, in force 2023-01-01) assesses, besides water
quality, the flow of rivers (水流: length of river with water, flow continuity) and the annual
sewage-treatment tasks (污水治理年度任务). Its amounts are not in a public source held by this
project, so both components are policy inputs:

- ecological flow (``water_two_way.ecological_flow``): for each assessed section and month
  whose mean flow is below the section's ecological flow, the upstream district pays
  ``amount_per_month_cny`` to the downstream district (the municipal pool for a section leaving
  Beijing);
- sewage tasks (``water_two_way.sewage_tasks``): a district that completes less than 100 % of
  its annual task pays ``amount_per_point_cny`` per percentage point short into the municipal
  pool (rounded half up to the fen).

The lines have the columns of :func:`linkage.water.water_lines` and are settled with them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from linkage.config import LinkConfig, WaterTwoWay
from linkage.errors import Problem

__all__ = ["check_water_tasks", "water_task_lines"]

MUNICIPAL = "municipal"


def _flow_lines(
    water: WaterTwoWay, year: int, sections: pd.DataFrame, flow: pd.DataFrame
) -> pd.DataFrame:
    rule = water.ecological_flow
    if rule is None or flow.empty:
        return pd.DataFrame()
    rows = flow[(flow["year"] == year) & flow["month"].isin(water.months)]
    rows = rows.merge(sections, on="section_id")
    short = rows[rows["flow_m3_per_s"] < rows["eco_flow_m3_per_s"]].copy()
    fen = int(rule.amount_per_month_cny * 100)
    downstream = short["downstream_unit_id"]
    short["receiver"] = downstream.where(~downstream.isin(water.outflow_parties), MUNICIPAL)
    short["payer"] = short["upstream_unit_id"]
    short["pollutant"] = "flow"
    short["classes"], short["rate_fen"], short["amount_fen"] = 1, fen, fen
    return short


def _sewage_lines(water: WaterTwoWay, year: int, tasks: pd.DataFrame) -> pd.DataFrame:
    rule = water.sewage_tasks
    if rule is None or tasks.empty:
        return pd.DataFrame()
    rows = tasks[(tasks["year"] == year) & (tasks["completion_pct"] < 100.0)].copy()
    rate = rule.amount_per_point_cny * 100
    points = [Decimal(100) - Decimal(repr(float(v))) for v in rows["completion_pct"]]
    rows["classes"] = [float(p) for p in points]
    rows["amount_fen"] = [int((p * rate).quantize(Decimal(1), ROUND_HALF_UP)) for p in points]
    rows["rate_fen"], rows["payer"], rows["receiver"] = int(rate), rows["unit_id"], MUNICIPAL
    rows["section_id"], rows["pollutant"], rows["month"] = "", "sewage_task", 12
    return rows


def water_task_lines(
    water: WaterTwoWay,
    year: int,
    sections: pd.DataFrame,
    flow: pd.DataFrame,
    tasks: pd.DataFrame,
    columns: list[str],
) -> pd.DataFrame:
    """Lines of the ecological-flow and sewage-task components for one year.

    Parameters
    ----------
    water : WaterTwoWay
        The water rules (``ecological_flow``, ``sewage_tasks``).
    year : int
        Settlement year.
    sections : pandas.DataFrame
        ``water_sections`` table.
    flow : pandas.DataFrame
        ``water_flow``: ``section_id, year, month, flow_m3_per_s, eco_flow_m3_per_s``.
    tasks : pandas.DataFrame
        ``sewage_tasks``: ``unit_id, year, completion_pct``.
    columns : list of str
        Columns of the water lines (missing ones are left empty).

    Returns
    -------
    pandas.DataFrame
        One line per section-month short of its ecological flow and per district short of
        its sewage task.

    Examples
    --------
    >>> w = WaterTwoWay.model_validate({"id": "W", "rule_set": "beijing-2022",
    ...     "deterioration": {"id": "a", "amount_cny": "1"},
    ...     "no_worse_than_inflow": {"id": "b", "amount_cny": "1"},
    ...     "sewage_tasks": {"id": "W.sew", "amount_per_point_cny": "10000"}})
    >>> tasks = pd.DataFrame({"unit_id": ["D1"], "year": [2024], "completion_pct": [97.5]})
    >>> water_task_lines(w, 2024, pd.DataFrame(), pd.DataFrame(), tasks,
    ...     ["payer", "receiver", "amount_fen"]).values.tolist()
    [['D1', 'municipal', 2500000]]
    """
    parts = []
    for rule, frame in (
        (water.ecological_flow, _flow_lines(water, year, sections, flow)),
        (water.sewage_tasks, _sewage_lines(water, year, tasks)),
    ):
        if rule is not None and not frame.empty:
            parts.append(frame.assign(rule_id=rule.id, year=year))
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out["amount_fen"] = out["amount_fen"].astype("int64")
    out["amount_cny"] = out["amount_fen"] / 100.0
    out["rule_set"] = water.rule_set
    out["amount_source"] = out["rule_id"].map(
        lambda rule_id: f"policy input ({rule_id}, rule set {water.rule_set})"
    )
    return out.reindex(columns=columns)


def check_water_tasks(
    config: LinkConfig,
    sections: pd.DataFrame,
    flow: pd.DataFrame,
    tasks: pd.DataFrame,
    districts: list[str],
) -> list[Problem]:
    """Every assessed section-month has a flow row; sewage tasks name known districts.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``water_two_way`` section.
    sections, flow, tasks : pandas.DataFrame
        ``water_sections``, ``water_flow`` and ``sewage_tasks``.
    districts : list of str
        Known district ids.

    Returns
    -------
    list of Problem
        Missing flow rows, unknown districts, completion shares above 100 %.
    """
    water = config.water_two_way
    problems: list[Problem] = []
    if water is None:
        return problems
    year = config.policy.year
    if water.ecological_flow is not None:
        wanted = pd.MultiIndex.from_product([sorted(sections["section_id"]), water.months])
        rows = flow[flow["year"] == year]
        missing = wanted.difference(pd.MultiIndex.from_frame(rows[["section_id", "month"]]))
        if len(missing):
            problems.append(
                Problem(
                    water.ecological_flow.id,
                    "water_flow",
                    f"{len(missing)} section-months without flow for {year}, e.g. "
                    f"{list(missing[0])}",
                    "give the mean flow and the ecological flow of every section and month",
                )
            )
    if water.sewage_tasks is not None:
        unknown = sorted(set(tasks["unit_id"]) - set(districts))
        if unknown:
            problems.append(
                Problem(
                    water.sewage_tasks.id,
                    "sewage_tasks.unit_id",
                    f"unknown districts {unknown[:8]}",
                    "use district ids of the accounts",
                )
            )
        if (tasks["completion_pct"] > 100.0).any():
            problems.append(
                Problem(
                    water.sewage_tasks.id,
                    "sewage_tasks.completion_pct",
                    "shares above 100 %",
                    "give the completed share of the annual task, at most 100",
                )
            )
    return problems
