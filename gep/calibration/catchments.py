"""Gauged catchments on the grid, their coverage, and observations matched to them (checked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from data_catalog.grid import Grid
from gep.accounts import UnitLevel
from gep.calibration.errors import CalibrationError

__all__ = [
    "Catchments",
    "catchments_from_labels",
    "catchments_from_level",
    "area_mismatches",
    "coverage_table",
    "match_observations",
]


@dataclass(frozen=True)
class Catchments:
    """Gauged catchments as pixel lists with their area weights, built once.

    Parameters
    ----------
    ids : tuple of str
        Catchment (gauge) ids.
    pixels : tuple of ndarray
        Flat pixel indices of each catchment.
    area_m2 : tuple of ndarray
        Area of each of those pixels inside the catchment (coverage fraction × cell area), m².
    shape : tuple of int
        Grid shape.
    polygon_area_m2 : tuple of float, optional
        Area of each catchment's polygon, m² (on and off the grid); None when the catchments
        come from a label raster (then all on the grid).
    """

    ids: tuple[str, ...]
    pixels: tuple[np.ndarray, ...]
    area_m2: tuple[np.ndarray, ...]
    shape: tuple[int, int]
    polygon_area_m2: tuple[float, ...] | None = None

    def index(self, catchment_id: str) -> int:
        """Position of a catchment id."""
        return self.ids.index(catchment_id)

    def total_area_km2(self) -> np.ndarray:
        """Area of each catchment on the grid, km²."""
        return np.array([a.sum() / 1e6 for a in self.area_m2])

    def polygon_area_km2(self) -> np.ndarray:
        """Area of each catchment's polygon, km² (its area on the grid without polygons)."""
        if self.polygon_area_m2 is None:
            return self.total_area_km2()
        return np.array(self.polygon_area_m2) / 1e6


def catchments_from_level(level: UnitLevel, grid: Grid) -> Catchments:
    """Catchments from polygons intersected with the grid (:func:`gep.accounts.unit_level`).

    Parameters
    ----------
    level : UnitLevel
        Catchment polygons' exact coverage of the grid.
    grid : Grid
        The grid (for cell areas).
    """
    cell = np.broadcast_to(grid.cell_area_m2(), grid.shape).ravel()
    weights = sp.csr_matrix(level.weights)
    pixels, areas = [], []
    for i in range(weights.shape[0]):
        start, stop = weights.indptr[i], weights.indptr[i + 1]
        idx = weights.indices[start:stop].astype(np.int64)
        pixels.append(idx)
        areas.append(weights.data[start:stop] * cell[idx])
    ids = tuple(str(u) for u in level.ids)
    polygon = tuple(float(a) * 1e6 for a in level.units["area_km2"])
    return Catchments(ids, tuple(pixels), tuple(areas), tuple(grid.shape), polygon)  # type: ignore[arg-type]


def catchments_from_labels(
    labels: np.ndarray, cell_area_m2: float | np.ndarray, *, prefix: str = "C"
) -> Catchments:
    """Catchments from a label raster (0 or negative = no catchment), e.g. delineated basins.

    Parameters
    ----------
    labels : ndarray of int
        Catchment number per pixel.
    cell_area_m2 : float or ndarray
        Cell area, m² (scalar or broadcastable to ``labels``).
    prefix : str
        Id prefix: catchment 3 becomes ``"C3"``.
    """
    lab = np.asarray(labels).ravel()
    cell = np.broadcast_to(np.asarray(cell_area_m2, dtype=np.float64), np.shape(labels)).ravel()
    numbers = np.unique(lab[lab > 0])
    pixels = tuple(np.flatnonzero(lab == n) for n in numbers)
    return Catchments(
        tuple(f"{prefix}{n}" for n in numbers),
        pixels,
        tuple(cell[p] for p in pixels),
        tuple(np.shape(labels)),  # type: ignore[arg-type]
    )


def coverage_table(
    catchments: Catchments,
    observations: pd.DataFrame,
    valid_area_m2: Sequence[float] | np.ndarray,
) -> pd.DataFrame:
    """Per observation: the catchment's polygon area, its area on the grid and its valid area.

    ``valid_fraction = valid area / polygon area`` (1 when the catchment lies wholly on the grid
    with valid data everywhere).
    """
    polygon = catchments.polygon_area_km2()
    on_grid = catchments.total_area_km2()
    rows = [catchments.index(c) for c in observations["catchment_id"]]
    valid_km2 = np.asarray(valid_area_m2, dtype=np.float64) / 1e6
    return pd.DataFrame(
        {
            "catchment_id": observations["catchment_id"].to_numpy(),
            "year": observations["year"].to_numpy(),
            "polygon_km2": polygon[rows],
            "on_grid_km2": on_grid[rows],
            "valid_km2": valid_km2,
            "valid_fraction": valid_km2 / np.where(polygon[rows] > 0, polygon[rows], np.nan),
        }
    )


def area_mismatches(
    table: pd.DataFrame,
    catchments: Catchments,
    *,
    id_column: str = "gauge_id",
    area_column: str = "catchment_km2",
    tolerance: float = 0.05,
) -> list[str]:
    """Gauges whose declared catchment area differs from their polygon's by more than ``tolerance``.

    A table without ``area_column`` gives no note. A large difference means the polygon is not
    the gauge's catchment (or the area is in other units), so depths compare unlike areas.
    """
    if area_column not in table.columns or id_column not in table.columns:
        return []
    declared = table.groupby(table[id_column].astype(str))[area_column].first()
    polygon = dict(zip(catchments.ids, catchments.polygon_area_km2(), strict=True))
    notes = []
    for gauge, area in declared.items():
        if gauge in polygon and np.isfinite(area) and polygon[gauge] > 0:
            if abs(float(area) / polygon[gauge] - 1) > tolerance:
                notes.append(
                    f"gauge {gauge}: {area_column} {float(area):.4g} km² differs from its "
                    f"polygon's {polygon[gauge]:.4g} km² by more than {tolerance:.0%}"
                )
    return notes


def _check_values(frame: pd.DataFrame, name: str, value_column: str) -> None:
    """Refuse missing, negative and duplicate (gauge, year) observations."""
    values = frame["observed"].astype(float)
    bad = frame[~np.isfinite(values)]
    if len(bad):
        raise CalibrationError(
            f"{name}.{value_column}: missing values for "
            f"{bad[['catchment_id', 'year']].values.tolist()}; drop those rows or fill them"
        )
    negative = frame[values < 0]
    if len(negative):
        raise CalibrationError(
            f"{name}.{value_column}: negative values {negative['observed'].tolist()} for "
            f"{negative[['catchment_id', 'year']].values.tolist()}; runoff and sediment yield "
            "are ≥ 0: fix the sign or drop the rows"
        )
    dup = frame[frame.duplicated(["catchment_id", "year"], keep=False)]
    if len(dup):
        raise CalibrationError(
            f"{name}: duplicate (gauge, year) rows "
            f"{sorted(set(map(tuple, dup[['catchment_id', 'year']].values.tolist())))}; keep "
            "one observation per gauge and year (average them before calibrating)"
        )


def _check_on_grid(frame: pd.DataFrame, catchments: Catchments, name: str) -> None:
    """Refuse gauges whose catchment does not overlap the grid (named)."""
    off = [
        c
        for c in sorted(set(frame["catchment_id"]))
        if catchments.pixels[catchments.index(c)].size == 0
        or catchments.area_m2[catchments.index(c)].sum() <= 0
    ]
    if off:
        polygon = catchments.polygon_area_km2()
        described = ", ".join(f"{c} ({polygon[catchments.index(c)]:.4g} km²)" for c in off)
        raise CalibrationError(
            f"{name}: the catchments of gauges {described} do not overlap the raster grid; fix "
            "their polygons (CRS? location?) or drop their observations"
        )


def match_observations(
    table: pd.DataFrame,
    catchments: Catchments,
    *,
    value_column: str,
    id_column: str = "gauge_id",
    year_column: str = "year",
    years: Sequence[int] | None = None,
    name: str = "observations",
) -> pd.DataFrame:
    """Observations matched to catchments: ``catchment_id, year, observed`` (checked first).

    Raises
    ------
    CalibrationError
        A missing column, an id that is not a catchment, a catchment off the grid, a missing,
        negative or duplicate (gauge, year) value, or no observation in the requested years;
        the message names the table and column.
    """
    missing = [c for c in (id_column, year_column, value_column) if c not in table.columns]
    if missing:
        raise CalibrationError(
            f"{name}: columns {missing} not found; found {list(table.columns)}. Name the id, "
            "year and value columns in the calibration config (observations: id_column, ...)"
        )
    frame = table[[id_column, year_column, value_column]].copy()
    frame.columns = ["catchment_id", "year", "observed"]
    frame["catchment_id"] = frame["catchment_id"].astype(str)
    frame["year"] = frame["year"].astype(int)
    if years is not None:
        frame = frame[frame["year"].isin([int(y) for y in years])]
    unknown = sorted(set(frame["catchment_id"]) - set(catchments.ids))
    if unknown:
        raise CalibrationError(
            f"{name}.{id_column}: ids {unknown} are not catchments (known: "
            f"{list(catchments.ids)}); fix the ids or add the catchment polygons"
        )
    _check_values(frame, name, value_column)
    if frame.empty:
        raise CalibrationError(f"{name}: no observations in years {list(years or [])}")
    _check_on_grid(frame, catchments, name)
    return frame.sort_values(["catchment_id", "year"]).reset_index(drop=True)
