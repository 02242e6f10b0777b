"""`gep link` from the command line, on the shipped example policy."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.cli import app

EXAMPLE = Path(str(resources.files("linkage").joinpath("examples", "policy.yaml")))


def test_link_writes_the_allocation(tmp_path):
    out = tmp_path / "link"
    result = CliRunner().invoke(app, ["link", str(EXAMPLE), "--out", str(out)], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "difference 0 fen" in result.output
    names = {p.name for p in out.iterdir()}
    assert {
        "allocation.csv",
        "allocation.xlsx",
        "allocation.json",
        "allocation.schema.json",
    } <= names
    doc = json.loads((out / "allocation.json").read_text(encoding="utf-8"))
    assert doc


def test_link_refuses_a_negative_budget_before_writing(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    for p in EXAMPLE.parent.glob("*.csv"):  # the policy's tables, relative to it
        (tmp_path / p.name).write_bytes(p.read_bytes())
    bad = tmp_path / "policy.yaml"
    bad.write_text(_negate_budget(text), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["link", str(bad), "--out", str(out)], terminal_width=160)
    assert result.exit_code == 2  # bad configuration, stopped before work
    assert "budget" in result.output
    assert not out.exists()


def _negate_budget(text: str) -> str:
    assert 'amount_cny: "1000000000.00"' in text
    return text.replace('amount_cny: "1000000000.00"', 'amount_cny: "-1000000000.00"', 1)


def test_invest_command_matches_the_stored_invest_totals(tmp_path):
    case = Path(__file__).resolve().parents[1] / "regression" / "peer" / "hills_30m"
    out = tmp_path / "carbon"
    result = CliRunner().invoke(
        app,
        ["invest", "carbon", str(case / "carbon.invs.json"), "--out", str(out)],
        terminal_width=160,
    )
    assert result.exit_code == 0, result.output
    ours = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    theirs = json.loads((case / "invest" / "carbon" / "totals.json").read_text(encoding="utf-8"))
    assert ours["change_tC"] == pytest.approx(theirs["totals"]["change_tC"], rel=1e-6)
    # nested totals are printed with their keys (not read as rich markup and dropped)
    assert "valuation[discount_rate]" in result.output


def test_invest_command_refuses_an_unknown_model(tmp_path):
    result = CliRunner().invoke(app, ["invest", "pollination", str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert "pollination" in result.output
