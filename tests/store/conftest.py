"""Fixtures of the store tests: fake run output folders and an empty store path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.fake_run import make_output_folder


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """A fake run's output folder."""
    return make_output_folder(tmp_path / "run-a")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store path in the test's tmp folder (not created yet)."""
    return tmp_path / "store" / "gep-store.duckdb"
