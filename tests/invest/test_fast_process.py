"""``gep invest carbon`` and ``annual_water_yield`` start lean: what they must not import.

The runs are whole processes, as a user starts them (issue 13: imports included). Timing
belongs in ``benchmarks/invest_peer.py``; these tests fail when a module-level import brings
back a library the models do not need on these paths (each costs 0.05–0.3 s a process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services.invest_inputs import awy_case, carbon_case

#: Never needed by ``gep invest``'s carbon and water-yield runs.
NEVER = ("pandas", "geopandas", "pyogrio", "dask", "xarray", "matplotlib", "duckdb")

#: Not needed by carbon either: its pass is numpy (the water-yield kernels are numba).
NOT_FOR_CARBON = ("numba", "scipy", "shapely")

RUN = """
import json, sys
sys.argv = ["gep", *json.loads(sys.argv[1])]
from gep.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("MODULES=" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _gep_in_process(*args: str | Path) -> tuple[int, set[str]]:
    argv = json.dumps([str(a) for a in args])
    out = subprocess.run(
        [sys.executable, "-c", RUN, argv], capture_output=True, text=True, check=True, timeout=300
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("MODULES="))
    result = json.loads(line.removeprefix("MODULES="))
    return result["code"], {m.split(".")[0] for m in result["modules"]}


def test_invest_help_is_lean() -> None:
    code, modules = _gep_in_process("invest", "--help")
    assert code == 0
    assert not modules & {*NEVER, *NOT_FOR_CARBON, "numpy", "rasterio"}


def test_carbon_run_imports_neither_pandas_nor_numba(tmp_path: Path) -> None:
    code, modules = _gep_in_process(
        "invest", "carbon", carbon_case(tmp_path), "--out", tmp_path / "o"
    )
    assert code == 0 and (tmp_path / "o" / "npv_alt.tif").is_file()
    assert not modules & {*NEVER, *NOT_FOR_CARBON}


def test_water_yield_run_imports_no_dask_xarray_or_matplotlib(tmp_path: Path) -> None:
    args = awy_case(tmp_path)  # its watersheds are read with geopandas (pandas, pyogrio)
    code, modules = _gep_in_process("invest", "annual_water_yield", args, "--out", tmp_path / "o")
    assert code == 0 and (tmp_path / "o" / "per_pixel" / "wyield.tif").is_file()
    assert not modules & (set(NEVER) - {"pandas", "geopandas", "pyogrio"})


@pytest.mark.parametrize("module", ["gep.invest", "gep.invest.run", "gep.invest.carbon"])
def test_importing_the_carbon_path_is_lean(module: str) -> None:
    code = (
        f"import sys, {module}; print(' '.join(sorted(set(m.split('.')[0] for m in sys.modules))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not set(out.stdout.split()) & {*NEVER, *NOT_FOR_CARBON}
