"""The finance bureau's fund-allocation table (资金分配表): rows, headings, 元 and 万元, articles."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from linkage.finance import FUND_COLUMNS, fund_allocation_table
from linkage.run import compute_link, read_link, run_link
from tests.linkage.conftest import EXAMPLE
from tests.linkage.test_link_eligibility import config, tables


def test_eligibility_case_by_hand() -> None:
    """P: 57,142,857 fen = 571,428.57 元 = 57.142857 万元, of which its townships get
    28,571,429 fen (285,714.29 元) and it keeps 285,714.28 元; totals 1,000,000.00 元 for the
    district stage and 500,000.01 元 for the townships (two envelopes rounded half up)."""
    table = fund_allocation_table(compute_link(config(), tables()))
    assert list(table.columns) == list(FUND_COLUMNS)
    rows = table.set_index(["单位代码", "项目"])
    p = rows.loc[("P", "生态涵养区综合性生态保护补偿（区级）")]
    assert p["金额（元）"] == 571_428.57 and p["金额（万元）"] == 57.142857
    assert p["金额（分）"] == 57_142_857 and p["层级"] == "区" and p["财政年度"] == 2024
    assert p["说明"] == "其中下达乡镇 285,714.29 元，区级留用 285,714.28 元"
    assert p["政策依据"].startswith("§(九)") and "（范围：§(九)）" in p["政策依据"]
    assert p["规则编号"] == "D、E"
    q1 = rows.loc[("q1", "生态涵养区综合性生态保护补偿（乡镇级）")]
    assert q1["金额（元）"] == 85_714.29 and q1["上级单位代码"] == "Q"
    assert q1["说明"].startswith("由所在区 Q 的分配额中下达")
    assert "q2" not in set(table["单位代码"]) and "R" not in set(table["单位代码"])
    totals = table[table["单位名称"] == "合计"].set_index("项目")["金额（元）"].to_dict()
    assert totals == {
        "生态涵养区综合性生态保护补偿（区级）": 1_000_000.00,
        "生态涵养区综合性生态保护补偿（乡镇级）": 500_000.01,
    }


def test_every_programme_of_the_example_adds_up_and_cites_its_article(tmp_path) -> None:
    result = compute_link(*read_link(EXAMPLE))
    table = fund_allocation_table(result)
    body = table[table["单位名称"] != "合计"]
    totals = table[table["单位名称"] == "合计"].set_index("项目")["金额（分）"]
    assert totals.to_dict() == body.groupby("项目", sort=False)["金额（分）"].sum().to_dict()
    assert table["政策依据"].str.match(r"^§\(").all()
    allocation = result.allocation
    checks = {
        "forest_fen": "山区生态公益林生态效益补偿",
        "cropland_fen": "耕地保护补偿",
        "transfer_fen": "重点生态功能区转移支付",
        "award_fen": "示范创建奖励",
        "water_two_way_net_fen": "水生态区域补偿（双向，净额）",
    }
    for column, name in checks.items():
        assert int(totals.get(name, 0)) == int(allocation[column].sum()), column
    district = allocation[allocation["stage"] == "district"]["amount_fen"].sum()
    assert totals["生态涵养区综合性生态保护补偿（区级）"] == district
    assert (body["金额（元）"] * 100).round().astype("int64").tolist() == body[
        "金额（分）"
    ].tolist()
    horizontal = body[body["项目"] == "跨区域横向生态保护补偿"]
    assert len(horizontal) == len(result.config.horizontal)
    written = run_link(EXAMPLE, tmp_path)
    sheet = pd.read_excel(written.outputs["xlsx"], sheet_name="资金分配表")
    assert list(sheet.columns) == list(FUND_COLUMNS)
    document = json.loads(written.outputs["json"].read_text(encoding="utf-8"))
    assert len(document["fund_allocation"]) == len(table)
    assert document["fund_allocation"][0]["项目"] == "生态涵养区综合性生态保护补偿（区级）"


def test_wan_yuan_is_exact_to_the_fen() -> None:
    table = fund_allocation_table(compute_link(config(), tables()))
    assert (table["金额（万元）"] * 1_000_000).round().astype("int64").tolist() == table[
        "金额（分）"
    ].tolist()
    assert pytest.approx(table["金额（元）"] / 10_000) == table["金额（万元）"].tolist()
