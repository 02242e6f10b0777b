"""A five-district case with the programmes of issue 9 (cropland, transfer, evaluation)."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from tests.linkage.conftest import five_district_config, five_district_tables

UNITS = ["A", "B", "C", "D", "E"]


def programme_config(**sections: Any) -> dict[str, Any]:
    """The five-district configuration plus the given programme sections and their inputs."""
    config = five_district_config()
    inputs = {
        "cropland": ("cropland_areas",),
        "transfer": ("transfer_inputs",),
        "evaluation": ("designations", "performance_scores"),
        "ledger": ("ledger_claims",),
    }
    for name, section in sections.items():
        config[name] = copy.deepcopy(section)
        for table in inputs[name]:
            config["inputs"][table] = f"{table}.csv"
    return config


CROPLAND = {
    "id": "CL",
    "level": "district",
    "standard": {"id": "CL.standard", "cny_per_mu_yr": {2023: "280", 2024: "300"}},
    "quality": {"id": "CL.quality", "minimum": 0.5, "maximum": 1.5},
    "construction_loss": {"id": "CL.loss", "deduction_cny_per_mu": "600"},
}

TRANSFER = {
    "id": "KT",
    "level": "district",
    "key_subsidy": {"id": "KT.key", "coefficient": 0.05},
    "prohibited_zones": {"id": "KT.zones", "cny_per_km2": "10000", "cny_per_zone": "300000"},
    "guidance": {"id": "KT.guidance"},
    "eco_index": {
        "id": "KT.ei",
        "indicator": "quality",
        "reward": {"slight": {"share_of_subsidy": 0.02}, "obvious": {"share_of_subsidy": 0.05}},
        "penalty": {
            "slight": {"share_of_subsidy": 0.1},
            "significant": {"amount_cny": "10000000"},
        },
    },
}

EVALUATION = {
    "id": "EV",
    "awards": {
        "id": "EV.awards",
        "pool": {"id": "EV.pool", "amount_cny": "900000.00"},
        "designations": {
            "demo_zone": {"id": "EV.demo", "amount_cny": "1000000"},
            "two_mountains": {"id": "EV.two", "weight": 2},
            "soil_water": {"id": "EV.soil", "weight": 1},
        },
    },
    "performance": {
        "id": "EV.perf",
        "score_year": 2023,
        "reference_score": 80,
        "floor": 0.8,
        "cap": 1.2,
        "weights_sum": 100,
        "weights": {"a": 60, "b": 40},
    },
}


def programme_tables() -> dict[str, pd.DataFrame]:
    """Tables of the worked examples (see the test docstrings for the arithmetic)."""
    tables = five_district_tables()
    quality_2023 = {"A": 46, "B": 91.5, "C": 79, "D": 30.5, "E": 50}  # 2024: 50 90 70 30 50
    extra = pd.DataFrame(
        [(u, 2023, "quality", quality_2023[u], "index") for u in UNITS],
        columns=["unit_id", "year", "indicator", "value", "value_unit"],
    )
    tables["indicators"] = pd.concat([tables["indicators"], extra], ignore_index=True)
    tables["cropland_areas"] = pd.DataFrame(
        {
            "unit_id": UNITS,
            "year": 2024,
            "cropland_area_m2": [1_000_000.0, 2_000.0, 1_234_567.8, 500_000.0, 0.0],
            "cropland_to_construction_m2": [20_000.0, 10_000.0, 0.0, 0.0, 0.0],
            "quality_factor": [1.1, 0.9, 1.0, 1.0, 1.0],
        }
    )
    tables["transfer_inputs"] = pd.DataFrame(
        {
            "unit_id": UNITS,
            "year": 2024,
            "standard_expenditure_cny": [1e9, 5e8, 3e8, 2e8, 1e8],
            "standard_revenue_cny": [6e8, 6e8, 2e8, 1e8, 1e8],
            "subsidy_coefficient": [None, None, 0.08, None, None],
            "prohibited_zone_area_km2": [120.5, 0.0, 0.0, 0.0, 0.0],
            "prohibited_zone_count": [2, 0, 0, 0, 0],
            "guidance_subsidy_cny": [250_000.0, 100_000.0, 0.0, 0.0, 0.0],
        }
    )
    tables["designations"] = pd.DataFrame(
        {
            "unit_id": ["A", "B", "D", "E"],
            "year": [2024, 2024, 2024, 2020],
            "designation": ["two_mountains", "soil_water", "demo_zone", "demo_zone"],
        }
    )
    scores = {"A": (90, 100), "B": (50, 50), "C": (100, 100), "D": (80, 80), "E": (70, 90)}
    tables["performance_scores"] = pd.DataFrame(
        [(u, 2023, c, v) for u, vs in scores.items() for c, v in zip("ab", vs, strict=True)],
        columns=["unit_id", "year", "criterion", "score"],
    )
    tables["ledger_claims"] = pd.DataFrame(
        {
            "unit_id": ["D"],
            "area_id": ["cropland"],
            "service": ["cropland_protection"],
            "year": [2024],
            "programme": ["national_cropland"],
            "amount_cny": [12_345.67],
        }
    )
    return tables


LEDGER = {
    "id": "LG",
    "programme_priority": [
        "national_cropland",
        "cropland_protection",
        "key_ecological_function_area_transfer",
        "demonstration_awards",
    ],
}
