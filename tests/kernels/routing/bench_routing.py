"""Routing throughput on a synthetic DEM (not a test: run it by hand).

    .venv/bin/python tests/kernels/routing/bench_routing.py [size]

Reports fill + D8 + accumulation against pyflwdir (``from_dem`` + ``upstream_area`` in
cells), MFD against our D8, and the whole ``sdr_model``. Medians of 3 runs after warm-up;
compare ratios from one run only (the machines are shared).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pyflwdir
from scipy import ndimage

from gep.kernels import accumulation, fill, flowdir
from gep.kernels.sdr import sdr_model


def synthetic_dem(size: int, seed: int = 0) -> np.ndarray:
    """Rough hills with many pits and flats (rounded to 0.1 m), float32 values."""
    rng = np.random.default_rng(seed)
    z = ndimage.gaussian_filter(rng.normal(size=(size, size)), 8) * 400
    z += ndimage.gaussian_filter(rng.normal(size=(size, size)), 2) * 20
    yy, xx = np.mgrid[:size, :size]
    z += 0.02 * (xx + yy)
    return np.round(z, 1).astype(np.float32).astype(np.float64)


def timed(fn, repeat: int = 3) -> float:
    fn()  # warm-up / compile
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ours_d8(dem):
    filled = fill.fill_pits(dem)
    fdir = flowdir.flow_dir_d8(filled)
    return accumulation.flow_accumulation(fdir, "d8")


def ours_mfd(dem):
    filled = fill.fill_pits(dem)
    fdir = flowdir.flow_dir_mfd(filled)
    return accumulation.flow_accumulation(fdir, "mfd")


def theirs(dem):
    flw = pyflwdir.from_dem(dem.astype(np.float32), nodata=-9999.0, outlets="edge")
    return flw.upstream_area(unit="cell")


def main(size: int = 2000) -> None:
    dem = synthetic_dem(size)
    n = dem.size
    filled = fill.fill_pits(dem)
    rows = {
        "fill (ours)": timed(lambda: fill.fill_pits(dem)),
        "flow_dir_d8 (ours)": timed(lambda: flowdir.flow_dir_d8(filled)),
        "flow_dir_mfd (ours)": timed(lambda: flowdir.flow_dir_mfd(filled)),
        "fill+D8+acc (ours)": timed(lambda: ours_d8(dem)),
        "fill+D8+acc (pyflwdir)": timed(lambda: theirs(dem)),
        "fill+MFD+acc (ours)": timed(lambda: ours_mfd(dem)),
    }
    ones = np.ones_like(dem)
    for algo in ("d8", "mfd"):
        rows[f"sdr_model {algo}"] = timed(
            lambda a=algo: sdr_model(
                dem,
                ones * 3000,
                ones * 0.03,
                ones * 0.1,
                ones,
                np.ones(dem.shape, bool),
                30.0,
                flow_dir_algorithm=a,
                threshold_flow_accumulation=1000,
            ),
            repeat=1,
        )
    for name, t in rows.items():
        print(f"{name:26s} {t:7.3f} s  {n / t / 1e6:6.2f} Mpx/s")
    print(
        f"ours D8 / pyflwdir       {rows['fill+D8+acc (ours)'] / rows['fill+D8+acc (pyflwdir)']:.2f}x time"
    )
    print(
        f"ours MFD / ours D8       {rows['fill+MFD+acc (ours)'] / rows['fill+D8+acc (ours)']:.2f}x time"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
