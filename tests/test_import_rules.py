"""Layering: data_catalog never imports gep; kernels import numpy/scipy/numba only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(folder: Path) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[path] = names
    return found


def test_data_catalog_does_not_import_gep_or_linkage():
    for path, names in _imports(ROOT / "data_catalog").items():
        assert not names & {"gep", "linkage"}, f"{path} imports {names & {'gep', 'linkage'}}"


def test_kernels_import_only_numeric_libraries():
    allowed = {
        "numpy",
        "scipy",
        "numba",
        "math",
        "__future__",
        "typing",
        "dataclasses",
        "gep",
        "collections",
        "functools",
        "heapq",
        "enum",
    }
    kernels = ROOT / "gep" / "kernels"
    if not kernels.exists():
        return
    for path, names in _imports(kernels).items():
        assert names <= allowed, f"{path} imports {names - allowed}"


def test_importing_data_catalog_does_not_load_gep():
    code = "import sys, data_catalog.catalog; print('gep' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
