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

**Whole process, gep invest vs InVEST** (issue 13, item 5), run with *gep's* interpreter::

    .venv/bin/python benchmarks/invest_peer.py --versus-gep --sizes 2000 4000 \
        --invest-python ~/.venvs/invest/bin/python --repeat 3

Each model runs as a user runs it, imports included for both: ``gep invest MODEL
ARGS.invs.json --out DIR`` and a Python process that imports the InVEST model, reads the same
datastack and calls ``execute(args)`` (no totals read afterwards), alternating InVEST and gep
``--repeat`` times (median run of each; gep runs once untimed first for numba's on-disk
cache). Wall time, CPU time and peak RSS of each process come from ``os.wait4``. Then, in a
separate process on gep's outputs, the *I/O floor* (``run.py``'s ``_io_floor``: decode the
model's input rasters, encode the output rasters InVEST writes, same formats, no
computation) plus the interpreter's start (``python -c pass``): the target is gep's process
time ≤ 1.2 × that. Results: ``benchmarks/results/invest_peer.{json,md}`` with the ratios
InVEST / gep (targets: ≥ 8× at 2000², ≥ 10× at 4000² for carbon and annual water yield; SDR
D8's peak memory at 4000² ≤ InVEST's).
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


# --------------------------------------------------------------------------- whole process


GEP_MODEL = {
    "carbon": "carbon",
    "annual_water_yield": "annual_water_yield",
    "sdr_d8": "sdr",
    "sdr_mfd": "sdr",
}
INVEST_MODULE = {
    "carbon": "natcap.invest.carbon",
    "annual_water_yield": "natcap.invest.annual_water_yield",
    "sdr_d8": "natcap.invest.sdr.sdr",
    "sdr_mfd": "natcap.invest.sdr.sdr",
}
TARGET_PROCESS = {2000: 8.0, 4000: 10.0}  # carbon and annual water yield, InVEST / gep
TARGET_FLOOR = 1.2  # gep process <= 1.2 x (I/O floor + interpreter start)
IO_IMPORTS = "import numpy, rasterio"  # what any Python code writing these GeoTIFFs imports


def user_child(key: str, case_dir: Path, workspace: Path) -> None:
    """InVEST as a script user runs it: import the model, read the datastack, execute."""
    import importlib

    from natcap.invest import datastack

    module = importlib.import_module(INVEST_MODULE[key])
    args = dict(datastack.extract_parameter_set(str(case_dir / f"{key}.invs.json")).args)
    args["workspace_dir"] = str(workspace)
    module.execute(args)


def floor_child(args_path: Path, out_dir: Path, result: Path) -> None:
    """The I/O floor of one model on the outputs gep wrote (``run.py``'s ``_io_floor``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import _io_floor

    result.write_text(json.dumps(_io_floor(args_path, out_dir)))


def _interpreter_start(python: str, code: str = "pass", repeat: int = 5) -> float:
    """Median wall seconds of ``python -c CODE`` (the interpreter's start and exit)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([python, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def _generate_with(invest_py: Path, size: int, root: Path) -> Path:
    """Inputs of ``size``² made by the peer-case generator (needs GDAL: InVEST's interpreter)."""
    case = root / f"bench_{size}"
    if not (case / ".complete").exists():
        print(f"generating {case} ...", flush=True)
        code = f"import invest_peer; from pathlib import Path; invest_peer.generate({size}, Path({str(root)!r}), False)"
        subprocess.run([str(invest_py), "-c", code], cwd=REPO / "benchmarks", check=True)
    return case


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r["exit_status"] == 0] or runs
    return {
        **sorted(ok, key=lambda r: r["wall_s"])[(len(ok) - 1) // 2],
        "runs_wall_s": [r["wall_s"] for r in runs],
        "runs_peak_mib": [r["peak_mib"] for r in runs],
    }


def _fresh_run(label: str, cmd: list[str], out: Path, work: Path) -> dict[str, Any]:
    """Remove ``out``, then run ``cmd`` as its own process (wall, CPU, peak memory)."""
    from invest_workflow import run_step

    shutil.rmtree(out, ignore_errors=True)
    return run_step(label, cmd, work / "logs" / f"{label}.log", None)


def versus_gep(
    sizes: list[int], models: list[str], root: Path, invest_py: Path, repeat: int
) -> dict[str, Any]:
    """``gep invest`` and InVEST whole-process on the same inputs; ratios and the I/O floor."""
    from invest_workflow import run_step

    gep = Path(sys.executable).with_name("gep")
    me = str(Path(__file__).resolve())
    work = root / "versus_gep"
    start_s = _interpreter_start(sys.executable)
    io_start_s = _interpreter_start(sys.executable, IO_IMPORTS)
    print(
        f"interpreter start: {start_s:.3f} s bare, {io_start_s:.3f} s with {IO_IMPORTS!r}",
        flush=True,
    )
    rows = []
    for size in sizes:
        case = _generate_with(invest_py, size, root)
        for key in models:
            print(f"{size}² {key}:", flush=True)
            args_path = case / f"{key}.invs.json"
            gep_out = work / f"gep_{key}_{size}"

            gep_cmd = [str(gep), "invest", GEP_MODEL[key], str(args_path), "--out", str(gep_out)]
            workspace = case / "workspaces" / f"user_{key}"
            inv_cmd = [str(invest_py), me, "--user-child", key, str(case), str(workspace)]
            _fresh_run(f"gep_{key}_{size}_warmup", gep_cmd, gep_out, work)
            inv_runs, gep_runs = [], []
            for i in range(repeat):
                inv_runs.append(_fresh_run(f"invest_{key}_{size}_{i}", inv_cmd, workspace, work))
                gep_runs.append(_fresh_run(f"gep_{key}_{size}_{i}", gep_cmd, gep_out, work))
            floor_json = work / f"floor_{key}_{size}.json"
            floor_cmd = [
                sys.executable,
                me,
                "--floor-child",
                str(args_path),
                str(gep_out),
                str(floor_json),
            ]
            floor_proc = run_step(
                f"floor_{key}_{size}", floor_cmd, work / "logs" / f"floor_{key}_{size}.log", None
            )
            floor = json.loads(floor_json.read_text()) if floor_proc["exit_status"] == 0 else {}
            g, inv = _median(gep_runs), _median(inv_runs)
            row: dict[str, Any] = {
                "model": key,
                "size": size,
                "repeat": repeat,
                "gep": g,
                "invest": inv,
                "speedup_process": inv["wall_s"] / g["wall_s"],
                "cpu_ratio": inv["cpu_s"] / g["cpu_s"],
                "memory_gep_over_invest": max(g["runs_peak_mib"]) / max(inv["runs_peak_mib"]),
                "io_floor": floor,
                "interpreter_start_s": start_s,
                "io_imports_start_s": io_start_s,
            }
            if floor:
                bound = floor["seconds"] + io_start_s
                row["floor_plus_start_s"] = bound
                row["gep_over_floor"] = g["wall_s"] / bound
                row["gep_over_floor_bare_start"] = g["wall_s"] / (floor["seconds"] + start_s)
                row["meets_floor_target"] = row["gep_over_floor"] <= TARGET_FLOOR
            if key in ("carbon", "annual_water_yield") and size in TARGET_PROCESS:
                row["target_process"] = TARGET_PROCESS[size]
                row["meets_process_target"] = row["speedup_process"] >= TARGET_PROCESS[size]
            if key == "sdr_d8" and size == 4000:
                row["meets_memory_target"] = row["memory_gep_over_invest"] <= 1.0
            rows.append(row)
            print(
                f"  => InVEST / gep (process) {row['speedup_process']:.2f}×, CPU "
                f"{row['cpu_ratio']:.2f}×, memory gep/InVEST {row['memory_gep_over_invest']:.2f}"
                + (f", gep / (floor + start) {row['gep_over_floor']:.2f}" if floor else ""),
                flush=True,
            )
    return {"rows": rows, "interpreter_start_s": start_s, "io_imports_start_s": io_start_s}


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "" if value is None else format(value, spec)


def versus_markdown(doc: dict[str, Any]) -> str:
    """The whole-process comparison as a Markdown page."""
    lines = [
        f"# gep invest vs InVEST 3.20.2, whole process ({doc['date']})",
        "",
        f"Machine: {doc['machine']}; gep at {doc['gep_commit']}. "
        "Load average at start (1, 5, 15 min): "
        f"{' '.join(doc['loadavg_at_start'])}; at the end: {' '.join(doc['loadavg_at_end'])}. "
        f"{doc.get('note', '')}",
        "",
        "As a user runs them, imports included for both: `gep invest MODEL ARGS --out DIR` and a "
        "Python process importing the InVEST model and calling `execute(args)` on the same "
        f"datastack; median of {doc['repeat']} alternating runs; wall and CPU (user + system) "
        "and peak RSS of each process (`os.wait4`). I/O floor: decode the model's input rasters "
        "and encode the output rasters InVEST writes (same formats, no computation, "
        "`run.py`'s `_io_floor` on gep's outputs), plus the interpreter's start with the I/O "
        f'libraries (`python -c "{IO_IMPORTS}"`: {doc["io_imports_start_s"]:.2f} s; bare '
        f"`python -c pass`: {doc['interpreter_start_s']:.2f} s, the last column). "
        "Targets (issue 13): "
        "InVEST / gep ≥ 8× at 2000², ≥ 10× at 4000² for carbon and annual water yield; "
        "gep ≤ 1.2 × (floor + start); SDR D8 peak memory at 4000² ≤ InVEST's.",
        "",
        "| model | size | gep s | InVEST s | InVEST / gep | target | gep CPU s | InVEST CPU s | "
        "gep peak MiB | InVEST peak MiB | memory gep/InVEST | floor s | floor + start s | "
        "gep / (floor + start) | ≤ 1.2 | gep / (floor + bare start) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        g, i = r["gep"], r["invest"]
        target = (
            f"≥ {r['target_process']:g}× {'yes' if r['meets_process_target'] else 'no'}"
            if "target_process" in r
            else ""
        )
        if "meets_memory_target" in r:
            target = f"memory ≤ 1: {'yes' if r['meets_memory_target'] else 'no'}"
        lines.append(
            f"| {r['model']} | {r['size']}² | {g['wall_s']:.2f} | {i['wall_s']:.2f} | "
            f"{r['speedup_process']:.2f}× | {target} | {g['cpu_s']:.2f} | {i['cpu_s']:.2f} | "
            f"{max(g['runs_peak_mib']):.0f} | {max(i['runs_peak_mib']):.0f} | "
            f"{r['memory_gep_over_invest']:.2f} | {_fmt(r['io_floor'].get('seconds'))} | "
            f"{_fmt(r.get('floor_plus_start_s'))} | {_fmt(r.get('gep_over_floor'))} | "
            f"{'yes' if r.get('meets_floor_target') else 'no'} | "
            f"{_fmt(r.get('gep_over_floor_bare_start'))} |"
        )
    return "\n".join(lines) + "\n"


def run_versus(ns: argparse.Namespace) -> None:
    """``--versus-gep``: measure, write ``results/{ns.output}.{json,md}``."""
    from invest_workflow import git_commit, invest_python

    invest_py = invest_python(ns.invest_python)
    if invest_py is None:
        raise SystemExit("no InVEST interpreter: pass --invest-python (setup-invest.sh builds one)")
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    measured = versus_gep(ns.sizes, ns.models, ns.root, invest_py, ns.repeat)
    doc = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
        "gep_commit": git_commit(),
        "invest_python": str(invest_py),
        "loadavg_at_start": loadavg,
        "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        "repeat": ns.repeat,
        "note": ns.note,
        **measured,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path, md_path = (RESULTS / f"{ns.output}{ext}" for ext in (".json", ".md"))
    json_path.write_text(json.dumps(doc, indent=1) + "\n")
    md_path.write_text(versus_markdown(doc))
    print(versus_markdown(doc))
    print("wrote", json_path, "and", md_path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, default=2000, help="raster side in pixels (default 2000)"
    )
    parser.add_argument("--large", action="store_true", help="also run 4000 x 4000")
    parser.add_argument(
        "--root", type=Path, default=Path("/tmp/gep-bench"), help="inputs folder (outside git)"
    )
    parser.add_argument(
        "--models",
        nargs="*",
        default=None,
        choices=MODELS,
        help="default: all four; with --versus-gep carbon, annual_water_yield, sdr_d8",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per model; the fastest is kept")
    parser.add_argument("--regenerate", action="store_true", help="rewrite inputs even if present")
    parser.add_argument(
        "--versus-gep",
        action="store_true",
        help="run with gep's interpreter: whole-process gep invest vs InVEST (invest_peer.md)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000], help="--versus-gep")
    parser.add_argument("--invest-python", type=Path, default=None, help="--versus-gep")
    parser.add_argument("--note", default="", help="--versus-gep: a line for the results")
    parser.add_argument(
        "--output",
        default="invest_peer",
        help="--versus-gep: name of the results files in benchmarks/results (default "
        "invest_peer; they are rewritten with the models measured, so name another file when "
        "measuring some models only)",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("MODEL", "CASE", "WS", "OUT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--user-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", nargs=3, help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    if ns.user_child:
        user_child(ns.user_child[0], Path(ns.user_child[1]), Path(ns.user_child[2]))
        return
    if ns.floor_child:
        floor_child(*(Path(p) for p in ns.floor_child))
        return
    if ns.versus_gep:
        ns.models = ns.models or ["carbon", "annual_water_yield", "sdr_d8"]
        run_versus(ns)
        return
    ns.models = ns.models or MODELS
    if ns.child:
        key, case_dir, ws, out = ns.child
        run_child(key, Path(case_dir), Path(ws), Path(out))
        return
    sizes = [ns.size, 4000] if ns.large and ns.size != 4000 else [ns.size]
    for size in sizes:
        print("wrote", benchmark(size, ns.root, ns.models, ns.regenerate, ns.repeat))


if __name__ == "__main__":
    main()
