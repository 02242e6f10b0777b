"""A policy links to GEP or to GEP-R (the regulating services only), by the accounts' category."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import yaml

from linkage.errors import ConfigError
from linkage.indicators import gep_totals_cny
from linkage.run import run_link

EXAMPLE = Path(str(resources.files("linkage").joinpath("examples", "policy.yaml")))
CATEGORY = {
    "carbon_sequestration": "regulating",
    "soil_retention": "regulating",
    "water_conservation": "regulating",
    "recreation": "cultural",
}


def _policy(folder: Path, measure: str, *, categories: dict[str, str] | None) -> Path:
    for table in EXAMPLE.parent.glob("*.csv"):
        (folder / table.name).write_bytes(table.read_bytes())
    if categories is not None:
        accounts = pd.read_csv(folder / "accounts.csv", comment="#", dtype=str)
        accounts["category"] = accounts["service"].map(categories)
        accounts.to_csv(folder / "accounts.csv", index=False)
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["gep_indicators"]["measure"] = measure
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_gep_r_counts_the_regulating_services_only():
    accounts = pd.DataFrame(
        {
            "unit_id": ["u", "u", "v"],
            "year": 2023,
            "service": ["soil_retention", "recreation", "soil_retention"],
            "category": ["regulating", "cultural", "regulating"],
            "value_constant_cny": [10.0, 5.0, 7.0],
        }
    )
    assert gep_totals_cny(accounts, None).to_dict() == {("u", 2023): 15.0, ("v", 2023): 7.0}
    assert gep_totals_cny(accounts, None, "gep_r").to_dict() == {
        ("u", 2023): 10.0,
        ("v", 2023): 7.0,
    }


def test_a_policy_on_gep_r_allocates_by_the_regulating_services(tmp_path):
    (tmp_path / "gep").mkdir()
    (tmp_path / "gep_r").mkdir()
    (tmp_path / "no_recreation").mkdir()
    gep = run_link(_policy(tmp_path / "gep", "gep", categories=CATEGORY), tmp_path / "a")
    gep_r = run_link(_policy(tmp_path / "gep_r", "gep_r", categories=CATEGORY), tmp_path / "b")
    # the same as counting every service but recreation by name
    raw = yaml.safe_load((tmp_path / "gep" / "policy.yaml").read_text(encoding="utf-8"))
    raw["gep_indicators"]["services"] = [s for s, c in CATEGORY.items() if c == "regulating"]
    named = tmp_path / "no_recreation" / "policy.yaml"
    for table in (tmp_path / "gep").glob("*.csv"):
        (tmp_path / "no_recreation" / table.name).write_bytes(table.read_bytes())
    named.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    by_name = run_link(named, tmp_path / "c")
    columns = ["unit_id", "level", "amount_cny"]
    pd.testing.assert_frame_equal(gep_r.allocation[columns], by_name.allocation[columns])
    assert not gep_r.allocation[columns].equals(gep.allocation[columns])


def test_gep_r_without_categories_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="accounts.category"):
        run_link(_policy(tmp_path, "gep_r", categories=None), tmp_path / "out")
    assert not (tmp_path / "out").exists()
