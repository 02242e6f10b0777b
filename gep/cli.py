"""The ``gep`` command line: ``gep demo``, ``gep validate``, and friends."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from data_catalog.catalog import Catalog, catalog_summary, load_catalog, validate_catalog
from data_catalog.errors import CatalogError, GEPError, Problem
from data_catalog.sample import SYNTHETIC_NOTE
from gep import __version__
from gep.config import RunConfig, demo_config_path, load_run_config
from gep.run import STAGES, RunResult, execute
from gep.summary import landcover_shares, unit_counts
from gep.validate import is_run_config, validate_run
from linkage.errors import LinkageError

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
    catalog: Annotated[Path, typer.Argument(help="Run configuration or catalog (YAML) to check.")],
) -> None:
    """Check a run configuration or a catalog; report all problems at once (exit 1 if any)."""
    with console.status(f"checking {catalog} ..."):
        problems = validate_run(catalog) if is_run_config(catalog) else validate_catalog(catalog)
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


def _print_mapping(result: dict[str, object], *, digits: str) -> None:
    """Print a result dict line by line: numbers formatted, nested dicts inline."""
    for key, value in result.items():
        if isinstance(value, float):
            console.print(f"{key}: {value:,{digits}}")
        elif isinstance(value, int | str | Path):
            console.print(f"{key}: {value}")
        elif isinstance(value, dict):
            console.print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in value.items()))


def _fail(exc: GEPError | LinkageError) -> typer.Exit:
    """Print one of our errors (all problems of a catalog) and return the exit to raise."""
    if isinstance(exc, CatalogError):
        _print_problems(Path("the catalog"), exc.problems)
    else:
        err_console.print(f"[red]error:[/red] {exc}")
    err_console.print("[red]stopped before any output was written[/red]")
    return typer.Exit(code=2)


def _execute(
    config: RunConfig,
    out: Path,
    *,
    quiet: bool,
    verbose: bool,
    scheduler: str | None = None,
    chunks: int = 2048,
) -> RunResult:
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
        try:
            result = execute(config, out, reporter=reporter, scheduler=scheduler, chunks=chunks)
        except (GEPError, LinkageError) as exc:
            progress.stop()
            raise _fail(exc) from exc
        except KeyboardInterrupt:
            progress.stop()
            err_console.print("[yellow]interrupted: no output folder was written[/yellow]")
            raise typer.Exit(code=130) from None
        reporter.done()
    return result


def _print_run(result: RunResult, *, quiet: bool) -> None:
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
        console.print(f"[yellow]warning:[/yellow] {warning}")
    seconds = sum(result.timings.values())
    console.print(
        f"[green]done in {seconds:.1f} s[/green]: outputs in {result.out} "
        "(report.html, accounts.csv/.xlsx, units.gpkg, allocation.*, maps/, rasters/)"
    )


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Run configuration (YAML).")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: the config's `output`).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the output folder.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Keep every stage line.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Compute services with dask: local (LocalCluster), threads, or tcp://HOST:PORT."
        ),
    ] = None,
    chunks: Annotated[int, typer.Option(help="Chunk size (cells a side) with --scheduler.")] = 2048,
) -> None:
    """Run catalog → services → valuation → accounts → linkage → outputs."""
    try:
        cfg = load_run_config(config)
    except GEPError as exc:
        raise _fail(exc) from exc
    target = out or cfg.resolve_output()
    result = _execute(cfg, target, quiet=quiet, verbose=verbose, scheduler=scheduler, chunks=chunks)
    _print_run(result, quiet=quiet)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("gep-demo-output"),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the output folder.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Keep every stage line.")
    ] = False,
) -> None:
    """The whole pipeline on the embedded sample region (SYNTHETIC inputs), into ./gep-demo-output."""
    cfg = load_run_config(demo_config_path())
    if not quiet:
        cat = load_catalog(cfg.catalog_file())
        _print_summary(cat)
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/bold yellow]")
    result = _execute(cfg, out, quiet=quiet, verbose=verbose)
    _print_run(result, quiet=quiet)
    if not quiet:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/bold yellow]")


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
def invest(
    model: Annotated[str, typer.Argument(help="carbon, annual_water_yield or sdr.")],
    args_json: Annotated[Path, typer.Argument(help="InVEST args JSON or datastack .invs.json.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("gep-invest-output"),
) -> None:
    """Run gep's implementation of an InVEST model on InVEST-style inputs."""
    from gep.invest import run_invest

    try:
        with console.status(f"{model} ...") as status:
            summary = run_invest(model, args_json, out, progress=lambda m: status.update(m))
    except GEPError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"{model}: totals ({out / 'summary.json'})")
    table.add_column("total")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if isinstance(value, int | float):
            table.add_row(key, f"{value:,.6g}")
        elif isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values()):
            for sub_key, sub_value in value.items():
                table.add_row(f"{key}[{sub_key}]", f"{sub_value:,.6g}")
    console.print(table)


@app.command()
def occupation(
    footprint: Annotated[Path, typer.Argument(help="Construction footprint polygon(s).")],
    config: Annotated[Path, typer.Option(help="Run configuration (catalog, services, prices).")],
    out: Annotated[Path | None, typer.Option(help="Output folder.")] = None,
    horizon_years: Annotated[
        int | None, typer.Option(help="Years of lost GEP to compensate.")
    ] = None,
    discount_rate: Annotated[
        float | None, typer.Option(help="Discount rate (fraction, e.g. 0.08).")
    ] = None,
    reproject: Annotated[bool, typer.Option(help="Reproject a footprint in another CRS.")] = False,
) -> None:
    """GEP removed by a construction footprint and the compensation due (占用补偿)."""
    from gep.occupation import run_occupation

    try:
        with console.status("computing the GEP the footprint removes ..."):
            result = run_occupation(
                footprint,
                config,
                out,
                horizon_years=horizon_years,
                discount_rate=discount_rate,
                reproject=reproject or None,
            )
    except GEPError as exc:
        raise _fail(exc) from exc
    _print_mapping(result, digits=".2f")


@app.command()
def calibrate(
    config: Annotated[Path, typer.Argument(help="Calibration configuration (YAML).")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder for the calibration report.")
    ] = None,
) -> None:
    """Fit model parameters to observations; write fitted values, fit statistics and plots."""
    from gep.calibration_cli import run_calibration

    try:
        with console.status("calibrating ..."):
            result = run_calibration(config, out)
    except GEPError as exc:
        raise _fail(exc) from exc
    _print_mapping(result, digits=".6g")


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
