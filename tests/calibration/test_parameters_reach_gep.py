"""Fitted parameters reach the quantities they govern: ``gep calibrate`` → ``gep run``.

Per-basin Z goes through the raster ``seasonality_by_basin`` (catalog variable ``seasonality``)
into the water-yield service; the C–NDVI relation goes through ``cover_from_ndvi`` and the
catalog's ``ndvi`` raster into soil retention. A configuration without them gives exactly the
results of one that never heard of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr
import yaml

from data_catalog.catalog import load_catalog
from data_catalog.sample import catalog_path
from gep.calibration import c_factor_van_der_knijff
from gep.calibration.writeback import calibrated_catalog
from gep.calibration_cli import run_calibration
from gep.config import demo_config_path, load_run_config
from gep.pipeline import RasterSource, run_accounts, run_service
from gep.pipeline.accounts import restrict_services
from gep.pipeline.inputs import catalog_entries
from gep.services import SERVICES

CONFIG = Path(__file__).resolve().parents[2] / "gep" / "configs" / "calibrate_sample.yaml"

#: synthetic NDVI per CLCD class (cropland, forest, shrub, grassland, water, bare, bare,
#: built-up, wetland)
NDVI_OF_CLASS = {1: 0.55, 2: 0.8, 3: 0.7, 4: 0.5, 5: -0.2, 6: 0.1, 7: 0.1, 8: 0.15, 9: 0.4}


def _calibration(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    raw["leave_one_gauge_out"] = False
    raw.update(changes)
    path = tmp_path / "calibrate.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def per_basin(tmp_path_factory):
    """``gep calibrate`` with one Z per gauge on both years (the sample's 4 gauges)."""
    tmp = tmp_path_factory.mktemp("per_basin")
    config = _calibration(
        tmp, per_basin=True, calibration_years=[2015, 2020], validation_years=None
    )
    return run_calibration(config, tmp / "report")


def test_per_basin_z_is_written_as_a_catalog_raster(per_basin):
    files = per_basin["outputs"]
    assert per_basin["passed"]
    cat = load_catalog(files["catalog"])
    assert cat.check() == []
    entry = cat.entry("seasonality_by_basin")
    assert entry.variable == "seasonality" and entry.year is None
    z = cat.raster("seasonality_by_basin").values
    fitted = sorted(v for k, v in per_basin["parameters"].items() if k.startswith("seasonality:"))
    present = np.unique(z[np.isfinite(z)])
    np.testing.assert_allclose(present, np.float32(fitted), rtol=1e-6)
    # the pipeline supplies it to the water-yield service (and only where the catalog has it)
    spec = SERVICES["water_yield"].spec
    assert catalog_entries(cat, spec, 2020)["seasonality_by_basin"] == "seasonality_by_basin"
    sample = load_catalog(catalog_path())
    assert "seasonality_by_basin" not in catalog_entries(sample, spec, 2020)
    # the report says what the target changes: water yield is not valued by the demo
    assert "physical accounts of water_yield (in the fitted basins)" in per_basin["gep_components"]
    summary = files["summary"].read_text(encoding="utf-8")
    assert "physical accounts of water_yield" in summary


def test_per_basin_z_changes_water_yield_in_the_expected_direction(per_basin):
    """Every fitted Z is above the demo's 5: less water yield in the gauged basins (more
    evapotranspiration on the Budyko curve), exactly the same yield elsewhere; the dask path
    gives the numpy path's result."""
    files = per_basin["outputs"]
    run = load_run_config(files["run_config"])
    cat = load_catalog(run.catalog_file())
    base = load_run_config(demo_config_path())
    base_cat = load_catalog(base.catalog_file())
    assert run.services["water_yield"]["seasonality"] == base.services["water_yield"]["seasonality"]
    assert min(per_basin["parameters"].values()) > base.services["water_yield"]["seasonality"]
    new = run_service(cat, run, cat.table(run.parameters), "water_yield", 2020)["water_yield"]
    old = run_service(base_cat, base, base_cat.table(base.parameters), "water_yield", 2020)
    old = old["water_yield"].values
    z = cat.raster("seasonality_by_basin").values
    basins = np.isfinite(z)
    assert np.nansum(new.values[basins]) < 0.9 * np.nansum(old[basins])
    np.testing.assert_array_equal(new.values[~basins], old[~basins])
    lazy = run_service(
        cat, run, cat.table(run.parameters), "water_yield", 2020, source=RasterSource(cat, 128)
    )["water_yield"]
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, new.values)


def _catalog_with_ndvi(tmp_path: Path) -> Path:
    """The sample catalog (absolute paths) with synthetic NDVI layers for 2015 and 2020."""
    sample = load_catalog(catalog_path())
    raw = calibrated_catalog(catalog_path(), "parameters", sample.resolve("parameters"))
    rng = np.random.default_rng(7)
    for year in (2015, 2020):
        lc = sample.raster(sample.find(variable="landcover", year=year))
        codes = lc.values.astype(int)
        ndvi = np.vectorize(lambda c: NDVI_OF_CLASS.get(c, np.nan))(codes)
        ndvi = np.clip(ndvi + rng.normal(0.0, 0.05, ndvi.shape), -1, 1).astype(np.float32)
        da = xr.DataArray(np.where(np.isfinite(ndvi), ndvi, -9999.0), dims=("y", "x"))
        da = da.assign_coords(y=lc["y"], x=lc["x"]).astype(np.float32)
        da = da.rio.write_crs(lc.rio.crs).rio.write_transform(lc.rio.transform())
        path = tmp_path / f"ndvi_{year}.tif"
        da.rio.write_nodata(-9999.0).rio.to_raster(path)
        raw["entries"][f"ndvi_{year}"] = {
            "kind": "raster",
            "path": str(path),
            "year": year,
            "variable": "ndvi",
            "units": "1",
            "crs": "EPSG:32650",
            "nodata": -9999.0,
            "valid_range": [-1.0, 1.0],
            "source": "synthetic (test)",
            "licence": "CC0-1.0",
            "synthetic": True,
        }
    path = tmp_path / "catalog_ndvi.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def c_ndvi(tmp_path_factory):
    """``gep calibrate`` of the C–NDVI relation (truth α = 2, β = 1.2) on a catalog with NDVI,
    writing the run config from a base that runs soil retention only (fast)."""
    tmp = tmp_path_factory.mktemp("c_ndvi")
    catalog = _catalog_with_ndvi(tmp)
    base = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    base["catalog"] = str(catalog)
    base["years"] = [2020]
    base_path = tmp / "base_run.yaml"
    base_path.write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    rng = np.random.default_rng(4)
    ndvi = rng.uniform(0.05, 0.85, 120)
    c = np.clip(c_factor_van_der_knijff(ndvi, 2.0, 1.2) + rng.normal(0, 0.005, ndvi.size), 0, 1)
    pd.DataFrame({"ndvi": ndvi, "c": c}).to_csv(tmp / "plots.csv", index=False)
    config = _calibration(
        tmp,
        catalog=str(catalog),
        target="c_factor_ndvi",
        bounds={},
        calibration_years=None,
        validation_years=None,
        base_run_config=str(base_path),
        observations={"table": "plots.csv", "value_column": "c", "value_unit": "1"},
    )
    return run_calibration(config, tmp / "report"), base_path


def test_c_ndvi_relation_reaches_soil_retention(c_ndvi):
    """Retention changes by exactly R·K·LS·P·(C_class − C_ndvi) on the pixels under the method
    with NDVI; elsewhere nothing changes."""
    out, base_path = c_ndvi
    assert out["passed"]
    assert "soil_retention/sediment_reduction" in out["gep_components"]
    run = load_run_config(out["outputs"]["run_config"])
    soil = run.services["soil_retention"]
    assert soil["cover_from_ndvi"] == "van_der_knijff"
    alpha, beta = soil["c_ndvi_alpha"], soil["c_ndvi_beta"]
    assert alpha == pytest.approx(2.0, rel=0.05) and beta == pytest.approx(1.2, rel=0.05)
    cat = load_catalog(run.catalog_file())
    params = cat.table(run.parameters)
    new = run_service(cat, run, params, "soil_retention", 2020)
    base = load_run_config(base_path)
    old = run_service(cat, base, params, "soil_retention", 2020)
    ndvi = cat.raster("ndvi_2020").values.astype(np.float64)
    codes = cat.raster("landcover_2020").values.astype(int)
    types = pd.read_csv(Path(catalog_path()).parent.parent / "tables/schemes/clcd.csv")
    eco = types.set_index("code")["ecosystem_type"]
    wide = params.pivot_table(index="ecosystem_type", columns="parameter", values="value")
    per_code = wide.reindex(eco.reindex(range(1, 10)).to_numpy()).set_axis(range(1, 10))
    lut = {
        k: per_code[k].reindex(codes.ravel()).to_numpy().reshape(codes.shape)
        for k in ("usle_c", "usle_p", "rusle_applies")
    }
    c_new = np.where(
        (lut["rusle_applies"] == 1) & np.isfinite(ndvi),
        c_factor_van_der_knijff(ndvi, alpha, beta),
        lut["usle_c"],
    )
    potential = old["soil_loss_potential"].values
    expected = potential * lut["usle_p"] * (lut["usle_c"] - c_new)
    expected = np.where(lut["rusle_applies"] == 1, expected, 0.0)
    change = new["soil_retention"].values - old["soil_retention"].values
    ok = np.isfinite(change)
    np.testing.assert_allclose(
        change[ok], expected[ok], rtol=1e-9, atol=1e-9 * np.nanmax(potential)
    )
    assert np.nansum(np.abs(change)) > 0


def test_c_ndvi_run_changes_gep_in_the_predicted_direction(c_ndvi):
    """``gep run`` on the calibrated config (soil retention only): the soil-retention
    components change in the direction of Σ R·K·LS·P·(C_class − C_ndvi); the base config on the
    same catalog (cover_from_ndvi none) gives exactly the sample catalog's accounts."""
    out, base_path = c_ndvi
    run = restrict_services(load_run_config(out["outputs"]["run_config"]), ["soil_retention"])
    base = restrict_services(load_run_config(base_path), ["soil_retention"])
    sample = restrict_services(load_run_config(demo_config_path()), ["soil_retention"])
    sample = sample.model_copy(update={"years": [2020]})
    cat, acc_new = run_accounts(run)
    _, acc_base = run_accounts(base)
    _, acc_sample = run_accounts(sample)

    def gep(acc):
        a = acc.accounts
        return a[a["level"] == "district"].groupby("unit_id")["value_constant_cny"].sum()

    params = cat.table(run.parameters)
    predicted = run_service(cat, run, params, "soil_retention", 2020)["soil_retention"].values
    predicted = (
        predicted - run_service(cat, base, params, "soil_retention", 2020)["soil_retention"].values
    )
    change = gep(acc_new) - gep(acc_base)
    assert np.sign(change.sum()) == np.sign(np.nansum(predicted)) != 0
    pd.testing.assert_series_equal(gep(acc_base), gep(acc_sample), check_exact=True)
