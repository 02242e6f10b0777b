"""numba kernels are compiled once and loaded from the on-disk cache by every later process.

A process that finds a kernel compiled by an earlier one must not compile it again: the
second run of the same call records cache hits and no miss (numba's dispatcher statistics).
"""

from __future__ import annotations

import json
import subprocess
import sys

CALLS = """
import json
import numpy as np
from gep.kernels import carbon, water

one = np.ones((3, 4), np.float32)
codes = np.zeros((3, 4), np.uint8)
carbon.storage_change_npv(codes, codes, np.array([0]), np.array([1.0]), nodata_bas=255,
                          nodata_alt=255, factor=1.0, fill=0.0)
water.annual_water_yield(one, 500 * one, 800 * one, 1000 * one, 1000 * one, 0.1 * one, one, 5.0)
stats = {}
for module in (carbon, water):
    for name in dir(module):
        dispatcher = getattr(module, name)
        if hasattr(dispatcher, "stats") and dispatcher.signatures:
            s = dispatcher.stats
            stats[f"{module.__name__}.{name}"] = [sum(s.cache_hits.values()), sum(s.cache_misses.values())]
print(json.dumps(stats))
"""


def _run() -> dict[str, list[int]]:
    out = subprocess.run([sys.executable, "-c", CALLS], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_second_process_compiles_nothing():
    _run()  # compiles into the cache if this checkout has not yet
    stats = _run()
    assert stats, "no kernel was called"
    missed = {name: hm for name, hm in stats.items() if hm[1] > 0}
    assert missed == {}, f"recompiled in a second process: {missed}"
    assert all(hm[0] > 0 for hm in stats.values()), stats
