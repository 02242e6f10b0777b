"""Climate regulation and oxygen release: worked examples by hand and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.errors import ParameterError
from gep.services import SERVICES, carbon, climate_regulation, oxygen
from gep.services.spec import ServiceInputs
from tests.services.synthetic import categorical, make_grid, raster

GRID = make_grid(1, 3, res=100.0)  # 1 ha pixels
#: class 1 forest (transpires), 2 water (evaporates), 3 built-up (outside the method)
SURFACES = pd.DataFrame(
    {"transpiring": [1.0, 0.0, 0.0], "evaporating": [0.0, 1.0, 0.0]}, index=[1, 2, 3]
)


def _climate(et: list[float], classes: list[int], **params: float) -> ServiceInputs:
    return ServiceInputs.build(
        climate_regulation.SPEC,
        GRID,
        rasters={
            "evapotranspiration_hot_days": raster(np.array([et]), GRID, units="mm yr-1"),
            "landcover": categorical(np.array([classes]), GRID),
        },
        tables={"climate_surfaces": SURFACES},
        params=params,
    )


def test_climate_regulation_worked_example() -> None:
    ds = climate_regulation.compute(_climate([100.0, 100.0, 100.0], [1, 2, 3]))
    # forest: 100 mm on 1 ha = 1000 m³; transpired share 0.61 → 610 m³ = 6.1e5 kg;
    # × 2450 kJ kg-1 = 1.4945e9 kJ; / 3600 = 415 138.9 kWh of heat; / EER 3 = 138 379.6 kWh
    forest = 610.0 * 1000.0 * 2450.0 / 3600.0 / 3.0
    # water: all 1000 m³ evaporated: 1e6 kg × 2450 / 3600 / 3 = 226 851.9 kWh
    water = 1000.0 * 1000.0 * 2450.0 / 3600.0 / 3.0
    assert forest == pytest.approx(138_379.63, abs=0.01)
    np.testing.assert_allclose(
        ds["transpiration_cooling_energy"].values, [[forest, 0.0, 0.0]], rtol=1e-12
    )
    np.testing.assert_allclose(ds["water_evaporation_energy"].values, [[0.0, water, 0.0]])
    assert ds["water_evaporation_energy"].attrs["units"] == "kWh yr-1"


def test_humidification_only_below_the_humidity_threshold() -> None:
    dry = climate_regulation.compute(_climate([100.0] * 3, [1, 2, 3], relative_humidity_percent=40))
    humid = climate_regulation.compute(
        _climate([100.0] * 3, [1, 2, 3], relative_humidity_percent=60)
    )
    unset = climate_regulation.compute(_climate([100.0] * 3, [1, 2, 3]))
    # below 45 %: + 120 kWh m-3 × 1000 m³ on the water pixel only
    extra = dry["water_evaporation_energy"].values - unset["water_evaporation_energy"].values
    np.testing.assert_allclose(extra, [[0.0, 120_000.0, 0.0]])
    np.testing.assert_array_equal(
        humid["water_evaporation_energy"].values, unset["water_evaporation_energy"].values
    )
    np.testing.assert_array_equal(
        dry["transpiration_cooling_energy"].values, unset["transpiration_cooling_energy"].values
    )


def test_climate_nodata_is_nan() -> None:
    ds = climate_regulation.compute(_climate([np.nan, 50.0, 50.0], [1, 255, 3]))
    assert np.isnan(ds["transpiration_cooling_energy"].values[0, :2]).all()
    assert ds["transpiration_cooling_energy"].values[0, 2] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    et=st.lists(st.floats(0.0, 2000.0), min_size=3, max_size=3),
    scale=st.floats(0.1, 10.0),
    eer=st.floats(1.0, 8.0),
)
def test_climate_linear_in_et_and_inverse_in_eer(et: list[float], scale: float, eer: float) -> None:
    base = climate_regulation.compute(_climate(et, [1, 2, 3], energy_efficiency_ratio=eer))
    scaled = climate_regulation.compute(
        _climate([v * scale for v in et], [1, 2, 3], energy_efficiency_ratio=eer)
    )
    double_eer = climate_regulation.compute(
        _climate(et, [1, 2, 3], energy_efficiency_ratio=min(2 * eer, 10.0))
    )
    for name in ("transpiration_cooling_energy", "water_evaporation_energy"):
        b = base[name].values
        assert (b >= 0).all()
        np.testing.assert_allclose(scaled[name].values, b * scale, rtol=1e-9, atol=1e-9)
        ratio = eer / min(2 * eer, 10.0)
        np.testing.assert_allclose(double_eer[name].values, b * ratio, rtol=1e-9, atol=1e-9)
        assert b[0, 2] == 0.0  # built-up: outside the method


def _npp(values: list[float], spec) -> ServiceInputs:  # type: ignore[no-untyped-def]
    return ServiceInputs.build(
        spec,
        GRID,
        rasters={"npp": raster(np.array([values]), GRID, units="t C ha-1 yr-1")},
        params={"nep_npp_ratio": 0.4},
    )


def test_oxygen_worked_example() -> None:
    ds = oxygen.compute(_npp([5.0, 0.0, -1.0], oxygen.SPEC))
    # NEP = 0.4 × 5 = 2 t C ha-1 yr-1 on 1 ha → 2 × 32/12 = 5.3333 t O2 yr-1; a source is kept
    np.testing.assert_allclose(ds["oxygen_release"].values, [[16.0 / 3.0, 0.0, -0.4 * 32 / 12]])
    assert ds["oxygen_release"].attrs["units"] == "t O2 yr-1"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5.0, 50.0), min_size=3, max_size=3))
def test_oxygen_is_32_44_of_the_co2_fixed(npp: list[float]) -> None:
    o2 = oxygen.compute(_npp(npp, oxygen.SPEC))["oxygen_release"].values
    co2 = carbon.compute_nep(_npp(npp, carbon.NEP_SPEC))["co2_sequestration"].values
    np.testing.assert_allclose(o2, co2 * 32.0 / 44.0, rtol=1e-12, atol=1e-12)


def test_oxygen_needs_exactly_one_nep_form() -> None:
    inputs = ServiceInputs.build(
        oxygen.SPEC, GRID, rasters={"npp": raster(np.ones((1, 3)), GRID, units="t C ha-1 yr-1")}
    )
    with pytest.raises(ParameterError, match="exactly one"):
        oxygen.compute(inputs)


def test_new_services_are_registered() -> None:
    assert {"climate_regulation", "oxygen_release"} <= set(SERVICES)
