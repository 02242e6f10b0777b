"""Indicator values per unit and year: from the indicator table, or computed from the accounts.

GEP indicators use constant prices only, so that a price change is not rewarded as ecological
improvement (METHODS §3):

- ``gep_density_constant`` (CNY km-2, constant prices) ``= sum value_constant_cny / area_km2``;
- ``gep_volume_change`` (dimensionless) ``= sum value_constant_cny(t) / sum value_constant_cny(t-k) - 1``,
  the volume index minus one over the policy's comparison span ``k = year - base_year``
  (SEEA EA 2021 §9; Ouyang et al. 2020, PNAS 117(25):14593).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.config import INDICATOR_KINDS, LinkConfig, StageConfig

__all__ = ["gep_totals_cny", "indicator_values", "needed_indicators"]


def needed_indicators(stage: StageConfig, config: LinkConfig) -> dict[str, bool]:
    """Indicators a stage uses and whether each needs base-year values.

    Base-year values are needed for the improvement score and as the reference sample of
    ``rank`` normalisation.

    Parameters
    ----------
    stage : StageConfig
        District or township stage.
    config : LinkConfig
        The configuration (for the indicator declarations).

    Returns
    -------
    dict of str to bool
        Indicator id to "needs base-year values". Ids not declared are included as given so
        validation can report them.
    """
    needed: dict[str, bool] = {}
    for rule in (stage.level, stage.gep):
        for name in rule.weights if rule is not None else {}:
            needed.setdefault(name, False)
    if stage.improvement is not None:
        for name in stage.improvement.weights:
            needed[name] = True
    if stage.reverse_linkage is not None:
        needed.setdefault(stage.reverse_linkage.indicator, False)
    declared = {spec.id: spec for spec in config.indicators}
    for name in needed:
        spec = declared.get(name)
        if spec is not None and spec.normalisation.method == "rank":
            needed[name] = True
    return needed


def gep_totals_cny(
    accounts: pd.DataFrame, services: list[str] | None, measure: str = "gep"
) -> pd.Series:
    """Constant-price GEP (or GEP-R) per unit and year.

    Parameters
    ----------
    accounts : pandas.DataFrame
        Accounts table (``unit_id, year, service, value_constant_cny``; ``category`` for
        GEP-R).
    services : list of str or None
        Services that count (all when ``None``).
    measure : {"gep", "gep_r"}
        Every category, or the regulating services only (``category == "regulating"``).

    Returns
    -------
    pandas.Series
        CNY at constant prices, indexed by ``(unit_id, year)``.

    Examples
    --------
    >>> acc = pd.DataFrame({"unit_id": "u", "year": 2020, "service": ["a", "b"],
    ...     "category": ["provisioning", "regulating"], "value_constant_cny": [1.0, 2.0]})
    >>> float(gep_totals_cny(acc, None).iloc[0]), float(gep_totals_cny(acc, None, "gep_r").iloc[0])
    (3.0, 2.0)
    """
    rows = accounts if services is None else accounts[accounts["service"].isin(services)]
    if measure == "gep_r":
        rows = rows[rows["category"] == "regulating"]
    totals: pd.Series = rows.groupby(["unit_id", "year"])["value_constant_cny"].sum()
    return totals


def _from_accounts(
    kind: str, units: list[str], year: int, span: int, totals: pd.Series, area_km2: pd.Series
) -> pd.Series:
    by_year = totals.unstack("year") if len(totals) else pd.DataFrame(index=units)

    def total(y: int) -> pd.Series:
        column = by_year[y] if y in by_year.columns else pd.Series(np.nan, index=units)
        return column.reindex(units).astype(float)

    if kind == "gep_density_constant":
        area = area_km2.reindex(units).astype(float)
        return total(year) / area.where(area > 0.0)
    previous = total(year - span)
    return total(year) / previous.where(previous > 0.0) - 1.0


def indicator_values(
    config: LinkConfig,
    names: list[str],
    units: list[str],
    year: int,
    *,
    indicator_table: pd.DataFrame,
    totals: pd.Series,
    area_km2: pd.Series,
) -> pd.DataFrame:
    """Values of the named indicators for the given units and year.

    Parameters
    ----------
    config : LinkConfig
        The configuration (indicator declarations).
    names : list of str
        Indicator ids.
    units : list of str
        Unit ids (the index of the result, in this order).
    year : int
        Year of the values.
    indicator_table : pandas.DataFrame
        ``unit_id, year, indicator, value`` (may be empty if only GEP indicators are used).
    totals : pandas.Series
        Constant-price GEP per ``(unit_id, year)`` from :func:`gep_totals_cny`.
    area_km2 : pandas.Series
        Unit area in km2, indexed by unit id.

    Returns
    -------
    pandas.DataFrame
        One column per indicator, in its own unit; NaN where a value is missing.
    """
    rows = indicator_table[indicator_table["year"] == year]
    wide = rows.pivot(index="unit_id", columns="indicator", values="value").reindex(units)
    out = pd.DataFrame(index=pd.Index(units, name="unit_id"))
    for name in names:
        kind = config.indicator(name).kind
        if INDICATOR_KINDS[kind] == "accounts":
            span = config.policy.year - config.policy.base_year
            out[name] = _from_accounts(kind, units, year, span, totals, area_km2).to_numpy()
        elif name in wide.columns:
            out[name] = wide[name].to_numpy(dtype=float)
        else:
            out[name] = np.nan
    return out
