"""``gep link`` appends its allocation lines and a run record to the store, like ``gep run``.

Run as a shell runs it: the installed ``gep`` console script as a subprocess, exit status checked.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from gep.store import list_runs, load_run, show_run
from tests.cli.conftest import GEP, run_gep

EXAMPLE_POLICY = Path(str(resources.files("linkage").joinpath("examples", "policy.yaml")))


def _example(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table in EXAMPLE_POLICY.parent.glob("*.csv"):
        (folder / table.name).write_bytes(table.read_bytes())
    policy = folder / "policy.yaml"
    policy.write_bytes(EXAMPLE_POLICY.read_bytes())
    return policy


def test_gep_link_appends_its_allocation_and_a_run_record(tmp_path):
    assert GEP.is_file()
    policy = _example(tmp_path / "policy")
    store = tmp_path / "links.duckdb"
    done = run_gep("link", policy, "--out", tmp_path / "out", "--store", store)
    assert done.returncode == 0, done.stderr
    assert "stored as run" in done.stdout
    (run,) = list_runs(store)
    assert run["kind"] == "link"
    with (tmp_path / "out" / "allocation.csv").open(encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    data = load_run(store, run["run_id"])
    assert len(data.allocation) == len(lines) and len(data.accounts) == 0
    assert sorted(data.allocation["amount_fen"].astype(int)) == sorted(
        int(r["amount_fen"]) for r in lines
    )
    record = show_run(store, run["run_id"])
    assert record["config"]["kind"] == "link"
    inputs = {i["input_id"] for i in record["inputs"]}
    assert "policy" in inputs and len(inputs) > 1  # the policy and the tables it names


def test_gep_link_no_store_writes_no_store_and_a_bad_store_only_warns(tmp_path):
    policy = _example(tmp_path / "policy")
    store = tmp_path / "none.duckdb"
    done = run_gep("link", policy, "--out", tmp_path / "a", "--store", store, "--no-store")
    assert done.returncode == 0, done.stderr
    assert not store.exists()
    folder_store = tmp_path / "a-folder"
    folder_store.mkdir()
    warned = run_gep("link", policy, "--out", tmp_path / "b", "--store", folder_store)
    assert warned.returncode == 0, warned.stderr  # the linkage's outputs are complete
    assert "warning" in warned.stderr and "not added to the accounts store" in warned.stderr
    assert (tmp_path / "b" / "allocation.csv").is_file()
