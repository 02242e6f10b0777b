"""End to end: ``gep demo``'s outputs agree with one another; a second run is byte-identical.

The demo run is the session's shared one (``demo_run`` in ``tests/conftest.py``: ``gep demo
--out .../out --store ...``, computed once for all the files that read it). The runs on two
services (determinism, a dask scheduler, failures) are in ``test_runs.py``.

Reproducibility: the second run is ``gep run`` on the demo's configuration (the same run), into a
folder beside which a run killed with SIGKILL left its hidden ``.partial`` folder: the new run
removes it and says so in ``run.log``. The two are byte-identical apart from the run log and the
manifest's timings.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml

from tests.cli.conftest import GEP, run_gep

EXPECTED = [
    "bulletins",
    "accounts.csv",
    "accounts.xlsx",
    "units.gpkg",
    "allocation.csv",
    "allocation.xlsx",
    "allocation.json",
    "report.html",
    "manifest.json",
    "run.log",
    "maps",
    "rasters",
]


@pytest.fixture(scope="module")
def demo_out(demo_run):
    """``gep demo`` (the session's shared run, see ``tests/conftest.py``): folder and stdout."""
    return demo_run.out, demo_run.stdout


def test_every_output_is_written(demo_out):
    out, stdout = demo_out
    names = {p.name for p in out.iterdir()}
    assert set(EXPECTED) <= names
    maps = {p.name for p in (out / "maps").iterdir()}
    assert {
        "gep_township_2020.png",
        "gep_change_township_2015_2020.png",
        "allocation_district.png",
    } <= maps
    assert any(n.startswith("water_conserved_") for n in maps)
    rasters = {p.name for p in (out / "rasters").iterdir()}
    assert "water_conserved_2020.tif" in rasters
    assert any(n.endswith("_value_constant_cny.tif") for n in rasters)
    assert not list(out.parent.glob(".*partial"))
    bulletins = list((out / "bulletins").rglob("*.md")) + list((out / "bulletins").rglob("*.html"))
    assert len(bulletins) == 2 * (16 + 349)


def test_demo_prints_the_sample_summary_and_results(demo_out):
    _, stdout = demo_out
    assert "beijing-sample" in stdout
    assert "603 × 599 cells of 300 × 300 m" in stdout and "EPSG:32650" in stdout
    assert "349" in stdout and "forest" in stdout and "built_up" in stdout
    assert "GEP per district" in stdout and "110118 密云区" in stdout
    assert stdout.count("SYNTHETIC INPUTS") >= 2  # before and after the results


def test_accounts_report_and_geopackage_agree(demo_out):
    out, _ = demo_out
    accounts = pd.read_csv(out / "accounts.csv", dtype={"unit_id": str})
    districts = accounts[(accounts["level"] == "district") & (accounts["year"] == 2020)]
    total = districts["value_constant_cny"].sum()
    report = (out / "report.html").read_text(encoding="utf-8")
    # the demo values every non-optional item of the catalogue: its total is not partial
    # (the demo's report is in Chinese, `language: zh`)
    match = re.search(
        r"2020年，全部区：生态产品总值 ([\d,.]+) 亿元（2020年不变价）；其中供给服务", report
    )
    assert match, "report has no district total"
    assert "部分核算" not in report
    assert float(match.group(1).replace(",", "")) == pytest.approx(total / 1e8, abs=0.006)
    gep = pd.read_csv(out / "gep_by_unit.csv", dtype={"unit_id": str})
    g = gep[(gep["level"] == "district") & (gep["year"] == 2020)]
    parts = ["provisioning", "regulating", "cultural"]
    by_category = sum(g[f"gep_{c}_constant_cny"].sum() for c in parts)
    assert by_category == pytest.approx(total, rel=1e-9)
    assert (g["gep_r_constant_cny"] == g["gep_regulating_constant_cny"]).all()
    assert set(g["gep_scope"]) == {"complete"}
    assert all(g[f"gep_{c}_constant_cny"].sum() > 0 for c in parts)  # all three categories
    gpkg = gpd.read_file(out / "units.gpkg", layer="district")
    assert gpkg["gep_constant_cny_2020"].sum() == pytest.approx(total, rel=1e-9)
    towns = gpd.read_file(out / "units.gpkg", layer="township")
    assert towns["gep_constant_cny_2020"].sum() == pytest.approx(total, rel=1e-6)
    assert "SYNTHETIC INPUTS" in report


def test_demo_outputs_are_in_chinese(demo_out):
    """The demo configuration sets `language: zh`: report, bulletins and XLSX in Chinese."""
    import openpyxl

    out, _ = demo_out
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<html lang='zh-CN'>" in report and "<h2>摘要</h2>" in report
    assert "data:font/woff;base64," in report  # Chinese shows without a system CJK font
    assert "各区生态产品总值（2020年不变价）" in report and "密云区" in report
    bulletin = (out / "bulletins" / "district" / "110118.md").read_text(encoding="utf-8")
    assert bulletin.startswith("# 2020年生态产品总值公报：密云区（110118）")
    assert "亿元" in bulletin and " CNY" not in bulletin
    assert (out / "bulletins" / "gep-cjk.woff").is_file()
    book = openpyxl.load_workbook(out / "accounts.xlsx", read_only=True)
    assert book.sheetnames[:3] == ["区", "乡镇街道", "生态产品总值"]
    book.close()


def test_allocation_sums_to_the_budget_to_the_fen(demo_out):
    out, _ = demo_out
    policy = yaml.safe_load((out / "linkage_inputs" / "policy.yaml").read_text(encoding="utf-8"))
    budget_fen = int(Decimal(policy["districts"]["budget"]["amount_cny"]) * 100)
    allocation = pd.read_csv(out / "allocation.csv", dtype={"unit_id": str})
    districts = allocation[allocation["level"] == "district"]
    assert districts["amount_fen"].sum() == budget_fen
    assert (allocation["amount_fen"] >= 0).all()
    doc = json.loads((out / "allocation.json").read_text(encoding="utf-8"))
    assert doc


def test_manifest_records_inputs_and_timings(demo_out):
    out, _ = demo_out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"]["name"] == "gep"
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert {"services", "accounts", "linkage", "maps"} <= set(manifest["timings_s"])
    assert manifest["prices"] and all("price_year" in p for p in manifest["prices"])
    assert "report.html" in manifest["outputs"]


def test_linkage_record_recomputes_the_run_allocation(demo_out, tmp_path):
    """The run hands its tables to the linkage in memory; the record in ``linkage_inputs/``
    holds the same tables: ``gep link`` on it gives the run's allocation to the fen."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out, _ = demo_out
    gep = Path(sys.executable).parent / "gep"
    done = subprocess.run(
        [str(gep), "link", str(out / "linkage_inputs" / "policy.yaml"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GEP_STORE": str(tmp_path / "store.duckdb")},
    )
    assert done.returncode == 0, done.stderr
    run = pd.read_csv(out / "allocation.csv", dtype={"unit_id": str})
    again = pd.read_csv(tmp_path / "allocation.csv", dtype={"unit_id": str})
    pd.testing.assert_frame_equal(run, again)


# Reproducibility: a second run of the demo is byte-identical to the first.

SKIPPED = {"run.log", "manifest.json"}
DEMO_CONFIG = Path(str(resources.files("gep").joinpath("configs", "demo.yaml")))


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in SKIPPED
    }


def _manifest_without_timings(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("timings_s")
    return manifest


def _kill_a_run_midway(target: Path) -> Path:
    proc = subprocess.Popen(
        [str(GEP), "demo", "--quiet", "--out", str(target)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (partials := list(target.parent.glob(f".{target.name}.*.partial"))):
            assert proc.poll() is None and time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert partials[0].is_dir(), "SIGKILL cannot clean up: the partial folder must remain"
    return partials[0]


def test_two_demo_runs_are_byte_identical(demo_run, tmp_path):
    # the first run: the session's `gep demo --out .../out --store ...` (tests/conftest.py)
    store = tmp_path / "store.duckdb"
    shutil.copyfile(demo_run.store, store)  # holds the first run; the second appends to it
    (tmp_path / "b").mkdir()
    stale = _kill_a_run_midway(tmp_path / "b" / "out")
    second = run_gep(
        "run", DEMO_CONFIG, "--quiet", "--out", tmp_path / "b" / "out", "--store", store
    )
    assert second.returncode == 0, second.stderr
    assert not stale.exists()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["out"]
    log = (tmp_path / "b" / "out" / "run.log").read_text(encoding="utf-8")
    assert f"removed {stale}" in log

    a, b = _digests(demo_run.out), _digests(tmp_path / "b" / "out")
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name]]
    assert differing == [], f"differ between identical runs: {differing}"
    assert {"accounts.xlsx", "allocation.xlsx", "units.gpkg"} <= set(a)
    assert _manifest_without_timings(demo_run.out) == _manifest_without_timings(
        tmp_path / "b" / "out"
    )
    listed = run_gep("store", "list", "--store", store)
    assert listed.returncode == 0, listed.stderr
    assert len(re.findall(r"\d{8}T\d{6}Z-[0-9a-f]{8}", listed.stdout)) == 2, listed.stdout
