"""The synthetic example (linkage/examples/policy.yaml) with the programmes of issue 9."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from linkage.run import LinkResult, run_link
from tests.linkage.conftest import EXAMPLE


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> LinkResult:
    return run_link(EXAMPLE, tmp_path_factory.mktemp("programmes"))


def test_every_programme_line_adds_up_to_its_amount(example: LinkResult) -> None:
    for lines, table in (
        ("cropland_lines", "cropland"),
        ("transfer_lines", "transfer"),
        ("award_lines", "awards"),
    ):
        frame = example.programmes[lines]
        amounts = example.programmes[table].groupby("unit_id")["amount_fen"].sum()
        for unit, amount in amounts.items():
            own = frame[frame["unit_id"] == unit]["contribution_cny"]
            assert sum((Decimal(repr(v)) for v in own), Decimal(0)) == Decimal(int(amount)) / 100


def test_budget_and_pool_close_and_columns_match_the_ledger(example: LinkResult) -> None:
    transfer = example.programmes["transfer"]
    assert int(transfer["amount_fen"].sum()) == 40_000_000_000  # 400,000,000.00 CNY
    awards = example.programmes["awards"]
    assert int(awards.loc[awards["mode"] == "pool", "amount_fen"].sum()) == 600_000_000
    ledger = example.programmes["ledger"]
    allocation = example.allocation.set_index("unit_id")
    for column, programme in (
        ("cropland_fen", "cropland_protection"),
        ("transfer_fen", "key_ecological_function_area_transfer"),
        ("award_fen", "demonstration_awards"),
    ):
        paid = ledger[ledger["programme"] == programme].groupby("unit_id")["paid_fen"].sum()
        assert allocation.loc[paid.index, column].tolist() == paid.tolist()
    accepted = ledger[ledger["status"] == "accepted"]
    assert not accepted.duplicated(["unit_id", "area_id", "service", "year"]).any()
    # T0102's cropland is paid by the national pilot (first in priority), not twice
    t0102 = ledger[(ledger["unit_id"] == "T0102") & (ledger["area_id"] == "cropland")]
    assert t0102.set_index("programme")["paid_fen"].to_dict() == {
        "cropland_protection": 0,
        "national_cropland_pilot": 150_000_000,
    }


def test_json_holds_the_programmes_and_matches_the_schema(example: LinkResult) -> None:
    document = json.loads(Path(example.outputs["json"]).read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(Path(example.outputs["schema"]).read_text()))
    rules = {line["rule_id"] for line in document["programmes"]["transfer_lines"]}
    assert {"KT.key", "KT.prohibited", "KT.guidance", "EV.performance", "KT.budget"} <= rules
    units = {u["unit_id"]: u for u in document["units"]}
    assert units["D03"]["award_fen"] == 500_000_000  # fixed bonus, demonstration zone
