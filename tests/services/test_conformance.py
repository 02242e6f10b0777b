"""One contract test over every registered service (landlab style; numpy vs dask as xarray-spatial)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import xarray as xr

from gep.services import SERVICES
from gep.services.spec import RasterInput, TableInput
from tests.services.synthetic import synthetic_inputs

NAMES = sorted(SERVICES)


def _needs_kernel(name: str) -> None:
    if name == "soil_retention" and importlib.util.find_spec("gep.kernels.sdr") is None:
        pytest.skip("gep.kernels.sdr (routing helper) not present yet")


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_complete(name: str) -> None:
    spec = SERVICES[name].spec
    assert spec.name == name
    assert spec.outputs, "a service must declare its outputs"
    assert spec.references, "a service must cite its method"
    for item in spec.inputs:
        if isinstance(item, RasterInput):
            assert item.categorical or item.units, f"{item.name}: units or categorical"
            assert not (item.categorical and item.units)
        else:
            assert isinstance(item, TableInput)
            assert all(u is not None for u in item.columns.values())
            assert set(item.index) <= set(spec.rasters), f"{item.name} keyed by unknown raster"
            assert all(spec.rasters[r].categorical for r in item.index)
    for out in spec.outputs:
        assert out.units, f"{out.name} has no units"
    assert len({o.name for o in spec.outputs}) == len(spec.outputs)


@pytest.mark.parametrize("name", NAMES)
def test_spec_carries_its_pipeline_wiring(name: str) -> None:
    """What the pipeline reads and accounts is in the spec, consistent with the spec itself."""
    spec = SERVICES[name].spec
    assert spec.accounted, "a pipeline service names the outputs it accounts"
    assert set(spec.accounted) <= set(spec.output_units)
    required = [r for r in spec.rasters.values() if not r.optional]
    assert all(r.variable for r in required), "every required raster names its catalog variable"
    for raster in spec.catalog_rasters.values():
        assert raster.year in ("run", "fixed", "previous")
    for table in spec.tables.values():
        assert set(table.parameters) == set(table.columns), table.name


@pytest.mark.parametrize("name", NAMES)
def test_compute_returns_declared_outputs(name: str) -> None:
    _needs_kernel(name)
    service = SERVICES[name]
    ds = service.compute(synthetic_inputs(service.spec))
    assert isinstance(ds, xr.Dataset)
    assert set(ds.data_vars) == set(service.spec.output_units)
    rasters = service.spec.rasters.values()
    nodata_pixels = [(0, 0)] if any(r.categorical for r in rasters) else []
    nodata_pixels += [(1, 1)] if any(not r.categorical for r in rasters) else []
    for out, units in service.spec.output_units.items():
        assert ds[out].attrs["units"] == units
        assert ds[out].shape == (8, 8)
        values = ds[out].values
        for pixel in nodata_pixels:  # synthetic_inputs puts nodata there
            assert np.isnan(values[pixel]), f"{out}: nodata in must give NaN at {pixel}"
        assert np.isfinite(values).sum() >= 16, f"{out}: too few valid pixels"


@pytest.mark.parametrize("name", NAMES)
def test_numpy_and_dask_agree(name: str) -> None:
    _needs_kernel(name)
    service = SERVICES[name]
    eager = service.compute(synthetic_inputs(service.spec, seed=3))
    lazy = service.compute(synthetic_inputs(service.spec, seed=3, chunks=4))
    if service.spec.neighbourhood == 0:
        assert any(v.chunks is not None for v in lazy.data_vars.values()), "per-pixel stays lazy"
    for out in service.spec.output_units:
        np.testing.assert_allclose(lazy[out].values, eager[out].values, rtol=1e-12, equal_nan=True)
