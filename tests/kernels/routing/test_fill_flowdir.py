"""Worked examples for pit filling and D8 / MFD flow directions (pygeoprocessing rules)."""

from __future__ import annotations

import math

import numpy as np
import pyflwdir
from numpy.testing import assert_array_equal

from gep.kernels.fill import fill_pits
from gep.kernels.flowdir import flow_dir_d8, flow_dir_mfd

NAN = np.nan


def test_single_pit_fills_to_lowest_edge():
    # the centre can only leave over an edge pixel; the lowest is 5 -> centre raised to 5
    dem = np.array([[5.0, 6, 7], [8, 1, 9], [9, 9, 9]])
    expected = dem.copy()
    expected[1, 1] = 5.0
    assert_array_equal(fill_pits(dem), expected)


def test_nested_depressions_fill_to_their_own_pour_points():
    # row 1 interior: 1 | 7 | 3. The 3 spills over the edge 4 at (2, 4): raised to 4.
    # The 1 must cross the 7 (its lowest way out: max(7, 4, 4) = 7 < 9): raised to 7.
    dem = np.array(
        [
            [9.0, 9, 9, 9, 9],
            [9.0, 1, 7, 3, 9],
            [9.0, 9, 9, 9, 4],
        ]
    )
    filled = fill_pits(dem)
    assert filled[1, 1:4].tolist() == [7.0, 7.0, 4.0]
    assert_array_equal(filled[[0, 2]], dem[[0, 2]])  # edge pixels are never raised


def test_pit_next_to_nodata_drains_and_is_not_filled():
    # a nodata neighbour is a drain (pygeoprocessing): the 1 stays 1
    dem = np.array([[5.0, 5, 5], [5, 1, NAN], [5, 5, 5]])
    filled = fill_pits(dem)
    assert filled[1, 1] == 1.0
    assert math.isnan(filled[1, 2])


def test_valid_mask_makes_nodata():
    dem = np.array([[5.0, 5, 5], [5, 1, 4], [5, 5, 5]])
    valid = np.ones(dem.shape, bool)
    valid[1, 2] = False
    filled = fill_pits(dem, valid)
    assert math.isnan(filled[1, 2])
    assert filled[1, 1] == 1.0  # now next to nodata: drains


def test_fill_agrees_with_pyflwdir_on_random_terrain():
    rng = np.random.default_rng(42)
    dem = rng.normal(size=(40, 50)).cumsum(axis=1).astype(np.float32)
    ours = fill_pits(dem)
    theirs, _ = pyflwdir.dem.fill_depressions(dem, outlets="edge", nodata=-9999.0)
    # pyflwdir works in float32: agreement to float32 precision of the heights
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
    assert (ours > dem).sum() > 0  # the random walk has depressions to fill


def test_d8_diagonal_drop_is_divided_by_sqrt2():
    # centre 5: E drop 1 (slope 1), N drop 1, SE drop 1.5 -> 1.5/sqrt(2) = 1.0607 > 1: SE (7)
    dem = np.array([[6.0, 4, 6], [6, 5, 4], [6, 6, 3.5]])
    assert flow_dir_d8(dem)[1, 1] == 7
    # SE drop 1.4 -> 0.98995 < 1: E (0) and N (2) tie at 1, the lower code wins: 0
    dem[2, 2] = 3.6
    assert flow_dir_d8(dem)[1, 1] == 0


def test_d8_plateau_drains_by_shortest_distance():
    # eight pixels at 5 form one flat; its drains are the pixels next to the 1, queued in
    # the order the flat's BFS (from (0,0)) meets them: (1,1) -> SE (7), (1,2) -> S (6),
    # (2,1) -> E (0). Relaxing distances from the drains in that FIFO order:
    # from (1,1): (0,2) sqrt2 -> SW(5), (0,1) 1 -> S(6), (0,0) sqrt2 -> SE(7),
    #             (1,0) 1 -> E(0), (2,0) sqrt2 -> NE(1);
    # from (1,2): (0,2) improves to 1 -> S(6);  from (2,1): (2,0) improves to 1 -> E(0).
    # The 1 has no lower neighbour: a one-pixel flat draining off the edge, first cardinal
    # direction off the raster: E (0).
    dem = np.array([[5.0, 5, 5], [5, 5, 5], [5, 5, 1]])
    assert flow_dir_d8(dem).tolist() == [[7, 6, 6], [0, 7, 6], [0, 0, 0]]


def test_d8_nodata_is_128_and_flat_next_to_nodata_drains_into_it():
    dem = np.array([[2.0, 2.0, NAN]])
    fdir = flow_dir_d8(dem)
    # both 2s form a flat with no lower neighbour, so every flat pixel next to nodata or
    # the edge drains there, in its first cardinal nodata direction (pygeoprocessing):
    # (0,0): E is the flat, NE (diagonal) is off, N is off -> N (2); (0,1): E is nodata -> 0
    assert fdir.tolist() == [[2, 0, 128]]


def _weights(packed: int) -> list[int]:
    v = packed & 0xFFFFFFFF
    return [(v >> (4 * d)) & 0xF for d in range(8)]


def test_mfd_shares_are_proportional_to_drop_and_quantised():
    # centre 5: E drop 1, S drop 0.5, SE drop 2/sqrt2 = 1.41421; sum 2.91421
    # E: 15 * 1/2.91421 = 5.147 -> int(5.647) = 5; SE: 7.279 -> 7; S: 2.574 -> int(3.074) = 3
    dem = np.array([[9.0, 9, 9], [9, 5, 4], [9, 4.5, 3]])
    packed = int(flow_dir_mfd(dem)[1, 1])
    assert _weights(packed) == [5, 0, 0, 0, 0, 0, 3, 7]
    assert packed == 5 + (3 << 24) + (7 << 28)


def test_mfd_plateau_flows_to_all_neighbours_nearer_a_drain():
    # same flat as the D8 test; distances to drains: (0,0) sqrt2, (0,1) 1, (1,0) 1.
    # (0,0): E (d 1), S (d 1), SE (d 0): weights 1, 1, 1/sqrt2 -> sum 2.70711
    #   E, S: 15/2.70711 = 5.541 -> 6; SE: 3.918 -> 4
    # (0,1): S (d 0) weight 1, SE (d 0) 1/sqrt2 -> sum 1.70711: S 8.787 -> 9, SE 6.213 -> 6
    # (1,1) drains only to the 1 (SE): weight 15 in bits 28..31, which wraps to a negative
    #   int32 as pygeoprocessing's Int32 raster stores it
    dem = np.array([[5.0, 5, 5], [5, 5, 5], [5, 5, 1]])
    fdir = flow_dir_mfd(dem)
    assert fdir.dtype == np.int32
    assert _weights(int(fdir[0, 0])) == [6, 0, 0, 0, 0, 0, 6, 4]
    assert _weights(int(fdir[0, 1])) == [0, 0, 0, 0, 0, 0, 9, 6]
    assert int(fdir[1, 1]) == (15 << 28) - (1 << 32) == -268435456


def test_mfd_nodata_is_zero():
    dem = np.array([[3.0, NAN, 1.0]])
    fdir = flow_dir_mfd(dem)
    assert fdir[0, 1] == 0
    assert fdir[0, 0] != 0 and fdir[0, 2] != 0
