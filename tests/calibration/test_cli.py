"""``run_calibration`` on the sample region: the whole report, the gates, bad configs refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from data_catalog.catalog import load_catalog
from gep.calibration import CalibrationError
from gep.calibration_cli import run_calibration
from gep.config import load_run_config

CONFIG = Path(__file__).resolve().parents[2] / "gep" / "configs" / "calibrate_sample.yaml"

WRITE_BACK = ("parameter_table", "catalog", "run_config")


def test_sample_calibration_writes_the_report(tmp_path):
    out = run_calibration(CONFIG, tmp_path / "report")
    files = out["outputs"]
    for name in (
        "fitted_parameters",
        "correlation",
        "observations",
        "statistics",
        "gates",
        "coverage",
        "leave_one_gauge_out",
        "plot",
        *WRITE_BACK,
        "summary",
    ):
        assert files[name].exists(), name
    assert files["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out["passed"] and out["gate_failures"] == []
    assert out["status"] == "passed every gate"
    z = out["parameters"]["seasonality"]
    low, high = out["ci"]["seasonality"]
    assert 1 < low < z < high < 30
    assert out["statistics"]["nse"] > 0.9  # synthetic runoff is P − ET with 5 % noise
    assert out["statistics"]["n_observations"] == 4  # 2015 calibrates
    assert out["validation"]["n_observations"] == 4  # 2020 validates
    assert out["validation"]["nse"] > 0.9
    stats = pd.read_csv(files["statistics"]).set_index("statistic")
    assert list(stats.columns) == ["calibration", "validation"]
    assert stats.loc["nse", "validation"] == pytest.approx(out["validation"]["nse"])
    periods = pd.read_csv(files["observations"])["period"]
    assert sorted(set(periods)) == ["calibration", "validation"]
    logo = pd.read_csv(files["leave_one_gauge_out"])
    assert sorted(logo["gauge"]) == ["G1", "G2", "G3", "G4"]
    coverage = pd.read_csv(files["coverage"])
    assert (coverage["valid_fraction"] > 0.99).all()
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
    summary = files["summary"].read_text(encoding="utf-8")
    assert "Status: PASSED" in summary and "| nse |" in summary
    # the shipped valuation does not value water yield: the report says Z changes no GEP
    assert out["gep_components"].startswith("none")


def _config(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    raw["leave_one_gauge_out"] = False
    for key, value in changes.items():
        if key != "bounds" and isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    path = tmp_path / "calibrate.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _assert_not_written_back(out: dict) -> None:
    assert not out["passed"]
    for name in WRITE_BACK:
        assert name not in out["outputs"], name
    folder = out["outputs"]["summary"].parent
    assert not (folder / "run_calibrated.yaml").exists()
    assert not (folder / "parameters_calibrated.csv").exists()
    assert "Status: FAILED" in out["outputs"]["summary"].read_text(encoding="utf-8")


def test_runoff_volume_declared_as_depth_fails_the_gates(tmp_path):
    """m³ declared as mm: NSE −7.8, Z on its bound, runoff ≫ P — reported, nothing written."""
    path = _config(tmp_path, observations={"value_column": "observed_runoff_m3"})
    out = run_calibration(path, tmp_path / "out")
    _assert_not_written_back(out)
    assert out["status"].startswith("FAILED (nothing written back): nse_not_negative")
    failed = {f.split(":")[0] for f in out["gate_failures"]}
    assert failed == {"nse_not_negative", "no_parameter_on_bound", "runoff_below_precipitation"}
    assert "G1 2015" in next(f for f in out["gate_failures"] if f.startswith("runoff_below"))


def test_negative_nse_runoff_coefficients_fail_unless_forced(tmp_path):
    """The default runoff-coefficient fit (NSE ≈ −4.7) writes no α unless forced."""
    out = run_calibration(
        _config(tmp_path, target="runoff_coefficients", bounds={}), tmp_path / "a"
    )
    _assert_not_written_back(out)
    assert any(f.startswith("nse_not_negative") for f in out["gate_failures"])
    assert "water_conservation/reservoir_storage" in out["gep_components"]
    forced = run_calibration(
        _config(tmp_path, target="runoff_coefficients", bounds={}, force=True), tmp_path / "b"
    )
    assert not forced["passed"]
    assert forced["outputs"]["parameter_table"].exists()


def test_evaluate_only_mode(tmp_path):
    """Given Z = 7.3 evaluated on 2015 (and predicted on 2020): statistics, no fit, no write."""
    path = _config(tmp_path, mode="evaluate", parameter_values={"seasonality": 7.3})
    out = run_calibration(path, tmp_path / "out")
    assert out["mode"] == "evaluate" and not out["passed"]
    assert out["parameters"] == {"seasonality": 7.3}
    assert out["statistics"]["nse"] > 0.9 and out["validation"]["nse"] > 0.9
    assert "parameter_table" not in out["outputs"] and "fitted_parameters" not in out["outputs"]


def test_posterior_and_multi_year_mean_from_the_config(tmp_path):
    path = _config(
        tmp_path,
        calibration_years=None,
        validation_years=None,
        error_model={"multi_year_mean": True},
        posterior={"enabled": True, "n_chains": 2, "n_steps": 40},
    )
    out = run_calibration(path, tmp_path / "out")
    assert out["statistics"]["n_observations"] == 4  # one mean per gauge
    runs = pd.read_csv(out["outputs"]["posterior_runs"])
    assert len(runs) == 2 * 40 * 12 and {"chain", "seasonality", "nse"} <= set(runs.columns)
    assert out["outputs"]["dotty"].read_bytes()[:4] == b"\x89PNG"


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


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bounds": {"seasonalty": [1, 30]}}, r"unknown keys \['seasonalty'\].*'seasonality'"),
        ({"bounds": {"seasonality": [-5, 30]}}, r"seasonality: \[-5, 30\] leaves"),
        ({"target": "sdr", "bounds": {"k": [0.1, 10], "ic_0": [-5, 0]}}, r"unknown keys"),
        ({"validation_years": [2015]}, r"both calibration_years and validation_years"),
        ({"mode": "evaluate"}, r"needs parameter_values"),
        ({"leave_one_gauge_out": True, "per_basin": True}, r"shared by the gauges"),
    ],
)
def test_bad_bounds_and_splits_are_refused_before_any_work(tmp_path, changes, message):
    if changes.get("target") == "sdr":
        changes["observations"] = {"value_unit": "t yr-1"}
    with pytest.raises(CalibrationError, match=message):
        run_calibration(_config(tmp_path, **changes), tmp_path / "o")


def test_c_ndvi_from_a_csv_reports_that_it_changes_no_gep(tmp_path):
    """C–NDVI pairs from a CSV (truth α = 2, β = 1.2): fitted back; the sample catalog has no
    NDVI raster, so the report says no GEP component changes (and why); the run config carries
    the relation for a catalog that has one."""
    from gep.calibration import c_factor_van_der_knijff

    rng = np.random.default_rng(4)
    ndvi = rng.uniform(0.05, 0.85, 120)
    c = np.clip(c_factor_van_der_knijff(ndvi, 2.0, 1.2) + rng.normal(0, 0.005, ndvi.size), 0, 1)
    pd.DataFrame({"ndvi": ndvi, "c": c}).to_csv(tmp_path / "plots.csv", index=False)
    path = _config(
        tmp_path,
        target="c_factor_ndvi",
        bounds={},
        calibration_years=None,
        validation_years=None,
        observations={"table": "plots.csv", "value_column": "c", "value_unit": "1"},
    )
    out = run_calibration(path, tmp_path / "out")
    assert out["parameters"]["c_ndvi_alpha"] == pytest.approx(2.0, rel=0.05)
    assert out["parameters"]["c_ndvi_beta"] == pytest.approx(1.2, rel=0.05)
    assert out["gep_components"].startswith("none: the catalog has no ndvi raster")
    soil = load_run_config(out["outputs"]["run_config"]).services["soil_retention"]
    assert soil["cover_from_ndvi"] == "van_der_knijff"
    assert soil["c_ndvi_alpha"] == pytest.approx(out["parameters"]["c_ndvi_alpha"], abs=1e-6)
    corr = pd.read_csv(out["outputs"]["correlation"], index_col=0)
    assert list(corr.columns) == ["c_ndvi_alpha", "c_ndvi_beta"]
