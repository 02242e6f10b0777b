"""Sparse MFD stream extraction agrees bit for bit with the dense kernel."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from gep.kernels._grid import iterblock_shape
from gep.kernels.accumulation import flow_accumulation
from gep.kernels.fill import fill_pits
from gep.kernels.flowdir import flow_dir_mfd
from gep.kernels.sparse_streams import (
    candidates,
    extract_streams_mfd_sparse,
    streams_from_sparse,
)
from gep.kernels.streams import _extract_streams_mfd, extract_streams_mfd

PROPORTIONS = (0.7, 1.0, 0.0)


def _sparse(fa, fdir, threshold, proportion):
    index, fa_c, fdir_c, outlet_c = candidates(fa, fdir, threshold, proportion)
    streams = extract_streams_mfd_sparse(
        index, fa_c, fdir_c, outlet_c, fa.shape, threshold, trace_threshold_proportion=proportion
    )
    return streams_from_sparse(streams, fa)


def _routed(seed, shape, *, rounding=None, holes=True, border=True):
    """Random DEM (optionally rounded into flats, holed, with a nodata border): FA, fdir."""
    rng = np.random.default_rng(seed)
    dem = rng.normal(size=shape).cumsum(axis=0).cumsum(axis=1) * 0.05 + rng.normal(size=shape)
    if rounding:
        dem = np.round(dem / rounding) * rounding
    if holes:
        dem[rng.random(shape) < 0.01] = np.nan
    if border:
        dem[:2, :] = np.nan
        dem[:, -3:] = np.nan
    fdir = flow_dir_mfd(fill_pits(dem))
    return flow_accumulation(fdir, "mfd"), fdir


def _row_major(fa, fdir, threshold, proportion):
    """The dense kernel scanning plain rows (one block per row) instead of pygeoprocessing's blocks."""
    return _extract_streams_mfd(fa, fdir, float(threshold), proportion * threshold, 1, fa.shape[1])


@pytest.mark.parametrize(
    ("seed", "shape", "rounding", "holes", "border"),
    [
        (0, (50, 70), None, True, True),
        (1, (50, 70), 0.5, True, True),
        (2, (50, 70), 2.0, False, False),
        (3, (300, 257), None, True, True),
        (4, (300, 257), 2.0, True, True),
        (5, (300, 300), 0.5, True, True),
        (9, (300, 300), None, True, True),
        (6, (40, 1000), None, True, False),
    ],
)
def test_sparse_streams_match_the_dense_kernel_on_random_dems(seed, shape, rounding, holes, border):
    fa, fdir = _routed(seed, shape, rounding=rounding, holes=holes, border=border)
    ties = float(np.nanquantile(fa, 0.9))  # an FA value that occurs: exercises >=
    for threshold in (3.0, 10.0, 50.0, ties):
        for proportion in PROPORTIONS:
            dense = extract_streams_mfd(fa, fdir, threshold, trace_threshold_proportion=proportion)
            assert_array_equal(_sparse(fa, fdir, threshold, proportion), dense)


def test_300_by_300_spans_several_stream_blocks_and_the_block_order_matters():
    assert iterblock_shape(300, 300, largest_block=2**16) == (256, 256)  # 2 x 2 blocks
    fa, fdir = _routed(9, (300, 300))
    dense = extract_streams_mfd(fa, fdir, 3.0, trace_threshold_proportion=0.7)
    # a plain row-major scan gives other streams: the sparse kernel must replay the blocks
    assert not np.array_equal(_row_major(fa, fdir, 3.0, 0.7), dense)
    assert_array_equal(_sparse(fa, fdir, 3.0, 0.7), dense)


# Hand-made 2 x 300 grid: blocks of 2 rows x 256 columns, so the scan visits O1 (block 0,
# row 1) before O2 (block 1, row 0), whereas a row-major scan would visit O2 first.
#   O1 (1,10) FA 100 -> S off the raster: outlet.      X (1,11) FA 8 -> W into O1.
#   S (0,12) FA 20 -> E (8/15) into the chain and SW (7/15) into X.
#   chain (0,13..279) FA 20 -> E.                      O2 (0,280) FA 20 -> SE into NaN: outlet.
# Threshold 10, trace 7: X is provisional. From O1: X = 2, S = 1, whose backtrace makes X a
# stream; O2's trace then reaches S again (already 1). Row-major, O2's trace makes S a
# stream while X is untraced, and O1's later trace leaves X provisional: X ends 0.
# Pixel (1,9): FA 50 but no direction (a nodata pixel with a finite FA): a candidate that is
# never an outlet nor a donor, so it ends 0. All other pixels: FA 1, no direction.
E, W, SW, S, SE = 0, 4, 5, 6, 7


def _hand_made():
    fa = np.ones((2, 300))
    fdir = np.zeros((2, 300), dtype=np.int32)
    fa[1, 10], fdir[1, 10] = 100.0, 15 << (4 * S)
    fa[1, 11], fdir[1, 11] = 8.0, 15 << (4 * W)
    fa[0, 12], fdir[0, 12] = 20.0, (8 << (4 * E)) | (7 << (4 * SW))
    fa[0, 13:280], fdir[0, 13:280] = 20.0, 15 << (4 * E)
    fa[0, 280], fdir[0, 280] = 20.0, 7 << (4 * SE)  # 15 << 28 overflows int32
    fa[1, 281] = np.nan
    fa[1, 9] = 50.0
    return fa, fdir


def test_hand_made_visit_order_case():
    fa, fdir = _hand_made()
    assert iterblock_shape(2, 300, largest_block=2**16) == (2, 256)
    expected = np.zeros((2, 300), dtype=np.uint8)
    expected[1, 10:12] = 1
    expected[0, 12:281] = 1
    expected[1, 281] = 255
    dense = extract_streams_mfd(fa, fdir, 10, trace_threshold_proportion=0.7)
    assert_array_equal(dense, expected)
    assert _row_major(fa, fdir, 10.0, 0.7)[1, 11] == 0  # X: provisional, dropped
    assert_array_equal(_sparse(fa, fdir, 10.0, 0.7), dense)
    index, *_ = candidates(fa, fdir, 10.0, 0.7)
    assert 1 * 300 + 9 in index  # the finite-FA pixel without a direction


def test_hand_made_case_inside_a_huge_grid_needs_memory_for_the_candidates_only():
    fa, fdir = _hand_made()
    index, fa_c, fdir_c, outlet_c = candidates(fa, fdir, 10.0, 0.7)
    shape = (100_000, 100_000)  # 10^10 pixels: a dense uint8 grid alone would be 10 GB
    row0, col0 = 256 * 7, 256 * 11  # block aligned, so the scan order is the same
    rows, cols = np.divmod(index, 300)
    big = (rows + row0) * shape[1] + cols + col0
    streams = extract_streams_mfd_sparse(
        big, fa_c, fdir_c, outlet_c, shape, 10.0, trace_threshold_proportion=0.7
    )
    expected = np.flatnonzero(
        extract_streams_mfd(fa, fdir, 10, trace_threshold_proportion=0.7) == 1
    )
    rows, cols = np.divmod(expected, 300)
    assert_array_equal(streams, (rows + row0) * shape[1] + cols + col0)


def test_mfd_split_and_chain_examples():
    split = np.array([[10 + (5 << 24), 15 << 24], [15, 15]], dtype=np.int32)
    fa = flow_accumulation(split, "mfd")
    assert _sparse(fa, split, 1.5, 0.7).tolist() == [[0, 1], [0, 1]]
    chain = np.array([[15, 15, 15]], dtype=np.int32)
    fa = np.array([[10.0, 8.0, 12.0]])
    assert _sparse(fa, chain, 9.0, 0.7).tolist() == [[1, 1, 1]]
    fa[0, 0] = 5.0
    assert _sparse(fa, chain, 9.0, 0.7).tolist() == [[0, 0, 1]]


def test_extra_non_candidates_change_nothing():
    fa, fdir = _routed(4, (300, 257), rounding=2.0)
    dense = extract_streams_mfd(fa, fdir, 10.0, trace_threshold_proportion=0.7)
    every_finite_pixel = candidates(fa, fdir, 0.0, 1.0)
    assert every_finite_pixel[0].size == np.isfinite(fa).sum()
    streams = extract_streams_mfd_sparse(
        *every_finite_pixel, fa.shape, 10.0, trace_threshold_proportion=0.7
    )
    assert_array_equal(streams_from_sparse(streams, fa), dense)


def test_no_candidates_and_bad_inputs():
    fa = np.full((3, 4), np.nan)
    fdir = np.zeros((3, 4), dtype=np.int32)
    index, fa_c, fdir_c, outlet_c = candidates(fa, fdir, 1.0, 0.7)
    streams = extract_streams_mfd_sparse(index, fa_c, fdir_c, outlet_c, fa.shape, 1.0)
    assert streams.dtype == np.int64 and streams.size == 0
    assert (streams_from_sparse(streams, fa) == 255).all()
    one = (np.array([5]), np.array([1.0]), np.array([15], np.int32), np.array([True]))
    with pytest.raises(ValueError, match="trace_threshold_proportion"):
        extract_streams_mfd_sparse(*one, (3, 4), 1.0, trace_threshold_proportion=1.5)
    with pytest.raises(ValueError, match="sorted"):
        extract_streams_mfd_sparse(
            np.array([6, 5]), *[np.repeat(a, 2) for a in one[1:]], (3, 4), 1.0
        )
    with pytest.raises(ValueError, match="sorted"):
        extract_streams_mfd_sparse(np.array([12]), *one[1:], (3, 4), 1.0)
    with pytest.raises(ValueError, match="one length"):
        extract_streams_mfd_sparse(np.array([1, 5]), *one[1:], (3, 4), 1.0)
