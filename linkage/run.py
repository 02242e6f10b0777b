"""Entry point of ``gep link CONFIG``: validate everything, compute, write the outputs.

Order: the configuration's shape and meaning, then every input table, are checked first and
*all* problems are reported (each with its rule id) before anything is computed. Then the
district stage splits the budget, the township stage splits each district's envelope, and the
optional programmes (two-way water, horizontal agreements; forest, cropland, the key
ecological function area transfer and the evaluation-linked awards through the de-duplication
ledger, :mod:`linkage.programmes.settle`) are settled. Outputs are written atomically by :mod:`linkage.export`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import floor
from pathlib import Path

import pandas as pd

from linkage.config import LinkConfig, load_config
from linkage.errors import ConfigError, InputTableError, Problem
from linkage.export import write_outputs
from linkage.forest import adjusted_standard, check_forest, forest_claims
from linkage.horizontal import check_horizontal, horizontal_lines
from linkage.inputs import LinkInputs, load_inputs
from linkage.ledger import check_ledger
from linkage.programmes.settle import check_programme_config, check_programmes, settle
from linkage.stages import StageResult, run_stage
from linkage.validate import check_config, fen_from_cny
from linkage.water import check_water, settle_water, water_lines

__all__ = ["LinkResult", "SUMMARY_COLUMNS", "compute_link", "run_link", "summary_rows"]

SUMMARY_COLUMNS = ("unit", "coefficient", "amount (CNY)")


@dataclass(frozen=True)
class LinkResult:
    """Everything a linkage run produced.

    Attributes
    ----------
    config : LinkConfig
        The validated configuration.
    allocation : pandas.DataFrame
        One row per district and township: coefficients, amounts in fen and CNY.
    scores : pandas.DataFrame
        Indicator values and scores per unit.
    audit : pandas.DataFrame
        Rule lines: for every unit every rule id with its contribution in CNY.
    inputs : pandas.DataFrame
        Per-unit inputs used (base factors, last year's amount).
    programmes : dict of str to pandas.DataFrame
        Optional programme tables: ``water_lines``, ``water_settlement``, ``horizontal``,
        ``forest_standard``, ``ledger``, ``cropland``, ``cropland_lines``, ``transfer``,
        ``transfer_lines``, ``performance``, ``awards``, ``award_lines``.
    summary : str
        A few lines for the command line.
    outputs : dict of str to pathlib.Path
        Files written (empty before :func:`run_link` writes them).
    """

    config: LinkConfig
    allocation: pd.DataFrame
    scores: pd.DataFrame
    audit: pd.DataFrame
    inputs: pd.DataFrame
    programmes: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: str = ""
    outputs: dict[str, Path] = field(default_factory=dict)


def _programme_problems(config: LinkConfig, inputs: LinkInputs) -> list[Problem]:
    problems: list[Problem] = []
    districts = inputs.units.districts
    if config.water_two_way is not None:
        problems += check_water(
            config, inputs.table("water_sections"), inputs.table("water_monthly"), districts
        )
    if config.horizontal:
        problems += check_horizontal(config, inputs.table("horizontal_observations"))
    if config.forest is not None:
        problems += check_forest(
            config, inputs.table("accounts"), inputs.table("forest_areas"), districts
        )
    if config.ledger is not None:
        problems += check_ledger(inputs.table("ledger_claims"), config.ledger)
    return problems + check_programmes(config, inputs)


def validate_all(config_path: Path) -> tuple[LinkConfig, LinkInputs, dict[str, pd.Series]]:
    """Load and check a configuration and all its tables; raise with every problem found.

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
    problems = check_config(config) + check_programme_config(config)
    if problems:
        raise ConfigError(problems)
    inputs, previous = load_inputs(config)
    problems = _programme_problems(config, inputs)
    if problems:
        raise InputTableError(problems)
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
    groups = {"all": (budget, inputs.units.districts)}
    results = [
        run_stage("district", config, config.districts, groups, inputs, previous["district"])
    ]
    envelopes = _envelopes(config, results[0])
    if config.townships is not None:
        groups = {d: (envelopes[d], inputs.units.townships[d]) for d in inputs.units.districts}
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


def _programmes(
    config: LinkConfig, inputs: LinkInputs
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.Series]]:
    out: dict[str, pd.DataFrame] = {}
    if config.water_two_way is not None:
        out["water_lines"] = water_lines(
            config.water_two_way,
            config.policy.year,
            inputs.table("water_sections"),
            inputs.table("water_monthly"),
        )
        out["water_settlement"] = settle_water(
            out["water_lines"], inputs.units.districts
        ).reset_index()
    if config.horizontal:
        out["horizontal"] = horizontal_lines(config, inputs.table("horizontal_observations"))
    forest = None
    if config.forest is not None:
        standard = adjusted_standard(config, inputs.table("accounts"), inputs.units.districts)
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


def _assemble(
    config: LinkConfig,
    inputs: LinkInputs,
    stages: list[StageResult],
    envelopes: dict[str, int],
    programmes: dict[str, pd.DataFrame],
    unit_amounts: dict[str, pd.Series],
) -> pd.DataFrame:
    allocation = pd.concat([s.allocation for s in stages]).join(_unit_table(inputs))
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
    members = inputs.units.districts + inputs.units.all_townships
    table = units.loc[members].join(factors)
    last = (
        pd.concat([s for s in previous.values() if not s.empty])
        if any(not s.empty for s in previous.values())
        else pd.Series(dtype="int64")
    )
    table["previous_amount_cny"] = last.reindex(table.index) / 100.0
    return table.reset_index(names="unit_id")


def _summary(config: LinkConfig, allocation: pd.DataFrame) -> str:
    budget = fen_from_cny(config.districts.budget.amount_cny) or 0
    districts = allocation[allocation["stage"] == "district"]
    townships = allocation[allocation["stage"] == "township"]
    lines = [
        f"{config.policy.id} ({config.policy.year}): budget {budget / 100:,.2f} CNY split "
        f"across {len(districts)} districts and {len(townships)} townships.",
        f"District amounts add up to {int(districts['amount_fen'].sum()) / 100:,.2f} CNY "
        f"(difference {int(districts['amount_fen'].sum()) - budget} fen).",
    ]
    if len(townships):
        gap = int(
            (
                townships.groupby("group_id")["amount_fen"].sum()
                - districts.set_index("unit_id")["township_envelope_fen"]
            )
            .abs()
            .sum()
        )
        lines.append(f"Township amounts match their district envelopes (difference {gap} fen).")
    return "\n".join(lines)


def compute_link(config_path: Path) -> LinkResult:
    """Validate and compute without writing anything.

    Parameters
    ----------
    config_path : pathlib.Path
        The policy YAML file.

    Returns
    -------
    LinkResult
        The result (``outputs`` empty).
    """
    config, inputs, previous = validate_all(config_path)
    stages, envelopes = _stages(config, inputs, previous)
    programmes, unit_amounts = _programmes(config, inputs)
    allocation = _assemble(config, inputs, stages, envelopes, programmes, unit_amounts)
    scores = pd.concat([s.scores.assign(stage=s.allocation["stage"].iloc[0]) for s in stages])
    audit = pd.concat([s.audit for s in stages], ignore_index=True)
    return LinkResult(
        config,
        allocation,
        scores.reset_index(names="unit_id"),
        audit,
        _inputs_sheet(inputs, previous),
        programmes,
        _summary(config, allocation),
    )


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
    changed = LinkInputs({**inputs.tables, "accounts": accounts}, inputs.units)
    stages, envelopes = _stages(config, changed, previous)
    programmes, unit_amounts = _programmes(config, changed)
    return _assemble(config, changed, stages, envelopes, programmes, unit_amounts)


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
    result = compute_link(config_path)
    target = out_dir if out_dir is not None else Path.cwd() / "gep-link-output"
    written = write_outputs(result, target)
    return LinkResult(
        result.config,
        result.allocation,
        result.scores,
        result.audit,
        result.inputs,
        result.programmes,
        result.summary,
        written,
    )


def summary_rows(result: LinkResult) -> list[tuple[str, str, str]]:
    """Rows ``(unit, coefficient, amount CNY)`` for a command-line table (districts first).

    Parameters
    ----------
    result : LinkResult
        A computed result.

    Returns
    -------
    list of tuple of str
        Formatted rows; townships are indented under their district.
    """
    rows: list[tuple[str, str, str]] = []
    table = result.allocation
    townships = table[table["stage"] == "township"]
    for _, district in table[table["stage"] == "district"].iterrows():
        rows.append(
            (
                f"{district['unit_id']} {district['unit_name']}",
                f"{district['coefficient']:.6f}",
                f"{district['amount_fen'] / 100:,.2f}",
            )
        )
        for _, town in townships[townships["group_id"] == district["unit_id"]].iterrows():
            rows.append(
                (
                    f"  {town['unit_id']} {town['unit_name']}",
                    f"{town['coefficient']:.6f}",
                    f"{town['amount_fen'] / 100:,.2f}",
                )
            )
    return rows
