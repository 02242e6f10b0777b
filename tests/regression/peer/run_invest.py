"""Run natcap.invest 3.20.2 on every peer case and store the reference outputs.

Run it with the InVEST venv (see PROVENANCE.md), after ``make_cases.py``::

    ~/.venvs/invest/bin/python tests/regression/peer/run_invest.py            # all cases
    ~/.venvs/invest/bin/python tests/regression/peer/run_invest.py hills_30m  # one case

For each case and model run (``carbon``, ``annual_water_yield``, ``sdr_d8``, ``sdr_mfd``) it

1. reads ``<case>/<model>.invs.json`` with ``natcap.invest.datastack.extract_parameter_set``
   (relative paths resolved against the case folder) and checks that it holds the same args
   as ``<case>/<model>.args.json``;
2. runs ``validate(args)`` (the messages are stored; all are expected to be empty) and
   ``execute(args)`` in a fresh workspace under ``--work`` (default /tmp/gep-peer-work), so the
   taskgraph cache never reuses stale results;
3. copies the compared outputs into ``<case>/invest/<model>/`` as DEFLATE-compressed GeoTIFFs
   (lossless: same dtype, nodata and values), vector results as CSV (and the small SDR
   shapefile), and writes ``totals.json`` with the totals InVEST reports.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, ogr

gdal.UseExceptions()
ogr.UseExceptions()

import natcap.invest  # noqa: E402
import pygeoprocessing  # noqa: E402
from natcap.invest import datastack  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_cases import CASES  # noqa: E402

MODULES = {
    "carbon": "natcap.invest.carbon",
    "annual_water_yield": "natcap.invest.annual_water_yield",
    "sdr_d8": "natcap.invest.sdr.sdr",
    "sdr_mfd": "natcap.invest.sdr.sdr",
}

CARBON_RASTERS = ["c_storage_bas", "c_storage_alt", "c_change_bas_alt", "npv_alt"]
AWY_RASTERS = {
    "wyield": "output/per_pixel/wyield.tif",
    "aet": "output/per_pixel/aet.tif",
    "fractp": "output/per_pixel/fractp.tif",
    "pet": "intermediate/pet.tif",
}
SDR_RASTERS = [
    "rkls",
    "usle",
    "sed_export",
    "sed_deposition",
    "avoided_export",
    "avoided_erosion",
    "stream",
]
SDR_INTERMEDIATES = [
    "mask",
    "pit_filled_dem",
    "slope",
    "slope_threshold",
    "flow_direction",
    "flow_accumulation",
    "ls",
    "cp",
    "w",
    "w_threshold",
    "w_accumulation",
    "s_accumulation",
    "w_bar",
    "s_bar",
    "d_up",
    "ws_inverse",
    "d_dn",
    "ic",
    "sdr_factor",
    "what_drains_to_stream",
    "e_prime",
    "f",
]
CARBON_LABELS = {
    "Baseline Carbon Storage": "stock_base_tC",
    "Alternate Carbon Storage": "stock_alt_tC",
    "Change in Carbon Storage": "change_tC",
    "Net Present Value of Carbon Change": "npv",
}
SDR_FIELDS = {
    "usle_tot": "usle_t_yr",
    "avoid_eros": "avoided_erosion_t_yr",
    "sed_export": "sed_export_t_yr",
    "avoid_exp": "avoided_export_t_yr",
    "sed_dep": "sed_deposition_t_yr",
}


# --------------------------------------------------------------------------- helpers


def copy_raster(src: Path, dst: Path) -> None:
    """Losslessly copy a raster to a DEFLATE-compressed GeoTIFF (same dtype and nodata)."""
    ds = gdal.Open(str(src))
    is_float = ds.GetRasterBand(1).DataType in (gdal.GDT_Float32, gdal.GDT_Float64)
    options = ["COMPRESS=DEFLATE", "ZLEVEL=9", f"PREDICTOR={3 if is_float else 2}"]
    gdal.Translate(str(dst), ds, format="GTiff", creationOptions=options)
    ds = None


def read_vector_rows(src: Path) -> list[dict[str, Any]]:
    """Every attribute of a vector layer, plus ``fid`` and the polygon area (m2)."""
    ds = ogr.Open(str(src))
    layer = ds.GetLayer()
    defn = layer.GetLayerDefn()
    names = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    rows = []
    for feat in layer:
        row = {"fid": feat.GetFID(), **{n: feat.GetField(n) for n in names}}
        row["polygon_area_m2"] = feat.GetGeometryRef().Area()
        rows.append(row)
    ds = None
    return rows


def vector_to_csv(src: Path, dst: Path) -> None:
    """Write every attribute of a vector layer to CSV (plus fid and polygon area, m2)."""
    rows = read_vector_rows(src)
    with dst.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def raster_sum_t(path: Path) -> float:
    """Sum of valid pixels x pixel area in ha: t/ha(/yr) rasters -> t(/yr), in float64."""
    info = pygeoprocessing.get_raster_info(str(path))
    array = gdal.Open(str(path)).ReadAsArray()
    valid = ~pygeoprocessing.array_equals_nodata(array, info["nodata"][0])
    return float(np.sum(array[valid], dtype=np.float64) * abs(np.prod(info["pixel_size"])) / 1e4)


def load_args(case_dir: Path, key: str) -> dict[str, Any]:
    """Args from the datastack; check they match the bare args file."""
    stack = datastack.extract_parameter_set(str(case_dir / f"{key}.invs.json"))
    bare = json.loads((case_dir / f"{key}.args.json").read_text())
    for name, value in bare.items():
        resolved = value
        if isinstance(value, str) and value and (case_dir / value).exists():
            resolved = str((case_dir / value).resolve())
        if name != "workspace_dir" and stack.args[name] != resolved:
            raise RuntimeError(f"{case_dir.name}/{key}: datastack and args disagree on {name}")
    return dict(stack.args)


# --------------------------------------------------------------------------- per model


def carbon_totals(ws: Path) -> dict[str, Any]:
    """Totals from InVEST's raster_values_summary.csv (t C; NPV in the price's currency)."""
    totals: dict[str, Any] = {}
    with (ws / "raster_values_summary.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            totals[CARBON_LABELS[row["Raster"]]] = float(row["Total"])
    units = {"stock_base_tC": "t C", "stock_alt_tC": "t C", "change_tC": "t C"}
    return {"totals": totals, "units": {**units, "npv": "currency of the price arg"}}


def _volumes(rows: list[dict[str, Any]], id_field: str) -> dict[str, float | None]:
    return {str(r[id_field]): r["wyield_vol"] for r in rows}


def awy_totals(ws: Path, with_sub: bool) -> dict[str, Any]:
    """Volumes from InVEST's (sub)watershed results (wyield_mn x polygon area / 1000)."""
    vols = _volumes(read_vector_rows(ws / "output/watershed_results_wyield.shp"), "ws_id")
    result: dict[str, Any] = {
        "totals": {
            "wyield_volume_m3": float(sum(v for v in vols.values() if v is not None)),
            "watersheds": vols,
        },
        "units": {"wyield_volume_m3": "m3 yr-1", "watersheds": "m3 yr-1 per ws_id"},
    }
    if with_sub:
        sub = read_vector_rows(ws / "output/subwatershed_results_wyield.shp")
        result["totals"]["subwatersheds"] = _volumes(sub, "subws_id")
        result["units"]["subwatersheds"] = "m3 yr-1 per subws_id"
    return result


def sdr_totals(ws: Path) -> dict[str, Any]:
    """Totals = Σ over watersheds of watershed_results_sdr.shp fields (t/yr), as InVEST reports."""
    rows = read_vector_rows(ws / "watershed_results_sdr.shp")
    totals = {name: float(sum(r[field] for r in rows)) for field, name in SDR_FIELDS.items()}
    raster_of = {
        "usle_t_yr": "usle",
        "avoided_erosion_t_yr": "avoided_erosion",
        "sed_export_t_yr": "sed_export",
        "avoided_export_t_yr": "avoided_export",
        "sed_deposition_t_yr": "sed_deposition",
    }
    sums = {name: raster_sum_t(ws / f"{r}.tif") for name, r in raster_of.items()}
    per_ws = {str(r["ws_id"]): {name: r[field] for field, name in SDR_FIELDS.items()} for r in rows}
    return {
        "totals": totals,
        "units": dict.fromkeys(totals, "t yr-1"),
        "per_watershed": per_ws,
        "raster_sums_float64": sums,
        "note": (
            "totals = sum over watersheds of watershed_results_sdr.shp fields (as InVEST "
            "reports, fields rounded to 11 decimals); raster_sums_float64 = sum(valid px) * "
            "px_area/1e4 straight from the rasters"
        ),
    }


def model_totals(key: str, ws: Path, args: dict[str, Any]) -> dict[str, Any]:
    """Totals of one finished run, read from the InVEST workspace ``ws``."""
    if key == "carbon":
        return carbon_totals(ws)
    if key == "annual_water_yield":
        return awy_totals(ws, bool(args.get("sub_watersheds_path")))
    return sdr_totals(ws)


def collect_outputs(key: str, ws: Path, out: Path, args: dict[str, Any]) -> Path:
    """Copy the compared outputs of one run into ``out``; return a raster on the output grid."""
    if key == "carbon":
        for name in CARBON_RASTERS:
            copy_raster(ws / f"{name}.tif", out / f"{name}.tif")
        shutil.copy(ws / "raster_values_summary.csv", out / "raster_values_summary.csv")
        return ws / "c_storage_bas.tif"
    if key == "annual_water_yield":
        for name, rel in AWY_RASTERS.items():
            copy_raster(ws / rel, out / f"{name}.tif")
        for prefix in (
            ("watershed", "subwatershed") if args.get("sub_watersheds_path") else ("watershed",)
        ):
            src = ws / f"output/{prefix}_results_wyield.shp"
            vector_to_csv(src, out / f"{prefix}_results_wyield.csv")
        return ws / "output/per_pixel/wyield.tif"
    for name in SDR_RASTERS:
        copy_raster(ws / f"{name}.tif", out / f"{name}.tif")
    (out / "intermediate").mkdir()
    for name in SDR_INTERMEDIATES:
        copy_raster(
            ws / "intermediate_outputs" / f"{name}.tif", out / "intermediate" / f"{name}.tif"
        )
    for ext in ("shp", "shx", "dbf", "prj"):
        shutil.copy(ws / f"watershed_results_sdr.{ext}", out / f"watershed_results_sdr.{ext}")
    vector_to_csv(ws / "watershed_results_sdr.shp", out / "watershed_results_sdr.csv")
    return ws / "rkls.tif"


def grid_info(path: Path) -> dict[str, Any]:
    info = pygeoprocessing.get_raster_info(str(path))
    return {
        "shape_rows_cols": [info["raster_size"][1], info["raster_size"][0]],
        "pixel_size_m": list(info["pixel_size"]),
    }


def run_one(case_dir: Path, key: str, work: Path) -> dict[str, Any]:
    """Validate and execute one model run; collect its outputs; return its totals dict."""
    module = importlib.import_module(MODULES[key])
    args = load_args(case_dir, key)
    ws = work / case_dir.name / key
    if ws.exists():
        shutil.rmtree(ws)
    args["workspace_dir"] = str(ws)
    messages = module.validate(args)
    module.execute(args)
    out = case_dir / "invest" / key
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    grid = grid_info(collect_outputs(key, ws, out, args))
    result = model_totals(key, ws, args)
    doc = {
        "case": case_dir.name,
        "model": key,
        "model_id": module.MODEL_SPEC.model_id,
        "natcap.invest": natcap.invest.__version__,
        "args_file": f"{key}.invs.json",
        "validate_messages": [[list(keys), msg] for keys, msg in messages],
        **grid,
        **result,
    }
    (out / "totals.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return doc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=sorted(CASES))
    parser.add_argument("--models", nargs="*", default=list(MODULES))
    parser.add_argument("--work", type=Path, default=Path("/tmp/gep-peer-work"))
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ns.cases:
        for key in ns.models:
            doc = run_one(HERE / name, key, ns.work)
            print(name, key, json.dumps(doc["totals"]), "validate:", doc["validate_messages"])


if __name__ == "__main__":
    main()
