"""Integrity of the stored InVEST 3.20.2 peer reference files (see PROVENANCE.md).

These tests check that the committed inputs and InVEST outputs are complete, readable with
rasterio/pyogrio, on one grid, and internally consistent (the totals in ``totals.json`` are the
sums of the stored rasters and vector tables, computed the way InVEST computes them). They do
not import InVEST and do not compare against gep: those comparisons live with the services.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

pytestmark = pytest.mark.regression

PEER = Path(__file__).resolve().parent
CASES = ["hills_30m", "valley_100m", "plateau_pits_30m"]
SHAPES = {"hills_30m": (60, 80), "valley_100m": (50, 70), "plateau_pits_30m": (64, 64)}
PIXEL_M = {"hills_30m": 30.0, "valley_100m": 100.0, "plateau_pits_30m": 30.0}
MODELS = ["carbon", "annual_water_yield", "sdr_d8", "sdr_mfd"]

INPUT_RASTERS = [
    "dem",
    "lulc_bas",
    "lulc_alt",
    "precip",
    "et0",
    "soil_depth",
    "pawc",
    "erosivity",
    "erodibility",
]
INPUT_TABLES = {
    "carbon_pools.csv": "lucode,c_above,c_below,c_soil,c_dead",
    "awy_biophysical.csv": "lucode,lulc_veg,root_depth,kc",
    "sdr_biophysical.csv": "lucode,usle_c,usle_p",
}
OUTPUT_RASTERS = {
    "carbon": ["c_storage_bas", "c_storage_alt", "c_change_bas_alt", "npv_alt"],
    "annual_water_yield": ["wyield", "aet", "fractp", "pet"],
    "sdr": [
        "rkls",
        "usle",
        "sed_export",
        "sed_deposition",
        "avoided_export",
        "avoided_erosion",
        "stream",
    ]
    + [
        f"intermediate/{n}"
        for n in (
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
        )
    ],
}
TOTAL_KEYS = {
    "carbon": {"stock_base_tC", "stock_alt_tC", "change_tC", "npv"},
    "annual_water_yield": {"wyield_volume_m3", "watersheds"},
    "sdr": {
        "usle_t_yr",
        "avoided_erosion_t_yr",
        "sed_export_t_yr",
        "avoided_export_t_yr",
        "sed_deposition_t_yr",
    },
}


def _family(model: str) -> str:
    return "sdr" if model.startswith("sdr") else model


def _read(path: Path) -> tuple[np.ndarray, float | None, rasterio.Affine, str]:
    with rasterio.open(path) as src:
        return src.read(1), src.nodata, src.transform, src.crs.to_string()


def _valid(array: np.ndarray, nodata: float | None) -> np.ndarray:
    """InVEST's nodata test (pygeoprocessing.array_equals_nodata): isclose for floats."""
    if nodata is None:
        return np.ones(array.shape, dtype=bool)
    if np.issubdtype(array.dtype, np.floating):
        return ~np.isclose(array, nodata, equal_nan=True)
    return array != nodata


def _sum_t(path: Path) -> float:
    """Σ valid pixel values (t/ha) x pixel area (ha): InVEST's raster total."""
    array, nodata, transform, _ = _read(path)
    area_ha = abs(transform.a * transform.e) / 1e4
    return float(np.sum(array[_valid(array, nodata)], dtype=np.float64) * area_ha)


def _totals(case: str, model: str) -> dict:
    return json.loads((PEER / case / "invest" / model / "totals.json").read_text())


@pytest.mark.parametrize("case", CASES)
def test_inputs_share_one_grid(case: str) -> None:
    ref_transform = None
    for name in INPUT_RASTERS:
        array, nodata, transform, crs = _read(PEER / case / "inputs" / f"{name}.tif")
        assert array.shape == SHAPES[case], name
        assert crs == "EPSG:32650", name
        assert nodata == (255 if name.startswith("lulc") else -9999.0), name
        assert transform.a == PIXEL_M[case] and transform.e == -PIXEL_M[case], name
        ref_transform = ref_transform or transform
        assert transform == ref_transform, name
        assert _valid(array, nodata).mean() > 0.98, name


@pytest.mark.parametrize("case", CASES)
def test_input_tables_and_polygons(case: str) -> None:
    inputs = PEER / case / "inputs"
    for name, header in INPUT_TABLES.items():
        assert (inputs / name).read_text().splitlines()[0] == header
    lulc = {
        int(v)
        for name in ("lulc_bas", "lulc_alt")
        for v in np.unique(_read(inputs / f"{name}.tif")[0])
    }
    for name in INPUT_TABLES:
        codes = {int(line.split(",")[0]) for line in (inputs / name).read_text().splitlines()[1:]}
        assert lulc - {255} <= codes, f"{name} misses classes {lulc - {255} - codes}"
    ws = pyogrio.read_dataframe(inputs / "watersheds.gpkg")
    assert ws.crs.to_epsg() == 32650
    assert ws["ws_id"].is_unique and len(ws) >= 2
    rows, cols = SHAPES[case]
    extent_m2 = rows * cols * PIXEL_M[case] ** 2
    assert math.isclose(ws.geometry.area.sum(), extent_m2, rel_tol=1e-9)  # tiles the extent


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("model", MODELS)
def test_args_files_are_relative_and_resolve(case: str, model: str) -> None:
    case_dir = PEER / case
    bare = json.loads((case_dir / f"{model}.args.json").read_text())
    stack = json.loads((case_dir / f"{model}.invs.json").read_text())
    assert stack["args"] == bare
    assert "model_id" in stack or {"model_name", "invest_version"} <= set(stack)
    paths = [v for k, v in bare.items() if k.endswith("_path") and v]
    assert paths, "no input paths"
    for rel in paths:
        assert not Path(rel).is_absolute() and (case_dir / rel).exists(), rel


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("model", MODELS)
def test_outputs_complete_and_on_input_grid(case: str, model: str) -> None:
    out = PEER / case / "invest" / model
    _, _, in_transform, _ = _read(PEER / case / "inputs" / "dem.tif")
    for name in OUTPUT_RASTERS[_family(model)]:
        array, nodata, transform, crs = _read(out / f"{name}.tif")
        assert array.shape == SHAPES[case], name
        assert transform == in_transform and crs == "EPSG:32650", name
        assert _valid(array, nodata).any(), f"{name} is all nodata"
    doc = _totals(case, model)
    assert doc["natcap.invest"] == "3.20.2"
    assert doc["validate_messages"] == []
    assert TOTAL_KEYS[_family(model)] <= set(doc["totals"])


@pytest.mark.parametrize("case", CASES)
def test_carbon_totals_are_raster_sums(case: str) -> None:
    out = PEER / case / "invest" / "carbon"
    totals = _totals(case, "carbon")["totals"]
    for key, raster in (
        ("stock_base_tC", "c_storage_bas"),
        ("stock_alt_tC", "c_storage_alt"),
        ("change_tC", "c_change_bas_alt"),
        ("npv", "npv_alt"),
    ):
        assert math.isclose(totals[key], _sum_t(out / f"{raster}.tif"), rel_tol=1e-12), key


@pytest.mark.parametrize("case", CASES)
def test_water_yield_volumes_are_mean_times_polygon_area(case: str) -> None:
    out = PEER / case / "invest" / "annual_water_yield"
    totals = _totals(case, "annual_water_yield")["totals"]
    table = pyogrio.read_dataframe(out / "watershed_results_wyield.csv")
    for _, row in table.iterrows():
        # InVEST: wyield_vol = wyield_mn [mm] x polygon area [m2] / 1000
        expected = float(row["wyield_mn"]) * float(row["polygon_area_m2"]) / 1000.0
        assert math.isclose(totals["watersheds"][str(row["ws_id"])], expected, rel_tol=1e-9)
    assert math.isclose(
        totals["wyield_volume_m3"], sum(totals["watersheds"].values()), rel_tol=1e-12
    )


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("model", ["sdr_d8", "sdr_mfd"])
def test_sdr_totals_are_raster_sums(case: str, model: str) -> None:
    out = PEER / case / "invest" / model
    totals = _totals(case, model)["totals"]
    for key, raster in (
        ("usle_t_yr", "usle"),
        ("avoided_erosion_t_yr", "avoided_erosion"),
        ("sed_export_t_yr", "sed_export"),
        ("avoided_export_t_yr", "avoided_export"),
        ("sed_deposition_t_yr", "sed_deposition"),
    ):
        # InVEST's zonal sums and 11-decimal shapefile fields: observed max 7.1e-8 relative
        assert math.isclose(totals[key], _sum_t(out / f"{raster}.tif"), rel_tol=5e-7), key
    shp = pyogrio.read_dataframe(out / "watershed_results_sdr.shp", read_geometry=False)
    assert math.isclose(shp["usle_tot"].sum(), totals["usle_t_yr"], rel_tol=1e-12)


def test_peer_folder_stays_small() -> None:
    size = sum(p.stat().st_size for p in PEER.rglob("*") if p.is_file())
    assert size < 8 * 1024**2, f"peer references are {size / 1024**2:.1f} MiB"
