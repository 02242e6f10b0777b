"""Command-line summaries of a linkage result."""

from __future__ import annotations

import pandas as pd

from linkage.config import LinkConfig
from linkage.inputs import LinkInputs
from linkage.result import LinkResult
from linkage.validate import fen_from_cny

__all__ = ["SUMMARY_COLUMNS", "summary_rows", "summary_text"]

SUMMARY_COLUMNS = ("unit", "coefficient", "amount (CNY)")


def summary_text(
    config: LinkConfig, inputs: LinkInputs, left_out: pd.DataFrame, allocation: pd.DataFrame
) -> str:
    """A few lines for the command line: budget closure, envelopes, units left out."""
    budget = fen_from_cny(config.districts.budget.amount_cny) or 0
    taking = allocation[~allocation["unit_id"].isin(left_out.index)]
    districts = allocation[allocation["stage"] == "district"]
    townships = allocation[allocation["stage"] == "township"]
    lines = [
        f"{config.policy.id} ({config.policy.year}): budget {budget / 100:,.2f} CNY split "
        f"across {int((taking['stage'] == 'district').sum())} districts and "
        f"{int((taking['stage'] == 'township').sum())} townships.",
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
    if inputs.eligibility is not None:
        rule = inputs.eligibility.rule
        lines.append(
            f"{len(left_out)} units do not take part under {rule.id} ({rule.article}); "
            "each one's reason is in the eligibility table and its rule line."
        )
    return "\n".join(lines)


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
