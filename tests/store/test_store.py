"""The accounts store: append, list, show, diff, export, migrations, one writer at a time."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from filelock import FileLock

from gep.store import (
    StoreBusyError,
    StoreError,
    UnknownRunError,
    append_run,
    default_store_path,
    diff_allocation,
    diff_runs,
    export_run,
    ingest,
    list_runs,
    schema,
    show_run,
)
from tests.store.fake_run import make_output_folder

TABLES = ("runs", "run_inputs", "accounts", "gep_by_unit", "allocation", "units", "columns")


def _counts(store: Path) -> dict[str, int]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"unit_id": str, "parent_id": str})


def test_append_twice_then_list_and_show(store, run_folder, tmp_path):
    first = append_run(store, run_folder)
    second = append_run(store, make_output_folder(tmp_path / "run-b", scale=2.0))
    runs = list_runs(store)
    assert [r["run_id"] for r in runs] == [first, second]
    assert runs[0]["years"] == [2015, 2020] and runs[0]["config_name"] == "fake-run"
    assert runs[0]["synthetic"] is True and runs[0]["engine_version"] == "0.1.0"
    record = show_run(store, first)
    assert record["rows"] == {
        "accounts": 20,
        "gep_by_unit": 10,
        "allocation": 5,
        "decomposition": 0,
        "units": 5,
    }
    assert record["inputs"][0]["sha256"] == "ab" * 32
    assert set(record["files_sha256"]) >= {"manifest.json", "accounts.csv", "units.gpkg"}
    assert show_run(store, "latest")["run_id"] == second


def test_export_gives_back_the_files_it_was_given(store, run_folder, tmp_path):
    run_id = append_run(store, run_folder)
    out = export_run(store, run_id, tmp_path / "export")
    for name in ("accounts", "gep_by_unit", "allocation"):
        pd.testing.assert_frame_equal(_read(run_folder / f"{name}.csv"), _read(out / f"{name}.csv"))
    units = json.loads((out / "units.geojson").read_text(encoding="utf-8"))
    assert len(units["features"]) == 5
    lon, lat = units["features"][0]["geometry"]["coordinates"][0][0]
    assert 115 < lon < 118 and 39 < lat < 41  # reprojected from UTM 50N to WGS84
    assert json.loads((out / "manifest.json").read_text())["config"]["name"] == "fake-run"
    with pytest.raises(StoreError, match="not an empty folder"):
        export_run(store, run_id, out)


def test_diff_per_unit_and_service(store, run_folder, tmp_path):
    a = append_run(store, run_folder)
    b = append_run(store, make_output_folder(tmp_path / "b", scale=3.0, drop_unit="110102001"))
    diff = diff_runs(store, a, b)
    row = diff[
        (diff.unit_id == "110101") & (diff.year == 2020) & (diff.service == "water_conservation")
    ].iloc[0]
    assert row.value_constant_cny_a == pytest.approx(1_100_000.0)
    assert row.delta_constant_cny == pytest.approx(2 * 1_100_000.0)  # 3× − 1×
    gone = diff[diff.unit_id == "110102001"]
    assert len(gone) == 4 and gone.value_constant_cny_b.isna().all()
    allocation = diff_allocation(store, a, b).set_index("unit_id")
    assert allocation.at["110101", "delta_fen"] == 2 * 100_000_000
    assert allocation.at["110101", "delta_cny"] == pytest.approx(2_000_000.0)


def test_a_failed_append_leaves_no_part_of_the_run(store, run_folder, monkeypatch):
    append_run(store, run_folder)
    before = _counts(store)
    real = ingest._insert_frame

    def fail_on_allocation(con, table, frame):
        if table == "allocation":
            raise OSError("disk full (simulated)")
        real(con, table, frame)

    monkeypatch.setattr(ingest, "_insert_frame", fail_on_allocation)
    with pytest.raises(OSError, match="simulated"):
        append_run(store, run_folder)
    assert _counts(store) == before
    assert len(list_runs(store)) == 1


def test_a_folder_that_is_not_a_finished_run_is_refused_before_the_store_is_made(store, tmp_path):
    folder = make_output_folder(tmp_path / "half")
    (folder / "allocation.csv").unlink()
    with pytest.raises(StoreError, match="missing allocation.csv"):
        append_run(store, folder)
    with pytest.raises(StoreError, match="no output folder"):
        append_run(store, tmp_path / "nowhere")
    assert not store.exists()


def test_a_second_writer_waits_for_the_lock_or_is_refused(store, run_folder):
    append_run(store, run_folder)
    with FileLock(str(store) + ".lock"):
        with pytest.raises(StoreBusyError, match="another gep process is writing"):
            append_run(store, run_folder, lock_timeout_s=0.2)
    assert len(list_runs(store)) == 1


def test_concurrent_writers_are_serialised(store, run_folder):
    ids: list[str] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            ids.append(append_run(store, run_folder))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(set(ids)) == 3
    assert _counts(store)["accounts"] == 3 * 20


def test_unknown_and_path_like_run_ids_are_refused(store, run_folder):
    append_run(store, run_folder)
    with pytest.raises(UnknownRunError, match="no run 20000101T000000Z-00000000"):
        show_run(store, "20000101T000000Z-00000000")
    for bad in ("../etc/passwd", "x; DROP TABLE runs", ""):
        with pytest.raises(StoreError, match="is not a run id"):
            diff_runs(store, bad, "latest")


def test_reading_a_missing_store_says_how_to_make_one(tmp_path):
    with pytest.raises(StoreError, match="no accounts store"):
        list_runs(tmp_path / "none.duckdb")


def test_store_path_from_option_environment_or_default(monkeypatch):
    monkeypatch.delenv("GEP_STORE", raising=False)
    assert default_store_path() == Path("gep-store.duckdb")
    monkeypatch.setenv("GEP_STORE", "/data/accounts.duckdb")
    assert default_store_path() == Path("/data/accounts.duckdb")
    assert default_store_path("mine.duckdb") == Path("mine.duckdb")


def test_migrations_run_once_and_a_newer_store_is_refused(store, run_folder, monkeypatch):
    run_id = append_run(store, run_folder)
    step = ("ALTER TABLE runs ADD COLUMN note VARCHAR DEFAULT 'none'",)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    newer = len(schema.MIGRATIONS)
    with pytest.raises(StoreError, match=f"older than {newer}"):
        list_runs(store)  # readers never migrate
    with schema.connect_write(store) as con:
        assert schema.schema_version(con) == newer
        assert con.execute("SELECT note FROM runs").fetchall() == [("none",)]
    with schema.connect_write(store) as con:  # nothing left to apply
        assert schema.migrate(con, store) == 0
    assert show_run(store, run_id)["run_id"] == run_id  # the data survived the migration
    monkeypatch.setattr(schema, "SCHEMA_VERSION", newer - 1)
    with pytest.raises(StoreError, match="newer than this gep"):
        list_runs(store)


def test_the_store_never_downloads_extensions(store, run_folder):
    append_run(store, run_folder)
    with schema.connect_read(store) as con:
        settings = con.execute(
            "SELECT current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions')"
        ).fetchone()
    assert settings == (False, False)


def test_a_reader_waits_while_another_process_writes(store, run_folder):
    import subprocess
    import sys
    import time

    append_run(store, run_folder)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(store)!r})\n"
            "print('held', flush=True)\n"
            "time.sleep(1.5)\n"
            "con.close()\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        began = time.monotonic()
        assert len(list_runs(store)) == 1  # retried until the writer let go
        assert time.monotonic() - began > 0.5
    finally:
        holder.wait(timeout=30)
