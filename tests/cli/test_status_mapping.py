"""Every command maps an interrupt, a termination and an unexpected error to its exit status.

The subprocess tests (``test_exit_status.py``) send real signals to real runs; these check the
same mapping for every command in-process, by making the function each command calls raise.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.cli import app
from gep.cli.status import Terminated
from gep.io.atomic import RunFailedError

EXAMPLE = Path(__file__).resolve().parents[2] / "linkage" / "examples" / "policy.yaml"
DEMO = Path(__file__).resolve().parents[2] / "gep" / "configs" / "demo.yaml"

#: command line → the function it calls (patched to raise)
COMMANDS = {
    "run": (["run", str(DEMO)], "gep.cli.run_view.execute"),
    "demo": (["demo", "--quiet"], "gep.cli.run_view.execute"),
    "validate": (["validate", str(DEMO)], "gep.validate.validate_run"),
    "link": (["link", str(EXAMPLE)], "linkage.run.run_link"),
    "invest": (["invest", "carbon", str(DEMO)], "gep.invest.run.run_invest"),
    "occupation": (
        ["occupation", str(DEMO), "--config", str(DEMO)],
        "gep.occupation.run_occupation",
    ),
    "calibrate": (["calibrate", str(DEMO)], "gep.calibration_cli.run_calibration"),
    "sensitivity": (["sensitivity", str(DEMO)], "gep.analysis.commands.run_sensitivity"),
    "uncertainty": (["uncertainty", str(DEMO)], "gep.analysis.commands.run_uncertainty"),
}


def _raiser(exc: BaseException):
    def raise_it(*args, **kwargs):
        raise exc

    return raise_it


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (KeyboardInterrupt(), 130, "interrupted"),
        (Terminated(), 143, "terminated"),
        (RuntimeError("an unexpected bug"), 3, "internal error"),
        (RunFailedError(Path("out"), OSError("Permission denied")), 3, "not written"),
        (RunFailedError(Path("out"), OSError(28, "No space left on device")), 3, "TMPDIR"),
    ],
)
def test_every_command_maps_errors_to_statuses(
    monkeypatch, tmp_path, command, exc, status, message
):
    args, target = COMMANDS[command]
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{name}", _raiser(exc))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == status, result.output
    assert message in result.output


def test_a_calibration_that_fails_its_gates_exits_1(monkeypatch, tmp_path):
    failed = {"mode": "fit", "passed": False, "status": "FAILED (calibration NSE -7.77 < 0)"}
    monkeypatch.setattr("gep.calibration_cli.run_calibration", lambda *a, **k: failed)
    result = CliRunner().invoke(app, ["calibrate", str(DEMO)])
    assert result.exit_code == 1, result.output
    assert "plausibility gates" in result.output
    passed = {**failed, "passed": True, "status": "passed"}
    monkeypatch.setattr("gep.calibration_cli.run_calibration", lambda *a, **k: passed)
    assert CliRunner().invoke(app, ["calibrate", str(DEMO)]).exit_code == 0


def test_a_store_that_cannot_take_the_run_gives_a_warning(tmp_path, capsys):
    """The run's outputs are complete: the store's refusal is a warning, not a failed run."""
    from gep.cli.store import record_run

    unfinished = tmp_path / "not-a-run"
    unfinished.mkdir()
    record_run(unfinished, tmp_path / "store.duckdb", enabled=True)  # does not raise
    err = capsys.readouterr().err
    assert "was not added to the accounts store" in err and "gep store append" in err
    record_run(unfinished, tmp_path / "other.duckdb", enabled=False)
    assert not (tmp_path / "other.duckdb").exists()


def test_a_full_disk_says_where_the_scratch_goes_and_what_was_left(monkeypatch, tmp_path):
    """ENOSPC from GDAL (text only) or from Python (errno) names TMPDIR and the folder."""
    from rasterio.errors import RasterioIOError

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    gdal = RasterioIOError("TIFFAppendToStrip:Write error at scanline 0; No space left on device")
    for cause in (gdal, OSError(28, "No space left on device")):
        monkeypatch.setattr("gep.cli.run_view.execute", _raiser(RunFailedError(Path("out"), cause)))
        result = CliRunner().invoke(app, ["run", str(DEMO)])
        assert result.exit_code == 3, result.output
        text = " ".join(result.output.split())
        assert "disk filled up" in text and str(tmp_path) in text and "TMPDIR" in text
        assert "out was not written" in text
