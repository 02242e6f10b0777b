"""Configuration of ``gep sensitivity`` and ``gep uncertainty``: schema and checks, first.

One file serves both commands (see ``gep/configs/analysis_sample.yaml``): the run
configuration whose GEP is analysed, the unit level and year, the quantities kept, the input
distributions, and the settings of each method.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data_catalog.errors import InputError
from gep.analysis.distributions import load_distributions
from gep.analysis.input_errors import ERROR_VARIABLES, FieldError
from gep.config import demo_config_path, resolve_beside

__all__ = ["PARAMETER_FORMS", "AnalysisConfig", "load_analysis_config"]

#: the names a distribution may have (``<type>``: an ecosystem type; ``<item>``: a price item)
PARAMETER_FORMS = (
    "price:<item>",
    "runoff_coefficient:<type>",
    "usle_c:<type>",
    "nep_npp_ratio",
    "seasonality",
)


class SobolSettings(BaseModel):
    """Sobol settings (Saltelli scheme)."""

    model_config = ConfigDict(extra="forbid")

    n_base: int = Field(default=512, ge=2)
    second_order: bool = False
    num_resamples: int = Field(default=100, ge=10)
    conf_level: float = Field(default=0.95, gt=0, lt=1)


class MorrisSettings(BaseModel):
    """Morris settings (bounded ranges)."""

    model_config = ConfigDict(extra="forbid")

    trajectories: int = Field(default=20, ge=2)
    num_levels: int = Field(default=4, ge=2)
    tail: float = Field(default=0.025, gt=0, lt=0.5)


class ConfusionSettings(BaseModel):
    """Land-cover misclassification (``gep uncertainty``; :mod:`gep.analysis.confusion`)."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(description="CSV: column mapped + one column per reference class code")
    kind: Literal["counts", "proportions"] = "counts"


class AnalysisConfig(BaseModel):
    """What to analyse and how (both commands)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    run_config: str = Field(default="demo", description="run configuration: demo or a path")
    level: str = "district"
    year: int | None = None
    quantities: list[str] | None = Field(
        default=None, description="valued quantities kept (default: every one the model varies)"
    )
    distributions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    posterior_runs: str | None = Field(
        default=None, description="posterior_runs.csv of gep calibrate: parameters drawn jointly"
    )
    input_errors: dict[str, FieldError] = Field(
        default_factory=dict,
        description="uncertainty: multiplicative error fields of climate rasters "
        "(precipitation, reference_evapotranspiration, evapotranspiration)",
    )
    landcover_confusion: ConfusionSettings | None = Field(
        default=None, description="uncertainty: land-cover misclassification (confusion matrix)"
    )
    allocation_budget_cny: float | None = Field(default=None, gt=0)
    seed: int = 0
    n_samples: int = Field(default=5000, ge=10, description="uncertainty: Monte Carlo samples")
    percentiles: list[float] = Field(default_factory=lambda: [5.0, 50.0, 95.0])
    method: Literal["sobol", "morris"] = "sobol"
    output: Literal["total", "units", "allocation"] = "total"
    sobol: SobolSettings = SobolSettings()
    morris: MorrisSettings = MorrisSettings()
    output_dir: str = "gep-analysis-output"
    path: Path | None = Field(default=None, exclude=True)

    def resolve(self, value: str) -> Path:
        """A path relative to the configuration file."""
        return resolve_beside(self.path, value)

    def run_config_file(self) -> Path:
        """The run configuration analysed."""
        return demo_config_path() if self.run_config == "demo" else self.resolve(self.run_config)


def _check_names(config: AnalysisConfig, path: Path) -> None:
    """Refuse distribution names of no known form and inconsistent settings."""
    bad = []
    for name in config.distributions:
        prefix = name.split(":", 1)[0]
        if ":" in name and prefix in ("price", "runoff_coefficient", "usle_c"):
            continue
        if name in ("nep_npp_ratio", "seasonality"):
            continue
        bad.append(name)
    if bad:
        raise InputError(
            f"{path}: distributions {bad} are not parameters gep can vary; use one of "
            f"{list(PARAMETER_FORMS)}"
        )
    unknown = sorted(set(config.input_errors) - set(ERROR_VARIABLES))
    if unknown:
        raise InputError(
            f"{path}: input_errors {unknown} have no error model; choose from "
            f"{sorted(ERROR_VARIABLES)}"
        )
    perturbed = bool(config.input_errors) or config.landcover_confusion is not None
    if not config.distributions and config.posterior_runs is None and not perturbed:
        raise InputError(
            f"{path}: declare distributions (or posterior_runs, input_errors, "
            "landcover_confusion) to analyse"
        )
    if config.output == "allocation" and config.allocation_budget_cny is None:
        raise InputError(f"{path}: output 'allocation' needs allocation_budget_cny")
    if config.sobol.n_base & (config.sobol.n_base - 1):
        raise InputError(f"{path}: sobol.n_base must be a power of 2, got {config.sobol.n_base}")
    if not config.run_config_file().exists():
        raise InputError(f"{path}: run_config {config.run_config_file()} not found")


def load_analysis_config(path: str | Path) -> AnalysisConfig:
    """Read and check an analysis configuration (every schema problem in one message)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"analysis configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = AnalysisConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    except ValidationError as exc:
        lines = [f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InputError(f"{path}: invalid analysis config:\n" + "\n".join(lines)) from exc
    config = config.model_copy(update={"path": path.resolve()})
    _check_names(config, path)
    load_distributions(config.distributions)  # every distribution problem at once
    return config
