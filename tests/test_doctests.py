"""The examples in every module's docstrings run (gep and data_catalog; linkage's in
``tests/linkage/test_link_imports.py``). Modules are found with :mod:`pkgutil`, so a new module's
examples are collected without editing a list."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import tempfile

import numpy as np
import pytest

import data_catalog
import gep

#: Scripts that regenerate committed data (not imported by the package).
SKIPPED = {"data_catalog.sample.make_sample"}


def _modules() -> list[str]:
    names = []
    for package in (gep, data_catalog):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if info.name not in SKIPPED:
                names.append(info.name)
    return sorted(names)


def test_every_package_module_is_found():
    names = _modules()
    assert {"gep.io.atomic", "gep.kernels.water", "data_catalog.grid", "gep.cli.console"} <= set(
        names
    )


@pytest.mark.parametrize("name", _modules())
def test_doctests(name: str, tmp_path, monkeypatch) -> None:
    # examples that make folders with tempfile (gep.io.atomic's) make them under tmp_path
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
