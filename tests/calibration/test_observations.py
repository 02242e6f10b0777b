"""Observation checks and catchment coverage: refused early, each with a named message."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gep.accounts import unit_level
from gep.calibration import (
    CalibrationError,
    area_mismatches,
    catchments_from_level,
    fit,
    match_observations,
    water_yield_problem,
)


def _table(values, gauges=("G1", "G2"), years=(2015, 2015)) -> pd.DataFrame:
    return pd.DataFrame({"gauge_id": list(gauges), "year": list(years), "runoff_mm": values})


def test_negative_observation_refused(gauges):
    with pytest.raises(CalibrationError, match=r"runoff_mm: negative values \[-151.5\].*G2"):
        match_observations(_table([120.0, -151.5]), gauges, value_column="runoff_mm")


def test_duplicate_gauge_year_refused(gauges):
    table = _table([120.0, 125.0], gauges=("G1", "G1"))
    with pytest.raises(
        CalibrationError, match=r"duplicate \(gauge, year\) rows \[\('G1', 2015\)\]"
    ):
        match_observations(table, gauges, value_column="runoff_mm")


def _moved_g3(sample_catalog, dy_m: float):
    """The sample's gauge catchments with G3 moved ``dy_m`` metres north (negative: south)."""
    grid = sample_catalog.reference_grid()
    gdf = sample_catalog.vector("gauge_catchments").to_crs(grid.crs.to_wkt())
    row = gdf["gauge_id"] == "G3"
    gdf.loc[row, "geometry"] = gdf.loc[row, "geometry"].translate(yoff=dy_m)
    level = unit_level(gdf, grid, level="gauge", id_field="gauge_id")
    return catchments_from_level(level, grid)


def test_gauge_off_the_grid_is_a_named_error(sample_catalog):
    """G3 moved 200 km south lies wholly off the grid: a named error, not a scipy traceback."""
    moved = _moved_g3(sample_catalog, -200_000.0)
    with pytest.raises(CalibrationError, match=r"gauges G3 \(323.1 km²\) do not overlap"):
        match_observations(
            sample_catalog.table("gauge_runoff"), moved, value_column="observed_runoff_mm"
        )


def test_half_covered_catchment_is_reported_and_fails_the_gate(sample_catalog, sample_params):
    """G3 moved 15 km south: about half of it left on the grid. Coverage is reported per gauge
    and year, and the coverage gate fails (valid share < 90 %)."""
    moved = _moved_g3(sample_catalog, -15_000.0)
    obs = match_observations(
        sample_catalog.table("gauge_runoff"), moved, value_column="observed_runoff_mm"
    )
    problem = water_yield_problem(sample_catalog, sample_params, moved, obs)
    coverage = problem.info["coverage"].set_index(["catchment_id", "year"])
    share = coverage.loc[("G3", 2015), "valid_fraction"]
    assert 0.3 < share < 0.7
    assert coverage.loc[("G3", 2015), "polygon_km2"] == pytest.approx(323.1, rel=1e-3)
    assert (coverage.drop(index="G3")["valid_fraction"] > 0.99).all()
    result = fit(problem, "nse", seed=0)
    failure = next(f for f in result.gate_failures if f.startswith("catchment_coverage"))
    assert "G3 2015" in failure and "G1" not in failure


def test_water_balance_gate(sample_catalog, sample_params, gauges, gauge_observations):
    """Observed runoff above precipitation for one gauge-year fails the water-balance gate."""
    problem = water_yield_problem(sample_catalog, sample_params, gauges, gauge_observations)
    precip = problem.info["precipitation_mm"]
    assert np.all((precip > 300) & (precip < 1000))  # mean annual P of the sample, mm yr-1
    observed = problem.observed.copy()
    observed[0] = precip[0] * 1.1
    result = fit(dataclasses.replace(problem, observed=observed), "nse", seed=0)
    failure = next(f for f in result.gate_failures if f.startswith("runoff_below"))
    assert "G1 2015" in failure


def test_declared_catchment_area_is_checked(sample_catalog, gauges):
    """The sample's catchment_km2 matches the polygons; a wrong one is noted by gauge."""
    table = sample_catalog.table("gauge_runoff")
    assert area_mismatches(table, gauges) == []
    wrong = table.assign(
        catchment_km2=np.where(table["gauge_id"] == "G2", 1000.0, table["catchment_km2"])
    )
    notes = area_mismatches(wrong, gauges)
    assert len(notes) == 1 and notes[0].startswith("gauge G2: catchment_km2 1000 km²")
