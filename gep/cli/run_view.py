"""What ``gep run`` and ``gep demo`` show: catalog summary, stage progress, district table."""

from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from data_catalog.catalog import Catalog, catalog_summary
from gep.cli.console import console
from gep.config import RunConfig
from gep.run import STAGES, RunResult, execute
from gep.summary import landcover_shares, unit_counts

__all__ = ["print_catalog_summary", "print_run", "run_with_progress"]


def print_catalog_summary(cat: Catalog) -> None:
    """Grid, entries, land-cover shares and unit counts of a catalog."""
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
    columns = ("id", "kind", "variable", "year", "units", "size")
    for column in columns:
        entries.add_column(column)
    for row in catalog_summary(cat):
        entries.add_row(*(str(row[c]) for c in columns))
    console.print(entries)
    console.print(landcover_shares(cat))
    console.print(unit_counts(cat))


class _RichReporter:
    """Stage and step progress on the console (a spinner with elapsed time per stage)."""

    def __init__(self, progress: Progress, *, verbose: bool) -> None:
        self.progress = progress
        self.verbose = verbose
        self.task: TaskID | None = None
        self.total = progress.add_task("run", total=len(STAGES))

    def stage(self, name: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=1, visible=self.verbose)
            self.progress.advance(self.total)
        self.task = self.progress.add_task(name, total=1)

    def step(self, message: str) -> None:
        if self.task is not None:
            stage = self.progress.tasks[self.task].description.split(":")[0]
            self.progress.update(self.task, description=f"{stage}: {message}")

    def done(self) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=1, visible=self.verbose)
        self.progress.update(self.total, completed=len(STAGES))


def run_with_progress(
    config: RunConfig,
    out: Path,
    *,
    quiet: bool,
    verbose: bool,
    scheduler: str | None = None,
    chunks: int | None = None,
) -> RunResult:
    """Execute a run with a progress display (none with ``quiet``); errors propagate."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    with progress:
        reporter = _RichReporter(progress, verbose=verbose)
        result = execute(config, out, reporter=reporter, scheduler=scheduler, chunks=chunks)
        reporter.done()
    return result


def print_run(result: RunResult, *, quiet: bool) -> None:
    """The district table, the warnings and where the outputs are."""
    if quiet:
        console.print(f"{result.out}")
        return
    table = Table(title="GEP per district (10⁶ CNY yr⁻¹, constant prices) and allocation (10⁶ CNY)")
    summary = result.summary
    labels = {c: c.removesuffix("_cny").replace("_", " ") for c in summary.columns}
    table.add_column("district")
    numeric = [c for c in summary.columns if c.endswith("_cny")]
    for column in numeric:
        table.add_column(labels[column], justify="right")
    for row in summary.to_dict("records"):
        name = f"{row['unit_id']} {row['unit_name']}"
        table.add_row(name, *(f"{row[c] / 1e6:,.1f}" for c in numeric))
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    seconds = sum(result.timings.values())
    console.print(
        f"[green]done in {seconds:.1f} s[/green]: outputs in {result.out} "
        "(report.html, accounts.csv/.xlsx, units.gpkg, allocation.*, maps/, rasters/)"
    )
