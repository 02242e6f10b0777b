"""The same graphs on a dask.distributed LocalCluster give the single-process results."""

from __future__ import annotations

import numpy as np
import pytest

from data_catalog.catalog import load_catalog
from gep import distributed, pipeline
from gep.config import demo_config_path, load_run_config
from gep.errors import InputError


def test_local_cluster_equals_single_process() -> None:
    config = load_run_config(demo_config_path())
    config = config.model_copy(
        update={
            "years": [config.years[-1]],
            "services": {
                k: v for k, v in config.services.items() if k in ("water_yield", "soil_retention")
            },
        }
    )
    cat = load_catalog(config.catalog_file())
    params = cat.table(config.parameters)
    single = pipeline.compute_quantities(cat, config, params)
    spread = distributed.compute_quantities(cat, config, params, scheduler_spec="local", chunks=256)
    assert set(spread) == set(single) and len(single) == 4
    for key, expected in single.items():
        got = spread[key]
        assert got.chunks is None
        np.testing.assert_array_equal(got.values, expected.values, err_msg=str(key))


def test_threads_scheduler_is_the_default() -> None:
    with distributed.scheduler(None) as client:
        assert client is None


def test_bad_scheduler_address() -> None:
    with pytest.raises(InputError, match="tcp://"), distributed.scheduler("somewhere:8786"):
        pass
