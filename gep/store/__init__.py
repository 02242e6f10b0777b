"""The accounts store: every run's record, accounts, GEP by unit, allocation and unit polygons.

One DuckDB file (``./gep-store.duckdb`` unless ``--store`` or ``GEP_STORE`` names another)
keeps the runs of several years together so they can be listed, compared and served
(``gep store``, ``gep serve``). A run is appended from its published output folder
(:func:`append_run`) in one transaction under a writer lock; readers open the file read-only
and never see a half-written run. See :mod:`gep.store.schema` for the schema and migrations.
"""

from __future__ import annotations

from gep.store.ingest import append_run, read_output_folder
from gep.store.query import (
    RunData,
    check_run_id,
    diff_allocation,
    diff_runs,
    export_run,
    list_runs,
    load_run,
    show_run,
)
from gep.store.schema import (
    SCHEMA_VERSION,
    StoreBusyError,
    StoreError,
    UnknownRunError,
    default_store_path,
)

__all__ = [
    "SCHEMA_VERSION",
    "RunData",
    "StoreBusyError",
    "StoreError",
    "UnknownRunError",
    "append_run",
    "check_run_id",
    "default_store_path",
    "diff_allocation",
    "diff_runs",
    "export_run",
    "list_runs",
    "load_run",
    "read_output_folder",
    "show_run",
]
