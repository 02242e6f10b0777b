"""Property tests of the routing and SDR kernels (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gep.kernels._grid import COL_OFFSETS, ROW_OFFSETS
from gep.kernels.accumulation import flow_accumulation, topological_order
from gep.kernels.fill import fill_pits
from gep.kernels.flowdir import flow_dir_d8, flow_dir_mfd
from gep.kernels.sdr import sdr_model

SETTINGS = settings(max_examples=40, deadline=None)

shapes = st.tuples(st.integers(2, 9), st.integers(2, 9))


@st.composite
def dems(draw):
    """Small DEMs in whole or half metres (many flats and pits), some nodata holes."""
    shape = draw(shapes)
    z = draw(arrays(np.float64, shape, elements=st.integers(0, 12).map(lambda v: v / 2)))
    # about one pixel in six is nodata
    holes = draw(arrays(np.bool_, shape, elements=st.sampled_from([False] * 5 + [True])))
    return np.where(holes, np.nan, z)


def _outflow_fraction_d8(fdir: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(fdir.shape)
    d = np.where(fdir == 128, 0, fdir)
    r = rows + ROW_OFFSETS[d]
    c = cols + COL_OFFSETS[d]
    off = (r < 0) | (r >= fdir.shape[0]) | (c < 0) | (c >= fdir.shape[1])
    inside = ~off
    into_nodata = np.zeros(fdir.shape, bool)
    into_nodata[inside] = fdir[r[inside], c[inside]] == 128
    return ((off | into_nodata) & (fdir != 128)).astype(float)


def _outflow_fraction_mfd(fdir: np.ndarray) -> np.ndarray:
    n_rows, n_cols = fdir.shape
    v = fdir.astype(np.int64) & 0xFFFFFFFF
    total = np.zeros(fdir.shape)
    leaving = np.zeros(fdir.shape)
    for d in range(8):
        w = (v >> (4 * d)) & 0xF
        total += w
        rows, cols = np.indices(fdir.shape)
        r, c = rows + ROW_OFFSETS[d], cols + COL_OFFSETS[d]
        off = (r < 0) | (r >= n_rows) | (c < 0) | (c >= n_cols)
        into_nodata = np.zeros(fdir.shape, bool)
        into_nodata[~off] = fdir[r[~off], c[~off]] == 0
        leaving += np.where(off | into_nodata, w, 0)
    return np.divide(leaving, total, out=np.zeros(fdir.shape), where=total > 0)


@SETTINGS
@given(dems())
def test_fill_raises_only_and_is_idempotent(dem):
    filled = fill_pits(dem)
    valid = np.isfinite(dem)
    assert np.array_equal(np.isnan(filled), ~valid)
    assert (filled[valid] >= dem[valid]).all()
    assert np.array_equal(fill_pits(filled), filled, equal_nan=True)


@SETTINGS
@given(dems())
def test_every_valid_pixel_is_routed_without_cycles(dem):
    filled = fill_pits(dem)
    n_valid = int(np.isfinite(dem).sum())
    for algo, fdir in (("d8", flow_dir_d8(filled)), ("mfd", flow_dir_mfd(filled))):
        nodata = 128 if algo == "d8" else 0
        assert int((fdir != nodata).sum()) == n_valid
        assert topological_order(fdir, algo).size == n_valid  # a DAG: Kahn visits all


@SETTINGS
@given(dems())
def test_mfd_weights_sum_to_15_up_to_quantisation(dem):
    fdir = flow_dir_mfd(fill_pits(dem))
    v = fdir.astype(np.int64) & 0xFFFFFFFF
    total = sum((v >> (4 * d)) & 0xF for d in range(8))
    valid = np.isfinite(dem)
    # each of at most 8 shares is rounded by at most 0.5 from 15 * share
    assert ((total[valid] >= 11) & (total[valid] <= 19)).all()
    assert (total[~valid] == 0).all()


@SETTINGS
@given(dems())
def test_flow_accumulation_conserves_mass(dem):
    filled = fill_pits(dem)
    n_valid = np.isfinite(dem).sum()
    for algo, fdir, leaving in (
        ("d8", flow_dir_d8(filled), _outflow_fraction_d8),
        ("mfd", flow_dir_mfd(filled), _outflow_fraction_mfd),
    ):
        fa = flow_accumulation(fdir, algo)
        # everything that enters leaves through the outlets: sum(FA x fraction leaving)
        out = np.nansum(fa * leaving(fdir))
        np.testing.assert_allclose(out, n_valid, rtol=1e-12)
        assert (fa[np.isfinite(dem)] >= 1).all()


factors = st.floats(0.0, 1.0)


@SETTINGS
@given(dems(), factors, factors, st.sampled_from(["d8", "mfd"]), st.integers(0, 6))
def test_sdr_outputs_physical_and_nan_propagates(dem, c, p, algo, tfa):
    shape = dem.shape
    rng = np.random.default_rng(0)
    erosivity = rng.uniform(100, 5000, shape)
    erodibility = rng.uniform(0.001, 0.05, shape)
    usle_c = np.full(shape, c)
    usle_p = np.full(shape, p)
    erosivity[0, 0] = np.nan  # NaN in any input -> NaN out
    out = sdr_model(
        dem,
        erosivity,
        erodibility,
        usle_c,
        usle_p,
        np.ones(shape, bool),
        30.0,
        flow_dir_algorithm=algo,
        threshold_flow_accumulation=tfa,
    )
    for key in (
        "rkls",
        "usle",
        "avoided_erosion",
        "sed_export",
        "e_prime",
        "sed_deposition",
        "flux",
        "avoided_export",
        "ls",
        "d_up",
        "d_dn",
    ):
        values = out[key][np.isfinite(out[key])]
        assert (values >= 0).all(), key
        assert np.isnan(out[key][0, 0]), key
    sdr = out["sdr"][np.isfinite(out["sdr"])]
    assert ((sdr >= 0) & (sdr <= 1)).all()
    assert not out["valid"][0, 0]


@SETTINGS
@given(dems(), st.sampled_from(["d8", "mfd"]))
def test_c_and_p_of_one_retain_nothing(dem, algo):
    ones = np.ones(dem.shape)
    out = sdr_model(
        dem,
        ones * 2000,
        ones * 0.03,
        ones,
        ones,
        ones.astype(bool),
        30.0,
        flow_dir_algorithm=algo,
        threshold_flow_accumulation=3,
    )
    defined = np.isfinite(out["avoided_erosion"])
    assert (out["avoided_erosion"][defined] == 0).all()
    both = np.isfinite(out["avoided_export"])
    np.testing.assert_array_equal(out["avoided_export"][both], out["sed_deposition"][both])
