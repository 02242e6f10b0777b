"""Input error fields (precipitation, ET₀, ET) for ``gep uncertainty``: their effect per unit.

Error model
-----------
A climate raster ``X`` (precipitation, reference or actual evapotranspiration) is read with a
**multiplicative, mean-one, lognormal** error, ``X' = m·X`` with
``m = exp(s·z − s²/2)``, ``s² = ln(1 + cv²)``, so that ``E[m] = 1`` and ``sd(m) = cv``; ``z`` is
a standard normal field. Multiplicative errors fit gridded precipitation better than additive
ones (Tian et al. 2013) and keep ``X' ≥ 0``. How ``z`` varies in space (``spatial``):

* ``region`` — one ``z`` for the whole region (a bias of the product: fully correlated);
* ``unit`` — one independent ``z`` per unit of the level analysed (each pixel takes the unit
  covering most of it);
* ``field`` — a Gaussian random field with exponential correlation ``ρ(d) = exp(−d/L)``
  (``correlation_length_km`` L), approximated by square blocks of ``block_km`` (default L/2)
  with one ``z`` each, the block values drawn jointly (Cholesky of the block correlation).

Typical magnitudes (give your own from a comparison with gauges or another product): annual
precipitation of gridded products differs from gauges by about 10–20 % in mountains and
sparsely gauged regions (Sun et al. 2018; ``cv: 0.1``–``0.2``); Hargreaves-type ET₀ differs from
FAO Penman–Monteith by about 10–15 % annually where the wind and humidity terms matter
(Droogers & Allen 2002; ``cv: 0.1``). Hamel & Guswa (2015) find P and ET₀ errors the dominant
uncertainty of the annual water yield model.

Propagation
-----------
Water conserved ``Q = Σ (P(1 − α) − ET)·A`` is linear in the multipliers:
``ΔQ_u = Σ_b (m_b − 1)·S_ub`` with ``S_ub = Σ_{i∈b} W_ui·P_i(1 − α_i)·A_i`` (``−ET_i·A_i`` for
an ET error), summed once; a sample costs one product per unit. Water yield is recomputed per
pixel with the Budyko kernel (:func:`gep.kernels.water.annual_water_yield_zmap`: the run's Z, or
Z per basin) on the perturbed P and ET₀, against the same kernel unperturbed, so a zero error
gives exactly zero change. The changes are added to the quantities of the parameter samples;
interactions with sampled parameters (e.g. an α sample and a P error together) are neglected
(second order).

References
----------
Tian Y. et al. (2013) Modeling errors in daily precipitation measurements: additive or
multiplicative? Geophys. Res. Lett. 40, 2060–2065. Sun Q. et al. (2018) A review of global
precipitation data sets: data sources, estimation, and intercomparisons. Rev. Geophys. 56,
79–107. Droogers P., Allen R.G. (2002) Estimating reference evapotranspiration under
inaccurate data conditions. Irrig. Drain. Syst. 16, 33–45. Hamel P., Guswa A.J. (2015)
Uncertainty analysis of a spatially explicit annual water-balance model: case study of the
Cape Fear basin, North Carolina. Hydrol. Earth Syst. Sci. 19, 839–853.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_catalog.catalog import Catalog
from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep import units
from gep.accounts import UnitLevel

__all__ = [
    "ERROR_VARIABLES",
    "FieldError",
    "InputErrors",
    "block_correlation",
    "build_input_errors",
    "field_blocks",
    "lognormal_multipliers",
]

#: catalog variables an error field can be put on → the quantities it reaches
ERROR_VARIABLES: dict[str, tuple[str, ...]] = {
    "precipitation": ("water_conserved", "water_yield"),
    "reference_evapotranspiration": ("water_yield",),
    "evapotranspiration": ("water_conserved",),
}

#: most blocks a field may have (the block correlation matrix is dense)
MAX_BLOCKS = 4000


class FieldError(BaseModel):
    """The error of one climate raster: multiplicative, mean one, lognormal (module docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cv: float = Field(ge=0, le=2, description="coefficient of variation of the multiplier")
    spatial: Literal["region", "unit", "field"] = "field"
    correlation_length_km: float | None = Field(default=None, gt=0)
    block_km: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _field_needs_length(self) -> FieldError:
        if self.spatial == "field" and self.correlation_length_km is None:
            raise ValueError("spatial 'field' needs correlation_length_km (e.g. 50)")
        return self


def lognormal_multipliers(z: np.ndarray, cv: float) -> np.ndarray:
    """Mean-one lognormal multipliers ``exp(s·z − s²/2)``, ``s² = ln(1 + cv²)``.

    Examples
    --------
    >>> lognormal_multipliers(np.array([0.0, 1.0]), 0.0)
    array([1., 1.])
    """
    s2 = np.log1p(cv * cv)
    return np.exp(np.sqrt(s2) * z - s2 / 2)


def field_blocks(error: FieldError, grid: Grid, level: UnitLevel) -> tuple[np.ndarray, np.ndarray]:
    """Block of each pixel (flat, −1 = none) and the block centres (km) of an error field."""
    n_pixels = int(np.prod(grid.shape))
    if error.spatial == "region":
        return np.zeros(n_pixels, dtype=np.int64), np.zeros((1, 2))
    if error.spatial == "unit":
        weights = sp.csc_matrix(level.weights)
        best = np.asarray(weights.argmax(axis=0)).ravel().astype(np.int64)
        covered = np.asarray(weights.max(axis=0).todense()).ravel() > 0
        return np.where(covered, best, -1), np.zeros((len(level.ids), 2))
    assert error.correlation_length_km is not None
    size_x, size_y = grid.pixel_size_m()
    block_km = error.block_km or error.correlation_length_km / 2
    side_x = max(1, round(block_km * 1000 / size_x))
    side_y = max(1, round(block_km * 1000 / size_y))
    rows, cols = grid.shape
    n_by, n_bx = -(-rows // side_y), -(-cols // side_x)
    if n_by * n_bx > MAX_BLOCKS:
        raise InputError(
            f"input error field: {n_by * n_bx} blocks of {block_km} km (more than {MAX_BLOCKS});"
            " give a larger block_km"
        )
    r, c = np.divmod(np.arange(n_pixels), cols)
    block = (r // side_y) * n_bx + c // side_x
    by, bx = np.divmod(np.arange(n_by * n_bx), n_bx)
    centres = np.column_stack([(bx + 0.5) * side_x * size_x, (by + 0.5) * side_y * size_y]) / 1e3
    return block, centres


def block_correlation(error: FieldError, centres: np.ndarray) -> np.ndarray:
    """Correlation of the blocks' ``z``: 1 (region), identity (unit), ``exp(−d/L)`` (field)."""
    if error.spatial == "region":
        return np.ones((1, 1))
    if error.spatial == "unit":
        return np.eye(len(centres))
    assert error.correlation_length_km is not None
    d = np.hypot(*(centres[:, None, k] - centres[None, :, k] for k in (0, 1)))
    return np.exp(-d / error.correlation_length_km)


@dataclass
class _Field:
    variable: str
    error: FieldError
    block: np.ndarray
    chol: np.ndarray
    correlation: np.ndarray

    def multipliers(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, self.chol.shape[0])) @ self.chol.T
        return lognormal_multipliers(z, self.error.cv)


@dataclass
class InputErrors:
    """Sampled changes of quantities per unit from input error fields (module docs).

    ``linear[quantity][variable]`` is ``S`` (units × blocks); ``nonlinear[quantity]`` maps the
    multipliers of every field (variable → (n, blocks) array) to changes (n, units).
    """

    fields: dict[str, _Field]
    linear: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    nonlinear: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = field(
        default_factory=dict
    )

    def sample(self, n: int, *, seed: int) -> dict[str, np.ndarray]:
        """Change of each quantity reached, per sample and unit, ``(n, units)``."""
        rng = np.random.default_rng(seed)
        mult = {v: f.multipliers(n, rng) for v, f in sorted(self.fields.items())}
        out: dict[str, np.ndarray] = {}
        for quantity, by_var in self.linear.items():
            for variable, s in by_var.items():
                delta = (mult[variable] - 1.0) @ s.T
                out[quantity] = out.get(quantity, 0.0) + delta
        for quantity, func in self.nonlinear.items():
            out[quantity] = out.get(quantity, 0.0) + func(mult)
        return out

    def predicted_variance(self, quantity: str) -> np.ndarray:
        """Variance per unit of a linear quantity's change: ``sᵀ·Cov(m)·s`` summed over fields.

        ``Cov(m_b, m_b') = exp(s²·ρ_bb') − 1`` for mean-one lognormal multipliers.
        """
        total = 0.0
        for variable, s in self.linear[quantity].items():
            f = self.fields[variable]
            s2 = np.log1p(f.error.cv**2)
            cov = np.expm1(s2 * f.correlation)
            total = total + np.einsum("ub,bc,uc->u", s, cov, s)
        return np.asarray(total)


def _pixel_matrix(level: UnitLevel, block: np.ndarray, values: np.ndarray, n_blocks: int):
    """``S[u, b] = Σ_i W[u, i]·values_i·[block_i = b]`` (NaN values count 0)."""
    v = np.where(np.isfinite(values) & (block >= 0), values, 0.0)
    pixels = np.arange(v.size)
    onehot = sp.csr_matrix((v, (pixels, np.clip(block, 0, None))), shape=(v.size, n_blocks))
    return np.asarray((sp.csr_matrix(level.weights) @ onehot).todense())


def _water_conserved_terms(
    cat: Catalog, level: UnitLevel, year: int, params: pd.DataFrame, fields: dict[str, _Field]
) -> dict[str, np.ndarray]:
    from gep.calibration.inputs import _per_pixel, _raster, landcover_arrays
    from gep.pipeline import class_table

    grid = cat.reference_grid()
    area = np.broadcast_to(grid.cell_area_m2(), grid.shape).ravel() * units.MM_TO_M
    lc_id, codes, valid = landcover_arrays(cat, year)
    alpha = _per_pixel(
        codes, valid, class_table(cat, lc_id, params, {"a": "runoff_coefficient"})["a"]
    )
    alpha = np.asarray(alpha, dtype=np.float64).ravel()
    inside = np.isfinite(alpha)  # classes outside the method conserve 0 whatever the inputs
    out: dict[str, np.ndarray] = {}
    for variable in ("precipitation", "evapotranspiration"):
        if variable not in fields:
            continue
        x = np.asarray(_raster(cat, variable, year), dtype=np.float64).ravel()
        # ∂Q_i/∂m: P_i(1 − α_i)·A_i for P, −ET_i·A_i for ET (m³ per unit of the multiplier)
        g = x * (1.0 - alpha) * area if variable == "precipitation" else -x * area
        f = fields[variable]
        out[variable] = _pixel_matrix(level, f.block, np.where(inside, g, 0.0), f.chol.shape[0])
    return out


def _water_yield_term(
    cat: Catalog,
    level: UnitLevel,
    year: int,
    params: pd.DataFrame,
    seasonality: float,
    fields: dict[str, _Field],
) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    from gep.calibration import catchments_from_level, water_yield_inputs
    from gep.kernels.water import annual_water_yield_zmap
    from gep.pipeline.inputs import has_layer

    grid = cat.reference_grid()
    full = water_yield_inputs(cat, params, year)
    n_pixels = full[0].size
    z_map = np.full(n_pixels, np.nan)
    if has_layer(cat, "seasonality"):  # the per-basin Z of a calibrated catalog
        z_map = np.asarray(cat.raster(cat.find(variable="seasonality")).values, float).ravel()
    units_px = catchments_from_level(level, grid)
    parts = []
    for idx, area in zip(units_px.pixels, units_px.area_m2, strict=True):
        arrays = [a[idx] for a in full]
        kc, eto, p, root, soil, pawc, veg = arrays
        base = annual_water_yield_zmap(
            kc, eto, p, root, soil, pawc, veg, z_map[idx], seasonality=seasonality
        )[2]
        ok = np.isfinite(base)
        blocks = {v: f.block[idx][ok] for v, f in fields.items()}
        parts.append(([a[ok] for a in arrays], z_map[idx][ok], area[ok], base[ok], blocks))

    def evaluate(mult: dict[str, np.ndarray]) -> np.ndarray:
        n = next(iter(mult.values())).shape[0]
        out = np.zeros((n, len(parts)))
        for j, (arrays, z, area, base, blocks) in enumerate(parts):
            if not area.size:
                continue
            kc, eto, p, root, soil, pawc, veg = arrays
            step = max(1, 2_000_000 // area.size)  # samples per batch: bounded memory
            for s0 in range(0, n, step):
                sl = slice(s0, min(n, s0 + step))
                mp = (
                    mult["precipitation"][sl][:, blocks["precipitation"]]
                    if "precipitation" in mult
                    else 1.0
                )
                me = (
                    mult["reference_evapotranspiration"][sl][
                        :, blocks["reference_evapotranspiration"]
                    ]
                    if "reference_evapotranspiration" in mult
                    else 1.0
                )
                y = annual_water_yield_zmap(
                    kc, eto * me, p * mp, root, soil, pawc, veg, z, seasonality=seasonality
                )[2]
                # m² · mm · 0.001 = m³; NaN (P·m rounding to 0) counts no change
                diff = np.where(np.isfinite(y), y - base, 0.0)
                out[sl, j] = diff @ area * units.MM_TO_M
        return out

    return evaluate


def build_input_errors(
    cat: Catalog,
    level: UnitLevel,
    year: int,
    params: pd.DataFrame,
    errors: Mapping[str, FieldError],
    *,
    quantities: list[str],
    seasonality: float | None,
) -> InputErrors:
    """The changes of the valued ``quantities`` that the error fields reach, ready to sample.

    Raises
    ------
    InputError
        An unknown variable, or a field that reaches none of the valued quantities.
    """
    unknown = sorted(set(errors) - set(ERROR_VARIABLES))
    if unknown:
        raise InputError(
            f"input_errors: no error model for {unknown}; choose from {sorted(ERROR_VARIABLES)}"
        )
    grid = cat.reference_grid()
    fields = {}
    for variable, error in errors.items():
        reached = [q for q in ERROR_VARIABLES[variable] if q in quantities]
        if not reached:
            raise InputError(
                f"input_errors.{variable}: reaches {list(ERROR_VARIABLES[variable])}, none of "
                f"which the analysed run values ({quantities}); drop it or add the quantity"
            )
        block, centres = field_blocks(error, grid, level)
        corr = block_correlation(error, centres)
        chol = np.linalg.cholesky(corr + 1e-10 * np.eye(len(corr)))
        fields[variable] = _Field(variable, error, block, chol, corr)
    result = InputErrors(fields)
    if "water_conserved" in quantities:
        linear = _water_conserved_terms(cat, level, year, params, fields)
        if linear:
            result.linear["water_conserved"] = linear
    wy = {v: f for v, f in fields.items() if v in ("precipitation", "reference_evapotranspiration")}
    if "water_yield" in quantities and wy:
        if seasonality is None:
            raise InputError("input_errors: water yield needs services.water_yield.seasonality")
        result.nonlinear["water_yield"] = _water_yield_term(
            cat, level, year, params, seasonality, wy
        )
    return result
