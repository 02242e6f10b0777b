"""``gep store …`` and ``gep serve``: the accounts store and the planner app on it.

Imports only typer at module level; each command imports the store or the server when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gep.cli.console import console, err_console
from gep.cli.status import GuardedGroup

__all__ = ["StorePath", "record_link", "record_run", "serve", "store_app"]

store_app = typer.Typer(
    cls=GuardedGroup,
    help="The accounts store: runs, accounts, GEP by unit, allocation (DuckDB file).",
    no_args_is_help=True,
)

StorePath = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store file (default: $GEP_STORE, else ./gep-store.duckdb).",
        show_default=False,
    ),
]


@store_app.command("list")
def store_list(store: StorePath = None) -> None:
    """List the runs in the store, oldest first."""
    from gep.store import default_store_path, list_runs
    from gep.store.text import runs_table

    path = default_store_path(store)
    console.print(runs_table(list_runs(path), str(path)))


@store_app.command("show")
def store_show(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id (or latest).")],
    store: StorePath = None,
) -> None:
    """Show a run's record: time, engine version, configuration, input hashes."""
    from gep.store import default_store_path, show_run
    from gep.store.text import input_lines, run_table

    record = show_run(default_store_path(store), run_id)
    console.print(run_table(record))
    for line in input_lines(record):
        console.print(line, soft_wrap=True, markup=False, highlight=False)


@store_app.command("diff")
def store_diff(
    run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="Run id (or latest).")],
    run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="Run id (or latest).")],
    store: StorePath = None,
    level: Annotated[str, typer.Option(help="district or township.")] = "district",
    limit: Annotated[int, typer.Option(help="Units shown (largest changes).")] = 20,
    out: Annotated[
        Path | None, typer.Option(help="Also write the full diff (unit × service) as CSV.")
    ] = None,
) -> None:
    """Compare two runs: GEP per unit and service, run B − run A (CNY)."""
    from gep.io.atomic import atomic_write
    from gep.store import default_store_path, diff_runs
    from gep.store.text import diff_table

    diff = diff_runs(default_store_path(store), run_a, run_b)
    console.print(diff_table(diff, level=level, limit=limit))
    if out is not None:
        atomic_write(out, lambda tmp: diff.to_csv(tmp, index=False, encoding="utf-8-sig"))
        console.print(f"wrote {out}")


@store_app.command("export")
def store_export(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id (or latest).")],
    out: Annotated[Path, typer.Option(help="New folder to write the run's files into.")],
    store: StorePath = None,
) -> None:
    """Write a stored run back to files (accounts, GEP by unit, allocation, manifest, units)."""
    from gep.store import default_store_path, export_run

    console.print(f"wrote {export_run(default_store_path(store), run_id, out)}")


@store_app.command("append")
def store_append(
    folder: Annotated[Path, typer.Argument(help="Output folder of a finished gep run.")],
    store: StorePath = None,
) -> None:
    """Append a finished run's output folder to the store (one transaction)."""
    from gep.store import append_run, default_store_path

    path = default_store_path(store)
    console.print(f"appended run {append_run(path, folder)} to {path}")


@store_app.command("migrate")
def store_migrate(store: StorePath = None) -> None:
    """Bring the store's schema to this gep's version."""
    from gep.store.schema import SCHEMA_VERSION, connect_write

    path = default_store_path_checked(store)
    with connect_write(path):
        pass
    console.print(f"{path}: schema version {SCHEMA_VERSION}")


def default_store_path_checked(store: Path | None) -> Path:
    """The store to use; it must exist (commands that only read never create one)."""
    from gep.store import StoreError, default_store_path

    path = default_store_path(store)
    if not path.is_file():
        raise StoreError(f"no accounts store at {path}; name one with --store or GEP_STORE")
    return path


def serve(
    store: StorePath = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the planner app (map, unit panel, run comparison) and JSON API on the store."""
    from gep.serve.app import serve as run_server

    path = default_store_path_checked(store)
    run_server(path, host=host, port=port, announce=console.print)


def record_run(out: Path, store: Path | None, *, enabled: bool) -> None:
    """Append a published run's folder to the accounts store (``--no-store`` skips it).

    The run's outputs are complete when this is called: a store that cannot take the run (held
    by another writer, newer schema, read-only file) gives a warning naming the command that
    appends it later, not a failed run.
    """
    if not enabled:
        return
    from gep.store import StoreError, append_run, default_store_path

    path = default_store_path(store)
    try:
        run_id = append_run(path, out)
    except (StoreError, OSError) as exc:
        err_console.print(
            f"[yellow]warning:[/yellow] the run was not added to the accounts store {path}: "
            f"{exc} (add it later with `gep store append {out}`)",
            soft_wrap=True,
        )
        return
    console.print(f"stored as run {run_id} in {path}", soft_wrap=True)


def record_link(out: Path, policy: Path, store: Path | None, *, enabled: bool) -> None:
    """Append what ``gep link`` wrote (allocation lines, run record) to the accounts store.

    As for :func:`record_run`, a store that cannot take it gives a warning: the linkage's
    outputs are complete.
    """
    if not enabled:
        return
    from gep import __version__
    from gep.store import StoreError, default_store_path
    from gep.store.link_runs import append_link_run

    path = default_store_path(store)
    try:
        run_id = append_link_run(path, out, policy, engine={"name": "gep", "version": __version__})
    except (StoreError, OSError) as exc:
        err_console.print(
            f"[yellow]warning:[/yellow] the linkage was not added to the accounts store {path}: "
            f"{exc}",
            soft_wrap=True,
        )
        return
    console.print(f"stored as run {run_id} in {path}", soft_wrap=True)
