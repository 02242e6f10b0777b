"""Settle the per-unit programmes through the de-duplication ledger, to the fen.

Order (each step reported in the rule lines of the unit):

1. every programme states its claims: forest parcels, cropland per unit, the transfer
   entitlement per unit, each designation obtained; claims of other programmes come from the
   ``ledger_claims`` table;
2. the ledger (:func:`linkage.ledger.settle_claims`) pays one claim per
   ``(unit, area, benefit, year)``: the programme listed first in ``programme_priority``;
   in top-up mode a later programme of ``top_up`` pays the difference to what was paid
   before it (forest, cropland and ``ledger_claims`` programmes only);
3. amounts that depend on who is paid are settled afterwards on the accepted claims only: the
   transfer's performance factor and budget scaling, the award pool shares. So a budget or
   pool still adds up exactly to the fen after the ledger has removed duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from linkage.config import LinkConfig
from linkage.errors import Problem
from linkage.inputs import LinkInputs
from linkage.ledger import LEDGER_KEY, settle_claims
from linkage.programmes import cropland, evaluation, transfer
from linkage.programmes.lines import Line, lines_frame, total

__all__ = ["CLAIM_COLUMNS", "ProgrammeTables", "check_programmes", "level_units", "settle"]

CLAIM_COLUMNS = [*LEDGER_KEY, "programme", "amount_fen"]


@dataclass(frozen=True)
class ProgrammeTables:
    """Tables of the per-unit programmes (each present only when configured)."""

    tables: dict[str, pd.DataFrame]
    unit_amounts: dict[str, pd.Series]


@dataclass
class _Parts:
    """Entitlements computed before the ledger and settled after it."""

    transfer: tuple[dict[str, list[Line]], pd.DataFrame] | None = None
    awards: pd.DataFrame | None = None


def level_units(config: LinkConfig, inputs: LinkInputs, level: str) -> list[str]:
    """Units of a level in the policy year (townships: those of the districts taking part).

    Parameters
    ----------
    config : LinkConfig
        The configuration.
    inputs : LinkInputs
        Validated inputs.
    level : {"district", "township"}
        The level.

    Returns
    -------
    list of str
        Sorted unit ids.
    """
    if level == "district":
        return list(inputs.units.districts)
    accounts = inputs.table("accounts")
    rows = accounts[
        (accounts["year"] == config.policy.year)
        & (accounts["level"] == "township")
        & accounts["parent_id"].isin(inputs.units.districts)
    ]
    return sorted(set(rows["unit_id"]))


def _claims(
    rows: pd.DataFrame, area_id: str, benefit: str, year: int, programme: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": rows["unit_id"].astype(str),
            "area_id": area_id,
            "service": benefit,
            "year": year,
            "programme": programme,
            "amount_fen": rows["entitlement_fen"].astype("int64"),
        }
    )[CLAIM_COLUMNS]


def _external_claims(inputs: LinkInputs) -> pd.DataFrame:
    others = inputs.table("ledger_claims")
    if others.empty:
        return pd.DataFrame(columns=CLAIM_COLUMNS)
    fen = [int((Decimal(repr(float(v))) * 100).to_integral_value()) for v in others["amount_cny"]]
    return others.assign(amount_fen=fen)[CLAIM_COLUMNS]


def _accepted(ledger: pd.DataFrame, programme: str) -> pd.Series:
    rows = ledger[ledger["programme"] == programme]
    accepted: pd.Series = (rows["status"] == "accepted").set_axis(
        pd.MultiIndex.from_frame(rows[["unit_id", "area_id"]].astype(str))
    )
    return accepted


def _ledger_rows(
    ledger: pd.DataFrame, programme: str
) -> dict[tuple[str, str], tuple[str, int, str]]:
    """``(unit, area)`` to ``(status, paid_fen, paid_by)`` of one programme's claims."""
    rows = ledger[ledger["programme"] == programme]
    return {
        (str(u), str(a)): (str(s), int(p), str(b))
        for u, a, s, p, b in zip(
            rows["unit_id"],
            rows["area_id"],
            rows["status"],
            rows["paid_fen"],
            rows["paid_by"],
            strict=True,
        )
    }


def _reject_lines(
    lines: dict[str, list[Line]],
    rows: dict[tuple[str, str], tuple[str, int, str]],
    area_id: str,
    ledger_id: str,
) -> dict[str, int]:
    """Amounts after the ledger, with a rule line for each change.

    A rejected claim loses everything; a topped-up one loses what the programmes before it
    paid.
    """
    amounts = {}
    for unit, unit_lines in lines.items():
        amount = total(unit_lines)
        status, paid_fen, paid_by = rows.get((unit, area_id), ("accepted", 0, ""))
        if status == "rejected":
            unit_lines.append(Line(ledger_id, "benefit paid by another programme", -amount))
            amount = Decimal(0)
        elif status == "topped_up":
            paid = Decimal(paid_fen) / 100
            unit_lines.append(
                Line(
                    ledger_id,
                    f"top-up (§(七)): less what {paid_by} and any programme before this one paid",
                    paid - amount,
                )
            )
            amount = paid
        amounts[unit] = int(amount * 100)
    return amounts


def _set_paid(ledger: pd.DataFrame, programme: str, amounts: dict[tuple[str, str], int]) -> None:
    rows = ledger.index[ledger["programme"] == programme]
    for i in rows:
        key = (str(ledger.at[i, "unit_id"]), str(ledger.at[i, "area_id"]))
        ledger.at[i, "paid_fen"] = amounts.get(key, 0)


def _cropland(
    config: LinkConfig, inputs: LinkInputs, ledger: pd.DataFrame, out: dict[str, pd.DataFrame]
) -> None:
    rule = config.cropland
    if rule is None:
        return
    lines, summary = cropland.cropland_entitlements(
        config, inputs.table("cropland_areas"), inputs.tables.get("cropland_base")
    )
    ledger_id = config.ledger.id if config.ledger else "ledger"
    amounts = _reject_lines(
        lines, _ledger_rows(ledger, rule.programme), cropland.AREA_ID, ledger_id
    )
    out["cropland"] = summary.assign(amount_fen=summary["unit_id"].map(amounts).astype("int64"))
    out["cropland_lines"] = lines_frame(rule.programme, lines)
    _set_paid(ledger, rule.programme, {(u, cropland.AREA_ID): a for u, a in amounts.items()})


def _transfer(
    config: LinkConfig,
    inputs: LinkInputs,
    ledger: pd.DataFrame,
    out: dict[str, pd.DataFrame],
    parts: _Parts,
) -> None:
    rule = config.transfer
    if rule is None or parts.transfer is None:
        return
    lines, summary = parts.transfer
    accepted = _accepted(ledger, rule.programme)
    paid = {u: bool(accepted.get((u, transfer.AREA_ID), True)) for u in lines}
    factors = None
    performance = config.evaluation.performance if config.evaluation else None
    if performance is not None:
        units = list(lines)
        table = evaluation.performance_factors(
            performance, inputs.table("performance_scores"), units
        )
        out["performance"] = table.reset_index()
        factors = table["factor"]
    final, lines = transfer.finalise_transfer(config, lines, summary, paid, factors)
    out["transfer"] = final
    out["transfer_lines"] = lines_frame(rule.programme, lines)
    amounts = dict(zip(final["unit_id"], final["amount_fen"], strict=True))
    _set_paid(ledger, rule.programme, {(u, transfer.AREA_ID): int(a) for u, a in amounts.items()})


def _awards(
    config: LinkConfig, ledger: pd.DataFrame, out: dict[str, pd.DataFrame], claims: pd.DataFrame
) -> None:
    rule = config.evaluation.awards if config.evaluation else None
    if rule is None:
        return
    accepted = _accepted(ledger, rule.programme)
    paid = pd.Series(
        [
            bool(accepted.get((u, a), True))
            for u, a in zip(claims["unit_id"], claims["area_id"], strict=True)
        ],
        index=claims.index,
    )
    amounts, lines = evaluation.settle_awards(config, claims, paid)
    out["awards"] = claims.assign(
        status=paid.map({True: "accepted", False: "rejected"}), amount_fen=amounts
    )
    out["award_lines"] = lines_frame(rule.programme, lines)
    _set_paid(
        ledger,
        rule.programme,
        {
            (str(u), str(a)): int(f)
            for u, a, f in zip(claims["unit_id"], claims["area_id"], amounts, strict=True)
        },
    )


def _entitlement_claims(
    config: LinkConfig, inputs: LinkInputs
) -> tuple[list[pd.DataFrame], _Parts]:
    year = config.policy.year
    frames: list[pd.DataFrame] = []
    parts = _Parts()
    if config.cropland is not None:
        _, summary = cropland.cropland_entitlements(
            config, inputs.table("cropland_areas"), inputs.tables.get("cropland_base")
        )
        frames.append(
            _claims(
                summary, cropland.AREA_ID, config.cropland.benefit, year, config.cropland.programme
            )
        )
    if config.transfer is not None:
        parts.transfer = transfer.transfer_entitlements(
            config, inputs.table("transfer_inputs"), inputs.table("indicators")
        )
        summary = parts.transfer[1]
        frames.append(
            _claims(
                summary, transfer.AREA_ID, config.transfer.benefit, year, config.transfer.programme
            )
        )
    awards = config.evaluation.awards if config.evaluation else None
    if awards is not None:
        units = level_units(config, inputs, awards.level)
        parts.awards = evaluation.award_claims(config, inputs.table("designations"), units)
        frames.append(parts.awards[CLAIM_COLUMNS])
    return frames, parts


def settle(config: LinkConfig, inputs: LinkInputs, forest: pd.DataFrame | None) -> ProgrammeTables:
    """Claims of every programme through the ledger; amounts, lines and the ledger table.

    Parameters
    ----------
    config : LinkConfig
        The configuration.
    inputs : LinkInputs
        Validated inputs.
    forest : pandas.DataFrame or None
        Claims of the forest programme (:func:`linkage.forest.forest_claims`), if any.

    Returns
    -------
    ProgrammeTables
        ``ledger`` (every claim with ``status, paid_by, paid_fen``) and, per configured
        programme, its summary and rule lines (``cropland``, ``cropland_lines``, ``transfer``,
        ``transfer_lines``, ``performance``, ``awards``, ``award_lines``); ``unit_amounts``:
        paid fen per unit for the allocation columns ``forest_fen``, ``cropland_fen``,
        ``transfer_fen``, ``award_fen``.
    """
    frames, parts = _entitlement_claims(config, inputs)
    if forest is not None:
        frames.insert(0, forest)
    if config.ledger is not None:
        frames.insert(0, _external_claims(inputs))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return ProgrammeTables({}, {})
    ledger = settle_claims(pd.concat(frames, ignore_index=True), config.ledger)
    out: dict[str, pd.DataFrame] = {}
    _cropland(config, inputs, ledger, out)
    _transfer(config, inputs, ledger, out, parts)
    if parts.awards is not None:
        _awards(config, ledger, out, parts.awards)
    ledger["paid_fen"] = ledger["paid_fen"].astype("int64")
    out["ledger"] = ledger
    columns = {
        "forest_fen": config.forest.programme if config.forest else None,
        "cropland_fen": config.cropland.programme if config.cropland else None,
        "transfer_fen": config.transfer.programme if config.transfer else None,
        "award_fen": config.evaluation.awards.programme
        if config.evaluation and config.evaluation.awards
        else None,
    }
    unit_amounts = {
        column: ledger[ledger["programme"] == name].groupby("unit_id")["paid_fen"].sum()
        for column, name in columns.items()
        if name is not None
    }
    return ProgrammeTables(out, unit_amounts)


def _inputs_given(config: LinkConfig) -> list[Problem]:
    needs = []
    if config.cropland is not None:
        needs.append((config.cropland.id, "cropland_areas"))
    if config.transfer is not None:
        needs.append((config.transfer.id, "transfer_inputs"))
        if config.transfer.eco_index is not None:
            needs.append((config.transfer.eco_index.id, "indicators"))
    if config.evaluation is not None and config.evaluation.awards is not None:
        needs.append((config.evaluation.awards.id, "designations"))
    if config.evaluation is not None and config.evaluation.performance is not None:
        needs.append((config.evaluation.performance.id, "performance_scores"))
    return [
        Problem(
            rule_id, f"inputs.{name}", f"the programme needs the {name} table", f"add inputs.{name}"
        )
        for rule_id, name in needs
        if getattr(config.inputs, name) is None
    ]


def programme_names(config: LinkConfig) -> list[str]:
    """Programme names of the configured per-unit programmes (for the ledger priority)."""
    names = [config.cropland.programme if config.cropland else None]
    names.append(config.transfer.programme if config.transfer else None)
    awards = config.evaluation.awards if config.evaluation else None
    names.append(awards.programme if awards else None)
    return [n for n in names if n is not None]


def check_programme_config(config: LinkConfig) -> list[Problem]:
    """Configuration checks of the per-unit programmes (before any table is read).

    Parameters
    ----------
    config : LinkConfig
        The configuration.

    Returns
    -------
    list of Problem
        Missing input tables; programmes without a ledger priority.
    """
    problems = _inputs_given(config)
    if config.ledger is not None:
        missing = [n for n in programme_names(config) if n not in config.ledger.programme_priority]
        if missing:
            problems.append(
                Problem(
                    config.ledger.id,
                    "programme_priority",
                    f"programmes {missing} have no priority",
                    "add them to ledger.programme_priority",
                )
            )
        problems += _top_up_problems(config)
    return problems


def _top_up_problems(config: LinkConfig) -> list[Problem]:
    """Top-up programmes: listed in the priority, and not settled after the ledger."""
    ledger = config.ledger
    if ledger is None or not ledger.top_up:
        return []
    problems = []
    unknown = [p for p in ledger.top_up if p not in ledger.programme_priority]
    if unknown:
        problems.append(
            Problem(
                ledger.id,
                "ledger.top_up",
                f"programmes {unknown} are not in programme_priority",
                "list every top-up programme in programme_priority, after the one it tops up",
            )
        )
    awards = config.evaluation.awards if config.evaluation else None
    later = [
        rule.programme for rule in (config.transfer, awards) if rule is not None
    ]  # their amounts are shared out after the ledger (budget and pool closure)
    settled_after = [p for p in ledger.top_up if p in later]
    if settled_after:
        problems.append(
            Problem(
                ledger.id,
                "ledger.top_up",
                f"{settled_after} share a budget or pool after the ledger and cannot top up",
                "top up only forest, cropland or ledger_claims programmes",
            )
        )
    return problems


def check_programmes(config: LinkConfig, inputs: LinkInputs) -> list[Problem]:
    """Table checks of every configured per-unit programme.

    Parameters
    ----------
    config : LinkConfig
        The configuration.
    inputs : LinkInputs
        The inputs read.

    Returns
    -------
    list of Problem
        All problems found.
    """
    problems: list[Problem] = []
    if config.cropland is not None:
        units = level_units(config, inputs, config.cropland.level)
        problems += cropland.check_cropland(
            config, inputs.table("cropland_areas"), units, inputs.tables.get("cropland_base")
        )
    if config.transfer is not None:
        units = level_units(config, inputs, config.transfer.level)
        problems += transfer.check_transfer(config, inputs.table("transfer_inputs"), units)
        problems += transfer.check_eco_index(config, inputs.table("indicators"), units)
    if config.evaluation is not None:
        units = level_units(config, inputs, config.transfer.level) if config.transfer else []
        problems += evaluation.check_performance(config, inputs.table("performance_scores"), units)
    awards = config.evaluation.awards if config.evaluation else None
    if awards is not None:
        units = level_units(config, inputs, awards.level)
        problems += evaluation.check_awards(config, inputs.table("designations"), units)
    taken = set(inputs.table("ledger_claims")["programme"]) & set(programme_names(config))
    if taken:
        problems.append(
            Problem(
                config.ledger.id if config.ledger else "ledger",
                "ledger_claims.programme",
                f"claims of {sorted(taken)} are computed by this run, not read",
                "remove those rows from ledger_claims",
            )
        )
    return problems
