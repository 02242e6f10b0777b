"""Water rule sets (2014, 2022), improvement on last year and sections leaving Beijing.

One month (July), COD only (GB 3838-2002 river limits 15/15/20/30/40 mg/L), target class III:

    section  upstream -> downstream     2023 COD (class)   2024 COD (class), inflow
    S1       D1 -> D2                   35 (V)             25 (IV), inflow 20: worse than inflow
    S2       D2 -> hebei (leaves)       35 (V)             25 (IV), no inflow section

2022 rule set with the policy's amounts: 200,000 CNY per class beyond target (100,000 when no
worse than inflow), 50,000 CNY per class improved on last July, paid by the municipal pool:

    S1  D1 pays D2          1 class x 200,000 = 200,000
    S1  municipal pays D1   1 class x  50,000 =  50,000   (V -> IV)
    S2  D2 pays municipal   1 class x 200,000 = 200,000   (hebei is outside: the pool receives)
    S2  municipal pays D2   1 class x  50,000 =  50,000
    net: D1 -150,000.00; D2 +50,000.00; municipal +100,000.00 (sum 0)
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from linkage.config import LinkConfig, WaterTwoWay
from linkage.errors import LinkageError
from linkage.validate import check_config
from linkage.water import check_water, settle_water, water_lines
from tests.linkage.conftest import five_district_config

SECTIONS = pd.DataFrame(
    {
        "section_id": ["S1", "S2"],
        "upstream_unit_id": ["D1", "D2"],
        "downstream_unit_id": ["D2", "hebei"],
        "target_class": [3, 3],
        "water_body": ["river", "river"],
    }
)
MONTHLY = pd.DataFrame(
    [
        ("S1", 2023, 7, "cod", 35.0, None),
        ("S2", 2023, 7, "cod", 35.0, None),
        ("S1", 2024, 7, "cod", 25.0, 20.0),
        ("S2", 2024, 7, "cod", 25.0, None),
    ],
    columns=["section_id", "year", "month", "pollutant", "outflow_mg_per_l", "inflow_mg_per_l"],
)


def rules(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "W",
        "rule_set": "beijing-2022",
        "deterioration": {"id": "W.det", "amount_cny": "200000"},
        "no_worse_than_inflow": {"id": "W.inflow", "amount_cny": "100000"},
        "year_on_year": {"id": "W.yoy", "amount_per_class_cny": "50000", "payer": "municipal"},
        "outflow_parties": ["hebei"],
        "pollutants": ["cod"],
        "months": [7],
    }
    return {**base, **changes}


def test_2022_rules_by_hand() -> None:
    water = WaterTwoWay.model_validate(rules())
    lines = water_lines(water, 2024, SECTIONS, MONTHLY)
    got = lines[["section_id", "rule_id", "payer", "receiver", "classes", "amount_fen"]]
    assert got.values.tolist() == [
        ["S1", "W.det", "D1", "D2", 1, 20_000_000],
        ["S1", "W.yoy", "municipal", "D1", 1, 5_000_000],
        ["S2", "W.det", "D2", "municipal", 1, 20_000_000],
        ["S2", "W.yoy", "municipal", "D2", 1, 5_000_000],
    ]
    assert (lines["rule_set"] == "beijing-2022").all()
    assert lines["amount_source"].iloc[0] == "policy input (W.det, rule set beijing-2022)"
    net = settle_water(lines, ["D1", "D2"])["net_cny"].to_dict()
    assert net == {"D1": -150_000.0, "D2": 50_000.0, "municipal": 100_000.0}


def test_2014_rules_take_the_sourced_amount_with_its_year() -> None:
    """2014 defaults: 300,000 CNY per class beyond target (S1 worse than its inflow)."""
    water = WaterTwoWay.model_validate(
        rules(
            rule_set="beijing-2014",
            deterioration={"id": "W.det"},
            no_worse_than_inflow={"id": "W.inflow"},
            year_on_year=None,
        )
    )
    lines = water_lines(water, 2024, SECTIONS, MONTHLY).set_index("section_id")
    assert lines.loc["S1", "amount_fen"] == 30_000_000
    assert "2014" in lines.loc["S1", "amount_source"]
    assert lines.loc["S1", "amount_source"].endswith("(amount of 2014)")


def test_no_improvement_no_reward() -> None:
    """Same class as last July: no year-on-year line."""
    same = MONTHLY.assign(outflow_mg_per_l=25.0)
    lines = water_lines(WaterTwoWay.model_validate(rules()), 2024, SECTIONS, same)
    assert "W.yoy" not in set(lines["rule_id"])


def test_2022_rules_without_amounts_are_refused_with_the_reason() -> None:
    config = five_district_config()
    config["inputs"] |= {"water_sections": "s.csv", "water_monthly": "m.csv"}
    config["water_two_way"] = rules(deterioration={"id": "W.det"})
    problems = check_config(LinkConfig.model_validate(config))
    assert [p.rule_id for p in problems] == ["W.det"]
    assert "京政办发〔2022〕31号" in problems[0].message
    assert "give amount_cny" in problems[0].hint
    with pytest.raises(LinkageError, match=r"\[W.det\]"):
        water_lines(WaterTwoWay.model_validate(config["water_two_way"]), 2024, SECTIONS, MONTHLY)


def test_outflow_parties_and_last_year_rows_are_checked() -> None:
    config = five_district_config()
    config["inputs"] |= {"water_sections": "s.csv", "water_monthly": "m.csv"}
    config["water_two_way"] = rules(outflow_parties=[])
    parsed = LinkConfig.model_validate(config)
    problems = check_water(parsed, SECTIONS, MONTHLY[MONTHLY["year"] == 2024], ["D1", "D2"])
    text = [f"[{p.rule_id}] {p.where}: {p.message}; {p.hint}" for p in problems]
    assert any("unknown districts ['hebei']" in t and "outflow_parties" in t for t in text)
    assert any(t.startswith("[W.yoy] water_monthly: 2 section-month") for t in text)


def test_flow_and_sewage_components_through_a_run() -> None:
    """Five districts; July, COD 18 mg/L (class III) at both sections: no quality line.

    S1 (A -> B): flow 0.5 < ecological 0.8 m3/s -> A pays B 80,000.00
    S2 (C -> tianjin, leaves Beijing): 1.0 >= 0.9 -> nothing
    sewage: A 100 % -> nothing; C 92.5 % -> 7.5 points x 20,000 = 150,000.00 to the pool;
            D 99.99 % -> 0.01 x 20,000 = 200.00 to the pool
    nets: A -80,000.00  B +80,000.00  C -150,000.00  D -200.00  municipal +150,200.00
    """
    from linkage.finance import fund_allocation_table
    from linkage.run import compute_link
    from tests.linkage.conftest import five_district_tables

    config = five_district_config()
    config["water_two_way"] = rules(
        year_on_year=None,
        outflow_parties=["tianjin"],
        ecological_flow={"id": "W.flow", "amount_per_month_cny": "80000"},
        sewage_tasks={"id": "W.sewage", "amount_per_point_cny": "20000"},
    )
    tables = five_district_tables()
    tables["water_sections"] = pd.DataFrame(
        {
            "section_id": ["S1", "S2"],
            "upstream_unit_id": ["A", "C"],
            "downstream_unit_id": ["B", "tianjin"],
            "target_class": [3, 3],
            "water_body": ["river", "river"],
        }
    )
    tables["water_monthly"] = pd.DataFrame(
        [("S1", 2024, 7, "cod", 18.0, None), ("S2", 2024, 7, "cod", 18.0, None)],
        columns=MONTHLY.columns,
    )
    tables["water_flow"] = pd.DataFrame(
        {
            "section_id": ["S1", "S2"],
            "year": 2024,
            "month": 7,
            "flow_m3_per_s": [0.5, 1.0],
            "eco_flow_m3_per_s": [0.8, 0.9],
        }
    )
    tables["sewage_tasks"] = pd.DataFrame(
        {"unit_id": ["A", "C", "D"], "year": 2024, "completion_pct": [100.0, 92.5, 99.99]}
    )
    result = compute_link(config, tables)
    lines = result.programmes["water_lines"]
    assert lines[["rule_id", "payer", "receiver", "amount_fen"]].values.tolist() == [
        ["W.flow", "A", "B", 8_000_000],
        ["W.sewage", "C", "municipal", 15_000_000],
        ["W.sewage", "D", "municipal", 20_000],
    ]
    net = result.allocation.set_index("unit_id")["water_two_way_net_fen"].to_dict()
    assert net == {"A": -8_000_000, "B": 8_000_000, "C": -15_000_000, "D": -20_000, "E": 0}
    pool = result.programmes["water_settlement"].set_index("party").loc["municipal", "net_fen"]
    assert pool == 15_020_000
    finance = fund_allocation_table(result)
    water = finance[finance["项目"] == "水生态区域补偿（双向，净额）"].set_index("单位代码")
    assert water.loc["C", "金额（元）"] == -150_000.0 and water.loc["D", "金额（元）"] == -200.0
    total = finance[
        (finance["项目"] == "水生态区域补偿（双向，净额）") & (finance["单位名称"] == "合计")
    ]
    assert total["金额（分）"].tolist() == [-15_020_000]  # what the districts pay the pool, net


def test_flow_rows_missing_are_refused() -> None:
    from linkage.water_tasks import check_water_tasks

    config = five_district_config()
    config["inputs"] |= {"water_sections": "s.csv", "water_monthly": "m.csv"}
    config["inputs"] |= {"water_flow": "f.csv", "sewage_tasks": "t.csv"}
    config["water_two_way"] = rules(
        ecological_flow={"id": "W.flow", "amount_per_month_cny": "80000"},
        sewage_tasks={"id": "W.sewage", "amount_per_point_cny": "20000"},
    )
    parsed = LinkConfig.model_validate(config)
    flow = pd.DataFrame(
        {"section_id": ["S1"], "year": [2024], "month": [7], "flow_m3_per_s": [1.0]}
    ).assign(eco_flow_m3_per_s=0.5)
    tasks = pd.DataFrame({"unit_id": ["X"], "year": [2024], "completion_pct": [101.0]})
    problems = check_water_tasks(parsed, SECTIONS, flow, tasks, ["D1", "D2"])
    assert [(p.rule_id, p.where) for p in problems] == [
        ("W.flow", "water_flow"),
        ("W.sewage", "sewage_tasks.unit_id"),
        ("W.sewage", "sewage_tasks.completion_pct"),
    ]
