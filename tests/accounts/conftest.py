"""A fast run of the accounts on the sample region (services without routing), shared."""

from __future__ import annotations

import pytest

from gep.config import demo_config_path, load_run_config
from gep.pipeline import restrict_services, run_accounts

FAST_SERVICES = ("water_conservation", "carbon_nep")  # no routing: fast


@pytest.fixture(scope="session")
def sample_config():
    return _fast_config()


@pytest.fixture(scope="session")
def sample_accounts(sample_config):
    return run_accounts(sample_config)


def _fast_config():
    return restrict_services(load_run_config(demo_config_path()), FAST_SERVICES)
