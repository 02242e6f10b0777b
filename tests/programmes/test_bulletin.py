"""Bulletins: one Markdown and one HTML page per unit; the numbers are those of the accounts."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest

from gep.bulletin import bulletin_facts, write_bulletins
from tests.accounts.conftest import _fast_config

ACCOUNTS = [
    # unit, name, level, parent, year, service, component, quantity, price current, factor
    ("D1", "怀柔区", "district", "110000", 2015, "water", "storage", 100.0, 2.0, 1.0),
    ("D1", "怀柔区", "district", "110000", 2020, "water", "storage", 120.0, 3.0, 1.0),
    ("D1", "怀柔区", "district", "110000", 2015, "carbon", "co2", 10.0, 50.0, 1.0),
    ("D1", "怀柔区", "district", "110000", 2020, "carbon", "co2", 8.0, 60.0, 1.0),
    ("T1", "汤河口镇", "township", "D1", 2015, "water", "storage", 100.0, 2.0, 1.0),
    ("T1", "汤河口镇", "township", "D1", 2020, "water", "storage", 120.0, 3.0, 1.0),
    ("T1", "汤河口镇", "township", "D1", 2015, "carbon", "co2", 10.0, 50.0, 1.0),
    ("T1", "汤河口镇", "township", "D1", 2020, "carbon", "co2", 8.0, 60.0, 1.0),
]


def _accounts() -> pd.DataFrame:
    frame = pd.DataFrame(
        ACCOUNTS,
        columns=[
            "unit_id",
            "unit_name",
            "level",
            "parent_id",
            "year",
            "service",
            "component",
            "quantity",
            "price_current_cny",
            "factor",
        ],
    )
    constant = {"water": 3.0, "carbon": 60.0}  # prices of the base year 2020
    frame["value_current_cny"] = frame["quantity"] * frame["price_current_cny"]
    frame["value_constant_cny"] = frame["quantity"] * frame["service"].map(constant)
    frame["price_year"] = 2020
    return frame


def test_worked_bulletin_numbers() -> None:
    """2020 at constant (= current) prices: water 120 x 3 = 360, carbon 8 x 60 = 480, GEP 840
    (water 42.9 %, carbon 57.1 %). 2015 at constant prices: 100 x 3 + 10 x 60 = 900, so the
    constant-price change is -60 (water +60, carbon -120: carbon drives it).
    Current prices: 2015 = 100 x 2 + 10 x 50 = 700; change 840 - 700 = 140 = volume effect
    2 x 20 + 50 x (-2) = -60 plus price effect 120 x 1 + 8 x 10 = 200."""
    allocation = pd.DataFrame({"unit_id": ["D1"], "stage": ["district"], "amount_fen": [123_456]})
    ledger = pd.DataFrame(
        {
            "unit_id": ["D1", "D1", "T1"],
            "programme": ["cropland_protection", "beijing_mountain_forest", "cropland_protection"],
            "status": ["accepted", "rejected", "accepted"],
            "paid_fen": [5_000, 0, 700],
        }
    )
    facts = {f.unit_id: f for f in bulletin_facts(_accounts(), allocation, {"ledger": ledger})}
    d1 = facts["D1"]
    assert (d1.gep_constant, d1.gep_current, d1.change_constant) == (840.0, 840.0, -60.0)
    assert d1.decomposition is not None
    assert d1.decomposition["volume_effect_cny"] == pytest.approx(-60.0)
    assert d1.decomposition["price_effect_cny"] == pytest.approx(200.0)
    assert d1.decomposition["change_cny"] == pytest.approx(140.0)
    assert d1.compensation == [
        ("GEP-linked eco-conservation compensation (district stage)", 123_456),
        ("cropland protection compensation", 5_000),
    ]
    assert facts["T1"].compensation == [("cropland protection compensation", 700)]


def test_one_page_per_unit_with_the_accounts_numbers(tmp_path: Path) -> None:
    written = write_bulletins(_accounts(), None, None, tmp_path, synthetic_note="SYNTHETIC")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "district/D1.html",
        "district/D1.md",
        "township/T1.html",
        "township/T1.md",
    ]
    md = (tmp_path / "district" / "D1.md").read_text(encoding="utf-8")
    assert "怀柔区" in md and "SYNTHETIC" in md
    assert "| GEP at constant prices of 2020 | 840.00 CNY |" in md
    assert "| carbon | 480.00 | 57.1% |" in md and "| water | 360.00 | 42.9% |" in md
    drivers = md.split("Main drivers")[1]
    assert drivers.index("carbon") < drivers.index("water")  # |-120| before |+60|
    html = (tmp_path / "township" / "T1.html").read_text(encoding="utf-8")
    assert "汤河口镇" in html and "840.00 CNY" in html and "<!DOCTYPE html>" in html


@pytest.fixture(scope="module")
def sample_accounts() -> pd.DataFrame:
    from gep.pipeline import run_accounts

    return run_accounts(_fast_config())[1].accounts


def test_every_district_and_township_of_the_sample_fast(
    sample_accounts: pd.DataFrame, tmp_path: Path
) -> None:
    start = time.perf_counter()
    written = write_bulletins(sample_accounts, None, None, tmp_path, synthetic_note=None)
    elapsed = time.perf_counter() - start
    units = sample_accounts.drop_duplicates("unit_id")
    assert len(written) == 2 * len(units) == 2 * (16 + 349)
    assert elapsed < 5.0, f"{elapsed:.1f} s for {len(written)} files"
    gep = (
        sample_accounts[sample_accounts["year"] == 2020]
        .groupby("unit_id")["value_constant_cny"]
        .sum()
    )
    for unit in units.sample(20, random_state=1).itertuples():
        text = (tmp_path / unit.level / f"{unit.unit_id}.md").read_text(encoding="utf-8")
        shown = re.search(r"GEP at constant prices of 2020 \| ([\d,.-]+) CNY", text)
        assert shown is not None
        assert float(shown.group(1).replace(",", "")) == pytest.approx(gep[unit.unit_id], abs=0.005)
