"""Exceptions of the data layer (and the base of every error gep raises on purpose).

Messages say what went wrong, where, what was expected and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


class GEPError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a catalog entry.

    Parameters
    ----------
    entry : str
        Catalog entry id (``"catalog"`` for catalog-wide problems).
    field : str
        The entry field the problem is about (``path``, ``crs``, ``nodata`` ...).
    message : str
        What is wrong: what was expected and what was found.
    hint : str
        How to fix it.
    """

    entry: str
    field: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.entry}.{self.field}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class CatalogError(GEPError):
    """A catalog (or its inputs) has one or more problems; all are listed."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("catalog", "file", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the catalog:\n{lines}")


class GridMismatchError(GEPError):
    """Two rasters that must share a grid do not."""


class UnitError(GEPError):
    """A unit is unknown or cannot be converted to the one required."""


class CRSError(GEPError):
    """A coordinate reference system is missing or unsuitable."""


class InputError(GEPError):
    """A user input (file, table, parameter) is invalid."""
