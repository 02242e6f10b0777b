"""Compensation coefficients: base factor, tilts and reverse-linkage deduction share.

For unit ``u`` of an allocation group (all districts; or the townships of one district):

- base factor (factor method, 因素法) ``F_u = sum_k f_k x_uk / sum_j x_jk`` over area,
  population and ecological land;
- level tilt ``T_L = 1 + beta_L (L_u - L_ref)``, improvement tilt ``T_I = 1 + beta_I I_u``,
  GEP tilt ``T_G = 1 + beta_G G_u`` (METHODS §4: ``W = F (1 + beta_L (L - Lbar)) (1 + beta_I I)``);
- deduction share ``r_u = rho (1 - s_u)`` of the eco-damaging-industry score ``s_u``
  (reverse linkage, Beijing 2022 implementation opinions §(十九));
- weight ``W_u = F_u T_L T_I T_G`` and effective weight ``W'_u = W_u (1 - r_u)``.

``L_ref`` is a fixed reference score given in the policy, not the mean of the current units:
``1 + beta (L - Lbar) = (1 - beta Lbar)(1 + beta' L)``, so centring on the mean only rescales
``beta`` by a factor that depends on every unit. With a fixed reference a unit's weight depends
on its own scores only, which is what makes the allocation monotone down to the fen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.config import BASE_FACTORS, StageConfig
from linkage.errors import LinkageError

__all__ = [
    "COEFFICIENT_COLUMNS",
    "base_factor",
    "check_tilt_ranges",
    "stage_coefficients",
    "tilt_ranges",
]

COEFFICIENT_COLUMNS = (
    "base_factor",
    "level_tilt",
    "improvement_tilt",
    "gep_tilt",
    "deduction_share",
    "weight",
    "effective_weight",
)


def base_factor(factors: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """Weighted sum of each unit's share of every base factor within its group.

    Parameters
    ----------
    factors : pandas.DataFrame
        Columns ``area_km2``, ``population_persons``, ``ecological_land_km2``, indexed by
        unit id (one allocation group).
    weights : dict of str to float
        Factor name (``area_km2``, ``population``, ``ecological_land_km2``) to weight.

    Returns
    -------
    pandas.Series
        ``F_u`` (dimensionless). A factor that is zero for every unit counts equally for all.

    Examples
    --------
    >>> f = pd.DataFrame({"area_km2": [1.0, 3.0], "population_persons": [50.0, 50.0],
    ...                   "ecological_land_km2": [0.0, 0.0]}, index=["a", "b"])
    >>> base_factor(f, {"area_km2": 0.5, "population": 0.5}).tolist()
    [0.375, 0.625]
    """
    total = pd.Series(0.0, index=factors.index)
    for name, weight in weights.items():
        column = factors[BASE_FACTORS[name]].astype(float)
        column_sum = float(column.sum())
        share = (
            column / column_sum if column_sum > 0 else pd.Series(1.0 / len(column), column.index)
        )
        total = total + weight * share
    return total


def stage_coefficients(
    stage: StageConfig, factors: pd.DataFrame, scores: pd.DataFrame
) -> pd.DataFrame:
    """All coefficients of one allocation group.

    Parameters
    ----------
    stage : StageConfig
        The stage rules (betas, reference score, deduction share).
    factors : pandas.DataFrame
        Base-factor table rows of the group's units.
    scores : pandas.DataFrame
        Output of :func:`linkage.scores.stage_scores` for the same units.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COEFFICIENT_COLUMNS` (dimensionless), indexed by unit id.

    Examples
    --------
    >>> from linkage.config import BaseFactorRule, GepRule, StageConfig
    >>> stage = StageConfig(id="s", base_factors=BaseFactorRule(
    ...     id="f", weights_sum=1, weights={"area_km2": 1}),
    ...     gep=GepRule(id="g", beta=0.5, weights_sum=1, weights={"d": 1}))
    >>> f = pd.DataFrame({"area_km2": [1.0, 1.0], "population_persons": [1.0, 1.0],
    ...                   "ecological_land_km2": [1.0, 1.0]}, index=["a", "b"])
    >>> s = pd.DataFrame({"gep_score": [0.0, 1.0], "level_score": np.nan,
    ...     "improvement_score": np.nan, "reverse_score": np.nan}, index=["a", "b"])
    >>> stage_coefficients(stage, f, s)["effective_weight"].tolist()
    [0.5, 0.75]
    """
    out = pd.DataFrame(index=factors.index)
    out["base_factor"] = base_factor(factors, stage.base_factors.weights)
    ones = pd.Series(1.0, index=factors.index)
    level = stage.level
    out["level_tilt"] = (
        1.0 + level.beta * (scores["level_score"] - level.reference_score) if level else ones
    )
    improvement = stage.improvement
    out["improvement_tilt"] = (
        1.0 + improvement.beta * scores["improvement_score"] if improvement else ones
    )
    out["gep_tilt"] = 1.0 + stage.gep.beta * scores["gep_score"] if stage.gep else ones
    reverse = stage.reverse_linkage
    out["deduction_share"] = (
        reverse.max_deduction_share * (1.0 - scores["reverse_score"]) if reverse else 0.0 * ones
    )
    check_tilt_ranges(stage, out)
    tilts = out[["level_tilt", "improvement_tilt", "gep_tilt"]].clip(lower=0.0)
    out["weight"] = out["base_factor"] * tilts.prod(axis=1)
    out["effective_weight"] = out["weight"] * (1.0 - out["deduction_share"])
    return out.astype(np.float64)


#: Slack on the documented ranges for the rounding of weights and scores.
_RANGE_SLACK = 1e-9


def tilt_ranges(stage: StageConfig) -> dict[str, tuple[float, float]]:
    """The documented range of each configured tilt, from scores in [0, 1].

    Level ``[1 - beta L_ref, 1 + beta (1 - L_ref)]``; improvement ``[1 - beta V, 1 + beta V]``
    with ``V`` the sum of its weights (1 once normalised); GEP ``[1, 1 + beta G]``.

    Examples
    --------
    >>> from linkage.config import BaseFactorRule, LevelRule, StageConfig
    >>> stage = StageConfig(id="s", base_factors=BaseFactorRule(id="f", weights_sum=1,
    ...     weights={"area_km2": 1}), level=LevelRule(id="l", beta=0.6, reference_score=0.5,
    ...     weights_sum=100, weights={"a": 40, "b": 60}))
    >>> tilt_ranges(stage)
    {'level_tilt': (0.7, 1.3)}
    """
    ranges = {}
    if stage.level is not None:
        beta, ref = stage.level.beta, stage.level.reference_score
        ranges["level_tilt"] = (1.0 - beta * ref, 1.0 + beta * (1.0 - ref))
    if stage.improvement is not None:
        span = stage.improvement.beta * sum(stage.improvement.weights.values())
        ranges["improvement_tilt"] = (1.0 - span, 1.0 + span)
    if stage.gep is not None:
        ranges["gep_tilt"] = (1.0, 1.0 + stage.gep.beta * sum(stage.gep.weights.values()))
    return ranges


def check_tilt_ranges(stage: StageConfig, coefficients: pd.DataFrame) -> None:
    """Refuse tilts outside their documented range (never clip them silently).

    Raises
    ------
    LinkageError
        Naming the stage, the tilt, the units and the range.
    """
    for column, (low, high) in tilt_ranges(stage).items():
        values = coefficients[column]
        slack = _RANGE_SLACK * max(1.0, abs(high))
        outside = values[(values < low - slack) | (values > high + slack)]
        if not outside.empty:
            shown = ", ".join(f"{u}: {v:.6g}" for u, v in outside.head(5).items())
            raise LinkageError(
                f"[{stage.id}] {column} outside its documented range [{low:.6g}, {high:.6g}] "
                f"for {len(outside)} unit(s) ({shown}); check that the rule's weights add up "
                "to weights_sum and that its indicator scores lie in [0, 1]"
            )
