"""Fen allocation: worked examples, a plain reference formula and hypothesis properties."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.allocation import allocate_fen, largest_remainder
from linkage.errors import InfeasibleAllocationError


def test_largest_remainder_breaks_ties_by_unit_id() -> None:
    """100 fen in thirds: 33 each and the spare fen to the smallest id."""
    third = Fraction(100, 3)
    assert largest_remainder({"b": third, "a": third, "c": third}, 100) == {
        "a": 34,
        "b": 33,
        "c": 33,
    }


def test_floor_is_topped_up_from_the_others() -> None:
    """1,000 fen by weights 1:1:8 -> 100, 100, 800; a's floor 200 binds; b and c share the
    remaining 800 as 1:8 -> 88.89 and 711.11; rounded: b 89 (remainder .89), c 711."""
    result = allocate_fen(
        pd.Series({"a": 1.0, "b": 1.0, "c": 8.0}),
        1000,
        floor_fen=pd.Series({"a": 200, "b": 0, "c": 0}),
    )
    assert result.table["amount_fen"].tolist() == [200, 89, 711]
    assert result.table["bound"].tolist() == ["floor", "", ""]
    assert result.multiplier == Fraction(800, 9)


def test_zero_weight_units_keep_their_floor() -> None:
    result = allocate_fen(
        pd.Series({"a": 0.0, "b": 2.0}), 500, floor_fen=pd.Series({"a": 120, "b": 0})
    )
    assert result.table["amount_fen"].tolist() == [120, 380]


def test_infeasible_bounds_are_reported_with_the_rule_id() -> None:
    weights = pd.Series({"a": 1.0, "b": 1.0})
    with pytest.raises(InfeasibleAllocationError, match=r"\[T.C\] floors add up"):
        allocate_fen(weights, 100, floor_fen=pd.Series({"a": 60, "b": 60}), rule_id="T.C")
    with pytest.raises(InfeasibleAllocationError, match="caps add up"):
        allocate_fen(weights, 100, cap_fen=pd.Series({"a": 40, "b": 40}))
    with pytest.raises(InfeasibleAllocationError, match="weight zero"):
        allocate_fen(pd.Series({"a": 0.0}), 100)


def reference_quotas(
    weights: dict[str, float], budget: int, low: dict[str, int], high: dict[str, int]
) -> dict[str, float]:
    """Plain reference: bisection on lambda of sum(clip(lambda w, low, high)) = budget."""
    w, lo, hi = (
        np.array([d[u] for u in sorted(weights)], dtype=float) for d in (weights, low, high)
    )
    top = 1.0
    while np.clip(top * w, lo, hi).sum() < budget and top < 1e30:
        top *= 2.0
    bottom = 0.0
    for _ in range(200):
        mid = (bottom + top) / 2
        bottom, top = (mid, top) if np.clip(mid * w, lo, hi).sum() < budget else (bottom, mid)
    return dict(zip(sorted(weights), np.clip(top * w, lo, hi), strict=True))


@st.composite
def bounded_problems(
    draw: st.DrawFn,
) -> tuple[dict[str, float], int, dict[str, int], dict[str, int]]:
    n = draw(st.integers(1, 8))
    units = [f"u{i}" for i in range(n)]
    weights = {u: draw(st.one_of(st.just(0.0), st.floats(1e-6, 1e4))) for u in units}
    if not any(weights.values()):
        weights[units[0]] = 1.0
    low = {u: draw(st.integers(0, 10**6)) for u in units}
    high = {u: low[u] + draw(st.integers(0, 10**7)) for u in units}
    most = sum(high[u] if weights[u] > 0 else low[u] for u in units)
    budget = draw(st.integers(sum(low.values()), most))
    return weights, budget, low, high


@settings(max_examples=150, deadline=None)
@given(bounded_problems())
def test_sums_to_budget_within_bounds_and_matches_reference(problem) -> None:
    weights, budget, low, high = problem
    table = allocate_fen(
        pd.Series(weights), budget, floor_fen=pd.Series(low), cap_fen=pd.Series(high)
    ).table
    amounts = table["amount_fen"]
    assert int(amounts.sum()) == budget
    assert (amounts >= 0).all()
    assert (amounts >= pd.Series(low)).all() and (amounts <= pd.Series(high)).all()
    assert ((amounts - table["bounded_fen"]).abs() < 1).all()
    expected = reference_quotas(weights, budget, low, high)
    for unit, quota in expected.items():
        assert table.at[unit, "bounded_fen"] == pytest.approx(quota, rel=1e-9, abs=1e-3)


@settings(max_examples=150, deadline=None)
@given(bounded_problems(), st.data())
def test_own_weight_up_never_lowers_own_amount(problem, data: st.DataObject) -> None:
    weights, budget, low, high = problem
    unit = data.draw(st.sampled_from(sorted(weights)))
    raised = dict(weights)
    raised[unit] = weights[unit] * data.draw(st.floats(1.0, 5.0)) + data.draw(st.floats(0.0, 10.0))
    before = allocate_fen(
        pd.Series(weights), budget, floor_fen=pd.Series(low), cap_fen=pd.Series(high)
    ).table
    after = allocate_fen(
        pd.Series(raised), budget, floor_fen=pd.Series(low), cap_fen=pd.Series(high)
    ).table
    assert after.at[unit, "amount_fen"] >= before.at[unit, "amount_fen"]
    others = [u for u in weights if u != unit]
    assert (after.loc[others, "bounded_fen"] <= before.loc[others, "bounded_fen"] + 1e-6).all()


@settings(max_examples=100, deadline=None)
@given(bounded_problems(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(problem, rng) -> None:
    weights, budget, low, high = problem
    order = sorted(weights)
    rng.shuffle(order)
    straight = allocate_fen(
        pd.Series(weights), budget, floor_fen=pd.Series(low), cap_fen=pd.Series(high)
    ).table
    shuffled = allocate_fen(
        pd.Series(weights)[order],
        budget,
        floor_fen=pd.Series(low)[order],
        cap_fen=pd.Series(high)[order],
    ).table
    pd.testing.assert_frame_equal(straight, shuffled)
