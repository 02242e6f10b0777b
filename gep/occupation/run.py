"""``gep occupation``: footprint → conversion → services before and after → compensation due."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from data_catalog.catalog import load_catalog
from gep.accounts import unit_level
from gep.occupation.compute import (
    physical_table,
    pixel_quantities,
    value_states,
)
from gep.occupation.config import (
    annuity_factor,
    load_occupation_config,
)
from gep.occupation.footprint import (
    check_inside,
    convert_footprint,
    overlay,
    read_footprint,
    region_outline,
)
from gep.occupation.report import write_outputs


def run_occupation(
    footprint: Path,
    config: Path,
    out_dir: Path | None = None,
    *,
    horizon_years: int | None = None,
    discount_rate: float | None = None,
    reproject: bool | None = None,
) -> dict[str, Any]:
    """GEP removed by a construction footprint and the compensation due; write map and summary.

    Parameters
    ----------
    footprint : pathlib.Path
        Vector file (GeoJSON, GeoPackage, shapefile) with the footprint polygon(s).
    config : pathlib.Path
        Run configuration with an ``occupation:`` section (see the module docstring).
    out_dir : pathlib.Path, optional
        Output folder (default ``./gep-occupation-output``).
    horizon_years, discount_rate, reproject : optional
        Override the ``occupation:`` settings (command-line options).

    Returns
    -------
    dict
        ``compensation_cny``, ``annual_loss_constant_cny``, ``annuity_factor``, ``year``,
        ``price_base_year``, ``horizon_years``, ``discount_rate``, ``converted_pixels``,
        ``converted_area_m2``, ``footprint_area_m2``, ``classes_before``, ``on_site_share``,
        ``components`` (DataFrame), ``physical`` (DataFrame) and ``outputs`` (paths).

    Raises
    ------
    InputError
        Missing settings, footprint outside the region, nothing to convert.
    CRSError
        Footprint without CRS, or in another CRS without ``reproject``.
    """
    run, settings = load_occupation_config(
        config, horizon_years=horizon_years, discount_rate=discount_rate, reproject=reproject
    )
    year = settings.year if settings.year is not None else max(run.years)
    cat = load_catalog(run.catalog_file())
    grid = cat.reference_grid()
    shape = read_footprint(Path(footprint), grid, settings.reproject)
    units, region = region_outline(cat, run, grid)
    check_inside(shape, region, Path(footprint))
    conv = convert_footprint(cat, shape, year, settings.min_coverage)
    params = cat.table(run.parameters)
    before = pixel_quantities(cat, run, params, year)
    after = pixel_quantities(overlay(cat, conv, settings.analogue), run, params, year)
    cfg = run.units[0]
    entry = cat.entry(cfg.entry)
    level = unit_level(units, grid, level=cfg.level, id_field=entry.id_field or "")
    states = value_states(run, level, before, after, year)
    annual = float(states.components["annual_loss_constant_cny"].sum())
    factor = annuity_factor(settings.discount_rate, settings.horizon_years)
    on_site = float(states.pixel_loss_cny[conv.mask].sum())
    cell = grid.cell_area_m2()
    result: dict[str, Any] = {
        "compensation_cny": annual * factor,
        "annual_loss_constant_cny": annual,
        "annuity_factor": factor,
        "year": year,
        "price_base_year": run.valuation.base_year,
        "horizon_years": settings.horizon_years,
        "discount_rate": settings.discount_rate,
        "converted_pixels": int(conv.mask.sum()),
        "converted_area_m2": float(np.broadcast_to(cell, grid.shape)[conv.mask].sum()),
        "footprint_area_m2": float(shape.geometry.iloc[0].area * grid.linear_unit_factor() ** 2),
        "classes_before": conv.classes_before,
        "on_site_share": on_site / float(states.pixel_loss_cny.sum())
        if states.pixel_loss_cny.sum()
        else float("nan"),
        "currency": "CNY",
    }
    note = None
    if cat.synthetic:
        note = "SYNTHETIC INPUTS (gep sample region): not data about Beijing"
    target = out_dir if out_dir is not None else Path.cwd() / "gep-occupation-output"
    outputs = write_outputs(Path(target), result, states, conv, shape, grid, settings, note)
    return {
        **result,
        "components": states.components,
        "physical": physical_table(states),
        "outputs": outputs,
    }
