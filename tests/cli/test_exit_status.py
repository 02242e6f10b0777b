"""Every command's exit status, seen as a shell sees it: the installed ``gep`` script.

The statuses (README, ``gep --help``): 0 success; 1 ``gep validate`` found problems; 2 bad input
or configuration, stopped before work; 3 failure during work, outputs not published; 130
interrupted (SIGINT); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import signal
import subprocess
import time
from importlib import resources
from pathlib import Path

import pytest
import rasterio
import yaml

from tests.cli.conftest import GEP, run_gep
from tests.services.invest_inputs import carbon_case, write_csv

pytestmark = pytest.mark.usefixtures("gep_script")

EXAMPLE_POLICY = Path(str(resources.files("linkage").joinpath("examples", "policy.yaml")))
SAMPLE_CATALOG = Path(str(resources.files("data_catalog").joinpath("sample", "catalog.yaml")))


def test_help_and_version_exit_0_and_document_the_statuses():
    shown = run_gep("--help")
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    for status in ("0 success", "1 checks found problems", "2 bad input", "3 failure"):
        assert status in text
    assert "130 interrupted" in text and "143 terminated" in text
    version = run_gep("version")
    assert version.returncode == 0 and version.stdout.startswith("gep ")


def test_usage_errors_exit_2():
    assert run_gep("run").returncode == 2  # missing argument
    assert run_gep("no-such-command").returncode == 2


@pytest.mark.parametrize(
    "args",
    [
        ("run", "/nonexistent/run.yaml"),
        ("validate", "/nonexistent/catalog.yaml"),
        ("link", "/nonexistent/policy.yaml"),
        ("calibrate", "/nonexistent/calibrate.yaml"),
        ("invest", "carbon", "/nonexistent/args.json"),
        ("occupation", "/nonexistent/footprint.geojson", "--config", "/nonexistent/run.yaml"),
        ("sensitivity", "/nonexistent/analysis.yaml"),
        ("uncertainty", "/nonexistent/analysis.yaml"),
    ],
)
def test_missing_input_files_exit_2_naming_the_file(args, tmp_path):
    result = run_gep(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "/nonexistent/" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_run_with_an_invalid_configuration_exits_2(tmp_path):
    bad = tmp_path / "run.yaml"
    bad.write_text("name: x\nservices: [unclosed\n", encoding="utf-8")
    result = run_gep("run", bad, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr
    assert not (tmp_path / "out").exists()


def _catalog_with_a_missing_file(folder: Path) -> Path:
    raw = yaml.safe_load(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    for entry in raw["entries"].values():
        entry["path"] = str(SAMPLE_CATALOG.parent / entry["path"])
    raw["entries"]["precipitation_2020"]["path"] = str(folder / "missing_precipitation.tif")
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_validate_exits_1_on_problems_and_0_when_clean(tmp_path):
    faulty = run_gep("validate", _catalog_with_a_missing_file(tmp_path))
    assert faulty.returncode == 1, faulty.stderr
    assert "missing_precipitation.tif" in faulty.stderr
    clean = run_gep("validate", SAMPLE_CATALOG)
    assert clean.returncode == 0, clean.stderr


def test_problems_are_one_unbroken_line_each_when_not_a_terminal(tmp_path):
    result = run_gep("validate", _catalog_with_a_missing_file(tmp_path))
    lines = [line for line in result.stderr.splitlines() if line.startswith("precipitation_2020: ")]
    assert len(lines) == 1, result.stderr
    assert "missing_precipitation.tif" in lines[0] and "(fix: " in lines[0]
    assert "│" not in result.stderr  # no table borders in a log


def _copy_example_policy(folder: Path, budget: str) -> Path:
    for table in EXAMPLE_POLICY.parent.glob("*.csv"):
        (folder / table.name).write_bytes(table.read_bytes())
    text = EXAMPLE_POLICY.read_text(encoding="utf-8")
    assert 'amount_cny: "1000000000.00"' in text
    policy = folder / "policy.yaml"
    policy.write_text(text.replace('"1000000000.00"', f'"{budget}"', 1), encoding="utf-8")
    return policy


def test_link_exits_0_on_the_example_and_2_on_a_negative_budget(tmp_path):
    good = run_gep("link", _copy_example_policy(tmp_path, "1000000000.00"), "--out", tmp_path / "a")
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "a" / "allocation.csv").is_file()
    bad = run_gep("link", _copy_example_policy(tmp_path, "-1000000000.00"), "--out", tmp_path / "b")
    assert bad.returncode == 2, bad.stderr
    assert "budget" in bad.stderr
    assert not (tmp_path / "b").exists()


def test_invest_exit_statuses(tmp_path):
    args = carbon_case(tmp_path)
    good = run_gep("invest", "carbon", args, "--out", tmp_path / "good")
    assert good.returncode == 0, good.stderr
    unknown_model = run_gep("invest", "pollination", args, "--out", tmp_path / "x")
    assert unknown_model.returncode == 2 and "unknown InVEST model" in unknown_model.stderr
    write_csv(
        tmp_path / "pools.csv", "lucode,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n2,1,1,1,1\n"
    )
    unknown_code = run_gep("invest", "carbon", args, "--out", tmp_path / "y")
    assert unknown_code.returncode == 2, unknown_code.stderr
    assert "class codes 3" in unknown_code.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_a_failure_during_work_exits_3_and_publishes_nothing(tmp_path):
    args = carbon_case(tmp_path, rows=64, cols=64)
    lulc = tmp_path / "lulc_alt.tif"
    with rasterio.open(lulc) as src:
        profile, data = src.profile, src.read(1)
    profile.update(tiled=True, blockxsize=16, blockysize=16, compress="deflate")
    with rasterio.open(lulc, "w", **profile) as dst:
        dst.write(data, 1)
    size = lulc.stat().st_size
    with open(lulc, "r+b") as fh:  # the header is intact; the last tiles are gone
        fh.truncate(size - 64)
    result = run_gep("invest", "carbon", args, "--out", tmp_path / "out")
    assert result.returncode == 3, result.stderr
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))


def test_stale_partial_folders_of_killed_runs_are_removed(tmp_path):
    stale = tmp_path / ".out.4194399-deadbeef.partial"  # above Linux's largest pid
    stale.mkdir()
    (tmp_path / ".out.old").mkdir()
    result = run_gep("invest", "carbon", carbon_case(tmp_path), "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob(".out*")) == []


def _wait_for_partial(folder: Path, proc: subprocess.Popen, seconds: float = 120) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = list(folder.glob(".out.*.partial"))
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the run never started its work")


DEMO_CONFIG = Path(str(resources.files("gep").joinpath("configs", "demo.yaml")))


@pytest.mark.parametrize(
    ("command", "sig", "status"),
    [
        (("demo", "--quiet"), signal.SIGINT, 130),
        (("run", str(DEMO_CONFIG), "--quiet"), signal.SIGTERM, 143),
    ],
)
def test_an_interrupted_run_exits_with_its_status_and_leaves_nothing(
    tmp_path, command, sig, status
):
    proc = subprocess.Popen(
        [str(GEP), *command, "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_partial(tmp_path, proc)
        time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    assert "no output folder was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
