"""The fund-allocation table for the finance bureau (资金分配表): one row per unit and programme.

For each fiscal year (the policy year) the table lists what every unit receives from every
programme, with Chinese headings, the amount in 元 and 万元 (and in fen, exact), the articles of
the Beijing 2022 implementation opinions each line rests on and the rule ids of the audit
trail, followed by one total row per programme (合计). Amounts are the run's, to the fen: a
district's comprehensive compensation includes the envelope it passes on to its townships, so
the township rows are part of the district rows and say so.

Rows: the comprehensive compensation of the district and township stages (§(九), §(十九);
units taking part only), the two-way water net amount (§(五); negative when the unit pays), and
the programmes paid through the ledger: forest (§(四)), cropland (§(六)), key ecological
function area transfer (§(八), §(二十)), demonstration awards (§(十九)); the horizontal
agreements (§(十)) by upstream party.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from linkage.config import LinkConfig
from linkage.result import LinkResult

__all__ = ["FUND_COLUMNS", "fund_allocation_table"]

FUND_COLUMNS = (
    "财政年度",
    "单位代码",
    "单位名称",
    "层级",
    "上级单位代码",
    "项目",
    "金额（元）",
    "金额（万元）",
    "金额（分）",
    "政策依据",
    "规则编号",
    "说明",
)

_LEVEL = {"district": "区", "township": "乡镇（街道）"}

#: Allocation column → (programme heading, articles, config attribute holding the rule id).
_PROGRAMME_COLUMNS = {
    "water_two_way_net_fen": (
        "水生态区域补偿（双向，净额）",
        "§(五) 完善水流生态保护补偿机制",
        "water_two_way",
    ),
    "forest_fen": ("山区生态公益林生态效益补偿", "§(四) 完善森林生态保护补偿机制", "forest"),
    "cropland_fen": ("耕地保护补偿", "§(六) 完善耕地生态保护补偿机制", "cropland"),
    "transfer_fen": (
        "重点生态功能区转移支付",
        "§(八) 强化重点生态功能区纵向补偿；§(二十) 健全资金绩效考评机制",
        "transfer",
    ),
    "award_fen": ("示范创建奖励", "§(十九) 优化资金分配导向", "evaluation"),
}

_STAGE_ARTICLES = "§(九) 强化生态涵养区生态保护补偿；§(十九) 优化资金分配导向"


def _yuan(fen: int) -> float:
    return float(Decimal(fen) / 100)


def _wan(fen: int) -> float:
    return float(Decimal(fen) / 1_000_000)


def _row(
    year: int, unit: pd.Series, programme: str, fen: int, articles: str, rules: str, note: str
) -> dict[str, object]:
    parent = unit.get("parent_id")
    return {
        "财政年度": year,
        "单位代码": str(unit["unit_id"]),
        "单位名称": str(unit.get("unit_name", "")),
        "层级": _LEVEL.get(str(unit.get("level", "")), str(unit.get("level", ""))),
        "上级单位代码": "" if parent is None or pd.isna(parent) else str(parent),
        "项目": programme,
        "金额（元）": _yuan(fen),
        "金额（万元）": _wan(fen),
        "金额（分）": fen,
        "政策依据": articles,
        "规则编号": rules,
        "说明": note,
    }


def _stage_rows(config: LinkConfig, allocation: pd.DataFrame) -> list[dict[str, object]]:
    eligibility = config.districts.eligibility
    articles = _STAGE_ARTICLES + (f"（范围：{eligibility.article}）" if eligibility else "")
    rule_ids = [config.districts.id] + ([eligibility.id] if eligibility else [])
    taking = allocation[allocation["group_budget_fen"] > 0]
    rows = []
    for _, unit in taking.iterrows():
        fen = int(unit["amount_fen"])
        if unit["stage"] == "district":
            envelope = int(unit.get("township_envelope_fen", 0))
            note = (
                f"其中下达乡镇 {_yuan(envelope):,.2f} 元，区级留用 {_yuan(fen - envelope):,.2f} 元"
                if envelope
                else ""
            )
            name, rules = "生态涵养区综合性生态保护补偿（区级）", rule_ids
        else:
            note = f"由所在区 {unit['group_id']} 的分配额中下达，已含在区级金额内"
            township = config.townships.id if config.townships else "T"
            name, rules = "生态涵养区综合性生态保护补偿（乡镇级）", [township, *rule_ids[1:]]
        rows.append(_row(config.policy.year, unit, name, fen, articles, "、".join(rules), note))
    return rows


def _programme_rows(config: LinkConfig, allocation: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    for column, (name, articles, attribute) in _PROGRAMME_COLUMNS.items():
        if column not in allocation:
            continue
        rule = getattr(config, attribute)
        rule_id = str(rule.id) if rule is not None else ""
        note = "负数为向市级统筹或下游扣缴" if column == "water_two_way_net_fen" else ""
        for _, unit in allocation[allocation[column] != 0].iterrows():
            fen = int(unit[column])
            rows.append(_row(config.policy.year, unit, name, fen, articles, rule_id, note))
    return rows


def _horizontal_rows(config: LinkConfig, lines: pd.DataFrame | None) -> list[dict[str, object]]:
    if lines is None or lines.empty:
        return []
    rows = []
    for agreement in config.horizontal:
        own = lines[lines["agreement_id"] == agreement.id]
        due = own.loc[own["description"] == "amount due for the year", "amount_fen"]
        fen = int(due.iloc[0]) if len(due) else 0
        funded = own[own["party"].fillna("") != ""]
        shares = "；".join(
            f"{party} {_yuan(int(amount)):,.2f} 元"
            for party, amount in zip(funded["party"], funded["amount_fen"], strict=True)
        )
        unit = pd.Series(
            {"unit_id": agreement.upstream_party, "unit_name": agreement.name, "level": "上游"}
        )
        note = f"付款方：{agreement.downstream_party}" + (f"；出资：{shares}" if shares else "")
        rows.append(
            _row(
                config.policy.year,
                unit,
                "跨区域横向生态保护补偿",
                fen,
                "§(十) 健全跨区域横向生态保护补偿",
                agreement.id,
                note + "（逐项结算见 horizontal 表）",
            )
        )
    return rows


def _totals(table: pd.DataFrame, year: int) -> pd.DataFrame:
    sums = table.groupby("项目", sort=False)["金额（分）"].sum()
    rows = []
    for programme, fen in sums.items():
        first = table[table["项目"] == programme].iloc[0]
        note = "乡镇级金额已含在区级金额内，不重复计入" if "乡镇级" in str(programme) else ""
        rows.append(
            {
                **{c: "" for c in FUND_COLUMNS},
                "财政年度": year,
                "单位名称": "合计",
                "项目": programme,
                "金额（元）": _yuan(int(fen)),
                "金额（万元）": _wan(int(fen)),
                "金额（分）": int(fen),
                "政策依据": first["政策依据"],
                "规则编号": first["规则编号"],
                "说明": note,
            }
        )
    return pd.DataFrame(rows, columns=list(FUND_COLUMNS))


def fund_allocation_table(result: LinkResult) -> pd.DataFrame:
    """The finance bureau's fund-allocation table of a run (资金分配表).

    Parameters
    ----------
    result : LinkResult
        A computed result.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FUND_COLUMNS`: one row per unit and programme with a non-zero amount
        (every unit taking part for the comprehensive compensation), then one 合计 row per
        programme. ``金额（分）`` is exact; ``金额（元）`` and ``金额（万元）`` are the same amount
        in 元 and 万元.
    """
    config = result.config
    rows = _stage_rows(config, result.allocation)
    rows += _programme_rows(config, result.allocation)
    rows += _horizontal_rows(config, result.programmes.get("horizontal"))
    table = pd.DataFrame(rows, columns=list(FUND_COLUMNS))
    if table.empty:
        return table
    table["金额（分）"] = table["金额（分）"].astype("int64")
    out = pd.concat([table, _totals(table, config.policy.year)], ignore_index=True)
    out["金额（分）"] = out["金额（分）"].astype("int64")
    return out
