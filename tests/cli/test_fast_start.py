"""``gep --help`` and ``gep version`` start without the numeric and geospatial stack.

Timing belongs in ``benchmarks/`` (``benchmarks/startup.py``); this test fails when a module-level
import drags the stack back into the command line's start.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "numpy",
    "pandas",
    "geopandas",
    "rasterio",
    "dask",
    "matplotlib",
    "numba",
    "xarray",
    "scipy",
    "pyproj",
    "shapely",
    "pydantic",
    "yaml",
    "linkage",
)


def test_the_command_line_imports_nothing_heavy_to_start():
    code = f"import sys, gep.cli\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_lists_every_command(gep_script):
    from tests.cli.conftest import run_gep

    shown = run_gep("--help")
    assert shown.returncode == 0
    for command in ("validate", "run", "demo", "link", "invest", "occupation", "calibrate"):
        assert command in shown.stdout
