"""Bad configuration and bad tables are refused before anything is computed, with the rule id."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import linkage.run
from linkage.errors import ConfigError, InfeasibleAllocationError, InputTableError, LinkageError
from linkage.run import run_link
from tests.linkage.conftest import (
    EXAMPLE,
    five_district_config,
    five_district_tables,
    write_case,
)


@pytest.fixture(autouse=True)
def nothing_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to compute a stage fails the test: validation must come first."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("computation started before validation finished")

    monkeypatch.setattr(linkage.run, "run_stage", forbidden)


def refuse(
    tmp_path: Path,
    config: dict[str, Any],
    tables: dict | None = None,
    error: type[LinkageError] = ConfigError,
) -> ConfigError:
    path = write_case(tmp_path / "case", config, tables or five_district_tables())
    out = tmp_path / "out"
    with pytest.raises(error) as info:
        run_link(path, out)
    assert not out.exists(), "nothing may be written for a refused configuration"
    assert isinstance(info.value, ConfigError)
    return info.value


def test_weights_that_do_not_sum_as_declared(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["base_factors"]["weights"] = {"area_km2": 0.6, "population": 0.3}
    err = refuse(tmp_path, config)
    assert err.rule_ids == ["D.F"]
    assert "weights sum to 0.9, but weights_sum declares 1" in str(err)


def test_weights_in_percent_are_fine_when_declared(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["base_factors"] = {
        "id": "D.F",
        "weights_sum": 100,
        "weights": {"area_km2": 100},
    }
    with pytest.raises(AssertionError, match="computation started"):
        run_link(write_case(tmp_path, config, five_district_tables()), tmp_path / "out")


def test_unknown_indicator(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["level"]["weights"] = {"quality": 0.5, "ghost": 0.5}
    err = refuse(tmp_path, config)
    assert err.rule_ids == ["D.L"]
    assert "unknown indicator 'ghost'" in str(err) and "declare it under `indicators`" in str(err)


def test_unknown_indicator_kind(tmp_path: Path) -> None:
    config = five_district_config()
    config["indicators"][0]["kind"] = "happiness"
    assert refuse(tmp_path, config).rule_ids == ["quality"]


@pytest.mark.parametrize(
    ("table", "rule_id", "column"),
    [
        ("base_factors", "D.F", "base_factors.unit_id"),
        ("indicators", "quality", "indicators.unit_id"),
        ("previous_allocation", "D.C", "previous_allocation.unit_id"),
    ],
)
def test_unit_missing_from_an_input_table(
    tmp_path: Path, table: str, rule_id: str, column: str
) -> None:
    tables = five_district_tables()
    frame = tables[table]
    keep = ~((frame["unit_id"] == "C") & (frame.get("indicator", "quality") == "quality"))
    tables[table] = frame[keep]
    err = refuse(tmp_path, five_district_config(), tables, InputTableError)
    assert err.rule_ids == [rule_id]
    assert err.problems[0].where == column and "['C']" in err.problems[0].message


def test_negative_budget(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["budget"]["amount_cny"] = "-5.00"
    err = refuse(tmp_path, config)
    assert err.rule_ids == ["D.budget"] and "negative budget" in str(err)


def test_budget_in_fractions_of_a_fen(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["budget"]["amount_cny"] = "100.005"
    assert refuse(tmp_path, config).rule_ids == ["D.budget"]


def test_shape_errors_name_the_enclosing_rule(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["level"]["beta"] = "a lot"
    config["districts"]["bounds"]["cieling"] = 2
    err = refuse(tmp_path, config)
    assert sorted(err.rule_ids) == ["D.C", "D.L"]
    assert any("districts.bounds.cieling" in p.where for p in err.problems)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["budget"]["amount_cny"] = "-1"
    config["districts"]["level"]["weights"] = {"nope": 1.0}
    config["districts"]["reverse_linkage"]["max_deduction_share"] = 1.5
    config["districts"]["bounds"]["floor_ratio"] = 1.2
    err = refuse(tmp_path, config)
    assert set(err.rule_ids) == {"D.budget", "D.L", "D.R", "D.C"}


def test_floors_above_the_budget(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["bounds"] = {"id": "D.C", "floor_ratio": 1.5}
    err = refuse(tmp_path, config, error=InputTableError)
    assert err.rule_ids == ["D.C"] and "floors add up to 1395000.00 CNY" in str(err)


def test_tilt_that_could_turn_negative(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["level"]["beta"] = 3.0
    assert refuse(tmp_path, config).rule_ids == ["D.L"]


def test_missing_column_and_bad_numbers(tmp_path: Path) -> None:
    tables = five_district_tables()
    tables["base_factors"] = tables["base_factors"].drop(columns="area_km2")
    tables["indicators"] = tables["indicators"].astype({"value": str})
    tables["indicators"].loc[0, "value"] = "12 %"
    err = refuse(tmp_path, five_district_config(), tables, InputTableError)
    text = str(err)
    assert "missing column(s) ['area_km2']" in text and "'12 %'" in text
    assert err.rule_ids == ["indicators", "D.F"] or set(err.rule_ids) == {"indicators", "D.F"}


def test_indicator_unit_must_match_the_declaration(tmp_path: Path) -> None:
    tables = five_district_tables()
    tables["indicators"]["value_unit"] = tables["indicators"]["value_unit"].replace("%", "ppm")
    err = refuse(tmp_path, five_district_config(), tables, InputTableError)
    assert err.rule_ids == ["damage"] and "declared '%'" in str(err)


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    config = five_district_config()
    config["districts"]["bounds"]["id"] = "D.L"
    assert "D.L" in refuse(tmp_path, config).rule_ids


def test_missing_or_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        run_link(tmp_path / "absent.yaml", tmp_path / "out")
    bad = tmp_path / "bad.yaml"
    bad.write_text("districts: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        run_link(bad, tmp_path / "out")


def example_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE.parent, folder)
    return folder


def edit_csv(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    frame = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    edit(frame).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("table", "edit", "rule_id", "text"),
    [
        (
            "water_sections.csv",
            lambda f: f.assign(upstream_unit_id=f["upstream_unit_id"].replace("D05", "D99")),
            "W",
            "unknown districts ['D99']",
        ),
        ("water_monthly.csv", lambda f: f[f["month"] != "7"], "W", "rows missing for 2024"),
        ("horizontal_observations.csv", lambda f: f[f["month"] != "12"], "H1", "months [12]"),
        (
            "ledger_claims.csv",
            lambda f: f.assign(programme="mystery"),
            "LG",
            "programmes ['mystery'] have no priority",
        ),
        (
            "base_factors.csv",
            lambda f: f.assign(area_km2=f["area_km2"].where(f["unit_id"] != "T0101", "0")),
            "gep_density",
            "area > 0",
        ),
        (
            "accounts.csv",
            lambda f: f.assign(
                value_constant_cny=f["value_constant_cny"].where(
                    (f["unit_id"] != "D02") | (f["year"] != "2023"), "0"
                )
            ),
            "gep_change",
            "positive 2023 total",
        ),
    ],
)
def test_programme_and_gep_tables_are_checked_first(
    tmp_path: Path, table: str, edit: Any, rule_id: str, text: str
) -> None:
    folder = example_copy(tmp_path)
    edit_csv(folder / table, edit)
    out = tmp_path / "out"
    with pytest.raises(InputTableError) as info:
        run_link(folder / "policy.yaml", out)
    assert rule_id in info.value.rule_ids and text in str(info.value)
    assert not out.exists()


def test_township_floors_that_cannot_fit_the_envelope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Township floors depend on the district amount, known only after the district stage:
    the run stops with the rule id before anything is written."""
    monkeypatch.undo()  # computation is expected here
    folder = example_copy(tmp_path)
    text = (folder / "policy.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "{id: T.C, floor_ratio: 0.9, cap_ratio: 1.3}", "{id: T.C, floor_ratio: 1.8, cap_ratio: 2.0}"
    )
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(InfeasibleAllocationError, match=r"\[T.C\] floors add up"):
        run_link(folder / "policy.yaml", out)
    assert not out.exists()
