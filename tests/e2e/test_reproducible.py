"""Two runs of the demo are byte-identical apart from the run log and the manifest's timings.

The first is ``gep demo``, the second ``gep run`` on the demo's configuration (the same run).

The second run goes into a folder beside which a run killed with SIGKILL left its hidden
``.partial`` folder: the new run removes it and says so in ``run.log``.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import time
from importlib import resources
from pathlib import Path

from tests.cli.conftest import GEP, run_gep

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


def test_two_demo_runs_are_byte_identical(tmp_path):
    store = tmp_path / "store.duckdb"
    first = run_gep("demo", "--quiet", "--out", tmp_path / "a" / "out", "--store", store)
    assert first.returncode == 0, first.stderr
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

    a, b = _digests(tmp_path / "a" / "out"), _digests(tmp_path / "b" / "out")
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name]]
    assert differing == [], f"differ between identical runs: {differing}"
    assert {"accounts.xlsx", "allocation.xlsx", "units.gpkg"} <= set(a)
    assert _manifest_without_timings(tmp_path / "a" / "out") == _manifest_without_timings(
        tmp_path / "b" / "out"
    )
    listed = run_gep("store", "list", "--store", store)
    assert listed.returncode == 0, listed.stderr
    assert len(re.findall(r"\d{8}T\d{6}Z-[0-9a-f]{8}", listed.stdout)) == 2, listed.stdout
