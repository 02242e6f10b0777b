"""Worked examples of the programmes: two-way water, horizontal agreement, forest and ledger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.config import HorizontalAgreement, LedgerConfig, LinkConfig, WaterTwoWay
from linkage.defaults import class_limits_mg_per_l, sourced
from linkage.forest import adjusted_standard, forest_claims
from linkage.horizontal import agreement_lines
from linkage.ledger import deduplicate
from linkage.water import settle_water, water_class, water_lines
from tests.linkage.conftest import ACCOUNT_COLUMNS, five_district_config

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


def forest_config() -> LinkConfig:
    config = five_district_config()
    config["forest"] = {
        "id": "FO",
        "programme": "city_forest",
        "standard": {
            "id": "FO.s",
            "review_base_year": 2019,
            "value_services": ["water_conservation"],
            "carbon_service": "carbon_sequestration",
            "weights_sum": 1.0,
            "weights": {"service_value": 0.5, "carbon_sink": 0.5},
        },
    }
    config["ledger"] = {"id": "LG", "programme_priority": ["national", "city_forest"]}
    config["inputs"]["forest_areas"] = "forest_areas.csv"
    config["inputs"]["ledger_claims"] = "ledger_claims.csv"
    return LinkConfig.model_validate(config)


def test_forest_standard_follows_value_and_carbon_growth() -> None:
    """V: 1,000,000 -> 1,100,000 (x1.10); C: 1,000 -> 1,050 t CO2 (x1.05);
    index 0.5 x 1.10 + 0.5 x 1.05 = 1.075; standard 70 x 1.075 = 75.25 CNY/mu/yr;
    a 1,000-mu parcel is paid 75,250.00 CNY."""
    rows = [
        ("A", "a", "district", "", 2019, "water_conservation", "r", 1.0, "m3", 1e6, 1e6, 2020),
        ("A", "a", "district", "", 2024, "water_conservation", "r", 1.0, "m3", 1.3e6, 1.1e6, 2020),
        (
            "A",
            "a",
            "district",
            "",
            2019,
            "carbon_sequestration",
            "r",
            1000.0,
            "t CO2 yr-1",
            0.0,
            0.0,
            2020,
        ),
        (
            "A",
            "a",
            "district",
            "",
            2024,
            "carbon_sequestration",
            "r",
            1050.0,
            "t CO2 yr-1",
            0.0,
            0.0,
            2020,
        ),
    ]
    accounts = pd.DataFrame(rows, columns=ACCOUNT_COLUMNS)
    config = forest_config()
    table = adjusted_standard(config, accounts, ["A"]).set_index("item")["value"]
    assert table["growth_index"] == pytest.approx(1.075)
    assert table["standard_cny_per_mu_yr"] == 75.25
    areas = pd.DataFrame(
        {
            "unit_id": ["A", "A"],
            "area_id": ["P1", "P2"],
            "year": 2024,
            "forest_area_mu": [1000.0, 10.5],
        }
    )
    claims = forest_claims(config, areas, 75.25)
    assert claims["amount_fen"].tolist() == [7_525_000, 79_013]  # 10.5 x 75.25 = 790.125


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
