"""Monte Carlo intervals and rank changes checked by hand; the fast paths against re-runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.accounts import unit_level, zonal_sum
from gep.config import demo_config_path, load_run_config
from gep.errors import InputError
from gep.pipeline import run_service
from gep.sensitivity import gep_function, sobol_indices
from gep.uncertainty import (
    ComponentTerm,
    GEPModel,
    QuantityTerm,
    build_gep_model,
    gep_share_allocation,
    load_distributions,
    monte_carlo,
)


def _two_units() -> GEPModel:
    """Unit A: 100 m3 at price p1; unit B: 150 m3 at price p2 (no deflation: factor 1)."""
    units = pd.DataFrame({"unit_id": ["A", "B"], "unit_name": ["a", "b"]})
    water = QuantityTerm("water", "m3 yr-1", np.array([100.0, 0.0]))
    other = QuantityTerm("other", "m3 yr-1", np.array([0.0, 150.0]))
    return GEPModel(
        units,
        2020,
        [
            ComponentTerm("s/water", "p1", 7.0, 7.0, water),
            ComponentTerm("s/other", "p2", 7.0, 7.0, other),
        ],
    )


def test_price_only_interval_by_hand():
    """p1 ~ U(5, 9): GEP_A = 100·p1, so its 5th/50th/95th percentiles are 100·(5 + 0.05·4) =
    520, 700 and 880 CNY. Unit B keeps 150·7 = 1050 CNY."""
    model = _two_units()
    dists = load_distributions({"price:p1": {"dist": "uniform", "low": 5, "high": 9}})
    result = monte_carlo(model, dists, 20_000, seed=3)
    table = result.intervals().set_index("unit_id")
    assert table.loc["A", "gep_baseline_cny"] == pytest.approx(700.0)
    assert table.loc["A", "gep_p5_cny"] == pytest.approx(520.0, rel=0.01)
    assert table.loc["A", "gep_p50_cny"] == pytest.approx(700.0, rel=0.01)
    assert table.loc["A", "gep_p95_cny"] == pytest.approx(880.0, rel=0.01)
    assert table.loc["B", "gep_p5_cny"] == table.loc["B", "gep_p95_cny"] == pytest.approx(1050.0)


def test_rank_change_frequency_by_hand():
    """p1, p2 ~ U(5, 9) independent. A outranks B when 100·p1 > 150·p2, i.e. p1 > 1.5·p2,
    possible only for p2 < 6: P = ∫₅⁶ (9 − 1.5·p2)/4 · dp2/4 = (9 − 1.5·5.5)/16 = 0.046875.
    Baseline (7, 7): B first. Allocation of 1000 CNY by GEP share sums to the budget."""
    model = _two_units()
    u = {"dist": "uniform", "low": 5, "high": 9}
    dists = load_distributions({"price:p1": u, "price:p2": u})
    result = monte_carlo(model, dists, 200_000, seed=1, allocate=gep_share_allocation(1000.0))
    ranks = result.rank_changes().set_index("unit_id")
    assert ranks.loc["B", "rank_baseline"] == 1
    assert ranks.loc["A", "rank_change_frequency"] == pytest.approx(0.046875, abs=0.002)
    np.testing.assert_allclose(result.allocation.sum(axis=1), 1000.0)
    table = result.intervals().set_index("unit_id")
    assert table.loc["A", "allocation_baseline_cny"] == pytest.approx(1000 * 700 / 1750)


def test_price_only_sobol_indices_by_hand():
    """GEP_A + GEP_B = 100·p1 + 150·p2 is additive: S_i = a_i²·Var(p_i)/Σ a_j²·Var(p_j).
    With p1 ~ U(5, 9) (Var 16/12) and p2 ~ U(6, 8) (Var 4/12): S1 = 10000·16/(160000 + 90000)
    = 0.64, S2 = 22500·4/... = 0.36."""
    model = _two_units()
    dists = load_distributions(
        {
            "price:p1": {"dist": "uniform", "low": 5, "high": 9},
            "price:p2": {"dist": "uniform", "low": 6, "high": 8},
        }
    )
    func, _ = gep_function(model, list(dists))
    table = sobol_indices(lambda x: func(x).sum(axis=1), dists, n_base=2048, seed=0)
    np.testing.assert_allclose(table["S1"], [0.64, 0.36], atol=0.03)
    np.testing.assert_allclose(table["ST"], [0.64, 0.36], atol=0.03)


def test_unknown_parameter_is_refused_before_sampling():
    dists = load_distributions({"price:nope": {"dist": "uniform", "low": 1, "high": 2}})
    with pytest.raises(InputError, match="cannot vary"):
        monte_carlo(_two_units(), dists, 10, seed=0)


@pytest.fixture(scope="module")
def water_carbon_config():
    cfg = load_run_config(demo_config_path())
    components = [
        c
        for c in cfg.valuation.components
        if c.service in ("water_conservation", "carbon_sequestration")
    ]
    return cfg.model_copy(
        update={
            "services": {
                k: v for k, v in cfg.services.items() if k in ("water_conservation", "carbon_nep")
            },
            "valuation": cfg.valuation.model_copy(update={"components": components}),
        }
    )


def test_linear_fast_path_equals_a_rerun(water_carbon_config, sample_catalog, sample_params):
    """α_forest 0.027 → 0.08 through the per-unit slope equals re-running the service."""
    cfg = water_carbon_config
    model = build_gep_model(
        cfg, level="district", year=2020, parameters=["runoff_coefficient:forest", "nep_npp_ratio"]
    )
    term = next(c.quantity for c in model.components if c.quantity.name == "water_conserved")
    fast = term.evaluate(pd.DataFrame({"runoff_coefficient:forest": [0.08]}))[0]
    params = sample_params.copy()
    row = (params["ecosystem_type"] == "forest") & (params["parameter"] == "runoff_coefficient")
    params.loc[row, "value"] = 0.08
    ds = run_service(sample_catalog, cfg, params, "water_conservation", 2020)
    grid = sample_catalog.reference_grid()
    level = unit_level(
        sample_catalog.vector("districts"), grid, level="district", id_field="adcode"
    )
    expected, _ = zonal_sum(level, ds["water_conserved"].values)
    np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1.0)
    # NEP: Q(α) = Q(0.4)·α/0.4
    carbon = next(c.quantity for c in model.components if c.quantity.name == "co2_sequestration")
    half = carbon.evaluate(pd.DataFrame({"nep_npp_ratio": [0.2]}))[0]
    np.testing.assert_allclose(half, carbon.baseline / 2, rtol=1e-12)
