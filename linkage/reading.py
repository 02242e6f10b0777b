"""Read the input tables a configuration names, or take them from memory, and check each one.

Every table is checked against its declared columns (:mod:`linkage.tables`); every problem is
tagged with the id of the rule that needs the table. :mod:`linkage.inputs` then checks the
tables against the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from linkage.config import LinkConfig
from linkage.errors import Problem
from linkage.tables import TABLES, check_table

__all__ = ["check_tables", "read_tables", "rule_for"]


def rule_for(config: LinkConfig, table: str) -> str:
    """Id of the rule that needs ``table`` (reported with the table's problems)."""
    owners = {
        "accounts": config.gep_indicators.id,
        "indicators": "indicators",
        "base_factors": config.districts.base_factors.id,
        "previous_allocation": config.districts.bounds.id if config.districts.bounds else "bounds",
        "water_sections": config.water_two_way.id if config.water_two_way else "water",
        "water_monthly": config.water_two_way.id if config.water_two_way else "water",
        "water_flow": _water_part(config, "ecological_flow"),
        "sewage_tasks": _water_part(config, "sewage_tasks"),
        "horizontal_observations": "horizontal",
        "horizontal_scores": "horizontal",
        "forest_areas": config.forest.id if config.forest else "forest",
        "forest_factors": config.forest.standard.id if config.forest else "forest",
        "ledger_claims": config.ledger.id if config.ledger else "ledger",
        "cropland_areas": config.cropland.id if config.cropland else "cropland",
        "cropland_base": config.cropland.id if config.cropland else "cropland",
        "transfer_inputs": config.transfer.id if config.transfer else "transfer",
        "designations": _evaluation_id(config, "awards"),
        "performance_scores": _evaluation_id(config, "performance"),
        "area_shares": _eligibility_id(config),
    }
    return owners[table]


def _water_part(config: LinkConfig, part: str) -> str:
    water = config.water_two_way
    rule = getattr(water, part) if water is not None else None
    return str(rule.id) if rule is not None else part


def _eligibility_id(config: LinkConfig) -> str:
    rule = config.districts.eligibility
    return rule.area.id if rule is not None and rule.area is not None else "eligibility"


def _evaluation_id(config: LinkConfig, part: str) -> str:
    evaluation = config.evaluation
    rule = getattr(evaluation, part) if evaluation is not None else None
    return str(rule.id) if rule is not None else part


def read_tables(config: LinkConfig) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read the CSV tables named in ``config.inputs`` as text (nothing checked yet).

    Parameters
    ----------
    config : LinkConfig
        A configuration with absolute input paths (:func:`linkage.config.load_config`).

    Returns
    -------
    dict of str to pandas.DataFrame
        Table name to its cells as text (``#`` lines are comments).
    list of Problem
        Files that do not exist.
    """
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name, path in config.inputs.model_dump().items():
        if path is None:
            continue
        if not path.is_file():
            problems.append(
                Problem(
                    rule_for(config, name),
                    name,
                    f"table file not found: {path}",
                    "fix the path in `inputs` (relative to the configuration file)",
                )
            )
            continue
        tables[name] = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    return tables, problems


def check_tables(
    config: LinkConfig, given: Mapping[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Check and convert every given table; unknown and missing required tables are problems.

    Parameters
    ----------
    config : LinkConfig
        The configuration (rule ids).
    given : mapping of str to pandas.DataFrame
        Table name to table.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables without problems, converted.
    list of Problem
        Every problem of every table.
    """
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name in sorted(set(given) - set(TABLES)):
        problems.append(Problem("inputs", name, "unknown table", f"use one of {sorted(TABLES)}"))
    for name in ("accounts", "base_factors"):
        if name not in given:
            problems.append(
                Problem(rule_for(config, name), f"inputs.{name}", "table not given", f"add {name}")
            )
    for name, frame in given.items():
        if name not in TABLES:
            continue
        checked, found = check_table(frame, TABLES[name], rule_for(config, name))
        problems += found
        if not found:
            tables[name] = checked
    return tables, problems
