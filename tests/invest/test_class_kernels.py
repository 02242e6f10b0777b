"""The numpy class kernels of ``gep invest`` give the numba kernels' results, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from gep.kernels import carbon, lookup
from gep.kernels.carbon_pairs import CarbonPairs
from gep.kernels.classes import Slots, codes_present, missing_codes

DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_nodata", [False, True])
def test_codes_present_as_the_numba_kernel(dtype: type, with_nodata: bool) -> None:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(3)
    classes = rng.integers(max(info.min, -300), min(info.max, 70_000), (41, 37)).astype(dtype)
    nodata = int(classes[0, 0]) if with_nodata else None
    expected = lookup.codes_present(classes, nodata=nodata)
    assert codes_present(classes, nodata=nodata).tolist() == expected.tolist()
    table = expected[::2]
    assert missing_codes(classes, table, nodata=nodata).tolist() == (
        lookup.missing_codes(classes, table, nodata=nodata).tolist()
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_slots_rows(dtype: type) -> None:
    codes = np.array([1, 5, 9, 100])
    classes = np.array([5, 100, 0, 9, 7, 1], dtype=dtype)
    slots = Slots(codes, np.dtype(dtype), nodata=0)
    # rows: table order, 4 = nodata, 5 = a code not in the table
    assert slots.rows[slots(classes)].tolist() == [1, 3, 4, 2, 5, 0]


#: 8-bit maps index the pair table directly, wider ones through a lookup (numba compiles its
#: kernel once per type: a few types keep the test quick on a fresh cache)
PAIR_DTYPES = [np.uint8, np.int8, np.int16, np.int32]


@pytest.mark.parametrize("dtype", PAIR_DTYPES)
@pytest.mark.parametrize("nodata", [None, 0, 7])
def test_carbon_pairs_equal_the_fused_numba_pass(dtype: type, nodata: int | None) -> None:
    rng = np.random.default_rng(11)
    codes = np.array([1, 2, 3, 5, 6, 9])
    density = carbon.total_pool_density(rng.uniform(0, 80, (codes.size, 4)))
    density[2] = density[1] - np.float32(1.0)  # a change of exactly -1 t C/ha (InVEST's nodata)
    bas = rng.integers(0, 11, (53, 61)).astype(dtype)
    alt = rng.integers(0, 11, (53, 61)).astype(dtype)
    kwargs = {"nodata_bas": nodata, "nodata_alt": nodata, "factor": 3.7, "fill": -9.5}
    expected, expected_totals = carbon.storage_change_npv(bas, alt, codes, density, **kwargs)
    pairs = CarbonPairs(
        codes, density, (bas.dtype, alt.dtype), (nodata, nodata), factor=3.7, fill=-9.5
    )
    buffer = np.empty(4 * bas.size + 5, dtype=np.float32)
    values, totals = pairs.compute(bas, alt, out=buffer)
    np.testing.assert_array_equal(values, expected)  # every pixel of the four rasters
    assert totals.keys() == expected_totals.keys()
    for key, value in expected_totals.items():
        assert totals[key] == pytest.approx(value, rel=1e-12, abs=0), key


def test_carbon_pairs_refuse_too_many_classes() -> None:
    codes = np.arange(2000)
    with pytest.raises(ValueError, match="pair table"):
        CarbonPairs(codes, np.ones(2000), (np.dtype(np.int16),) * 2, (None, None), factor=0.0)
