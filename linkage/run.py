"""Entry points: :func:`compute_link` (in memory) and :func:`run_link` (``gep link CONFIG``).

Order: the configuration's shape and meaning, then every input table, are checked first and
*all* problems are reported (each with its rule id) before anything is computed. Then the
eligibility rule picks the districts and townships taking part, the district stage splits the
budget among them, the township stage splits each district's envelope, and the optional
programmes (two-way water, horizontal agreements; forest, cropland, the key ecological function
area transfer and the evaluation-linked awards through the de-duplication ledger,
:mod:`linkage.programmes.settle`) are settled. :func:`run_link` reads the tables a policy file
names, computes with :func:`compute_link` and writes the outputs atomically
(:mod:`linkage.export`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from math import floor
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from linkage.audit import AUDIT_COLUMNS
from linkage.config import Inputs, LinkConfig, load_config, problems_from
from linkage.eligibility import outside_audit, outside_rows
from linkage.errors import ConfigError, InputTableError, Problem
from linkage.export import write_outputs
from linkage.forest import adjusted_standard, check_forest, forest_claims
from linkage.horizontal import check_horizontal, horizontal_lines
from linkage.inputs import LinkInputs, check_inputs
from linkage.ledger import check_ledger
from linkage.programmes.settle import check_programme_config, check_programmes, settle
from linkage.reading import read_tables
from linkage.result import LinkResult
from linkage.stages import StageResult, run_stage
from linkage.summary import SUMMARY_COLUMNS, summary_rows, summary_text
from linkage.validate import check_config, fen_from_cny
from linkage.water import check_water, settle_water, water_lines
from linkage.water_tasks import check_water_tasks, water_task_lines

__all__ = [
    "LinkResult",
    "SUMMARY_COLUMNS",
    "compute_link",
    "read_link",
    "run_link",
    "summary_rows",
    "validate_all",
    "validate_tables",
]


def _programme_problems(config: LinkConfig, inputs: LinkInputs) -> list[Problem]:
    problems: list[Problem] = []
    districts = inputs.units.districts
    if config.water_two_way is not None:
        sections = inputs.table("water_sections")
        problems += check_water(config, sections, inputs.table("water_monthly"), districts)
        problems += check_water_tasks(
            config,
            sections,
            inputs.table("water_flow"),
            inputs.table("sewage_tasks"),
            districts,
        )
    if config.horizontal:
        problems += check_horizontal(
            config, inputs.table("horizontal_observations"), inputs.table("horizontal_scores")
        )
    if config.forest is not None:
        problems += check_forest(
            config,
            inputs.table("accounts"),
            inputs.table("forest_areas"),
            inputs.table("forest_factors"),
        )
    if config.ledger is not None:
        problems += check_ledger(inputs.table("ledger_claims"), config.ledger)
    return problems + check_programmes(config, inputs)


def _check_meaning(config: LinkConfig) -> None:
    problems = check_config(config) + check_programme_config(config)
    if problems:
        raise ConfigError(problems)


def validate_tables(
    config: LinkConfig, tables: Mapping[str, pd.DataFrame], problems: list[Problem] | None = None
) -> tuple[LinkInputs, dict[str, pd.Series]]:
    """Check a configuration and in-memory tables; raise with every problem found.

    Parameters
    ----------
    config : LinkConfig
        The configuration (its shape already checked).
    tables : mapping of str to pandas.DataFrame
        Table name (as in ``inputs:``) to table.
    problems : list of Problem, optional
        Problems found while reading the tables, reported with the rest.

    Returns
    -------
    tuple
        Inputs and last year's amounts in fen per stage.

    Raises
    ------
    ConfigError
        Meaning of the configuration (no table looked at).
    InputTableError
        Input tables (all problems of all tables).
    """
    _check_meaning(config)
    inputs, previous = check_inputs(config, tables, problems)
    found = _programme_problems(config, inputs)
    if found:
        raise InputTableError(found)
    return inputs, previous


def validate_all(config_path: Path) -> tuple[LinkConfig, LinkInputs, dict[str, pd.Series]]:
    """Load and check a configuration file and all its tables; raise with every problem found.

    Parameters
    ----------
    config_path : pathlib.Path
        The policy YAML file.

    Returns
    -------
    tuple
        Configuration, inputs and last year's amounts in fen per stage.

    Raises
    ------
    ConfigError
        Shape or meaning of the configuration (nothing read beyond the YAML file).
    InputTableError
        Input tables (all problems of all tables).
    """
    config = load_config(config_path)
    _check_meaning(config)
    tables, problems = read_tables(config)
    inputs, previous = validate_tables(config, tables, problems)
    return config, inputs, previous


def _envelopes(config: LinkConfig, districts: StageResult) -> dict[str, int]:
    if config.townships is None:
        return {}
    share = Fraction(repr(config.townships.envelope.share_of_district_allocation))
    amounts = districts.allocation["amount_fen"]
    # round half up to the fen: floor(x + 1/2)
    return {str(u): floor(share * int(fen) + Fraction(1, 2)) for u, fen in amounts.items()}


def _stages(
    config: LinkConfig, inputs: LinkInputs, previous: dict[str, pd.Series]
) -> tuple[list[StageResult], dict[str, int]]:
    budget = fen_from_cny(config.districts.budget.amount_cny) or 0
    taking = inputs.stage_units
    groups = {"all": (budget, taking.districts)}
    results = [
        run_stage("district", config, config.districts, groups, inputs, previous["district"])
    ]
    envelopes = _envelopes(config, results[0])
    if config.townships is not None:
        groups = {d: (envelopes[d], taking.townships[d]) for d in taking.districts}
        results.append(
            run_stage(
                "township",
                config,
                config.townships,
                groups,
                inputs,
                previous.get("township", pd.Series(dtype="int64")),
            )
        )
    return results, envelopes


def _water_lines(config: LinkConfig, inputs: LinkInputs) -> pd.DataFrame:
    """Water-quality lines and, under the 2022 components, flow and sewage-task lines."""
    water, year = config.water_two_way, config.policy.year
    assert water is not None
    sections = inputs.table("water_sections")
    quality = water_lines(water, year, sections, inputs.table("water_monthly"))
    tasks = water_task_lines(
        water,
        year,
        sections,
        inputs.table("water_flow"),
        inputs.table("sewage_tasks"),
        list(quality.columns),
    )
    return pd.concat([quality, tasks], ignore_index=True) if len(tasks) else quality


def _programmes(
    config: LinkConfig, inputs: LinkInputs
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.Series]]:
    out: dict[str, pd.DataFrame] = {}
    if config.water_two_way is not None:
        out["water_lines"] = _water_lines(config, inputs)
        out["water_settlement"] = settle_water(
            out["water_lines"], inputs.units.districts
        ).reset_index()
    if config.horizontal:
        out["horizontal"] = horizontal_lines(
            config, inputs.table("horizontal_observations"), inputs.table("horizontal_scores")
        )
    forest = None
    if config.forest is not None:
        standard = adjusted_standard(config, inputs.table("forest_factors"))
        out["forest_standard"] = standard
        rate = float(standard.set_index("item")["value"].to_dict()["standard_cny_per_mu_yr"])
        forest = forest_claims(config, inputs.table("forest_areas"), rate)
    settled = settle(config, inputs, forest)
    out.update(settled.tables)
    return out, settled.unit_amounts


def _unit_table(inputs: LinkInputs) -> pd.DataFrame:
    accounts = inputs.table("accounts")
    units = accounts.drop_duplicates("unit_id").set_index("unit_id")
    return units[["unit_name", "level", "parent_id"]]


def _outside(config: LinkConfig, inputs: LinkInputs) -> pd.DataFrame:
    """Allocation rows (amount 0) of the units the eligibility rule leaves out."""
    if inputs.eligibility is None:
        return pd.DataFrame()
    return outside_rows(inputs.eligibility, config.townships is not None)


def _assemble(
    config: LinkConfig,
    inputs: LinkInputs,
    stages: list[StageResult],
    envelopes: dict[str, int],
    programmes: dict[str, pd.DataFrame],
    unit_amounts: dict[str, pd.Series],
) -> pd.DataFrame:
    frames = [s.allocation for s in stages]
    if inputs.eligibility is not None:
        frames.append(_outside(config, inputs))
    allocation = pd.concat(frames).join(_unit_table(inputs))
    is_district = allocation["stage"] == "district"
    envelope = allocation.index.to_series().map(envelopes).fillna(0).astype("int64")
    allocation["township_envelope_fen"] = envelope.where(is_district, 0)
    allocation["retained_fen"] = (allocation["amount_fen"] - envelope).where(is_district, 0)
    if "water_settlement" in programmes:
        net = programmes["water_settlement"].set_index("party")["net_fen"]
        allocation["water_two_way_net_fen"] = allocation.index.to_series().map(net).fillna(0)
    for column, paid in unit_amounts.items():
        allocation[column] = allocation.index.to_series().map(paid).fillna(0)
    for column in ("water_two_way_net_fen", *unit_amounts):
        if column in allocation:
            allocation[column] = allocation[column].astype("int64")
    allocation.insert(1, "year", config.policy.year)
    return allocation.reset_index(names="unit_id")


def _inputs_sheet(inputs: LinkInputs, previous: dict[str, pd.Series]) -> pd.DataFrame:
    factors = inputs.table("base_factors").set_index("unit_id")
    units = _unit_table(inputs)
    members = inputs.stage_units.districts + inputs.stage_units.all_townships
    table = units.loc[members].join(factors)
    last = (
        pd.concat([s for s in previous.values() if not s.empty])
        if any(not s.empty for s in previous.values())
        else pd.Series(dtype="int64")
    )
    table["previous_amount_cny"] = last.reindex(table.index) / 100.0
    return table.reset_index(names="unit_id")


def _compute(config: LinkConfig, inputs: LinkInputs, previous: dict[str, pd.Series]) -> LinkResult:
    stages, envelopes = _stages(config, inputs, previous)
    programmes, unit_amounts = _programmes(config, inputs)
    if inputs.eligibility is not None:
        programmes = {"eligibility": inputs.eligibility.table, **programmes}
    allocation = _assemble(config, inputs, stages, envelopes, programmes, unit_amounts)
    scores = pd.concat([s.scores.assign(stage=s.allocation["stage"].iloc[0]) for s in stages])
    audits = [s.audit for s in stages]
    if inputs.eligibility is not None:
        outside = _outside(config, inputs)
        audits.append(outside_audit(inputs.eligibility, outside, list(AUDIT_COLUMNS)))
    audit = pd.concat(audits, ignore_index=True)
    return LinkResult(
        config,
        allocation,
        scores.reset_index(names="unit_id"),
        audit,
        _inputs_sheet(inputs, previous),
        programmes,
        summary_text(config, inputs, _outside(config, inputs), allocation),
    )


def _with_tables(config: LinkConfig, tables: Mapping[str, pd.DataFrame]) -> LinkConfig:
    """``inputs:`` naming exactly the tables given (in-memory ones as ``<memory>/name``)."""
    named = config.inputs.model_dump()
    update = {
        name: (named[name] or Path("<memory>") / name) if name in tables else None
        for name in Inputs.model_fields
    }
    return config.model_copy(update={"inputs": Inputs(**update)})


def compute_link(
    config: LinkConfig | Mapping[str, Any], tables: Mapping[str, pd.DataFrame]
) -> LinkResult:
    """Validate and compute from an in-memory configuration and tables; write nothing.

    Parameters
    ----------
    config : LinkConfig or mapping
        The policy (a parsed :class:`~linkage.config.LinkConfig`, or the YAML document as a
        mapping); its ``inputs:`` paths are not read.
    tables : mapping of str to pandas.DataFrame
        Table name (``accounts``, ``base_factors``, ``indicators``, ... as in ``inputs:``)
        to table; columns as the CSV files would have them (:mod:`linkage.tables`).

    Returns
    -------
    LinkResult
        The result (``outputs`` empty).

    Raises
    ------
    ConfigError
        Shape or meaning of the configuration.
    InputTableError
        Input tables (every problem at once).
    """
    if not isinstance(config, LinkConfig):
        try:
            config = LinkConfig.model_validate(dict(config))
        except ValidationError as exc:
            raise ConfigError(problems_from(exc, dict(config))) from None
    config = _with_tables(config, tables)
    inputs, previous = validate_tables(config, tables)
    return _compute(config, inputs, previous)


def allocation_with_accounts(
    config: LinkConfig,
    inputs: LinkInputs,
    previous: dict[str, pd.Series],
    accounts: pd.DataFrame,
) -> pd.DataFrame:
    """The allocation table recomputed with another accounts table, in memory.

    For sensitivity and uncertainty studies: ``config``, ``inputs`` and ``previous`` come from
    :func:`validate_all` once; ``accounts`` has the same units and columns as the validated
    accounts table (e.g. its values scaled by a sampled parameter or price). Nothing is read
    or written.

    Parameters
    ----------
    config, inputs, previous
        The output of :func:`validate_all`.
    accounts : pandas.DataFrame
        Replacement accounts table.

    Returns
    -------
    pandas.DataFrame
        The allocation (as ``LinkResult.allocation``): amounts in fen and CNY per unit.
    """
    changed = replace(inputs, tables={**inputs.tables, "accounts": accounts})
    stages, envelopes = _stages(config, changed, previous)
    programmes, unit_amounts = _programmes(config, changed)
    return _assemble(config, changed, stages, envelopes, programmes, unit_amounts)


def read_link(config_path: Path) -> tuple[LinkConfig, dict[str, pd.DataFrame]]:
    """Read a policy file and the tables it names (as text; checked by :func:`compute_link`).

    Parameters
    ----------
    config_path : pathlib.Path
        The policy YAML file (input paths inside are relative to it).

    Returns
    -------
    tuple
        The configuration and its tables by name.

    Raises
    ------
    ConfigError
        Shape or meaning of the configuration (no table read).
    InputTableError
        Table files that do not exist (all of them).
    """
    config = load_config(config_path)
    _check_meaning(config)
    tables, problems = read_tables(config)
    if problems:
        raise InputTableError(problems)
    return config, tables


def run_link(config_path: Path, out_dir: Path | None = None) -> LinkResult:
    """Validate, compute and write ``allocation.csv/.xlsx/.json`` and the JSON schema.

    Parameters
    ----------
    config_path : pathlib.Path
        The policy YAML file (input paths inside are relative to it).
    out_dir : pathlib.Path, optional
        Output folder (created if needed); default ``./gep-link-output``.

    Returns
    -------
    LinkResult
        The result, with ``outputs`` naming the files written.

    Raises
    ------
    ConfigError
        If the configuration or a table is invalid (nothing computed, nothing written).
    InfeasibleAllocationError
        If township floors and caps cannot hold within a district's envelope (nothing
        written).
    """
    target = out_dir if out_dir is not None else Path.cwd() / "gep-link-output"
    return link_and_write(*read_link(config_path), target)


def link_and_write(
    config: LinkConfig | Mapping[str, Any], tables: Mapping[str, pd.DataFrame], out_dir: Path
) -> LinkResult:
    """:func:`compute_link` in memory, then write its outputs into ``out_dir`` (atomically).

    Returns
    -------
    LinkResult
        The result, with ``outputs`` naming the files written.
    """
    result = compute_link(config, tables)
    written = write_outputs(result, out_dir)
    return replace(result, outputs=written)
