"""``gep calibrate CONFIG``: one calibration from a YAML file, with its report.

The configuration names the catalog, the target, the observations, bounds and objective (see
``gep/configs/calibrate_sample.yaml``). The report folder receives:

* ``fitted_parameters.csv`` — values, bounds, confidence intervals and their method;
* ``observed_vs_simulated.csv`` and ``observed_vs_simulated.png``;
* ``fit_statistics.csv`` — NSE, KGE, log-NSE, RMSE, PBIAS;
* ``parameters_calibrated.csv`` — the catalog's parameter table (long format) with the fitted
  rows written in (``confidence: user supplied``), ``catalog_calibrated.yaml`` — the catalog
  with its parameter entry pointing there, and ``run_calibrated.yaml`` — the base run
  configuration using both (the next run uses the calibrated values);
* ``summary.md`` — what was fitted against what, and how well.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data_catalog.catalog import Catalog, load_catalog
from data_catalog.sample import catalog_path
from gep import calibration as cal
from gep import units
from gep.accounts import unit_level
from gep.config import demo_config_path
from gep.exports import atomic_write

__all__ = ["CalibrationConfig", "load_calibration_config", "run_calibration"]

Target = Literal["water_yield_z", "runoff_coefficients", "sdr", "c_factor_ndvi"]

#: unit the observations of each target must be in
TARGET_UNITS = {
    "water_yield_z": units.MM_PER_YR,
    "runoff_coefficients": units.MM_PER_YR,
    "sdr": units.T_PER_YR,
    "c_factor_ndvi": units.DIMENSIONLESS,
}


class Observations(BaseModel):
    """Where the observations are and which columns hold what."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(description="catalog table entry, or a CSV path (relative to the config)")
    catchments: str | None = Field(default=None, description="catalog vector entry of catchments")
    id_column: str = "gauge_id"
    year_column: str = "year"
    value_column: str = "observed_runoff_mm"
    value_unit: str = units.MM_PER_YR
    ndvi_column: str = "ndvi"


class Optimizer(BaseModel):
    """Search settings."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    global_search: bool | None = None
    maxiter: int = Field(default=60, ge=1)
    popsize: int = Field(default=15, ge=2)


class Confidence(BaseModel):
    """Confidence-interval settings."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["auto", "jacobian", "bootstrap", "none"] = "auto"
    level: float = Field(default=0.95, gt=0, lt=1)
    n_bootstrap: int = Field(default=200, ge=10)


class CalibrationConfig(BaseModel):
    """A calibration: catalog, target, observations, bounds, objective, output folder."""

    model_config = ConfigDict(extra="forbid")

    name: str
    catalog: str = "sample"
    parameters: str = "parameters"
    target: Target
    observations: Observations
    years: list[int] | None = None
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    objective: Literal["nse", "kge", "log_nse", "rmse", "pbias"] = "nse"
    per_basin: bool = False
    ecosystem_types: list[str] | None = None
    model: dict[str, Any] = Field(default_factory=dict, description="SDR routing options")
    c_ndvi_form: Literal["van_der_knijff", "cai"] = "van_der_knijff"
    optimizer: Optimizer = Optimizer()
    confidence: Confidence = Confidence()
    base_run_config: str | None = Field(
        default="demo", description="run config to write run_calibrated.yaml from (demo or path)"
    )
    output: str = "calibration-output"
    path: Path | None = Field(default=None, exclude=True)

    def resolve(self, value: str) -> Path:
        """A path relative to the configuration file."""
        p = Path(value)
        if p.is_absolute() or self.path is None:
            return p
        return self.path.parent / p

    def catalog_file(self) -> Path:
        """The catalog's path (``sample`` = the embedded sample region)."""
        return catalog_path() if self.catalog == "sample" else self.resolve(self.catalog)


def load_calibration_config(path: str | Path) -> CalibrationConfig:
    """Read and validate a calibration configuration (every problem in one message)."""
    path = Path(path)
    if not path.exists():
        raise cal.CalibrationError(f"calibration configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = CalibrationConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise cal.CalibrationError(f"{path}: not valid YAML ({exc})") from exc
    except ValidationError as exc:
        lines = [f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise cal.CalibrationError(
            f"{path}: invalid calibration config:\n" + "\n".join(lines)
        ) from exc
    expected = TARGET_UNITS[config.target]
    if config.observations.value_unit != expected:
        raise cal.CalibrationError(
            f"{path}: observations.value_unit is '{config.observations.value_unit}' but target "
            f"'{config.target}' compares values in '{expected}'; convert the observations "
            f"(runoff volume → depth: mm = m3 / catchment area m2 × 1000) and declare '{expected}'"
        )
    return config.model_copy(update={"path": path.resolve()})


# --------------------------------------------------------------------------------------------
# Building the problem
# --------------------------------------------------------------------------------------------


def _table(cat: Catalog, config: CalibrationConfig, name: str) -> pd.DataFrame:
    if name in cat.entries:
        return cat.table(name)
    path = config.resolve(name)
    if not path.exists():
        raise cal.CalibrationError(
            f"observations.table: '{name}' is neither a catalog table ({sorted(cat.entries)}) "
            f"nor a file ({path})"
        )
    return pd.read_csv(path, encoding="utf-8-sig")


def _catchments(cat: Catalog, config: CalibrationConfig) -> cal.Catchments:
    entry_id = config.observations.catchments
    if entry_id is None or entry_id not in cat.entries:
        raise cal.CalibrationError(
            f"observations.catchments: target '{config.target}' needs a catalog vector entry of "
            f"catchment polygons, got {entry_id!r}; vector entries: "
            f"{sorted(k for k, e in cat.entries.items() if e.kind == 'vector')}"
        )
    entry = cat.entry(entry_id)
    id_field = entry.id_field or config.observations.id_column
    grid = cat.reference_grid()
    level = unit_level(cat.vector(entry_id), grid, level="catchment", id_field=id_field)
    return cal.catchments_from_level(level, grid)


def _bounds(
    config: CalibrationConfig, name: str, default: tuple[float, float]
) -> tuple[float, float]:
    return tuple(config.bounds.get(name, default))  # type: ignore[return-value]


def build_problem(cat: Catalog, config: CalibrationConfig) -> tuple[cal.FitProblem, str]:
    """The fit problem of a configuration and a description of the observations."""
    params = cat.table(config.parameters)
    obs_cfg = config.observations
    table = _table(cat, config, obs_cfg.table)
    if config.target == "c_factor_ndvi":
        for column in (obs_cfg.ndvi_column, obs_cfg.value_column):
            if column not in table.columns:
                raise cal.CalibrationError(
                    f"observations '{obs_cfg.table}': no column '{column}'; found "
                    f"{list(table.columns)}"
                )
        form_names = cal.C_NDVI_FORMS[config.c_ndvi_form][1]
        default = cal.C_NDVI_FORMS[config.c_ndvi_form][2]
        bounds = [
            _bounds(config, f"c_ndvi_{n}", d) for n, d in zip(form_names, default, strict=True)
        ]
        problem = cal.c_ndvi_problem(
            table[obs_cfg.ndvi_column],
            table[obs_cfg.value_column],
            form=config.c_ndvi_form,
            bounds=bounds,
        )
        return problem, f"{len(table)} NDVI–C pairs ({obs_cfg.table})"
    catchments = _catchments(cat, config)
    obs = cal.match_observations(
        table,
        catchments,
        value_column=obs_cfg.value_column,
        id_column=obs_cfg.id_column,
        year_column=obs_cfg.year_column,
        years=config.years,
        name=obs_cfg.table,
    )
    against = (
        f"gauges {', '.join(sorted(set(obs['catchment_id'])))} ({obs_cfg.table}.{obs_cfg.value_column}, "
        f"{', '.join(str(y) for y in sorted(set(obs['year'])))})"
    )
    return _catchment_problem(cat, config, params, catchments, obs), against


def _catchment_problem(
    cat: Catalog,
    config: CalibrationConfig,
    params: pd.DataFrame,
    catchments: cal.Catchments,
    obs: pd.DataFrame,
) -> cal.FitProblem:
    if config.target == "water_yield_z":
        return cal.water_yield_problem(
            cat,
            params,
            catchments,
            obs,
            per_basin=config.per_basin,
            bounds=_bounds(config, "seasonality", (1.0, 30.0)),
        )
    if config.target == "runoff_coefficients":
        return cal.runoff_coefficient_problem(
            cat,
            params,
            catchments,
            obs,
            ecosystem_types=config.ecosystem_types,
            bounds=_bounds(config, "runoff_coefficient", (0.0, 1.0)),
        )
    inputs = {int(y): cal.sdr_inputs(cat, params, int(y), **config.model) for y in set(obs["year"])}
    return cal.sdr_problem(inputs, catchments, obs, bounds=dict(config.bounds))


# --------------------------------------------------------------------------------------------
# Writing the report
# --------------------------------------------------------------------------------------------


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))


def _write_text(text: str, path: Path) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def calibrated_catalog(
    catalog_file: Path, parameters_entry: str, table_path: Path
) -> dict[str, Any]:
    """The catalog's YAML with absolute paths and its parameter entry pointing at ``table_path``."""
    raw = yaml.safe_load(catalog_file.read_text(encoding="utf-8"))
    root = catalog_file.resolve().parent
    for entry_id, entry in raw.get("entries", {}).items():
        if "path" in entry:
            p = Path(entry["path"])
            entry["path"] = str(p if p.is_absolute() else (root / p).resolve())
        if entry_id == parameters_entry:
            entry["path"] = str(table_path.resolve())
            entry["source"] = (
                f"{entry.get('source', '')}; calibrated values written by gep calibrate"
            )
    raw["name"] = f"{raw.get('name', 'catalog')}-calibrated"
    return raw


def _run_config(
    config: CalibrationConfig, result: cal.FitResult, catalog_yaml: Path
) -> dict[str, Any] | None:
    if config.base_run_config is None:
        return None
    base = (
        demo_config_path()
        if config.base_run_config == "demo"
        else config.resolve(config.base_run_config)
    )
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
    raw["catalog"] = str(catalog_yaml.resolve())
    raw["name"] = f"{raw.get('name', 'run')}-calibrated"
    fitted = dict(zip(result.problem.names, result.values, strict=True))
    services = raw.get("services", {})
    if "seasonality" in fitted and "water_yield" in services:
        services["water_yield"]["seasonality"] = round(float(fitted["seasonality"]), 6)
    if config.target == "sdr" and "soil_retention" in services:
        for name in ("k", "ic0", "sdr_max"):
            services["soil_retention"][name] = round(float(fitted[name]), 6)
    return raw


def _summary(config: CalibrationConfig, result: cal.FitResult, against: str, seconds: float) -> str:
    table = result.parameter_table()
    lines = [
        f"# Calibration report: {config.name}",
        "",
        f"- target: `{config.target}`; objective: `{result.objective}`; method: {result.method} "
        f"({result.n_evaluations} model evaluations, {seconds:.1f} s)",
        f"- observations: {against}, in {result.problem.value_unit}",
        f"- confidence intervals: {result.ci_method}, level {result.ci_level:.0%}",
        "",
        "| parameter | value | CI low | CI high | bounds | at bound |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.parameter} | {r.value:.6g} | {r.ci_low:.6g} | {r.ci_high:.6g} | "
            f"[{r.lower_bound:g}, {r.upper_bound:g}] | {'yes' if r.at_bound else 'no'} |"
        )
    s = result.statistics
    lines += [
        "",
        f"Fit: NSE {s['nse']:.4f}, KGE {s['kge']:.4f}, log-NSE {s['log_nse']:.4f}, "
        f"RMSE {s['rmse']:.4g} {result.problem.value_unit}, PBIAS {s['pbias_percent']:.2f} % "
        f"(n = {int(s['n_observations'])}).",
        "",
        "![observed vs simulated](observed_vs_simulated.png)",
        "",
        "The calibrated values are in `parameters_calibrated.csv` (catalog long format, "
        "confidence `user supplied`); `catalog_calibrated.yaml` points the catalog's parameter "
        "entry there and `run_calibrated.yaml` runs the accounts with them.",
    ]
    if table["at_bound"].any():
        lines.append(
            "\n**Warning:** a parameter sits on its bound: the observations ask for a value the "
            "bounds exclude, or the model lacks a process the observations contain."
        )
    return "\n".join(lines) + "\n"


def write_report(
    config: CalibrationConfig,
    cat: Catalog,
    result: cal.FitResult,
    against: str,
    out_dir: Path,
    seconds: float,
) -> dict[str, Path]:
    """Write every file of the report; returns name → path."""
    out: dict[str, Path] = {}
    out["fitted_parameters"] = _write_csv(
        result.parameter_table(), out_dir / "fitted_parameters.csv"
    )
    out["observations"] = _write_csv(
        result.observation_table(), out_dir / "observed_vs_simulated.csv"
    )
    out["statistics"] = _write_csv(result.statistics_table(), out_dir / "fit_statistics.csv")
    out["plot"] = cal.plot_observed_vs_simulated(
        result, out_dir / "observed_vs_simulated.png", title=config.name
    )
    table = cal.updated_parameter_table(cat.table(config.parameters), result, against=against)
    out["parameter_table"] = cal.write_parameter_table(table, out_dir / "parameters_calibrated.csv")
    catalog_yaml = out_dir / "catalog_calibrated.yaml"
    catalog_raw = calibrated_catalog(
        config.catalog_file(), config.parameters, out["parameter_table"]
    )
    out["catalog"] = _write_text(
        yaml.safe_dump(catalog_raw, sort_keys=False, allow_unicode=True), catalog_yaml
    )
    run_raw = _run_config(config, result, catalog_yaml)
    if run_raw is not None:
        out["run_config"] = _write_text(
            yaml.safe_dump(run_raw, sort_keys=False, allow_unicode=True),
            out_dir / "run_calibrated.yaml",
        )
    out["summary"] = _write_text(_summary(config, result, against, seconds), out_dir / "summary.md")
    return out


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
        ``target, objective, parameters`` (name → value), ``ci`` (name → (low, high)),
        ``ci_method, statistics, seconds`` and ``outputs`` (name → path).
    """
    start = time.perf_counter()
    config = load_calibration_config(config_path)
    cat = load_catalog(config.catalog_file())
    problem, against = build_problem(cat, config)
    opt, conf = config.optimizer, config.confidence
    result = cal.fit(
        problem,
        config.objective,
        seed=opt.seed,
        global_search=opt.global_search,
        maxiter=opt.maxiter,
        popsize=opt.popsize,
        ci=conf.method,
        ci_level=conf.level,
        n_bootstrap=conf.n_bootstrap,
    )
    seconds = time.perf_counter() - start
    target_dir = Path(out_dir) if out_dir is not None else Path(config.output)
    outputs = write_report(config, cat, result, against, target_dir, seconds)
    names = list(problem.names)
    return {
        "target": config.target,
        "objective": config.objective,
        "parameters": {n: float(v) for n, v in zip(names, result.values, strict=True)},
        "ci": {
            n: (float(lo), float(hi))
            for n, lo, hi in zip(names, result.ci_low, result.ci_high, strict=True)
        },
        "ci_method": result.ci_method,
        "statistics": {k: float(v) for k, v in result.statistics.items()},
        "seconds": seconds,
        "outputs": outputs,
    }
