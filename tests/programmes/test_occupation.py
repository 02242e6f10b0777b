"""`gep occupation`: the GEP a footprint removes equals the two land-cover states by hand."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from shapely.geometry import box

from data_catalog.catalog import Catalog, load_catalog
from gep.accounts import unit_level, zonal_sum
from gep.config import demo_config_path, load_run_config
from gep.cropland import cropland_areas
from gep.errors import CRSError, InputError
from gep.occupation import annuity_factor, run_occupation
from gep.pipeline import ACCOUNTED, load_prices, run_service
from gep.valuation import value_quantities

R0, C0, ROWS, COLS = 220, 290, 6, 8  # a window of cropland, forest and shrub (CLCD 1, 2, 3)


def _config(tmp_path: Path, **occupation: Any) -> Path:
    raw = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    raw["occupation"] = {"horizon_years": 20, "discount_rate": 0.08, **occupation}
    path = tmp_path / "occupation.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _footprint(tmp_path: Path, crs: str | None = "grid", *, shift_rows: int = 0) -> Path:
    """The window's pixels, grown by 0.2 pixel on each side (edge pixels 20 % covered)."""
    cat = load_catalog(load_run_config(demo_config_path()).catalog_file())
    grid = cat.reference_grid()
    left, top = grid.transform * (C0 - 0.2, R0 + shift_rows - 0.2)
    right, bottom = grid.transform * (C0 + COLS + 0.2, R0 + shift_rows + ROWS + 0.2)
    gdf = gpd.GeoDataFrame(
        {"name": ["site"]}, geometry=[box(left, bottom, right, top)], crs=grid.crs.to_wkt()
    )
    if crs not in ("grid", None):
        gdf = gdf.to_crs(crs)
    path = tmp_path / f"footprint-{crs}-{shift_rows}.gpkg"
    if crs is None:
        gdf = gdf.set_crs(None, allow_override=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'crs' was not provided")
        gdf.to_file(path)
    return path


class _ByHand(Catalog):
    """The sample catalog with the 2020 land cover converted by index arithmetic."""

    swap: dict[str, xr.DataArray]

    def raster(self, entry_id: str, *, chunks: Any = None) -> xr.DataArray:
        return (
            self.swap[entry_id]
            if entry_id in self.swap
            else super().raster(entry_id, chunks=chunks)
        )


def _by_hand() -> float:
    """Both states computed directly with the services; valued at constant 2020 prices."""
    run = load_run_config(demo_config_path())
    cat = load_catalog(run.catalog_file())
    params = cat.table(run.parameters)
    lc = cat.raster("landcover_2020")
    after = lc.copy(deep=True)
    after.values[R0 : R0 + ROWS, C0 : C0 + COLS] = 8  # CLCD impervious
    swap = {"landcover_2020": after}
    built = lc.values == 8
    for entry in ("evapotranspiration_2020", "net_primary_production_2020"):
        da = cat.raster(entry)
        changed = da.copy(deep=True)
        changed.values[R0 : R0 + ROWS, C0 : C0 + COLS] = np.median(
            da.values[built & np.isfinite(da.values)]
        )
        swap[entry] = changed
    converted = _ByHand(cat.path, cat.name, cat.reference_id, cat.entries)
    converted.swap = swap
    districts = unit_level(
        cat.vector("districts"), cat.reference_grid(), level="district", id_field="adcode"
    )
    rows = []
    for state, catalog in (("before", cat), ("after", converted)):
        for service in run.services:
            result = run_service(catalog, run, params, service, 2020)
            for name in ACCOUNTED[service]:
                total = float(np.nansum(zonal_sum(districts, result[name].values)[0]))
                rows.append((state, 2020, name, total, result[name].attrs["units"]))
    table = pd.DataFrame(
        rows, columns=["unit_id", "year", "quantity_name", "quantity", "quantity_unit"]
    )
    prices, indices = load_prices(run)
    valued = value_quantities(table, run.valuation, prices, indices)
    gep = valued.groupby("unit_id")["value_constant_cny"].sum()
    return float(gep["before"] - gep["after"])


@pytest.fixture(scope="module")
def occupation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("occupation")
    return run_occupation(_footprint(folder), _config(folder), folder / "out")


def test_value_equals_the_two_states_computed_by_hand(occupation: dict[str, Any]) -> None:
    """Annual loss = GEP(before) - GEP(after) over the region at constant 2020 prices; the
    compensation is that loss x (1 - 1.08^-20) / 0.08 = x 9.818147."""
    expected = _by_hand()
    assert expected > 0
    assert occupation["annual_loss_constant_cny"] == pytest.approx(expected, rel=1e-9)
    assert occupation["annuity_factor"] == pytest.approx(9.818147407449294, rel=1e-12)
    assert occupation["compensation_cny"] == pytest.approx(expected * 9.818147407449294, rel=1e-9)
    assert occupation["converted_pixels"] == ROWS * COLS  # 20 % edge pixels are not converted
    assert occupation["converted_area_m2"] == pytest.approx(ROWS * COLS * 300.0 * 300.0)
    assert sum(occupation["classes_before"].values()) == ROWS * COLS


def test_water_conservation_loss_follows_the_water_balance(occupation: dict[str, Any]) -> None:
    """Water conservation Q = (P - aP - ET) A counts forest, shrub, grass and wetland only:
    converting a pixel to built-up removes its own Q (cropland has none), so the loss is the
    sum of Q over the window's forest and shrub pixels, x 9.04 CNY m-3 (constant 2020)."""
    run = load_run_config(demo_config_path())
    cat = load_catalog(run.catalog_file())
    q = run_service(cat, run, cat.table(run.parameters), "water_conservation", 2020)
    window = q["water_conserved"].values[R0 : R0 + ROWS, C0 : C0 + COLS]
    components = occupation["components"].set_index("service")
    row = components.loc["water_conservation"]
    assert row["quantity_before"] - row["quantity_after"] == pytest.approx(
        np.nansum(window), rel=1e-6
    )
    assert row["annual_loss_constant_cny"] == pytest.approx(
        np.nansum(window) * row["price_constant_cny"], rel=1e-6
    )


def test_outputs_are_written(occupation: dict[str, Any]) -> None:
    outputs = occupation["outputs"]
    assert outputs["map"].read_bytes()[:4] == b"\x89PNG"
    text = outputs["markdown"].read_text(encoding="utf-8")
    assert f"{occupation['compensation_cny']:,.2f} CNY" in text and "SYNTHETIC" in text
    assert "<table>" in outputs["html"].read_text(encoding="utf-8")
    assert sorted(p.name for p in outputs["map"].parent.iterdir()) == [
        "occupation.json",
        "occupation_components.csv",
        "occupation_map.png",
        "occupation_summary.html",
        "occupation_summary.md",
    ]


def test_annuity_factor_by_hand() -> None:
    """(1 - 1.05^-3) / 0.05 = 1/1.05 + 1/1.05^2 + 1/1.05^3 = 2.723248..."""
    assert annuity_factor(0.05, 3) == pytest.approx(1 / 1.05 + 1 / 1.05**2 + 1 / 1.05**3)
    assert annuity_factor(0.0, 7) == 7.0


def test_refuses_a_footprint_outside_the_region(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="outside the accounting region"):
        run_occupation(_footprint(tmp_path, shift_rows=-R0 - 3), _config(tmp_path), tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_refuses_another_crs_without_a_transform(tmp_path: Path) -> None:
    path = _footprint(tmp_path, "EPSG:4326")
    with pytest.raises(CRSError, match="EPSG:4326.*no transform was asked for"):
        run_occupation(path, _config(tmp_path), tmp_path / "o")
    with pytest.raises(CRSError, match="has no CRS"):
        run_occupation(_footprint(tmp_path, None), _config(tmp_path), tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_refuses_missing_policy_inputs(tmp_path: Path) -> None:
    raw = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    path = tmp_path / "no-occupation.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InputError, match="horizon_years"):
        run_occupation(_footprint(tmp_path), path, tmp_path / "o")


def test_cropland_areas_from_the_land_cover(tmp_path: Path) -> None:
    """Cropland m2 = 90,000 m2 per cropland pixel inside each unit (exact coverage)."""
    run = load_run_config(demo_config_path())
    cat = load_catalog(run.catalog_file())
    districts = unit_level(
        cat.vector("districts"), cat.reference_grid(), level="district", id_field="adcode"
    )
    table = cropland_areas(cat, [districts], [2015, 2020])
    lc15, lc20 = (cat.raster(f"landcover_{y}").values for y in (2015, 2020))
    by_hand = zonal_sum(districts, np.where(lc20 == 1, 90_000.0, 0.0))[0]
    got = table[table["year"] == 2020]["cropland_area_m2"].to_numpy()
    assert got == pytest.approx(by_hand)
    lost = table[table["year"] == 2020]["cropland_to_construction_m2"].sum()
    assert lost == pytest.approx(
        float(zonal_sum(districts, np.where((lc15 == 1) & (lc20 == 8), 90_000.0, 0.0))[0].sum())
    )
    assert lost > 0 and (table[table["year"] == 2015]["cropland_to_construction_m2"] == 0).all()


def test_cli_occupation_prints_the_compensation(tmp_path):
    from typer.testing import CliRunner

    from gep.cli import app

    out = tmp_path / "occ"
    result = CliRunner().invoke(
        app,
        [
            "occupation",
            str(_footprint(tmp_path)),
            "--config",
            str(_config(tmp_path)),
            "--out",
            str(out),
        ],
        terminal_width=160,
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and any(out.iterdir())
    outside = _footprint(tmp_path, shift_rows=10_000)
    refused = CliRunner().invoke(
        app, ["occupation", str(outside), "--config", str(_config(tmp_path))], terminal_width=160
    )
    assert refused.exit_code == 2
