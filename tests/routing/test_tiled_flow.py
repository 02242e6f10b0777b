"""Flow passes by tiles equal the whole-raster kernels to the bit (gep.routing.tiled_flow).

Terrains with hills, rounded flats (plateaus spanning tiles), nodata holes and borders, a
river running along a tile border (flow crossing it again and again) and a flat wider than
the first window margin; 256-pixel tiles (the smallest the directions allow) over grids of
several tiles. Every pass is compared with :mod:`gep.kernels` on the whole grid, NaN where NaN.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from gep.kernels import accumulation, deposition, distance, fill, flowdir, streams
from gep.routing import flow_passes as passes_module
from gep.routing import tiled_flow
from gep.routing.flow_passes import TiledPasses, WholeGridPasses, flow_passes
from gep.routing.scratch import Scratch

TILE = 256


def _hills(shape: tuple[int, int], seed: int, *, flats: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = ndimage.gaussian_filter(rng.normal(size=shape), 8) * 100
    z += np.linspace(0, 30, shape[1])[None, :] + rng.normal(size=shape) * 0.3
    if flats:
        z = np.round(z / 2) * 2
    z[ndimage.binary_dilation(rng.random(shape) < 0.0005, iterations=6)] = np.nan
    z[:5, :] = np.nan
    return z


def _border_river(shape: tuple[int, int]) -> np.ndarray:
    """A valley whose floor meanders across the tile border at row 256, draining east."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    floor = TILE - 0.5 + 1.5 * np.sin(cols / 3.0)
    return 0.05 * np.abs(rows - floor) ** 1.2 + 0.01 * (shape[1] - cols)


def _wide_flat(shape: tuple[int, int]) -> np.ndarray:
    """A terrace 700 rows deep (wider than the 256-row first margin) draining to one corner."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    z = 10.0 + 0.01 * rows + 0.02 * cols
    z[50:750, 100:300] = 5.0
    z[749, 299] = 4.0
    z[750:, :] = z[750:, :] - 8.0
    return z


def _whole(z: np.ndarray, algo: str, seed: int) -> dict[str, np.ndarray]:
    ok = np.isfinite(z)
    filled = fill.fill_pits(z, ok)
    fdir = flowdir.flow_dir_mfd(filled, ok) if algo == "mfd" else flowdir.flow_dir_d8(filled, ok)
    order = accumulation.topological_order(fdir, algo)
    rng = np.random.default_rng(seed)
    w = rng.random(z.shape).astype(np.float32)
    fa = accumulation.flow_accumulation(fdir, algo, order=order)
    threshold = 150.0
    stream = (
        streams.extract_streams_d8(fa, threshold)
        if algo == "d8"
        else streams.extract_streams_mfd(fa, fdir, threshold, trace_threshold_proportion=0.7)
    )
    sdr = (rng.random(z.shape) * 0.5).astype(np.float32)
    sdr[~ok] = np.nan
    e_prime = (w * 3).astype(np.float32)
    e_prime[~ok] = np.nan
    return {
        "filled": filled,
        "valid": ok,
        "fdir": fdir,
        "w": w,
        "fa": fa,
        "wa": accumulation.flow_accumulation(fdir, algo, w, order=order),
        "stream": stream,
        "dd": distance.distance_to_channel(fdir, stream == 1, algo, w, order=order),
        "dd_m": distance.distance_to_channel(
            fdir, stream == 1, algo, w, convention="metres", cell_size=10.0, order=order
        ),
        "sdr": sdr,
        "e_prime": e_prime,
        "dep": deposition.sediment_deposition(fdir, algo, e_prime, sdr, order=order)[0],
    }


def _tiled(want: dict[str, np.ndarray], algo: str, tile: int | None) -> dict[str, np.ndarray]:
    shape = want["fa"].shape
    sc = Scratch("gep-test-tiled-", tile=TILE)
    passes = flow_passes(
        sc.save("filled", want["filled"]), sc.save("valid", want["valid"]), algo, sc, tile=tile
    )
    out = {
        name: sc.create(name, shape, want[name].dtype)
        for name in ("fa", "wa", "stream", "dd", "dd_m", "dep")
    }
    w = sc.save("w", want["w"])
    passes.accumulate(None, out["fa"])
    passes.accumulate(lambda window: w[window], out["wa"])
    passes.streams(out["fa"], 150.0, out["stream"])
    passes.distance(out["stream"], w, out["dd"], convention="invest", cell_size=10.0)
    passes.distance(out["stream"], w, out["dd_m"], convention="metres", cell_size=10.0)
    passes.deposition(sc.save("e_prime", want["e_prime"]), sc.save("sdr", want["sdr"]), out["dep"])
    got = {name: a.load() for name, a in out.items()}
    got["fdir"] = sc["fdir"].load()
    got["passes"] = passes  # type: ignore[assignment]
    return got


CASES = {
    "hills": lambda: _hills((700, 900), 1, flats=False),
    "rounded flats": lambda: _hills((600, 700), 2, flats=True),
    "river along a tile border": lambda: _border_river((520, 800)),
    "flat wider than the margin": lambda: _wide_flat((1100, 520)),
}


@pytest.mark.parametrize("algo", ["mfd", "d8"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_tiled_passes_equal_the_whole_grid_kernels(case: str, algo: str) -> None:
    want = _whole(CASES[case](), algo, seed=len(case))
    got = _tiled(want, algo, TILE)
    assert isinstance(got["passes"], TiledPasses)
    np.testing.assert_array_equal(got["fdir"], want["fdir"])
    for name in ("fa", "wa", "stream", "dd", "dd_m", "dep"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=f"{case}, {algo}: {name}")
    assert np.nansum(want["stream"] == 1) > 0  # streams exist: the distances are not all NaN


def test_a_river_along_a_tile_border_settles_in_few_solutions(caplog) -> None:
    want = _whole(_border_river((520, 800)), "mfd", seed=3)
    with caplog.at_level("INFO", logger="gep.routing.tiled_flow"):
        _tiled(want, "mfd", TILE)
    counts = [int(r.getMessage().split(": ")[1].split()[0]) for r in caplog.records]
    n_tiles = 3 * 4
    assert counts and max(counts) <= 4 * n_tiles  # joint solves, not one per meander


def test_the_whole_grid_passes_are_taken_while_the_grid_is_small(monkeypatch) -> None:
    want = _whole(_hills((300, 300), 5, flats=False), "mfd", seed=5)
    got = _tiled(want, "mfd", None)
    assert isinstance(got["passes"], WholeGridPasses)
    np.testing.assert_array_equal(got["dep"], want["dep"])
    monkeypatch.setattr(passes_module, "WHOLE_GRID_PIXELS", 300 * 300 - 1)
    monkeypatch.setattr(passes_module, "ROUTE_TILE", TILE)
    assert isinstance(_tiled(want, "mfd", None)["passes"], TiledPasses)


def test_tiles_must_follow_the_scan_blocks() -> None:
    sc = Scratch("gep-test-tiled-", tile=TILE)
    z = np.ones((10, 10))
    with pytest.raises(ValueError, match="multiple of 256"):
        tiled_flow.directions(
            sc.save("f", z), sc.save("v", z > 0), "mfd", sc, tiled_flow.Tiling((10, 10), 100)
        )


@pytest.mark.parametrize("proportion", [0.3, 0.7, 1.0])
def test_tiled_mfd_streams_take_any_trace_proportion(proportion: float) -> None:
    """FA reaches the sparse trace as two levels (at the threshold, at the trace threshold):
    the same streams as the dense kernel for any proportion it accepts, and the same refusal."""
    from gep.routing import tiled_passes

    z = _hills((600, 700), 2, flats=True)
    ok = np.isfinite(z)
    filled = fill.fill_pits(z, ok)
    fdir = flowdir.flow_dir_mfd(filled, ok)
    fa = accumulation.flow_accumulation(fdir, "mfd")
    want = streams.extract_streams_mfd(fa, fdir, 150.0, trace_threshold_proportion=proportion)
    sc = Scratch("gep-test-tiled-", tile=TILE)
    passes = flow_passes(sc.save("filled", filled), sc.save("valid", ok), "mfd", sc, tile=TILE)
    assert isinstance(passes, TiledPasses)
    fa_tiled = sc.create("fa", fa.shape, fa.dtype)
    edges = tiled_passes.accumulate(passes.routing, None, fa_tiled)
    out = sc.create("stream", fa.shape, np.uint8)
    tiled_passes.streams(
        passes.routing, fa_tiled, edges, 150.0, out, trace_threshold_proportion=proportion
    )
    np.testing.assert_array_equal(out.load(), want)
    assert (want == 1).sum() > 0
    with pytest.raises(ValueError, match="trace_threshold_proportion"):
        tiled_passes.streams(
            passes.routing, fa_tiled, edges, 150.0, out, trace_threshold_proportion=1.5
        )
