"""`gep link` from the command line, on the shipped example policy."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

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
    assert result.exit_code == 1
    assert "budget" in result.output
    assert not out.exists()


def _negate_budget(text: str) -> str:
    assert 'amount_cny: "1000000000.00"' in text
    return text.replace('amount_cny: "1000000000.00"', 'amount_cny: "-1000000000.00"', 1)
