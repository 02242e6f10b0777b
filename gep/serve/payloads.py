"""The JSON answers of ``gep serve``, built from a run's tables (no web framework here).

Amounts are in CNY (元) as stored; the page shows them in 万元 or 亿元. Each function raises
:class:`NotFound` for a year or unit the run does not have, with a message that lists what it has.
"""

from __future__ import annotations

from typing import Any

from gep.serve.data import SERVICE_LABELS_ZH, records
from gep.store.schema import StoreError

__all__ = [
    "NotFound",
    "allocation",
    "accounts",
    "diff",
    "gep_by_unit",
    "scenario",
    "unit_panel",
]

GEP_COLUMNS = [
    "unit_id",
    "unit_name",
    "level",
    "parent_id",
    "year",
    "gep_current_cny",
    "gep_constant_cny",
    "area_km2",
    "gep_constant_cny_per_km2",
    "change_constant_cny",
    "gep_r_constant_cny",
    "condition_effect_cny",
]
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
ALLOCATION_COLUMNS = [
    "unit_id",
    "unit_name",
    "level",
    "parent_id",
    "year",
    "stage",
    "coefficient",
    "amount_fen",
    "amount_cny",
]


class NotFound(StoreError):  # noqa: N818 - an HTTP 404, named as the API answers it
    """A year or unit the run does not have (HTTP 404)."""


def _years(frame: Any) -> list[int]:
    return sorted(int(y) for y in frame["year"].dropna().unique())


def _filter_year(frame: Any, year: int | None, run_id: str) -> Any:
    if year is None:
        return frame
    years = _years(frame)
    if year not in years:
        shown = ", ".join(map(str, years)) or "none"
        raise NotFound(f"year {year} is not in run {run_id} (years: {shown})")
    return frame[frame["year"] == year]


def _filter_level(frame: Any, level: str | None) -> Any:
    return frame if level is None else frame[frame["level"] == level]


def gep_by_unit(data: Any, *, level: str | None, year: int | None) -> dict[str, Any]:
    """GEP per unit and year (current and constant prices, per km², change), in CNY."""
    frame = _filter_year(_filter_level(data.gep_by_unit, level), year, data.run["run_id"])
    return {
        "run_id": data.run["run_id"],
        "years": _years(data.gep_by_unit),
        "currency": "CNY",
        "rows": records(frame, GEP_COLUMNS),
    }


def accounts(
    data: Any, *, level: str | None, year: int | None, unit_id: str | None, service: str | None
) -> dict[str, Any]:
    """Account lines (quantity and value per service and component), filtered."""
    frame = data.accounts
    if unit_id is not None:
        frame = data.rows_of("accounts", unit_id)
        if frame.empty:
            raise NotFound(f"unit {unit_id} is not in run {data.run['run_id']}")
    frame = _filter_year(_filter_level(frame, level), year, data.run["run_id"])
    if service is not None:
        frame = frame[frame["service"] == service]
    return {
        "run_id": data.run["run_id"],
        "currency": "CNY",
        "rows": records(frame, ACCOUNT_COLUMNS),
    }


def allocation(data: Any, *, level: str | None, year: int | None) -> dict[str, Any]:
    """Compensation allocation lines per unit (fen and CNY)."""
    frame = _filter_year(_filter_level(data.allocation, level), year, data.run["run_id"])
    return {
        "run_id": data.run["run_id"],
        "years": _years(data.allocation),
        "currency": "CNY",
        "rows": records(frame, ALLOCATION_COLUMNS),
    }


def _by_service(frame: Any) -> list[dict[str, Any]]:
    grouped = (
        frame.groupby(["year", "service"])[["value_constant_cny", "value_current_cny"]]
        .sum()
        .reset_index()
    )
    grouped["service_zh"] = grouped["service"].map(lambda s: SERVICE_LABELS_ZH.get(s, s))
    return records(grouped.sort_values(["year", "value_constant_cny"], ascending=[True, False]))


def unit_panel(data: Any, unit_id: str) -> dict[str, Any]:
    """One unit: its GEP per year, GEP by service per year, and its allocation lines."""
    gep = data.rows_of("gep_by_unit", unit_id)
    if gep.empty:
        raise NotFound(
            f"unit {unit_id} is not in run {data.run['run_id']} "
            "(GET /api/runs/RUN/gep lists its units)"
        )
    first = gep.iloc[0]
    return {
        "run_id": data.run["run_id"],
        "unit_id": unit_id,
        "unit_name": first["unit_name"],
        "level": first["level"],
        "parent_id": first["parent_id"],
        "currency": "CNY",
        "gep": records(gep, GEP_COLUMNS),
        "services": _by_service(data.rows_of("accounts", unit_id)),
        "allocation": records(data.rows_of("allocation", unit_id), ALLOCATION_COLUMNS),
    }


def diff(a: Any, b: Any, *, level: str, year: int) -> dict[str, Any]:
    """GEP (constant prices) and allocation per unit of one level and year: run b − run a."""
    import pandas as pd

    keys = ["unit_id", "unit_name"]
    left = _filter_year(_filter_level(a.gep_by_unit, level), year, a.run["run_id"])
    right = _filter_year(_filter_level(b.gep_by_unit, level), year, b.run["run_id"])
    gep = pd.merge(
        left[[*keys, "gep_constant_cny"]],
        right[[*keys, "gep_constant_cny"]],
        on=keys,
        how="outer",
        suffixes=("_a", "_b"),
    )
    gep["delta_gep_constant_cny"] = gep["gep_constant_cny_b"] - gep["gep_constant_cny_a"]
    alloc = pd.merge(
        _filter_level(a.allocation, level).groupby("unit_id")["amount_cny"].sum(),
        _filter_level(b.allocation, level).groupby("unit_id")["amount_cny"].sum(),
        left_index=True,
        right_index=True,
        how="outer",
        suffixes=("_a", "_b"),
    ).reset_index()
    alloc["delta_amount_cny"] = alloc["amount_cny_b"] - alloc["amount_cny_a"]
    rows = pd.merge(gep, alloc, on="unit_id", how="left")
    services_a = _service_totals(a.accounts, level, year)
    services_b = _service_totals(b.accounts, level, year)
    services = pd.merge(services_a, services_b, on="service", how="outer", suffixes=("_a", "_b"))
    services["delta_constant_cny"] = (
        services["value_constant_cny_b"] - services["value_constant_cny_a"]
    )
    services["service_zh"] = services["service"].map(lambda s: SERVICE_LABELS_ZH.get(s, s))
    return {
        "a": a.run["run_id"],
        "b": b.run["run_id"],
        "level": level,
        "year": year,
        "currency": "CNY",
        "units": records(rows.sort_values("unit_id")),
        "services": records(services.sort_values("service")),
    }


def _service_totals(frame: Any, level: str, year: int) -> Any:
    rows = frame[(frame["level"] == level) & (frame["year"] == year)]
    return rows.groupby("service")["value_constant_cny"].sum().reset_index()


def _scenario_values(base: Any, new: Any, level: str, year: int) -> Any:
    """Value (constant prices) per unit and service of both runs and their difference."""
    import pandas as pd

    by_service = pd.concat(
        [_unit_service_values(base, level, year), _unit_service_values(new, level, year)],
        axis=1,
        keys=["base", "scenario"],
    )
    # a unit and service one run has and the other has not is worth nothing in the other
    by_service = by_service.fillna(0.0)
    by_service["delta"] = by_service["scenario"] - by_service["base"]
    return by_service


def _unit_service_values(run: Any, level: str, year: int) -> Any:
    """Value (constant prices) per unit and service of one level and year of a run."""
    rows = run.accounts[(run.accounts["level"] == level) & (run.accounts["year"] == year)]
    return rows.groupby(["unit_id", "service"])["value_constant_cny"].sum()


def _amounts_fen(run: Any, level: str) -> Any:
    """Allocated amount (fen) per unit of one level of a run."""
    rows = _filter_level(run.allocation, level)
    return rows.groupby("unit_id")["amount_fen"].sum()


def _scenario_services(totals: Any) -> list[dict[str, Any]]:
    """One row per service (base, scenario and difference), sorted by service."""
    services = [
        {
            "service": str(name),
            "service_zh": SERVICE_LABELS_ZH.get(str(name), str(name)),
            "value_constant_cny_base": float(row["base"]),
            "value_constant_cny_scenario": float(row["scenario"]),
            "delta_constant_cny": float(row["delta"]),
        }
        for name, row in totals.iterrows()
    ]
    return sorted(services, key=lambda r: r["service"])


def _scenario_units(delta: Any, alloc: Any, names: Any) -> list[dict[str, Any]]:
    """One row per unit with a value or an amount: ΔGEP, by service, and Δ allocation."""
    import pandas as pd

    per_unit = delta.unstack("service").fillna(0.0)
    units = []
    for unit_id in sorted(set(per_unit.index) | set(alloc.index)):
        deltas = per_unit.loc[unit_id] if unit_id in per_unit.index else pd.Series(dtype=float)
        fen_base = _amount_fen(alloc, unit_id, "base")
        fen_new = _amount_fen(alloc, unit_id, "scenario")
        delta_fen = None if fen_base is None or fen_new is None else fen_new - fen_base
        units.append(
            {
                "unit_id": str(unit_id),
                "unit_name": str(names.get(unit_id, "")),
                "delta_gep_constant_cny": float(deltas.sum()),
                "services": {str(k): float(v) for k, v in deltas.items() if v != 0},
                "amount_fen_base": fen_base,
                "amount_fen_scenario": fen_new,
                "delta_fen": delta_fen,
                "delta_cny": None if delta_fen is None else delta_fen / 100.0,
            }
        )
    return units


def _amount_fen(alloc: Any, unit_id: Any, column: str) -> int | None:
    """The amount (fen) of a unit in one run; None when the run has no amount for the unit."""
    import pandas as pd

    if unit_id not in alloc.index:
        return None
    value = alloc.at[unit_id, column]
    return None if pd.isna(value) else int(value)


def scenario(base: Any, new: Any, record: dict[str, Any], *, level: str) -> dict[str, Any]:
    """A stored scenario against its base run: ΔGEP per service and unit, Δ allocation per unit.

    Parameters
    ----------
    base, new : ServedRun
        The base run and the scenario run.
    record : dict
        The scenario record (:func:`gep.store.query.scenario_record`).
    level : str
        Level of the units listed (``district`` or ``township``).
    """
    import pandas as pd

    year = int(record["year"])
    by_service = _scenario_values(base, new, level, year)
    totals = by_service.groupby(level="service")[["base", "scenario", "delta"]].sum()
    alloc = pd.concat(
        [_amounts_fen(base, level), _amounts_fen(new, level)], axis=1, keys=["base", "scenario"]
    )
    names = _filter_level(base.gep_by_unit, level).drop_duplicates("unit_id")
    names = names.set_index("unit_id")["unit_name"]
    change = dict(record["change"])
    return {
        "run_id": new.run["run_id"],
        "base_run_id": record["base_run_id"],
        "year": year,
        "level": level,
        "currency": "CNY",
        "change": change,
        "pixels_changed": record["pixels_changed"],
        "area_changed_km2": change.get("area_changed_km2"),
        "services_recomputed": change.get("services_recomputed"),
        "timings_s": record["timings_s"],
        "delta_gep_constant_cny": float(totals["delta"].sum()),
        "services": _scenario_services(totals),
        "units": _scenario_units(by_service["delta"], alloc, names),
    }
