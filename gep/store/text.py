"""How ``gep store`` prints runs, a run's record and a comparison of two runs (rich tables)."""

from __future__ import annotations

from typing import Any

__all__ = ["diff_table", "format_cny", "input_lines", "run_table", "runs_table"]


def format_cny(value: float) -> str:
    """An amount in CNY (元) as 亿元 or 万元 with the unit, for people to read.

    Examples
    --------
    >>> format_cny(2_100_726_068.31)
    '21.01 亿元'
    >>> format_cny(-45_004.7)
    '-4.50 万元'
    >>> format_cny(float("nan"))
    '—'
    """
    if value != value:  # NaN: missing in one of the runs
        return "—"
    if abs(value) >= 1e8:
        return f"{value / 1e8:,.2f} 亿元"
    return f"{value / 1e4:,.2f} 万元"


def runs_table(runs: list[dict[str, Any]], store: str) -> Any:
    """A table of the store's runs, oldest first."""
    from rich.table import Table

    table = Table(title=f"runs in {store}")
    # the id is typed back (never folded) and already says when the run was stored (UTC)
    table.add_column("run (YYYYMMDDTHHMMSSZ-…)", no_wrap=True)
    for column in ("configuration", "catalog", "years", "gep"):
        table.add_column(column)
    for run in runs:
        catalog = str(run["catalog_name"]) + (" (synthetic)" if run["synthetic"] else "")
        table.add_row(
            run["run_id"],
            str(run["config_name"]) + _kind_note(run.get("kind")),
            catalog,
            ",".join(map(str, run["years"])),
            str(run["engine_version"]),
        )
    return table


def _kind_note(kind: Any) -> str:
    """`` [scenario]`` or `` [link]`` after a configuration's name; nothing for a whole run."""
    return "" if kind in (None, "run") else f" [{kind}]"


def run_table(record: dict[str, Any]) -> Any:
    """A run's record: time, engine, source folder, table sizes."""
    from rich.table import Table

    table = Table(title=f"run {record['run_id']}", show_header=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key in ("created_at", "engine_version", "config_name", "catalog_name", "source_folder"):
        table.add_row(key, str(record[key]))
    table.add_row("years", ", ".join(map(str, record["years"])))
    table.add_row("rows", ", ".join(f"{k} {v}" for k, v in record["rows"].items()))
    table.add_row("kind", str(record.get("kind") or "run"))
    scenario = record.get("scenario")
    if scenario:
        change = scenario["change"]
        source = change.get("from_class")
        where = f"units {', '.join(change['units'])}" if change.get("units") else "a polygon"
        table.add_row(
            "scenario",
            f"run {scenario['base_run_id']}, {scenario['year']}: class "
            f"{'any' if source is None else source} → {change.get('to_class')} within {where}; "
            f"{scenario['pixels_changed']} pixels",
        )
    return table


def input_lines(record: dict[str, Any]) -> list[str]:
    """One line per input of a run: id, sha256 and path (whole, for scripts to read)."""
    return [
        f"input {item['input_id']}: sha256 {item['sha256']} {item['path']}"
        for item in record["inputs"]
    ]


def diff_table(diff: Any, *, level: str, limit: int) -> Any:
    """GEP change per unit (all services, constant prices) between two runs, largest first."""
    from rich.table import Table

    rows = diff[diff["level"] == level]
    per_unit = (
        rows.groupby(["unit_id", "unit_name", "year"], dropna=False)[
            ["value_constant_cny_a", "value_constant_cny_b", "delta_constant_cny"]
        ]
        .sum(min_count=1)
        .reset_index()
    )
    per_unit = per_unit.reindex(
        per_unit["delta_constant_cny"].abs().sort_values(ascending=False).index
    )
    table = Table(title=f"GEP (constant prices) per {level}: run B − run A, largest changes")
    for column in ("unit", "name", "year", "GEP A", "GEP B", "change"):
        table.add_column(column, justify="right" if column.startswith(("GEP", "ch")) else "left")
    for row in per_unit.head(limit).itertuples(index=False):
        table.add_row(
            str(row.unit_id),
            str(row.unit_name),
            str(row.year),
            format_cny(row.value_constant_cny_a),
            format_cny(row.value_constant_cny_b),
            format_cny(row.delta_constant_cny),
        )
    return table
