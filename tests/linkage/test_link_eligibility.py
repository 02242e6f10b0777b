"""Eligibility (§(九)) and reverse linkage within the eligible group, computed by hand.

Four districts, budget B = 1,000,000.00 CNY = 100,000,000 fen; base factor: area only;
reverse linkage on damage (min-max 0..10, lower is better, rho = 0.2); townships share half of
their district's amount by area. Eligibility rule E: P listed (whole); Q's townships take part
when their mountain share is >= 0.5 (q1 0.8 yes, q2 0.3 no, q3 0.5 yes); R and S do not take
part (their damage is the worst: under the old rule they would be cut and the cut shared by
everyone).

District stage (P and Q only):
    areas  P 300 (p1 120 + p2 180);  Q: q1 100 + q3 150 = 250 (q2's 250 left out)
    F = 300/550, 250/550;  damage P 0, Q 5 -> s = 1, 0.5 -> r = 0, 0.1
    a = B F: P 545,454.5455  Q 454,545.4545
    cut  Q: 0.1 x 454,545.4545 = 45,454.5455, shared by P and Q by what they keep
         (545,454.5455 and 409,090.9091, sum 954,545.4545):
         P +25,974.0260, Q +19,480.5195
    P 571,428.5714, Q 428,571.4286 (= B x 300/525, B x 225/525)
    fen: 57,142,857.14 and 42,857,142.86 -> floors sum 99,999,999, the fen left goes to Q
    P 57,142,857  Q 42,857,143
Township stage (envelope = half, rounded half up):
    P: 28,571,429 -> p1 0.4 x = 11,428,571.6, p2 0.6 x = 17,142,857.4 -> p1 11,428,572,
       p2 17,142,857
    Q: 21,428,572 -> q1 0.4 x = 8,571,428.8, q3 0.6 x = 12,857,143.2 -> q1 8,571,429,
       q3 12,857,143
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from linkage.errors import ConfigError, InputTableError
from linkage.run import compute_link
from tests.linkage.conftest import ACCOUNT_COLUMNS

AREAS = {"P": 300.0, "Q": 500.0, "R": 400.0, "S": 600.0}
TOWNS = {"p1": ("P", 120.0), "p2": ("P", 180.0), "q1": ("Q", 100.0), "q2": ("Q", 250.0)}
TOWNS |= {"q3": ("Q", 150.0), "r1": ("R", 400.0), "s1": ("S", 600.0)}
SHARES = {"q1": 0.8, "q2": 0.3, "q3": 0.5, "Q": 0.46, "P": 0.9, "R": 0.2, "S": 0.1}
DAMAGE = {"P": 0.0, "Q": 5.0, "R": 10.0, "S": 10.0}

RULE = {
    "id": "E",
    "article": "§(九)",
    "description": "生态涵养区",
    "units": ["P"],
    "area": {
        "id": "E.mountain",
        "area_id": "mountain",
        "area_name": "山区",
        "minimum_share": 0.5,
        "applies_to": ["Q"],
    },
}


def config(eligibility: dict[str, Any] | None = RULE) -> dict[str, Any]:
    """The policy of the module docstring (``eligibility`` replaced or removed)."""
    districts: dict[str, Any] = {
        "id": "D",
        "budget": {"id": "D.budget", "amount_cny": "1000000.00"},
        "base_factors": {"id": "D.F", "weights_sum": 1.0, "weights": {"area_km2": 1.0}},
        "reverse_linkage": {"id": "D.R", "indicator": "damage", "max_deduction_share": 0.2},
    }
    if eligibility is not None:
        districts["eligibility"] = copy.deepcopy(eligibility)
    return {
        "schema_version": 1,
        "policy": {"id": "eligible", "title": "conservation area", "year": 2024, "base_year": 2023},
        "indicators": [
            {
                "id": "damage",
                "kind": "eco_damaging_industry",
                "direction": "lower_is_better",
                "value_unit": "%",
                "normalisation": {"method": "min_max", "lower": 0, "upper": 10},
            }
        ],
        "districts": districts,
        "townships": {
            "id": "T",
            "envelope": {"id": "T.envelope", "share_of_district_allocation": 0.5},
            "base_factors": {"id": "T.F", "weights_sum": 1.0, "weights": {"area_km2": 1.0}},
        },
    }


def tables() -> dict[str, pd.DataFrame]:
    """Accounts, base factors, damage indicator and mountain shares of every unit."""
    units = [(d, "district", "110000") for d in AREAS] + [
        (t, "township", p) for t, (p, _) in TOWNS.items()
    ]
    accounts = pd.DataFrame(
        [
            (u, f"unit {u}", level, parent, y, "water", "regulating", 1.0, "m3", 10.0, 10.0, 2020)
            for u, level, parent in units
            for y in (2023, 2024)
        ],
        columns=ACCOUNT_COLUMNS,
    )
    area = AREAS | {t: a for t, (_, a) in TOWNS.items()}
    base = pd.DataFrame(
        {
            "unit_id": list(area),
            "area_km2": list(area.values()),
            "population_persons": 1.0,
            "ecological_land_km2": 1.0,
        }
    )
    indicators = pd.DataFrame(
        [(d, 2024, "damage", v, "%") for d, v in DAMAGE.items()],
        columns=["unit_id", "year", "indicator", "value", "value_unit"],
    )
    shares = pd.DataFrame(
        {
            "unit_id": list(SHARES),
            "area_id": "mountain",
            "share": list(SHARES.values()),
            "source": "DEM >= 100 m (test)",
        }
    )
    return {
        "accounts": accounts,
        "base_factors": base,
        "indicators": indicators,
        "area_shares": shares,
    }


@pytest.fixture(scope="module")
def result():
    return compute_link(config(), tables())


def test_only_the_eligible_units_are_paid_to_the_fen(result) -> None:
    amounts = result.allocation.set_index("unit_id")["amount_fen"].to_dict()
    assert amounts == {
        "P": 57_142_857,
        "Q": 42_857_143,
        "p1": 11_428_572,
        "p2": 17_142_857,
        "q1": 8_571_429,
        "q3": 12_857_143,
        **{unit: 0 for unit in ("R", "S", "q2", "r1", "s1")},
    }
    # townships share the two envelopes, each rounded half up: 28,571,429 + 21,428,572
    assert result.allocation["amount_fen"].sum() == 100_000_000 + 50_000_001


def test_units_left_out_have_a_zero_row_and_their_reason(result) -> None:
    lines = result.audit.set_index("unit_id")
    assert lines.loc["q2", "description"] == (
        "does not take part (§(九)): mountain share 0.3000 < 0.5 (E.mountain)"
    )
    assert lines.loc["q2", "coefficient"] == 0.3 and lines.loc["q2", "contribution_cny"] == 0.0
    assert lines.loc["R", "rule_id"] == "E" and lines.loc["R", "stage"] == "district"
    assert "3 districts" not in result.summary
    assert "2 districts and 4 townships" in result.summary
    assert "5 units do not take part under E (§(九))" in result.summary


def test_partial_district_takes_its_eligible_townships_base_factors(result) -> None:
    table = result.allocation.set_index("unit_id")
    assert table.loc["Q", "base_factor"] == pytest.approx(250 / 550)
    assert table.loc["Q", "deduction_share"] == pytest.approx(0.1)
    assert table.loc["Q", "township_envelope_fen"] == 21_428_572


def test_eligibility_table_states_rule_basis_and_share(result) -> None:
    table = result.programmes["eligibility"].set_index("unit_id")
    assert table.loc[["P", "Q", "R", "S"], "part"].tolist() == ["whole", "part", "", ""]
    assert table.loc[["q1", "q2", "q3"], "eligible"].tolist() == [True, False, True]
    assert table.loc["q2", "basis"] == "mountain share 0.3000 < 0.5 (E.mountain)"
    assert table.loc["q3", "basis"] == "mountain share 0.5000 >= 0.5 (E.mountain)"
    assert table.loc["p1", "basis"] == "its district takes part whole"
    assert table.loc["r1", "basis"] == "its district does not take part"
    assert (table["article"] == "§(九)").all() and (table["rule_id"] == "E").all()
    assert table.loc["q1", "area_share"] == 0.8


def test_reverse_linkage_pool_stays_within_the_eligible_group(result) -> None:
    lines = result.audit[(result.audit["stage"] == "district")]
    q = lines[lines["unit_id"] == "Q"]
    assert q["rule_id"].tolist() == ["E", "D.F", "D.R", "D.R", "D.rounding"]
    assert q["contribution_cny"].iloc[1:4].tolist() == pytest.approx(
        [454_545.4545, -45_454.5455, 19_480.5195], abs=1e-4
    )
    assert "among the 2 units of this group taking part" in q["description"].iloc[3]
    assert "['q1', 'q3'] summed" in q["description"].iloc[0]
    assert q["coefficient"].iloc[0] == 0.46
    p = lines[lines["unit_id"] == "P"]
    assert p["contribution_cny"].iloc[1:4].tolist() == pytest.approx(
        [545_454.5455, 0.0, 25_974.0260], abs=1e-4
    )


def test_rule_lines_add_up_to_each_amount(result) -> None:
    amounts = result.allocation.set_index("unit_id")["amount_fen"]
    for unit, lines in result.audit.groupby("unit_id"):
        total = sum(Decimal(repr(v)) for v in lines["contribution_cny"])
        assert total == Decimal(int(amounts[unit])) / 100


def test_without_the_rule_everyone_is_paid_and_cut() -> None:
    """No rule: F by area over 1800 km2; r = 0, 0.1, 0.2, 0.2; W' = 300, 450, 320, 480 (/1800);
    B W'/sum W' (sum 1550): P 193,548.3871  Q 290,322.5806  R 206,451.6129  S 309,677.4194."""
    amounts = compute_link(config(None), tables()).allocation.set_index("unit_id")["amount_fen"]
    assert amounts[["P", "Q", "R", "S"]].tolist() == [
        19_354_839,
        29_032_258,
        20_645_161,
        30_967_742,
    ]


def test_eligible_by_level_is_everyone_stated() -> None:
    rule = {"id": "E", "article": "§(九)", "levels": ["district"]}
    with_level = compute_link(config(rule), tables()).allocation.set_index("unit_id")
    without = compute_link(config(None), tables()).allocation.set_index("unit_id")
    assert with_level["amount_fen"].to_dict() == without["amount_fen"].to_dict()


def test_districts_tested_on_their_own_share() -> None:
    """Without applies_to: P (0.9) passes, Q (0.46), R (0.2), S (0.1) do not; P gets all."""
    rule = {
        "id": "E",
        "article": "§(九)",
        "area": {"id": "E.mountain", "area_id": "mountain", "minimum_share": 0.5},
    }
    result = compute_link(config(rule), tables())
    amounts = result.allocation.set_index("unit_id")["amount_fen"]
    assert amounts[["P", "p1", "p2"]].tolist() == [100_000_000, 20_000_000, 30_000_000]
    assert set(amounts.index[amounts > 0]) == {"P", "p1", "p2"}


def test_missing_share_is_refused_before_work() -> None:
    given = tables()
    given["area_shares"] = given["area_shares"][given["area_shares"]["unit_id"] != "q3"]
    with pytest.raises(InputTableError, match=r"\[E.mountain\] area_shares.unit_id.*'q3'"):
        compute_link(config(), given)
    del given["area_shares"]
    with pytest.raises(InputTableError, match=r"\[E.mountain\] inputs.area_shares"):
        compute_link(config(), given)


def test_unknown_listed_district_and_bad_share_are_refused() -> None:
    rule = copy.deepcopy(RULE)
    rule["units"] = ["P", "X"]
    given = tables()
    given["area_shares"].loc[0, "share"] = 1.5
    with pytest.raises(InputTableError, match=r"\[E\] eligibility.units: \['X'\]"):
        compute_link(config(rule), tables())
    with pytest.raises(InputTableError, match=r"\[E.mountain\] area_shares.share: shares above 1"):
        compute_link(config(), given)


def test_in_memory_config_shape_errors_name_the_rule() -> None:
    bad = config()
    bad["districts"]["eligibility"]["area"]["minimum_share"] = "most"
    with pytest.raises(ConfigError, match=r"\[E.mountain\]"):
        compute_link(bad, tables())


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ({"id": "E", "article": "§(九)"}, r"\[E\] districts.eligibility: no unit list"),
        (
            {
                "id": "E",
                "article": "§(九)",
                "area": {"id": "E.m", "area_id": "mountain", "minimum_share": 0.0},
            },
            r"\[E.m\] districts.eligibility.area.minimum_share: expected a share in \(0, 1\]",
        ),
    ],
)
def test_meaningless_rules_are_refused_before_any_table(rule: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        compute_link(config(rule), {})


def test_outputs_carry_the_eligibility_table_and_every_units_lines(result, tmp_path) -> None:
    import json

    import jsonschema

    from linkage.export import write_outputs

    written = write_outputs(result, tmp_path)
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(written["schema"].read_text(encoding="utf-8")))
    units = {u["unit_id"]: u for u in document["units"]}
    assert units["q2"]["amount_fen"] == 0
    assert units["q2"]["rule_lines"][0]["rule_id"] == "E"
    assert len(document["programmes"]["eligibility"]) == 11
    sheets = pd.read_excel(written["xlsx"], sheet_name=None)
    assert "eligibility" in sheets
