"""Scores of one stage: normalised indicators, level, improvement, GEP and reverse-linkage scores.

Formulas (METHODS §4, after the Beijing 2022 implementation opinions §(九), §(十九)):

- indicator score ``s_i`` in [0, 1] by the declared normalisation (1 = best);
- level score ``L = sum_i w_i s_i``;
- improvement score ``I = sum_i v_i clip((s_i(t) - s_i(t-1)) / delta_i, -1, 1)``, where
  ``delta_i`` is the score change that earns full credit;
- GEP score ``G = sum_i g_i s_i`` over the GEP indicators (density, volume change);
- reverse-linkage score: the score ``s`` of the eco-damaging-industry indicator (1 = none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.config import LinkConfig, StageConfig
from linkage.normalize import normalise

__all__ = ["indicator_scores", "stage_scores"]


def _params(config: LinkConfig, name: str) -> tuple[str, dict[str, float], bool]:
    spec = config.indicator(name)
    params = {k: float(v) for k, v in spec.normalisation.model_dump().items() if k != "method"}
    return spec.normalisation.method, params, spec.direction == "higher_is_better"


def indicator_scores(
    config: LinkConfig, values: pd.DataFrame, reference: pd.DataFrame | None
) -> pd.DataFrame:
    """Normalise every indicator column of ``values`` to a score in [0, 1].

    Parameters
    ----------
    config : LinkConfig
        Indicator declarations.
    values : pandas.DataFrame
        One column per indicator id, indexed by unit id.
    reference : pandas.DataFrame or None
        Base-year values of the stage's units (reference sample of ``rank``).

    Returns
    -------
    pandas.DataFrame
        Same shape as ``values``: dimensionless scores.
    """
    out = pd.DataFrame(index=values.index)
    for name in values.columns:
        method, params, higher = _params(config, str(name))
        sample = None
        if method == "rank" and reference is not None:
            sample = reference[name].to_numpy(dtype=float)
        out[name] = normalise(
            values[name].to_numpy(dtype=float),
            method,
            params,
            higher_is_better=higher,
            reference=sample,
        )
    return out


def _weighted(scores: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    total = pd.Series(0.0, index=scores.index)
    for name, weight in weights.items():
        total = total + weight * scores[name]
    return total


def stage_scores(
    stage: StageConfig, current: pd.DataFrame, base: pd.DataFrame | None
) -> pd.DataFrame:
    """Level, improvement, GEP and reverse-linkage scores of every unit of a stage.

    Parameters
    ----------
    stage : StageConfig
        The stage rules.
    current : pandas.DataFrame
        Indicator scores of the policy year (from :func:`indicator_scores`).
    base : pandas.DataFrame or None
        Indicator scores of the base year (needed by the improvement rule).

    Returns
    -------
    pandas.DataFrame
        Columns ``level_score``, ``improvement_score``, ``gep_score``, ``reverse_score``
        (NaN where the rule is not configured), indexed by unit id.

    Examples
    --------
    Improvement of 0.05 in score with full credit at 0.10 earns half the weight:

    >>> from linkage.config import ImprovementRule, BaseFactorRule, StageConfig
    >>> stage = StageConfig(id="s", base_factors=BaseFactorRule(
    ...     id="f", weights_sum=1, weights={"area_km2": 1}), improvement=ImprovementRule(
    ...     id="i", beta=0.5, weights_sum=1, weights={"q": 1}, full_credit_change={"q": 0.1}))
    >>> now, before = pd.DataFrame({"q": [0.55]}), pd.DataFrame({"q": [0.50]})
    >>> round(float(stage_scores(stage, now, before)["improvement_score"].iloc[0]), 6)
    0.5
    """
    out = pd.DataFrame(index=current.index)
    out["level_score"] = _weighted(current, stage.level.weights) if stage.level else np.nan
    out["improvement_score"] = np.nan
    if stage.improvement is not None and base is not None:
        rule = stage.improvement
        total = pd.Series(0.0, index=current.index)
        for name, weight in rule.weights.items():
            change = (current[name] - base[name]) / rule.full_credit_change[name]
            total = total + weight * change.clip(-1.0, 1.0)
        out["improvement_score"] = total
    out["gep_score"] = _weighted(current, stage.gep.weights) if stage.gep else np.nan
    rule_r = stage.reverse_linkage
    out["reverse_score"] = current[rule_r.indicator] if rule_r is not None else np.nan
    return out
