"""Kernels import numpy/numba (and the standard library) only; doctests of our modules run."""

from __future__ import annotations

import ast
import doctest
import importlib
import sys
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parents[2] / "gep" / "kernels"
OURS = ("lookup.py", "water.py", "carbon.py", "rusle.py")
ALLOWED = {"numpy", "numba", "__future__"}


@pytest.mark.parametrize("name", OURS)
def test_kernel_imports(name: str) -> None:
    tree = ast.parse((KERNELS / name).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = {node.module.split(".")[0]}
        else:
            continue
        bad = {r for r in roots if r not in ALLOWED and r not in sys.stdlib_module_names}
        assert not bad, f"gep/kernels/{name} imports {bad}"


@pytest.mark.parametrize(
    "module",
    [
        "gep.kernels.lookup",
        "gep.kernels.water",
        "gep.kernels.carbon",
        "gep.kernels.rusle",
        "gep.units",
    ],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(
        importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
