"""Schema version 2: run kinds, the run's linkage policy, the decomposition, scenario records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from gep.store import append_run, export_run, list_runs, load_run, schema, show_run
from gep.store.ingest import append_tables
from gep.store.query import run_inputs, scenario_record
from tests.store.fake_run import make_output_folder


def _with_decomposition_and_policy(folder: Path) -> Path:
    pd.DataFrame(
        {
            "unit_id": ["110101", "110102"],
            "year_from": [2015, 2015],
            "year_to": [2020, 2020],
            "change_cny": [10.0, 20.0],
            "volume_effect_cny": [6.0, 12.0],
            "price_effect_cny": [4.0, 8.0],
            "condition_effect_cny": [5.0, 2.5],
            "weather_effect_cny": [1.0, 9.5],
            "level": ["district", "district"],
        }
    ).to_csv(folder / "decomposition.csv", index=False, encoding="utf-8-sig")
    (folder / "linkage_inputs").mkdir()
    (folder / "linkage_inputs" / "policy.yaml").write_text("policy: {year: 2020}\n", "utf-8")
    return folder


def test_a_version_1_store_is_migrated_and_its_runs_are_whole_runs(store, monkeypatch):
    first = schema.MIGRATIONS[:1]
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", first)
        patch.setattr(schema, "SCHEMA_VERSION", 1)
        with schema.connect_write(store) as con:
            con.execute(
                "INSERT INTO runs VALUES ('20260101T000000Z-0000abcd', ?, 'gep', '0.1.0', "
                "'old', 'cat', false, '[2020]', '/x', '{}', '{}', '{}')",
                [dt.datetime(2026, 1, 1)],
            )
    with schema.connect_write(store) as con:  # any writer migrates
        assert schema.schema_version(con) == schema.SCHEMA_VERSION == 2
    (run,) = list_runs(store)
    assert run["kind"] == "run" and run["config_name"] == "old"
    assert run_inputs(store, run["run_id"])["policy_yaml"] is None


def test_decomposition_and_policy_are_kept_and_exported(store, tmp_path):
    folder = _with_decomposition_and_policy(make_output_folder(tmp_path / "run"))
    run_id = append_run(store, folder)
    data = load_run(store, run_id)
    assert list(data.decomposition["condition_effect_cny"]) == [5.0, 2.5]
    assert run_inputs(store, run_id)["policy_yaml"] == "policy: {year: 2020}\n"
    assert show_run(store, run_id)["rows"]["decomposition"] == 2
    out = export_run(store, run_id, tmp_path / "export")
    back = pd.read_csv(out / "decomposition.csv", encoding="utf-8-sig", dtype={"unit_id": str})
    assert list(back["weather_effect_cny"]) == [1.0, 9.5]


def test_a_run_computed_in_memory_shares_the_units_of_its_base(store, tmp_path):
    base = append_run(store, make_output_folder(tmp_path / "run"))
    data = load_run(store, base)
    tables = {
        "accounts": data.accounts.drop(columns=["row_no", "extra"]),
        "gep_by_unit": data.gep_by_unit.drop(columns=["row_no", "extra"]),
        "allocation": data.allocation.drop(columns=["row_no", "extra"]),
    }
    record = {
        "base_run_id": base,
        "year": 2020,
        "change": {"year": 2020, "to_class": 2, "units": ["110101"]},
        "pixels_changed": 7,
        "timings_s": {"services": 0.1},
    }
    new = append_tables(
        store,
        manifest={"engine": {"name": "gep", "version": "0.1.0"}, "config": {"name": "fake-run"}},
        tables=tables,
        kind="scenario",
        units_from=base,
        scenario=record,
    )
    assert list_runs(store)[-1]["kind"] == "scenario"
    assert scenario_record(store, new) == record
    assert scenario_record(store, base) is None
    assert len(load_run(store, new).units) == len(data.units) == 5
    assert show_run(store, new)["scenario"]["pixels_changed"] == 7
