"""GEP by category, GEP-R, partial totals, carbon market prices and double counting."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from data_catalog.errors import InputError
from data_catalog.tables import load_carbon_market_prices, load_unit_prices
from gep.accounts import gep_by_unit
from gep.config import demo_config_path, load_run_config
from gep.pipeline import load_prices, restrict_services
from gep.prices import carbon_market_series, price_for_year
from gep.services.catalogue import CATALOGUE, missing_items
from gep.valuation import Component, ValuationConfig

INDICES = pd.DataFrame(
    {"year": [2021, 2022, 2023, 2024], "index": "cpi", "value": [100.9, 102.0, 100.2, 100.2]}
)


def _rows(service: str, value: float, unit: str = "A") -> dict[str, object]:
    return {
        "unit_id": unit,
        "unit_name": unit,
        "level": "district",
        "parent_id": "0",
        "year": 2020,
        "service": service,
        "component": "c",
        "value_current_cny": value,
        "value_constant_cny": value,
        "area_km2": 2.0,
    }


def test_gep_by_category_and_gep_r_by_hand() -> None:
    accounts = pd.DataFrame(
        [
            _rows("water_conservation", 100.0),
            _rows("climate_regulation", 50.0),
            _rows("agricultural_products", 30.0),
            _rows("recreation", 20.0),
        ]
    )
    g = gep_by_unit(accounts).iloc[0]
    assert g["gep_constant_cny"] == 200.0
    assert g["gep_regulating_constant_cny"] == 150.0 == g["gep_r_constant_cny"]
    assert g["gep_provisioning_constant_cny"] == 30.0
    assert g["gep_cultural_constant_cny"] == 20.0
    assert g["gep_constant_cny_per_km2"] == 100.0
    assert g["gep_scope"] == "partial"
    assert "soil_retention" in g["gep_missing"] and "recreation" not in g["gep_missing"]


def test_complete_catalogue_is_not_partial() -> None:
    accounts = pd.DataFrame([_rows(i.service, 1.0) for i in CATALOGUE if not i.optional])
    g = gep_by_unit(accounts).iloc[0]
    assert g["gep_scope"] == "complete" and g["gep_missing"] == ""
    assert missing_items({i.service for i in CATALOGUE}) == []


def test_every_catalogue_item_has_a_category_and_method() -> None:
    assert {i.category for i in CATALOGUE} == {"provisioning", "regulating", "cultural"}
    assert all(i.method and i.inputs and i.price and i.zh for i in CATALOGUE)
    assert len({i.service for i in CATALOGUE}) == len(CATALOGUE)


def test_carbon_market_series_reads_the_annual_means() -> None:
    series = carbon_market_series(load_carbon_market_prices())
    ets = series[series["item"] == "carbon_price_national_ets"].set_index("price_year")["value"]
    assert ets.to_dict() == {2021: 46.6, 2022: 58.1, 2023: 64.0, 2024: 91.8}
    pilot = series[series["item"] == "carbon_price_beijing_pilot"]
    assert pilot["value"].tolist() == [102.0] and pilot["price_year"].tolist() == [2024]
    assert (series["unit"] == "CNY t-1 CO2").all()
    assert series["source"].str.len().gt(0).all()


def test_carbon_market_price_of_a_year_and_before_the_market() -> None:
    prices = carbon_market_series(load_carbon_market_prices())
    p22 = price_for_year(prices, INDICES, "carbon_price_national_ets", 2022, base_year=2022)
    assert p22.current_cny == 58.1 and p22.price_year == 2022
    # 2020, before the national market opened (2021-07-16): the 2021 mean deflated back by the
    # 2021 CPI: 46.6 / 1.009 = 46.184 CNY per t CO2
    p20 = price_for_year(prices, INDICES, "carbon_price_national_ets", 2020, base_year=2020)
    assert p20.current_cny == pytest.approx(46.6 / 1.009, rel=1e-12)
    assert p20.price_year == 2021


def test_carbon_market_rows_need_annual_flags_and_co2_units() -> None:
    table = load_carbon_market_prices()
    table.loc[table["market"] == "beijing_pilot", "annual_series"] = False
    with pytest.raises(InputError, match="beijing_pilot.*annual_series"):
        carbon_market_series(table)
    table = load_carbon_market_prices()
    table.loc[0:2, "unit"] = "CNY t-1 C"
    with pytest.raises(InputError, match="12/44"):
        carbon_market_series(table)


def test_demo_values_carbon_at_the_market_and_nutrients_at_the_tax() -> None:
    config = load_run_config(demo_config_path())
    items = {c.component: c.price_item for c in config.valuation.enabled()}
    assert items["co2_fixed"] == "carbon_price_national_ets"
    assert items["nitrogen_loss_reduction"] == "total_nitrogen_env_tax_beijing"
    assert items["phosphorus_loss_reduction"] == "total_phosphorus_env_tax_beijing"
    prices, _ = load_prices(config)
    assert "carbon_price_beijing_pilot" in set(prices["item"])
    builtin = load_unit_prices().set_index("item")
    # 14 CNY per water-pollutant equivalent ÷ 1.5 kg TN, ÷ 0.25 kg TP, per t
    assert builtin.loc["total_nitrogen_env_tax_beijing", "value"] == pytest.approx(14 / 1.5e-3)
    assert builtin.loc["total_phosphorus_env_tax_beijing", "value"] == pytest.approx(14 / 0.25e-3)
    assert builtin.loc["carbon_afforestation_cost_co2", "value"] == 380  # the alternative


def _component(service: str, quantity: str, **kw: object) -> Component:
    return Component(
        service=service,
        component=quantity,
        quantity=quantity,
        quantity_unit="t yr-1",
        valued_unit="t",
        price_item="x",
        **kw,  # type: ignore[arg-type]
    )


def test_both_carbon_methods_valued_is_refused() -> None:
    nep = _component("carbon_sequestration", "co2_sequestration")
    stock = _component("carbon_sequestration", "co2_sequestration_stock_change")
    with pytest.raises(ValidationError, match="NEP method and the stock-change"):
        ValuationConfig(base_year=2020, components=[nep, stock])
    ValuationConfig(base_year=2020, components=[nep, stock], allow_double_counting=True)


def test_oxygen_with_carbon_is_refused_unless_declared() -> None:
    carbon = _component("carbon_sequestration", "co2_sequestration")
    oxygen = _component("oxygen_release", "oxygen_release")
    with pytest.raises(ValidationError, match="oxygen release"):
        ValuationConfig(base_year=2020, components=[carbon, oxygen])
    off = _component("oxygen_release", "oxygen_release", enabled=False)
    assert len(ValuationConfig(base_year=2020, components=[carbon, off]).enabled()) == 1


def test_unknown_service_needs_a_category() -> None:
    with pytest.raises(ValidationError, match="not in the GEP catalogue"):
        _component("bird_watching", "q")
    assert _component("bird_watching", "q", category="cultural").category == "cultural"


def test_restricted_run_keeps_only_its_components() -> None:
    config = restrict_services(load_run_config(demo_config_path()), ("water_conservation",))
    assert list(config.services) == ["water_conservation"]
    assert [c.quantity for c in config.valuation.components] == ["water_conserved"]
