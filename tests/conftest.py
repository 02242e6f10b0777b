"""Shared fixtures: tiny rasters and catalogs written into tmp folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from filelock import FileLock

UTM_30M = Affine(30, 0, 400000, 0, -30, 4450000)


@pytest.fixture(autouse=True, scope="session")
def _accounts_store_outside_the_checkout(tmp_path_factory):
    """Runs append to an accounts store: one in a tmp folder, never ./gep-store.duckdb."""
    previous = os.environ.get("GEP_STORE")
    os.environ["GEP_STORE"] = str(tmp_path_factory.mktemp("store") / "gep-store.duckdb")
    yield
    if previous is None:
        os.environ.pop("GEP_STORE", None)
    else:
        os.environ["GEP_STORE"] = previous


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    transform: Affine = UTM_30M,
    crs: str | None = "EPSG:32650",
    nodata: float | None = -9999.0,
) -> Path:
    """Write a single-band GeoTIFF for a test."""
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": data.dtype.name,
        "transform": transform,
    }
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture
def tif(tmp_path: Path):
    """Factory writing GeoTIFFs into the test's tmp folder."""

    def make(name: str, data: np.ndarray, **kwargs) -> Path:
        return write_tif(tmp_path / name, data, **kwargs)

    return make


@dataclass(frozen=True)
class DemoRun:
    """One ``gep demo`` run (not quiet) shared by the test files that read its outputs."""

    out: Path  #: the output folder; read it, never write into it
    stdout: str  #: what the run printed (160 columns)
    store: Path  #: the accounts store the run appended to (copy it before appending)


def _run_demo(root: Path) -> DemoRun:
    out, store = root / "out", root / "store.duckdb"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("gep")), "demo", "--out", str(out)]
        + ["--store", str(store)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    (root / "stdout.txt").write_text(done.stdout, encoding="utf-8")
    return DemoRun(out, done.stdout, store)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """``gep demo`` once per test session, shared by all pytest-xdist workers.

    A full demo run is the costliest thing the suite does; several files check its outputs.
    The first worker to ask runs it (under a file lock) into the session's shared tmp folder,
    the others read the same folder.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _run_demo(tmp_path_factory.mktemp("demo-run"))
    root = tmp_path_factory.getbasetemp().parent / "shared-demo-run"
    with FileLock(f"{root}.lock"):
        if not (root / "stdout.txt").is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            return _run_demo(root)
    stdout = (root / "stdout.txt").read_text(encoding="utf-8")
    return DemoRun(root / "out", stdout, root / "store.duckdb")
