"""Read the accounts store: list and show runs, load a run's tables, compare two runs, export.

Every function opens the store read-only for as short a time as it can (see
:mod:`gep.store.schema`), so a ``gep serve`` or ``gep store`` reader does not keep a writer out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gep.store.schema import StoreError, UnknownRunError, connect_read

__all__ = [
    "RUN_ID_PATTERN",
    "RunData",
    "check_run_id",
    "diff_allocation",
    "diff_runs",
    "export_run",
    "list_runs",
    "load_run",
    "run_inputs",
    "scenario_record",
    "show_run",
]

#: A run id as :func:`gep.store.ingest.append_run` makes them, or ``latest``.
RUN_ID_PATTERN = r"^(latest|[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8})$"

_RUN_COLUMNS = (
    "run_id, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, engine_name, "
    "engine_version, config_name, catalog_name, synthetic, years, source_folder, kind"
)


def check_run_id(run_id: str) -> str:
    """``run_id`` if it has the form of a run id (or is ``latest``); else :class:`StoreError`.

    Examples
    --------
    >>> check_run_id("20261206T045000Z-0123abcd")
    '20261206T045000Z-0123abcd'
    >>> check_run_id("../etc")
    Traceback (most recent call last):
    ...
    gep.store.schema.StoreError: '../etc' is not a run id (expected YYYYMMDDTHHMMSSZ-xxxxxxxx as `gep store list` shows, or latest)
    """
    if not isinstance(run_id, str) or not re.fullmatch(RUN_ID_PATTERN, run_id):
        raise StoreError(
            f"{run_id!r} is not a run id (expected YYYYMMDDTHHMMSSZ-xxxxxxxx as "
            "`gep store list` shows, or latest)"
        )
    return run_id


def _resolve(con: Any, store: Path, run_id: str) -> str:
    check_run_id(run_id)
    if run_id == "latest":
        row = con.execute(
            "SELECT run_id FROM runs ORDER BY runs.created_at DESC, run_id DESC"
        ).fetchone()
    else:
        row = con.execute("SELECT run_id FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if row is None:
        what = "no run yet" if run_id == "latest" else f"no run {run_id}"
        raise UnknownRunError(f"{what} in the store {store} (`gep store list` shows its runs)")
    return str(row[0])


def _records(con: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _decode_run(record: dict[str, Any]) -> dict[str, Any]:
    record["years"] = json.loads(record["years"] or "[]")
    return record


def list_runs(store: Path | str) -> list[dict[str, Any]]:
    """Every run in the store, oldest first, with its time, engine version and years.

    Returns
    -------
    list of dict
        ``run_id, created_at`` (UTC, ISO 8601), ``engine_name, engine_version, config_name,
        catalog_name, synthetic, years, source_folder``.
    """
    with connect_read(Path(store)) as con:
        rows = _records(con, f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY runs.created_at, run_id")
    return [_decode_run(r) for r in rows]


def show_run(store: Path | str, run_id: str) -> dict[str, Any]:
    """One run's record: its configuration, input hashes and the size of its tables.

    Raises
    ------
    UnknownRunError
        If ``run_id`` is not in the store.
    """
    store = Path(store)
    with connect_read(store) as con:
        run_id = _resolve(con, store, run_id)
        extra = ", config_json, files_sha256"
        (record,) = _records(
            con, f"SELECT {_RUN_COLUMNS}{extra} FROM runs WHERE run_id = ?", [run_id]
        )
        record["inputs"] = _records(
            con,
            "SELECT input_id, kind, path, bytes, sha256 FROM run_inputs WHERE run_id = ? "
            "ORDER BY input_id",
            [run_id],
        )
        record["rows"] = {
            table: con.execute(
                f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]
            ).fetchone()[0]
            for table in ("accounts", "gep_by_unit", "allocation", "decomposition", "units")
        }
        scenario = _records(
            con,
            "SELECT base_run_id, year, change_json, pixels_changed, timings_json FROM scenarios "
            "WHERE run_id = ?",
            [run_id],
        )
    record["config"] = json.loads(record.pop("config_json") or "{}")
    record["files_sha256"] = json.loads(record.pop("files_sha256") or "{}")
    record["scenario"] = _decode_scenario(scenario[0]) if scenario else None
    return _decode_run(record)


def _decode_scenario(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "base_run_id": row["base_run_id"],
        "year": row["year"],
        "change": json.loads(row["change_json"] or "{}"),
        "pixels_changed": row["pixels_changed"],
        "timings_s": json.loads(row["timings_json"] or "{}"),
    }


def scenario_record(store: Path | str, run_id: str) -> dict[str, Any] | None:
    """A scenario run's base run, change and timings; None for a run that is not a scenario."""
    store = Path(store)
    with connect_read(store) as con:
        run_id = _resolve(con, store, run_id)
        rows = _records(
            con,
            "SELECT base_run_id, year, change_json, pixels_changed, timings_json FROM scenarios "
            "WHERE run_id = ?",
            [run_id],
        )
    return _decode_scenario(rows[0]) if rows else None


def run_inputs(store: Path | str, run_id: str) -> dict[str, Any]:
    """What it takes to compute again from a stored run: its configuration and policy.

    Returns
    -------
    dict
        ``run_id`` (resolved), ``kind``, ``config`` (the run configuration as stored),
        ``manifest`` (the run's manifest, with its catalog's path) and ``policy_yaml`` (the
        concrete linkage policy, or None).
    """
    store = Path(store)
    with connect_read(store) as con:
        run_id = _resolve(con, store, run_id)
        (row,) = _records(
            con,
            "SELECT run_id, kind, config_json, manifest_json, policy_yaml FROM runs "
            "WHERE run_id = ?",
            [run_id],
        )
    return {
        "run_id": row["run_id"],
        "kind": row["kind"],
        "config": json.loads(row["config_json"] or "{}"),
        "manifest": json.loads(row["manifest_json"] or "{}"),
        "policy_yaml": row["policy_yaml"],
    }


@dataclass
class RunData:
    """A run's tables, loaded from the store (pandas DataFrames; ``units`` holds WKB)."""

    run: dict[str, Any]
    accounts: Any
    gep_by_unit: Any
    allocation: Any
    units: Any
    decomposition: Any = None


def _frame(con: Any, table: str, run_id: str, columns: str = "*") -> Any:
    frame = con.execute(
        f"SELECT {columns} FROM {table} WHERE run_id = ? ORDER BY 1, 2", [run_id]
    ).df()
    return frame.drop(columns=["run_id"], errors="ignore")


def load_run(store: Path | str, run_id: str) -> RunData:
    """Load one run's accounts, GEP by unit, allocation and unit polygons.

    Raises
    ------
    UnknownRunError
        If ``run_id`` is not in the store.
    """
    store = Path(store)
    with connect_read(store) as con:
        run_id = _resolve(con, store, run_id)
        (record,) = _records(con, f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", [run_id])
        tables = {
            name: _frame(con, name, run_id)
            for name in ("accounts", "gep_by_unit", "allocation", "decomposition")
        }
        units = _frame(con, "units", run_id, "run_id, level, unit_id, unit_name, geometry_wkb")
    return RunData(_decode_run(record), units=units, **tables)


def _service_values(con: Any, run_id: str) -> Any:
    return con.execute(
        """SELECT unit_id, any_value(unit_name) AS unit_name, level, year, service,
                  sum(value_constant_cny) AS value_constant_cny,
                  sum(value_current_cny) AS value_current_cny
           FROM accounts WHERE run_id = ? GROUP BY unit_id, level, year, service""",
        [run_id],
    ).df()


def diff_runs(store: Path | str, run_a: str, run_b: str) -> Any:
    """Value of every service in every unit and year in run ``b`` minus run ``a``.

    Parameters
    ----------
    store : path-like
        The store.
    run_a, run_b : str
        Run ids (or ``latest``).

    Returns
    -------
    pandas.DataFrame
        ``unit_id, unit_name, level, year, service``, then ``value_constant_cny_a``,
        ``value_constant_cny_b``, ``delta_constant_cny`` and the same at current prices
        (CNY, 元). A unit, year or service present in one run only has NaN for the other.
    """
    import pandas as pd

    store = Path(store)
    with connect_read(store) as con:
        a, b = _resolve(con, store, run_a), _resolve(con, store, run_b)
        left, right = _service_values(con, a), _service_values(con, b)
    keys = ["unit_id", "level", "year", "service"]
    merged = pd.merge(left, right, on=keys, how="outer", suffixes=("_a", "_b"))
    merged["unit_name"] = merged["unit_name_a"].fillna(merged["unit_name_b"])
    for prices in ("constant", "current"):
        merged[f"delta_{prices}_cny"] = (
            merged[f"value_{prices}_cny_b"] - merged[f"value_{prices}_cny_a"]
        )
    columns = [
        *keys[:1],
        "unit_name",
        *keys[1:],
        "value_constant_cny_a",
        "value_constant_cny_b",
        "delta_constant_cny",
        "value_current_cny_a",
        "value_current_cny_b",
        "delta_current_cny",
    ]
    order = ["level", "unit_id", "year", "service"]
    return merged[columns].sort_values(order, ignore_index=True)


def diff_allocation(store: Path | str, run_a: str, run_b: str) -> Any:
    """Allocation of every unit in run ``b`` minus run ``a``, in fen (分) and CNY (元).

    Returns
    -------
    pandas.DataFrame
        ``unit_id, unit_name, level, year, amount_fen_a, amount_fen_b, delta_fen, delta_cny``.
    """
    import pandas as pd

    store = Path(store)
    sql = (
        "SELECT unit_id, any_value(unit_name) AS unit_name, level, year, "
        "sum(amount_fen) AS amount_fen FROM allocation WHERE run_id = ? "
        "GROUP BY unit_id, level, year"
    )
    with connect_read(store) as con:
        a, b = _resolve(con, store, run_a), _resolve(con, store, run_b)
        left, right = con.execute(sql, [a]).df(), con.execute(sql, [b]).df()
    keys = ["unit_id", "level", "year"]
    merged = pd.merge(left, right, on=keys, how="outer", suffixes=("_a", "_b"))
    merged["unit_name"] = merged["unit_name_a"].fillna(merged["unit_name_b"])
    merged["delta_fen"] = merged["amount_fen_b"] - merged["amount_fen_a"]
    merged["delta_cny"] = merged["delta_fen"] / 100.0
    columns = [*keys[:1], "unit_name", *keys[1:], "amount_fen_a", "amount_fen_b"]
    return merged[[*columns, "delta_fen", "delta_cny"]].sort_values(
        ["level", "unit_id"], ignore_index=True
    )


def original_table(con: Any, table: str, run_id: str) -> Any:
    """A stored table with the columns and column order of the file it was read from."""
    import pandas as pd

    frame = _frame(con, table, run_id)
    row = con.execute(
        "SELECT columns FROM columns WHERE run_id = ? AND table_name = ?", [run_id, table]
    ).fetchone()
    extra = pd.DataFrame([json.loads(text) for text in frame.pop("extra")], index=frame.index)
    full = pd.concat([frame.drop(columns=["row_no"]), extra], axis=1)
    columns = json.loads(row[0]) if row else list(full.columns)
    return full.reindex(columns=columns)


def export_run(store: Path | str, run_id: str, out: Path | str) -> Path:
    """Write a stored run back to files: the three tables, the manifest and the units.

    The folder is written atomically (built beside ``out`` and renamed): ``accounts.csv``,
    ``gep_by_unit.csv`` and ``allocation.csv`` with the columns of the original files (UTF-8
    with BOM, as gep writes them), ``manifest.json``, ``run.json`` (the store's run record)
    and ``units.geojson`` (WGS84).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    from gep.io.atomic import staged_folder
    from gep.store.geo import units_geojson

    store, out = Path(store), Path(out)
    record = show_run(store, run_id)
    with connect_read(store) as con:
        run_id = _resolve(con, store, run_id)
        tables = {
            t: original_table(con, t, run_id)
            for t in ("accounts", "gep_by_unit", "allocation", "decomposition")
        }
        if not len(tables["decomposition"]):
            del tables["decomposition"]
        manifest = con.execute("SELECT manifest_json FROM runs WHERE run_id = ?", [run_id])
        manifest_text = manifest.fetchone()[0]
    units = load_run(store, run_id).units
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StoreError(
            f"{out} exists and is not an empty folder: name a new folder to export into"
        )
    with staged_folder(out) as tmp:
        for name, frame in tables.items():
            frame.to_csv(tmp / f"{name}.csv", index=False, encoding="utf-8-sig")
        (tmp / "manifest.json").write_text(manifest_text, encoding="utf-8")
        (tmp / "run.json").write_text(
            json.dumps(record, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        geojson = units_geojson(units, simplify_deg=0.0)
        (tmp / "units.geojson").write_text(json.dumps(geojson, ensure_ascii=False), "utf-8")
    return out
