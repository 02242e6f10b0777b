"""Uncertainty of each unit's allocation under the real linkage policy."""

from __future__ import annotations

import numpy as np
import pytest

from gep.config import demo_config_path
from gep.cropland import cropland_areas
from gep.linkage_inputs import prepare_linkage
from gep.uncertainty import policy_allocation
from linkage.run import run_link


@pytest.fixture(scope="module")
def policy(sample_accounts, sample_config, tmp_path_factory):
    cat, acc = sample_accounts
    folder = tmp_path_factory.mktemp("policy")
    cropland = cropland_areas(cat, acc.levels, sample_config.years)
    path = prepare_linkage(
        cat,
        acc.accounts,
        demo_config_path().parent / "demo_policy.yaml",
        folder,
        cropland=cropland,
        weather_neutral=acc.weather_neutral,
    )
    return path, acc


def test_baseline_sample_reproduces_the_policy_run(policy):
    path, acc = policy
    districts = acc.levels[0].ids
    gep = acc.accounts[(acc.accounts["level"] == "district") & (acc.accounts["year"] == 2020)]
    base = gep.groupby("unit_id")["value_constant_cny"].sum().reindex(districts).to_numpy()
    allocate = policy_allocation(path, districts)
    sampled = allocate(base[None, :])[0]
    expected = run_link(path).allocation
    expected = expected[expected["level"] == "district"].set_index("unit_id")["amount_cny"]
    np.testing.assert_allclose(sampled, expected.reindex(districts).to_numpy(), rtol=0, atol=0.005)


def test_samples_close_to_the_budget_and_respond_to_own_gep(policy):
    path, acc = policy
    districts = list(acc.levels[0].ids)
    gep = acc.accounts[(acc.accounts["level"] == "district") & (acc.accounts["year"] == 2020)]
    base = gep.groupby("unit_id")["value_constant_cny"].sum().reindex(districts).to_numpy()
    more = base.copy()
    i = districts.index("110118")
    more[i] *= 3.0
    allocate = policy_allocation(path, districts)
    out = allocate(np.vstack([base, more]))
    assert out.sum(axis=1) == pytest.approx([2.0e9, 2.0e9], abs=0.01)
    assert (out >= 0).all()
    assert out[1, i] >= out[0, i]
