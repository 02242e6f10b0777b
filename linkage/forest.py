"""Forest ecological compensation: the standard per mu, adjusted by service value and carbon sink.

Beijing pays a standard per mu of mountain ecological public-welfare forest (40 CNY mu-1 yr-1
from 2010, 70 from 2016, reviewed every five years; ``linkage/defaults/beijing.yaml``). The 2022
implementation opinions §(四) ask that the standard follow forest resources, eco-service value
and carbon-sink growth. Here the standard is scaled by a weighted growth index at constant
prices (so price changes are not rewarded, METHODS §3)::

    index    = w_v V(t) / V(t0) + w_c C(t) / C(t0)
    standard = current standard x index            (rounded to the fen)

with ``V`` the constant-price value of the forest services and ``C`` the carbon sink
(t CO2 yr-1) of the districts taking part, ``t0`` the year of the last review. The weights are
policy inputs. Each parcel's payment ``= standard x eligible area (mu)`` becomes a claim in the
de-duplication ledger.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from linkage.config import ForestConfig, LinkConfig
from linkage.defaults import sourced
from linkage.errors import Problem

__all__ = ["adjusted_standard", "check_forest", "forest_claims"]


def _totals(
    accounts: pd.DataFrame, districts: list[str], forest: ForestConfig, year: int
) -> tuple[float, float]:
    rows = accounts[(accounts["year"] == year) & accounts["unit_id"].isin(districts)]
    value = rows.loc[rows["service"].isin(forest.standard.value_services), "value_constant_cny"]
    carbon = rows.loc[rows["service"] == forest.standard.carbon_service, "quantity"]
    return float(value.sum()), float(carbon.sum())


def adjusted_standard(
    config: LinkConfig, accounts: pd.DataFrame, districts: list[str]
) -> pd.DataFrame:
    """The adjusted standard and the figures it comes from.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``forest`` section.
    accounts : pandas.DataFrame
        Accounts table.
    districts : list of str
        Districts whose accounts count.

    Returns
    -------
    pandas.DataFrame
        One row per figure: ``item``, ``value``, ``unit``, ``source`` (the standard is the row
        ``standard_cny_per_mu_yr``).
    """
    forest = config.forest
    if forest is None:
        raise ValueError("configuration has no forest section")
    rule = forest.standard
    default = sourced("forest", "standard_cny_per_mu_yr")
    current = rule.current_cny_per_mu_yr
    source = f"policy input ({rule.id})" if current is not None else default.source
    base = current if current is not None else Decimal(repr(default.value))
    v1, c1 = _totals(accounts, districts, forest, config.policy.year)
    v0, c0 = _totals(accounts, districts, forest, rule.review_base_year)
    index = (
        rule.weights.get("service_value", 0.0) * v1 / v0
        + rule.weights.get("carbon_sink", 0.0) * c1 / c0
    )
    standard = (base * Decimal(repr(index))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    rows = [
        ("current_standard_cny_per_mu_yr", float(base), "CNY mu-1 yr-1", source),
        (
            "service_value_base_cny",
            v0,
            "CNY (constant prices)",
            f"accounts {rule.review_base_year}",
        ),
        ("service_value_cny", v1, "CNY (constant prices)", f"accounts {config.policy.year}"),
        ("carbon_sink_base", c0, "accounts quantity_unit", f"accounts {rule.review_base_year}"),
        ("carbon_sink", c1, "accounts quantity_unit", f"accounts {config.policy.year}"),
        ("growth_index", index, "1", f"{rule.id}: weights {dict(rule.weights)}"),
        ("standard_cny_per_mu_yr", float(standard), "CNY mu-1 yr-1", f"{rule.id}"),
    ]
    return pd.DataFrame(rows, columns=["item", "value", "unit", "source"])


def forest_claims(config: LinkConfig, areas: pd.DataFrame, standard_cny: float) -> pd.DataFrame:
    """Ledger claims of the forest programme: standard x eligible area per parcel.

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


def check_forest(
    config: LinkConfig, accounts: pd.DataFrame, areas: pd.DataFrame, districts: list[str]
) -> list[Problem]:
    """Check that the accounts hold the forest figures of both years and areas name known units.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``forest`` section.
    accounts : pandas.DataFrame
        Accounts table.
    areas : pandas.DataFrame
        Forest areas table.
    districts : list of str
        Districts taking part.

    Returns
    -------
    list of Problem
        Missing or zero base-year totals, several price years, unknown units.
    """
    forest = config.forest
    if forest is None:
        return []
    rule = forest.standard
    problems = []
    for year in (rule.review_base_year, config.policy.year):
        value, carbon = _totals(accounts, districts, forest, year)
        if value <= 0 or carbon <= 0:
            problems.append(
                Problem(
                    rule.id,
                    "accounts",
                    f"no positive forest service value or "
                    f"carbon sink ({rule.carbon_service!r}) for {year}",
                    "check value_services, carbon_service and the years",
                )
            )
    years = accounts[accounts["year"].isin([rule.review_base_year, config.policy.year])]
    if years["price_year"].nunique() > 1:
        problems.append(
            Problem(
                rule.id,
                "accounts.price_year",
                "the review base year and the policy year use different constant-price years",
                "recompute both at one base year",
            )
        )
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
