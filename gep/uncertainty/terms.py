"""Per-unit terms of the GEP model: what a parameter sample changes, computed once.

A :class:`QuantityTerm` holds a quantity per unit and its response to the sampled parameters
(linear slopes per ecosystem type, or a per-pixel re-evaluation for the Budyko curve); the
``_PRODUCER`` table says which service makes each quantity. Built by
:func:`gep.uncertainty.build_gep_model`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from data_catalog.errors import InputError
from gep import units
from gep.accounts import UnitLevel, zonal_sum
from gep.calibration import (
    WaterYieldPixels,
    catchments_from_level,
    fu_zhang_yield,
    water_yield_inputs,
)
from gep.config import RunConfig
from gep.pipeline import class_table, run_service


@dataclass
class QuantityTerm:
    """A physical quantity per unit as a function of parameters.

    ``Q(θ) = baseline + Σ_j (θ_j − reference_j)·slopes_j`` for the linear parameters, plus an
    optional non-linear part (``nonlinear(samples) → (n, units)`` replacing the baseline).
    """

    name: str
    unit: str
    baseline: np.ndarray
    slopes: dict[str, np.ndarray] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)
    nonlinear: Callable[[pd.DataFrame], np.ndarray] | None = None
    nonlinear_parameters: tuple[str, ...] = ()

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names this quantity depends on."""
        return (*self.slopes, *self.nonlinear_parameters)

    def evaluate(self, samples: pd.DataFrame) -> np.ndarray:
        """Quantity per sample and unit, shape ``(n_samples, n_units)``."""
        n = len(samples)
        use_nonlinear = self.nonlinear is not None and any(
            p in samples.columns for p in self.nonlinear_parameters
        )
        base = self.nonlinear(samples) if use_nonlinear else np.tile(self.baseline, (n, 1))  # type: ignore[misc]
        for name, slope in self.slopes.items():
            if name in samples.columns:
                shift = samples[name].to_numpy(dtype=np.float64) - self.reference[name]
                base = base + shift[:, None] * slope[None, :]
        return base


@dataclass
class ComponentTerm:
    """A valued component: ``value = quantity × factor × price`` at constant prices."""

    key: str
    price_item: str
    nominal_price: float  # the observed price in its price year (the unit a price sample is in)
    value_per_quantity: float  # factor × constant price, CNY per quantity unit
    quantity: QuantityTerm


def _type_sums(
    cat: Catalog, level: UnitLevel, year: int, values: np.ndarray, types: Iterable[str]
) -> dict[str, np.ndarray]:
    """``Σ_{i∈t} W[u, i]·v_i`` per ecosystem type t (land cover of ``year``)."""
    from gep.calibration import ecosystem_type_of_codes, landcover_arrays

    lc_id, codes, valid = landcover_arrays(cat, year)
    eco = ecosystem_type_of_codes(cat, lc_id).reindex(codes.ravel()).to_numpy(dtype=object)
    out = {}
    for t in types:
        mask = valid.ravel() & (eco == t) & np.isfinite(values.ravel())
        out[t] = zonal_sum(level, np.where(mask, values.ravel(), 0.0))[0]
    return out


def _class_parameter(cat: Catalog, year: int, params: pd.DataFrame, parameter: str) -> pd.Series:
    lc_id = cat.find(variable="landcover", year=year)
    from gep.calibration import ecosystem_type_of_codes

    table = class_table(cat, lc_id, params, {parameter: parameter})[parameter]
    eco = ecosystem_type_of_codes(cat, lc_id)
    return table.groupby(eco.reindex(table.index).to_numpy()).first()


def _by_type(names: Iterable[str], prefix: str) -> list[str]:
    return [n.split(":", 1)[1] for n in names if n.startswith(prefix + ":")]


def _water_conserved_slopes(
    cat: Catalog, level: UnitLevel, year: int, params: pd.DataFrame, names: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    types = _by_type(names, "runoff_coefficient")
    coef = _class_parameter(cat, year, params, "runoff_coefficient")
    bad = [t for t in types if not np.isfinite(coef.get(t, np.nan))]
    if bad:
        raise InputError(
            f"runoff_coefficient of {bad} is blank (outside the water-balance method): it cannot "
            "be varied; give it a value in the parameter table first"
        )
    grid = cat.reference_grid()
    precip = np.asarray(cat.raster(cat.find(variable="precipitation", year=year)).values)
    volume_per_alpha = precip * np.broadcast_to(grid.cell_area_m2(), grid.shape) * units.MM_TO_M
    sums = _type_sums(cat, level, year, volume_per_alpha, types)
    # ∂Q/∂α_t = −Σ_{i∈t} P_i·A_i·0.001 (m³ per unit of α)
    slopes = {f"runoff_coefficient:{t}": -sums[t] for t in types}
    return slopes, {f"runoff_coefficient:{t}": float(coef[t]) for t in types}


def _soil_retention_slopes(
    cat: Catalog,
    level: UnitLevel,
    year: int,
    params: pd.DataFrame,
    names: list[str],
    rkls: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    types = _by_type(names, "usle_c")
    c = _class_parameter(cat, year, params, "usle_c")
    p = _class_parameter(cat, year, params, "usle_p")
    sums = _type_sums(cat, level, year, rkls, types)
    # retention RKLS·(1 − C·P): ∂Q/∂C_t = −P_t·Σ_{i∈t} RKLS_i (t yr-1 per unit of C)
    slopes = {f"usle_c:{t}": -float(p[t]) * sums[t] for t in types}
    return slopes, {f"usle_c:{t}": float(c[t]) for t in types}


def _water_yield_nonlinear(
    cat: Catalog, level: UnitLevel, year: int, params: pd.DataFrame
) -> Callable[[pd.DataFrame], np.ndarray]:
    catchments = catchments_from_level(level, cat.reference_grid())
    full = water_yield_inputs(cat, params, year)
    parts = [
        WaterYieldPixels.build([a[idx] for a in full], area)
        for idx, area in zip(catchments.pixels, catchments.area_m2, strict=True)
    ]

    def evaluate(samples: pd.DataFrame) -> np.ndarray:
        z = samples["seasonality"].to_numpy(dtype=np.float64)
        out = np.empty((z.size, len(parts)))
        for j, q in enumerate(parts):  # a loop over units, vectorised over pixels
            for s, zs in enumerate(z):
                y = fu_zhang_yield(q.phi, q.awc_over_p, q.precipitation, zs)
                out[s, j] = (float(np.dot(q.area_m2, y)) + q.fixed_volume) * units.MM_TO_M
        return out

    return evaluate


#: service that produces each accounted quantity
_PRODUCER = {
    "water_conserved": "water_conservation",
    "water_yield": "water_yield",
    "co2_sequestration": "carbon_nep",
    "soil_retention": "soil_retention",
}


def _quantity_term(
    cat: Catalog,
    config: RunConfig,
    level: UnitLevel,
    year: int,
    name: str,
    names: list[str],
    datasets: dict[str, Any],
) -> QuantityTerm:
    params = cat.table(config.parameters)
    service = _PRODUCER.get(name)
    if service is None or service not in config.services:
        raise InputError(f"uncertainty: quantity '{name}' is not produced by a configured service")
    if service not in datasets:
        datasets[service] = run_service(cat, config, params, service, year)
    ds = datasets[service]
    da = ds[name]
    term = QuantityTerm(name, str(da.attrs.get("units", "")), zonal_sum(level, da.values)[0])
    if name == "water_conserved":
        term.slopes, term.reference = _water_conserved_slopes(cat, level, year, params, names)
    elif name == "co2_sequestration" and "nep_npp_ratio" in names:
        ratio = float(config.services["carbon_nep"]["nep_npp_ratio"])
        term.slopes, term.reference = (
            {"nep_npp_ratio": term.baseline / ratio},
            {"nep_npp_ratio": ratio},
        )
    elif name == "soil_retention":
        rkls = np.asarray(ds["soil_loss_potential"].values)
        term.slopes, term.reference = _soil_retention_slopes(cat, level, year, params, names, rkls)
    elif name == "water_yield" and "seasonality" in names:
        from gep.pipeline.inputs import has_layer

        if has_layer(cat, "seasonality"):
            raise InputError(
                "uncertainty: the catalog has per-basin Z (variable seasonality, written by gep "
                "calibrate), so the region's seasonality applies only outside the fitted basins;"
                " sampling it is not supported there: draw the fitted Z from posterior_runs "
                "of a region-wide fit, or analyse the base catalog"
            )
        term.nonlinear = _water_yield_nonlinear(cat, level, year, params)
        term.nonlinear_parameters = ("seasonality",)
    return term
