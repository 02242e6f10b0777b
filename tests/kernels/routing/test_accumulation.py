"""Worked examples: flow accumulation, streams and distance to channel (D8 and MFD)."""

from __future__ import annotations

import math

import numpy as np
import pyflwdir
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from gep.kernels.accumulation import flow_accumulation, topological_order
from gep.kernels.distance import distance_to_channel
from gep.kernels.fill import fill_pits
from gep.kernels.flowdir import flow_dir_d8
from gep.kernels.streams import extract_streams_d8, extract_streams_mfd
from gep.routing import fill_depressions, route

SQRT2 = math.sqrt(2)

# D8 spiral on 2 x 3: (1,1) -> W (1,0) -> N (0,0) -> E (0,1) -> E (0,2) -> S (1,2) -> E off
D8_SPIRAL = np.array([[0, 0, 6], [2, 4, 0]], dtype=np.uint8)

# MFD on 2 x 2: (0,0) sends 10/15 E and 5/15 S; (0,1) -> S; (1,0) -> E; (1,1) -> E off
MFD_SPLIT = np.array([[10 + (5 << 24), 15 << 24], [15, 15]], dtype=np.int32)


def test_d8_accumulation_counts_upslope_pixels_including_self():
    # along the chain each pixel adds itself: 1, 2, 3, 4, 5, 6
    fa = flow_accumulation(D8_SPIRAL, "d8")
    assert fa.tolist() == [[3.0, 4.0, 5.0], [2.0, 1.0, 6.0]]


def test_d8_weighted_accumulation():
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    # (1,1) 5; (1,0) 4+5 = 9; (0,0) 1+9 = 10; (0,1) 12; (0,2) 15; (1,2) 21
    fa = flow_accumulation(D8_SPIRAL, "d8", w)
    assert fa.tolist() == [[10.0, 12.0, 15.0], [9.0, 5.0, 21.0]]


def test_mfd_accumulation_splits_by_weight_share():
    # (0,0) 1; (0,1) 1 + 10/15; (1,0) 1 + 5/15; (1,1) 1 + 5/3 + 4/3 = 4: all 4 pixels
    fa = flow_accumulation(MFD_SPLIT, "mfd")
    assert_allclose(fa, [[1.0, 1 + 2 / 3], [1 + 1 / 3, 4.0]], rtol=1e-15)


def test_topological_order_puts_donors_first():
    order = topological_order(D8_SPIRAL, "d8").tolist()
    assert order == [4, 3, 0, 1, 2, 5]  # flat indices along the spiral


def test_d8_accumulation_agrees_with_pyflwdir():
    rng = np.random.default_rng(7)
    dem = rng.normal(size=(30, 40)).cumsum(axis=0).cumsum(axis=1)
    fdir = flow_dir_d8(fill_pits(dem))
    # our codes 0..7 (E, NE, N, NW, W, SW, S, SE) -> pyflwdir d8 (1, 128, 64, 32, 16, 8, 4, 2);
    # flow off the raster is a pit (0) for pyflwdir
    to_pyflwdir = np.array([1, 128, 64, 32, 16, 8, 4, 2], dtype=np.uint8)
    d8 = to_pyflwdir[fdir]
    rows, cols = np.indices(fdir.shape)
    r = rows + np.array([0, -1, -1, -1, 0, 1, 1, 1])[fdir]
    c = cols + np.array([1, 1, 0, -1, -1, -1, 0, 1])[fdir]
    d8[(r < 0) | (r >= fdir.shape[0]) | (c < 0) | (c >= fdir.shape[1])] = 0
    theirs = pyflwdir.from_array(d8, ftype="d8").upstream_area(unit="cell")
    assert_array_equal(flow_accumulation(fdir, "d8"), theirs)


def test_d8_streams_are_strictly_above_threshold():
    fa = np.array([[1.0, 2.0, 3.0, np.nan]])
    # pygeoprocessing.extract_streams_d8: FA > threshold (2 is not > 2); nodata -> 255
    assert extract_streams_d8(fa, 2).tolist() == [[0, 0, 1, 255]]


def test_mfd_streams_trace_upstream_with_a_proportional_threshold():
    # FA (0,0) 1, (0,1) 1.667, (1,0) 1.333, (1,1) 4; threshold 1.5, trace 0.7 * 1.5 = 1.05
    # (1,1) >= 1.5 drains off the raster: outlet; upstream (0,1) 1.667 >= 1.5: stream;
    # (1,0) 1.333 >= 1.05: provisional; (0,0) 1 < 1.05: no. Provisional without a stream
    # upstream of it is dropped.
    fa = flow_accumulation(MFD_SPLIT, "mfd")
    streams = extract_streams_mfd(fa, MFD_SPLIT, 1.5, trace_threshold_proportion=0.7)
    assert streams.tolist() == [[0, 1], [0, 1]]


def test_mfd_provisional_stream_kept_when_a_stream_is_found_upstream():
    # chain A (0,0) -> B (0,1) -> C (0,2) -> off, hand-set FA 10, 8, 12; threshold 9.
    # C is an outlet; B 8 < 9 but >= 6.3 -> provisional; A 10 >= 9 -> stream, and the
    # backtrace from A turns B into a stream. With A at 5, B is dropped.
    fdir = np.array([[15, 15, 15]], dtype=np.int32)
    fa = np.array([[10.0, 8.0, 12.0]])
    assert extract_streams_mfd(fa, fdir, 9, trace_threshold_proportion=0.7).tolist() == [[1, 1, 1]]
    fa[0, 0] = 5.0
    assert extract_streams_mfd(fa, fdir, 9, trace_threshold_proportion=0.7).tolist() == [[0, 0, 1]]


def test_mfd_trace_threshold_must_be_a_proportion():
    with pytest.raises(ValueError, match="trace_threshold_proportion"):
        extract_streams_mfd(
            np.ones((1, 1)), np.zeros((1, 1), np.int32), 1, trace_threshold_proportion=2
        )


def test_d8_distance_to_channel_invest_and_metres():
    fdir = np.zeros((1, 4), dtype=np.uint8)  # all flow east
    channel = np.array([[False, False, False, True]])
    w = np.array([[2.0, 3.0, 5.0, 7.0]])
    # InVEST: own weight, no length: d2 = 5, d1 = 3 + 5 = 8, d0 = 2 + 8 = 10
    assert distance_to_channel(fdir, channel, "d8", w).tolist() == [[10.0, 8.0, 5.0, 0.0]]
    # Borselli in metres (D = 30): d2 = 30*5 = 150, d1 = 30*3 + 150 = 240, d0 = 300
    d = distance_to_channel(fdir, channel, "d8", w, convention="metres", cell_size=30.0)
    assert d.tolist() == [[300.0, 240.0, 150.0, 0.0]]
    # unweighted: steps in pixels; a diagonal step counts sqrt2
    diag = np.array([[7, 0], [0, 0]], dtype=np.uint8)  # (0,0) -> SE (1,1)
    on = np.array([[False, False], [False, True]])
    assert distance_to_channel(diag, on, "d8")[0, 0] == SQRT2


def test_mfd_distance_to_channel_uses_the_receivers_weight():
    channel = np.array([[False, False], [False, True]])
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    # InVEST: d(0,1) = w(1,1) + 0 = 4; d(1,0) = 4;
    # d(0,0) = (10 (w(0,1) + 4) + 5 (w(1,0) + 4)) / 15 = (60 + 35) / 15
    d = distance_to_channel(MFD_SPLIT, channel, "mfd", w)
    assert_allclose(d, [[95 / 15, 4.0], [4.0, 0.0]], rtol=1e-15)
    # metres (D = 10): own weight x step: d(0,1) = 2*10, d(1,0) = 3*10,
    # d(0,0) = (10 (1*10 + 20) + 5 (1*10 + 30)) / 15 = 500 / 15
    d = distance_to_channel(MFD_SPLIT, channel, "mfd", w, convention="metres", cell_size=10.0)
    assert_allclose(d, [[500 / 15, 20.0], [30.0, 0.0]], rtol=1e-15)


def test_distance_is_nodata_where_no_channel_is_reached():
    fdir = np.zeros((1, 3), dtype=np.uint8)
    d = distance_to_channel(fdir, np.zeros((1, 3), bool), "d8")
    assert np.isnan(d).all()


def test_bad_algorithm_and_convention_are_rejected():
    with pytest.raises(ValueError, match="'d8' or 'mfd'"):
        flow_accumulation(D8_SPIRAL, "dinf")
    with pytest.raises(ValueError, match="convention"):
        distance_to_channel(D8_SPIRAL, np.zeros((2, 3), bool), "d8", convention="feet")


def test_hydrology_facade_round_trip():
    dem = np.array([[5.0, 4, 3], [4, 1, 2], [3, 2, 0.5]])
    routing = route(fill_depressions(dem), "d8")
    # the 1 at the centre is no pit (the 0.5 is lower): the centre gathers 6 pixels
    # (itself, the upper row, (1,0), (1,2)) and the SE corner all 9
    assert routing.flow_accumulation.tolist() == [[1, 1, 1], [1, 6, 1], [1, 1, 9]]
    assert routing.streams(5).tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert_array_equal(routing.accumulate(np.ones((3, 3))), routing.flow_accumulation)
    d = routing.distance_to_channel(routing.streams(5) == 1)
    assert d[2, 2] == 0.0 and np.isfinite(d).all()
