"""The ``gep`` command line: ``gep demo``, ``gep run``, ``gep validate`` and friends.

Each command imports what it uses when it runs, so ``gep --help`` and ``gep version`` start in
a fraction of a second. Every command exits with the statuses of :mod:`gep.cli.status`
(0 success, 1 problems found, 2 bad input, 3 failure during work, 130 interrupted, 143
terminated), also when it is run in-process (``typer.testing.CliRunner``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gep import __version__
from gep.cli.console import console, print_problems
from gep.cli.status import (
    EXIT_STATUS_HELP,
    ExitStatus,
    GuardedGroup,
    ignore_signals,
    install_sigterm,
)
from gep.cli.store import StorePath, record_link, record_run, serve, store_app

__all__ = ["ExitStatus", "app", "main"]

app = typer.Typer(
    cls=GuardedGroup,
    help="gep: GEP (gross ecosystem product) accounting and compensation linkage.",
    epilog=EXIT_STATUS_HELP,
    no_args_is_help=True,
    add_completion=False,
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output folder.")]
NoStore = Annotated[
    bool,
    typer.Option(
        "--no-store",
        help="Do not append the run to the accounts store (--store, $GEP_STORE or "
        "./gep-store.duckdb).",
    ),
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Keep every stage line.")]


def _existing(path: Path, what: str) -> Path:
    """``path`` if it is a file; else stop with exit status 2 naming it."""
    if not path.is_file():
        from data_catalog.errors import InputError

        raise InputError(f"{what} not found: {path} (give the path of an existing YAML file)")
    return path


@app.command()
def validate(
    catalog: Annotated[Path, typer.Argument(help="Run configuration or catalog (YAML) to check.")],
) -> None:
    """Check a run configuration or a catalog; report all problems at once (exit 1 if any)."""
    _existing(catalog, "file to validate")
    from data_catalog.catalog import validate_catalog
    from gep.validate import is_run_config, validate_run

    with console.status(f"checking {catalog} ..."):
        problems = validate_run(catalog) if is_run_config(catalog) else validate_catalog(catalog)
    if problems:
        print_problems(str(catalog), [(p.entry, p.field, p.message, p.hint) for p in problems])
        raise typer.Exit(code=ExitStatus.PROBLEMS_FOUND)
    console.print(f"[green]OK[/green]: {catalog} has no problem.")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Run configuration (YAML).")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: the config's `output`).")
    ] = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Compute services with dask: local (LocalCluster), threads, or tcp://HOST:PORT."
        ),
    ] = None,
    chunks: Annotated[
        int | None,
        typer.Option(
            help="Block edge, cells: the window computed and written at a time (default 1024; "
            "memory grows with its square), or the dask chunk with --scheduler (default 2048)."
        ),
    ] = None,
    store: StorePath = None,
    no_store: NoStore = False,
) -> None:
    """Run catalog → services → valuation → accounts → linkage → outputs."""
    from gep.cli.run_view import print_run, run_with_progress
    from gep.config import load_run_config

    cfg = load_run_config(_existing(config, "run configuration"))
    target = out or cfg.resolve_output()
    result = run_with_progress(
        cfg, target, quiet=quiet, verbose=verbose, scheduler=scheduler, chunks=chunks
    )
    print_run(result, quiet=quiet)
    record_run(result.out, store, enabled=not no_store)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("gep-demo-output"),
    quiet: Quiet = False,
    verbose: Verbose = False,
    store: StorePath = None,
    no_store: NoStore = False,
) -> None:
    """The whole pipeline on the embedded sample region (SYNTHETIC inputs), into ./gep-demo-output."""
    from data_catalog.catalog import load_catalog
    from data_catalog.sample import SYNTHETIC_NOTE
    from gep.cli.run_view import print_catalog_summary, print_run, run_with_progress
    from gep.config import demo_config_path, load_run_config

    cfg = load_run_config(demo_config_path())
    if not quiet:
        print_catalog_summary(load_catalog(cfg.catalog_file()))
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/bold yellow]")
    result = run_with_progress(cfg, out, quiet=quiet, verbose=verbose)
    print_run(result, quiet=quiet)
    record_run(result.out, store, enabled=not no_store)
    if not quiet:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/bold yellow]")


@app.command()
def link(
    config: Annotated[Path, typer.Argument(help="Linkage policy configuration (YAML).")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default ./gep-link-output).")
    ] = None,
    store: StorePath = None,
    no_store: NoStore = False,
) -> None:
    """Compensation coefficients and fund allocation from accounts and indicator tables."""
    from rich.table import Table

    from linkage.run import SUMMARY_COLUMNS, run_link, summary_rows

    with console.status("linking GEP to compensation ..."):
        result = run_link(config, out)
    console.print(result.summary)
    table = Table(title="Allocation")
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="right" if column != "unit" else "left")
    for row in summary_rows(result):
        table.add_row(*row)
    console.print(table)
    for name, path in result.outputs.items():
        console.print(f"wrote {name}: {path}")
    record_link(Path(result.outputs["csv"]).parent, config, store, enabled=not no_store)


@app.command()
def invest(
    model: Annotated[str, typer.Argument(help="carbon, annual_water_yield or sdr.")],
    args_json: Annotated[Path, typer.Argument(help="InVEST args JSON or datastack .invs.json.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("gep-invest-output"),
) -> None:
    """Run gep's implementation of an InVEST model on InVEST-style inputs."""
    from rich.markup import escape
    from rich.table import Table

    from gep.invest.run import run_invest

    with console.status(f"{model} ...") as status:
        summary = run_invest(model, args_json, out, progress=lambda m: status.update(m))
    table = Table(title=f"{model}: totals ({out / 'summary.json'})")
    table.add_column("total")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if isinstance(value, int | float):
            table.add_row(key, f"{value:,.6g}")
        elif isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values()):
            for sub_key, sub_value in value.items():
                # escaped: rich would read "[price]" as a style tag and drop it
                table.add_row(escape(f"{key}[{sub_key}]"), f"{sub_value:,.6g}")
    console.print(table)


def _print_mapping(result: dict[str, object], *, digits: str) -> None:
    """Print a result dict line by line: numbers formatted, nested dicts inline."""
    for key, value in result.items():
        if isinstance(value, float):
            console.print(f"{key}: {value:,{digits}}")
        elif isinstance(value, int | str | Path):
            console.print(f"{key}: {value}")
        elif isinstance(value, dict):
            console.print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in value.items()))


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

    with console.status("computing the GEP the footprint removes ..."):
        result = run_occupation(
            footprint,
            config,
            out,
            horizon_years=horizon_years,
            discount_rate=discount_rate,
            reproject=reproject or None,
        )
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

    with console.status("calibrating ..."):
        result = run_calibration(config, out)
    _print_mapping(result, digits=".6g")
    if result.get("mode") == "fit" and not result.get("passed", True):
        console.print(
            "[red]the fit failed its plausibility gates[/red]: no parameter table or run "
            "configuration was written (set `force: true` to write them anyway)"
        )
        raise typer.Exit(code=ExitStatus.PROBLEMS_FOUND)


@app.command()
def sensitivity(
    config: Annotated[Path, typer.Argument(help="Analysis configuration (YAML).")],
    out: Annotated[Path | None, typer.Option(help="Output folder.")] = None,
) -> None:
    """Sensitivity of GEP and allocations to parameters: Sobol indices or Morris screening."""
    from gep.analysis.commands import run_sensitivity

    with console.status("sensitivity analysis ..."):
        result = run_sensitivity(_existing(config, "analysis configuration"), out)
    _print_mapping(result, digits=".6g")


@app.command()
def uncertainty(
    config: Annotated[Path, typer.Argument(help="Analysis configuration (YAML).")],
    out: Annotated[Path | None, typer.Option(help="Output folder.")] = None,
) -> None:
    """Monte Carlo intervals of each unit's GEP and allocation under parameter uncertainty."""
    from gep.analysis.commands import run_uncertainty

    with console.status("uncertainty analysis ..."):
        result = run_uncertainty(_existing(config, "analysis configuration"), out)
    _print_mapping(result, digits=".6g")


app.add_typer(store_app, name="store")
app.command()(serve)


@app.command()
def version() -> None:
    """Print the engine version."""
    console.print(f"gep {__version__}")


def main() -> None:
    """Console-script entry point: run the app; SIGTERM cleans up like Ctrl-C (status 143).

    Once the command has ended (its status decided), further Ctrl-C or SIGTERM during the
    interpreter's shutdown are ignored, so a late signal cannot change the exit status.
    """
    install_sigterm()
    try:
        app()
    finally:
        ignore_signals()
