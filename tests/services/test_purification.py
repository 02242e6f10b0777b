"""Air and water purification: capacity per class × area, capped by the loads per unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_catalog.errors import InputError
from gep.config import demo_config_path, load_run_config
from gep.services import purification
from gep.services.spec import ServiceInputs
from tests.services.synthetic import categorical, make_grid

GRID = make_grid(1, 3, res=100.0)  # 1 ha = 0.01 km² pixels


def test_air_capacity_worked_example() -> None:
    table = pd.DataFrame(
        {"sulphur_dioxide": [8.0, np.nan], "nitrogen_oxides": [4.0, np.nan], "dust": [1500.0, 0.0]},
        index=[1, 2],
    )
    inputs = ServiceInputs.build(
        purification.AIR_SPEC,
        GRID,
        rasters={"landcover": categorical(np.array([[1, 2, 255]]), GRID)},
        tables={"air_purification_capacity": table},
    )
    ds = purification.compute_air(inputs)
    # 8 t km-2 yr-1 × 0.01 km² = 0.08 t yr-1; blank capacity (class 2) = outside: 0; nodata NaN
    np.testing.assert_allclose(
        ds["sulphur_dioxide_purification_capacity"].values, [[0.08, 0, np.nan]]
    )
    np.testing.assert_allclose(ds["dust_purification_capacity"].values, [[15.0, 0.0, np.nan]])
    assert ds["dust_purification_capacity"].attrs["units"] == "t yr-1"


DISTRICT = pd.DataFrame(
    {"unit_id": ["D"], "unit_name": ["d"], "level": ["district"], "parent_id": ["0"],
     "area_km2": [2.0]}
)  # fmt: skip
TOWNS = pd.DataFrame(
    {"unit_id": ["A", "B"], "unit_name": ["a", "b"], "level": ["township"] * 2,
     "parent_id": ["D", "D"], "area_km2": [1.0, 1.0]}
)  # fmt: skip


def _capacity(values: tuple[float, float]) -> pd.DataFrame:
    return TOWNS.assign(
        year=2020,
        quantity_name="sulphur_dioxide_purification_capacity",
        quantity=list(values),
        quantity_unit="t yr-1",
        valid_fraction=1.0,
    )


def _loads(values: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"unit_id": ["A", "B"], "year": 2020, "pollutant": "sulphur_dioxide",
         "load": list(values), "load_unit": "t yr-1"}
    )  # fmt: skip


def test_capped_by_the_loads_of_each_township() -> None:
    out = purification.capped_quantities(
        _capacity((40.0, 10.0)), _loads((25.0, 25.0)), [DISTRICT, TOWNS], name="loads"
    )
    q = out.set_index("unit_id")["quantity"]
    # A: min(40, 25) = 25; B: min(10, 25) = 10; the district counts 35, not min(50, 50)
    assert q.to_dict() == {"A": 25.0, "B": 10.0, "D": 35.0}
    assert set(out["quantity_name"]) == {"sulphur_dioxide_purified"}


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(st.floats(0, 1e6), st.floats(0, 1e6)), st.tuples(st.floats(0, 1e6), st.floats(0, 1e6))
)
def test_purified_never_exceeds_capacity_or_load(cap: tuple, load: tuple) -> None:  # type: ignore[type-arg]
    out = purification.capped_quantities(_capacity(cap), _loads(load), [DISTRICT, TOWNS], name="x")
    towns = out[out["level"] == "township"].set_index("unit_id")["quantity"]
    for i, unit in enumerate(("A", "B")):
        assert towns[unit] <= cap[i] and towns[unit] <= load[i]
    district = out[out["level"] == "district"]["quantity"].iloc[0]
    assert district == pytest.approx(towns.sum()) and district <= min(sum(cap), sum(load)) + 1e-6


def test_missing_or_bad_loads_are_named() -> None:
    with pytest.raises(InputError, match="missing.*unit B, 2020, sulphur_dioxide"):
        purification.capped_quantities(
            _capacity((1.0, 1.0)), _loads((1.0, 1.0)).iloc[:1], [DISTRICT, TOWNS], name="l"
        )
    with pytest.raises(InputError, match="negative load"):
        purification.capped_quantities(
            _capacity((1.0, 1.0)), _loads((-1.0, 1.0)), [DISTRICT, TOWNS], name="l"
        )
    with pytest.raises(InputError, match="expected 't yr-1'"):
        purification.capped_quantities(
            _capacity((1.0, 1.0)), _loads((1.0, 1.0)).assign(load_unit="kg"), [DISTRICT, TOWNS],
            name="l",
        )  # fmt: skip


def test_purification_needs_the_loads_in_the_configuration() -> None:
    config = load_run_config(demo_config_path())
    raw = config.model_dump(exclude={"path"})
    raw["pollutant_loads"] = None
    with pytest.raises(ValueError, match="need `pollutant_loads:`"):
        type(config).model_validate(raw)
