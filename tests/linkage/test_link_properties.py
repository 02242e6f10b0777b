"""Hypothesis properties of a whole stage (scores, tilts, reverse linkage, floors and caps).

- the amounts add up exactly to the budget, none is negative, floors and caps hold;
- a unit's amount never falls when one of its own quality indicators improves (every
  normalisation method: min-max, target, rank, log) or its own constant-price GEP grows
  (density and volume change), nothing else changing;
- the row order of the input tables does not matter.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from linkage.errors import InfeasibleAllocationError
from linkage.stages import StageResult, run_stage
from tests.linkage.conftest import ACCOUNT_COLUMNS, in_memory

QUALITY = {  # indicator id: normalisation (all higher is better, except "pm")
    "q_minmax": {"method": "min_max", "lower": 0, "upper": 100},
    "q_target": {"method": "target", "target": 80},
    "q_rank": {"method": "rank"},
    "q_log": {"method": "log", "lower": 1, "upper": 1000},
    "pm": {"method": "min_max", "lower": 10, "upper": 80},
}


def stage_config(beta: dict[str, float], bounds: dict[str, float] | None) -> dict[str, Any]:
    indicators = [
        {
            "id": name,
            "kind": "eco_environment_quality",
            "value_unit": "u",
            "direction": "lower_is_better" if name == "pm" else "higher_is_better",
            "normalisation": norm,
        }
        for name, norm in QUALITY.items()
    ] + [
        {
            "id": "density",
            "kind": "gep_density_constant",
            "direction": "higher_is_better",
            "value_unit": "CNY km-2",
            "normalisation": {"method": "log", "lower": 1e3, "upper": 1e7},
        },
        {
            "id": "change",
            "kind": "gep_volume_change",
            "direction": "higher_is_better",
            "value_unit": "1",
            "normalisation": {"method": "min_max", "lower": 0, "upper": 0.2},
        },
        {
            "id": "damage",
            "kind": "eco_damaging_industry",
            "direction": "lower_is_better",
            "value_unit": "%",
            "normalisation": {"method": "min_max", "lower": 0, "upper": 10},
        },
    ]
    districts: dict[str, Any] = {
        "id": "D",
        "budget": {"id": "D.budget", "amount_cny": "0"},
        "base_factors": {
            "id": "D.F",
            "weights_sum": 1,
            "weights": {"area_km2": 0.5, "population": 0.3, "ecological_land_km2": 0.2},
        },
        "level": {
            "id": "D.L",
            "beta": beta["level"],
            "reference_score": 0.5,
            "weights_sum": 1,
            "weights": {name: 0.2 for name in QUALITY},
        },
        "improvement": {
            "id": "D.I",
            "beta": beta["improvement"],
            "weights_sum": 1,
            "weights": {"q_minmax": 0.4, "q_rank": 0.3, "pm": 0.3},
            "full_credit_change": {"q_minmax": 0.1, "q_rank": 0.25, "pm": 0.1},
        },
        "gep": {
            "id": "D.G",
            "beta": beta["gep"],
            "weights_sum": 1,
            "weights": {"density": 0.5, "change": 0.5},
        },
        "reverse_linkage": {"id": "D.R", "indicator": "damage", "max_deduction_share": 0.3},
    }
    if bounds is not None:
        districts["bounds"] = {"id": "D.C", **bounds}
    return {
        "schema_version": 1,
        "policy": {"id": "p", "title": "t", "year": 2024, "base_year": 2023},
        "inputs": {"accounts": "a.csv", "base_factors": "b.csv"},
        "indicators": indicators,
        "districts": districts,
    }


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 6))
    units = [f"D{i}" for i in range(n)]
    value = st.floats(0.5, 120.0)
    gep_rows = []
    for unit in units:
        for year in (2022, 2023, 2024):
            gep_rows.append(
                (
                    unit,
                    unit,
                    "district",
                    "",
                    year,
                    "s",
                    "c",
                    1.0,
                    "u",
                    0.0,
                    draw(st.floats(1e4, 1e8)),
                    2020,
                )
            )
    indicators = [
        (u, y, name, draw(value), "u")
        for u in units
        for y in (2023, 2024)
        for name in [*QUALITY, "damage"]
    ]
    factors = pd.DataFrame(
        {
            "unit_id": units,
            "area_km2": [draw(st.floats(1.0, 1e3)) for _ in units],
            "population_persons": [draw(st.floats(0.0, 1e5)) for _ in units],
            "ecological_land_km2": [draw(st.floats(0.0, 1e3)) for _ in units],
        }
    )
    previous = {u: draw(st.integers(10**6, 10**9)) for u in units}
    floor_ratio = draw(st.floats(0.5, 1.0))
    cap_ratio = draw(st.floats(1.0, 1.5))
    budget = int(sum(previous.values()) * draw(st.floats(floor_ratio, cap_ratio)))
    beta = {k: draw(st.floats(0.0, 1.0)) for k in ("level", "improvement", "gep")}
    bounds = draw(
        st.sampled_from(
            [
                None,
                {"floor_ratio": floor_ratio},
                {"floor_ratio": floor_ratio, "cap_ratio": cap_ratio},
            ]
        )
    )
    return {
        "config": stage_config(beta, bounds),
        "tables": {
            "accounts": pd.DataFrame(gep_rows, columns=ACCOUNT_COLUMNS),
            "indicators": pd.DataFrame(
                indicators, columns=["unit_id", "year", "indicator", "value", "value_unit"]
            ),
            "base_factors": factors,
        },
        "previous": pd.Series(previous, dtype="int64"),
        "budget": budget,
    }


def run(case: dict[str, Any]) -> StageResult:
    config, inputs = in_memory(case["config"], case["tables"])
    groups = {"all": (case["budget"], inputs.units.districts)}
    try:
        return run_stage("district", config, config.districts, groups, inputs, case["previous"])
    except InfeasibleAllocationError:
        assume(False)
        raise


@settings(max_examples=25, deadline=None)
@given(cases())
def test_budget_closure_bounds_and_no_negatives(case: dict[str, Any]) -> None:
    table = run(case).allocation
    assert int(table["amount_fen"].sum()) == case["budget"]
    assert (table["amount_fen"] >= 0).all()
    if "floor_fen" in table:
        assert (table["amount_fen"] >= table["floor_fen"]).all()
        assert (table["amount_fen"] <= table["cap_fen"]).all()
        ratios = case["config"]["districts"]["bounds"]
        last = case["previous"][table.index]
        assert (table["amount_fen"] >= ratios["floor_ratio"] * last - 1e-6).all()
        if "cap_ratio" in ratios:
            assert (table["amount_fen"] <= ratios["cap_ratio"] * last + 1e-6).all()


@settings(max_examples=40, deadline=None)
@given(cases(), st.data())
def test_own_quality_improvement_never_lowers_own_amount(
    case: dict[str, Any], data: st.DataObject
) -> None:
    indicators = case["tables"]["indicators"]
    unit = data.draw(st.sampled_from(sorted(case["previous"].index)))
    name = data.draw(st.sampled_from(sorted(QUALITY)))
    step = data.draw(st.floats(0.01, 50.0))
    row = (
        (indicators["unit_id"] == unit)
        & (indicators["indicator"] == name)
        & (indicators["year"] == 2024)
    )
    better = indicators.copy()
    # "pm" is lower-is-better: improving means a lower value
    better.loc[row, "value"] += -step if name == "pm" else step
    better.loc[row, "value"] = better.loc[row, "value"].clip(lower=0.0)
    before = run(case).allocation
    after = run({**case, "tables": {**case["tables"], "indicators": better}}).allocation
    assert after.at[unit, "amount_fen"] >= before.at[unit, "amount_fen"]


@settings(max_examples=30, deadline=None)
@given(cases(), st.data())
def test_own_gep_volume_growth_never_lowers_own_amount(
    case: dict[str, Any], data: st.DataObject
) -> None:
    accounts = case["tables"]["accounts"]
    unit = data.draw(st.sampled_from(sorted(case["previous"].index)))
    row = (accounts["unit_id"] == unit) & (accounts["year"] == 2024)
    grown = accounts.copy()
    grown.loc[row, "value_constant_cny"] *= data.draw(st.floats(1.001, 3.0))
    before = run(case).allocation
    after = run({**case, "tables": {**case["tables"], "accounts": grown}}).allocation
    assert after.at[unit, "amount_fen"] >= before.at[unit, "amount_fen"]


@settings(max_examples=15, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_row_order_of_the_tables_does_not_matter(case: dict[str, Any], rng) -> None:
    shuffled = {}
    for name, frame in case["tables"].items():
        order = list(range(len(frame)))
        rng.shuffle(order)
        shuffled[name] = frame.iloc[order].reset_index(drop=True)
    previous = case["previous"].sample(frac=1.0, random_state=rng.randint(0, 1000))
    straight = run(case)
    other = run({**case, "tables": shuffled, "previous": previous})
    pd.testing.assert_frame_equal(straight.allocation, other.allocation)
    pd.testing.assert_frame_equal(straight.audit, other.audit)
