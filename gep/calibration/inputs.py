"""Per-pixel inputs of the calibration targets, read from a catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from data_catalog.tables import load_scheme
from gep.pipeline import class_table

__all__ = ["ecosystem_type_of_codes", "landcover_arrays"]


def _class_values(cat: Catalog, landcover_id: str, params: pd.DataFrame, column: str) -> pd.Series:
    return class_table(cat, landcover_id, params, {column: column})[column]


def _per_pixel(codes: np.ndarray, valid: np.ndarray, by_class: pd.Series) -> np.ndarray:
    """Per-pixel values of a class table (vectorised look-up; NaN where invalid or unknown)."""
    index = by_class.index.to_numpy(dtype=np.int64)
    size = int(max(index.max(initial=0), codes[valid].max(initial=0))) + 1
    lut = np.full(size, np.nan)
    lut[index] = by_class.to_numpy(dtype=np.float64)
    safe = np.where(valid, codes, 0).astype(np.int64)
    return np.where(valid, lut[safe], np.nan)


def landcover_arrays(cat: Catalog, year: int) -> tuple[str, np.ndarray, np.ndarray]:
    """Land-cover entry id, class codes and valid mask of a year."""
    lc_id = cat.find(variable="landcover", year=year)
    da = cat.raster(lc_id)
    return lc_id, np.asarray(da.values), np.asarray(da.coords["valid"].values, dtype=bool)


def _raster(cat: Catalog, variable: str, year: int | None) -> np.ndarray:
    return np.asarray(cat.raster(cat.find(variable=variable, year=year)).values)


def ecosystem_type_of_codes(cat: Catalog, landcover_id: str) -> pd.Series:
    """Ecosystem type of each land-cover code (the entry's class scheme)."""
    scheme = load_scheme(cat.entry(landcover_id).class_scheme or "clcd")
    return pd.Series(
        scheme["ecosystem_type"].astype(str).to_numpy(),
        index=scheme["code"].astype(int).to_numpy(),
    )
