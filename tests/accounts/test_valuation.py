"""Valuation and prices: hand-computed examples, deflators, double counting, bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
import xarray as xr
from affine import Affine

from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep.accounts import quantity_table, unit_level
from gep.prices import index_ratio, price_for_year
from gep.valuation import Component, ValuationConfig, sediment_factor_m3_per_t, value_quantities

PRICES = pd.DataFrame(
    {
        "item": ["reservoir_construction_cost", "carbon_price_co2", "carbon_price_co2"],
        "value": [7.06, 50.0, 80.0],
        "unit": ["CNY m-3", "CNY t-1 CO2", "CNY t-1 CO2"],
        "price_year": [2010, 2011, 2012],
        "deflator": ["cpi", "cpi", "cpi"],
        "source": ["Pema Dolkar et al. 2017", "test", "test"],
        "confidence": ["stated in source", "test", "test"],
    }
)
INDICES = pd.DataFrame({"year": [2011, 2012], "index": "cpi", "value": [105.4, 102.6]})
WATER = Component(
    service="water_conservation",
    component="reservoir_storage",
    quantity="water_conserved",
    quantity_unit="m3 yr-1",
    valued_unit="m3",
    price_item="reservoir_construction_cost",
)
GRID = Grid(pyproj.CRS.from_epsg(32650), Affine(100, 0, 500000, 0, -100, 4400000), (3, 3))


def _grid_da(values: np.ndarray, units: str) -> xr.DataArray:
    x, y = GRID.coords()
    return xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, attrs={"units": units})


def test_index_ratio_chains_previous_year_indices():
    assert index_ratio(INDICES, "cpi", 2010, 2012) == pytest.approx(1.054 * 1.026)
    assert index_ratio(INDICES, "cpi", 2012, 2010) == pytest.approx(1 / (1.054 * 1.026))
    assert index_ratio(INDICES, "cpi", 2011, 2011) == 1.0


def test_price_inflated_to_year_and_deflated_to_base():
    price = price_for_year(PRICES, INDICES, "reservoir_construction_cost", 2012, base_year=2011)
    # 7.06 CNY m-3 (2010) × 1.054 (2011) × 1.026 (2012) = 7.634 712 24 current 2012 prices;
    # at 2011 prices: 7.634 712 24 / 1.026 = 7.441 24
    assert price.current_cny == pytest.approx(7.63471224, rel=1e-12)
    assert price.constant_cny == pytest.approx(7.44124, rel=1e-12)
    assert price.price_year == 2010 and price.deflator == "cpi"


def test_observed_price_of_the_year_is_used():
    price = price_for_year(PRICES, INDICES, "carbon_price_co2", 2012, base_year=2011)
    assert price.current_cny == 80.0
    assert price.constant_cny == pytest.approx(80.0 / 1.026)
    assert price.price_year == 2012


def test_missing_price_year_is_a_clear_error():
    with pytest.raises(InputError, match=r"no value for year\(s\) \[2013\].*Add the index"):
        price_for_year(PRICES, INDICES, "reservoir_construction_cost", 2013, base_year=2011)


def test_unknown_price_item():
    with pytest.raises(InputError, match="not in the price table"):
        price_for_year(PRICES, INDICES, "gold", 2012, base_year=2011)


def test_three_by_three_valuation_by_hand():
    # 3 × 3 pixels of 100 m × 100 m = 10 000 m²; water conserved 1..9 mm → 10·d m³ per pixel,
    # 450 m³ in all. At 7.634 712 24 CNY m-3 (2012) → 3 435.620 508 CNY current; at 2011
    # prices 7.441 24 CNY m-3 → 3 348.558 CNY constant.
    depth_mm = np.arange(1, 10, dtype=np.float64).reshape(3, 3)
    volume = _grid_da(depth_mm / 1000.0 * 10_000.0, "m3 yr-1")
    box = shapely.box(*GRID.bounds)
    units = unit_level(
        gpd.GeoDataFrame({"code": ["A"]}, geometry=[box], crs=32650),
        GRID,
        level="township",
        id_field="code",
    )
    quantities = quantity_table([units], {("water_conserved", 2012): volume})
    config = ValuationConfig(base_year=2011, components=[WATER])
    valued = value_quantities(quantities, config, PRICES, INDICES)
    row = valued.iloc[0]
    assert row["quantity"] == pytest.approx(450.0)
    assert row["value_current_cny"] == pytest.approx(3435.620508, rel=1e-12)
    assert row["value_constant_cny"] == pytest.approx(3348.558, rel=1e-12)
    assert row["price_year"] == 2010


def test_polygon_covering_pixels_partly():
    values = _grid_da(np.arange(9, dtype=np.float64).reshape(3, 3) + 1, "m3 yr-1")
    # covers the right half of pixel (0, 0) and all of pixel (0, 1): 0.5·1 + 2 = 2.5
    poly = shapely.box(500050, 4399900, 500200, 4400000)
    units = unit_level(
        gpd.GeoDataFrame({"code": ["P"]}, geometry=[poly], crs=32650),
        GRID,
        level="township",
        id_field="code",
    )
    table = quantity_table([units], {("q", 2012): values})
    assert table["quantity"].iloc[0] == pytest.approx(2.5, rel=1e-9)
    assert table["valid_fraction"].iloc[0] == pytest.approx(1.0)


def test_unit_outside_raster_is_reported_not_zero():
    far = shapely.box(600000, 4300000, 600100, 4300100)
    inside = shapely.box(*GRID.bounds)
    gdf = gpd.GeoDataFrame(
        {"code": ["OUT", "IN"], "name": ["far", "here"]}, geometry=[far, inside], crs=32650
    )
    units = unit_level(gdf, GRID, level="township", id_field="code", name_field="name")
    assert len(units.warnings) == 1 and "OUT" in units.warnings[0]
    assert "missing (NaN), not zero" in units.warnings[0]
    table = quantity_table([units], {("q", 2012): _grid_da(np.ones((3, 3)), "m3 yr-1")})
    out = table.set_index("unit_id")["quantity"]
    assert np.isnan(out["OUT"]) and out["IN"] == pytest.approx(9.0)


def test_nodata_share_is_reported():
    values = np.ones((3, 3))
    values[0, 0] = np.nan
    units = unit_level(
        gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(*GRID.bounds)], crs=32650),
        GRID,
        level="t",
        id_field="code",
    )
    table = quantity_table([units], {("q", 2012): _grid_da(values, "m3 yr-1")})
    assert table["quantity"].iloc[0] == pytest.approx(8.0)
    assert table["valid_fraction"].iloc[0] == pytest.approx(8 / 9)


def test_double_counting_is_refused_with_an_explanation():
    carbon = Component(
        service="carbon_sequestration",
        component="co2_fixed",
        quantity="co2_sequestration",
        quantity_unit="t CO2 yr-1",
        valued_unit="t CO2",
        price_item="carbon_price_co2",
    )
    oxygen = Component(
        service="oxygen_release",
        component="oxygen",
        quantity="oxygen_released",
        quantity_unit="t yr-1",
        valued_unit="t",
        price_item="oxygen_price",
    )
    with pytest.raises(ValueError, match="double counting.*32/44"):
        ValuationConfig(base_year=2011, components=[carbon, oxygen])
    ok = ValuationConfig(
        base_year=2011, components=[carbon, oxygen.model_copy(update={"enabled": False})]
    )
    assert [c.service for c in ok.enabled()] == ["carbon_sequestration"]


def test_nutrients_and_water_purification_refused():
    soil_n = Component(
        service="soil_retention",
        component="nitrogen_loss_reduction",
        quantity="soil_retention",
        quantity_unit="t yr-1",
        factor=0.0037,
        valued_unit="t",
        price_item="nitrogen_treatment_cost",
    )
    water_n = Component(
        service="water_purification",
        component="nitrogen_removal",
        quantity="n_removed",
        quantity_unit="t yr-1",
        valued_unit="t",
        price_item="nitrogen_treatment_cost",
    )
    with pytest.raises(ValueError, match="same nitrogen"):
        ValuationConfig(base_year=2011, components=[soil_n, water_n])


def test_price_unit_must_match_valued_unit():
    wrong = WATER.model_copy(update={"valued_unit": "t"})
    quantities = pd.DataFrame(
        {
            "unit_id": ["A"],
            "year": [2012],
            "quantity_name": ["water_conserved"],
            "quantity": [1.0],
            "quantity_unit": ["m3 yr-1"],
        }
    )
    with pytest.raises(InputError, match="quoted in 'CNY m-3'.*needs 'CNY t-1'"):
        value_quantities(
            quantities, ValuationConfig(base_year=2011, components=[wrong]), PRICES, INDICES
        )


def test_switching_off_a_component_removes_it():
    quantities = pd.DataFrame(
        {
            "unit_id": ["A"],
            "year": [2012],
            "quantity_name": ["water_conserved"],
            "quantity": [1.0],
            "quantity_unit": ["m3 yr-1"],
        }
    )
    off = WATER.model_copy(update={"enabled": False})
    with pytest.raises(InputError, match="every component is disabled"):
        value_quantities(
            quantities, ValuationConfig(base_year=2011, components=[off]), PRICES, INDICES
        )


def test_sediment_factor():
    # λ = 0.24, ρ = 1.2 t m-3 → 0.2 m³ of deposited sediment per t of retained soil
    assert sediment_factor_m3_per_t(bulk_density_t_m3=1.2) == pytest.approx(0.2)
    assert sediment_factor_m3_per_t(bulk_density_t_m3=1.3, share=1.0) == pytest.approx(1 / 1.3)
    with pytest.raises(InputError):
        sediment_factor_m3_per_t(bulk_density_t_m3=0)
