"""Exceptions of the linkage layer.

Every message says which rule (by its id), which table or field, what was expected, what was
found and how to fix it. Validation reports *all* problems at once.
"""

from __future__ import annotations

from dataclasses import dataclass


class LinkageError(Exception):
    """Base class of every error the linkage layer raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a policy configuration or an input table.

    Parameters
    ----------
    rule_id : str
        Id of the rule the problem belongs to (``"config"`` for file-level problems).
    where : str
        Config field (``districts.level.weights``) or ``table.column``.
    message : str
        What is wrong: what was expected and what was found.
    hint : str
        How to fix it.
    """

    rule_id: str
    where: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"[{self.rule_id}] {self.where}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class ConfigError(LinkageError):
    """A policy configuration (or an input table it names) has problems; all are listed."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} in the linkage configuration:\n{lines}"
        )

    @property
    def rule_ids(self) -> list[str]:
        """Rule ids of all problems, in the order found."""
        return [p.rule_id for p in self.problems]


class InputTableError(ConfigError):
    """An input table misses a column, a unit or a value, or holds an invalid one."""


class InfeasibleAllocationError(LinkageError):
    """Floors and caps cannot both hold for the budget being split."""

    def __init__(self, rule_id: str, message: str) -> None:
        self.rule_id = rule_id
        super().__init__(f"[{rule_id}] {message}")
