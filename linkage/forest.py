"""Forest ecological compensation: a standard per mu, reviewed on a cycle, indexed by §(四).

Beijing pays a standard per mu of mountain ecological public-welfare forest (40 CNY mu-1 yr-1
from 2010, 70 from 2016, reviewed every five years; ``linkage/defaults/beijing.yaml``). The 2022
implementation opinions §(四) ask that the standard be adjusted dynamically considering the
public-welfare forest's resource total (资源总量), its eco-service value (生态服务价值), the growth
of its carbon sink (碳汇能力增长) and the city's economic and social development (全市经济社会
发展水平). Here, in a review year ``t`` (``t0`` = the last review, ``t - t0`` = the review
interval)::

    index     = sum_k w_k X_k(t) / X_k(t0)     k in resource_total, service_value,
                                               carbon_sink, development (weights sum to 1)
    candidate = current standard x index        (rounded half up to the fen)
    standard  = max(current, candidate)         (unless allow_decrease)

The factors come from the ``forest_factors`` table (``year, factor, value, value_unit,
source``), figures *of the public-welfare forest* (its area or stock, the constant-price value
and carbon sink of its parcels) and of the city (e.g. per-capita disposable income), not of
whole districts. Between reviews the current standard applies unchanged; a policy year past a
due review is refused (record the review's result first). Each parcel of the public-welfare
forest area table ``forest_areas`` is paid ``standard x area (mu)``, a claim in the
de-duplication ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from linkage.config import ForestStandardRule, LinkConfig
from linkage.defaults import sourced
from linkage.errors import Problem

__all__ = [
    "FOREST_FACTORS",
    "adjusted_standard",
    "check_forest",
    "forest_claims",
    "forest_review_problems",
    "review_interval",
]

#: The factors §(四) names, with their meaning (rows of ``forest_factors``).
FOREST_FACTORS = {
    "resource_total": "山区生态公益林资源总量 (e.g. area in mu or stock volume in m3)",
    "service_value": "生态服务价值 of the public-welfare forest (CNY, constant prices)",
    "carbon_sink": "碳汇能力 of the public-welfare forest (t CO2 yr-1)",
    "development": "全市经济社会发展水平 (e.g. per-capita disposable income, CNY)",
}


def review_interval(rule: ForestStandardRule) -> int:
    """Years between reviews: the rule's, or the sourced Beijing default (5)."""
    if rule.review_interval_years is not None:
        return rule.review_interval_years
    return int(sourced("forest", "review_interval_years").value)


def forest_review_problems(rule: ForestStandardRule, year: int) -> Iterator[Problem]:
    """A policy year past a due review cannot use the standard of the review before it.

    Parameters
    ----------
    rule : ForestStandardRule
        The standard's rule.
    year : int
        The policy year.

    Yields
    ------
    Problem
        The interval is not positive, or a review fell due before ``year``.
    """
    interval = review_interval(rule)
    if interval < 1:
        yield Problem(rule.id, "review_interval_years", f"found {interval}", "give >= 1 year")
        return
    due = rule.review_base_year + interval
    if year > due:
        yield Problem(
            rule.id,
            "review_base_year",
            f"a review of the standard was due in {due}, before the policy year {year}",
            f"record that review: set current_cny_per_mu_yr to its standard and "
            f"review_base_year to {due}",
        )


def _current(rule: ForestStandardRule) -> tuple[Decimal, str]:
    if rule.current_cny_per_mu_yr is not None:
        return rule.current_cny_per_mu_yr, f"policy input ({rule.id})"
    default = sourced("forest", "standard_cny_per_mu_yr")
    return Decimal(repr(default.value)), default.source


def _factor_values(factors: pd.DataFrame, year: int) -> dict[str, float]:
    rows = factors[factors["year"] == year]
    return {str(f): float(v) for f, v in zip(rows["factor"], rows["value"], strict=True)}


def _index_rows(
    rule: ForestStandardRule, factors: pd.DataFrame, year: int
) -> tuple[float, list[tuple[str, float, str, str]]]:
    base = _factor_values(factors, rule.review_base_year)
    now = _factor_values(factors, year)
    units = dict(zip(factors["factor"], factors["value_unit"], strict=False))
    index, rows = 0.0, []
    for name, weight in rule.weights.items():
        ratio = now[name] / base[name]
        index += weight * ratio
        unit = str(units.get(name, ""))
        rows += [
            (f"{name}_{rule.review_base_year}", base[name], unit, FOREST_FACTORS[name]),
            (f"{name}_{year}", now[name], unit, "forest_factors"),
            (f"{name}_growth", ratio, "1", f"{rule.id}: weight {weight}"),
        ]
    return index, rows


def adjusted_standard(config: LinkConfig, factors: pd.DataFrame) -> pd.DataFrame:
    """The standard of the policy year and the figures it comes from.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``forest`` section.
    factors : pandas.DataFrame
        The ``forest_factors`` table (``year, factor, value, value_unit, source``).

    Returns
    -------
    pandas.DataFrame
        One row per figure: ``item``, ``value``, ``unit``, ``source`` (the standard is the row
        ``standard_cny_per_mu_yr``).
    """
    forest = config.forest
    if forest is None:
        raise ValueError("configuration has no forest section")
    rule, year = forest.standard, config.policy.year
    current, source = _current(rule)
    interval = review_interval(rule)
    due = rule.review_base_year + interval
    rows: list[tuple[str, float, str, str]] = [
        ("current_standard_cny_per_mu_yr", float(current), "CNY mu-1 yr-1", source),
        ("review_base_year", float(rule.review_base_year), "year", f"{rule.id}"),
        ("review_interval_years", float(interval), "years", f"{rule.id} (§(四) 动态调整)"),
    ]
    standard = current
    if year == due:
        index, factor_rows = _index_rows(rule, factors, year)
        candidate = (current * Decimal(repr(index))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        standard = candidate if rule.allow_decrease else max(current, candidate)
        rows += factor_rows
        rows += [
            ("growth_index", index, "1", f"{rule.id}: weights {dict(rule.weights)}"),
            ("candidate_standard_cny_per_mu_yr", float(candidate), "CNY mu-1 yr-1", rule.id),
        ]
        note = f"{rule.id}: review year" + (
            "" if rule.allow_decrease else "; not below the current standard"
        )
    else:
        note = f"{rule.id}: not a review year (next review {due}); current standard applies"
    rows.append(("standard_cny_per_mu_yr", float(standard), "CNY mu-1 yr-1", note))
    return pd.DataFrame(rows, columns=["item", "value", "unit", "source"])


def forest_claims(config: LinkConfig, areas: pd.DataFrame, standard_cny: float) -> pd.DataFrame:
    """Ledger claims of the forest programme: standard x public-welfare forest area per parcel.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``forest`` section.
    areas : pandas.DataFrame
        ``unit_id, area_id, year, forest_area_mu``.
    standard_cny : float
        Standard in CNY mu-1 yr-1 (whole fen).

    Returns
    -------
    pandas.DataFrame
        ``unit_id, area_id, service, year, programme, forest_area_mu, amount_fen``.
    """
    forest = config.forest
    if forest is None:
        raise ValueError("configuration has no forest section")
    rows = areas[areas["year"] == config.policy.year].copy()
    rate = Decimal(repr(standard_cny))
    rows["amount_fen"] = [
        int((rate * Decimal(repr(float(mu))) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for mu in rows["forest_area_mu"]
    ]
    rows["service"], rows["programme"] = forest.benefit, forest.programme
    keep = ["unit_id", "area_id", "service", "year", "programme", "forest_area_mu", "amount_fen"]
    return rows[keep].astype({"amount_fen": "int64"})


def _factor_problems(rule: ForestStandardRule, factors: pd.DataFrame, year: int) -> list[Problem]:
    problems = []
    for when in (rule.review_base_year, year):
        values = _factor_values(factors, when)
        missing = [name for name in rule.weights if name not in values]
        if missing:
            problems.append(
                Problem(
                    rule.id,
                    "forest_factors.factor",
                    f"no {missing} for {when}",
                    f"add a row per weighted factor and year; factors: {FOREST_FACTORS}",
                )
            )
    base = _factor_values(factors, rule.review_base_year)
    zero = [name for name in rule.weights if name in base and not base[name] > 0]
    if zero:
        problems.append(
            Problem(
                rule.id,
                "forest_factors.value",
                f"factors {zero} are not positive in {rule.review_base_year}",
                "the growth since the last review divides by them",
            )
        )
    return problems


def check_forest(
    config: LinkConfig, accounts: pd.DataFrame, areas: pd.DataFrame, factors: pd.DataFrame
) -> list[Problem]:
    """Check the factors of a review year and that the forest areas name known units.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``forest`` section.
    accounts : pandas.DataFrame
        Accounts table (the unit registry).
    areas : pandas.DataFrame
        Public-welfare forest area table.
    factors : pandas.DataFrame
        The ``forest_factors`` table.

    Returns
    -------
    list of Problem
        Missing or non-positive factors in a review year, unknown units.
    """
    forest = config.forest
    if forest is None:
        return []
    rule = forest.standard
    problems = []
    if config.policy.year == rule.review_base_year + review_interval(rule):
        problems += _factor_problems(rule, factors, config.policy.year)
    unknown = sorted(set(areas["unit_id"]) - set(accounts["unit_id"]))
    if unknown:
        problems.append(
            Problem(
                forest.id,
                "forest_areas.unit_id",
                f"units {unknown[:8]} are not in the accounts",
                "use the unit ids of the accounts",
            )
        )
    return problems
