"""The examples in the scale modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "gep.fastio",
        "gep.chunked",
        "gep.basins",
        "gep.tiled_routing",
        "gep.zones",
        "gep.kernels.reductions",
        "gep.kernels.sdr",
    ],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(
        importlib.import_module(module), extraglobs={"np": __import__("numpy")}
    )
    assert result.failed == 0
