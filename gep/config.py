"""Run configuration (YAML, validated with pydantic): what to compute on which catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_catalog.errors import InputError
from data_catalog.sample import catalog_path
from gep.i18n import Language
from gep.valuation import ValuationConfig

SAMPLE = "sample"


def pipeline_services() -> list[str]:
    """Services the pipeline can feed from a catalog.

    Every registered service whose spec names the catalog variables it reads and the
    quantities it accounts (:mod:`gep.services`).
    """
    from gep.services import SERVICES

    return [
        name
        for name, service in SERVICES.items()
        if service.spec.catalog_rasters and service.spec.accounted
    ]


class UnitLevelConfig(BaseModel):
    """One level of accounting units: a vector entry of the catalog."""

    model_config = ConfigDict(extra="forbid")

    entry: str
    level: str
    parent_id: str | None = Field(
        default=None, description="parent id for every unit of this level (top level)"
    )


class PriceSources(BaseModel):
    """Where prices and price indices come from: ``builtin`` or a CSV path (relative)."""

    model_config = ConfigDict(extra="forbid")

    unit_prices: str = "builtin"
    price_indices: str = "builtin"
    extra_unit_prices: list[str] = Field(
        default_factory=list,
        description="catalog table entries with more price rows (same columns as the unit "
        "prices), appended to the unit prices",
    )


def resolve_beside(config_path: Path | None, value: str) -> Path:
    """``value`` as a path: absolute as given, relative to the configuration file's folder.

    Examples
    --------
    >>> resolve_beside(Path("/data/run.yaml"), "catalog.yaml").as_posix()
    '/data/catalog.yaml'
    >>> resolve_beside(None, "catalog.yaml").as_posix()
    'catalog.yaml'
    """
    p = Path(value)
    if p.is_absolute() or config_path is None:
        return p
    return config_path.parent / p


class RunConfig(BaseModel):
    """A whole run: catalog, years, services and their parameters, valuation, units, output."""

    model_config = ConfigDict(extra="forbid")

    name: str
    catalog: str = SAMPLE
    years: list[int] = Field(min_length=1)
    parameters: str = Field(description="catalog table entry with ecosystem-type parameters")
    services: dict[str, dict[str, Any]]
    statistics: str | None = Field(
        default=None,
        description="catalog table entry of statistics per unit of the finest level "
        "(provisioning products, visits): unit_id, year, service, item, quantity, quantity_unit",
    )
    pollutant_loads: str | None = Field(
        default=None,
        description="catalog table entry of pollutant loads per unit of the finest level "
        "(unit_id, year, pollutant, load, load_unit): caps air and water purification",
    )
    units: list[UnitLevelConfig] = Field(min_length=1)
    valuation: ValuationConfig
    prices: PriceSources = PriceSources()
    output: str = "gep-output"
    linkage: str | None = None
    occupation: dict[str, Any] | None = Field(
        default=None, description="settings of `gep occupation` (horizon_years, discount_rate, ...)"
    )
    synthetic_note: bool = True
    language: Language = Field(
        default="en",
        description="language of the report, bulletins, maps and XLSX headings: en or zh "
        "(amounts in 万元/亿元 in Chinese; CSV and XLSX values stay exact yuan)",
    )
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _known_services(self) -> RunConfig:
        known = pipeline_services()
        unknown = sorted(set(self.services) - set(known))
        if unknown:
            raise ValueError(f"unknown services {unknown}; choose from {known}")
        capped = {"air_purification", "water_purification"} & set(self.services)
        if capped and self.pollutant_loads is None:
            raise ValueError(
                f"{sorted(capped)} need `pollutant_loads:` (a catalog table of the loads emitted "
                "per unit): purification is capped by the actual loads"
            )
        if self.valuation.base_year not in self.years and not self.years:
            raise ValueError("years must not be empty")
        return self

    def catalog_file(self) -> Path:
        """The catalog's path (``sample`` means the embedded sample region)."""
        if self.catalog == SAMPLE:
            return catalog_path()
        return self._resolve(self.catalog)

    def _resolve(self, value: str) -> Path:
        return resolve_beside(self.path, value)

    def price_file(self, which: Literal["unit_prices", "price_indices"]) -> Path | None:
        """Path of a price CSV, or None for the built-in table."""
        value = getattr(self.prices, which)
        return None if value == "builtin" else self._resolve(value)

    def resolve_output(self) -> Path:
        """The output folder named in the configuration (relative to the working directory)."""
        return Path(self.output)

    def linkage_file(self) -> Path | None:
        """Path of the linkage policy configuration, if any."""
        return None if self.linkage is None else self._resolve(self.linkage)


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a run configuration; every problem in one error message."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"run configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InputError(f"{path}: invalid run configuration:\n" + "\n".join(lines)) from exc
    return config.model_copy(update={"path": path.resolve()})


def demo_config_path() -> Path:
    """The shipped configuration of the demo on the sample region."""
    return Path(__file__).resolve().parent / "configs" / "demo.yaml"
