"""``run_sensitivity`` and ``run_uncertainty`` (the functions behind ``gep sensitivity`` and
``gep uncertainty``) on the sample region, and their refusals before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gep.analysis.commands import run_sensitivity, run_uncertainty
from gep.config import demo_config_path, load_run_config
from gep.errors import InputError

SAMPLE = Path(__file__).resolve().parents[2] / "gep" / "configs" / "analysis_sample.yaml"


def _water_price_item() -> str:
    run = load_run_config(demo_config_path())
    return next(c.price_item for c in run.valuation.enabled() if c.quantity == "water_conserved")


def _config(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    raw["distributions"] = {
        f"price:{_water_price_item()}": {"dist": "uniform", "low": 5.0, "high": 9.0},
        "nep_npp_ratio": {"dist": "uniform", "low": 0.3, "high": 0.5},
        "runoff_coefficient:forest": {
            "dist": "normal",
            "mean": 0.027,
            "sd": 0.01,
            "low": 0.0,
            "high": 1.0,
        },
    }
    raw.update(changes)
    path = tmp_path / "analysis.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_sample_config_names_known_parameters():
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    assert f"price:{_water_price_item()}" in raw["distributions"]


def test_uncertainty_writes_intervals_and_allocation(tmp_path):
    out = run_uncertainty(_config(tmp_path, n_samples=2000), tmp_path / "u")
    table = pd.read_csv(out["outputs"]["intervals"])
    assert len(table) == 16  # Beijing's districts
    assert (table["gep_p5_cny"] <= table["gep_p50_cny"]).all()
    assert (table["gep_p50_cny"] <= table["gep_p95_cny"]).all()
    assert table["allocation_mean_cny"].sum() == pytest.approx(1e9, rel=1e-9)
    assert out["gep_total_p5_cny"] < out["gep_total_p50_cny"] < out["gep_total_p95_cny"]
    assert "soil_retention" in out["dropped_quantities"]
    assert len(pd.read_csv(out["outputs"]["samples"])) == 2000


def test_uncertainty_draws_a_posterior_jointly(tmp_path):
    """Posterior rows (second half of each chain kept) are drawn whole: the sampled α_forest
    values are exactly those of the kept rows, never of the burn-in."""
    runs = pd.DataFrame(
        {
            "chain": 0,
            "step": np.repeat(np.arange(10), 2),
            "walker": np.tile([0, 1], 10),
            "runoff_coefficient:forest": np.where(
                np.arange(20) < 10, 0.9, 0.03 + 0.001 * np.arange(20)
            ),
            "log_posterior": 0.0,
            "nse": 0.9,
        }
    )
    runs.to_csv(tmp_path / "posterior_runs.csv", index=False)
    path = _config(tmp_path, n_samples=500, posterior_runs="posterior_runs.csv")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    del raw["distributions"]["runoff_coefficient:forest"]
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    out = run_uncertainty(path, tmp_path / "u")
    drawn = pd.read_csv(out["outputs"]["samples"])["runoff_coefficient:forest"]
    assert drawn.isin(runs["runoff_coefficient:forest"].iloc[10:]).all()
    assert drawn.nunique() > 5


def test_sobol_of_total_gep_with_second_order(tmp_path):
    """Total GEP is additive in the price, α_forest and the NEP ratio: ΣS1 ≈ 1, S1 ≈ ST and
    the second-order indices ≈ 0 (tolerance from N = 512: ±0.1)."""
    out = run_sensitivity(_config(tmp_path), tmp_path / "s")
    first = pd.read_csv(out["outputs"]["sobol"])
    assert first["S1"].sum() == pytest.approx(1.0, abs=0.1)
    np.testing.assert_allclose(first["S1"], first["ST"], atol=0.1)
    second = pd.read_csv(out["outputs"]["sobol_second_order"])
    assert (second["S2"].abs() < 0.1).all() and (second["S2_conf"] > 0).all()
    assert out["n_model_runs"] == 512 * (2 * 3 + 2)
    assert set(out["ranking"]) == set(first["input"])


def test_morris_per_unit(tmp_path):
    out = run_sensitivity(_config(tmp_path, method="morris", output="units"), tmp_path / "m")
    table = pd.read_csv(out["outputs"]["morris"])
    assert table["output"].nunique() == 16 and (table["mu_star"] >= 0).all()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"distributions": {"prcie:x": {"dist": "uniform", "low": 1, "high": 2}}},
            "not parameters gep can vary",
        ),
        ({"posterior_runs": "runs.csv"}, "independent inputs"),
        ({"output": "allocation", "allocation_budget_cny": None}, "allocation_budget_cny"),
        ({"sobol": {"n_base": 500}}, "power of 2"),
        (
            {"distributions": {"nep_npp_ratio": {"dist": "uniform", "low": 2, "high": 1}}},
            "low must be < high",
        ),
    ],
)
def test_bad_analysis_configs_are_refused(tmp_path, changes, message):
    path = _config(tmp_path, **changes)
    if "distributions" in changes:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["distributions"] = changes["distributions"]
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        run_sensitivity(path, tmp_path / "x")
