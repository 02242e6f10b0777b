"""The calibration configuration (``gep calibrate CONFIG``): schema and loading, checked first.

Every problem is reported before any raster is read: unknown keys, a wrong unit, bound keys
the target does not have (a misspelt ``seasonalty:`` would otherwise fall back to defaults),
bounds outside a parameter's domain (negative Z), calibration and validation years that
overlap, an evaluate-only run without parameter values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data_catalog.sample import catalog_path
from gep import units
from gep.calibration.bounds import check_bound_keys, check_bounds
from gep.calibration.errors import CalibrationError
from gep.calibration.gates import DEFAULT_MIN_COVERAGE
from gep.config import resolve_beside

__all__ = ["TARGET_UNITS", "CalibrationConfig", "load_calibration_config"]

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
    n_bootstrap: int = Field(default=100, ge=10)
    n_starts: int = Field(default=3, ge=1, description="start points of each bootstrap re-fit")


class ErrorModelConfig(BaseModel):
    """How residuals are weighed, and whether years are averaged before fitting."""

    model_config = ConfigDict(extra="forbid")

    weights: Literal["uniform", "relative", "per_gauge"] = Field(
        default="uniform",
        description="uniform; relative (1/observed: errors ∝ value); per_gauge (1/√n_g: each "
        "gauge counts alike)",
    )
    multi_year_mean: bool = Field(
        default=False, description="fit the mean over the years of each gauge (long-term model)"
    )


class Posterior(BaseModel):
    """Posterior sampling (emcee) after the fit."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    n_chains: int = Field(default=4, ge=1)
    n_steps: int = Field(default=600, ge=10)
    burn_in: float = Field(default=0.5, ge=0, lt=1)
    error_model: Literal["gaussian", "relative", "per_gauge"] = "gaussian"


class CalibrationConfig(BaseModel):
    """A calibration: catalog, target, observations, bounds, objective, validation, output."""

    model_config = ConfigDict(extra="forbid")

    name: str
    catalog: str = "sample"
    parameters: str = "parameters"
    target: Target
    observations: Observations
    years: list[int] | None = Field(default=None, description="years read (all when omitted)")
    calibration_years: list[int] | None = None
    validation_years: list[int] | None = None
    validation_gauges: list[str] | None = None
    leave_one_gauge_out: bool = False
    mode: Literal["fit", "evaluate"] = "fit"
    parameter_values: dict[str, float] | None = Field(
        default=None, description="evaluate mode: the values to evaluate, by parameter name"
    )
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    objective: Literal["nse", "kge", "log_nse", "rmse", "pbias"] = "nse"
    per_basin: bool = False
    ecosystem_types: list[str] | None = None
    model: dict[str, Any] = Field(default_factory=dict, description="SDR routing options")
    c_ndvi_form: Literal["van_der_knijff", "cai"] = "van_der_knijff"
    optimizer: Optimizer = Optimizer()
    confidence: Confidence = Confidence()
    error_model: ErrorModelConfig = ErrorModelConfig()
    posterior: Posterior = Posterior()
    min_coverage: float = Field(default=DEFAULT_MIN_COVERAGE, ge=0, le=1)
    force: bool = Field(default=False, description="write the parameters back even if a gate fails")
    base_run_config: str | None = Field(
        default="demo", description="run config to write run_calibrated.yaml from (demo or path)"
    )
    output: str = "calibration-output"
    path: Path | None = Field(default=None, exclude=True)

    def resolve(self, value: str) -> Path:
        """A path relative to the configuration file."""
        return resolve_beside(self.path, value)

    def catalog_file(self) -> Path:
        """The catalog's path (``sample`` = the embedded sample region)."""
        return catalog_path() if self.catalog == "sample" else self.resolve(self.catalog)

    def years_read(self) -> list[int] | None:
        """Every year the run needs (calibration and validation), or None for all."""
        if self.years is None and self.calibration_years is None:
            return None
        wanted = set(self.years or []) | set(self.calibration_years or [])
        return sorted(wanted | set(self.validation_years or []))


def _check_consistency(config: CalibrationConfig, path: Path) -> None:
    """Cross-field checks (unit, bound keys and domains, splits, evaluate mode)."""
    expected = TARGET_UNITS[config.target]
    if config.observations.value_unit != expected:
        raise CalibrationError(
            f"{path}: observations.value_unit is '{config.observations.value_unit}' but target "
            f"'{config.target}' compares values in '{expected}'; convert the observations "
            f"(runoff volume → depth: mm = m3 / catchment area m2 × 1000) and declare '{expected}'"
        )
    check_bound_keys(config.target, list(config.bounds), where=f"{path}: bounds")
    for name, pair in config.bounds.items():
        check_bounds(name, pair, where=f"{path}: bounds")
    overlap = set(config.calibration_years or []) & set(config.validation_years or [])
    if overlap:
        raise CalibrationError(
            f"{path}: years {sorted(overlap)} are both calibration_years and validation_years; "
            "a validation year must not be fitted"
        )
    if config.leave_one_gauge_out and config.per_basin:
        raise CalibrationError(
            f"{path}: leave_one_gauge_out needs parameters shared by the gauges; with "
            "per_basin: true the left-out gauge's Z has no observation. Use one or the other"
        )
    if config.mode == "evaluate" and not config.parameter_values:
        raise CalibrationError(
            f"{path}: mode 'evaluate' needs parameter_values (e.g. {{seasonality: 7.3}})"
        )


def load_calibration_config(path: str | Path) -> CalibrationConfig:
    """Read and validate a calibration configuration (every schema problem in one message)."""
    path = Path(path)
    if not path.exists():
        raise CalibrationError(f"calibration configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = CalibrationConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{path}: not valid YAML ({exc})") from exc
    except ValidationError as exc:
        lines = [f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise CalibrationError(f"{path}: invalid calibration config:\n" + "\n".join(lines)) from exc
    _check_consistency(config, path)
    return config.model_copy(update={"path": path.resolve()})
