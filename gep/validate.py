"""``gep validate CONFIG``: every problem of a run configuration, before any work.

Checks, all at once: the configuration's shape; the catalog (every entry, see
:mod:`data_catalog.checks`); the catalog entries the run needs (parameter table, unit layers,
land cover per year, the linkage tables); a price for every valued component and year (with
its deflator chain to the base year); and the linkage policy's rules.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from data_catalog.catalog import _parse_catalog
from data_catalog.errors import GEPError, InputError, Problem
from gep.config import RunConfig, load_run_config
from gep.linkage_inputs import PREPARED_TABLES, check_condition_change_years
from gep.prices import price_for_year

LINKAGE_TABLES = ("unit_indicators", "water_sections", "water_quality_monthly")


def is_run_config(path: Path) -> bool:
    """True when the YAML file is a run configuration (not a catalog)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and "entries" not in raw and "services" in raw


def validate_run(path: Path) -> list[Problem]:
    """Every problem of a run configuration and of what it refers to."""
    try:
        config = load_run_config(path)
    except GEPError as exc:
        return [Problem("config", "file", str(exc), "fix the configuration")]
    cat, problems = _parse_catalog(config.catalog_file())
    if cat is None:
        return problems
    problems += cat.check()
    problems += _entries(
        config,
        set(cat.entries),
        {e.variable: e for e in cat.entries.values()},
        {(e.variable, e.year) for e in cat.entries.values()},
    )
    problems += _prices(config)
    problems += _policy(config)
    return problems


def _entries(config: RunConfig, ids: set[str], by_variable: dict, by_year: set) -> list[Problem]:
    problems = []
    needed = [("parameters", config.parameters)] + [("units", u.entry) for u in config.units]
    if config.linkage is not None:
        needed += [("linkage", t) for t in LINKAGE_TABLES]
    for field, entry_id in needed:
        if entry_id not in ids:
            problems.append(
                Problem(
                    "config",
                    field,
                    f"the catalog has no entry {entry_id!r}",
                    f"add it to the catalog or change `{field}`",
                )
            )
    for year in config.years:
        if ("landcover", year) not in by_year:
            problems.append(
                Problem(
                    "config",
                    "years",
                    f"no land cover for {year} in the catalog",
                    "add a landcover entry with that year or remove the year",
                )
            )
    return problems


def _prices(config: RunConfig) -> list[Problem]:
    from gep.pipeline import load_prices

    try:
        prices, indices = load_prices(config)
    except GEPError as exc:
        return [Problem("config", "prices", str(exc), "fix the price tables")]
    problems = []
    for comp in config.valuation.enabled():
        for year in config.years:
            try:
                price = price_for_year(
                    prices,
                    indices,
                    comp.price_item,
                    year,
                    base_year=config.valuation.base_year,
                    deflator=comp.deflator,
                    price_year=comp.price_year,
                )
            except GEPError as exc:
                problems.append(
                    Problem(
                        f"valuation {comp.service}/{comp.component}",
                        "price",
                        str(exc),
                        "fix the price table or the component",
                    )
                )
                break
            if price.unit != comp.price_unit():
                problems.append(
                    Problem(
                        f"valuation {comp.service}/{comp.component}",
                        "price_item",
                        f"price '{comp.price_item}' is in '{price.unit}', the component needs "
                        f"'{comp.price_unit()}'",
                        "choose a price in the right unit",
                    )
                )
                break
    return problems


def _policy(config: RunConfig) -> list[Problem]:
    path = config.linkage_file()
    if path is None:
        return []
    if not path.exists():
        return [Problem("config", "linkage", f"policy file not found: {path}", "fix the path")]
    try:
        check_condition_change_years(path, list(config.years))
    except InputError as exc:
        return [
            Problem("config", "years", str(exc), "make the policy's years consecutive run years")
        ]
    from linkage.config import load_config
    from linkage.errors import ConfigError
    from linkage.validate import check_config

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    # the run writes these tables (gep.linkage_inputs) and fills in `inputs:` before linking
    raw["inputs"] = {**{t: f"{t}.csv" for t in PREPARED_TABLES}, **(raw.get("inputs") or {})}
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "policy.yaml"
        probe.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        try:
            policy = load_config(probe)
        except ConfigError as exc:
            return [
                Problem(f"linkage {p.rule_id}", p.where, p.message, p.hint) for p in exc.problems
            ]
    return [
        Problem(f"linkage {p.rule_id}", p.where, p.message, p.hint) for p in check_config(policy)
    ]
