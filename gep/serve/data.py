"""What ``gep serve`` answers, built from the accounts store and cached in memory.

The store is opened read-only only when the cache misses, and closed straight away, so a
``gep run`` appending to the store is never kept out for long. The cache is dropped whenever the
store file changes (its size or modification time, or those of its write-ahead log).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gep.store.schema import UnknownRunError

__all__ = ["SERVICE_LABELS_ZH", "ServedRun", "StoreCache", "records"]

#: Chinese names of the services, as the GEP accounting standard names them.
SERVICE_LABELS_ZH = {
    "agricultural_products": "农业产品",
    "forestry_products": "林业产品",
    "livestock_products": "畜牧业产品",
    "fishery_products": "渔业产品",
    "ecological_energy": "生态能源",
    "water_supply": "水资源供给",
    "water_conservation": "水源涵养",
    "water_yield": "产水服务",
    "soil_retention": "土壤保持",
    "flood_regulation": "洪水调蓄",
    "water_purification": "水质净化",
    "air_purification": "空气净化",
    "carbon_sequestration": "固碳",
    "carbon_nep": "固碳",
    "oxygen_release": "释氧",
    "climate_regulation": "气候调节",
    "recreation": "休闲旅游",
    "landscape_value": "景观价值",
}

#: Display simplification of unit polygons, degrees (about 30 m in Beijing).
SIMPLIFY_DEG = 0.0003


def _clean(value: Any) -> Any:
    """A JSON-safe scalar: NaN and NA → None, numpy scalars → Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return value


def records(frame: Any, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of a DataFrame as JSON-safe dicts (NaN → null)."""
    frame = frame if columns is None else frame[[c for c in columns if c in frame.columns]]
    names = list(frame.columns)
    return [
        {name: _clean(v) for name, v in zip(names, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


@dataclass
class ServedRun:
    """A run's tables (as :class:`gep.store.RunData`) with their rows indexed by unit id."""

    run: dict[str, Any]
    accounts: Any
    gep_by_unit: Any
    allocation: Any
    units: Any
    _by_unit: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, data: Any) -> ServedRun:
        """Index a loaded run (one pass per table, so a unit's query is a dict look-up).

        GEP by unit gains ``gep_r_constant_cny`` (GEP-R, from the file's extra columns) and
        ``condition_effect_cny`` (from the decomposition, for the later year of each pair).
        """
        gep = _with_indicators(data.gep_by_unit, getattr(data, "decomposition", None))
        served = cls(data.run, data.accounts, gep, data.allocation, data.units)
        for name in ("accounts", "gep_by_unit", "allocation"):
            frame = getattr(served, name)
            served._by_unit[name] = dict(iter(frame.groupby("unit_id", sort=False)))
        return served

    def rows_of(self, table: str, unit_id: str) -> Any:
        """The rows of ``table`` (accounts, gep_by_unit, allocation) for one unit."""
        frame = getattr(self, table)
        return self._by_unit[table].get(unit_id, frame.iloc[0:0])


def _with_indicators(gep: Any, decomposition: Any) -> Any:
    """GEP by unit with GEP-R and the condition effect as columns (None where absent)."""
    import json

    import pandas as pd

    gep = gep.copy()
    if "extra" in gep.columns:
        extra = [json.loads(text) if isinstance(text, str) else {} for text in gep["extra"]]
        gep["gep_r_constant_cny"] = [e.get("gep_r_constant_cny") for e in extra]
    else:
        gep["gep_r_constant_cny"] = None
    if decomposition is not None and len(decomposition):
        effect = decomposition[["unit_id", "level", "year_to", "condition_effect_cny"]].rename(
            columns={"year_to": "year"}
        )
        effect = effect.groupby(["unit_id", "level", "year"], as_index=False).sum(min_count=1)
        gep = gep.merge(effect, on=["unit_id", "level", "year"], how="left")
    else:
        gep["condition_effect_cny"] = None
    gep["gep_r_constant_cny"] = pd.to_numeric(gep["gep_r_constant_cny"], errors="coerce")
    gep["condition_effect_cny"] = pd.to_numeric(gep["condition_effect_cny"], errors="coerce")
    return gep


class StoreCache:
    """Runs, their tables and their GeoJSON, loaded from the store once per store change.

    Parameters
    ----------
    store : pathlib.Path
        The store's DuckDB file.
    """

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self._lock = threading.RLock()
        self._signature: tuple[int, ...] | None = None
        self._runs: list[dict[str, Any]] | None = None
        self._data: dict[str, Any] = {}
        self._geojson: dict[tuple[str, str], dict[str, Any]] = {}

    def _current_signature(self) -> tuple[int, ...]:
        parts: list[int] = []
        for path in (self.store, self.store.with_name(self.store.name + ".wal")):
            try:
                stat = os.stat(path)
                parts += [stat.st_mtime_ns, stat.st_size]
            except FileNotFoundError:
                parts += [0, 0]
        return tuple(parts)

    def _refresh(self) -> None:
        signature = self._current_signature()
        if signature != self._signature:
            self._signature = signature
            self._runs = None
            self._data.clear()
            self._geojson.clear()

    @property
    def write_lock(self) -> Any:
        """Held while this process writes to the store (a scenario): cached reads wait for it."""
        return self._lock

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first (see :func:`gep.store.list_runs`)."""
        from gep.store import list_runs

        with self._lock:
            self._refresh()
            if self._runs is None:
                self._runs = list_runs(self.store)
            return self._runs

    def resolve(self, run_id: str) -> str:
        """The run id itself, or the newest run's for ``latest``; else UnknownRunError."""
        runs = self.runs()
        ids = [r["run_id"] for r in runs]
        if run_id == "latest" and ids:
            return str(ids[-1])
        if run_id not in ids:
            raise UnknownRunError(f"run {run_id} is not in the store (GET /api/runs lists them)")
        return run_id

    def run(self, run_id: str) -> ServedRun:
        """A run's tables, indexed by unit."""
        from gep.store import load_run

        run_id = self.resolve(run_id)
        with self._lock:
            self._refresh()
            if run_id not in self._data:
                self._data[run_id] = ServedRun.of(load_run(self.store, run_id))
            return self._data[run_id]

    def geojson(self, run_id: str, level: str) -> dict[str, Any]:
        """The run's unit polygons of one level as GeoJSON, simplified for display."""
        from gep.store.geo import units_geojson

        run_id = self.resolve(run_id)
        data = self.run(run_id)
        key = (run_id, level)
        with self._lock:
            if key not in self._geojson:
                units = data.units[data.units["level"] == level]
                areas = data.gep_by_unit.drop_duplicates("unit_id").set_index("unit_id")
                extra = {
                    str(uid): {
                        "parent_id": _clean(areas.at[uid, "parent_id"]),
                        "area_km2": _clean(areas.at[uid, "area_km2"]),
                    }
                    for uid in units["unit_id"]
                    if uid in areas.index
                }
                self._geojson[key] = units_geojson(
                    units, simplify_deg=SIMPLIFY_DEG, digits=5, properties=extra
                )
            return self._geojson[key]
