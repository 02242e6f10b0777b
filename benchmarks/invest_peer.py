"""Benchmark natcap.invest 3.20.2 (carbon, annual water yield, SDR D8, SDR MFD) on large inputs.

How to run (with the InVEST venv built by ``../shared/tools/invest/setup-invest.sh``; needs
GNU time at /usr/bin/time)::

    ~/.venvs/invest/bin/python benchmarks/invest_peer.py                 # 2000 x 2000
    ~/.venvs/invest/bin/python benchmarks/invest_peer.py --large         # + 4000 x 4000
    ~/.venvs/invest/bin/python benchmarks/invest_peer.py --root /data/gep-bench --models carbon
    ~/.venvs/invest/bin/python benchmarks/invest_peer.py --models carbon annual_water_yield --repeat 3

It generates the synthetic inputs with the peer-case generator
(``tests/regression/peer/make_cases.py``, ``benchmark_spec(size)``: 30 m pixels in UTM 50N,
3 watersheds, TFA = 1000 px) into ``--root/bench_<size>/`` (outside git; reused if present,
``--regenerate`` forces it), then runs each model in a fresh workspace as its own process under
``/usr/bin/time -v`` (synchronous taskgraph, ``n_workers = -1``, no HTML report), and writes
``benchmarks/results/invest_<size>.json`` (models not re-run keep their earlier entries) with,
per model (the fastest of ``--repeat`` runs; ``runs_wall_s`` lists them all):

* ``wall_s``: seconds spent in ``execute(args)`` (model work only, imports excluded);
* ``process_wall_s``: wall-clock seconds of the whole process (``/usr/bin/time``);
* ``pixels_per_s`` = size² / ``wall_s``;
* ``peak_rss_mib``: maximum resident set size of the process (``/usr/bin/time``), MiB;
* ``load_avg_1min_before_after``: the machine's load (the 2 cores are shared);
* ``totals``: the totals InVEST reports (same keys as the peer ``totals.json``);

and ``import_baseline``: peak RSS / wall time of a process that only imports the three models
(natcap.invest's imports alone take ~7 s and ~200+ MiB; subtract it for a kernel-only view).

Our own benchmark reads ``inputs_dir`` and the ``*.invs.json``/``*.args.json`` files there
(paths relative to that folder) so both implementations run on the same inputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "tests" / "regression" / "peer"
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(PEER))

MODELS = ["carbon", "annual_water_yield", "sdr_d8", "sdr_mfd"]


def generate(size: int, root: Path, regenerate: bool) -> Path:
    """Write the benchmark inputs for ``size`` x ``size`` px (reused when already there)."""
    from make_cases import benchmark_spec, make_region

    case_dir = root / f"bench_{size}"
    marker = case_dir / ".complete"
    if marker.exists() and not regenerate:
        return case_dir
    t0 = time.perf_counter()
    make_region(benchmark_spec(size), case_dir)
    marker.write_text(f"generated in {time.perf_counter() - t0:.1f} s\n")
    return case_dir


def _cpu_s() -> float:
    """CPU seconds (user + system, all threads) of this process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_child(key: str, case_dir: Path, workspace: Path, result_path: Path) -> None:
    """Child process: execute one model, time ``execute()`` and read the reported totals."""
    import importlib

    from natcap.invest import datastack
    from run_invest import MODULES, model_totals

    module = importlib.import_module(MODULES[key])
    args = dict(datastack.extract_parameter_set(str(case_dir / f"{key}.invs.json")).args)
    args["workspace_dir"] = str(workspace)
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    module.execute(args)
    wall = time.perf_counter() - t0
    doc = {"wall_s": wall, "cpu_s": _cpu_s() - cpu0, **model_totals(key, workspace, args)}
    result_path.write_text(json.dumps(doc))


def _parse_time_v(stderr: str) -> dict[str, float]:
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    if rss is None or wall is None:
        raise RuntimeError(f"could not parse /usr/bin/time -v output:\n{stderr[-2000:]}")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return {"peak_rss_mib": int(rss.group(1)) / 1024, "process_wall_s": seconds}


def _time_v(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd`` under /usr/bin/time -v; return its peak RSS (MiB) and wall seconds."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")
    return _parse_time_v(proc.stderr)


def import_baseline() -> dict[str, float]:
    """Peak RSS and wall time of a process that only imports the three InVEST models."""
    code = "import natcap.invest.carbon, natcap.invest.annual_water_yield, natcap.invest.sdr.sdr"
    measured = _time_v([sys.executable, "-c", code])
    return {
        "peak_rss_mib": round(measured["peak_rss_mib"], 1),
        "process_wall_s": measured["process_wall_s"],
    }


def run_model(key: str, case_dir: Path, size: int) -> dict[str, Any]:
    """Run one model in a fresh workspace under /usr/bin/time -v; return its measurements."""
    workspace = case_dir / "workspaces" / key
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    result_path = workspace.parent / f"{key}.result.json"
    cmd = [
        sys.executable,
        __file__,
        "--child",
        key,
        str(case_dir),
        str(workspace),
        str(result_path),
    ]
    load_before = os.getloadavg()[0]
    measured = _time_v(cmd)
    doc = json.loads(result_path.read_text())
    return {
        "wall_s": round(doc["wall_s"], 3),
        "process_wall_s": measured["process_wall_s"],
        "pixels_per_s": round(size * size / doc["wall_s"]),
        "peak_rss_mib": round(measured["peak_rss_mib"], 1),
        "load_avg_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "command": "/usr/bin/time -v " + " ".join(cmd),
        "totals": doc["totals"],
        "units": doc["units"],
    }


def run_repeated(key: str, case_dir: Path, size: int, repeat: int) -> dict[str, Any]:
    """Best (minimum ``wall_s``) of ``repeat`` runs; every run's wall time is kept too."""
    runs = [run_model(key, case_dir, size) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall_s"])
    return {
        **best,
        "runs_wall_s": [r["wall_s"] for r in runs],
        "runs_peak_rss_mib": [r["peak_rss_mib"] for r in runs],
    }


def _versions() -> dict[str, str]:
    import natcap.invest
    import numpy
    import pygeoprocessing
    from osgeo import gdal

    return {
        "natcap.invest": natcap.invest.__version__,
        "pygeoprocessing": pygeoprocessing.__version__,
        "gdal": gdal.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def benchmark(size: int, root: Path, models: list[str], regenerate: bool, repeat: int = 1) -> Path:
    """Generate inputs, run every model, write ``benchmarks/results/invest_<size>.json``."""
    case_dir = generate(size, root, regenerate)
    doc: dict[str, Any] = {
        "tool": "natcap.invest",
        "versions": _versions(),
        "date": dt.date.today().isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor(),
        },
        "size_px": [size, size],
        "pixels": size * size,
        "pixel_m": 30.0,
        "inputs_dir": str(case_dir),
        "args_files": {m: f"{m}.invs.json" for m in MODELS},
        "notes": "best of runs_wall_s per model (--repeat), fresh workspace each run, n_workers=-1 (synchronous), no report; 2 shared cores, see load averages",
        "models": {},
    }
    target = RESULTS / f"invest_{size}.json"
    if target.exists():  # keep earlier measurements of the models not re-run now
        previous = json.loads(target.read_text())
        if previous.get("inputs_dir") == str(case_dir):
            doc["models"] = previous.get("models", {})
    doc["import_baseline"] = import_baseline()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for key in models:
        doc["models"][key] = run_repeated(key, case_dir, size, repeat)
        target.write_text(json.dumps(doc, indent=2) + "\n")  # after each model
        print(
            f"{size}² {key}: {json.dumps({k: v for k, v in doc['models'][key].items() if k in ('wall_s', 'pixels_per_s', 'peak_rss_mib', 'load_avg_1min_before_after')})}",
            flush=True,
        )
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, default=2000, help="raster side in pixels (default 2000)"
    )
    parser.add_argument("--large", action="store_true", help="also run 4000 x 4000")
    parser.add_argument(
        "--root", type=Path, default=Path("/tmp/gep-bench"), help="inputs folder (outside git)"
    )
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per model; the fastest is kept")
    parser.add_argument("--regenerate", action="store_true", help="rewrite inputs even if present")
    parser.add_argument(
        "--child", nargs=4, metavar=("MODEL", "CASE", "WS", "OUT"), help=argparse.SUPPRESS
    )
    ns = parser.parse_args(argv)
    if ns.child:
        key, case_dir, ws, out = ns.child
        run_child(key, Path(case_dir), Path(ws), Path(out))
        return
    sizes = [ns.size, 4000] if ns.large and ns.size != 4000 else [ns.size]
    for size in sizes:
        print("wrote", benchmark(size, ns.root, ns.models, ns.regenerate, ns.repeat))


if __name__ == "__main__":
    main()
