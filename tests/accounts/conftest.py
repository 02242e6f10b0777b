"""A fast run of the accounts on the sample region (services without routing), shared."""

from __future__ import annotations

import pytest

from gep.config import demo_config_path, load_run_config
from gep.pipeline import run_accounts

FAST_SERVICES = ("water_conservation", "carbon_nep")  # no routing: fast


@pytest.fixture(scope="session")
def sample_config():
    return _fast_config()


@pytest.fixture(scope="session")
def sample_accounts(sample_config):
    return run_accounts(sample_config)


def _fast_config():
    cfg = load_run_config(demo_config_path())
    components = [c for c in cfg.valuation.components if c.service != "soil_retention"]
    cfg = cfg.model_copy(
        update={
            "services": {k: v for k, v in cfg.services.items() if k in FAST_SERVICES},
            "valuation": cfg.valuation.model_copy(update={"components": components}),
        }
    )
    return cfg
