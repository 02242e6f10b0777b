"""Helpers of the scenario tests: a copy of the sample catalog with a changed land cover."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import yaml

from data_catalog.catalog import Catalog


def changed_catalog(folder: Path, cat: Catalog, entry_id: str, values: np.ndarray) -> Path:
    """Write ``values`` as the land cover ``entry_id`` and a catalog that reads it.

    Every other entry keeps its file (its path made absolute), so a full run on the returned
    catalog is a run on the changed land cover and nothing else.
    """
    folder.mkdir(parents=True, exist_ok=True)
    source = cat.resolve(entry_id)
    target = folder / source.name
    with rasterio.open(source) as src:
        profile = src.profile
    profile.update(driver="GTiff")
    for key in ("blockxsize", "blockysize", "tiled", "interleave", "compress"):
        profile.pop(key, None)
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(values.astype(profile["dtype"]), 1)
    raw = yaml.safe_load(cat.path.read_text(encoding="utf-8"))
    for eid, entry in raw["entries"].items():
        entry["path"] = str(target if eid == entry_id else cat.resolve(eid))
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
