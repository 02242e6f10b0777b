"""Uncertainty: Monte Carlo over parameter and price distributions, GEP and allocation intervals.

The expensive part of GEP (reading rasters, routing, reclassifying, intersecting units with the
grid) does not depend on most parameters. :func:`build_gep_model` runs the services once and
keeps, per unit, the terms a sample needs:

* prices — a component's value is ``quantity × factor × price``: a price sample costs one
  multiplication per unit, nothing per pixel;
* water-balance runoff coefficients ``runoff_coefficient:<type>`` — water conserved is
  ``Σ (P − αP − ET)·A``, linear in α: per unit ``Q(α) = Q(α₀) − Σ_t (α_t − α₀_t)·Σ_{i∈t} P_i·A_i``;
* the NEP ratio ``nep_npp_ratio`` — ``Q ∝ α``;
* cover factors ``usle_c:<type>`` — soil retention ``RKLS·(1 − C·P)`` is linear in C;
* the water-yield seasonality ``seasonality`` — the Budyko curve re-evaluated on vegetated
  pixels from pre-computed ``φ`` and ``AWC/P`` (:func:`gep.calibration.fu_zhang_yield`).

Distributions are declared as ``{name: {dist: normal, mean: .., sd: ..}}`` (normal, lognormal,
uniform, triangular; :mod:`gep.analysis.distributions`). Sampling is seeded. Allocations
recomputed per sample are in :mod:`gep.analysis.allocation`.

Inputs that are maps rather than numbers are sampled as *perturbations* that add a change to
the quantities of each sample: multiplicative error fields of precipitation and ET₀ / ET
(:mod:`gep.analysis.input_errors`) and land-cover misclassification from a confusion matrix
(:mod:`gep.analysis.confusion`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_catalog.catalog import load_catalog
from data_catalog.errors import InputError
from gep.accounts import UnitLevel
from gep.analysis.allocation import Allocate, gep_share_allocation, policy_allocation
from gep.analysis.distributions import Distribution, load_distributions, sample_distributions
from gep.config import RunConfig
from gep.pipeline import load_prices, unit_levels
from gep.prices import price_for_year
from gep.uncertainty.terms import ComponentTerm, QuantityTerm, _quantity_term
from gep.valuation import value_quantities

__all__ = [
    "Allocate",
    "ComponentTerm",
    "Distribution",
    "GEPModel",
    "MonteCarloResult",
    "QuantityTerm",
    "build_gep_model",
    "gep_share_allocation",
    "load_distributions",
    "monte_carlo",
    "policy_allocation",
    "sample_distributions",
]


# --------------------------------------------------------------------------------------------
# The GEP model: per-unit terms computed once
# --------------------------------------------------------------------------------------------


@dataclass
class GEPModel:
    """GEP per unit (constant prices) as a cheap function of parameters and prices."""

    units: pd.DataFrame
    year: int
    components: list[ComponentTerm]
    #: objects with ``sample(n, *, seed) → {quantity: (n, units) change}`` (input error fields,
    #: land-cover misclassification), added to the quantities of a Monte Carlo sample
    perturbations: list[Any] = field(default_factory=list)

    @property
    def parameters(self) -> list[str]:
        """Every parameter or price (``price:<item>``) the model can vary."""
        names = {p for c in self.components for p in c.quantity.parameters}
        names |= {f"price:{c.price_item}" for c in self.components}
        return sorted(names)

    def check(self, names: Iterable[str]) -> None:
        """Refuse names the model cannot vary (before any sampling)."""
        unknown = sorted(set(names) - set(self.parameters))
        if unknown:
            raise InputError(
                f"uncertainty: the model cannot vary {unknown}; it knows {self.parameters} "
                "(build it with these parameters: build_gep_model(..., parameters=[...]))"
            )

    def component_values(
        self, samples: pd.DataFrame, deltas: Mapping[str, np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """Value in CNY (constant prices) per component, sample and unit.

        ``deltas`` adds a change per sample and unit to named quantities (perturbations).
        """
        out = {}
        deltas = deltas or {}
        n = len(samples)
        for c in self.components:
            price_name = f"price:{c.price_item}"
            ratio = (
                samples[price_name].to_numpy(dtype=np.float64) / c.nominal_price
                if price_name in samples.columns
                else np.ones(n)
            )
            quantity = c.quantity.evaluate(samples)
            if c.quantity.name in deltas:
                quantity = quantity + deltas[c.quantity.name]
            out[c.key] = quantity * c.value_per_quantity * ratio[:, None]
        return out

    def evaluate(
        self, samples: pd.DataFrame, deltas: Mapping[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """GEP in CNY (constant prices) per sample and unit, shape ``(n_samples, n_units)``."""
        self.check(samples.columns)
        return np.sum(list(self.component_values(samples, deltas).values()), axis=0)

    def sample_perturbations(self, n: int, *, seed: int) -> dict[str, np.ndarray]:
        """Sum of the perturbations' changes per quantity, ``(n, units)`` each (seeded)."""
        total: dict[str, np.ndarray] = {}
        for k, perturbation in enumerate(self.perturbations):
            for name, delta in perturbation.sample(n, seed=seed + k).items():
                total[name] = total.get(name, 0.0) + delta
        return total

    def baseline(self) -> np.ndarray:
        """GEP per unit at the configured parameters and prices (CNY)."""
        return self.evaluate(pd.DataFrame(index=[0]))[0]


def build_gep_model(
    config: RunConfig,
    *,
    level: str = "district",
    year: int | None = None,
    parameters: Iterable[str] = (),
    input_errors: Mapping[str, Any] | None = None,
    confusion: Any | None = None,
) -> GEPModel:
    """Run the configured services once and keep what samples of ``parameters`` need.

    Parameters
    ----------
    config : RunConfig
        A run configuration (catalog, services, valuation).
    level : str
        Unit level (from ``config.units``).
    year : int, optional
        Accounting year (default: the last of ``config.years``).
    parameters : iterable of str
        Model parameters that will be sampled: ``runoff_coefficient:<type>``,
        ``nep_npp_ratio``, ``usle_c:<type>``, ``seasonality`` (prices ``price:<item>`` are
        always available).
    input_errors : mapping, optional
        Variable → :class:`gep.analysis.input_errors.FieldError` (precipitation,
        reference_evapotranspiration, evapotranspiration).
    confusion : gep.analysis.confusion.ConfusionMatrix, optional
        Land-cover misclassification to sample.

    Returns
    -------
    GEPModel
    """
    year = int(year if year is not None else config.years[-1])
    names = list(parameters)
    cat = load_catalog(config.catalog_file())
    levels = {lv.level: lv for lv in unit_levels(cat, config)}
    if level not in levels:
        raise InputError(f"uncertainty: no unit level '{level}'; the config has {sorted(levels)}")
    unit = levels[level]
    datasets: dict[str, Any] = {}
    quantities: dict[str, QuantityTerm] = {}
    for comp in config.valuation.enabled():
        if comp.quantity not in quantities:
            quantities[comp.quantity] = _quantity_term(
                cat, config, unit, year, comp.quantity, names, datasets
            )
    model = GEPModel(
        unit.units[["unit_id", "unit_name"]].copy(),
        year,
        _components(config, quantities, unit, year),
    )
    if input_errors:
        from gep.analysis.input_errors import build_input_errors

        wy = config.services.get("water_yield") or {}
        model.perturbations.append(
            build_input_errors(
                cat,
                unit,
                year,
                cat.table(config.parameters),
                input_errors,
                quantities=list(quantities),
                seasonality=wy.get("seasonality"),
            )
        )
    if confusion is not None:
        from gep.analysis.confusion import build_misclassification

        model.perturbations.append(
            build_misclassification(cat, config, unit, year, confusion, list(quantities))
        )
    return model


def _components(
    config: RunConfig, quantities: dict[str, QuantityTerm], level: UnitLevel, year: int
) -> list[ComponentTerm]:
    prices, indices = load_prices(config)
    table = pd.DataFrame(
        [
            {
                "unit_id": "_",
                "year": year,
                "quantity_name": n,
                "quantity": 1.0,
                "quantity_unit": q.unit,
            }
            for n, q in quantities.items()
        ]
    )
    valued = value_quantities(table, config.valuation, prices, indices)
    out = []
    for comp, (_, row) in zip(config.valuation.enabled(), valued.iterrows(), strict=True):
        observed_year = int(row["price_year"])
        observed = price_for_year(
            prices,
            indices,
            comp.price_item,
            observed_year,
            base_year=observed_year,
            deflator=comp.deflator,
            price_year=observed_year,
        )
        out.append(
            ComponentTerm(
                key=f"{comp.service}/{comp.component}",
                price_item=comp.price_item,
                nominal_price=observed.current_cny,
                value_per_quantity=float(row["value_constant_cny"]),  # quantity 1 × factor × price
                quantity=quantities[comp.quantity],
            )
        )
    del level
    return out


# --------------------------------------------------------------------------------------------
# Allocation and Monte Carlo
# --------------------------------------------------------------------------------------------


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each unit per sample (1 = largest)."""
    order = np.argsort(-values, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(values.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, values.shape[1] + 1)[None, :]
    return ranks


@dataclass
class MonteCarloResult:
    """Samples and the GEP (and allocation) per sample and unit."""

    units: pd.DataFrame
    samples: pd.DataFrame
    gep: np.ndarray
    baseline: np.ndarray
    allocation: np.ndarray | None = None
    baseline_allocation: np.ndarray | None = None

    def intervals(self, percentiles: tuple[float, ...] = (5.0, 50.0, 95.0)) -> pd.DataFrame:
        """Per unit: baseline, mean and percentiles of GEP (and of the allocation), CNY."""
        table = self.units.reset_index(drop=True).copy()
        table["gep_baseline_cny"] = self.baseline
        table["gep_mean_cny"] = self.gep.mean(axis=0)
        for q, values in zip(
            percentiles, np.percentile(self.gep, percentiles, axis=0), strict=True
        ):
            table[f"gep_p{q:g}_cny"] = values
        if self.allocation is not None:
            table["allocation_baseline_cny"] = self.baseline_allocation
            table["allocation_mean_cny"] = self.allocation.mean(axis=0)
            pct = np.percentile(self.allocation, percentiles, axis=0)
            for q, values in zip(percentiles, pct, strict=True):
                table[f"allocation_p{q:g}_cny"] = values
        return table

    def rank_changes(self) -> pd.DataFrame:
        """How often each unit's GEP rank differs from its baseline rank, and the rank range."""
        ranks = _ranks(self.gep)
        base = _ranks(self.baseline[None, :])[0]
        table = self.units.reset_index(drop=True).copy()
        table["rank_baseline"] = base
        table["rank_change_frequency"] = (ranks != base[None, :]).mean(axis=0)
        table["rank_p5"] = np.percentile(ranks, 5, axis=0)
        table["rank_p95"] = np.percentile(ranks, 95, axis=0)
        return table


def monte_carlo(
    model: GEPModel,
    distributions: Mapping[str, Distribution],
    n: int,
    *,
    seed: int,
    allocate: Allocate | None = None,
    joint: pd.DataFrame | None = None,
) -> MonteCarloResult:
    """Monte Carlo of GEP per unit (and of an allocation) over declared distributions.

    ``joint`` adds columns drawn together (e.g. rows of a calibration's posterior run file,
    so that fitted parameters keep their correlation); it has ``n`` rows and names no
    parameter that ``distributions`` also declares.

    Parameters
    ----------
    model : GEPModel
        From :func:`build_gep_model` (per-pixel work done once).
    distributions : mapping
        Name → :class:`Distribution` (names from ``model.parameters``).
    n : int
        Number of samples.
    seed : int
        Seed of the sampler.
    allocate : callable, optional
        GEP matrix ``(n, units)`` → allocation matrix (e.g. :func:`gep_share_allocation`).
    joint : DataFrame, optional
        Columns sampled jointly, one row per sample (see above).

    Returns
    -------
    MonteCarloResult
    """
    model.check(distributions)
    samples = sample_distributions(distributions, n, seed=seed)
    if samples.empty:  # only joint draws or perturbations: n rows without columns
        samples = pd.DataFrame(index=range(n))
    if joint is not None:
        model.check(joint.columns)
        both = sorted(set(joint.columns) & set(distributions))
        if both or len(joint) != n:
            raise InputError(
                f"uncertainty: joint samples must have {n} rows (got {len(joint)}) and must not "
                f"repeat declared distributions (both: {both})"
            )
        samples = pd.concat([samples, joint.reset_index(drop=True)], axis=1)
    deltas = model.sample_perturbations(n, seed=seed + 2) if model.perturbations else None
    gep = model.evaluate(samples, deltas)
    baseline = model.baseline()
    result = MonteCarloResult(model.units, samples, gep, baseline)
    if allocate is not None:
        result.allocation = allocate(gep)
        result.baseline_allocation = allocate(baseline[None, :])[0]
    return result
