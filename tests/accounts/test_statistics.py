"""Statistics-based services (provisioning, recreation): worked example and bad input."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_catalog.errors import InputError
from gep.services.statistics import unit_quantities
from gep.valuation import Component, ValuationConfig, value_quantities

DISTRICTS = pd.DataFrame(
    {"unit_id": ["D"], "unit_name": ["d"], "level": ["district"], "parent_id": ["0"],
     "area_km2": [10.0]}
)  # fmt: skip
TOWNS = pd.DataFrame(
    {"unit_id": ["T1", "T2"], "unit_name": ["t1", "t2"], "level": ["township"] * 2,
     "parent_id": ["D", "D"], "area_km2": [4.0, 6.0]}
)  # fmt: skip


def _stats(grain: tuple[float, float] = (3.0, 5.0), year: int = 2020) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": ["T1", "T2", "T1", "T2"],
            "year": [year] * 4,
            "service": ["agricultural_products"] * 2 + ["recreation"] * 2,
            "item": ["grain", "grain", "visits", "visits"],
            "quantity": [*grain, 100.0, 0.0],
            "quantity_unit": ["t yr-1"] * 2 + ["visits yr-1"] * 2,
        }
    )


def test_output_times_price_by_hand() -> None:
    q = unit_quantities(_stats(), [DISTRICTS, TOWNS], name="s", years=[2020])
    d = q[(q["unit_id"] == "D")].set_index("quantity_name")
    assert d.loc["grain", "quantity"] == 8.0  # 3 + 5 t from the two townships
    assert d.loc["visits", "quantity"] == 100.0
    assert (q["valid_fraction"] == 1.0).all()
    prices = pd.DataFrame(
        {"item": ["grain_price", "spend"], "value": [2600.0, 150.0],
         "unit": ["CNY t-1", "CNY visit-1"], "price_year": [2020, 2020],
         "deflator": ["cpi", "cpi"], "source": ["test", "test"], "confidence": ["test"] * 2}
    )  # fmt: skip
    indices = pd.DataFrame({"year": [2020], "index": ["cpi"], "value": [102.5]})
    config = ValuationConfig(
        base_year=2020,
        components=[
            Component(
                service="agricultural_products",
                component="grain",
                quantity="grain",
                quantity_unit="t yr-1",
                valued_unit="t",
                price_item="grain_price",
            ),
            Component(
                service="recreation",
                component="visits",
                quantity="visits",
                quantity_unit="visits yr-1",
                valued_unit="visit",
                price_item="spend",
            ),
        ],  # fmt: skip
    )
    valued = value_quantities(q, config, prices, indices).set_index(["unit_id", "component"])
    assert valued.loc[("D", "grain"), "value_constant_cny"] == 8.0 * 2600.0  # 20 800 CNY
    assert valued.loc[("T1", "visits"), "value_constant_cny"] == 100.0 * 150.0
    assert valued.loc[("D", "visits"), "category"] == "cultural"
    assert valued.loc[("D", "grain"), "category"] == "provisioning"


@settings(max_examples=30, deadline=None)
@given(st.tuples(st.floats(0, 1e9), st.floats(0, 1e9)))
def test_district_is_the_sum_of_its_townships(grain: tuple[float, float]) -> None:
    q = unit_quantities(_stats(grain), [DISTRICTS, TOWNS], name="s", years=[2020])
    rows = q[q["quantity_name"] == "grain"].set_index("unit_id")["quantity"]
    assert rows["D"] == pytest.approx(rows["T1"] + rows["T2"], rel=1e-12)


def test_bad_statistics_are_named_with_the_fix() -> None:
    with pytest.raises(InputError, match="missing.*unit T2, 2020, grain"):
        unit_quantities(_stats().drop(index=1), [DISTRICTS, TOWNS], name="s", years=[2020])
    strange = _stats().assign(unit_id=["T1", "X", "T1", "T2"])
    with pytest.raises(InputError, match=r"\['X'\] are not units of the finest level"):
        unit_quantities(strange, [DISTRICTS, TOWNS], name="s", years=[2020])
    with pytest.raises(InputError, match="negative quantity.*expected ≥ 0"):
        unit_quantities(_stats((-1.0, 5.0)), [DISTRICTS, TOWNS], name="s", years=[2020])
    with pytest.raises(InputError, match="not in the GEP catalogue"):
        unit_quantities(_stats().assign(service="gold"), [DISTRICTS, TOWNS], name="s", years=[2020])
    with pytest.raises(InputError, match=r"no rows for year\(s\) \[2015\]"):
        unit_quantities(_stats(), [DISTRICTS, TOWNS], name="s", years=[2015, 2020])
    with pytest.raises(InputError, match="no column"):
        unit_quantities(_stats().drop(columns="item"), [DISTRICTS, TOWNS], name="s", years=[2020])
