"""Worked example computed by hand: five districts, a quality tilt, reverse linkage and a cap.

Budget B = 1,000,000.00 CNY = 100,000,000 fen.

Base factor (area only):      areas 100, 200, 300, 150, 250 (sum 1000)
                              F = 0.10, 0.20, 0.30, 0.15, 0.25
Level tilt (min-max 0..100, beta 0.5, reference 0.5):
                              quality 50, 90, 70, 30, 50 -> s = 0.5, 0.9, 0.7, 0.3, 0.5
                              T_L = 1 + 0.5 (s - 0.5) = 1.0, 1.2, 1.1, 0.9, 1.0
                              W = F T_L = 0.10, 0.24, 0.33, 0.135, 0.25   (sum 1.055)
Reverse linkage (damage min-max 0..10, lower is better, rho = 0.2):
                              damage 0, 0, 5, 0, 10 -> s = 1, 1, 0.5, 1, 0
                              r = 0.2 (1 - s) = 0, 0, 0.1, 0, 0.2
                              W' = W (1 - r) = 0.10, 0.24, 0.297, 0.135, 0.20   (sum 0.972)
Proportional B W'/sum W' (CNY): 102,880.66  246,913.58  305,555.56  138,888.89  205,761.32
Bounds: last year 100,000 240,000 250,000 140,000 200,000; floor 0.9x, cap 1.1x
                              caps 110,000 264,000 275,000 154,000 220,000
                              C (305,555.56) is above its cap -> C = 275,000.00
                              the other four share 725,000 by W' (sum 0.675):
                              lambda = 725,000 / 0.675 = 1,074,074.074...
                              A = 107,407.4074  B = 257,777.7778  D = 145,000.0000
                              E = 214,814.8148  (all within floor and cap)
Fen (largest remainder): floors 10,740,740 + 25,777,777 + 27,500,000 + 14,500,000
                              + 21,481,481 = 99,999,998; 2 fen left go to the largest
                              remainders B (.78) and A (.74):
                              A 10,740,741  B 25,777,778  C 27,500,000  D 14,500,000  E 21,481,481
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from linkage.run import compute_link, read_link
from tests.linkage.conftest import five_district_config, five_district_tables, write_case

EXPECTED_FEN = {"A": 10_740_741, "B": 25_777_778, "C": 27_500_000, "D": 14_500_000, "E": 21_481_481}


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("worked")
    return compute_link(
        *read_link(write_case(folder, five_district_config(), five_district_tables()))
    )


def test_amounts_match_the_hand_computation(worked) -> None:
    table = worked.allocation.set_index("unit_id")
    assert table["amount_fen"].to_dict() == EXPECTED_FEN
    assert table["amount_fen"].sum() == 100_000_000
    assert table.loc["C", "bound"] == "cap"
    assert (table.drop("C")["bound"] == "").all()


def test_coefficients_match_the_hand_computation(worked) -> None:
    table = worked.allocation.set_index("unit_id")
    assert table["base_factor"].tolist() == pytest.approx([0.10, 0.20, 0.30, 0.15, 0.25])
    assert table["level_tilt"].tolist() == pytest.approx([1.0, 1.2, 1.1, 0.9, 1.0])
    assert table["deduction_share"].tolist() == pytest.approx([0.0, 0.0, 0.1, 0.0, 0.2])
    assert table["effective_weight"].tolist() == pytest.approx([0.10, 0.24, 0.297, 0.135, 0.20])
    # proportional quota of A: 1e8 fen x 0.10 / 0.972
    assert table.loc["A", "proportional_fen"] == pytest.approx(1e8 * 0.10 / 0.972)
    assert table.loc["C", "coefficient"] == pytest.approx(0.275)


def test_rule_lines_of_the_capped_district(worked) -> None:
    """C: 300,000 base; +12,796.2085 level (0.33/1.055 x 1e6 - 300,000);
    -31,279.6209 deduction (0.1 x 312,796.2085); +24,038.9679 redistribution
    (305,555.5556 - 281,516.5877); -30,555.5556 cap; 0 rounding -> 275,000.00."""
    lines = worked.audit[worked.audit["unit_id"] == "C"]
    assert lines["rule_id"].tolist() == ["D.F", "D.L", "D.R", "D.R", "D.C", "D.rounding"]
    expected = [300000.0, 12796.2085, -31279.6209, 24038.9679, -30555.5556]
    assert lines["contribution_cny"].iloc[:5].tolist() == pytest.approx(expected, abs=2e-4)
    assert lines["running_total_cny"].iloc[-1] == 275000.0


def test_rule_lines_add_up_to_each_amount_exactly(worked) -> None:
    for unit, lines in worked.audit.groupby("unit_id"):
        total = sum(Decimal(repr(v)) for v in lines["contribution_cny"])
        assert total == Decimal(EXPECTED_FEN[unit]) / 100


def test_uncapped_district_receives_its_share_of_the_cut(worked) -> None:
    """D: 145,000.00 = 0.135 x 725,000 / 0.675; its bounds line is
    145,000 - 138,888.8889 = +6,111.1111."""
    lines = worked.audit[(worked.audit["unit_id"] == "D") & (worked.audit["rule_id"] == "D.C")]
    assert lines["contribution_cny"].iloc[0] == pytest.approx(6111.1111, abs=1e-4)
