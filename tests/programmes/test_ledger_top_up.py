"""Ledger top-up mode (§(七)): a later programme pays the difference to what was paid before.

The cropland case of ``test_worked_programmes``: D is entitled to 750 mu x 300 = 225,000.00
CNY of cropland protection; the national pilot, first in the priority, pays 12,345.67 on the
same cropland. Priority mode: the cropland programme pays D nothing. Top-up mode: it pays
225,000.00 - 12,345.67 = 212,654.33 (21,265,433 fen), so D receives Beijing's standard once.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from linkage.config import LedgerConfig
from linkage.errors import ConfigError
from linkage.ledger import deduplicate
from linkage.run import compute_link
from tests.programmes.conftest import CROPLAND, LEDGER, TRANSFER, programme_config, programme_tables

TOP_UP = {**LEDGER, "top_up": ["cropland_protection"]}


def _cropland(ledger: dict[str, object], claim_cny: float = 12_345.67):
    tables = programme_tables()
    tables["ledger_claims"]["amount_cny"] = claim_cny
    return compute_link(programme_config(cropland=CROPLAND, ledger=ledger), tables)


def test_top_up_pays_the_difference_to_the_fen() -> None:
    result = _cropland(TOP_UP)
    paid = result.programmes["cropland"].set_index("unit_id")["amount_fen"]
    assert paid.to_dict() == {"A": 47_700_000, "B": 0, "C": 55_555_551, "D": 21_265_433, "E": 0}
    ledger = result.programmes["ledger"].set_index(["unit_id", "programme"])
    assert ledger.loc[("D", "cropland_protection"), "status"] == "topped_up"
    assert ledger.loc[("D", "cropland_protection"), "paid_fen"] == 21_265_433
    assert ledger.loc[("D", "national_cropland"), "paid_fen"] == 1_234_567
    lines = result.programmes["cropland_lines"]
    d = lines[lines["unit_id"] == "D"]
    assert d["rule_id"].tolist() == ["CL.standard", "CL.quality", "CL.loss", "LG"]
    assert d["contribution_cny"].iloc[-1] == -12_345.67
    assert sum(Decimal(repr(v)) for v in d["contribution_cny"]) == Decimal("212654.33")
    assert result.allocation.set_index("unit_id").loc["D", "cropland_fen"] == 21_265_433


def test_priority_mode_pays_nothing_and_a_larger_first_payment_leaves_nothing() -> None:
    priority = _cropland(LEDGER).programmes["cropland"].set_index("unit_id")
    assert priority.loc["D", "amount_fen"] == 0
    covered = _cropland(TOP_UP, claim_cny=300_000.0).programmes
    assert covered["cropland"].set_index("unit_id").loc["D", "amount_fen"] == 0
    ledger = covered["ledger"].set_index(["unit_id", "programme"])
    assert ledger.loc[("D", "cropland_protection"), "status"] == "rejected"


def test_three_programmes_top_up_in_turn() -> None:
    """Central 500, district 650 (top-up: 150), city 900 (top-up: 900 - 650 = 250)."""
    claims = pd.DataFrame(
        {
            "unit_id": "t1",
            "area_id": "p1",
            "service": "forest",
            "year": 2024,
            "programme": ["city", "central", "district"],
            "amount_fen": [900, 500, 650],
        }
    )
    rule = LedgerConfig(
        id="LG", programme_priority=["central", "district", "city"], top_up=["district", "city"]
    )
    out = deduplicate(claims, rule)
    assert out[["programme", "status", "paid_fen"]].values.tolist() == [
        ["central", "accepted", 500],
        ["district", "topped_up", 150],
        ["city", "topped_up", 250],
    ]
    assert int(out["paid_fen"].sum()) == 900


def test_top_up_of_a_pooled_programme_is_refused() -> None:
    ledger = {**LEDGER, "top_up": ["key_ecological_function_area_transfer", "unknown"]}
    config = programme_config(transfer=TRANSFER, ledger=ledger)
    with pytest.raises(ConfigError) as caught:
        compute_link(config, programme_tables())
    text = str(caught.value)
    assert "[LG] ledger.top_up: programmes ['unknown'] are not in programme_priority" in text
    assert "share a budget or pool after the ledger and cannot top up" in text
