"""linkage imports nothing geospatial and nothing of ours; its doctests run."""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import linkage

FORBIDDEN = (
    "rasterio",
    "geopandas",
    "shapely",
    "pyproj",
    "xarray",
    "gep",
    "data_catalog",
    "osgeo",
    "fiona",
    "rioxarray",
    "exactextract",
    "pyogrio",
    "dask",
    "numba",
)
MODULES = sorted(m.name for m in pkgutil.walk_packages(linkage.__path__, "linkage."))


def test_importing_every_linkage_module_pulls_in_nothing_forbidden() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    loaded = json.loads(done.stdout)
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN)
    assert bad == [], f"linkage pulled in {bad}"
    assert "linkage.run" in loaded and len(MODULES) >= 15


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
