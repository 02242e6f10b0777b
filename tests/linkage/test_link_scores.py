"""Normalisation, indicators from the accounts, scores and coefficients on hand-checked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.coefficients import stage_coefficients
from linkage.config import LinkConfig
from linkage.indicators import gep_totals_cny, indicator_values
from linkage.normalize import log_min_max, min_max, normalise, rank_against, target_based
from linkage.scores import stage_scores
from tests.linkage.conftest import ACCOUNT_COLUMNS, five_district_config


def test_min_max_both_directions() -> None:
    """(x - 40)/(90 - 40): 30 -> 0 (clipped), 52.5 -> 0.25, 100 -> 1; reversed 1 - s."""
    x = np.array([30.0, 52.5, 100.0])
    assert min_max(x, 40, 90).tolist() == [0.0, 0.25, 1.0]
    assert min_max(x, 40, 90, higher_is_better=False).tolist() == [1.0, 0.75, 0.0]


def test_target_both_directions() -> None:
    """Higher better, target 80: 20 -> 0.25, 100 -> 1. Lower better, target 35 (ug m-3):
    70 -> 35/70 = 0.5, 30 -> 1, 0 -> 1."""
    assert target_based(np.array([20.0, 100.0]), 80).tolist() == [0.25, 1.0]
    lower = target_based(np.array([70.0, 30.0, 0.0]), 35, higher_is_better=False)
    assert lower.tolist() == [0.5, 1.0, 1.0]


def test_log_min_max() -> None:
    """ln bounds 1e5..1e8: 1e6 -> (ln 1e6 - ln 1e5)/(ln 1e8 - ln 1e5) = 1/3; 0 -> 0."""
    got = log_min_max(np.array([1e6, 0.0, 1e9]), 1e5, 1e8)
    assert got.tolist() == pytest.approx([1 / 3, 0.0, 1.0])


def test_rank_against_a_fixed_base_year_sample() -> None:
    """Sample 10, 20, 20, 40: x = 20 -> (1 + 0.5 x 2)/4 = 0.5; 5 -> 0; 50 -> 1; 30 -> 0.75."""
    sample = np.array([10.0, 20.0, 20.0, 40.0])
    got = rank_against(np.array([20.0, 5.0, 50.0, 30.0]), sample)
    assert got.tolist() == [0.5, 0.0, 1.0, 0.75]
    reversed_ = rank_against(np.array([20.0, 5.0]), sample, higher_is_better=False)
    assert reversed_.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="reference sample"):
        normalise(np.array([1.0]), "rank", {}, higher_is_better=True)


@given(
    st.lists(st.floats(0.0, 1e6), min_size=2, max_size=20),
    st.sampled_from(["min_max", "target", "log", "rank"]),
    st.booleans(),
)
def test_scores_stay_in_unit_interval_and_follow_the_direction(values, method, higher) -> None:
    x = np.sort(np.array(values))
    params = {"lower": 1.0, "upper": 1e5, "target": 500.0}
    s = normalise(x, method, params, higher_is_better=higher, reference=x[::-1].copy())
    assert ((s >= 0) & (s <= 1)).all()
    steps = np.diff(s)
    assert (steps >= -1e-12).all() if higher else (steps <= 1e-12).all()


def accounts_case() -> pd.DataFrame:
    """GEP (constant prices) of A: 2023 = 200 + 100 = 300, 2024 = 240 + 90 = 330 CNY."""
    rows = [
        ("A", "a", "district", "", 2023, "water", "r", 1.0, "m3", 1.0, 200.0, 2020),
        ("A", "a", "district", "", 2023, "soil", "r", 1.0, "t", 1.0, 100.0, 2020),
        ("A", "a", "district", "", 2024, "water", "r", 1.0, "m3", 9e9, 240.0, 2020),
        ("A", "a", "district", "", 2024, "soil", "r", 1.0, "t", 9e9, 90.0, 2020),
    ]
    return pd.DataFrame(rows, columns=ACCOUNT_COLUMNS)


def gep_config() -> LinkConfig:
    config = five_district_config()
    config["indicators"] += [
        {
            "id": "density",
            "kind": "gep_density_constant",
            "direction": "higher_is_better",
            "value_unit": "CNY km-2",
            "normalisation": {"method": "log", "lower": 1, "upper": 10},
        },
        {
            "id": "change",
            "kind": "gep_volume_change",
            "direction": "higher_is_better",
            "value_unit": "1",
            "normalisation": {"method": "min_max", "lower": 0, "upper": 0.2},
        },
    ]
    return LinkConfig.model_validate(config)


def test_gep_indicators_use_constant_prices_only() -> None:
    """Density 330 CNY / 3 km2 = 110 CNY km-2; volume change 330/300 - 1 = 0.10 (the current
    price column, 9e9, is ignored); with services [water]: 240/200 - 1 = 0.20."""
    area = pd.Series({"A": 3.0})
    empty = pd.DataFrame(columns=["unit_id", "year", "indicator", "value"])
    values = indicator_values(
        gep_config(),
        ["density", "change"],
        ["A"],
        2024,
        indicator_table=empty,
        totals=gep_totals_cny(accounts_case(), None),
        area_km2=area,
    )
    assert values.loc["A"].tolist() == pytest.approx([110.0, 0.10])
    water = gep_totals_cny(accounts_case(), ["water"])
    values = indicator_values(
        gep_config(), ["change"], ["A"], 2024, indicator_table=empty, totals=water, area_km2=area
    )
    assert values.at["A", "change"] == pytest.approx(0.20)


def test_improvement_is_clipped_to_full_credit() -> None:
    """Full credit at +0.05: a change of +0.10 counts 1 (not 2), -0.02 counts -0.4."""
    config = five_district_config()
    config["districts"]["improvement"] = {
        "id": "D.I",
        "beta": 0.5,
        "weights_sum": 1,
        "weights": {"quality": 1},
        "full_credit_change": {"quality": 0.05},
    }
    stage = LinkConfig.model_validate(config).districts
    now = pd.DataFrame({"quality": [0.6, 0.5], "damage": [1.0, 1.0]}, index=["A", "B"])
    before = pd.DataFrame({"quality": [0.5, 0.52], "damage": [1.0, 1.0]}, index=["A", "B"])
    scores = stage_scores(stage, now, before)
    assert scores["improvement_score"].tolist() == pytest.approx([1.0, -0.4])
    factors = pd.DataFrame(
        {"area_km2": [1.0, 1.0], "population_persons": 0.0, "ecological_land_km2": 0.0},
        index=["A", "B"],
    )
    coefs = stage_coefficients(stage, factors, scores)
    # T_I = 1 + 0.5 I = 1.5 and 0.8; T_L = 1 + 0.5 (L - 0.5) with L = 0.6, 0.5
    assert coefs["improvement_tilt"].tolist() == pytest.approx([1.5, 0.8])
    assert coefs["level_tilt"].tolist() == pytest.approx([1.05, 1.0])
    assert coefs["weight"].tolist() == pytest.approx([0.5 * 1.05 * 1.5, 0.5 * 0.8])
    assert coefs["deduction_share"].tolist() == [0.0, 0.0]
