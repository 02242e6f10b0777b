"""The accounts store's database file: schema, migrations, connections and the writer lock.

The store is one DuckDB file (core DuckDB only: extension auto-install and auto-load are
switched off, so nothing is downloaded at run time). DuckDB lets one process write a file or
several processes read it, never both at once, so:

- a writer takes an exclusive file lock (``STORE.lock`` beside the store) before it opens the
  file, which serialises writers across processes, then writes a whole run in one transaction;
- a reader opens the file read-only for as short a time as it can, retrying while a writer
  holds it, and so never sees a half-written run.

The schema version is kept in the table ``schema_version``; :data:`MIGRATIONS` lists the
statements that bring a store from each version to the next. A writer migrates an older store
before it writes; a reader refuses a store written by a newer gep.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from data_catalog.errors import GEPError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "StoreBusyError",
    "StoreError",
    "UnknownRunError",
    "connect_read",
    "connect_write",
    "default_store_path",
    "schema_version",
]

#: Environment variable naming the store when ``--store`` is not given.
STORE_ENV = "GEP_STORE"
#: The store in the working directory when neither ``--store`` nor ``GEP_STORE`` names one.
DEFAULT_STORE = "gep-store.duckdb"

#: DuckDB settings: core only, never download or load an extension.
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

#: Statements taking the store from version ``i`` to ``i + 1`` (``MIGRATIONS[0]``: empty → 1).
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,            -- UTC
            engine_name VARCHAR, engine_version VARCHAR,
            config_name VARCHAR, catalog_name VARCHAR, synthetic BOOLEAN,
            years VARCHAR,                            -- JSON list of years
            source_folder VARCHAR,
            config_json VARCHAR, manifest_json VARCHAR,
            files_sha256 VARCHAR                      -- JSON {file: sha256} of what was read
        )""",
        """CREATE TABLE run_inputs (
            run_id VARCHAR, input_id VARCHAR, kind VARCHAR, path VARCHAR,
            bytes BIGINT, sha256 VARCHAR
        )""",
        """CREATE TABLE accounts (
            run_id VARCHAR, row_no INTEGER, unit_id VARCHAR, unit_name VARCHAR, level VARCHAR,
            parent_id VARCHAR, year INTEGER, service VARCHAR, component VARCHAR,
            quantity DOUBLE, quantity_unit VARCHAR,
            value_current_cny DOUBLE, value_constant_cny DOUBLE, price_year INTEGER,
            extra VARCHAR                             -- JSON of the file's other columns
        )""",
        """CREATE TABLE gep_by_unit (
            run_id VARCHAR, row_no INTEGER, unit_id VARCHAR, unit_name VARCHAR, level VARCHAR,
            parent_id VARCHAR, year INTEGER, gep_current_cny DOUBLE, gep_constant_cny DOUBLE,
            area_km2 DOUBLE, gep_constant_cny_per_km2 DOUBLE, change_constant_cny DOUBLE,
            extra VARCHAR
        )""",
        """CREATE TABLE allocation (
            run_id VARCHAR, row_no INTEGER, unit_id VARCHAR, unit_name VARCHAR, level VARCHAR,
            parent_id VARCHAR, year INTEGER, stage VARCHAR, coefficient DOUBLE,
            amount_fen BIGINT, amount_cny DOUBLE, extra VARCHAR
        )""",
        """CREATE TABLE units (
            run_id VARCHAR, unit_id VARCHAR, level VARCHAR, unit_name VARCHAR,
            source_crs VARCHAR, geometry_wkb BLOB      -- WGS84 (EPSG:4326), lon/lat
        )""",
        "CREATE TABLE columns (run_id VARCHAR, table_name VARCHAR, columns VARCHAR)",
    ),
    (
        # what kind of run (a whole ``run``, a ``link`` alone, a what-if ``scenario``) and the
        # concrete linkage policy it used (so a scenario can link again without the folder)
        "ALTER TABLE runs ADD COLUMN kind VARCHAR DEFAULT 'run'",
        "ALTER TABLE runs ADD COLUMN policy_yaml VARCHAR",
        # decomposition.csv: ΔGEP = volume + price effects, volume = condition + weather
        """CREATE TABLE decomposition (
            run_id VARCHAR, row_no INTEGER, unit_id VARCHAR, level VARCHAR,
            year_from INTEGER, year_to INTEGER, change_cny DOUBLE, volume_effect_cny DOUBLE,
            price_effect_cny DOUBLE, condition_effect_cny DOUBLE, weather_effect_cny DOUBLE,
            extra VARCHAR
        )""",
        # a scenario run: the run it changed and the change (JSON)
        """CREATE TABLE scenarios (
            run_id VARCHAR PRIMARY KEY, base_run_id VARCHAR, year INTEGER,
            change_json VARCHAR, pixels_changed BIGINT, timings_json VARCHAR
        )""",
    ),
]

#: The schema version this gep writes and reads.
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(GEPError):
    """The accounts store, or what was asked of it, is invalid (exit status 2)."""


class StoreBusyError(StoreError):
    """Another process holds the store (a writer, or readers a writer waited for too long)."""


class UnknownRunError(StoreError):
    """A run id is not in the store."""


def default_store_path(store: Path | str | None = None) -> Path:
    """The store to use: ``store`` if given, else ``$GEP_STORE``, else ``./gep-store.duckdb``.

    Parameters
    ----------
    store : path-like, optional
        A store named on the command line (``--store``).

    Returns
    -------
    pathlib.Path
        The store's path (it need not exist yet).

    Examples
    --------
    >>> default_store_path("x.duckdb").name
    'x.duckdb'
    """
    if store:
        return Path(store)
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def _lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def _connect(store: Path, *, read_only: bool) -> Any:
    import duckdb

    return duckdb.connect(str(store), read_only=read_only, config=dict(_CONFIG))


def _open_retrying(store: Path, *, read_only: bool, timeout_s: float) -> Any:
    """Open ``store``, retrying while another process holds DuckDB's own file lock."""
    import duckdb

    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            return _connect(store, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise StoreBusyError(
                    f"the store {store} is held by another process ({exc}); "
                    "try again when it has finished"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def schema_version(con: Any) -> int:
    """The schema version of an open store (0 for an empty database file)."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not found:
        return 0
    value = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return int(value or 0)


def _check_not_newer(store: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {store} has schema version {version}, newer than this gep's "
            f"{SCHEMA_VERSION}: upgrade gep to read it"
        )


def migrate(con: Any, store: Path) -> int:
    """Bring an open, writable store to :data:`SCHEMA_VERSION`, one transaction per step.

    Returns
    -------
    int
        The number of migration steps applied.
    """
    version = schema_version(con)
    _check_not_newer(store, version)
    if version == 0:
        con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
    for step in range(version, SCHEMA_VERSION):
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in MIGRATIONS[step]:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)",
                [step + 1],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION - version


@contextlib.contextmanager
def connect_write(store: Path, *, lock_timeout_s: float = 60.0) -> Iterator[Any]:
    """Open ``store`` for writing under the writer lock; create and migrate it if needed.

    Parameters
    ----------
    store : pathlib.Path
        The store's file (created with its parent folder if missing).
    lock_timeout_s : float
        Seconds to wait for another writer, then :class:`StoreBusyError`.

    Yields
    ------
    duckdb.DuckDBPyConnection
        A read-write connection, closed on exit.
    """
    from filelock import FileLock, Timeout

    store = Path(store)
    if store.exists() and store.is_dir():
        raise StoreError(f"the store {store} is a folder; name a file such as gep-store.duckdb")
    store.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(_lock_path(store)))
    try:
        lock.acquire(timeout=lock_timeout_s)
    except Timeout:
        raise StoreBusyError(
            f"another gep process is writing to {store} (lock {_lock_path(store)} held for "
            f"more than {lock_timeout_s:g} s); try again when it has finished"
        ) from None
    try:
        con = _open_retrying(store, read_only=False, timeout_s=lock_timeout_s)
        try:
            migrate(con, store)
            yield con
        finally:
            con.close()
    finally:
        lock.release()


@contextlib.contextmanager
def connect_read(store: Path, *, timeout_s: float = 30.0) -> Iterator[Any]:
    """Open an existing ``store`` read-only for the duration of the block.

    Raises
    ------
    StoreError
        If the store does not exist, or has a schema newer (or older) than this gep's.
    """
    store = Path(store)
    if not store.is_file():
        raise StoreError(
            f"no accounts store at {store}: `gep store append OUTPUT_FOLDER` (or a `gep run` "
            "that appends) creates it; name another with --store or GEP_STORE"
        )
    con = _open_retrying(store, read_only=True, timeout_s=timeout_s)
    try:
        version = schema_version(con)
        _check_not_newer(store, version)
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"the store {store} has schema version {version}, older than {SCHEMA_VERSION}: "
                "run `gep store migrate` (or any command that writes to it) first"
            )
        yield con
    finally:
        con.close()
