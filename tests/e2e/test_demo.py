"""End to end: `gep demo` into a temporary folder; outputs agree with one another."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from data_catalog.sample import catalog_path
from gep.cli import app
from gep.config import demo_config_path, load_run_config
from gep.pipeline import ACCOUNTED, restrict_services
from gep.run import execute

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
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "gep-demo-output"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)], terminal_width=160)
    assert result.exit_code == 0, result.output
    return out, result.output


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


def _fast(config):
    return restrict_services(config, ("water_conservation", "carbon_nep"))


def test_same_inputs_give_identical_tables(tmp_path):
    config = _fast(load_run_config(demo_config_path()))
    a = execute(config, tmp_path / "a")
    b = execute(config, tmp_path / "b")
    for name in ("accounts.csv", "allocation.csv", "quantities.csv", "decomposition.csv"):
        assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name


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


def test_run_with_a_scheduler_gives_the_same_accounts(tmp_path):
    raw = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    keep = ("water_conservation", "carbon_nep")
    raw["services"] = {k: v for k, v in raw["services"].items() if k in keep}
    produced = {q for s in keep for q in ACCOUNTED[s]}
    raw["valuation"]["components"] = [
        c for c in raw["valuation"]["components"] if c["quantity"] in produced
    ]
    raw["linkage"] = str(demo_config_path().parent / "demo_policy.yaml")
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    plain = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "a"), "-q"])
    assert plain.exit_code == 0, plain.output
    chunked = runner.invoke(
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
    a = pd.read_csv(tmp_path / "a" / "accounts.csv")
    b = pd.read_csv(tmp_path / "b" / "accounts.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


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
