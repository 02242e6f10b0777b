"""Worked examples by hand of the cropland, transfer and evaluation programmes (issue 9).

The case: five districts A-E of ``tests/programmes/conftest.py``; policy year 2024.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from linkage.errors import ConfigError, InputTableError
from linkage.programmes.cropland import M2_PER_MU, mu_from_m2
from linkage.programmes.transfer import grade_ei_change
from linkage.run import LinkResult, compute_link, read_link
from tests.linkage.conftest import write_case
from tests.programmes.conftest import (
    CROPLAND,
    EVALUATION,
    LEDGER,
    TRANSFER,
    programme_config,
    programme_tables,
)


def _run(tmp_path: Path, **sections: object) -> LinkResult:
    return compute_link(
        *read_link(write_case(tmp_path, programme_config(**sections), programme_tables()))
    )


def _paid(result: LinkResult, programme: str) -> dict[str, int]:
    frame = result.programmes[programme].set_index("unit_id")["amount_fen"]
    return {str(k): int(v) for k, v in frame.items()}


def _lines_add_up(result: LinkResult, name: str, summary: str) -> None:
    lines, table = result.programmes[name], result.programmes[summary]
    for unit, amount in zip(table["unit_id"], table["amount_fen"], strict=True):
        own = lines[lines["unit_id"] == unit]
        total = sum((Decimal(repr(v)) for v in own["contribution_cny"]), Decimal(0))
        assert total == Decimal(int(amount)) / 100, unit


def test_the_mu_is_exactly_ten_thousand_fifteenths_of_a_square_metre() -> None:
    assert M2_PER_MU == Fraction(2000, 3)  # 666.666... m2, printed 666.67
    assert mu_from_m2(10_000.0) == 15  # 1 ha = 15 mu
    # the rounded 666.67 m2 is 666.67 x 15 / 10000 = 1.000005 mu, not 1 mu
    assert mu_from_m2(666.67) == Fraction(200_001, 200_000)


def test_cropland_worked_example(tmp_path: Path) -> None:
    """Standard 2024: 300 CNY per mu; deduction 600 CNY per mu lost to construction.

    A: 1,000,000 m2 x 15/10000 = 1500 mu x 300 = 450,000.00; x 1.1 = 495,000.00 (+45,000.00);
       lost 20,000 m2 = 30 mu x 600 = 18,000.00  -> 477,000.00
    B: 2,000 m2 = 3 mu x 300 = 900.00; x 0.9 = 810.00 (-90.00); lost 10,000 m2 = 15 mu x 600
       = 9,000.00 -> -8,190.00, not below zero -> 0
    C: 1,234,567.8 m2 = 1,851.8517 mu x 300 = 555,555.51; factor 1.0; nothing lost -> 555,555.51
    D: 500,000 m2 = 750 mu x 300 = 225,000.00, but the national pilot (first in the ledger's
       priority) already pays D's cropland: 0 (the pilot is paid 12,345.67)
    E: no cropland -> 0
    """
    result = _run(tmp_path, cropland=CROPLAND, ledger=LEDGER)
    assert _paid(result, "cropland") == {
        "A": 47_700_000,
        "B": 0,
        "C": 55_555_551,
        "D": 0,
        "E": 0,
    }
    entitled = result.programmes["cropland"].set_index("unit_id")["entitlement_fen"]
    assert entitled["D"] == 22_500_000
    lines = result.programmes["cropland_lines"]
    a = lines[lines["unit_id"] == "A"][["rule_id", "contribution_cny"]].values.tolist()
    assert a == [["CL.standard", 450_000.0], ["CL.quality", 45_000.0], ["CL.loss", -18_000.0]]
    b = lines[lines["unit_id"] == "B"]["rule_id"].tolist()
    assert b == ["CL.standard", "CL.quality", "CL.loss", "CL"]
    assert lines[lines["unit_id"] == "D"]["rule_id"].tolist()[-1] == "LG"
    _lines_add_up(result, "cropland_lines", "cropland")
    ledger = result.programmes["ledger"].set_index(["unit_id", "programme"])
    assert ledger.loc[("D", "national_cropland"), "paid_fen"] == 1_234_567
    allocation = result.allocation.set_index("unit_id")
    assert allocation["cropland_fen"].to_dict() == _paid(result, "cropland")


def test_hj_192_grades_of_the_eco_environment_index_change() -> None:
    """HJ 192-2015: |dEI| < 1 none, [1, 3) slight, [3, 8) obvious, >= 8 significant."""
    assert grade_ei_change(0.999) == ("none", "")
    assert grade_ei_change(1.0) == ("slight", "better")
    assert grade_ei_change(-2.999) == ("slight", "worse")
    assert grade_ei_change(3.0) == ("obvious", "better")
    assert grade_ei_change(-7.99) == ("obvious", "worse")
    assert grade_ei_change(-8.0) == ("significant", "worse")


def test_transfer_worked_example(tmp_path: Path) -> None:
    """Coefficient 0.05 (C: 0.08 from its row); 10,000 CNY per km2 and 300,000 per zone.

    A: gap 1e9 - 6e8 = 4e8 x 0.05 = 20,000,000.00; 120.5 km2 x 10,000 = 1,205,000.00;
       2 zones x 300,000 = 600,000.00; guidance 250,000.00; subsidy 22,055,000.00;
       dEI = 50 - 46 = +4: obvious improvement, reward 5 % = 1,102,750.00 -> 23,157,750.00
    B: gap 5e8 - 6e8 < 0 -> 0; guidance 100,000.00; dEI = 90 - 91.5 = -1.5: slight
       deterioration, penalty 10 % = -10,000.00 -> 90,000.00
    C: gap 1e8 x 0.08 = 8,000,000.00; dEI = 70 - 79 = -9: significant, fixed penalty
       10,000,000.00 -> -2,000,000.00, not below zero -> 0
    D: gap 1e8 x 0.05 = 5,000,000.00; dEI = -0.5: no obvious change -> 5,000,000.00
    E: no gap -> 0
    """
    result = _run(tmp_path, transfer=TRANSFER)
    assert _paid(result, "transfer") == {
        "A": 2_315_775_000,
        "B": 9_000_000,
        "C": 0,
        "D": 500_000_000,
        "E": 0,
    }
    table = result.programmes["transfer"].set_index("unit_id")
    assert table.loc["A", "subsidy_fen"] == 2_205_500_000
    assert table["ei_grade"].tolist() == ["obvious", "slight", "significant", "none", "none"]
    lines = result.programmes["transfer_lines"]
    assert lines[lines["unit_id"] == "A"]["rule_id"].tolist() == [
        "KT.key",
        "KT.zones",
        "KT.zones",
        "KT.guidance",
        "KT.ei",
    ]
    assert lines[lines["unit_id"] == "C"]["contribution_cny"].tolist() == [
        8_000_000.0,
        0.0,
        0.0,
        0.0,
        -10_000_000.0,
        2_000_000.0,
    ]
    _lines_add_up(result, "transfer_lines", "transfer")


def test_performance_scales_next_years_transfer(tmp_path: Path) -> None:
    """Scores of 2023, weights a 60 %, b 40 %, reference 80, floor 0.8, cap 1.2.

    A: 0.6 x 90 + 0.4 x 100 = 94 -> 94/80 = 1.175: 23,157,750.00 x 1.175 = 27,210,356.25
    B: 50 -> 0.625 -> floor 0.8: 90,000.00 x 0.8 = 72,000.00
    C: 100 -> 1.25 -> cap 1.2: 0 x 1.2 = 0
    D: 80 -> 1.0: 5,000,000.00;  E: 0.6 x 70 + 0.4 x 90 = 78 -> 0.975: 0
    """
    result = _run(tmp_path, transfer=TRANSFER, evaluation=EVALUATION)
    factors = result.programmes["performance"].set_index("unit_id")
    assert factors["score"].tolist() == pytest.approx([94.0, 50.0, 100.0, 80.0, 78.0])
    assert factors["factor"].tolist() == pytest.approx([1.175, 0.8, 1.2, 1.0, 0.975])
    assert _paid(result, "transfer") == {
        "A": 2_721_035_625,
        "B": 7_200_000,
        "C": 0,
        "D": 500_000_000,
        "E": 0,
    }
    _lines_add_up(result, "transfer_lines", "transfer")


def test_transfer_budget_closes_to_the_fen(tmp_path: Path) -> None:
    """Budget 10,000,000.01 CNY shared in proportion to entitlement x factor:
    A 27,210,356.25, B 72,000.00, D 5,000,000.00 (sum 32,282,356.25) scaled by
    10,000,000.01 / 32,282,356.25; largest remainders close the sum to the fen."""
    transfer = {**TRANSFER, "budget": {"id": "KT.budget", "amount_cny": "10000000.01"}}
    result = _run(tmp_path, transfer=transfer, evaluation=EVALUATION)
    paid = _paid(result, "transfer")
    assert sum(paid.values()) == 1_000_000_001
    exact = Fraction(1_000_000_001, 3_228_235_625)
    for unit, weight in {"A": 2_721_035_625, "B": 7_200_000, "D": 500_000_000}.items():
        assert abs(paid[unit] - exact * weight) < 1
    assert paid["C"] == paid["E"] == 0
    _lines_add_up(result, "transfer_lines", "transfer")


def test_awards_worked_example(tmp_path: Path) -> None:
    """D: demonstration zone obtained in 2024, fixed 1,000,000.00. Pool 900,000.00 over the
    weights of the designations obtained: A two-mountains base (2), B soil-water county (1):
    A 600,000.00, B 300,000.00. E holds the demonstration zone since 2020: not paid again."""
    result = _run(tmp_path, evaluation=EVALUATION, transfer=TRANSFER)
    awards = result.allocation.set_index("unit_id")["award_fen"].to_dict()
    assert awards == {"A": 60_000_000, "B": 30_000_000, "C": 0, "D": 100_000_000, "E": 0}
    lines = result.programmes["award_lines"]
    assert lines[["unit_id", "rule_id", "contribution_cny"]].values.tolist() == [
        ["A", "EV.two", 600_000.0],
        ["B", "EV.soil", 300_000.0],
        ["D", "EV.demo", 1_000_000.0],
    ]


def test_ledger_rejection_moves_the_pool_to_the_other_designation(tmp_path: Path) -> None:
    """Another programme already awards A's two-mountains base: B's share becomes the pool."""
    tables = programme_tables()
    tables["ledger_claims"] = pd.DataFrame(
        {
            "unit_id": ["A"],
            "area_id": ["two_mountains"],
            "service": ["demonstration_award"],
            "year": [2024],
            "programme": ["ministry_award"],
            "amount_cny": [500_000.0],
        }
    )
    ledger = {**LEDGER, "programme_priority": ["ministry_award", *LEDGER["programme_priority"]]}
    config = programme_config(evaluation=EVALUATION, transfer=TRANSFER, ledger=ledger)
    result = compute_link(*read_link(write_case(tmp_path, config, tables)))
    awards = result.allocation.set_index("unit_id")["award_fen"]
    assert awards["A"] == 0 and awards["B"] == 90_000_000


def test_bad_programme_inputs_are_refused_with_rule_ids(tmp_path: Path) -> None:
    cropland = {**CROPLAND, "standard": {"id": "CL.standard", "cny_per_mu_yr": {2023: "280"}}}
    with pytest.raises(InputTableError, match=r"\[CL.standard\].*no standard for 2024"):
        _run(tmp_path / "a", cropland=cropland)
    config = programme_config(cropland=CROPLAND)
    del config["inputs"]["cropland_areas"]
    with pytest.raises(ConfigError, match=r"\[CL\] inputs.cropland_areas"):
        compute_link(*read_link(write_case(tmp_path / "b", config, programme_tables())))
    tables = programme_tables()
    tables["designations"].loc[0, "designation"] = "unknown_title"
    with pytest.raises(InputTableError, match=r"\[EV.awards\].*unknown_title"):
        compute_link(
            *read_link(
                write_case(
                    tmp_path / "c",
                    programme_config(evaluation=EVALUATION, transfer=TRANSFER),
                    tables,
                )
            )
        )
    missing = programme_tables()
    missing["indicators"] = missing["indicators"][missing["indicators"]["year"] == 2024]
    with pytest.raises(InputTableError, match=r"\[KT.ei\].*both years"):
        compute_link(
            *read_link(write_case(tmp_path / "d", programme_config(transfer=TRANSFER), missing))
        )
