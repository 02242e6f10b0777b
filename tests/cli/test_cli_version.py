"""`gep version`; the demo itself is run end to end in tests/e2e/test_demo.py."""

from __future__ import annotations

from typer.testing import CliRunner

from gep.cli import app


def test_version():
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert "gep 0.1.0" in result.output
