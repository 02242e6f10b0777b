"""The ``occupation:`` section of a run configuration, and the annuity factor."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gep.config import RunConfig, load_run_config
from gep.errors import InputError

#: Input rasters that the land cover does not drive but that change with it: replaced on
#: converted pixels by the built-up class median (``analogue: class_median``).
ANALOGUE_VARIABLES = ("evapotranspiration", "net_primary_production")

SECTION = "occupation"


class OccupationSettings(BaseModel):
    """The ``occupation:`` section of a run configuration (or command-line options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon_years: int = Field(ge=1, le=500)
    discount_rate: float = Field(ge=0.0, lt=1.0)
    year: int | None = None
    min_coverage: float = Field(default=0.5, gt=0.0, le=1.0)
    analogue: Literal["class_median", "keep"] = "class_median"
    reproject: bool = False


def annuity_factor(rate: float, years: int) -> float:
    """Present value of 1 paid at the end of each of ``years`` years: ``Σ (1 + r)^−t``.

    Parameters
    ----------
    rate : float
        Discount rate per year (0 ≤ r < 1).
    years : int
        Horizon in years.

    Returns
    -------
    float
        ``(1 − (1 + r)^−H) / r``, or ``H`` when ``r = 0``.

    Examples
    --------
    >>> round(annuity_factor(0.08, 20), 6), annuity_factor(0.0, 20)
    (9.818147, 20.0)
    """
    if rate == 0.0:
        return float(years)
    return float((1.0 - (1.0 + rate) ** (-years)) / rate)


def load_occupation_config(path: Path, **overrides: Any) -> tuple[RunConfig, OccupationSettings]:
    """Read a run configuration and its ``occupation:`` section (options override it).

    Parameters
    ----------
    path : pathlib.Path
        Run configuration YAML with an ``occupation:`` section.
    **overrides
        Settings given on the command line (``None`` values are ignored).

    Returns
    -------
    tuple
        The run configuration and the occupation settings.

    Raises
    ------
    InputError
        Missing file, invalid run configuration, or missing/invalid occupation settings.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"run configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    section = raw.pop(SECTION, None) or {}
    run = load_run_config(path)
    settings = {**section, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        occupation = OccupationSettings.model_validate(settings)
    except ValidationError as exc:
        lines = [f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InputError(
            f"{path}: occupation settings invalid (give them under `occupation:` or as options; "
            "horizon_years and discount_rate are policy inputs without default):\n"
            + "\n".join(lines)
        ) from exc
    return run, occupation
