"""The command line's consoles and its way of printing problems.

On a terminal, problems are a table; anywhere else (a log file, CI, a scheduler) each problem is
one unbroken line, ``entry: field: problem (fix: ...)``, so that searching a log finds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

__all__ = ["console", "err_console", "print_error", "print_problems", "problem_line"]

console = Console()
err_console = Console(stderr=True)


def problem_line(entry: str, field: str, message: str, hint: str) -> str:
    """One problem on one line.

    Examples
    --------
    >>> problem_line("precipitation_2020", "path", "file not found", "check the path")
    'precipitation_2020: path: file not found (fix: check the path)'
    """
    text = f"{entry}: {field}: {message}"
    return f"{text} (fix: {hint})" if hint else text


def print_problems(
    where: str, rows: Sequence[tuple[str, str, str, str]], *, title: str = "problem(s)"
) -> None:
    """Print ``(entry, field, problem, how to fix)`` rows to stderr: a table on a terminal."""
    heading = f"{len(rows)} {title} in {where}" if title == "problem(s)" else f"{title}: {where}"
    if err_console.is_terminal:
        from rich.table import Table

        table = Table(title=heading, show_lines=False)
        for column in ("entry", "field", "problem", "how to fix"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(escape(str(v)) for v in row))
        err_console.print(table)
        return
    err_console.print(f"{heading}:", markup=False, highlight=False, soft_wrap=True)
    for row in rows:
        err_console.print(
            problem_line(*map(str, row)), markup=False, highlight=False, soft_wrap=True
        )


def print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, unbroken when stderr is not a terminal."""
    err_console.print("[red]error:[/red] " + escape(message), highlight=False, soft_wrap=True)
