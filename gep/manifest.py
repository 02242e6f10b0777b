"""``manifest.json``: what produced a run (engine, config, inputs with sha256, prices, timings)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from data_catalog.catalog import Catalog
from gep import __version__
from gep.io.atomic import atomic_write

PACKAGES = (
    "numpy",
    "pandas",
    "xarray",
    "dask",
    "rasterio",
    "rioxarray",
    "pyproj",
    "shapely",
    "geopandas",
    "exactextract",
    "numba",
    "pyflwdir",
    "pydantic",
    "scipy",
)


def sha256(path: Path, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def input_files(cat: Catalog) -> list[dict[str, Any]]:
    """Every catalog entry's file with its size and sha256."""
    rows = []
    for entry_id, entry in cat.entries.items():
        path = cat.resolve(entry_id)
        rows.append(
            {
                "id": entry_id,
                "kind": entry.kind,
                "path": str(path),
                "bytes": path.stat().st_size,
                "sha256": sha256(path),
                "source": entry.source,
                "licence": entry.licence,
                "synthetic": entry.synthetic,
            }
        )
    return rows


def versions() -> dict[str, str]:
    """Versions of the engine's main dependencies."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def host() -> dict[str, Any]:
    """The machine the run ran on."""
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "node": platform.node(),
    }


def write_manifest(
    path: Path,
    *,
    config: dict[str, Any],
    cat: Catalog,
    prices: list[dict[str, Any]],
    timings: dict[str, float],
    outputs: list[str],
    warnings: list[str],
) -> Path:
    """Write ``manifest.json`` atomically."""
    doc = {
        "engine": {"name": "gep", "version": __version__},
        "config": config,
        "catalog": {"name": cat.name, "path": str(cat.path), "synthetic": cat.synthetic},
        "inputs": input_files(cat),
        "prices": prices,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "outputs": sorted(outputs),
        "warnings": warnings,
        "host": host(),
        "versions": versions(),
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False, default=str)
    return atomic_write(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
