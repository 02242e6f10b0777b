"""Write the SYNTHETIC example tables of ``policy.yaml`` (deterministic; run to regenerate).

Every number made here is invented for demonstration and testing. District names follow
Beijing's five eco-conservation districts only to make the example readable; none of the
values is an observation of those places.

Usage: ``python linkage/examples/make_example.py``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
HEADER = "# SYNTHETIC example data for linkage/examples/policy.yaml; not real observations\n"
YEARS = (2023, 2024)
DISTRICTS = {
    "D01": ("Mentougou (synthetic)", 3),
    "D02": ("Pinggu (synthetic)", 2),
    "D03": ("Huairou (synthetic)", 3),
    "D04": ("Miyun (synthetic)", 2),
    "D05": ("Yanqing (synthetic)", 2),
}
SERVICES = {  # service: (component, quantity unit, constant price CNY per quantity unit)
    "water_conservation": ("regulating", "m3 yr-1", 6.0),
    "soil_retention": ("regulating", "t yr-1", 25.0),
    "carbon_sequestration": ("regulating", "t CO2 yr-1", 60.0),
    "recreation": ("cultural", "visits yr-1", 90.0),
}


def _townships() -> dict[str, tuple[str, str]]:
    out = {}
    for district, (name, count) in DISTRICTS.items():
        for k in range(1, count + 1):
            out[f"T{district[1:]}{k:02d}"] = (
                f"{name.split()[0]} township {k} (synthetic)",
                district,
            )
    return out


def _write(frame: pd.DataFrame, name: str) -> None:
    with open(HERE / name, "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        frame.to_csv(handle, index=False, lineterminator="\n")


def accounts(rng: np.random.Generator) -> pd.DataFrame:
    """Accounts of townships for both years; district rows are the sums of their townships."""
    rows = []
    for unit, (name, parent) in _townships().items():
        scale = rng.uniform(0.5, 2.0)
        for service, (component, unit_q, price) in SERVICES.items():
            quantity = scale * rng.uniform(1e6, 5e6) / price * 10
            for year in YEARS:
                q = round(quantity * (1 + (year - 2023) * rng.uniform(-0.03, 0.08)), 1)
                rows.append(
                    (
                        unit,
                        name,
                        "township",
                        parent,
                        year,
                        service,
                        component,
                        q,
                        unit_q,
                        round(q * price * (1 + 0.02 * (year - 2020)), 2),
                        round(q * price, 2),
                        2020,
                    )
                )
    frame = pd.DataFrame(
        rows,
        columns=[
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
        ],
    )
    sums = (
        frame.groupby(
            ["parent_id", "year", "service", "component", "quantity_unit", "price_year"],
            as_index=False,
        )[["quantity", "value_current_cny", "value_constant_cny"]]
        .sum()
        .round(2)
    )
    sums = sums.rename(columns={"parent_id": "unit_id"})
    sums["unit_name"] = sums["unit_id"].map({k: v[0] for k, v in DISTRICTS.items()})
    sums["level"], sums["parent_id"] = "district", ""
    return pd.concat([sums[frame.columns], frame], ignore_index=True)


def indicators(rng: np.random.Generator) -> pd.DataFrame:
    """Indicator table for districts and townships, both years."""
    specs = {  # indicator: (unit, low, high, yearly drift)
        "eco_quality": ("EI index 0-100 (HJ 192-2015)", 55, 85, 1.0),
        "water_quality": ("% of sections meeting target", 50, 100, 2.0),
        "air_quality": ("PM2.5 ug m-3", 25, 45, -1.5),
        "green_low_carbon": ("assessment score 0-100", 50, 90, 1.0),
        "red_line_area": ("% of unit area", 10, 70, 0.0),
        "nature_reserves": ("% of unit area", 0, 30, 0.0),
        "biodiversity": ("index 0-1", 0.3, 0.8, 0.01),
        "eco_damaging": ("% of value added", 0, 12, -0.5),
    }
    units = list(DISTRICTS) + list(_townships())
    rows = []
    for unit in units:
        for name, (unit_v, low, high, drift) in specs.items():
            base = rng.uniform(low, high)
            change = drift * rng.uniform(-0.5, 2.0)
            for year in YEARS:
                value = max(0.0, base + change * (year - YEARS[0]))
                rows.append((unit, year, name, round(value, 3), unit_v))
    return pd.DataFrame(rows, columns=["unit_id", "year", "indicator", "value", "value_unit"])


def base_factors(rng: np.random.Generator) -> pd.DataFrame:
    """Area, population and ecological land per unit (townships sum to their district)."""
    towns = _townships()
    rows = {t: (rng.uniform(80, 400), rng.uniform(5e3, 6e4)) for t in towns}
    out = [
        (t, round(a, 2), round(p), round(a * rng.uniform(0.6, 0.95), 2))
        for t, (a, p) in rows.items()
    ]
    frame = pd.DataFrame(
        out, columns=["unit_id", "area_km2", "population_persons", "ecological_land_km2"]
    )
    frame["district"] = frame["unit_id"].map({t: v[1] for t, v in towns.items()})
    districts = (
        frame.groupby("district", as_index=False)[
            ["area_km2", "population_persons", "ecological_land_km2"]
        ]
        .sum()
        .round(2)
    )
    districts = districts.rename(columns={"district": "unit_id"})
    return pd.concat([districts, frame.drop(columns="district")], ignore_index=True)


def previous_allocation(rng: np.random.Generator) -> pd.DataFrame:
    """2023 amounts: 950,000,000.00 CNY over districts; 60 % of each passed to townships."""
    weights = rng.uniform(0.7, 1.3, len(DISTRICTS))
    fen = np.floor(weights / weights.sum() * 95_000_000_000).astype(np.int64)
    fen[0] += 95_000_000_000 - fen.sum()
    rows = list(zip(DISTRICTS, fen, strict=True))
    towns = _townships()
    for district, amount in list(rows):
        members = [t for t, (_, parent) in towns.items() if parent == district]
        split = rng.uniform(0.8, 1.2, len(members))
        parts = np.floor(split / split.sum() * amount * 0.6).astype(np.int64)
        rows += list(zip(members, parts, strict=True))
    return pd.DataFrame(
        {
            "unit_id": [u for u, _ in rows],
            "year": 2023,
            "amount_cny": [f"{int(f) / 100:.2f}" for _, f in rows],
        }
    )


def water(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three sections between districts and their monthly concentrations for 2024."""
    sections = pd.DataFrame(
        {
            "section_id": ["S1", "S2", "S3"],
            "section_name": [
                "river A at D01/D03 (synthetic)",
                "river B at D03/D04 (synthetic)",
                "river C at D05/D01 (synthetic)",
            ],
            "upstream_unit_id": ["D01", "D03", "D05"],
            "downstream_unit_id": ["D03", "D04", "D01"],
            "target_class": [3, 2, 4],
            "water_body": ["river", "river", "river"],
        }
    )
    centres = {"cod": 18.0, "nh3_n": 0.6, "tp": 0.12}
    rows = []
    for section, has_inflow in (("S1", True), ("S2", True), ("S3", False)):
        for month in range(1, 13):
            for pollutant, centre in centres.items():
                out = round(centre * rng.lognormal(0.0, 0.45), 3)
                inflow = round(centre * rng.lognormal(0.0, 0.45), 3) if has_inflow else None
                rows.append((section, 2024, month, pollutant, out, inflow))
    monthly = pd.DataFrame(
        rows,
        columns=["section_id", "year", "month", "pollutant", "outflow_mg_per_l", "inflow_mg_per_l"],
    )
    return sections, monthly


def horizontal(rng: np.random.Generator) -> pd.DataFrame:
    """Monthly inflow, total nitrogen and class at the agreement's inflow section, 2024."""
    return pd.DataFrame(
        {
            "agreement_id": "H1",
            "year": 2024,
            "month": range(1, 13),
            "inflow_m3": np.round(rng.uniform(2e7, 8e7, 12), -3),
            "tn_mg_per_l": np.round(rng.uniform(1.0, 2.2, 12), 3),
            "water_class": rng.choice([2, 2, 3, 3, 3, 4], 12),
        }
    )


def forest(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eligible forest parcels (mu) per township, and claims of another programme."""
    rows = [
        (t, f"{t}-P{k}", 2024, round(rng.uniform(2e3, 3e4), 1))
        for t in _townships()
        for k in (1, 2)
    ]
    areas = pd.DataFrame(rows, columns=["unit_id", "area_id", "year", "forest_area_mu"])
    claims = areas.iloc[::5].copy()
    claims["service"] = "forest_ecological_benefit"
    claims["programme"] = "national_public_welfare_forest"
    claims["amount_cny"] = (claims["forest_area_mu"] * 16).round(2)
    return areas, claims[["unit_id", "area_id", "service", "year", "programme", "amount_cny"]]


def forest_factors() -> pd.DataFrame:
    """The §(四) factors of the public-welfare forest at the last review (2019) and in 2024."""
    rows = [
        (2019, "resource_total", 1_150_000.0, "mu", "synthetic: public-welfare forest area"),
        (2024, "resource_total", 1_173_000.0, "mu", "synthetic: public-welfare forest area"),
        (2019, "service_value", 2.0e9, "CNY (constant 2020 prices)", "synthetic"),
        (2024, "service_value", 2.2e9, "CNY (constant 2020 prices)", "synthetic"),
        (2019, "carbon_sink", 1.0e6, "t CO2 yr-1", "synthetic"),
        (2024, "carbon_sink", 1.06e6, "t CO2 yr-1", "synthetic"),
        (2019, "development", 67_756.0, "CNY per person (disposable income)", "synthetic"),
        (2024, "development", 85_415.0, "CNY per person (disposable income)", "synthetic"),
    ]
    return pd.DataFrame(rows, columns=["year", "factor", "value", "value_unit", "source"])


def cropland(rng: np.random.Generator) -> pd.DataFrame:
    """Cropland per township (m2, as the land-cover accounts give it), loss and quality."""
    rows = []
    for town in _townships():
        area = rng.uniform(2e6, 4e7)
        for year in YEARS:
            lost = round(area * rng.uniform(0.0, 0.02), 1) if year > YEARS[0] else 0.0
            area = area - lost
            rows.append((town, year, round(area, 1), lost, round(rng.uniform(0.85, 1.15), 2)))
    return pd.DataFrame(
        rows,
        columns=[
            "unit_id",
            "year",
            "cropland_area_m2",
            "cropland_to_construction_m2",
            "quality_factor",
        ],
    )


def transfer_inputs(rng: np.random.Generator) -> pd.DataFrame:
    """Standard fiscal expenditure and revenue, prohibited zones and guidance per district."""
    rows = []
    for district in DISTRICTS:
        expenditure = round(rng.uniform(3e9, 6e9), -4)
        revenue = round(expenditure * rng.uniform(0.3, 0.8), -4)
        area = round(rng.uniform(0.0, 400.0), 2)
        rows.append(
            (
                district,
                YEARS[-1],
                expenditure,
                revenue,
                area,
                int(rng.integers(0, 4)),
                round(rng.uniform(0, 5e6), -2),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "unit_id",
            "year",
            "standard_expenditure_cny",
            "standard_revenue_cny",
            "prohibited_zone_area_km2",
            "prohibited_zone_count",
            "guidance_subsidy_cny",
        ],
    )


def evaluation() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Designations (one held since 2019, three obtained in 2024) and 2023 performance scores."""
    designations = pd.DataFrame(
        {
            "unit_id": ["D01", "D03", "D04", "D05"],
            "year": [2019, 2024, 2024, 2024],
            "designation": [
                "eco_civilisation_demonstration_zone",
                "eco_civilisation_demonstration_zone",
                "two_mountains_base",
                "soil_water_conservation_county",
            ],
        }
    )
    scores = {
        "D01": (92, 85, 88),
        "D02": (70, 65, 72),
        "D03": (85, 90, 80),
        "D04": (95, 92, 96),
        "D05": (60, 55, 58),
    }
    rows = [
        (unit, 2023, criterion, value)
        for unit, values in scores.items()
        for criterion, value in zip(("funds_use", "targets_met", "management"), values, strict=True)
    ]
    return designations, pd.DataFrame(rows, columns=["unit_id", "year", "criterion", "score"])


def main() -> None:
    """Write every example table next to this script."""
    rng = np.random.default_rng(20240601)
    _write(accounts(rng), "accounts.csv")
    _write(indicators(rng), "indicators.csv")
    _write(base_factors(rng), "base_factors.csv")
    _write(previous_allocation(rng), "previous_allocation.csv")
    sections, monthly = water(rng)
    _write(sections, "water_sections.csv")
    _write(monthly, "water_monthly.csv")
    _write(horizontal(rng), "horizontal_observations.csv")
    areas, claims = forest(rng)
    _write(areas, "forest_areas.csv")
    _write(forest_factors(), "forest_factors.csv")
    claims = pd.concat([claims, _national_cropland_claim()], ignore_index=True)
    _write(claims, "ledger_claims.csv")
    more = np.random.default_rng(20240602)  # the programmes of issue 9: a second stream
    _write(cropland(more), "cropland_areas.csv")
    _write(transfer_inputs(more), "transfer_inputs.csv")
    designations, scores = evaluation()
    _write(designations, "designations.csv")
    _write(scores, "performance_scores.csv")


def _national_cropland_claim() -> pd.DataFrame:
    """A claim of another programme on one township's cropland: the ledger pays it once."""
    return pd.DataFrame(
        {
            "unit_id": ["T0102"],
            "area_id": ["cropland"],
            "service": ["cropland_protection"],
            "year": [2024],
            "programme": ["national_cropland_pilot"],
            "amount_cny": [1_500_000.0],
        }
    )


if __name__ == "__main__":
    main()
