"""Append a finished run's output folder to the accounts store.

Only the published files are read (``manifest.json``, ``accounts.csv``, ``gep_by_unit.csv``,
``allocation.csv``, ``units.gpkg``), never the engine's objects, so the store keeps working
while the engine changes. Everything is read and checked before the store is opened; the run is
then written in one transaction, so a failure leaves no part of it behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gep.store.schema import StoreError, connect_write

__all__ = [
    "REQUIRED_FILES",
    "RunFiles",
    "append_run",
    "append_tables",
    "read_output_folder",
]

#: Files a run's output folder must have to be appended.
REQUIRED_FILES = ("manifest.json", "accounts.csv", "gep_by_unit.csv", "allocation.csv")

#: Typed columns of each table (in the store's column order); others go to ``extra`` (JSON).
CORE_COLUMNS: dict[str, dict[str, str]] = {
    "accounts": {
        "unit_id": "str",
        "unit_name": "str",
        "level": "str",
        "parent_id": "str",
        "year": "int",
        "service": "str",
        "component": "str",
        "quantity": "float",
        "quantity_unit": "str",
        "value_current_cny": "float",
        "value_constant_cny": "float",
        "price_year": "int",
    },
    "gep_by_unit": {
        "unit_id": "str",
        "unit_name": "str",
        "level": "str",
        "parent_id": "str",
        "year": "int",
        "gep_current_cny": "float",
        "gep_constant_cny": "float",
        "area_km2": "float",
        "gep_constant_cny_per_km2": "float",
        "change_constant_cny": "float",
    },
    "allocation": {
        "unit_id": "str",
        "unit_name": "str",
        "level": "str",
        "parent_id": "str",
        "year": "int",
        "stage": "str",
        "coefficient": "float",
        "amount_fen": "int",
        "amount_cny": "float",
    },
    "decomposition": {
        "unit_id": "str",
        "level": "str",
        "year_from": "int",
        "year_to": "int",
        "change_cny": "float",
        "volume_effect_cny": "float",
        "price_effect_cny": "float",
        "condition_effect_cny": "float",
        "weather_effect_cny": "float",
    },
}
#: Tables a run's folder may lack (a single-year run has no decomposition).
OPTIONAL_TABLES = ("decomposition",)
#: Columns a file must have (the rest of the core columns may be missing and are stored empty).
_REQUIRED_COLUMNS = {
    "accounts": ("unit_id", "level", "year", "service", "value_constant_cny"),
    "gep_by_unit": ("unit_id", "level", "year", "gep_constant_cny"),
    "allocation": ("unit_id", "level", "amount_fen"),
    "decomposition": ("unit_id", "level"),
}


@dataclass
class RunFiles:
    """What a run's output folder holds, read and checked, ready to be written to the store."""

    folder: Path | None  # None: a run computed in memory (a scenario)
    manifest: dict[str, Any]
    tables: dict[str, Any]  # table name -> pandas.DataFrame as read (all columns)
    units: Any  # pandas.DataFrame: unit_id, level, unit_name, source_crs, geometry_wkb
    files_sha256: dict[str, str]
    kind: str = "run"  # run | link | scenario
    policy_yaml: str | None = None  # the concrete linkage policy the run used
    units_from: str | None = None  # copy the unit polygons of this stored run
    scenario: dict[str, Any] | None = None  # a scenario's base run and change


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_table(folder: Path, name: str) -> Any:
    import pandas as pd

    path = folder / f"{name}.csv"
    text_columns = {c: str for c in ("unit_id", "parent_id", "unit_name", "level", "stage")}
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=text_columns, keep_default_na=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise StoreError(f"{path}: cannot be read as CSV ({exc})") from None
    missing = [c for c in _REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise StoreError(
            f"{path}: missing column(s) {', '.join(missing)}; is this a gep run's output folder?"
        )
    return frame


def _read_units(folder: Path) -> Any:
    """Unit polygons of ``units.gpkg`` (layers district and township) as WGS84 WKB."""
    import pandas as pd

    path = folder / "units.gpkg"
    columns = ["unit_id", "level", "unit_name", "source_crs", "geometry_wkb"]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    import geopandas as gpd
    import pyogrio

    frames = []
    for layer, _ in pyogrio.list_layers(path):
        frame = gpd.read_file(path, layer=layer)
        if "unit_id" not in frame.columns or frame.crs is None:
            raise StoreError(f"{path}: layer {layer} has no unit_id column or no CRS")
        source_crs = frame.crs.to_string()
        frame = frame.to_crs("EPSG:4326")
        name = next((c for c in ("name", "unit_name", "town_name") if c in frame.columns), None)
        frames.append(
            pd.DataFrame(
                {
                    "unit_id": frame["unit_id"].astype(str),
                    "level": str(layer),
                    "unit_name": frame[name].astype(str) if name else "",
                    "source_crs": source_crs,
                    "geometry_wkb": [g.wkb if g is not None else None for g in frame.geometry],
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def read_output_folder(folder: Path | str) -> RunFiles:
    """Read and check a finished run's output folder.

    Parameters
    ----------
    folder : path-like
        A folder written by ``gep run`` or ``gep demo``.

    Returns
    -------
    RunFiles
        The manifest, the three tables, the unit polygons and the sha256 of each file read.

    Raises
    ------
    StoreError
        If the folder or one of :data:`REQUIRED_FILES` is missing or malformed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise StoreError(f"no output folder at {folder}: give the folder a `gep run` wrote")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise StoreError(
            f"{folder} is not a finished gep run: missing {', '.join(missing)} "
            "(a run publishes its folder only when it is complete)"
        )
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{folder / 'manifest.json'}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"{folder / 'manifest.json'}: expected a JSON object")
    tables = {
        name: _read_table(folder, name) for name in CORE_COLUMNS if name not in OPTIONAL_TABLES
    }
    for name in OPTIONAL_TABLES:
        path = folder / f"{name}.csv"
        if path.is_file() and path.read_bytes().strip(b'\xef\xbb\xbf\r\n" '):
            tables[name] = _read_table(folder, name)
    read = [*REQUIRED_FILES, "decomposition.csv", "units.gpkg", "linkage_inputs/policy.yaml"]
    files = {name: _sha256(folder / name) for name in read if (folder / name).is_file()}
    policy = folder / "linkage_inputs" / "policy.yaml"
    policy_yaml = policy.read_text(encoding="utf-8") if policy.is_file() else None
    return RunFiles(
        folder.resolve(), manifest, tables, _read_units(folder), files, policy_yaml=policy_yaml
    )


def _json_value(value: Any) -> Any:
    """A JSON-safe scalar: NaN → None, numpy scalars → Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _store_frame(run_id: str, name: str, frame: Any) -> Any:
    """The rows to insert: run id, row number, typed core columns, the rest as JSON."""
    import pandas as pd

    core = CORE_COLUMNS[name]
    out = pd.DataFrame({"run_id": run_id, "row_no": range(len(frame))})
    for column, kind in core.items():
        values = frame[column] if column in frame.columns else pd.Series([None] * len(frame))
        if kind == "str":
            out[column] = values.astype(object).where(values.notna(), None).to_numpy()
        else:
            out[column] = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    others = [c for c in frame.columns if c not in core]
    records = frame[others].to_dict(orient="records") if others else [{}] * len(frame)
    out["extra"] = [json.dumps({k: _json_value(v) for k, v in r.items()}) for r in records]
    return out


def _run_id(created: dt.datetime, files: dict[str, str]) -> str:
    # random bits too: the same folder may be appended twice within a second
    seed = json.dumps([created.isoformat(), os.getpid(), files, os.urandom(16).hex()])
    return f"{created:%Y%m%dT%H%M%S}Z-{hashlib.sha256(seed.encode()).hexdigest()[:8]}"


def _run_record(run_id: str, created: dt.datetime, run: RunFiles) -> dict[str, Any]:
    manifest = run.manifest
    engine = manifest.get("engine") or {}
    config = manifest.get("config") or {}
    catalog = manifest.get("catalog") or {}
    years = {int(y) for y in run.tables["gep_by_unit"]["year"].dropna()}
    if not years and "year" in run.tables["allocation"].columns:  # `gep link`: no accounts
        years = {int(y) for y in run.tables["allocation"]["year"].dropna()}
    return {
        "run_id": run_id,
        "created_at": created.replace(tzinfo=None),
        "engine_name": engine.get("name"),
        "engine_version": engine.get("version"),
        "config_name": config.get("name"),
        "catalog_name": catalog.get("name"),
        "synthetic": bool(catalog.get("synthetic", False)),
        "years": json.dumps(sorted(years)),
        "source_folder": None if run.folder is None else str(run.folder),
        "config_json": json.dumps(config, ensure_ascii=False, default=str),
        "manifest_json": json.dumps(manifest, ensure_ascii=False, default=str),
        "files_sha256": json.dumps(run.files_sha256),
        "kind": run.kind,
        "policy_yaml": run.policy_yaml,
    }


def _insert_frame(con: Any, table: str, frame: Any) -> None:
    con.register("_incoming", frame)
    try:
        names = ", ".join(frame.columns)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _incoming")
    finally:
        con.unregister("_incoming")


def _inputs_frame(run_id: str, manifest: dict[str, Any]) -> Any:
    import pandas as pd

    rows = [
        {
            "run_id": run_id,
            "input_id": str(item.get("id", "")),
            "kind": item.get("kind"),
            "path": item.get("path"),
            "bytes": item.get("bytes"),
            "sha256": item.get("sha256"),
        }
        for item in manifest.get("inputs") or []
        if isinstance(item, dict)
    ]
    columns = ["run_id", "input_id", "kind", "path", "bytes", "sha256"]
    return pd.DataFrame(rows, columns=columns).astype({"bytes": "Int64"})


def write_run(con: Any, run_id: str, created: dt.datetime, run: RunFiles) -> None:
    """Insert a run in one transaction on an open writable connection (all or nothing)."""
    import pandas as pd

    con.execute("BEGIN TRANSACTION")
    try:
        record = _run_record(run_id, created, run)
        con.execute(
            f"INSERT INTO runs ({', '.join(record)}) VALUES ({', '.join('?' * len(record))})",
            list(record.values()),
        )
        _insert_frame(con, "run_inputs", _inputs_frame(run_id, run.manifest))
        for name, frame in run.tables.items():
            _insert_frame(con, name, _store_frame(run_id, name, frame))
        columns = pd.DataFrame(
            {
                "run_id": run_id,
                "table_name": list(run.tables),
                "columns": [json.dumps(list(f.columns)) for f in run.tables.values()],
            }
        )
        _insert_frame(con, "columns", columns)
        if len(run.units):
            _insert_frame(con, "units", run.units.assign(run_id=run_id))
        if run.units_from is not None:
            con.execute(
                "INSERT INTO units (run_id, unit_id, level, unit_name, source_crs, geometry_wkb) "
                "SELECT ?, unit_id, level, unit_name, source_crs, geometry_wkb FROM units "
                "WHERE run_id = ?",
                [run_id, run.units_from],
            )
        if run.scenario is not None:
            sc = run.scenario
            con.execute(
                "INSERT INTO scenarios VALUES (?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    sc["base_run_id"],
                    int(sc["year"]),
                    json.dumps(sc["change"], ensure_ascii=False),
                    int(sc["pixels_changed"]),
                    json.dumps(sc.get("timings_s") or {}),
                ],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def append_run(
    store_path: Path | str, output_folder: Path | str, *, lock_timeout_s: float = 60.0
) -> str:
    """Append a finished run's output folder to the store, as one transaction.

    Parameters
    ----------
    store_path : path-like
        The store's DuckDB file (created if missing).
    output_folder : path-like
        A folder written by ``gep run`` or ``gep demo``.
    lock_timeout_s : float
        Seconds to wait for another writer before :class:`~gep.store.schema.StoreBusyError`.

    Returns
    -------
    str
        The new run's id, ``YYYYMMDDTHHMMSSZ-xxxxxxxx`` (UTC time of the append and a hash).

    Raises
    ------
    StoreError
        If the folder is not a finished run (nothing is written).
    """
    run = read_output_folder(output_folder)
    with connect_write(Path(store_path), lock_timeout_s=lock_timeout_s) as con:
        created = dt.datetime.now(dt.UTC)  # microseconds order runs appended in one second
        run_id = _run_id(created, run.files_sha256)
        write_run(con, run_id, created, run)
    return run_id


def _empty_table(name: str) -> Any:
    import pandas as pd

    return pd.DataFrame(columns=list(CORE_COLUMNS[name]))


def _write_new_run(store_path: Path | str, run: RunFiles, lock_timeout_s: float) -> str:
    with connect_write(Path(store_path), lock_timeout_s=lock_timeout_s) as con:
        created = dt.datetime.now(dt.UTC)
        run_id = _run_id(created, run.files_sha256)
        write_run(con, run_id, created, run)
    return run_id


def append_tables(
    store_path: Path | str,
    *,
    manifest: dict[str, Any],
    tables: dict[str, Any],
    kind: str,
    policy_yaml: str | None = None,
    units_from: str | None = None,
    scenario: dict[str, Any] | None = None,
    lock_timeout_s: float = 60.0,
) -> str:
    """Append a run computed in memory (a what-if scenario) in one transaction.

    Parameters
    ----------
    store_path : path-like
        The store (it must exist when ``units_from`` names a run in it).
    manifest : dict
        The run's manifest (``engine``, ``config``, ``catalog``, ...), kept as JSON.
    tables : dict of DataFrame
        ``accounts``, ``gep_by_unit``, ``allocation`` and optionally ``decomposition``, with the
        columns of the files a run writes.
    kind : str
        ``scenario`` (or ``run``, ``link``).
    policy_yaml : str, optional
        The concrete linkage policy.
    units_from : str, optional
        A stored run whose unit polygons the new run shares (copied in the same transaction).
    scenario : dict, optional
        ``base_run_id, year, change, pixels_changed, timings_s``: the scenario record.

    Returns
    -------
    str
        The new run's id.
    """
    import pandas as pd

    missing = [n for n in CORE_COLUMNS if n not in OPTIONAL_TABLES and n not in tables]
    if missing:
        raise StoreError(f"a run needs the tables {missing}")
    files: dict[str, str] = {}  # nothing read from files: the run was computed in memory
    units = pd.DataFrame(columns=["unit_id", "level", "unit_name", "source_crs", "geometry_wkb"])
    run = RunFiles(
        None,
        manifest,
        dict(tables),
        units,
        files,
        kind=kind,
        policy_yaml=policy_yaml,
        units_from=units_from,
        scenario=scenario,
    )
    return _write_new_run(store_path, run, lock_timeout_s)
