"""The result of a linkage run.

Kept apart so that :mod:`linkage.export` and :mod:`linkage.run` do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from linkage.config import LinkConfig

__all__ = ["LinkResult"]


@dataclass(frozen=True)
class LinkResult:
    """Everything a linkage run produced.

    Attributes
    ----------
    config : LinkConfig
        The validated configuration.
    allocation : pandas.DataFrame
        One row per district and township taking part: coefficients, amounts in fen and CNY.
    scores : pandas.DataFrame
        Indicator values and scores per unit.
    audit : pandas.DataFrame
        Rule lines: for every unit every rule id with its contribution in CNY.
    inputs : pandas.DataFrame
        Per-unit inputs used (base factors, last year's amount).
    programmes : dict of str to pandas.DataFrame
        Optional programme tables: ``eligibility``, ``water_lines``, ``water_settlement``,
        ``horizontal``, ``forest_standard``, ``ledger``, ``cropland``, ``cropland_lines``,
        ``transfer``, ``transfer_lines``, ``performance``, ``awards``, ``award_lines``.
    summary : str
        A few lines for the command line.
    outputs : dict of str to pathlib.Path
        Files written (empty before :func:`linkage.run.run_link` writes them).
    """

    config: LinkConfig
    allocation: pd.DataFrame
    scores: pd.DataFrame
    audit: pd.DataFrame
    inputs: pd.DataFrame
    programmes: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: str = ""
    outputs: dict[str, Path] = field(default_factory=dict)
