"""Adding a service is one module: its spec declares what the pipeline reads and accounts.

The module below is written to a temporary folder, imported and registered (what
:mod:`gep.services` does for every module of its package), and the pipeline then computes
and accounts it on the sample region with nothing else edited: no table outside the module
names it. The service is a stand-in with a hand-computed result: forest and grassland pixels
account their precipitation volume (P · A, m³ yr-1).
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import numpy as np
import pytest

from data_catalog.catalog import load_catalog
from gep import pipeline
from gep.config import demo_config_path, load_run_config
from gep.services import SERVICES, register

MODULE = '''
"""Rain on vegetation: a test service (P·A on the classes flagged in its table)."""

import numpy as np

from gep import units
from gep.services.spec import (
    RasterInput, RasterOutput, Service, ServiceSpec, TableInput, as_output, reclassify,
)

SPEC = ServiceSpec(
    name="rain_on_vegetation",
    inputs=(
        RasterInput("precipitation", units=units.MM_PER_YR, variable="precipitation"),
        RasterInput("landcover", categorical=True, variable="landcover"),
        TableInput(
            "vegetated",
            index=("landcover",),
            columns={"flag": "1"},
            flags=("flag",),
            parameters={"flag": "lulc_veg"},
        ),
    ),
    outputs=(RasterOutput("rain_on_vegetation", units.M3_PER_YR, "P·A on vegetation"),),
    references=("a test of the service contract",),
    accounted=("rain_on_vegetation",),
)


def compute(inputs):
    flag = reclassify(inputs, "landcover", "vegetated", "flag")
    volume = inputs.precipitation / 1000.0 * inputs.cell_area_m2() * flag
    return as_output(SPEC, rain_on_vegetation=volume.transpose("y", "x"))


SERVICE = Service(SPEC, compute)
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    path = tmp_path / "rain_on_vegetation.py"
    path.write_text(textwrap.dedent(MODULE), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("rain_on_vegetation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "rain_on_vegetation", module)
    spec.loader.exec_module(module)
    monkeypatch.setitem(SERVICES, "rain_on_vegetation", SERVICES.get("water_yield"))
    assert register(module.SERVICE) is module.SERVICE  # the registry the pipeline reads
    assert SERVICES["rain_on_vegetation"] is module.SERVICE
    return module


def test_a_service_from_one_module_is_computed_and_accounted(plugin, tmp_path) -> None:
    config = load_run_config(demo_config_path())
    config = config.model_copy(update={"services": {"rain_on_vegetation": {}}})
    cat = load_catalog(config.catalog_file())
    params = cat.table(config.parameters)
    levels = pipeline.unit_levels(cat, config, blockwise=True)
    streamed = pipeline.stream_quantities(cat, config, params, levels, tmp_path, chunks=512)
    assert pipeline.ACCOUNTED["rain_on_vegetation"] == ("rain_on_vegetation",)
    rows = streamed.quantities[streamed.quantities["level"] == "district"]
    assert set(rows["quantity_name"]) == {"rain_on_vegetation"}
    assert set(rows["year"]) == set(config.years)
    # by hand: P (mm) / 1000 · A (m²) over the pixels whose class is vegetated
    year = config.years[0]
    rain = cat.raster(cat.find(variable="precipitation", year=year)).values
    lc = cat.raster(cat.find(variable="landcover", year=year))
    table = pipeline.class_table(
        cat, cat.find(variable="landcover", year=year), params, {"flag": "lulc_veg"}
    )
    flag = table["flag"].reindex(lc.values.ravel()).to_numpy().reshape(lc.shape)
    area = cat.reference_grid().cell_area_m2()
    volume = np.where(lc.coords["valid"].values, rain / 1000.0 * area * flag, np.nan)
    matrix = pipeline.unit_levels(cat, config)
    by_hand = matrix[0].weights @ np.nan_to_num(volume.ravel())
    got = rows[rows["year"] == year].set_index("unit_id")["quantity"]
    np.testing.assert_allclose(got.loc[matrix[0].ids].to_numpy(), by_hand, rtol=1e-9)
    assert got.sum() > 0
