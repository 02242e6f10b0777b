"""Hypothesis: no benefit is paid twice through the ledger; budgets and pools close to the fen.

Random cases: five districts with random cropland, fiscal gaps, designations and performance
scores; claims of other programmes on random (unit, area, benefit) keys with a random
programme priority; a random transfer budget and award pool.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.programmes.settle import settle
from tests.linkage.conftest import in_memory
from tests.programmes.conftest import (
    CROPLAND,
    EVALUATION,
    TRANSFER,
    UNITS,
    programme_config,
    programme_tables,
)

OURS = ["cropland_protection", "key_ecological_function_area_transfer", "demonstration_awards"]
KEYS = [
    ("cropland", "cropland_protection"),
    ("fiscal_unit", "key_ecological_function_area_transfer"),
    ("two_mountains", "demonstration_award"),
    ("soil_water", "demonstration_award"),
    ("demo_zone", "demonstration_award"),
]

money = st.integers(min_value=0, max_value=10**11)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    tables = programme_tables()
    n = len(UNITS)
    tables["cropland_areas"]["cropland_area_m2"] = draw(
        st.lists(st.floats(0, 1e8, allow_nan=False), min_size=n, max_size=n)
    )
    tables["transfer_inputs"]["standard_expenditure_cny"] = [
        float(x) for x in draw(st.lists(st.integers(0, 10**10), min_size=n, max_size=n))
    ]
    designations = draw(
        st.lists(
            st.sampled_from(["two_mountains", "soil_water", "demo_zone"]), min_size=n, max_size=n
        )
    )
    tables["designations"] = pd.DataFrame(
        {"unit_id": UNITS, "year": 2024, "designation": designations}
    )
    claims = draw(
        st.lists(
            st.tuples(
                st.sampled_from(UNITS), st.sampled_from(KEYS), st.sampled_from(["p1", "p2"]), money
            ),
            max_size=12,
            unique_by=lambda c: (c[0], c[1], c[2]),
        )
    )
    tables["ledger_claims"] = pd.DataFrame(
        [(u, a, s, 2024, p, f / 100) for u, (a, s), p, f in claims],
        columns=["unit_id", "area_id", "service", "year", "programme", "amount_cny"],
    )
    priority = draw(st.permutations([*OURS, "p1", "p2"]))
    budget = draw(st.integers(1, 10**12))
    pool = draw(st.integers(0, 10**10))
    evaluation = {
        **EVALUATION,
        "awards": {
            **EVALUATION["awards"],
            "pool": {"id": "EV.pool", "amount_cny": f"{Decimal(pool) / 100}"},
        },
    }
    transfer = {**TRANSFER, "budget": {"id": "KT.budget", "amount_cny": f"{Decimal(budget) / 100}"}}
    config = programme_config(
        cropland=CROPLAND,
        transfer=transfer,
        evaluation=evaluation,
        ledger={"id": "LG", "programme_priority": list(priority)},
    )
    return config, tables


@settings(max_examples=30, deadline=None)
@given(case=cases())
def test_one_payment_per_benefit_and_budgets_close(
    case: tuple[dict[str, Any], dict[str, pd.DataFrame]],
) -> None:
    config, tables = case
    parsed, inputs = in_memory(config, tables)
    out = settle(parsed, inputs, None).tables
    ledger = out["ledger"]
    key = ["unit_id", "area_id", "service", "year"]
    accepted = ledger[ledger["status"] == "accepted"]
    assert not accepted.duplicated(key).any()  # one programme per benefit
    assert (ledger.loc[ledger["status"] == "rejected", "paid_fen"] == 0).all()
    assert (ledger["paid_fen"] >= 0).all()
    priority = parsed.ledger.programme_priority if parsed.ledger else []
    for _, group in ledger.groupby(key):  # the winner is the first in priority
        winner = min(group["programme"], key=priority.index)
        assert group.loc[group["status"] == "accepted", "programme"].tolist() == [winner]
    transfer = out["transfer"]
    weights = transfer["entitlement_fen"] * transfer["performance_factor"]
    paid_transfer = ledger[ledger["programme"] == "key_ecological_function_area_transfer"]
    if (
        weights[
            paid_transfer.set_index("unit_id")
            .loc[transfer["unit_id"], "status"]
            .eq("accepted")
            .to_numpy()
        ]
        > 0
    ).any():
        assert int(transfer["amount_fen"].sum()) == int(
            Decimal(config["transfer"]["budget"]["amount_cny"]) * 100
        )
    awards = out["awards"]
    pooled = awards[(awards["mode"] == "pool") & (awards["status"] == "accepted")]
    if len(pooled):
        pool = int(Decimal(config["evaluation"]["awards"]["pool"]["amount_cny"]) * 100)
        assert int(pooled["amount_fen"].sum()) == pool
    for lines, table in (("cropland_lines", "cropland"), ("transfer_lines", "transfer")):
        sums = (
            out[lines]
            .groupby("unit_id")["contribution_cny"]
            .apply(lambda s: sum((Decimal(repr(v)) for v in s), Decimal(0)))
        )
        for unit, amount in zip(out[table]["unit_id"], out[table]["amount_fen"], strict=True):
            assert sums[unit] == Decimal(int(amount)) / 100
    by_programme = ledger.groupby("programme")["paid_fen"].sum()
    assert by_programme.get("cropland_protection", 0) == out["cropland"]["amount_fen"].sum()
    assert by_programme.get("demonstration_awards", 0) == awards["amount_fen"].sum()
