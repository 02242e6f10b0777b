"""``gep store list | show | diff | export | append | migrate`` in-process, with their statuses."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gep.cli import app
from gep.store import list_runs
from tests.store.fake_run import make_output_folder


def _gep(*args: str | Path, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env, terminal_width=200)


def test_append_list_show_diff_export(store, run_folder, tmp_path):
    appended = _gep("store", "append", run_folder, "--store", store)
    assert appended.exit_code == 0, appended.output
    b = make_output_folder(tmp_path / "b", scale=2.0)
    assert _gep("store", "append", b, env={"GEP_STORE": str(store)}).exit_code == 0
    first, second = (r["run_id"] for r in list_runs(store))
    listed = _gep("store", "list", "--store", store)
    assert listed.exit_code == 0 and first in listed.output and second in listed.output
    shown = _gep("store", "show", first, "--store", store)
    assert shown.exit_code == 0 and "ab" * 32 in shown.output
    diff_csv = tmp_path / "diff.csv"
    diff = _gep("store", "diff", first, second, "--store", store, "--out", diff_csv)
    assert diff.exit_code == 0, diff.output
    assert "东城区" in diff.output and "万元" in diff.output
    assert diff_csv.read_text(encoding="utf-8-sig").startswith("unit_id,unit_name,level")
    out = tmp_path / "exported"
    exported = _gep("store", "export", "latest", "--out", out, "--store", store)
    assert exported.exit_code == 0 and (out / "accounts.csv").is_file()
    assert _gep("store", "migrate", "--store", store).exit_code == 0


def test_bad_input_exits_with_status_2(store, run_folder, tmp_path):
    assert _gep("store", "list", "--store", store).exit_code == 2  # no store yet
    _gep("store", "append", run_folder, "--store", store)
    unknown = _gep("store", "show", "20000101T000000Z-00000000", "--store", store)
    assert unknown.exit_code == 2
    assert _gep("store", "diff", "../x", "latest", "--store", store).exit_code == 2
    assert _gep("store", "append", tmp_path / "missing", "--store", store).exit_code == 2
    assert _gep("serve", "--store", tmp_path / "none.duckdb").exit_code == 2
    assert len(list_runs(store)) == 1
