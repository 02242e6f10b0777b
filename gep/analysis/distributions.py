"""Declared input distributions (normal, lognormal, uniform, triangular) and seeded sampling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator
from scipy import stats

from data_catalog.errors import InputError

__all__ = ["Distribution", "load_distributions", "sample_distributions"]


class Distribution(BaseModel):
    """A declared distribution of one parameter or price.

    ``normal`` (mean, sd; optional low/high truncation), ``lognormal`` (mean_log, sd_log of
    ln x), ``uniform`` (low, high), ``triangular`` (low, mode, high).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dist: Literal["normal", "lognormal", "uniform", "triangular"]
    mean: float | None = None
    sd: float | None = None
    mean_log: float | None = None
    sd_log: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        need = {
            "normal": ("mean", "sd"),
            "lognormal": ("mean_log", "sd_log"),
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
        }[self.dist]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"{self.dist} needs {list(need)}; missing {missing}")
        if self.dist in ("uniform", "triangular") and not self.low < self.high:  # type: ignore[operator]
            raise ValueError(f"{self.dist}: low must be < high")
        if self.dist == "triangular" and not self.low <= self.mode <= self.high:  # type: ignore[operator]
            raise ValueError("triangular: low <= mode <= high")
        if (self.sd is not None and self.sd <= 0) or (self.sd_log is not None and self.sd_log <= 0):
            raise ValueError("sd and sd_log must be > 0")
        return self

    @property
    def bounded(self) -> bool:
        """Whether the support is finite (uniform, triangular, normal truncated on both sides)."""
        return self.dist in ("uniform", "triangular") or (
            self.dist == "normal" and self.low is not None and self.high is not None
        )

    def frozen(self) -> Any:
        """The scipy.stats frozen distribution."""
        if self.dist == "uniform":
            return stats.uniform(self.low, self.high - self.low)  # type: ignore[operator]
        if self.dist == "triangular":
            width = self.high - self.low  # type: ignore[operator]
            return stats.triang((self.mode - self.low) / width, loc=self.low, scale=width)  # type: ignore[operator]
        if self.dist == "lognormal":
            return stats.lognorm(self.sd_log, scale=np.exp(self.mean_log))  # type: ignore[arg-type]
        if self.low is not None or self.high is not None:
            lo = -np.inf if self.low is None else (self.low - self.mean) / self.sd  # type: ignore[operator]
            hi = np.inf if self.high is None else (self.high - self.mean) / self.sd  # type: ignore[operator]
            return stats.truncnorm(lo, hi, loc=self.mean, scale=self.sd)
        return stats.norm(self.mean, self.sd)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Values at probabilities ``u`` (inverse CDF; open-ended tails clipped at 1e-6)."""
        q = np.asarray(u, dtype=np.float64)
        if not self.bounded:
            q = np.clip(q, 1e-6, 1 - 1e-6)
        return np.asarray(self.frozen().ppf(q), dtype=np.float64)


def load_distributions(mapping: Mapping[str, Mapping[str, Any]]) -> dict[str, Distribution]:
    """Distributions from a config mapping ``{name: {dist: .., ...}}``; all problems at once."""
    out, problems = {}, []
    for name, spec in mapping.items():
        try:
            out[str(name)] = Distribution.model_validate(dict(spec))
        except ValueError as exc:
            problems.append(f"  - {name}: {exc}".replace("\n", " "))
    if problems:
        raise InputError("invalid distributions:\n" + "\n".join(problems))
    return out


def sample_distributions(
    distributions: Mapping[str, Distribution], n: int, *, seed: int
) -> pd.DataFrame:
    """``n`` independent draws of every declared quantity (seeded), one column each."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({name: d.from_unit(rng.random(n)) for name, d in distributions.items()})
