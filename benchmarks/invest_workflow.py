"""InVEST's side of the main job: the workflow a planner would otherwise run on the same data.

On a region's catalog and run configuration (the sample region, or the sample region resampled
to 30 m by ``make_region.py``), this runs what a user of InVEST 3.20.2 does to get the same
quantities per district and township as ``gep run``:

1. ``prepare`` (gep's interpreter; shown, not counted in the workflow total): InVEST's inputs
   made from the catalog: biophysical tables by land-cover code (carbon pools; lulc_veg,
   root_depth, Kc; USLE C and P) from the catalog's parameter table through its class
   scheme, the districts as the watersheds vector (``ws_id`` = district code) in the rasters'
   CRS, and one args file per model run. The catalog's rasters are used as they are.
2. ``carbon``: both land-cover maps (first year current, second year future), sequestration,
   no valuation;
3. ``annual_water_yield`` for each year (Z = the configuration's seasonality);
4. ``sdr`` for each year (the configuration's flow direction, MFD in the demo, and threshold
   flow accumulation; k = 2, IC0 = 0.5, SDR_max = 0.8, l_max = 122, InVEST's defaults);
5. ``zonal_<level>``: exactextract's Python package, ``exact_extract(raster, units, "sum")``
   per output raster (carbon storage both years and change; water yield; avoided erosion and
   sediment export, each year) over the districts and over the townships.

Every step is its own process (InVEST with ``n_workers = -1``, a fresh workspace each time),
timed from the outside: wall time, CPU time (user + system, all threads) and peak resident
memory (``ru_maxrss`` of the child, from ``os.wait4``); each InVEST step also reports its
import time and the seconds spent in ``execute(args)``. The workflow total is the sum of the
counted steps (imports included), its peak the largest step's.

    .venv/bin/python benchmarks/invest_workflow.py --invest-python ~/.venvs/invest/bin/python \\
        --config /tmp/gep-bench/region_30m/run.yaml
    .venv/bin/python benchmarks/invest_workflow.py --config gep/configs/demo.yaml  # 300 m

``--invest-python`` defaults to ``$GEP_INVEST_PYTHON``, then ``~/.venvs/invest/bin/python``
(built by ``../shared/tools/invest/setup-invest.sh``). Inputs and workspaces go to ``--work``
(default ``/tmp/gep-bench/invest_workflow_<name>``, not committed). Results:
``benchmarks/results/invest_workflow.{md,json}``. ``main_job.py --invest-python PATH`` runs this
beside ``gep run`` and prints the side-by-side table.

Top-level imports are the standard library only: the same file runs the InVEST steps in
InVEST's interpreter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
ENV_VAR = "GEP_INVEST_PYTHON"
DEFAULT_INVEST_PY = Path.home() / ".venvs" / "invest" / "bin" / "python"

INVEST_MODULES = {
    "carbon": "natcap.invest.carbon",
    "annual_water_yield": "natcap.invest.annual_water_yield",
    "sdr": "natcap.invest.sdr.sdr",
}
CARBON_POOLS = ("c_above", "c_below", "c_soil", "c_dead")
#: Output rasters summed per unit: (model, raster relative to the workspace, quantity, unit,
#: conversion of the per-pixel value to the unit per pixel: "ha" = × pixel area in ha,
#: "mm" = × pixel area in m² / 1000).
ZONAL_RASTERS = {
    "carbon": [
        ("c_storage_bas.tif", "carbon_stock_{bas}", "t C", "ha"),
        ("c_storage_alt.tif", "carbon_stock_{alt}", "t C", "ha"),
        ("c_change_bas_alt.tif", "carbon_change_{bas}_{alt}", "t C", "ha"),
    ],
    "annual_water_yield": [("output/per_pixel/wyield.tif", "water_yield_{year}", "m3 yr-1", "mm")],
    "sdr": [
        ("avoided_erosion.tif", "avoided_erosion_{year}", "t yr-1", "ha"),
        ("sed_export.tif", "sediment_export_{year}", "t yr-1", "ha"),
    ],
}


def invest_python(explicit: str | Path | None = None) -> Path | None:
    """The InVEST interpreter: ``explicit``, else ``$GEP_INVEST_PYTHON``, else the default venv."""
    if explicit and not Path(explicit).expanduser().exists():
        raise SystemExit(f"InVEST interpreter not found: {explicit}")
    for candidate in (explicit, os.environ.get(ENV_VAR), DEFAULT_INVEST_PY):
        if candidate and Path(candidate).expanduser().exists():
            return Path(candidate).expanduser()
    return None


# ----------------------------------------------------------------------------------------------
# prepare (gep's interpreter)


def _catalog_of(config_path: Path, config: dict[str, Any]) -> Path:
    catalog = str(config["catalog"])
    if catalog == "sample":
        from data_catalog.sample import catalog_path

        return catalog_path()
    path = Path(catalog).expanduser()
    return path if path.is_absolute() else (config_path.parent / path).resolve()


def _entry(entries: dict[str, Any], variable: str, year: int | None = None) -> dict[str, Any]:
    """The raster entry of ``variable`` (of ``year``, or without a year)."""
    found = [
        e
        for e in entries.values()
        if e.get("kind") == "raster"
        and e.get("variable") == variable
        and (year is None or e.get("year") == year)
    ]
    if not found:
        raise SystemExit(f"catalog has no raster of {variable}" + (f" for {year}" if year else ""))
    return found[0]


def _biophysical_tables(
    catalog_dir: Path, entries: dict[str, Any], params_entry: str, folder: Path
) -> dict[str, Path]:
    """InVEST's three biophysical tables by land-cover code, from the parameter table."""
    import pandas as pd

    from data_catalog.tables import load_scheme

    landcover = _entry(entries, "landcover")
    scheme_name = landcover.get("class_scheme", "clcd")
    scheme_path = catalog_dir / scheme_name
    scheme = load_scheme(scheme_path if scheme_path.is_file() else scheme_name)
    table = pd.read_csv(catalog_dir / entries[params_entry]["path"], encoding="utf-8-sig")
    wide = table.pivot_table(index="ecosystem_type", columns="parameter", values="value")
    by_code = scheme[["code", "ecosystem_type"]].merge(
        wide, left_on="ecosystem_type", right_index=True, how="left"
    )
    by_code = by_code.rename(columns={"code": "lucode"})
    columns = {
        "carbon_pools.csv": ["lucode", *CARBON_POOLS],
        "awy_biophysical.csv": ["lucode", "lulc_veg", "root_depth", "kc"],
        "sdr_biophysical.csv": ["lucode", "usle_c", "usle_p"],
    }
    paths = {}
    for name, cols in columns.items():
        out = by_code[cols].copy()
        if out.isna().any().any():
            missing = out.columns[out.isna().any()].tolist()
            raise SystemExit(f"parameter table lacks {missing} for some land-cover types")
        if "lulc_veg" in out:
            out["lulc_veg"] = out["lulc_veg"].astype(int)
        out["lucode"] = out["lucode"].astype(int)
        out.to_csv(folder / name, index=False)
        paths[name] = folder / name
    return paths


def _units(
    catalog_dir: Path, entries: dict[str, Any], config: dict[str, Any], crs: Any, folder: Path
) -> list[dict[str, Any]]:
    """Each accounting level's polygons in the rasters' CRS as a GeoPackage (id field kept)."""
    from data_catalog.vectors import read_vector

    levels = []
    for unit in config["units"]:
        entry = entries[unit["entry"]]
        gdf = read_vector(
            catalog_dir / entry["path"],
            name=unit["entry"],
            crs=entry.get("crs"),
            id_field=entry.get("id_field"),
        ).to_crs(crs)
        id_field = entry["id_field"]
        gdf = gdf[[id_field, "geometry"]].copy()
        gdf[id_field] = gdf[id_field].astype(str)
        numeric = gdf[id_field].str.fullmatch(r"\d{1,9}").all()
        gdf["ws_id"] = gdf[id_field].astype(int) if numeric else range(1, len(gdf) + 1)
        path = folder / f"{unit['level']}.gpkg"
        gdf.to_file(path, driver="GPKG")
        levels.append({"level": unit["level"], "path": str(path), "id_field": id_field})
    return levels


def prepare(config_path: Path, work: Path) -> dict[str, Any]:
    """Write InVEST's inputs and args files for every step into ``work``; return the plan."""
    import rasterio
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    catalog_path = _catalog_of(config_path, config)
    catalog_dir = catalog_path.parent
    catalog = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    entries = catalog["entries"]

    def raster(variable: str, year: int | None = None) -> str:
        return str((catalog_dir / _entry(entries, variable, year)["path"]).resolve())

    inputs = work / "inputs"
    shutil.rmtree(inputs, ignore_errors=True)
    inputs.mkdir(parents=True)
    years = [int(y) for y in config["years"]]
    with rasterio.open(raster("landcover", years[-1])) as src:
        crs, pixel_area_m2, shape = src.crs, abs(src.res[0] * src.res[1]), src.shape
    tables = _biophysical_tables(
        catalog_dir, entries, config.get("parameters", "parameters"), inputs
    )
    levels = _units(catalog_dir, entries, config, crs, inputs)
    watersheds = levels[0]["path"]
    services = config.get("services", {})
    soil = services.get("soil_retention") or {}
    common = {"results_suffix": "", "n_workers": -1}
    steps: list[dict[str, Any]] = []

    def add(name: str, model: str, args: dict[str, Any], **fmt: Any) -> None:
        workspace = work / "workspaces" / name
        args = {**common, "workspace_dir": str(workspace), **args}
        path = work / "args" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(args, indent=1))
        zonal = [
            {
                "path": str(workspace / rel),
                "quantity": quantity.format(**fmt),
                "unit": unit,
                "factor": pixel_area_m2 / (1e4 if per == "ha" else 1e3),
            }
            for rel, quantity, unit, per in ZONAL_RASTERS[model]
        ]
        steps.append({"step": name, "model": model, "args": str(path), "zonal": zonal})

    bas, alt = years[0], years[-1]
    add(
        "carbon",
        "carbon",
        {
            "lulc_bas_path": raster("landcover", bas),
            "lulc_alt_path": raster("landcover", alt),
            "calc_sequestration": True,
            "carbon_pools_path": str(tables["carbon_pools.csv"]),
            "lulc_bas_year": bas,
            "lulc_alt_year": alt,
            "do_valuation": False,
        },
        bas=bas,
        alt=alt,
    )
    for year in years:
        add(
            f"annual_water_yield_{year}",
            "annual_water_yield",
            {
                "lulc_path": raster("landcover", year),
                "depth_to_root_rest_layer_path": raster("root_restricting_depth"),
                "precipitation_path": raster("precipitation", year),
                "pawc_path": raster("plant_available_water"),
                "eto_path": raster("reference_evapotranspiration", year),
                "watersheds_path": watersheds,
                "sub_watersheds_path": "",
                "biophysical_table_path": str(tables["awy_biophysical.csv"]),
                "seasonality_constant": float(
                    (services.get("water_yield") or {}).get("seasonality", 5.0)
                ),
                "demand_table_path": "",
                "valuation_table_path": "",
            },
            year=year,
        )
    for year in years:
        add(
            f"sdr_{year}",
            "sdr",
            {
                "dem_path": raster("elevation"),
                "erosivity_path": raster("erosivity", year),
                "erodibility_path": raster("erodibility"),
                "lulc_path": raster("landcover", year),
                "watersheds_path": watersheds,
                "biophysical_table_path": str(tables["sdr_biophysical.csv"]),
                "threshold_flow_accumulation": int(soil.get("threshold_flow_accumulation", 1000)),
                "k_param": 2.0,
                "sdr_max": 0.8,
                "ic_0_param": 0.5,
                "l_max": 122.0,
                "drainage_path": "",
                "flow_dir_algorithm": str(soil.get("flow_dir_algorithm", "mfd")).upper(),
            },
            year=year,
        )
    plan = {
        "config": str(config_path),
        "catalog": str(catalog_path),
        "years": years,
        "shape": list(shape),
        "pixel_area_m2": pixel_area_m2,
        "levels": levels,
        "steps": steps,
    }
    (work / "plan.json").write_text(json.dumps(plan, indent=1))
    return plan


# ----------------------------------------------------------------------------------------------
# children


def invest_child(model: str, args_path: Path) -> dict[str, Any]:
    """Import the InVEST model, run ``execute(args)``; import and execute seconds."""
    import importlib
    import logging

    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    module = importlib.import_module(INVEST_MODULES[model])
    import natcap.invest

    import_s = time.perf_counter() - t0
    args = json.loads(args_path.read_text())
    t1 = time.perf_counter()
    module.execute(args)
    return {
        "import_s": import_s,
        "execute_s": time.perf_counter() - t1,
        "natcap.invest": natcap.invest.__version__,
    }


def zonal_child(plan_path: Path, level: str) -> dict[str, Any]:
    """exactextract ``sum`` of every output raster over one level's units, raster by raster."""
    import exactextract
    import geopandas as gpd
    from exactextract import exact_extract

    plan = json.loads(plan_path.read_text())
    unit = next(u for u in plan["levels"] if u["level"] == level)
    units = gpd.read_file(unit["path"])
    table = units[[unit["id_field"]]].copy()
    totals, missing = {}, []
    for step in plan["steps"]:
        for r in step["zonal"]:
            if not Path(r["path"]).exists():
                missing.append(r["path"])
                continue
            sums = exact_extract(
                r["path"], units, "sum", include_cols=[unit["id_field"]], output="pandas"
            )
            table[r["quantity"]] = sums["sum"].to_numpy() * r["factor"]
            totals[r["quantity"]] = {"total": float(table[r["quantity"]].sum()), "unit": r["unit"]}
    table.to_csv(Path(plan_path).parent / f"zonal_{level}.csv", index=False)
    return {
        "units": len(units),
        "totals": totals,
        "missing_rasters": missing,
        "exactextract": getattr(exactextract, "__version__", "?"),
    }


# ----------------------------------------------------------------------------------------------
# orchestration


def run_step(name: str, cmd: list[str], log: Path, result: Path | None) -> dict[str, Any]:
    """Run one step as its own process; wall, CPU and peak memory of that process."""
    load = os.getloadavg()[0]
    log.parent.mkdir(parents=True, exist_ok=True)
    if result is not None and result.exists():
        result.unlink()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    print(f"  {name} ...", flush=True)
    with log.open("w") as fh:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    row: dict[str, Any] = {
        "step": name,
        "exit_status": code,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mib": round(usage.ru_maxrss / 1024, 1),
        "load_1min_before": round(load, 2),
        "log": str(log),
    }
    if code == 0 and result is not None and result.exists():
        row.update(json.loads(result.read_text()))
    elif code != 0:
        row["log_tail"] = log.read_text(errors="replace").strip().splitlines()[-8:]
    status_text = "ok" if code == 0 else f"FAILED (exit {code}, see {log})"
    print(
        f"  {name:28s} {row['wall_s']:8.1f} s wall {row['cpu_s']:8.1f} s CPU "
        f"{row['peak_mib']:8.0f} MiB peak  {status_text}",
        flush=True,
    )
    return row


def run_workflow(
    config: Path, work: Path | None = None, invest_py: Path | None = None
) -> dict[str, Any]:
    """Prepare the inputs, run every InVEST step and the zonal sums; the measurements."""
    config = Path(config).resolve()
    invest_py = invest_python(invest_py)
    if invest_py is None:
        raise SystemExit(
            f"no InVEST interpreter: pass --invest-python or set {ENV_VAR} "
            "(build one with ../shared/tools/invest/setup-invest.sh)"
        )
    name = config.parent.name if config.name == "run.yaml" else config.stem
    work = Path(work or Path("/tmp/gep-bench") / f"invest_workflow_{name}")
    work.mkdir(parents=True, exist_ok=True)
    me = str(Path(__file__).resolve())
    print(f"InVEST workflow on {config} ({invest_py}) in {work}", flush=True)
    started = dt.datetime.now(dt.UTC)
    loadavg = (
        Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    )
    res = work / "results"
    prep = run_step(
        "prepare (not counted)",
        [
            sys.executable,
            me,
            "--child",
            "prepare",
            str(config),
            str(work),
            str(res / "prepare.json"),
        ],
        work / "logs" / "prepare.log",
        res / "prepare.json",
    )
    steps = [prep]
    if prep["exit_status"] != 0:
        return {"config": str(config), "steps": steps, "complete": False}
    plan = json.loads((work / "plan.json").read_text())
    for step in plan["steps"]:
        shutil.rmtree(work / "workspaces" / step["step"], ignore_errors=True)
        out = res / f"{step['step']}.json"
        cmd = [str(invest_py), me, "--child", "invest", step["model"], step["args"], str(out)]
        steps.append(run_step(step["step"], cmd, work / "logs" / f"{step['step']}.log", out))
    for unit in plan["levels"]:
        out = res / f"zonal_{unit['level']}.json"
        cmd = [
            sys.executable,
            me,
            "--child",
            "zonal",
            str(work / "plan.json"),
            unit["level"],
            str(out),
        ]
        steps.append(
            run_step(
                f"zonal_{unit['level']}", cmd, work / "logs" / f"zonal_{unit['level']}.log", out
            )
        )
    counted = steps[1:]
    doc = {
        "config": str(config),
        "catalog": plan["catalog"],
        "shape": plan["shape"],
        "pixel_m": plan["pixel_area_m2"] ** 0.5,
        "years": plan["years"],
        "invest_python": str(invest_py),
        "work": str(work),
        "started_utc": started.isoformat(timespec="seconds"),
        "loadavg_at_start": loadavg,
        "steps": steps,
        "complete": all(s["exit_status"] == 0 for s in steps),
        "total": {
            "wall_s": round(sum(s["wall_s"] for s in counted), 2),
            "cpu_s": round(sum(s["cpu_s"] for s in counted), 2),
            "peak_mib": max(s["peak_mib"] for s in counted),
            "invest_execute_s": round(sum(s.get("execute_s", 0.0) for s in counted), 2),
            "invest_import_s": round(sum(s.get("import_s", 0.0) for s in counted), 2),
        },
    }
    t = doc["total"]
    print(
        f"  {'workflow total':28s} {t['wall_s']:8.1f} s wall {t['cpu_s']:8.1f} s CPU "
        f"{t['peak_mib']:8.0f} MiB peak (largest step)",
        flush=True,
    )
    return doc


# ----------------------------------------------------------------------------------------------
# report


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def markdown_run(run: dict[str, Any]) -> list[str]:
    """One workflow run as Markdown lines (steps, totals, district totals)."""
    shape = run.get("shape", ["?", "?"])
    lines = [
        f"## {Path(run['config']).parent.name if Path(run['config']).name == 'run.yaml' else Path(run['config']).stem}: "
        f"{shape[0]} × {shape[1]} px at {run.get('pixel_m', float('nan')):g} m, years {run.get('years')}",
        "",
        f"Started {run.get('started_utc')}; load average at start (1, 5, 15 min): "
        f"{' '.join(run.get('loadavg_at_start', []))}; complete: {run.get('complete')}.",
        "",
        "| step | exit | wall s | CPU s | peak MiB | InVEST import s | InVEST execute s | load before |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in run["steps"]:
        lines.append(
            f"| {s['step']} | {s['exit_status']} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | "
            f"{s['peak_mib']:.0f} | {_cell(s.get('import_s'))} | "
            f"{_cell(s.get('execute_s'))} | {s['load_1min_before']} |"
        )
    if "total" in run:
        t = run["total"]
        lines.append(
            f"| **workflow (counted steps)** | | **{t['wall_s']:.1f}** | **{t['cpu_s']:.1f}** | "
            f"**{t['peak_mib']:.0f}** (largest step) | {t['invest_import_s']:.1f} | "
            f"{t['invest_execute_s']:.1f} | |"
        )
    zonal = next(
        (s for s in run["steps"] if s["step"].startswith("zonal_") and "totals" in s), None
    )
    if zonal:
        lines += [
            "",
            f"Totals over the {zonal['units']} units of `{zonal['step'][6:]}` (exactextract sums):",
            "",
        ]
        lines += ["| quantity | total | unit |", "|---|---|---|"]
        for q, v in zonal["totals"].items():
            lines.append(f"| {q} | {v['total']:.6g} | {v['unit']} |")
    return lines


def markdown(doc: dict[str, Any]) -> str:
    """The workflow results as a Markdown page."""
    lines = [
        f"# InVEST workflow on the main job's data ({doc['date']})",
        "",
        f"Machine: {doc['machine']}; gep at {doc.get('gep_commit', '?')}. {doc.get('note', '')}",
        "",
        "Each step is its own process (InVEST 3.20.2, `n_workers = -1`; zonal sums with "
        "exactextract's Python package); wall and CPU time (user + system) and peak resident "
        "memory of that process. The workflow total sums the counted steps (imports included); "
        "`prepare` (tables, watersheds vector, args files) is shown but not counted.",
        "",
    ]
    for run in doc["runs"]:
        lines += markdown_run(run) + [""]
    return "\n".join(lines)


def git_commit() -> str:
    """The repository's commit (with ``+dirty`` when the tree has changes), or ``?``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head}{'+dirty' if dirty else ''}" if head else "?"


def write_results(runs: list[dict[str, Any]], note: str = "") -> Path:
    """Write ``results/invest_workflow.{json,md}``; return the JSON's path."""
    doc = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
        "gep_commit": git_commit(),
        "note": note,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "invest_workflow.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    (RESULTS / "invest_workflow.md").write_text(markdown(doc))
    return RESULTS / "invest_workflow.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, nargs="+", help="run configuration(s) (run.yaml)")
    parser.add_argument("--invest-python", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None, help="inputs and workspaces folder")
    parser.add_argument("--note", default="", help="a line for the results file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    if ns.child:
        kind, *rest = ns.child
        out = Path(rest[-1])
        if kind == "prepare":
            doc: dict[str, Any] = {"steps": len(prepare(Path(rest[0]), Path(rest[1]))["steps"])}
        elif kind == "invest":
            doc = invest_child(rest[0], Path(rest[1]))
        else:
            doc = zonal_child(Path(rest[0]), rest[1])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc))
        return
    if not ns.config:
        parser.error("--config is required")
    runs = []
    for config in ns.config:
        work = (
            ns.work / Path(config).resolve().parent.name
            if ns.work and len(ns.config) > 1
            else ns.work
        )
        runs.append(run_workflow(config, work, ns.invest_python))
    path = write_results(runs, ns.note)
    print(markdown(json.loads(path.read_text())))
    print("wrote", path, "and", path.with_suffix(".md"))


if __name__ == "__main__":
    main()
