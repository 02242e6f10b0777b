"""Water yield with Z per basin (the ``seasonality_by_basin`` raster gep calibrate writes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.calibration import catchments_from_labels
from gep.calibration.writeback import basin_seasonality
from gep.services import water_yield
from gep.services.spec import ServiceInputs
from tests.services.synthetic import categorical, make_grid, raster

GRID = make_grid(2, 3, 100.0)  # 1 ha pixels
#: basin 1: left column; basin 2: the two right columns; row 2 col 1 is in no basin
LABELS = np.array([[1, 2, 2], [1, 0, 2]])
Z = {"C1": 2.0, "C2": 8.0}
Z_REGION = 4.0


def _inputs(z_map: np.ndarray | None, *, chunks: int | None = None) -> ServiceInputs:
    p = np.array([[600.0, 800.0, 1000.0], [700.0, 900.0, 500.0]])
    rasters = {
        "precipitation": raster(p, GRID, units="mm yr-1"),
        "reference_evapotranspiration": raster(np.full((2, 3), 1000.0), GRID, units="mm yr-1"),
        "root_restricting_depth": raster(np.full((2, 3), 1000.0), GRID, units="mm"),
        "plant_available_water": raster(np.full((2, 3), 0.2), GRID, units="1"),
        "landcover": categorical(np.array([[1, 1, 1], [1, 1, 5]]), GRID),
    }
    if z_map is not None:
        rasters["seasonality_by_basin"] = raster(z_map, GRID, units="1")
    if chunks:
        rasters = {k: v.chunk({"y": chunks, "x": chunks}) for k, v in rasters.items()}
    table = pd.DataFrame(
        {"kc": [0.8, 1.05], "root_depth": [1500.0, np.nan], "vegetated": [1.0, 0.0]}, index=[1, 5]
    )
    return ServiceInputs.build(
        water_yield.SPEC,
        GRID,
        rasters=rasters,
        tables={"biophysical": table},
        params={"seasonality": Z_REGION},
    )


def _budyko_m3(p: float, z: float, *, kc: float = 0.8, eto: float = 1000.0) -> float:
    """The Fu–Zhang water yield of one vegetated 1 ha pixel, written out (m³)."""
    awc = min(1500.0, 1000.0) * 0.2
    phi = kc * eto / p
    omega = min(z * awc / p + 1.25, 5.0)
    aet_over_p = min(phi, 1 + phi - (1 + phi**omega) ** (1 / omega))
    return (1 - aet_over_p) * p * 10_000 * 0.001


def test_basin_raster_from_catchments():
    catchments = catchments_from_labels(LABELS, 10_000.0)
    z = basin_seasonality(catchments, Z, GRID)
    np.testing.assert_array_equal(z, np.array([[2.0, 8.0, 8.0], [2.0, np.nan, 8.0]], np.float32))


@pytest.mark.parametrize("chunks", [None, 1])
def test_two_basins_give_the_budyko_yield_of_their_own_z(chunks):
    """Basin C1 (Z = 2) and basin C2 (Z = 8) each give the Fu–Zhang yield of their Z; the
    pixel outside both uses the region's Z = 4; the water pixel (not vegetated) is min(Kc·ET0,
    P)-limited whatever Z: 0 here."""
    z_map = basin_seasonality(catchments_from_labels(LABELS, 10_000.0), Z, GRID)
    out = water_yield.compute(_inputs(z_map, chunks=chunks))["water_yield"].values
    expected = np.array(
        [
            [_budyko_m3(600, 2.0), _budyko_m3(800, 8.0), _budyko_m3(1000, 8.0)],
            [_budyko_m3(700, 2.0), _budyko_m3(900, Z_REGION), 0.0],
        ]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    basin_1 = out[LABELS == 1].sum()
    basin_2 = out[LABELS == 2].sum()
    assert basin_1 == pytest.approx(_budyko_m3(600, 2.0) + _budyko_m3(700, 2.0), rel=1e-12)
    assert basin_2 == pytest.approx(_budyko_m3(800, 8.0) + _budyko_m3(1000, 8.0), rel=1e-12)
    # larger Z, more evapotranspiration: the same pixel yields less under Z = 8 than Z = 2
    assert _budyko_m3(800, 8.0) < _budyko_m3(800, 2.0)


def test_without_the_raster_the_results_are_unchanged_bit_for_bit():
    """No raster, or one with no value anywhere, gives the scalar-Z results exactly."""
    without = water_yield.compute(_inputs(None))
    empty = water_yield.compute(_inputs(np.full((2, 3), np.nan)))
    for name in without.data_vars:
        np.testing.assert_array_equal(empty[name].values, without[name].values)
    everywhere = water_yield.compute(_inputs(np.full((2, 3), Z_REGION)))
    np.testing.assert_array_equal(everywhere["water_yield"].values, without["water_yield"].values)
