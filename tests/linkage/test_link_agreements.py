"""Horizontal agreements as a template (§(十)): Miyun phase 2 and Guanting, computed by hand.

Miyun-like (two rivers, 2024, period 2021-2025):
    潮河 chao: inflow 12 x 2.0e7 = 2.4e8 m3 against a mean of 2.0e8 -> 4.0e7 m3 x 0.10
               = 4,000,000.00; TN 1.8 mg/L every month against 2.0 -> 10 % x 1,000,000
               = 10,000,000.00; two months in class IV (floor III) x 500,000 = -1,000,000.00
    白河 bai:  inflow 12 x 7.5e6 = 9.0e7 < 1.0e8 -> 0; every month class III -> 0
    behaviour: score 85.55 of 100 x 10,000,000 = 8,555,000.00
    due 21,555,000.00; pre-payment 20,000,000.00 -> clearing 1,555,000.00
    co-funders 45 % / 35 % / 20 %: 9,699,750.00 / 7,544,250.00 / 4,311,000.00
Guanting-like (one section, 2024, period 2023-2025): TN annual mean 2.7 against 3.0 in 2023
    (no worse: reward 1,000,000.00); three months below the ecological flow of 5.0e6 m3 x
    200,000 = -600,000.00; due 400,000.00. With TN 3.2 in 2024: -3,000,000.00 - 600,000.00 =
    -3,600,000.00, floored at zero (+3,600,000.00): due 0.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from linkage.config import HorizontalAgreement, LinkConfig
from linkage.horizontal import agreement_lines, check_horizontal, horizontal_lines
from linkage.validate import check_config
from tests.linkage.conftest import five_district_config

MIYUN: dict[str, Any] = {
    "id": "MY",
    "name": "密云水库上游潮白河流域 (phase 2, synthetic terms)",
    "upstream_party": "hebei_upstream",
    "downstream_party": "beijing",
    "sections": [
        {
            "id": "MY.chao",
            "section_id": "chao",
            "quantity": {
                "id": "MY.chao.q",
                "mean_inflow_m3": 2.0e8,
                "reward_cny_per_m3": "0.10",
                "baseline": "mean annual inflow since 2000",
            },
            "nitrogen": {
                "id": "MY.chao.tn",
                "baseline_tn_mg_per_l": 2.0,
                "reward_cny_per_percent": "1000000",
                "mean": "arithmetic",
            },
            "quality": {
                "id": "MY.chao.cls",
                "target_class": 3,
                "deduction_cny_per_month": "500000",
            },
        },
        {
            "id": "MY.bai",
            "section_id": "bai",
            "quantity": {"id": "MY.bai.q", "mean_inflow_m3": 1.0e8, "reward_cny_per_m3": "0.10"},
            "quality": {"id": "MY.bai.cls", "target_class": 3, "deduction_cny_per_month": "500000"},
        },
    ],
    "behaviour": {"id": "MY.behaviour", "amount_cny": "10000000"},
    "funders": [
        {"party": "beijing", "share": 0.45},
        {"party": "hebei", "share": 0.35},
        {"party": "central", "share": 0.2},
    ],
    "period": {"first_year": 2021, "last_year": 2025},
    "prepayment": {"id": "MY.pre", "amount_cny": "20000000"},
    "floor_at_zero": True,
}

GUANTING: dict[str, Any] = {
    "id": "GT",
    "name": "官厅水库上游永定河流域 (synthetic terms)",
    "upstream_party": "hebei_shanxi_upstream",
    "downstream_party": "beijing",
    "year_on_year": {
        "id": "GT.yoy",
        "measure": "tn_mg_per_l",
        "deduction_cny": "3000000",
        "reward_cny": "1000000",
    },
    "ecological_flow": {
        "id": "GT.flow",
        "min_inflow_m3_per_month": 5.0e6,
        "deduction_cny_per_month": "200000",
    },
    "period": {"first_year": 2023, "last_year": 2025},
    "prepayment": {"id": "GT.pre", "amount_cny": "0"},
    "floor_at_zero": False,
}


def miyun_rows() -> pd.DataFrame:
    chao = [("MY", "chao", 2024, m, 2.0e7, 1.8, 4 if m in (7, 8) else 3) for m in range(1, 13)]
    bai = [("MY", "bai", 2024, m, 7.5e6, 2.5, 3) for m in range(1, 13)]
    return pd.DataFrame(
        chao + bai,
        columns=[
            "agreement_id",
            "section_id",
            "year",
            "month",
            "inflow_m3",
            "tn_mg_per_l",
            "water_class",
        ],
    )


def guanting_rows(tn_2024: float) -> pd.DataFrame:
    low = (1, 2, 12)
    rows = [("GT", "", 2023, m, 6e6, 3.0, 4) for m in range(1, 13)]
    rows += [("GT", "", 2024, m, 4e6 if m in low else 6e6, tn_2024, 4) for m in range(1, 13)]
    return pd.DataFrame(rows, columns=miyun_rows().columns)


def test_miyun_phase_two_by_hand() -> None:
    lines = agreement_lines(HorizontalAgreement.model_validate(MIYUN), miyun_rows(), score=85.55)
    table = lines.set_index("rule_id")
    assert table.loc["MY.chao.q", "amount_cny"] == 4_000_000.0
    assert "mean annual inflow since 2000" in table.loc["MY.chao.q", "description"]
    assert table.loc["MY.chao.tn", "amount_cny"] == 10_000_000.0
    assert table.loc["MY.chao.cls", "amount_cny"] == -1_000_000.0
    assert table.loc["MY.bai.q", "amount_cny"] == 0.0
    assert table.loc["MY.bai.cls", "amount_cny"] == 0.0
    assert table.loc["MY.behaviour", "amount_cny"] == 8_555_000.0
    by_text = lines.set_index("description")["amount_cny"]
    assert by_text["amount due for the year"] == 21_555_000.0
    assert by_text["annual clearing (due - pre-payment; > 0 downstream pays)"] == 1_555_000.0
    funded = lines[lines["party"] != ""].set_index("party")["amount_fen"]
    assert funded.to_dict() == {
        "beijing": 969_975_000,
        "hebei": 754_425_000,
        "central": 431_100_000,
    }
    assert lines.loc[lines["rule_id"] == "MY.chao.q", "section_id"].item() == "chao"


def test_guanting_year_on_year_and_ecological_flow_by_hand() -> None:
    terms = HorizontalAgreement.model_validate(GUANTING)
    rows = guanting_rows(2.7)
    lines = agreement_lines(terms, rows[rows["year"] == 2024], rows[rows["year"] == 2023])
    table = lines.set_index("rule_id")
    assert table.loc["GT.yoy", "amount_cny"] == 1_000_000.0
    assert "no worse than last year" in table.loc["GT.yoy", "description"]
    assert table.loc["GT.flow", "amount_cny"] == -600_000.0
    due = lines.set_index("description").loc["amount due for the year", "amount_cny"]
    assert due == 400_000.0
    worse = guanting_rows(3.2)
    floored = HorizontalAgreement.model_validate({**GUANTING, "floor_at_zero": True})
    lines = agreement_lines(floored, worse[worse["year"] == 2024], worse[worse["year"] == 2023])
    amounts = lines.set_index("description")["amount_cny"]
    assert lines.set_index("rule_id").loc["GT.yoy", "amount_cny"] == -3_000_000.0
    assert amounts["amount due is not below zero (floor_at_zero)"] == 3_600_000.0
    assert amounts["amount due for the year"] == 0.0


def _config(year: int, *agreements: dict[str, Any]) -> LinkConfig:
    config = five_district_config()
    config["policy"]["year"] = year
    config["policy"]["base_year"] = year - 1
    config["inputs"] |= {"horizontal_observations": "h.csv", "horizontal_scores": "s.csv"}
    config["horizontal"] = list(agreements)
    return LinkConfig.model_validate(config)


def test_agreement_period_and_scores_through_the_table_functions() -> None:
    scores = pd.DataFrame({"agreement_id": ["MY"], "year": [2024], "score": [85.55]})
    rows = pd.concat([miyun_rows(), guanting_rows(2.7)], ignore_index=True)
    config = _config(2024, MIYUN, GUANTING)
    assert check_horizontal(config, rows, scores) == []
    lines = horizontal_lines(config, rows, scores)
    due = lines[lines["description"] == "amount due for the year"].set_index("agreement_id")
    assert due["amount_cny"].to_dict() == {"MY": 21_555_000.0, "GT": 400_000.0}
    later = horizontal_lines(_config(2026, MIYUN, GUANTING), rows, scores)
    assert later["description"].str.startswith("outside the agreement period").all()
    assert later["amount_fen"].sum() == 0


def test_missing_months_scores_and_bad_terms_are_refused() -> None:
    rows = miyun_rows()
    rows = rows[~((rows["section_id"] == "bai") & (rows["month"] == 5))]
    problems = check_horizontal(
        _config(2024, MIYUN), rows, pd.DataFrame(columns=["agreement_id", "year", "score"])
    )
    text = [f"[{p.rule_id}] {p.where}: {p.message}" for p in problems]
    assert "[MY] horizontal_observations.month: months [5] of 2024 of section 'bai' missing" in text
    assert any(t.startswith("[MY.behaviour] horizontal_scores") for t in text)
    guanting = guanting_rows(2.7)
    problems = check_horizontal(_config(2024, GUANTING), guanting[guanting["year"] == 2024])
    assert [p.message for p in problems] == [
        "months [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] of 2023 missing"
    ]
    bad = {
        **MIYUN,
        "funders": [{"party": "beijing", "share": 0.5}],
        "quantity": MIYUN["sections"][1]["quantity"] | {"id": "MY.top"},
    }
    found = check_config(_config(2024, bad))
    messages = {p.where: p.message for p in found}
    assert messages["horizontal.MY.funders"] == "shares [0.5] must be >= 0 and add up to 1"
    assert messages["horizontal.MY.sections"] == "terms both at the top level and per section"


def test_agreements_through_a_run_and_the_finance_table() -> None:
    """The Miyun and Guanting cases through compute_link (tables checked as read from CSV)."""
    from linkage.finance import fund_allocation_table
    from linkage.run import compute_link
    from tests.linkage.conftest import five_district_tables

    config = five_district_config()
    config["horizontal"] = [MIYUN, GUANTING]
    tables = five_district_tables()
    tables["horizontal_observations"] = pd.concat(
        [miyun_rows(), guanting_rows(2.7)], ignore_index=True
    )
    tables["horizontal_scores"] = pd.DataFrame(
        {"agreement_id": ["MY"], "year": [2024], "score": [85.55]}
    )
    result = compute_link(config, tables)
    lines = result.programmes["horizontal"]
    due = lines[lines["description"] == "amount due for the year"].set_index("agreement_id")
    assert due["amount_fen"].to_dict() == {"MY": 2_155_500_000, "GT": 40_000_000}
    finance = fund_allocation_table(result)
    horizontal = finance[finance["项目"] == "跨区域横向生态保护补偿"]
    rows = horizontal[horizontal["单位名称"] != "合计"].set_index("规则编号")
    total = horizontal.loc[horizontal["单位名称"] == "合计", "金额（元）"]
    assert total.tolist() == [21_955_000.0]
    assert rows.loc["MY", "金额（万元）"] == 2155.5
    assert "beijing 9,699,750.00 元" in rows.loc["MY", "说明"]
    from linkage.errors import ConfigError, InputTableError

    tables["horizontal_scores"] = tables["horizontal_scores"].assign(year=2023)
    with pytest.raises(InputTableError, match=r"\[MY.behaviour\] horizontal_scores: no"):
        compute_link(config, tables)
    del tables["horizontal_scores"]
    with pytest.raises(ConfigError, match=r"\[MY.behaviour\] inputs.horizontal_scores"):
        compute_link(config, tables)
