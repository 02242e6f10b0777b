"""Rule lines of the per-unit programmes: every step of an amount, with its rule id.

Each programme (cropland, transfer, awards) writes, per unit, one line per rule: the basis
(an area, a gap, an index change), the rate, and the contribution in CNY. The contributions
are exact decimals (whole fen, or 0.0001 CNY for the shares of a budget) and a closing line
makes them add up to the amount paid to the fen, so every amount can be recomputed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd

__all__ = [
    "PROGRAMME_LINE_COLUMNS",
    "Line",
    "cny",
    "fen_half_up",
    "lines_frame",
    "rounded",
    "to_decimal",
    "total",
]

PROGRAMME_LINE_COLUMNS = (
    "programme",
    "unit_id",
    "step",
    "rule_id",
    "description",
    "basis",
    "basis_unit",
    "rate",
    "rate_unit",
    "contribution_cny",
    "running_total_cny",
)

_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Line:
    """One rule line of one unit.

    Parameters
    ----------
    rule_id : str
        Id of the rule in the policy configuration.
    description : str
        What the line is.
    contribution : decimal.Decimal
        Contribution in CNY (positive or negative).
    basis : float
        The quantity the rate applies to (NaN when none).
    basis_unit : str
        Unit of ``basis``.
    rate : float
        The rate or factor applied (NaN when none).
    rate_unit : str
        Unit of ``rate``.
    """

    rule_id: str
    description: str
    contribution: Decimal
    basis: float = float("nan")
    basis_unit: str = ""
    rate: float = float("nan")
    rate_unit: str = ""


def to_decimal(x: float | int | Decimal) -> Decimal:
    """A float as the decimal it prints as (``repr``), so that 0.1 stays 0.1.

    Examples
    --------
    >>> to_decimal(0.1) * 3
    Decimal('0.3')
    """
    if isinstance(x, Decimal):
        return x
    return Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x)


def fen_half_up(amount_cny: Decimal | Fraction) -> int:
    """Whole fen of a CNY amount, rounding halves away from zero.

    Examples
    --------
    >>> fen_half_up(Decimal("1.005")), fen_half_up(Decimal("-1.005")), fen_half_up(Fraction(1, 3))
    (101, -101, 33)
    """
    if isinstance(amount_cny, Fraction):
        amount_cny = Decimal(amount_cny.numerator) / Decimal(amount_cny.denominator)
    return int((amount_cny * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cny(fen: int) -> Decimal:
    """Fen as an exact CNY decimal.

    Examples
    --------
    >>> cny(12345)
    Decimal('123.45')
    """
    return Decimal(fen) / 100


def rounded(amount_cny: Decimal) -> Decimal:
    """A contribution as the lines show it: 0.0001 CNY, halves away from zero.

    Examples
    --------
    >>> rounded(Decimal("1.23455"))
    Decimal('1.2346')
    """
    return amount_cny.quantize(_PLACES, rounding=ROUND_HALF_UP)


def total(lines: list[Line]) -> Decimal:
    """Sum of the lines' contributions as shown (each rounded to 0.0001 CNY)."""
    return sum((rounded(line.contribution) for line in lines), Decimal(0))


def lines_frame(programme: str, lines: dict[str, list[Line]]) -> pd.DataFrame:
    """The lines of every unit as a table with step numbers and running totals.

    Parameters
    ----------
    programme : str
        Programme name (first column).
    lines : dict of str to list of Line
        Unit id to its lines in order.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PROGRAMME_LINE_COLUMNS`; contributions rounded to 0.0001 CNY.

    Examples
    --------
    >>> frame = lines_frame("p", {"u": [Line("A", "a", Decimal("1.50")),
    ...                                 Line("B", "b", Decimal("-0.25"))]})
    >>> frame["running_total_cny"].tolist()
    [1.5, 1.25]
    """
    rows = []
    for unit, unit_lines in lines.items():
        running = Decimal(0)
        for step, line in enumerate(unit_lines, start=1):
            value = rounded(line.contribution)
            running += value
            rows.append(
                (
                    programme,
                    unit,
                    step,
                    line.rule_id,
                    line.description,
                    float(line.basis),
                    line.basis_unit,
                    float(line.rate),
                    line.rate_unit,
                    float(value),
                    float(running),
                )
            )
    return pd.DataFrame(rows, columns=list(PROGRAMME_LINE_COLUMNS))
