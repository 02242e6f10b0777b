"""``gep calibrate CONFIG``: one calibration from a YAML file, with its report.

The configuration names the catalog, the target, the observations, bounds, objective, the
validation split and the error model (see ``gep/configs/calibrate_sample.yaml``). Steps: the
configuration is checked, the problem built once, the fit run on the calibration observations
(or given values evaluated, ``mode: evaluate``), the validation observations predicted,
optionally leave-one-gauge-out and posterior sampling, then the plausibility gates decide
whether the values are written back (:mod:`gep.calibration.writeback`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog, load_catalog
from gep.accounts import unit_level
from gep.calibration import gates
from gep.calibration.catchments import (
    Catchments,
    area_mismatches,
    catchments_from_level,
    match_observations,
)
from gep.calibration.config import CalibrationConfig, load_calibration_config
from gep.calibration.error_model import multi_year_mean, with_weights
from gep.calibration.errors import CalibrationError
from gep.calibration.fit import fit
from gep.calibration.posterior import PosteriorResult, sample_posterior
from gep.calibration.problem import FitProblem, FitResult, subset_problem
from gep.calibration.targets.c_ndvi import C_NDVI_FORMS, c_ndvi_problem
from gep.calibration.targets.sdr import sdr_inputs, sdr_problem
from gep.calibration.targets.water import runoff_coefficient_problem, water_yield_problem
from gep.calibration.validation import (
    Evaluation,
    GaugeOutResult,
    evaluate,
    leave_one_gauge_out,
    validation_mask,
)

__all__ = ["CalibrationRun", "build_problem", "run_calibration"]


def _table(cat: Catalog, config: CalibrationConfig, name: str) -> pd.DataFrame:
    if name in cat.entries:
        return cat.table(name)
    path = config.resolve(name)
    if not path.exists():
        raise CalibrationError(
            f"observations.table: '{name}' is neither a catalog table ({sorted(cat.entries)}) "
            f"nor a file ({path})"
        )
    return pd.read_csv(path, encoding="utf-8-sig")


def _catchments(cat: Catalog, config: CalibrationConfig) -> tuple[Catchments, list[str]]:
    """The gauged catchments on the grid and the notes of the intersection (units off grid)."""
    entry_id = config.observations.catchments
    if entry_id is None or entry_id not in cat.entries:
        raise CalibrationError(
            f"observations.catchments: target '{config.target}' needs a catalog vector entry of "
            f"catchment polygons, got {entry_id!r}; vector entries: "
            f"{sorted(k for k, e in cat.entries.items() if e.kind == 'vector')}"
        )
    entry = cat.entry(entry_id)
    id_field = entry.id_field or config.observations.id_column
    grid = cat.reference_grid()
    level = unit_level(cat.vector(entry_id), grid, level="catchment", id_field=id_field)
    return catchments_from_level(level, grid), list(level.warnings)


def _c_ndvi(config: CalibrationConfig, table: pd.DataFrame) -> FitProblem:
    obs_cfg = config.observations
    for column in (obs_cfg.ndvi_column, obs_cfg.value_column):
        if column not in table.columns:
            raise CalibrationError(
                f"observations '{obs_cfg.table}': no column '{column}'; found {list(table.columns)}"
            )
    form_names, default = C_NDVI_FORMS[config.c_ndvi_form][1:]
    bounds = [
        tuple(config.bounds.get(f"c_ndvi_{n}", d)) for n, d in zip(form_names, default, strict=True)
    ]
    return c_ndvi_problem(
        table[obs_cfg.ndvi_column],
        table[obs_cfg.value_column],
        form=config.c_ndvi_form,
        bounds=bounds,  # type: ignore[arg-type]
    )


def build_problem(cat: Catalog, config: CalibrationConfig) -> tuple[FitProblem, str]:
    """The fit problem of a configuration (every year read) and a description of the data."""
    params = cat.table(config.parameters)
    obs_cfg = config.observations
    table = _table(cat, config, obs_cfg.table)
    if config.target == "c_factor_ndvi":
        return _c_ndvi(config, table), f"{len(table)} NDVI–C pairs ({obs_cfg.table})"
    catchments, notes = _catchments(cat, config)
    obs = match_observations(
        table,
        catchments,
        value_column=obs_cfg.value_column,
        id_column=obs_cfg.id_column,
        year_column=obs_cfg.year_column,
        years=config.years_read(),
        name=obs_cfg.table,
    )
    against = (
        f"gauges {', '.join(sorted(set(obs['catchment_id'])))} "
        f"({obs_cfg.table}.{obs_cfg.value_column}, "
        f"{', '.join(str(y) for y in sorted(set(obs['year'])))})"
    )
    problem = _catchment_problem(cat, config, params, catchments, obs)
    problem.info["catchments"] = catchments  # the per-basin Z raster is written from them
    problem.info["catchment_notes"] = notes + area_mismatches(
        table, catchments, id_column=obs_cfg.id_column
    )
    return problem, against


def _catchment_problem(
    cat: Catalog,
    config: CalibrationConfig,
    params: pd.DataFrame,
    catchments: Catchments,
    obs: pd.DataFrame,
) -> FitProblem:
    if config.target == "water_yield_z":
        return water_yield_problem(
            cat,
            params,
            catchments,
            obs,
            per_basin=config.per_basin,
            bounds=tuple(config.bounds.get("seasonality", (1.0, 30.0))),  # type: ignore[arg-type]
        )
    if config.target == "runoff_coefficients":
        return runoff_coefficient_problem(
            cat,
            params,
            catchments,
            obs,
            ecosystem_types=config.ecosystem_types,
            bounds=tuple(config.bounds.get("runoff_coefficient", (0.0, 1.0))),  # type: ignore[arg-type]
        )
    inputs = {int(y): sdr_inputs(cat, params, int(y), **config.model) for y in set(obs["year"])}
    return sdr_problem(inputs, catchments, obs, bounds=dict(config.bounds))


@dataclass
class CalibrationRun:
    """Everything one configuration produced."""

    config: CalibrationConfig
    problem: FitProblem
    against: str
    result: FitResult | None = None
    calibration: Evaluation | None = None
    validation: Evaluation | None = None
    gauge_out: GaugeOutResult | None = None
    posterior: PosteriorResult | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """The fit passed every gate (an evaluate-only run never writes back)."""
        return self.result is not None and self.result.passed


def _preparer(config: CalibrationConfig) -> Callable[[FitProblem], FitProblem]:
    """Apply the configured error model (weights, multi-year mean) to a problem."""

    def prepare(problem: FitProblem) -> FitProblem:
        if config.error_model.multi_year_mean:
            problem = multi_year_mean(problem)
        return with_weights(problem, config.error_model.weights)

    return prepare


def _fit_options(config: CalibrationConfig) -> dict[str, Any]:
    opt, conf = config.optimizer, config.confidence
    return {
        "seed": opt.seed,
        "global_search": opt.global_search,
        "maxiter": opt.maxiter,
        "popsize": opt.popsize,
        "ci": conf.method,
        "ci_level": conf.level,
        "n_bootstrap": conf.n_bootstrap,
        "n_starts": conf.n_starts,
    }


def _masks(config: CalibrationConfig, problem: FitProblem) -> tuple[np.ndarray, np.ndarray]:
    """Calibration and validation observations (the validation split, if any)."""
    held = (
        validation_mask(problem, years=config.validation_years, gauges=config.validation_gauges)
        if "year" in problem.labels.columns
        else np.zeros(problem.observed.size, dtype=bool)
    )
    calib = ~held
    if config.calibration_years:
        years = problem.labels["year"].astype(int).to_numpy()
        calib &= np.isin(years, config.calibration_years)
    if not calib.any():
        raise CalibrationError(
            f"{config.name}: no calibration observation left after the validation split; "
            "check calibration_years, validation_years and validation_gauges"
        )
    return calib, held


def _fit_and_validate(run: CalibrationRun, calib: np.ndarray, held: np.ndarray) -> None:
    config, problem = run.config, run.problem
    prepare = _preparer(config)
    start = time.perf_counter()
    if config.mode == "evaluate":
        values = config.parameter_values or {}
        run.calibration = evaluate(subset_problem(problem, calib), values, period="calibration")
    else:
        run.result = fit(
            prepare(subset_problem(problem, calib)), config.objective, **_fit_options(config)
        )
        run.result.gates = gates.evaluate(run.result, min_coverage=config.min_coverage)
        values = dict(zip(problem.names, run.result.values, strict=True))
    run.seconds["fit"] = time.perf_counter() - start
    if held.any():
        run.validation = evaluate(subset_problem(problem, held), values, period="validation")
    if config.leave_one_gauge_out and config.mode == "fit":
        start = time.perf_counter()
        run.gauge_out = leave_one_gauge_out(
            subset_problem(problem, calib),
            config.objective,
            prepare=prepare,
            **_fit_options(config),
        )
        run.seconds["leave_one_gauge_out"] = time.perf_counter() - start
    if config.posterior.enabled and run.result is not None:
        post = config.posterior
        run.posterior = sample_posterior(
            run.result.problem,
            n_chains=post.n_chains,
            n_steps=post.n_steps,
            burn_in=post.burn_in,
            seed=config.optimizer.seed,
            level=config.confidence.level,
            error_model=post.error_model,
        )
        run.seconds["posterior"] = run.posterior.seconds


def run_calibration(config_path: Path, out_dir: Path | None = None) -> dict[str, Any]:
    """Run one calibration from its YAML configuration and write the report.

    Parameters
    ----------
    config_path : pathlib.Path
        The calibration configuration.
    out_dir : pathlib.Path, optional
        Report folder (default: the config's ``output``, relative to the working directory).

    Returns
    -------
    dict
        ``target, objective, mode``, ``status`` (text: passed, or FAILED with the failed gates),
        ``passed`` (every gate passed), ``gate_failures`` (list), ``identifiability`` (text),
        ``parameters`` (name → value), ``ci`` (name → (low, high)), ``ci_method``,
        ``condition_number``, ``warnings``, ``statistics`` (calibration), ``validation``
        (validation statistics, or empty), ``gep_components`` (what the target changes),
        ``seconds`` and ``outputs`` (name → path). A failed gate writes no parameter table,
        catalog or run config unless the configuration says ``force: true``.

    Raises
    ------
    gep.calibration.CalibrationError
        A bad configuration or bad observations, before any long work.
    """
    from gep.calibration.writeback import summary_dict, write_report

    start = time.perf_counter()
    config = load_calibration_config(config_path)
    cat = load_catalog(config.catalog_file())
    problem, against = build_problem(cat, config)
    run = CalibrationRun(config, problem, against)
    run.seconds["build"] = time.perf_counter() - start
    _fit_and_validate(run, *_masks(config, problem))
    run.seconds["total"] = time.perf_counter() - start
    target_dir = Path(out_dir) if out_dir is not None else Path(config.output)
    outputs = write_report(run, cat, target_dir)
    return summary_dict(run, outputs)
