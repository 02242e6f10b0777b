"""End to end on the synthetic example: outputs, their consistency, atomic writing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import openpyxl
import pandas as pd
import pytest

import linkage.export
from linkage.errors import InputTableError
from linkage.run import LinkResult, compute_link, read_link, run_link, summary_rows
from tests.linkage.conftest import EXAMPLE, five_district_config, five_district_tables, write_case


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> LinkResult:
    return run_link(EXAMPLE, tmp_path_factory.mktemp("out"))


def test_writes_the_four_files_and_nothing_else(example_run: LinkResult) -> None:
    folder = example_run.outputs["csv"].parent
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "allocation.csv",
        "allocation.json",
        "allocation.schema.json",
        "allocation.xlsx",
    ]


def test_budget_closure_districts_then_townships(example_run: LinkResult) -> None:
    table = pd.read_csv(example_run.outputs["csv"], dtype={"parent_id": str})
    districts = table[table["stage"] == "district"].set_index("unit_id")
    townships = table[table["stage"] == "township"]
    assert len(districts) == 5 and len(townships) == 12
    assert districts["amount_fen"].sum() == 100_000_000_000  # 1,000,000,000.00 CNY
    per_district = townships.groupby("group_id")["amount_fen"].sum()
    assert per_district.to_dict() == districts["township_envelope_fen"].to_dict()
    # 60 % of each district's amount, half-up to the fen
    expected = (districts["amount_fen"] * 6 + 5) // 10
    assert (districts["township_envelope_fen"] == expected).all()
    assert (
        districts["retained_fen"] + districts["township_envelope_fen"] == districts["amount_fen"]
    ).all()
    assert (table["amount_fen"] >= 0).all()
    assert (table["amount_fen"] >= table["floor_fen"]).all()
    assert (table["amount_fen"] <= table["cap_fen"]).all()
    assert (townships["parent_id"] == townships["group_id"]).all()


def test_rule_lines_reproduce_every_amount(example_run: LinkResult) -> None:
    audit, allocation = example_run.audit, example_run.allocation
    for (stage, unit), lines in audit.groupby(["stage", "unit_id"]):
        row = allocation[(allocation["stage"] == stage) & (allocation["unit_id"] == unit)]
        total = sum(Decimal(repr(v)) for v in lines["contribution_cny"])
        assert total == Decimal(int(row["amount_fen"].iloc[0])) / 100
        assert lines["step"].tolist() == list(range(1, len(lines) + 1))
    district_rules = audit.loc[audit["stage"] == "district", "rule_id"].unique().tolist()
    assert district_rules == ["D.F", "D.L", "D.I", "D.G", "D.R", "D.C", "D.rounding"]


def test_json_matches_its_schema_and_the_csv(example_run: LinkResult) -> None:
    document = json.loads(example_run.outputs["json"].read_text(encoding="utf-8"))
    schema = json.loads(example_run.outputs["schema"].read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    assert document["budget"]["amount_fen"] == 100_000_000_000
    amounts = {(u["stage"], u["unit_id"]): u["amount_fen"] for u in document["units"]}
    table = pd.read_csv(example_run.outputs["csv"])
    assert amounts == {
        (s, u): a for s, u, a in table[["stage", "unit_id", "amount_fen"]].itertuples(index=False)
    }
    defaults = {d["name"]: d for d in document["defaults_used"]}
    # 2024 is under the 2022 water rules: no sourced amount, the example gives its own
    assert not any(name.startswith("water_two_way") for name in defaults)
    lines = pd.DataFrame(document["programmes"]["water_lines"])
    assert set(lines["rule_set"]) == {"beijing-2022"}
    assert lines["amount_source"].str.startswith("policy input").all()
    assert defaults["forest.standard_cny_per_mu_yr"]["value"] == 70
    assert set(document["programmes"]) == {
        "water_lines",
        "water_settlement",
        "horizontal",
        "forest_standard",
        "ledger",
        "cropland",
        "cropland_lines",
        "transfer",
        "transfer_lines",
        "performance",
        "awards",
        "award_lines",
    }


def test_schema_rejects_a_negative_amount(example_run: LinkResult) -> None:
    document = json.loads(example_run.outputs["json"].read_text(encoding="utf-8"))
    document["units"][0]["amount_fen"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, linkage.export.allocation_schema())


def test_workbook_sheets_hold_numbers_as_numbers(example_run: LinkResult) -> None:
    book = openpyxl.load_workbook(example_run.outputs["xlsx"], read_only=True)
    assert book.sheetnames[:4] == ["inputs", "scores", "rule lines", "result"]
    result = book["result"]
    header = [c.value for c in next(result.iter_rows(min_row=1, max_row=1))]
    first = [c for c in next(result.iter_rows(min_row=2, max_row=2))]
    for column in ("amount_fen", "amount_cny", "coefficient", "base_factor"):
        cell = first[header.index(column)]
        assert isinstance(cell.value, int | float), column
    lines = book["rule lines"]
    contribution = [c.value for c in next(lines.iter_rows(min_row=2, max_row=2))][7]
    assert isinstance(contribution, float)
    book.close()


def test_programme_columns(example_run: LinkResult) -> None:
    allocation = example_run.allocation.set_index(["stage", "unit_id"])
    settlement = example_run.programmes["water_settlement"].set_index("party")
    for district in ("D01", "D02", "D03", "D04", "D05"):
        assert (
            allocation.loc[("district", district), "water_two_way_net_fen"]
            == settlement.loc[district, "net_fen"]
        )
    ledger = example_run.programmes["ledger"]
    forest = ledger[ledger["programme"] == "beijing_mountain_forest"]
    assert allocation["forest_fen"].sum() == forest["paid_fen"].sum()
    assert (
        ledger.groupby(["unit_id", "area_id", "service", "year"])["paid_fen"].apply(
            lambda s: int((s > 0).sum())
        )
        <= 1
    ).all()


def test_summary_for_the_command_line(example_run: LinkResult) -> None:
    assert "difference 0 fen" in example_run.summary
    rows = summary_rows(example_run)
    assert len(rows) == 17
    assert rows[0][0].startswith("D01") and rows[1][0].startswith("  T0101")
    total = sum(Decimal(r[2].replace(",", "")) for r in rows if not r[0].startswith(" "))
    assert total == Decimal("1000000000.00")


def test_a_failed_write_leaves_earlier_outputs_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_case(tmp_path / "case", five_district_config(), five_district_tables())
    out = tmp_path / "out"
    run_link(path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(linkage.export, "_write_xlsx", broken)
    with pytest.raises(OSError, match="disk full"):
        run_link(path, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    fresh = tmp_path / "fresh"
    with pytest.raises(OSError):
        run_link(path, fresh)
    assert list(fresh.iterdir()) == []


def test_inputs_relative_to_the_config_and_default_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_case(tmp_path / "case", five_district_config(), five_district_tables())
    monkeypatch.chdir(tmp_path)
    result = run_link(path.relative_to(tmp_path))
    assert result.outputs["csv"] == tmp_path / "gep-link-output" / "allocation.csv"


def test_mixed_constant_price_years_are_refused(tmp_path: Path) -> None:
    tables = five_district_tables()
    tables["accounts"].loc[tables["accounts"]["year"] == 2023, "price_year"] = 2015
    path = write_case(tmp_path, five_district_config(), tables)
    with pytest.raises(InputTableError, match=r"\[gep_indicators\] accounts.price_year"):
        compute_link(*read_link(path))
