"""The ``gep`` command line: ``gep demo``, ``gep validate``, and friends."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from data_catalog.catalog import Catalog, catalog_summary, load_catalog, validate_catalog
from data_catalog.errors import GEPError, Problem
from data_catalog.sample import SYNTHETIC_NOTE, catalog_path
from gep import __version__
from gep.summary import landcover_shares, unit_counts

app = typer.Typer(
    help="gep: GEP (gross ecosystem product) accounting and compensation linkage.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def _print_problems(path: Path, problems: list[Problem]) -> None:
    table = Table(title=f"{len(problems)} problem(s) in {path}", show_lines=False)
    for column in ("entry", "field", "problem", "how to fix"):
        table.add_column(column, overflow="fold")
    for p in problems:
        table.add_row(p.entry, p.field, p.message, p.hint)
    err_console.print(table)


@app.command()
def validate(
    catalog: Annotated[Path, typer.Argument(help="Catalog YAML file to check.")],
) -> None:
    """Check every entry of a catalog and report all problems at once (exit 1 if any)."""
    with console.status(f"checking {catalog} ..."):
        problems = validate_catalog(catalog)
    if problems:
        _print_problems(catalog, problems)
        raise typer.Exit(code=1)
    console.print(f"[green]OK[/green]: {catalog} has no problem.")


def _print_summary(cat: Catalog) -> None:
    grid = cat.reference_grid()
    console.rule(f"[bold]{cat.name}[/bold]")
    console.print(cat.description)
    px, py = grid.pixel_size_m()
    area_km2 = float(grid.cell_area_m2().sum()) * grid.shape[1] / 1e6
    console.print(
        f"Grid: {grid.shape[0]} × {grid.shape[1]} cells of {px:g} × {py:g} m, "
        f"{grid.crs.name} ({grid.crs.to_string()}), extent {area_km2:,.0f} km²"
    )
    entries = Table(title="Catalog entries")
    for column in ("id", "kind", "variable", "year", "units", "size"):
        entries.add_column(column)
    for row in catalog_summary(cat):
        entries.add_row(*(str(row[c]) for c in ("id", "kind", "variable", "year", "units", "size")))
    console.print(entries)
    console.print(landcover_shares(cat))
    console.print(unit_counts(cat))


@app.command()
def demo(
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog to use instead of the embedded sample region.")
    ] = None,
) -> None:
    """Load and validate the embedded sample region (Beijing) and print its summary."""
    path = catalog or catalog_path()
    with console.status("validating the sample region ..."):
        problems = validate_catalog(path)
    if problems:
        _print_problems(path, problems)
        raise typer.Exit(code=1)
    cat = load_catalog(path)
    _print_summary(cat)
    if cat.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/bold yellow]")
    console.print("[green]Sample region loaded and validated: no problem found.[/green]")


@app.command()
def link(
    config: Annotated[Path, typer.Argument(help="Linkage policy configuration (YAML).")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default ./gep-link-output).")
    ] = None,
) -> None:
    """Compensation coefficients and fund allocation from accounts and indicator tables."""
    from linkage.errors import ConfigError, LinkageError
    from linkage.run import SUMMARY_COLUMNS, run_link, summary_rows

    try:
        with console.status("linking GEP to compensation ..."):
            result = run_link(config, out)
    except ConfigError as exc:
        err_console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    except LinkageError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    console.print(result.summary)
    table = Table(title="Allocation")
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="right" if column != "unit" else "left")
    for row in summary_rows(result):
        table.add_row(*row)
    console.print(table)
    for name, path in result.outputs.items():
        console.print(f"wrote {name}: {path}")


@app.command()
def version() -> None:
    """Print the engine version."""
    console.print(f"gep {__version__}")


def main() -> None:
    """Entry point that turns our errors into one clear line and exit code 2."""
    try:
        app(standalone_mode=False)
    except GEPError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from exc
