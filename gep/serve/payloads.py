"""The JSON answers of ``gep serve``, built from a run's tables (no web framework here).

Amounts are in CNY (元) as stored; the page shows them in 万元 or 亿元. Each function raises
:class:`NotFound` for a year or unit the run does not have, with a message that lists what it has.
"""

from __future__ import annotations

from typing import Any

from gep.serve.data import SERVICE_LABELS_ZH, records
from gep.store.schema import StoreError

__all__ = ["NotFound", "allocation", "accounts", "diff", "gep_by_unit", "unit_panel"]

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
