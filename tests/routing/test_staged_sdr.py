"""The staged SDR (bands, scratch files, tiled fill, cached routing) equals the whole-array one.

Same operations in the same order: every output is compared bit for bit (NaN where NaN) with
:func:`gep.kernels.sdr.sdr_from_arrays` on terrains with pits, flats, nodata holes and streams,
read in windows and processed in bands that cut the grid unevenly.
"""

from __future__ import annotations

import numpy as np
import pytest

from gep.kernels.sdr import cover_practice, sdr_from_arrays
from gep.routing import staged_sdr as staged
from gep.routing.scratch import Scratch, row_bands


def _terrain(seed: int, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    dem = 50 + 0.4 * rows + 0.2 * cols + rng.normal(0, 1.5, shape)
    dem[5:9, 6:12] = dem[5:9, 6:12].min() - 3  # a depression
    dem[20:24, 3:10] = 40.0  # a flat
    dem[-6:-3, -9:-5] = np.nan  # a nodata hole
    classes = rng.integers(0, 4, shape)
    c = np.array([0.003, 0.05, 0.2, 0.6])[classes]
    p = np.array([1.0, 0.8, 0.5, 1.0])[classes]
    p[0, :3] = np.nan  # a class without factors
    erosivity = rng.uniform(1500, 3000, shape).astype(np.float32)
    erosivity[2, 2] = np.nan
    erodibility = rng.uniform(0.01, 0.05, shape).astype(np.float32)
    drainage = np.zeros(shape, dtype=bool)
    drainage[12, 4:8] = True
    return {
        "dem": dem,
        "erosivity": erosivity,
        "erodibility": erodibility,
        "usle_c": c,
        "usle_p": p,
        "drainage": drainage,
    }


def _options(algorithm: str, distance: str = "pixels") -> dict:
    """SDR options of the tests: 30 m cells, a 25-pixel stream threshold, InVEST's defaults."""
    return {
        "flow_dir_algorithm": algorithm,
        "downslope_distance": distance,
        "cell_size_m": 30.0,
        "threshold_flow_accumulation": 25.0,
        "k": 2.0,
        "sdr_max": 0.8,
        "l_max": 122.0,
    }


def _whole(t: dict[str, np.ndarray], options: dict, ic0: float, drainage: bool) -> dict:
    valid = np.isfinite(t["usle_p"])
    arrays = {
        "dem": t["dem"],
        "erosivity": t["erosivity"],
        "erodibility": t["erodibility"],
        "usle_c": t["usle_c"],
        "cover_practice": cover_practice(t["usle_c"], t["usle_p"]),
    }
    for a in arrays.values():
        valid = valid & np.isfinite(a)
    if drainage:
        arrays["drainage"] = t["drainage"]
    return sdr_from_arrays(arrays, valid, options, keep=staged.RESULTS, ic0=ic0)


def _reader(t: dict[str, np.ndarray], drainage: bool):
    def read(window):
        values = {
            "dem": t["dem"][window],
            "erosivity": t["erosivity"][window],
            "erodibility": t["erodibility"][window],
            "usle_c": t["usle_c"][window],
            "cover_practice": cover_practice(t["usle_c"][window], t["usle_p"][window]),
            "valid": np.isfinite(t["usle_p"][window]),
        }
        if drainage:
            values["drainage"] = t["drainage"][window]
        return values

    return read


@pytest.fixture
def small_pieces(monkeypatch):
    """Windows, bands and fill tiles that cut the 41 × 37 grid unevenly."""
    monkeypatch.setattr(staged, "READ_WINDOW", 16)
    monkeypatch.setattr(staged, "BAND_PIXELS", 37 * 7)
    original = staged.fill_pits_tiled
    monkeypatch.setattr(
        staged, "fill_pits_tiled", lambda *a, **k: original(*a, **{**k, "tile": 13})
    )
    staged.ROUTED.clear()


@pytest.mark.parametrize(
    ("algorithm", "distance", "drainage"),
    [("mfd", "pixels", False), ("mfd", "metres", True), ("d8", "pixels", True)],
)
def test_staged_equals_whole_arrays(small_pieces, algorithm, distance, drainage):
    t = _terrain(7, (41, 37))
    options = _options(algorithm, distance)
    whole = _whole(t, options, 0.5, drainage)
    result = staged.staged_sdr(_reader(t, drainage), (41, 37), options, has_drainage=drainage)
    for key in staged.RESULTS:
        got = result.array(key).load()
        np.testing.assert_array_equal(got, whole[key], err_msg=key)
    assert np.isfinite(whole["sed_export"]).sum() > 100  # the comparison covers real values
    assert np.nanmax(whole["sed_deposition"]) > 0


@pytest.mark.parametrize(
    ("algorithm", "distance"), [("mfd", "pixels"), ("mfd", "metres"), ("d8", "pixels")]
)
def test_staged_with_routing_by_tiles_equals_whole_arrays(monkeypatch, algorithm, distance):
    """Above the whole-grid size the flow passes go by tiles (here 256-pixel tiles, 3 × 3)."""
    monkeypatch.setattr(staged, "ROUTE_TILE", 256)
    staged.ROUTED.clear()
    shape = (600, 700)
    t = _terrain(4, shape)
    options = _options(algorithm, distance)
    whole = _whole(t, options, 0.5, True)
    result = staged.staged_sdr(_reader(t, True), shape, options, has_drainage=True)
    assert type(staged.ROUTED["last"].passes).__name__ == "TiledPasses"
    for key in staged.RESULTS:
        np.testing.assert_array_equal(result.array(key).load(), whole[key], err_msg=key)
    assert np.nanmax(whole["sed_deposition"]) > 0
    staged.ROUTED.clear()


def test_routing_reused_for_another_year_and_recomputed_for_another_terrain(small_pieces):
    t = _terrain(11, (41, 37))
    options = _options("mfd")
    first = staged.staged_sdr(_reader(t, False), (41, 37), options)
    routed = staged.ROUTED["last"]
    wetter = {**t, "erosivity": (t["erosivity"] * 1.3).astype(np.float32)}
    second = staged.staged_sdr(_reader(wetter, False), (41, 37), options)
    assert second.routed is routed and second.delivery is first.delivery  # same terrain, same C
    np.testing.assert_array_equal(
        second.array("sed_export").load(), _whole(wetter, options, 0.5, False)["sed_export"]
    )
    other_cover = {**t, "usle_c": t["usle_c"] * 0.5}
    third = staged.staged_sdr(_reader(other_cover, False), (41, 37), options)
    assert third.routed is routed and third.delivery is not first.delivery
    np.testing.assert_array_equal(
        third.array("sdr").load(), _whole(other_cover, options, 0.5, False)["sdr"]
    )
    higher = {**t, "dem": t["dem"] + np.where(np.arange(37) > 20, 5.0, 0.0)}
    fourth = staged.staged_sdr(_reader(higher, False), (41, 37), options)
    assert fourth.routed is not routed
    np.testing.assert_array_equal(
        fourth.array("flow_accumulation").load(),
        _whole(higher, options, 0.5, False)["flow_accumulation"],
    )


def test_scratch_windows_round_trip(tmp_path):
    scratch = Scratch()
    values = np.arange(7 * 5, dtype=np.float32).reshape(7, 5)
    a = scratch.create("a", (7, 5), np.float32)
    for rows in row_bands(7, 3):
        a[rows, 0:2] = values[rows, 0:2]
        a[rows, 2:] = values[rows, 2:]
    np.testing.assert_array_equal(a.load(), values)
    np.testing.assert_array_equal(a[2:5, 1:4], values[2:5, 1:4])
    folder = scratch.path
    assert folder.exists()
    del a, scratch
    import gc

    gc.collect()
    assert not folder.exists()  # removed with the last reference


@pytest.mark.parametrize("tile", [None, 4, 5, 16])
def test_scratch_any_window_of_any_layout(tile):
    rng = np.random.default_rng(3)
    values = rng.normal(size=(13, 11))
    scratch = Scratch()
    a = scratch.create("a", (13, 11), np.float64, tile=tile)
    for rows in row_bands(13, 4):  # written by aligned windows, the edge ones partial
        for cols in row_bands(11, 4):
            a[rows, cols] = values[rows, cols]
    a[6:9, 1:10] = values[6:9, 1:10] * 2  # and one window across tiles
    expected = values.copy()
    expected[6:9, 1:10] *= 2
    np.testing.assert_array_equal(a.load(), expected)
    for rows, cols in [
        (slice(0, 13), slice(3, 7)),
        (slice(5, 6), slice(0, 11)),
        (slice(12, 13), slice(10, 11)),
    ]:
        np.testing.assert_array_equal(a[rows, cols], expected[rows, cols])


_MEMORY_CHILD = r"""
import resource, sys
import numpy as np
from gep.routing import staged_sdr as staged
from gep.kernels.sdr import cover_practice

n = int(sys.argv[1])
staged.ROUTE_TILE = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else None
if len(sys.argv) > 3:  # per-pixel steps on bands of this many pixels
    staged.BAND_PIXELS = int(sys.argv[3])

def read(window):
    rows, cols = window
    r, c = np.mgrid[rows, cols]
    dem = 200 + 0.03 * r + 0.02 * c + 3 * np.sin(r / 37.0) * np.cos(c / 29.0)
    classes = (r // 50 + c // 70) % 3
    usle_c = np.array([0.01, 0.1, 0.3])[classes]
    usle_p = np.array([1.0, 0.6, 1.0])[classes]
    return {
        "dem": dem.astype(np.float32),
        "erosivity": np.full(dem.shape, 2000.0, dtype=np.float32),
        "erodibility": np.full(dem.shape, 0.03, dtype=np.float32),
        "usle_c": usle_c,
        "cover_practice": cover_practice(usle_c, usle_p),
        "valid": np.ones(dem.shape, dtype=bool),
    }

options = dict(flow_dir_algorithm="mfd", downslope_distance="pixels", cell_size_m=30.0,
               threshold_flow_accumulation=1000.0, k=2.0, sdr_max=0.8, l_max=122.0)
read((slice(0, 8), slice(0, 8)))
small = staged.staged_sdr(read, (64, 64), options)  # numba kernels compiled or loaded
del small
staged.ROUTED.clear()
import threading, time

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

stage = {"name": "", "routing_start": 0, "routing_peak": 0}
def sample():  # the peak resident memory while the flow passes run
    while True:
        if stage["routing_start"]:
            stage["routing_peak"] = max(stage["routing_peak"], resident())
        time.sleep(0.01)
threading.Thread(target=sample, daemon=True).start()
def progress(name):
    if name == "flow directions":
        stage["routing_start"] = resident()

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = staged.staged_sdr(read, (n, n), options, progress=progress)
assert np.nansum(result.array("sed_export").load()) > 0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((stage["routing_peak"] - stage["routing_start"]) / (n * n))
print((after - before) * 1024 / (n * n))
"""


def test_staged_sdr_memory_per_pixel_is_bounded():
    """The staged SDR's peak grows by about 30 bytes a pixel (the whole-array kernel: ~130).

    Measured in a child process (its peak resident memory over its own baseline) on a
    1500² grid; the bound leaves room for allocator and platform differences.
    """
    import subprocess
    import sys

    n = 1500
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(n)], capture_output=True, text=True, check=True
    )
    per_pixel = float(done.stdout.strip().splitlines()[-1])
    assert per_pixel < 60, f"staged SDR peak grew by {per_pixel:.0f} bytes a pixel"


@pytest.mark.slow  # resident-memory sampling: unreliable on a loaded machine (failed once in CI)
def test_staged_sdr_flow_passes_by_tiles_hold_far_less_than_the_grid():
    """While the flow passes run, memory grows by the grid routed whole, by a tile in tiles.

    Resident memory sampled in child processes from the start of the flow directions to the
    end, on a 2000² grid with the per-pixel steps on small bands: whole grids add about 29
    bytes a pixel (116 MB); 256-pixel tiles a block of a few tiles and the tiles' border
    lines (a few bytes a pixel at this size, a share that shrinks as the grid grows).
    """
    import subprocess
    import sys

    n = 2000
    growth = {}
    for tile in ("0", "256"):
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(n), tile, str(1 << 16)],
            capture_output=True,
            text=True,
            check=True,
        )
        growth[tile] = float(done.stdout.strip().splitlines()[-2])
    assert growth["0"] > 15, growth  # the measure sees the whole grids
    assert growth["256"] < 0.5 * growth["0"], growth  # measured: about 6-10 against 25-29


def test_scratch_of_a_killed_run_is_removed_by_the_next(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from gep.routing.scratch import remove_stale

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f"gep-sdr-year-{dead.stdout.strip()}-abc"
    stale.mkdir()
    (stale / "dem.raw").write_bytes(b"x" * 10)
    mine = Scratch("gep-sdr-year-")  # this process: running, left alone
    other = tmp_path / "gep-sdr-yearly-notes"  # another prefix: left alone
    other.mkdir()
    assert remove_stale(("gep-sdr-year-",)) == [stale]
    assert not stale.exists() and mine.path.exists() and other.exists()


def test_connectivity_cache_is_bounded(small_pieces, monkeypatch):
    monkeypatch.setattr(staged, "MAX_COVERS", 2)
    t = _terrain(5, (41, 37))
    options = _options("d8")
    results = [
        staged.staged_sdr(_reader({**t, "usle_c": t["usle_c"] * f}, False), (41, 37), options)
        for f in (0.5, 0.6, 0.7)
    ]
    kept = list(staged.ROUTED["last"].delivery.values())
    assert len(kept) == 2 and results[0].delivery not in kept  # the oldest dropped
    assert results[0].array("sdr").load().shape == (41, 37)  # still readable by its holder
