"""Both carbon methods run from a run configuration, each with its own quantity name."""

from __future__ import annotations

import numpy as np
import pytest

from data_catalog.catalog import load_catalog
from data_catalog.errors import InputError
from gep.config import demo_config_path, load_run_config
from gep.pipeline import compute_quantities, run_accounts
from gep.valuation import Component


def _config(services: dict[str, dict[str, object]], years: list[int]):  # type: ignore[no-untyped-def]
    config = load_run_config(demo_config_path())
    component = Component(
        service="carbon_sequestration",
        component="co2_fixed_stock_change",
        quantity="co2_sequestration_stock_change",
        quantity_unit="t CO2 yr-1",
        valued_unit="t CO2",
        price_item="carbon_price_national_ets",
        deflator="cpi",
    )
    return config.model_copy(
        update={
            "years": years,
            "services": services,
            "valuation": config.valuation.model_copy(update={"components": [component]}),
        }
    )


def test_stock_change_runs_from_the_configuration() -> None:
    config = _config({"carbon_stock_change": {}, "carbon_nep": {"nep_npp_ratio": 0.4}}, [2020])
    _, acc = run_accounts(config)
    names = set(acc.quantities["quantity_name"])
    assert {"co2_sequestration", "co2_sequestration_stock_change"} <= names
    district = acc.accounts[acc.accounts["level"] == "district"]
    assert set(district["component"]) == {"co2_fixed_stock_change"}
    # the 2015→2020 change of the sample's land cover is spread over 5 years; both methods
    # give different numbers for the same region (they measure different things)
    q = acc.quantities.groupby("quantity_name")["quantity"].sum()
    assert q["co2_sequestration_stock_change"] != pytest.approx(q["co2_sequestration"])
    assert np.isfinite(district["value_constant_cny"]).all()


def test_stock_change_needs_an_earlier_land_cover() -> None:
    config = _config({"carbon_stock_change": {}}, [2015])
    cat = load_catalog(config.catalog_file())
    with pytest.raises(InputError, match="no land cover before 2015.*carbon_nep"):
        compute_quantities(cat, config, cat.table(config.parameters))
