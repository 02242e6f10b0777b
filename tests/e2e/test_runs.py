"""End to end: runs of the demo configuration on two services.

Two runs give identical tables, a run with a dask scheduler the same accounts; a corrupted input
or an interrupt leaves no output folder. (The whole demo's outputs: ``test_demo.py``.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from data_catalog.sample import catalog_path
from gep.cli import app
from gep.config import demo_config_path, load_run_config
from gep.pipeline import ACCOUNTED, restrict_services
from gep.run import execute

FAST = ("water_conservation", "carbon_nep")


def _fast(config):
    return restrict_services(config, FAST)


def _fast_config_file(folder: Path) -> Path:
    """The demo configuration on two services, as a YAML file a user would write."""
    raw = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    raw["services"] = {k: v for k, v in raw["services"].items() if k in FAST}
    produced = {q for s in FAST for q in ACCOUNTED[s]}
    raw["valuation"]["components"] = [
        c for c in raw["valuation"]["components"] if c["quantity"] in produced
    ]
    raw["linkage"] = str(demo_config_path().parent / "demo_policy.yaml")
    config = folder / "run.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    """One plain run of the two-service configuration: its file and output folder.

    Two tests compare a run against it (another plain run, a run with a dask scheduler), so
    the plain run is computed once for both.
    """
    folder = tmp_path_factory.mktemp("fast")
    config = _fast_config_file(folder)
    return config, execute(load_run_config(config), folder / "plain").out


def test_same_inputs_give_identical_tables(fast_run, tmp_path):
    config, a = fast_run
    b = execute(load_run_config(config), tmp_path / "b").out
    for name in ("accounts.csv", "allocation.csv", "quantities.csv", "decomposition.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_corrupted_input_stops_before_work_and_leaves_nothing(tmp_path):
    sample = catalog_path().parent
    copy = tmp_path / "sample"
    shutil.copytree(sample, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "rasters" / "precipitation_2020.tif").write_bytes(b"not a tiff")
    config_path = tmp_path / "run.yaml"
    raw = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    raw["catalog"] = str(copy / "catalog.yaml")
    raw["linkage"] = str(demo_config_path().parent / "demo_policy.yaml")
    config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(config_path), "--out", str(out)], terminal_width=160
    )
    assert result.exit_code != 0
    assert "precipitation_2020" in result.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_interrupt_leaves_no_output_folder(tmp_path, monkeypatch):
    import gep.run as run_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "build_accounts", interrupted)
    config = _fast(load_run_config(demo_config_path()))
    with pytest.raises(KeyboardInterrupt):
        execute(config, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_run_with_a_scheduler_gives_the_same_accounts(fast_run, tmp_path):
    config, plain = fast_run  # `gep run` without --scheduler computes the same as `execute`
    chunked = CliRunner().invoke(
        app,
        [
            "run",
            str(config),
            "--out",
            str(tmp_path / "b"),
            "-q",
            "--scheduler",
            "threads",
            "--chunks",
            "256",
        ],
    )
    assert chunked.exit_code == 0, chunked.output
    a = pd.read_csv(plain / "accounts.csv")
    b = pd.read_csv(tmp_path / "b" / "accounts.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
