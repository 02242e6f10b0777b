"""The embedded sample region: real Beijing boundaries and codes, synthetic rasters and tables."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SYNTHETIC_NOTE = (
    "SYNTHETIC INPUTS: the sample region's rasters, township polygons and indicator tables are "
    "synthetic (made by data_catalog/sample/make_sample.py); only the district boundaries and "
    "township codes and names are real. Results are for demonstration, not about Beijing."
)


def catalog_path() -> Path:
    """Path of the sample region's catalog YAML (inside the installed package)."""
    return Path(str(resources.files("data_catalog.sample").joinpath("catalog.yaml")))
