"""Build small catalogs in a tmp folder for tests."""

from __future__ import annotations

from pathlib import Path

import yaml

SOURCE = {"source": "test fixture", "licence": "CC0-1.0"}


def write_catalog(folder: Path, entries: dict[str, dict], reference: str = "landcover") -> Path:
    """Write ``catalog.yaml`` with the given entries (source and licence added when absent)."""
    doc = {
        "name": "test",
        "reference_grid": reference,
        "entries": {k: {**SOURCE, **v} for k, v in entries.items()},
    }
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path
