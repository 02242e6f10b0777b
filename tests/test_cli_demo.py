"""`gep demo` on the embedded sample region, as a user runs it."""

from __future__ import annotations

from typer.testing import CliRunner

from gep.cli import app


def test_demo_prints_the_sample_summary():
    result = CliRunner().invoke(app, ["demo"], terminal_width=160)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "beijing-sample" in out
    assert "603 × 599 cells of 300 × 300 m" in out
    assert "EPSG:32650" in out
    assert "349" in out and "16" in out  # townships and districts
    assert "forest" in out and "built_up" in out
    assert "SYNTHETIC INPUTS" in out
    assert "no problem found" in out


def test_version():
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert "gep 0.1.0" in result.output
