"""Time gep's InVEST-compatible models against natcap.invest on the same 2000 x 2000 inputs.

Run after ``benchmarks/invest_peer.py`` (which writes ``benchmarks/results/invest_<size>.json``
with the inputs folder and InVEST's timings)::

    .venv/bin/python benchmarks/bench_services.py            # 2000 x 2000
    .venv/bin/python benchmarks/bench_services.py --size 4000 --models carbon

Each model runs in its own process through :func:`gep.invest.run_invest` on the same
``<model>.invs.json`` InVEST ran, after one untimed warm-up process (which fills numba's
on-disk cache, as any second run of an installed gep would find it). Per model we report:

* ``wall_s``: seconds in ``run_invest`` (reading, checking, computing, writing COGs and
  ``summary.json``; imports — including numba's one-time runtime initialisation — excluded,
  as InVEST's ``wall_s`` excludes its imports);
* ``process_wall_s``: wall-clock seconds of the whole process, imports included;
* ``peak_rss_mib``: the process's maximum resident set size (``os.wait4`` rusage), MiB;
* ``stages_s``: seconds from the start of ``run_invest`` to each progress message;
* ``write_s``: seconds spent writing the output COGs (:func:`gep.bands.write_band`, on a
  background thread that overlaps the computation), and ``wall_without_writes_s`` /
  ``speedup_without_writes`` without them (an upper bound for the ratio);
* the ratios to InVEST (``speedup_wall``, ``speedup_process``, ``memory_ratio`` = ours/InVEST)
  and the relative differences of the totals.

Results go to ``benchmarks/results/gep_<size>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
MODEL_OF = {
    "carbon": "carbon",
    "annual_water_yield": "annual_water_yield",
    "sdr_d8": "sdr",
    "sdr_mfd": "sdr",
}
TOTAL_KEYS = {
    "carbon": ("stock_base_tC", "stock_alt_tC", "change_tC", "npv"),
    "annual_water_yield": ("wyield_volume_m3",),
    "sdr": (
        "usle_t_yr",
        "avoided_erosion_t_yr",
        "sed_export_t_yr",
        "avoided_export_t_yr",
        "sed_deposition_t_yr",
    ),
}


def run_child(key: str, args_path: Path, out_dir: Path, result_path: Path) -> None:
    """Child process: run one model and record its timings."""
    t_import = time.perf_counter()
    import numpy as np

    from gep.invest import run as invest_run  # noqa: F401
    from gep.invest import run_invest
    from gep.io import bands  # noqa: F401
    from gep.kernels import reductions

    reductions.nan_sum(np.zeros(4))  # numba's one-time runtime initialisation (import cost)
    imported = time.perf_counter() - t_import
    writing = [0.0]
    write_band = bands.write_band

    def timed_write(*args: Any, **kwargs: Any) -> Path:  # time spent writing (writer thread)
        t = time.perf_counter()
        try:
            return write_band(*args, **kwargs)
        finally:
            writing[0] += time.perf_counter() - t

    bands.write_band = timed_write  # type: ignore[assignment]
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    summary = run_invest(
        MODEL_OF[key],
        args_path,
        out_dir,
        progress=lambda m: stages.setdefault(m, time.perf_counter() - t0),
    )
    wall = time.perf_counter() - t0
    doc = {"wall_s": wall, "write_s": writing[0], "import_s": imported, "stages_s": stages}
    result_path.write_text(json.dumps({**doc, "summary": summary}))


def _measure(key: str, args_path: Path, workdir: Path) -> dict[str, Any]:
    out_dir = workdir / f"out_{key}"
    result_path = workdir / f"{key}.result.json"
    cmd = [sys.executable, __file__, "--child", key, str(args_path), str(out_dir), str(result_path)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    process_wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{key} failed:\n{stderr[-4000:]}")
    doc = json.loads(result_path.read_text())
    doc["process_wall_s"] = process_wall
    doc["peak_rss_mib"] = rusage.ru_maxrss / 1024.0  # Linux: KiB
    return doc


def _compare(key: str, ours: dict[str, Any], peer: dict[str, Any], pixels: int) -> dict[str, Any]:
    summary = ours.pop("summary")
    row: dict[str, Any] = {
        "wall_s": ours["wall_s"],
        "process_wall_s": ours["process_wall_s"],
        "import_s": ours["import_s"],
        "write_s": ours["write_s"],
        "wall_without_writes_s": ours["wall_s"] - ours["write_s"],
        "peak_rss_mib": ours["peak_rss_mib"],
        "pixels_per_s": pixels / ours["wall_s"],
        "stages_s": ours["stages_s"],
    }
    if peer:
        row["invest"] = {k: peer.get(k) for k in ("wall_s", "process_wall_s", "peak_rss_mib")}
        row["speedup_wall"] = peer["wall_s"] / ours["wall_s"]
        row["speedup_without_writes"] = peer["wall_s"] / (ours["wall_s"] - ours["write_s"])
        row["speedup_process"] = peer["process_wall_s"] / ours["process_wall_s"]
        row["memory_ratio"] = ours["peak_rss_mib"] / peer["peak_rss_mib"]
        theirs = peer.get("totals", {})
        row["totals_rel_diff"] = {
            k: abs(summary[k] - theirs[k]) / abs(theirs[k])
            for k in TOTAL_KEYS[MODEL_OF[key]]
            if k in theirs and theirs[k]
        }
    row["totals"] = {k: summary.get(k) for k in TOTAL_KEYS[MODEL_OF[key]]}
    return row


def benchmark(size: int, models: list[str]) -> Path:
    """Run every model on the inputs InVEST was benchmarked on; write ``gep_<size>.json``."""
    peer_doc = json.loads((RESULTS / f"invest_{size}.json").read_text())
    inputs = Path(peer_doc["inputs_dir"])
    if not importlib.util.find_spec("gep.kernels.sdr"):
        models = [m for m in models if not m.startswith("sdr")]
    doc: dict[str, Any] = {
        "tool": "gep",
        "date": dt.date.today().isoformat(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "size_px": [size, size],
        "inputs_dir": str(inputs),
        "notes": "one warm-up process per model (numba cache), then one timed process; outputs are "
        "ZSTD level 1 COGs (InVEST writes LZW GeoTIFFs); benchmarks/run.py runs both in one go",
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="gep-bench-") as tmp:
        for key in models:
            args_path = inputs / f"{key}.invs.json"
            _measure(key, args_path, Path(tmp) / "warm")
            ours = _measure(key, args_path, Path(tmp))
            doc["models"][key] = _compare(key, ours, peer_doc["models"].get(key, {}), size * size)
            shown = {
                k: v
                for k, v in doc["models"][key].items()
                if k not in ("totals", "stages_s", "invest")
            }
            print(f"{size}² {key}: {json.dumps(shown)}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"gep_{size}.json"
    target.write_text(json.dumps(doc, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--models", nargs="*", default=list(MODEL_OF), choices=list(MODEL_OF))
    parser.add_argument(
        "--child", nargs=4, metavar=("MODEL", "ARGS", "OUT", "RESULT"), help=argparse.SUPPRESS
    )
    ns = parser.parse_args(argv)
    if ns.child:
        key, args_path, out_dir, result = ns.child
        run_child(key, Path(args_path), Path(out_dir), Path(result))
        return
    print("wrote", benchmark(ns.size, ns.models))


if __name__ == "__main__":
    main()
