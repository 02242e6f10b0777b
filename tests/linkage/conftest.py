"""Builders for small linkage cases: a configuration dict plus in-memory or on-disk tables."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from linkage.config import LinkConfig
from linkage.inputs import LinkInputs, Units

EXAMPLE = Path(__file__).resolve().parents[2] / "linkage" / "examples" / "policy.yaml"

ACCOUNT_COLUMNS = [
    "unit_id",
    "unit_name",
    "level",
    "parent_id",
    "year",
    "service",
    "component",
    "quantity",
    "quantity_unit",
    "value_current_cny",
    "value_constant_cny",
    "price_year",
]


def five_district_config() -> dict[str, Any]:
    """The worked example of test_link_worked: area factor, one quality tilt, reverse, cap."""
    return {
        "schema_version": 1,
        "policy": {"id": "worked", "title": "five districts", "year": 2024, "base_year": 2023},
        "inputs": {
            "accounts": "accounts.csv",
            "indicators": "indicators.csv",
            "base_factors": "base_factors.csv",
            "previous_allocation": "previous_allocation.csv",
        },
        "indicators": [
            {
                "id": "quality",
                "kind": "eco_environment_quality",
                "direction": "higher_is_better",
                "value_unit": "index",
                "normalisation": {"method": "min_max", "lower": 0, "upper": 100},
            },
            {
                "id": "damage",
                "kind": "eco_damaging_industry",
                "direction": "lower_is_better",
                "value_unit": "%",
                "normalisation": {"method": "min_max", "lower": 0, "upper": 10},
            },
        ],
        "districts": {
            "id": "D",
            "budget": {"id": "D.budget", "amount_cny": "1000000.00"},
            "base_factors": {"id": "D.F", "weights_sum": 1.0, "weights": {"area_km2": 1.0}},
            "level": {
                "id": "D.L",
                "beta": 0.5,
                "reference_score": 0.5,
                "weights_sum": 1.0,
                "weights": {"quality": 1.0},
            },
            "reverse_linkage": {"id": "D.R", "indicator": "damage", "max_deduction_share": 0.2},
            "bounds": {"id": "D.C", "floor_ratio": 0.9, "cap_ratio": 1.1},
        },
    }


def five_district_tables() -> dict[str, pd.DataFrame]:
    """Tables of the worked example (areas, quality, damage, last year's amounts)."""
    units = ["A", "B", "C", "D", "E"]
    accounts = pd.DataFrame(
        [
            (
                u,
                f"district {u}",
                "district",
                "",
                y,
                "water_conservation",
                "regulating",
                1.0,
                "m3 yr-1",
                100.0,
                100.0,
                2020,
            )
            for u in units
            for y in (2023, 2024)
        ],
        columns=ACCOUNT_COLUMNS,
    )
    quality = {"A": 50, "B": 90, "C": 70, "D": 30, "E": 50}
    damage = {"A": 0, "B": 0, "C": 5, "D": 0, "E": 10}
    indicators = pd.DataFrame(
        [(u, 2024, "quality", quality[u], "index") for u in units]
        + [(u, 2024, "damage", damage[u], "%") for u in units],
        columns=["unit_id", "year", "indicator", "value", "value_unit"],
    )
    base = pd.DataFrame(
        {
            "unit_id": units,
            "area_km2": [100.0, 200.0, 300.0, 150.0, 250.0],
            "population_persons": 1.0,
            "ecological_land_km2": 1.0,
        }
    )
    previous = pd.DataFrame(
        {
            "unit_id": units,
            "year": 2023,
            "amount_cny": [100000.0, 240000.0, 250000.0, 140000.0, 200000.0],
        }
    )
    return {
        "accounts": accounts,
        "indicators": indicators,
        "base_factors": base,
        "previous_allocation": previous,
    }


def write_case(folder: Path, config: dict[str, Any], tables: dict[str, pd.DataFrame]) -> Path:
    """Write a configuration and its tables into ``folder``; return the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def in_memory(
    config: dict[str, Any], tables: dict[str, pd.DataFrame]
) -> tuple[LinkConfig, LinkInputs]:
    """A validated LinkConfig and LinkInputs built without files (for property tests)."""
    parsed = LinkConfig.model_validate(copy.deepcopy(config))
    accounts = tables["accounts"]
    rows = accounts[(accounts["year"] == parsed.policy.year)]
    districts = sorted(set(rows.loc[rows["level"] == "district", "unit_id"]))
    townships = {
        d: sorted(
            set(rows.loc[(rows["level"] == "township") & (rows["parent_id"] == d), "unit_id"])
        )
        for d in districts
    }
    names = dict(zip(accounts["unit_id"], accounts["unit_name"], strict=False))
    return parsed, LinkInputs(tables, Units(districts, townships, names))


@pytest.fixture
def example_config() -> Path:
    return EXAMPLE
