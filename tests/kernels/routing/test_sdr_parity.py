"""Parity of :func:`gep.kernels.sdr.sdr_model` with stored natcap.invest 3.20.2 SDR runs.

The reference runs (inputs, InVEST outputs with intermediates, ``totals.json``) live in
``tests/regression/peer/<case>/`` (see its ``PROVENANCE.md``). We feed the kernel InVEST's own
aligned inputs (the DEM grid) with its mutual mask (``mask.tif``, which includes the
watershed mask) and compare every intermediate and output. InVEST is not imported.

Measured (natcap.invest 3.20.2, pygeoprocessing 2.4.11, the machine that made them): every
raster below was bit-identical for the three cases, D8 and MFD, with the same numpy build and
CPU features. LS uses numpy's float32 transcendental functions, whose SIMD code numpy picks at
run time, so on another CPU LS differs by up to ~1e-6 relative (measured with AVX-512 and with
the SIMD dispatch switched off). The tolerances asserted hold on any CPU: exact for the routing
rasters, 1e-5 relative per pixel elsewhere (plus the flux term of differences of fluxes, see
below); totals within 1e-5 relative (the issue asks for 0.5 % on soil loss and avoided erosion,
5 % on export and avoided export).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from gep.kernels.sdr import sdr_model

PEER = Path(__file__).resolve().parents[2] / "regression" / "peer"
CASES = sorted(p.parents[2].name for p in PEER.glob("*/invest/sdr_d8/totals.json"))

pytestmark = [
    pytest.mark.regression,
    pytest.mark.skipif(not CASES, reason="no stored InVEST SDR peer runs"),
]

#: our key -> InVEST raster (relative to the run folder), compared exactly
EXACT = {
    "filled_dem": "intermediate/pit_filled_dem.tif",
    "slope_percent": "intermediate/slope.tif",
    "flow_direction": "intermediate/flow_direction.tif",
    "flow_accumulation": "intermediate/flow_accumulation.tif",
    "stream": "stream.tif",
    "w_bar": "intermediate/w_bar.tif",
    "s_bar": "intermediate/s_bar.tif",
    "d_up": "intermediate/d_up.tif",
    "ws_inverse": "intermediate/ws_inverse.tif",
    "d_dn": "intermediate/d_dn.tif",
}
#: our key -> InVEST raster, compared within 1e-5 relative (LS and what depends on it)
CLOSE = {
    "ls": "intermediate/ls.tif",
    "ic": "intermediate/ic.tif",
    "sdr": "intermediate/sdr_factor.tif",
    "rkls": "rkls.tif",
    "usle": "usle.tif",
    "avoided_erosion": "avoided_erosion.tif",
    "sed_export": "sed_export.tif",
    "e_prime": "intermediate/e_prime.tif",
    "sed_deposition": "sed_deposition.tif",
    "flux": "intermediate/f.tif",
    "avoided_export": "avoided_export.tif",
}
#: our key -> totals.json key (t yr-1)
TOTALS = {
    "usle": "usle_t_yr",
    "avoided_erosion": "avoided_erosion_t_yr",
    "sed_export": "sed_export_t_yr",
    "avoided_export": "avoided_export_t_yr",
    "sed_deposition": "sed_deposition_t_yr",
}
#: tolerance the issue sets for each total
REQUIRED = {
    "usle": 0.005,
    "avoided_erosion": 0.005,
    "sed_export": 0.05,
    "avoided_export": 0.05,
    "sed_deposition": 0.05,
}


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        a = ds.read(1)
        nodata = ds.nodata
    if a.dtype.kind == "f":
        a = a.astype(np.float64)
        if nodata is not None:
            a[np.isclose(a, nodata)] = np.nan
    return a


def _run(case: str, algo: str) -> tuple[dict[str, np.ndarray], Path, float]:
    folder = PEER / case
    args = json.loads((folder / f"sdr_{algo}.args.json").read_text())
    run = folder / "invest" / f"sdr_{algo}"
    table = pd.read_csv(folder / args["biophysical_table_path"]).set_index("lucode")
    lulc = _read(folder / args["lulc_path"])
    usle_c = np.full(lulc.shape, np.nan)
    usle_p = np.full(lulc.shape, np.nan)
    for code, row in table.iterrows():
        usle_c[lulc == code] = row["usle_c"]
        usle_p[lulc == code] = row["usle_p"]
    with rasterio.open(folder / args["dem_path"]) as ds:
        cell = abs(ds.res[0])
    out = sdr_model(
        _read(folder / args["dem_path"]),
        _read(folder / args["erosivity_path"]),
        _read(folder / args["erodibility_path"]),
        usle_c,
        usle_p,
        ~np.isnan(_read(run / "intermediate" / "mask.tif")),
        cell,
        flow_dir_algorithm=args["flow_dir_algorithm"],
        threshold_flow_accumulation=args["threshold_flow_accumulation"],
        k=args["k_param"],
        ic0=args["ic_0_param"],
        sdr_max=args["sdr_max"],
        l_max=args["l_max"],
    )
    return out, run, cell


@pytest.fixture(
    scope="module",
    params=[(c, a) for c in CASES for a in ("d8", "mfd")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def run(request):
    return (*_run(*request.param), request.param)


def test_routing_rasters_identical(run):
    out, folder, _, _ = run
    for key, name in EXACT.items():
        theirs = _read(folder / name)
        ours = out[key]
        if ours.dtype.kind in "iu":
            np.testing.assert_array_equal(ours.astype(np.int64), theirs.astype(np.int64), key)
        else:
            np.testing.assert_array_equal(ours.astype(np.float64), theirs, key)


#: rasters that are differences of sediment fluxes (what arrives minus what leaves a pixel)
FLUX_DIFFERENCES = ("sed_deposition", "avoided_export")


def test_soil_loss_and_delivery_rasters_per_pixel(run):
    """Within 1e-5 relative of InVEST on any CPU (measured: ≤ 1.1e-6, LS's float32 ulps).

    Deposition and avoided export are differences of sediment fluxes of the size of the flux
    ``F`` and ``E'`` at the pixel: a relative error ε of LS becomes an absolute error of about
    ε·(|F| + |E'|), however small the difference. Their tolerance adds that term.
    """
    out, folder, _, _ = run
    terms = np.abs(out["flux"].astype(np.float64)) + np.abs(out["e_prime"].astype(np.float64))
    for key, name in CLOSE.items():
        theirs = _read(folder / name)
        ours = out[key].astype(np.float64)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), key)
        tolerance = 1e-5 * np.abs(theirs) + 1e-9
        if key in FLUX_DIFFERENCES:
            tolerance = tolerance + 1e-5 * np.nan_to_num(terms)
        error = np.abs(ours - theirs)
        worst = np.nanmax(np.where(np.isfinite(theirs), error / tolerance, 0.0))
        assert worst <= 1.0, f"{key}: {worst:.3g} times its tolerance"


def test_totals_within_tolerance(run):
    out, folder, cell, _ = run
    totals = json.loads((folder / "totals.json").read_text())["totals"]
    ha_per_px = cell * cell / 10_000
    for key, name in TOTALS.items():
        ours = float(np.nansum(out[key].astype(np.float64))) * ha_per_px
        rel = abs(ours - totals[name]) / abs(totals[name])
        assert rel <= REQUIRED[key], (key, ours, totals[name])
        assert rel <= 1e-5, (key, ours, totals[name])  # what we measure: ~1e-8
