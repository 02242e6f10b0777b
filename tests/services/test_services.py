"""Services end to end on tiny grids: worked examples and the checks made before any work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.errors import (
    GridMismatchError,
    InputError,
    MissingClassError,
    ParameterError,
    TableError,
    UnitError,
)
from gep.services import SERVICES, carbon, water_conservation, water_yield
from gep.services.spec import ServiceInputs
from tests.services.synthetic import categorical, make_grid, raster

GRID = make_grid(2, 2, res=100.0)  # 100 m pixels: 10 000 m² = 1 ha each


def _wc_inputs(**overrides):
    rasters = {
        "precipitation": raster(np.array([[800.0, 400.0], [600.0, 500.0]]), GRID, units="mm yr-1"),
        "evapotranspiration": raster(
            np.array([[450.0, 420.0], [500.0, 300.0]]), GRID, units="mm yr-1"
        ),
        "landcover": categorical(np.array([[1, 2], [255, 3]]), GRID),
    }
    tables = {
        "runoff_coefficients": pd.DataFrame({"coef": [0.027, 0.0937, np.nan]}, index=[1, 2, 3])
    }
    rasters.update(overrides.pop("rasters", {}))
    tables.update(overrides.pop("tables", {}))
    return ServiceInputs.build(water_conservation.SPEC, GRID, rasters=rasters, tables=tables)


def test_water_conservation_worked_example() -> None:
    # ET given in m yr-1 is converted to mm yr-1: 0.45 m = 450 mm, 0.42 m = 420 mm
    inputs = _wc_inputs(
        rasters={
            "evapotranspiration": raster(np.array([[0.45, 0.42], [0.5, 0.3]]), GRID, units="m yr-1")
        }
    )
    ds = water_conservation.compute(inputs)
    # class 1: 800 − 0.027·800 − 450 = 328.4 mm over 10 000 m² → 3284 m³
    # class 2: 400 − 0.0937·400 − 420 = −57.48 mm → −574.8 m³ (clipped: 0)
    # nodata class → NaN; class 3 (blank α: outside the method) → 0 by definition
    np.testing.assert_allclose(ds["water_conserved_depth"].values, [[328.4, -57.48], [np.nan, 0.0]])
    np.testing.assert_allclose(ds["water_conserved"].values, [[3284.0, -574.8], [np.nan, 0.0]])
    np.testing.assert_allclose(ds["water_conserved_clipped"].values, [[3284.0, 0.0], [np.nan, 0.0]])
    assert ds["water_conserved"].attrs["units"] == "m3 yr-1"
    assert float(ds["water_conserved"].sum()) == pytest.approx(2709.2)  # signed sum
    assert float(ds["water_conserved_clipped"].sum()) == pytest.approx(3284.0)  # clipped sum


def test_water_yield_service_volume() -> None:
    # one vegetated pixel of the kernel worked example (AET/P = 0.783283, P = 600 mm):
    # yield 130.030 mm over 1 ha = 1300.30 m³; the other pixel is water (veg 0): yield 0
    rasters = {
        "precipitation": raster(
            np.array([[600.0, 600.0]]), make_grid(1, 2, 100.0), units="mm yr-1"
        ),
        "reference_evapotranspiration": raster(
            np.array([[1000.0, 1000.0]]), make_grid(1, 2, 100.0), units="mm yr-1"
        ),
        "root_restricting_depth": raster(
            np.array([[1000.0, 1000.0]]), make_grid(1, 2, 100.0), units="mm"
        ),
        "plant_available_water": raster(np.array([[0.2, 0.2]]), make_grid(1, 2, 100.0), units="1"),
        "landcover": categorical(np.array([[1, 5]]), make_grid(1, 2, 100.0)),
    }
    table = pd.DataFrame(
        {"kc": [0.8, 1.05], "root_depth": [1500.0, np.nan], "vegetated": [1.0, 0.0]}, index=[1, 5]
    )
    inputs = ServiceInputs.build(
        water_yield.SPEC,
        make_grid(1, 2, 100.0),
        rasters=rasters,
        tables={"biophysical": table},
        params={"seasonality": 4.0},
    )
    ds = water_yield.compute(inputs)
    np.testing.assert_allclose(ds["water_yield"].values, [[1300.30, 0.0]], atol=0.02)
    np.testing.assert_allclose(ds["aet_fraction"].values, [[0.783283, 1.0]], atol=2e-6)


def test_carbon_stock_change_worked_example() -> None:
    # forest (162.4 t C/ha) → crop (75.0): −87.4 t C on 1 ha; over 20 yr: −4.37 t C/yr = −16.023 t CO2/yr
    pools = pd.DataFrame(
        {
            "c_above": [48.6, 5.2],
            "c_below": [12.1, 1.3],
            "c_soil": [95.4, 68.0],
            "c_dead": [6.3, 0.5],
        },
        index=[2, 1],
    )
    grid = make_grid(1, 2, 100.0)
    inputs = ServiceInputs.build(
        carbon.STOCK_CHANGE_SPEC,
        grid,
        rasters={
            "landcover_base": categorical(np.array([[2, 1]]), grid),
            "landcover_alt": categorical(np.array([[1, 255]]), grid),
        },
        tables={"carbon_pools": pools},
        params={"n_years": 20},
    )
    ds = carbon.compute_stock_change(inputs)
    np.testing.assert_allclose(ds["carbon_stock_base"].values, [[162.4, 75.0]])
    np.testing.assert_allclose(ds["carbon_stock_change"].values, [[-87.4, np.nan]])
    np.testing.assert_allclose(ds["carbon_sequestration_stock_change"].values, [[-4.37, np.nan]])
    np.testing.assert_allclose(
        ds["co2_sequestration_stock_change"].values, [[-4.37 * 44 / 12, np.nan]]
    )
    assert ds["co2_sequestration_stock_change"].attrs["units"] == "t CO2 yr-1"


def test_carbon_nep_both_forms() -> None:
    grid = make_grid(1, 2, 100.0)
    npp = raster(np.array([[500.0, 300.0]]), grid, units="g C m-2 yr-1")  # = 5 and 3 t C/ha/yr
    rh = raster(np.array([[4.0, 3.5]]), grid, units="t C ha-1 yr-1")
    ds = carbon.compute_nep(
        ServiceInputs.build(
            carbon.NEP_SPEC, grid, rasters={"npp": npp, "heterotrophic_respiration": rh}
        )
    )
    np.testing.assert_allclose(ds["nep"].values, [[1.0, -0.5]])  # NEP = NPP − Rh, 1 ha pixels
    ds = carbon.compute_nep(
        ServiceInputs.build(
            carbon.NEP_SPEC, grid, rasters={"npp": npp}, params={"nep_npp_ratio": 0.2}
        )
    )
    np.testing.assert_allclose(ds["co2_sequestration"].values, [[1.0 * 44 / 12, 0.6 * 44 / 12]])
    with pytest.raises(ParameterError, match="exactly one"):
        carbon.compute_nep(ServiceInputs.build(carbon.NEP_SPEC, grid, rasters={"npp": npp}))


def test_missing_class_is_reported_before_work() -> None:
    with pytest.raises(MissingClassError, match=r"class codes 3 occur in 'landcover'"):
        _wc_inputs(tables={"runoff_coefficients": pd.DataFrame({"coef": [0.1, 0.2]}, index=[1, 2])})


def test_units_are_required_and_converted() -> None:
    bad = raster(np.ones((2, 2)), GRID)  # no units
    with pytest.raises(UnitError, match="'precipitation' has no units"):
        _wc_inputs(rasters={"precipitation": bad})
    with pytest.raises(UnitError, match="accepted"):
        _wc_inputs(rasters={"precipitation": raster(np.ones((2, 2)), GRID, units="kg")})


def test_misaligned_raster_is_rejected() -> None:
    other = raster(np.ones((2, 2)), make_grid(2, 2, res=30.0), units="mm yr-1")
    with pytest.raises(GridMismatchError, match="precipitation"):
        _wc_inputs(rasters={"precipitation": other})


def test_table_and_parameter_checks() -> None:
    with pytest.raises(TableError, match=r"column 'coef' \(1\) must be in \[0.0, 1.0\]"):
        _wc_inputs(
            tables={"runoff_coefficients": pd.DataFrame({"coef": [0.1, 1.5, 0.1]}, index=[1, 2, 3])}
        )
    with pytest.raises(TableError, match="lacks column"):
        _wc_inputs(
            tables={
                "runoff_coefficients": pd.DataFrame({"alpha": [0.1, 0.1, 0.1]}, index=[1, 2, 3])
            }
        )
    with pytest.raises(InputError, match="needs the raster 'precipitation'"):
        ServiceInputs.build(water_conservation.SPEC, GRID, rasters={}, tables={})
    spec = SERVICES["soil_retention"].spec
    with pytest.raises(ParameterError, match="choose one of"):
        from gep.services.spec import _check_params

        _check_params(spec, {"flow_dir_algorithm": "dinf"})
