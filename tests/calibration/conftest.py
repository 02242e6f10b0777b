"""Shared fixtures: the sample catalog, its parameters and gauged catchments (built once)."""

from __future__ import annotations

import pytest

from data_catalog.catalog import load_catalog
from data_catalog.sample import catalog_path
from gep.accounts import unit_level
from gep.calibration import catchments_from_level, match_observations


@pytest.fixture(scope="session")
def sample_catalog():
    return load_catalog(catalog_path())


@pytest.fixture(scope="session")
def sample_params(sample_catalog):
    return sample_catalog.table("parameters")


@pytest.fixture(scope="session")
def gauges(sample_catalog):
    grid = sample_catalog.reference_grid()
    level = unit_level(
        sample_catalog.vector("gauge_catchments"), grid, level="gauge", id_field="gauge_id"
    )
    return catchments_from_level(level, grid)


@pytest.fixture(scope="session")
def gauge_observations(sample_catalog, gauges):
    return match_observations(
        sample_catalog.table("gauge_runoff"), gauges, value_column="observed_runoff_mm"
    )
