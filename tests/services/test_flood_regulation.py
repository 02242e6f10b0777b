"""Flood regulation by vegetation: worked example by hand and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.services import flood_regulation
from gep.services.spec import ServiceInputs
from tests.services.synthetic import categorical, make_grid, raster

GRID = make_grid(1, 3, res=100.0)  # 1 ha pixels
#: class 1 forest α_s = 0.15, class 2 grassland 0.3, class 3 built-up (blank: outside)
RUNOFF = pd.DataFrame({"coef": [0.15, 0.3, np.nan]}, index=[1, 2, 3])


def _inputs(storm: list[float], classes: list[int]) -> ServiceInputs:
    return ServiceInputs.build(
        flood_regulation.SPEC,
        GRID,
        rasters={
            "storm_precipitation": raster(np.array([storm]), GRID, units="mm yr-1"),
            "landcover": categorical(np.array([classes]), GRID),
        },
        tables={"storm_runoff": RUNOFF},
    )


def test_vegetation_storage_worked_example() -> None:
    ds = flood_regulation.compute(_inputs([150.0, 150.0, 150.0], [1, 2, 3]))
    # forest: (150 − 0.15·150) mm = 127.5 mm × 10 000 m² × 0.001 = 1 275 m³;
    # grassland: 105 mm → 1 050 m³; built-up: outside the method → 0
    np.testing.assert_allclose(ds["vegetation_flood_storage"].values, [[1275.0, 1050.0, 0.0]])
    assert ds["vegetation_flood_storage"].attrs["units"] == "m3 yr-1"


def test_nodata_is_nan() -> None:
    ds = flood_regulation.compute(_inputs([np.nan, 100.0, 100.0], [1, 255, 3]))
    values = ds["vegetation_flood_storage"].values
    assert np.isnan(values[0, :2]).all() and values[0, 2] == 0.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 2000.0), min_size=3, max_size=3), st.floats(0.0, 5.0))
def test_storage_is_linear_and_bounded_by_the_rain(storm: list[float], scale: float) -> None:
    base = flood_regulation.compute(_inputs(storm, [1, 2, 3]))["vegetation_flood_storage"].values
    scaled = flood_regulation.compute(_inputs([v * scale for v in storm], [1, 2, 3]))
    np.testing.assert_allclose(
        scaled["vegetation_flood_storage"].values, base * scale, rtol=1e-5, atol=1e-6
    )
    rain_m3 = np.array(storm) * 10.0  # mm on 1 ha → m³
    assert (base[0] >= 0).all() and (base[0] <= rain_m3 * (1 + 1e-6)).all()
