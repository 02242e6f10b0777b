"""ΔGEP = volume effect + price effect, exactly; indices; chain-linking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.decomposition import decompose


def _rows(year, q_water, p_water, q_carbon, p_carbon, unit="A"):
    return [
        {
            "unit_id": unit,
            "year": year,
            "service": "water",
            "component": "c",
            "quantity": q_water,
            "price_current_cny": p_water,
            "factor": 1.0,
        },
        {
            "unit_id": unit,
            "year": year,
            "service": "carbon",
            "component": "c",
            "quantity": q_carbon,
            "price_current_cny": p_carbon,
            "factor": 1.0,
        },
    ]


def test_worked_example_two_components():
    # year 0: water 100 m³ @ 7, carbon 10 t @ 50 → 700 + 500 = 1 200
    # year 1: water 120 m³ @ 7.5, carbon 9 t @ 80 → 900 + 720 = 1 620; ΔV = 420
    # volume (year-0 prices): 7·20 + 50·(−1) = 90; price (year-1 quantities): 120·0.5 + 9·30 = 330
    # volume index (7·120 + 50·9)/1 200 = 1 290/1 200 = 1.075; price index 1 620/1 290
    df = pd.DataFrame(_rows(2015, 100, 7, 10, 50) + _rows(2020, 120, 7.5, 9, 80))
    out = decompose(df).iloc[0]
    assert out["change_cny"] == pytest.approx(420)
    assert out["volume_effect_cny"] == pytest.approx(90)
    assert out["price_effect_cny"] == pytest.approx(330)
    assert out["volume_index"] == pytest.approx(1.075)
    assert out["price_index"] == pytest.approx(1620 / 1290)


def test_factor_converts_quantity_to_the_valued_unit():
    # soil retained 1 000 t; N content 0.0037 → 3.7 t N at 875 CNY/t = 3 237.5 CNY in year 0;
    # year 1: 1 200 t → 4.44 t N at 900 → 3 996; volume 875·0.74 = 647.5; price 4.44·25 = 111
    rows = [
        {
            "unit_id": "A",
            "year": y,
            "service": "soil",
            "component": "n",
            "quantity": q,
            "price_current_cny": p,
            "factor": 0.0037,
        }
        for y, q, p in ((0, 1000.0, 875.0), (1, 1200.0, 900.0))
    ]
    out = decompose(pd.DataFrame(rows)).iloc[0]
    assert out["value_from_cny"] == pytest.approx(3237.5)
    assert out["value_to_cny"] == pytest.approx(3996.0)
    assert out["volume_effect_cny"] == pytest.approx(647.5)
    assert out["price_effect_cny"] == pytest.approx(111.0)


def test_prices_alone_give_zero_volume_effect():
    df = pd.DataFrame(_rows(2015, 100, 7, 10, 50) + _rows(2020, 100, 9, 10, 90))
    out = decompose(df).iloc[0]
    assert out["volume_effect_cny"] == 0.0
    assert out["volume_index"] == 1.0
    assert out["price_effect_cny"] == pytest.approx(out["change_cny"])


def test_landcover_alone_gives_zero_price_effect():
    df = pd.DataFrame(_rows(2015, 100, 7, 10, 50) + _rows(2020, 130, 7, 4, 50))
    out = decompose(df).iloc[0]
    assert out["price_effect_cny"] == 0.0
    assert out["price_index"] == 1.0
    assert out["volume_effect_cny"] == pytest.approx(out["change_cny"])


def test_chain_linking_three_years():
    df = pd.DataFrame(
        _rows(2015, 100, 7, 10, 50) + _rows(2018, 110, 8, 9, 60) + _rows(2020, 120, 7.5, 9, 80)
    )
    out = decompose(df)
    assert list(out["year_to"]) == [2018, 2020]
    total = out["value_to_cny"].iloc[-1] - out["value_from_cny"].iloc[0]
    assert out["volume_effect_cny"].sum() + out["price_effect_cny"].sum() == pytest.approx(total)
    assert out["volume_index_chained"].iloc[-1] == pytest.approx(out["volume_index"].prod())
    chained_value = out["volume_index_chained"].iloc[-1] * out["price_index_chained"].iloc[-1]
    assert chained_value == pytest.approx(
        out["value_to_cny"].iloc[-1] / out["value_from_cny"].iloc[0]
    )


positive = st.floats(min_value=0.0, max_value=1e9, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(positive, positive, positive, positive), min_size=1, max_size=6))
def test_effects_add_up_for_any_quantities_and_prices(components):
    rows = []
    for i, (q0, p0, q1, p1) in enumerate(components):
        rows.append(
            {
                "unit_id": "U",
                "year": 0,
                "service": f"s{i}",
                "component": "c",
                "quantity": q0,
                "price_current_cny": p0,
                "factor": 1.0,
            }
        )
        rows.append(
            {
                "unit_id": "U",
                "year": 1,
                "service": f"s{i}",
                "component": "c",
                "quantity": q1,
                "price_current_cny": p1,
                "factor": 1.0,
            }
        )
    out = decompose(pd.DataFrame(rows)).iloc[0]
    assert out["volume_effect_cny"] + out["price_effect_cny"] == out["change_cny"]
    scale = max(1.0, abs(out["volume_effect_cny"]), abs(out["price_effect_cny"]))
    assert abs(out["change_cny"] - (out["value_to_cny"] - out["value_from_cny"])) <= 1e-9 * scale


def test_units_are_independent_and_row_order_free():
    df = pd.DataFrame(
        _rows(2015, 100, 7, 10, 50, "A")
        + _rows(2020, 120, 7.5, 9, 80, "A")
        + _rows(2015, 1, 7, 1, 50, "B")
        + _rows(2020, 2, 7.5, 1, 80, "B")
    )
    a = decompose(df).set_index("unit_id")
    b = decompose(df.sample(frac=1.0, random_state=3)).set_index("unit_id")
    pd.testing.assert_frame_equal(a.sort_index(), b.sort_index())
    assert np.isclose(a.loc["A", "change_cny"], 420)
