"""Cropland protection compensation (耕地保护补偿): a standard per mu of cropland per unit.

Beijing 2022 implementation opinions §(六) ask for a cropland protection compensation system
(实施耕地保护补偿制度, 严守耕地保护红线, 提高耕地质量). Per unit ``u`` of the paid level and
policy year ``t``::

    area_mu  = cropland_area_m2 x 15 / 10 000          (1 mu = 10 000/15 m2 = 666.67 m2)
    base     = standard(t) x area_mu                   (CNY, rounded to the fen)
    quality  = standard(t) x area_mu x q_u - base      (optional quality factor q_u)
    loss     = - deduction x lost_mu                   (cropland lost to construction)
    amount   = max(0, base + quality + loss)

The mu is the Chinese land unit 市亩: 1 hectare = 15 mu exactly, so 1 mu = 10 000/15 m2
= 666.666... m2, usually printed as 666.67 m2. The standard (CNY per mu and year) is a policy
input given per year; the quality factor (e.g. from the cropland quality grade, GB/T 33469-2016
耕地质量等级) and the deduction per mu lost to construction are policy inputs too; none has a
default. ``cropland_to_construction_m2`` (cropland of the previous accounted year that is
built-up in year ``t``) and the quality factor come from ``cropland_areas``.

The area paid is the official cropland base (``cropland_base``: the Third National Land Survey
三调 and the annual land change survey 年度国土变更调查, in mu; the latest survey year not after
the policy year) wherever it is given; otherwise the land-cover accounts' ``cropland_area_m2``
are used as a *fallback*, and every such unit's line and summary row say so
(``area_source``).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pandas as pd

from linkage.config import CroplandConfig, LinkConfig
from linkage.errors import Problem
from linkage.programmes.lines import Line, cny, fen_half_up, to_decimal

__all__ = [
    "AREA_ID",
    "FALLBACK",
    "M2_PER_MU",
    "check_cropland",
    "cropland_entitlements",
    "mu_from_m2",
    "official_areas",
]

#: 1 mu (市亩) in m2, exactly: 1 ha = 15 mu.
M2_PER_MU = Fraction(10_000, 15)

#: Ledger area id of a unit's cropland.
AREA_ID = "cropland"


def mu_from_m2(area_m2: float) -> Fraction:
    """Area in mu, exactly: ``m2 x 15 / 10 000``.

    Examples
    --------
    >>> float(mu_from_m2(10_000.0)), float(mu_from_m2(2_000_000.0))
    (15.0, 3000.0)
    """
    return Fraction(to_decimal(float(area_m2))) / M2_PER_MU


def _fraction(value: float | Decimal) -> Fraction:
    return Fraction(to_decimal(value) if isinstance(value, float) else value)


def _rows(config: LinkConfig, areas: pd.DataFrame) -> pd.DataFrame:
    return areas[areas["year"] == config.policy.year].sort_values("unit_id")


#: ``area_source`` of a unit paid on its land-cover cropland (no official base given).
FALLBACK = "land cover (fallback: no official cropland base)"


def official_areas(base: pd.DataFrame | None, year: int) -> dict[str, tuple[Fraction, str, int]]:
    """Unit to (area in mu, survey, survey year) of its latest official base up to ``year``.

    Examples
    --------
    >>> base = pd.DataFrame({"unit_id": ["a", "a"], "year": [2019, 2023],
    ...     "cropland_area_mu": [100.0, 98.5], "survey": ["三调", "2023 年度国土变更调查"]})
    >>> area, survey, when = official_areas(base, 2024)["a"]
    >>> float(area), survey, when
    (98.5, '2023 年度国土变更调查', 2023)
    """
    if base is None or base.empty:
        return {}
    rows = base[base["year"] <= year].sort_values(["unit_id", "year"])
    latest = rows.groupby("unit_id").tail(1)
    return {
        str(u): (Fraction(to_decimal(float(a))), str(s), int(y))
        for u, a, s, y in zip(
            latest["unit_id"],
            latest["cropland_area_mu"],
            latest["survey"],
            latest["year"],
            strict=True,
        )
    }


def _area(row: pd.Series, official: dict[str, tuple[Fraction, str, int]]) -> tuple[Fraction, str]:
    found = official.get(str(row["unit_id"]))
    if found is not None:
        return found[0], f"official base: {found[1]} ({found[2]})"
    return mu_from_m2(float(row["cropland_area_m2"])), FALLBACK


def _unit_lines(
    rule: CroplandConfig, row: pd.Series, standard: Decimal, area: tuple[Fraction, str]
) -> tuple[list[Line], int]:
    area_mu, source = area
    base = fen_half_up(Fraction(standard) * area_mu)
    lines = [
        Line(
            rule.standard.id,
            f"standard x cropland area, {source} (1 mu = 10000/15 m2)",
            cny(base),
            float(area_mu),
            "mu",
            float(standard),
            "CNY mu-1 yr-1",
        )
    ]
    total = base
    if rule.quality is not None:
        factor = float(row["quality_factor"])
        with_quality = fen_half_up(Fraction(standard) * area_mu * _fraction(factor))
        lines.append(
            Line(
                rule.quality.id,
                "quality factor: standard x area x (factor - 1)",
                cny(with_quality - base),
                float(area_mu),
                "mu",
                factor,
                "1",
            )
        )
        total = with_quality
    loss = rule.construction_loss
    if loss is not None:
        lost_m2 = float(row["cropland_to_construction_m2"])
        lost_mu = mu_from_m2(lost_m2)
        deduction = fen_half_up(Fraction(loss.deduction_cny_per_mu) * lost_mu)
        lines.append(
            Line(
                loss.id,
                "deduction for cropland lost to construction since the previous accounts",
                -cny(deduction),
                float(lost_mu),
                "mu",
                float(loss.deduction_cny_per_mu),
                "CNY mu-1",
            )
        )
        total -= deduction
    if total < 0:
        lines.append(Line(rule.id, "entitlement not below zero", -cny(total)))
        total = 0
    return lines, total


def cropland_entitlements(
    config: LinkConfig, areas: pd.DataFrame, base: pd.DataFrame | None = None
) -> tuple[dict[str, list[Line]], pd.DataFrame]:
    """Rule lines and entitlement of every unit with cropland rows in the policy year.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``cropland`` section.
    areas : pandas.DataFrame
        ``unit_id, year, cropland_area_m2, cropland_to_construction_m2, quality_factor``.
    base : pandas.DataFrame, optional
        The official cropland base ``unit_id, year, cropland_area_mu, survey``.

    Returns
    -------
    dict of str to list of Line
        Rule lines per unit (before the ledger).
    pandas.DataFrame
        Per unit: ``unit_id, year, cropland_area_m2, cropland_area_mu, area_source,
        quality_factor, cropland_to_construction_m2, standard_cny_per_mu_yr,
        entitlement_fen`` (``cropland_area_mu`` is the area paid).
    """
    rule = config.cropland
    if rule is None:
        raise ValueError("configuration has no cropland section")
    standard = rule.standard.cny_per_mu_yr[config.policy.year]
    lines: dict[str, list[Line]] = {}
    rows = []
    official = official_areas(base, config.policy.year)
    for _, row in _rows(config, areas).iterrows():
        unit = str(row["unit_id"])
        area = _area(row, official)
        lines[unit], amount = _unit_lines(rule, row, standard, area)
        rows.append(
            (
                unit,
                config.policy.year,
                float(row["cropland_area_m2"]),
                float(area[0]),
                area[1],
                float(row["quality_factor"]) if rule.quality is not None else 1.0,
                float(row["cropland_to_construction_m2"]) if rule.construction_loss else 0.0,
                float(standard),
                amount,
            )
        )
    summary = pd.DataFrame(
        rows,
        columns=[
            "unit_id",
            "year",
            "cropland_area_m2",
            "cropland_area_mu",
            "area_source",
            "quality_factor",
            "cropland_to_construction_m2",
            "standard_cny_per_mu_yr",
            "entitlement_fen",
        ],
    ).astype({"entitlement_fen": "int64"})
    return lines, summary


def _value_problems(rule: CroplandConfig, rows: pd.DataFrame) -> list[Problem]:
    problems = []
    if rule.quality is not None:
        factors = rows["quality_factor"]
        high = rule.quality.maximum
        bad = factors.isna() | (factors < rule.quality.minimum)
        if high is not None:
            bad |= factors > high
        if bad.any():
            problems.append(
                Problem(
                    rule.quality.id,
                    "cropland_areas.quality_factor",
                    f"missing or outside [{rule.quality.minimum}, {high}] for "
                    f"{sorted(rows.loc[bad, 'unit_id'])[:8]}",
                    "give a quality factor for every unit paid, within the declared range",
                )
            )
    if rule.construction_loss is not None and rows["cropland_to_construction_m2"].isna().any():
        missing = sorted(rows.loc[rows["cropland_to_construction_m2"].isna(), "unit_id"])
        problems.append(
            Problem(
                rule.construction_loss.id,
                "cropland_areas.cropland_to_construction_m2",
                f"no cropland-to-construction area for {missing[:8]}",
                "give the area (0 when none was lost); the land-cover accounts produce it",
            )
        )
    return problems


def check_cropland(
    config: LinkConfig,
    areas: pd.DataFrame,
    units: list[str],
    base: pd.DataFrame | None = None,
) -> list[Problem]:
    """Check the standard of the policy year, the units paid and the table's values.

    Parameters
    ----------
    config : LinkConfig
        Configuration with a ``cropland`` section.
    areas : pandas.DataFrame
        The ``cropland_areas`` table.
    units : list of str
        Units of the paid level taking part.
    base : pandas.DataFrame, optional
        The official cropland base (its units must be of the paid level).

    Returns
    -------
    list of Problem
        Missing standard, missing or unknown units, missing factors or loss areas.
    """
    rule = config.cropland
    if rule is None:
        return []
    problems = []
    if config.policy.year not in rule.standard.cny_per_mu_yr:
        problems.append(
            Problem(
                rule.standard.id,
                "cropland.standard.cny_per_mu_yr",
                f"no standard for {config.policy.year} "
                f"(given: {sorted(rule.standard.cny_per_mu_yr)})",
                "add the standard of the policy year (a policy input, no default)",
            )
        )
    if any(v < 0 for v in rule.standard.cny_per_mu_yr.values()):
        problems.append(Problem(rule.standard.id, "cny_per_mu_yr", "must be >= 0", ""))
    rows = _rows(config, areas)
    absent = sorted(set(units) - set(rows["unit_id"]))
    unknown = sorted(set(rows["unit_id"]) - set(units))
    if absent or unknown:
        problems.append(
            Problem(
                rule.id,
                "cropland_areas.unit_id",
                f"{config.policy.year}: units without cropland rows {absent[:8]}, "
                f"rows of units not at level {rule.level!r} {unknown[:8]}",
                f"give one row per {rule.level} of the accounts (0 m2 when it has no cropland)",
            )
        )
    return problems + _value_problems(rule, rows) + _base_problems(config, base, units)


def _base_problems(
    config: LinkConfig, base: pd.DataFrame | None, units: list[str]
) -> list[Problem]:
    rule = config.cropland
    if rule is None or base is None or base.empty:
        return []
    unknown = sorted(set(base["unit_id"]) - set(units))
    if unknown:
        return [
            Problem(
                rule.id,
                "cropland_base.unit_id",
                f"units not at level {rule.level!r}: {unknown[:8]}",
                f"give the official cropland base per {rule.level} of the accounts",
            )
        ]
    return []
