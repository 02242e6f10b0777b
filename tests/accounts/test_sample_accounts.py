"""Accounts on the sample region: townships add up to districts; units to the rasters."""

from __future__ import annotations

import numpy as np
import pytest

from gep.accounts import ACCOUNT_COLUMNS, gep_by_unit

from .conftest import FAST_SERVICES


def test_accounts_table_has_the_agreed_columns(sample_accounts):
    _, acc = sample_accounts
    assert list(acc.accounts.columns[: len(ACCOUNT_COLUMNS)]) == ACCOUNT_COLUMNS
    assert set(acc.accounts["level"]) == {"district", "township"}
    assert acc.accounts["unit_id"][acc.accounts["level"] == "township"].nunique() == 349
    assert acc.accounts["unit_id"][acc.accounts["level"] == "district"].nunique() == 16
    assert (acc.accounts["parent_id"][acc.accounts["level"] == "district"] == "110000").all()


def test_townships_add_up_to_their_district(sample_accounts):
    _, acc = sample_accounts
    assert len(acc.hierarchy) == 16 * 2 * len(FAST_SERVICES)
    assert acc.hierarchy["relative_difference"].max() < 1e-6
    values = acc.accounts
    towns = (
        values[values["level"] == "township"]
        .groupby(["parent_id", "year"])["value_constant_cny"]
        .sum()
    )
    dists = values[values["level"] == "district"].set_index(["unit_id", "year"])[
        "value_constant_cny"
    ]
    dists = dists.groupby(level=[0, 1]).sum()
    for key, value in dists.items():
        assert towns[key] == pytest.approx(value, rel=1e-6)


def test_unit_totals_equal_raster_totals_over_covered_area(sample_accounts):
    _, acc = sample_accounts
    districts = acc.levels[0]
    coverage = np.asarray(districts.weights.sum(axis=0)).ravel()
    for (name, year), da in acc.rasters.items():
        raster_total = np.nansum(da.values.ravel() * coverage)
        rows = acc.quantities[
            (acc.quantities["level"] == "district")
            & (acc.quantities["quantity_name"] == name)
            & (acc.quantities["year"] == year)
        ]
        assert rows["quantity"].sum() == pytest.approx(raster_total, rel=1e-6)


def test_change_decomposes_exactly_for_every_unit(sample_accounts):
    _, acc = sample_accounts
    d = acc.decomposition
    assert len(d) == 16 + 349
    assert (d["volume_effect_cny"] + d["price_effect_cny"] == d["change_cny"]).all()
    gep = gep_by_unit(acc.accounts)
    first = gep[gep["year"] == 2015].set_index(["level", "unit_id"])["gep_current_cny"]
    last = gep[gep["year"] == 2020].set_index(["level", "unit_id"])["gep_current_cny"]
    change = d.set_index(["level", "unit_id"])["change_cny"]
    np.testing.assert_allclose(change.sort_index(), (last - first).sort_index(), rtol=1e-9)
    start = d.set_index(["level", "unit_id"])["value_from_cny"]
    np.testing.assert_allclose(start.sort_index(), first.sort_index(), rtol=1e-9)


def test_every_price_has_a_year_and_source(sample_accounts):
    _, acc = sample_accounts
    assert acc.accounts["price_year"].notna().all()
    assert acc.accounts["price_source"].str.len().gt(0).all()
    assert (acc.accounts["base_year"] == 2020).all()
