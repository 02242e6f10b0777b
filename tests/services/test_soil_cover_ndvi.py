"""Soil retention's cover factor from NDVI (the fitted C–NDVI relation of gep calibrate)."""

from __future__ import annotations

import numpy as np
import pytest

from gep.errors import InputError, ParameterError
from gep.kernels.rusle import c_factor_cai, c_factor_van_der_knijff
from gep.services import soil_retention
from gep.services.spec import ServiceInputs
from tests.services.synthetic import synthetic_inputs


def _with(inputs: ServiceInputs, *, drop: tuple[str, ...] = (), **params) -> ServiceInputs:
    rasters = {k: v for k, v in inputs.rasters.items() if k not in drop}
    given = {k: v for k, v in inputs.params.items() if v is not None}
    return ServiceInputs.build(
        inputs.spec,
        inputs.grid,
        rasters=rasters,
        tables=dict(inputs.tables),
        params={**given, **params},
    )


@pytest.fixture(scope="module")
def inputs() -> ServiceInputs:
    base = synthetic_inputs(soil_retention.SPEC, seed=3)
    assert "ndvi" in base.rasters  # synthetic_inputs supplies optional rasters too
    return base


def test_ndvi_without_a_relation_changes_nothing(inputs):
    """cover_from_ndvi: none (the default) ignores an NDVI raster: results as without it."""
    with_ndvi = soil_retention.compute(inputs)
    without = soil_retention.compute(_with(inputs, drop=("ndvi",)))
    for name in without.data_vars:
        np.testing.assert_array_equal(with_ndvi[name].values, without[name].values)


@pytest.mark.parametrize(
    ("form", "params", "func"),
    [
        ("van_der_knijff", {"c_ndvi_alpha": 2.5, "c_ndvi_beta": 1.3}, c_factor_van_der_knijff),
        ("cai", {"c_ndvi_ndvi_soil": 0.1, "c_ndvi_ndvi_veg": 0.9}, c_factor_cai),
    ],
)
def test_cover_from_ndvi_replaces_the_class_c_under_the_method(inputs, form, params, func):
    got = soil_retention.cover_management(_with(inputs, cover_from_ndvi=form, **params))
    class_c = soil_retention.cover_management(inputs)
    ndvi = inputs.ndvi.values
    table = inputs.usle_factors
    codes = inputs.landcover.values
    applies = np.isin(codes, table.index[table["rusle_applies"] == 1].to_numpy())
    use = applies & np.isfinite(ndvi)
    np.testing.assert_allclose(got[use], func(ndvi[use], *params.values()))
    np.testing.assert_array_equal(got[~use], class_c[~use])
    assert use.any() and (~use).any()


def test_relation_without_ndvi_is_a_named_error(inputs):
    with pytest.raises(InputError, match=r"cover_from_ndvi is 'cai' but there is no ndvi raster"):
        soil_retention.compute(_with(inputs, drop=("ndvi",), cover_from_ndvi="cai"))
    with pytest.raises(ParameterError, match=r"must exceed c_ndvi_ndvi_soil"):
        soil_retention.cover_management(
            _with(inputs, cover_from_ndvi="cai", c_ndvi_ndvi_soil=0.8, c_ndvi_ndvi_veg=0.2)
        )
