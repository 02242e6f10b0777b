"""``run_calibration`` on the sample region writes the whole report; bad configs fail early."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from data_catalog.catalog import load_catalog
from gep.calibration import CalibrationError
from gep.calibration_cli import run_calibration
from gep.config import load_run_config

CONFIG = Path(__file__).resolve().parents[2] / "gep" / "configs" / "calibrate_sample.yaml"


def test_sample_calibration_writes_the_report(tmp_path):
    out = run_calibration(CONFIG, tmp_path / "report")
    files = out["outputs"]
    for name in (
        "fitted_parameters",
        "observations",
        "statistics",
        "plot",
        "parameter_table",
        "catalog",
        "run_config",
        "summary",
    ):
        assert files[name].exists(), name
    assert files["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    z = out["parameters"]["seasonality"]
    low, high = out["ci"]["seasonality"]
    assert 1 < low < z < high < 30
    assert out["statistics"]["nse"] > 0.9  # synthetic runoff is P − ET with 5 % noise
    table = pd.read_csv(files["parameter_table"])
    row = table[(table["ecosystem_type"] == "all") & (table["parameter"] == "seasonality")]
    assert row["value"].iloc[0] == pytest.approx(z)
    assert row["confidence"].iloc[0] == "user supplied"
    assert row["source"].iloc[0].startswith("calibrated by gep")
    assert "G1, G2, G3, G4" in row["source"].iloc[0]
    # the next run uses it: the calibrated catalog passes its checks and the run config loads
    cat = load_catalog(files["catalog"])
    assert cat.check() == []
    assert cat.table("parameters").set_index(["ecosystem_type", "parameter"]).loc[
        ("all", "seasonality"), "value"
    ] == pytest.approx(z)
    run = load_run_config(files["run_config"])
    assert run.services["water_yield"]["seasonality"] == pytest.approx(z, abs=1e-6)
    assert "NSE" in files["summary"].read_text(encoding="utf-8")


def _config(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict):
            raw[key].update(value)
        else:
            raw[key] = value
    path = tmp_path / "calibrate.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_wrong_unit_is_refused(tmp_path):
    path = _config(
        tmp_path, observations={"value_column": "observed_runoff_m3", "value_unit": "m3 yr-1"}
    )
    with pytest.raises(CalibrationError, match="value_unit is 'm3 yr-1'.*mm yr-1"):
        run_calibration(path, tmp_path / "out")


def test_unknown_column_and_target_are_refused(tmp_path):
    with pytest.raises(CalibrationError, match="columns \\['runoff'\\] not found"):
        run_calibration(_config(tmp_path, observations={"value_column": "runoff"}), tmp_path / "o")
    with pytest.raises(CalibrationError, match="target"):
        run_calibration(_config(tmp_path, target="evaporation"), tmp_path / "o")
