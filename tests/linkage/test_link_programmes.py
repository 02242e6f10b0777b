"""Worked examples of the programmes: two-way water, horizontal agreement, forest and ledger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.config import HorizontalAgreement, LedgerConfig, LinkConfig, WaterTwoWay
from linkage.defaults import class_limits_mg_per_l, sourced
from linkage.forest import (
    adjusted_standard,
    check_forest,
    forest_claims,
    forest_review_problems,
)
from linkage.horizontal import agreement_lines
from linkage.ledger import deduplicate
from linkage.water import settle_water, water_class, water_lines
from tests.linkage.conftest import five_district_config

# --- two-way water: one month, three sections, Beijing 2014 default amounts -----------------

SECTIONS = pd.DataFrame(
    {
        "section_id": ["S1", "S2", "S3"],
        "upstream_unit_id": ["D1", "D2", "D4"],
        "downstream_unit_id": ["D2", "D3", "D1"],
        "target_class": [3, 2, 4],
        "water_body": ["river", "river", "river"],
    }
)
MONTH = pd.DataFrame(
    [
        ("S1", 2024, 7, "cod", 32.0, 25.0),  # class V, 2 beyond III, worse than inflow
        ("S1", 2024, 7, "nh3_n", 0.8, 1.2),  # class III = target
        ("S1", 2024, 7, "tp", 0.25, 0.30),  # class IV, 1 beyond, no worse than inflow
        ("S2", 2024, 7, "cod", 12.0, 14.0),  # class I, 1 better than II
        ("S2", 2024, 7, "nh3_n", 0.4, 0.45),  # class II = target
        ("S2", 2024, 7, "tp", 0.1, 0.1),  # class II = target (limit inclusive)
        ("S3", 2024, 7, "cod", 30.0, np.nan),  # class IV = target; water rises in D4
        ("S3", 2024, 7, "nh3_n", 2.5, np.nan),  # worse than V (6): 2 beyond IV
        ("S3", 2024, 7, "tp", 0.3, np.nan),  # class IV = target
    ],
    columns=["section_id", "year", "month", "pollutant", "outflow_mg_per_l", "inflow_mg_per_l"],
)


def two_way(**extra: object) -> WaterTwoWay:
    return WaterTwoWay.model_validate(
        {
            "id": "W",
            "deterioration": {"id": "W.det"},
            "no_worse_than_inflow": {"id": "W.in"},
            "months": [7],
            **extra,
        }
    )


def test_class_limits_follow_gb_3838() -> None:
    river = class_limits_mg_per_l("river")
    assert water_class([32.0, 0.8, 0.25, 12.0, 2.5], river["cod"])[0] == 5
    assert water_class([0.8, 2.5], river["nh3_n"]).tolist() == [3, 6]
    assert water_class([0.25, 0.1, 0.3], river["tp"]).tolist() == [4, 2, 4]
    assert water_class([0.25], class_limits_mg_per_l("lake")["tp"]).tolist() == [6]


def test_defaults_are_the_2014_amounts_with_their_source() -> None:
    full = sourced("water_two_way", "deterioration_cny_per_section_month_class")
    half = sourced("water_two_way", "no_worse_than_inflow_cny_per_section_month_class")
    assert (full.value, half.value) == (300_000, 150_000)
    assert "2014" in full.source and "30万元" in full.source and "15万元" in half.source
    assert sourced("forest", "standard_cny_per_mu_yr").value == 70
    assert sourced("forest", "previous_standard_cny_per_mu_yr").value == 40


def test_one_month_of_two_way_water_over_three_sections() -> None:
    """S1 COD: 2 classes x 300,000 = 600,000 (D1 -> D2);
    S1 TP: 1 class x 150,000 = 150,000 (outflow 0.25 <= inflow 0.30; D1 -> D2);
    S2 COD: 1 class better x 100,000 = 100,000 (municipal -> D2, two-way rule);
    S3 NH3-N: 6 - 4 = 2 classes x 300,000 = 600,000 (no inflow: full rate; D4 -> D1).
    Net: D1 -750,000 + 600,000 = -150,000; D2 +850,000; D3 0; D4 -600,000; city -100,000."""
    water = two_way(
        improvement={
            "id": "W.up",
            "amount_per_class_cny": "100000",
            "payer": "municipal",
            "require_no_worse_than_inflow": True,
        }
    )
    lines = water_lines(water, 2024, SECTIONS, MONTH)
    got = lines[
        ["section_id", "pollutant", "rule_id", "classes", "payer", "receiver", "amount_cny"]
    ].values.tolist()
    assert got == [
        ["S1", "cod", "W.det", 2, "D1", "D2", 600_000.0],
        ["S1", "tp", "W.in", 1, "D1", "D2", 150_000.0],
        ["S2", "cod", "W.up", 1, "municipal", "D2", 100_000.0],
        ["S3", "nh3_n", "W.det", 2, "D4", "D1", 600_000.0],
    ]
    settled = settle_water(lines, ["D1", "D2", "D3", "D4"])
    assert settled["net_cny"].to_dict() == {
        "D1": -150_000.0,
        "D2": 850_000.0,
        "D3": 0.0,
        "D4": -600_000.0,
        "municipal": -100_000.0,
    }
    assert settled["net_fen"].sum() == 0


def test_one_way_rules_pay_no_reward_and_pollutants_add_up() -> None:
    lines = water_lines(two_way(), 2024, SECTIONS, MONTH)
    assert "W.up" not in set(lines["rule_id"])
    both = MONTH.copy()
    both.loc[both["pollutant"] == "nh3_n", "outflow_mg_per_l"] = 1.4  # S1: IV, +1 class
    s1 = water_lines(two_way(), 2024, SECTIONS, both).query("section_id == 'S1'")
    assert s1["amount_cny"].sum() == 600_000 + 300_000 + 150_000


def test_surcharge_and_downstream_payer() -> None:
    water = two_way(
        worse_than_class_v={"id": "W.v", "amount_cny": "50000"},
        improvement={
            "id": "W.up",
            "amount_per_class_cny": "80000",
            "payer": "downstream",
            "require_no_worse_than_inflow": False,
        },
    )
    lines = water_lines(water, 2024, SECTIONS, MONTH).set_index("rule_id")
    assert lines.loc["W.v", "amount_cny"] == 50_000 and lines.loc["W.v", "payer"] == "D4"
    assert (lines.loc["W.up", "payer"], lines.loc["W.up", "receiver"]) == ("D3", "D2")


# --- horizontal agreement -------------------------------------------------------------------


def agreement(**override: object) -> HorizontalAgreement:
    terms = {
        "id": "H",
        "name": "template",
        "upstream_party": "up",
        "downstream_party": "down",
        "quantity": {"id": "H.q", "mean_inflow_m3": 1.0e8, "reward_cny_per_m3": "0.05"},
        "nitrogen": {
            "id": "H.n",
            "baseline_tn_mg_per_l": 2.0,
            "reward_cny_per_percent": "500000",
            "mean": "arithmetic",
        },
        "quality": {"id": "H.c", "target_class": 3, "deduction_cny_per_month": "1000000"},
        "prepayment": {"id": "H.p", "amount_cny": "5000000"},
        "floor_at_zero": True,
    }
    return HorizontalAgreement.model_validate({**terms, **override})


YEAR = pd.DataFrame(
    {
        "month": range(1, 13),
        "inflow_m3": 1.0e7,
        "tn_mg_per_l": [1.5] * 6 + [1.7] * 6,
        "water_class": [2, 3, 3, 4, 3, 3, 2, 4, 3, 3, 3, 3],
    }
)


def test_horizontal_agreement_year() -> None:
    """Quantity: (12 x 1e7 - 1e8) m3 x 0.05 = 1,000,000; TN: mean 1.6 vs 2.0 = 20 % x 500,000
    = 10,000,000; quality: 2 months class IV x 1,000,000 = -2,000,000; due 9,000,000;
    clearing 9,000,000 - 5,000,000 = 4,000,000 paid by the downstream party."""
    lines = agreement_lines(agreement(), YEAR)
    amounts = dict(zip(lines["description"].str[:20], lines["amount_cny"], strict=True))
    assert lines["amount_cny"].iloc[:3].tolist() == [1_000_000.0, 10_000_000.0, -2_000_000.0]
    assert amounts["amount due for the y"] == 9_000_000.0
    assert lines["amount_cny"].iloc[-1] == 4_000_000.0
    assert lines["rule_id"].tolist() == ["H.q", "H.n", "H.c", "H", "H.p", "H"]


def test_horizontal_due_floored_at_zero_and_refund() -> None:
    """Low inflow and TN above baseline earn nothing; 12 missed months x 1,000,000 would make
    the due negative: it is floored at 0, so the upstream party refunds the 5,000,000."""
    bad = YEAR.assign(inflow_m3=1.0e6, tn_mg_per_l=2.5, water_class=5)
    lines = agreement_lines(agreement(), bad)
    assert lines["amount_cny"].iloc[:3].tolist() == [0.0, 0.0, -12_000_000.0]
    assert lines["amount_cny"].iloc[-1] == -5_000_000.0
    flow = agreement(
        nitrogen={
            "id": "H.n",
            "baseline_tn_mg_per_l": 2.0,
            "reward_cny_per_percent": "500000",
            "mean": "flow_weighted",
        }
    )
    weighted = YEAR.assign(inflow_m3=[3.0e7] * 6 + [1.0e7] * 6)  # mean (3x1.5 + 1.7)/4 = 1.55
    assert agreement_lines(flow, weighted)["amount_cny"].iloc[1] == pytest.approx(11_250_000.0)


# --- forest standard and the de-duplication ledger ------------------------------------------


def forest_config(**standard: object) -> LinkConfig:
    config = five_district_config()
    config["forest"] = {
        "id": "FO",
        "programme": "city_forest",
        "standard": {
            "id": "FO.s",
            "review_base_year": 2019,
            "weights_sum": 1.0,
            "weights": {
                "resource_total": 0.25,
                "service_value": 0.25,
                "carbon_sink": 0.25,
                "development": 0.25,
            },
            **standard,
        },
    }
    config["ledger"] = {"id": "LG", "programme_priority": ["national", "city_forest"]}
    config["inputs"]["forest_areas"] = "forest_areas.csv"
    config["inputs"]["forest_factors"] = "forest_factors.csv"
    config["inputs"]["ledger_claims"] = "ledger_claims.csv"
    return LinkConfig.model_validate(config)


def forest_factors(**in_2024: float) -> pd.DataFrame:
    """2019: area 1,000,000 mu, value 1e9 CNY, sink 1,000 t, income 60,000 CNY; 2024: given."""
    base = {
        "resource_total": 1_000_000.0,
        "service_value": 1e9,
        "carbon_sink": 1000.0,
        "development": 60_000.0,
    }
    rows = [(2019, k, v) for k, v in base.items()] + [(2024, k, v) for k, v in in_2024.items()]
    return pd.DataFrame(rows, columns=["year", "factor", "value"]).assign(
        value_unit="u", source="test"
    )


GROWTH = {
    "resource_total": 1_020_000.0,
    "service_value": 1.1e9,
    "carbon_sink": 1050.0,
    "development": 78_000.0,
}


def test_forest_standard_follows_the_four_factors_of_article_four() -> None:
    """2019 -> 2024 (a review year, 5 years on): area x1.02, value x1.10, sink x1.05, income
    x1.30; index 0.25 (1.02 + 1.10 + 1.05 + 1.30) = 1.1175; standard 70 x 1.1175 = 78.225
    -> 78.23 CNY/mu/yr (half up); a 1,000-mu parcel is paid 78,230.00 CNY."""
    config = forest_config()
    table = adjusted_standard(config, forest_factors(**GROWTH)).set_index("item")["value"]
    assert table["growth_index"] == pytest.approx(1.1175)
    assert table["development_growth"] == pytest.approx(1.3)
    assert table["standard_cny_per_mu_yr"] == 78.23
    areas = pd.DataFrame(
        {
            "unit_id": ["A", "A"],
            "area_id": ["P1", "P2"],
            "year": 2024,
            "forest_area_mu": [1000.0, 10.5],
        }
    )
    claims = forest_claims(config, areas, 78.23)
    assert claims["amount_fen"].tolist() == [7_823_000, 82_142]  # 10.5 x 78.23 = 821.415


def test_forest_standard_does_not_fall_unless_the_policy_says_so() -> None:
    """Every factor x0.9: index 0.9, candidate 63.00; kept at 70 unless allow_decrease."""
    shrink = {"resource_total": 900_000.0, "service_value": 9e8, "carbon_sink": 900.0}
    shrink["development"] = 54_000.0
    kept = adjusted_standard(forest_config(), forest_factors(**shrink)).set_index("item")
    assert kept.loc["candidate_standard_cny_per_mu_yr", "value"] == 63.0
    assert kept.loc["standard_cny_per_mu_yr", "value"] == 70.0
    assert "not below the current standard" in kept.loc["standard_cny_per_mu_yr", "source"]
    lowered = adjusted_standard(forest_config(allow_decrease=True), forest_factors(**shrink))
    assert lowered.set_index("item").loc["standard_cny_per_mu_yr", "value"] == 63.0


def test_forest_standard_changes_only_in_review_years() -> None:
    """Last review 2021, interval 5: 2024 keeps the current 75.00; a 2018 review is overdue."""
    config = forest_config(review_base_year=2021, current_cny_per_mu_yr="75.00")
    table = adjusted_standard(config, forest_factors()).set_index("item")
    assert table.loc["standard_cny_per_mu_yr", "value"] == 75.0
    assert "not a review year (next review 2026)" in table.loc["standard_cny_per_mu_yr", "source"]
    assert "growth_index" not in table.index
    overdue = forest_config(review_base_year=2018)
    problems = list(forest_review_problems(overdue.forest.standard, 2024))
    assert problems and "a review of the standard was due in 2023" in problems[0].message
    assert "review_base_year to 2023" in problems[0].hint


def test_forest_factors_missing_in_a_review_year_are_refused() -> None:
    config = forest_config()
    factors = forest_factors(**{k: v for k, v in GROWTH.items() if k != "carbon_sink"})
    empty = pd.DataFrame(columns=["unit_id"])
    problems = check_forest(config, pd.DataFrame({"unit_id": ["A"]}), empty, factors)
    assert [p.where for p in problems] == ["forest_factors.factor"]
    assert "no ['carbon_sink'] for 2024" in problems[0].message


def test_ledger_pays_one_programme_per_area_service_year() -> None:
    claims = pd.DataFrame(
        {
            "unit_id": ["A", "A", "A", "A"],
            "area_id": ["P1", "P1", "P2", "P1"],
            "service": ["forest", "forest", "forest", "forest"],
            "year": [2024, 2024, 2024, 2023],
            "programme": ["city_forest", "national", "city_forest", "city_forest"],
            "amount_fen": [100, 60, 50, 40],
        }
    )
    out = deduplicate(claims, LedgerConfig(id="LG", programme_priority=["national", "city_forest"]))
    paid = out.set_index(["area_id", "year", "programme"])["paid_fen"].to_dict()
    assert paid == {
        ("P1", 2023, "city_forest"): 40,
        ("P1", 2024, "national"): 60,
        ("P1", 2024, "city_forest"): 0,
        ("P2", 2024, "city_forest"): 50,
    }
    rejected = out[out["status"] == "rejected"]
    assert rejected[["paid_by", "rule_id"]].values.tolist() == [["national", "LG"]]
    assert (
        out.groupby(["unit_id", "area_id", "service", "year"])["paid_fen"]
        .apply(lambda s: (s > 0).sum())
        .max()
        == 1
    )
