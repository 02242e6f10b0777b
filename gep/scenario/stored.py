"""Scenarios against runs of the accounts store, stored as runs of kind ``scenario``.

A stored run keeps what a scenario needs: its configuration (``config_json``), its manifest
(with the catalog's absolute path) and the concrete linkage policy it used (``policy_yaml``).
The scenario's accounts, GEP by unit, decomposition and allocation are appended as a new run
that shares the base run's unit polygons, with a record of the change (table ``scenarios``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from gep import __version__
from gep.config import SAMPLE, RunConfig
from gep.scenario.change import LandCoverChange, ScenarioError
from gep.scenario.engine import ScenarioBase, ScenarioResult, run_scenario

__all__ = ["BaseCache", "config_of_run", "landcover_classes", "run_stored_scenario"]


def config_of_run(record: dict[str, Any]) -> RunConfig:
    """The run configuration of a stored run, with its catalog found again.

    Parameters
    ----------
    record : dict
        :func:`gep.store.query.run_inputs` of the run.

    Raises
    ------
    ScenarioError
        If the run is not a whole run (a ``gep link`` or a scenario), or its catalog or price
        files can no longer be found.
    """
    if record["kind"] != "run":
        hint = (
            "run the scenario on the run it changed"
            if record["kind"] == "scenario"
            else "a `gep link` run has no land cover"
        )
        raise ScenarioError(f"run {record['run_id']} is a {record['kind']} run: {hint}")
    raw = dict(record["config"])
    if not raw:
        raise ScenarioError(f"run {record['run_id']} has no configuration in the store")
    if raw.get("catalog", SAMPLE) != SAMPLE:
        path = (record["manifest"].get("catalog") or {}).get("path")
        if not path or not Path(path).is_file():
            raise ScenarioError(
                f"the catalog of run {record['run_id']} is not at {path!r} any more: a scenario "
                "recomputes from the run's inputs"
            )
        raw["catalog"] = path
    for which in ("unit_prices", "price_indices"):
        value = (raw.get("prices") or {}).get(which, "builtin")
        if value != "builtin" and not Path(value).is_absolute():
            raise ScenarioError(
                f"run {record['run_id']}: its price file {value!r} is relative to a "
                "configuration file the store does not know"
            )
    raw["linkage"] = None  # the concrete policy is stored with the run (policy_yaml)
    try:
        return RunConfig.model_validate(raw)
    except ValueError as exc:
        raise ScenarioError(
            f"run {record['run_id']}: its configuration is invalid ({exc})"
        ) from None


class BaseCache:
    """Scenario bases of stored runs, prepared once per run and kept (one at a time is built).

    Parameters
    ----------
    size : int
        Bases kept (each holds the run's per-pixel quantities).
    """

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._bases: dict[tuple[str, str], ScenarioBase] = {}
        self.lock = threading.Lock()

    def get(self, store: Path, record: dict[str, Any]) -> ScenarioBase:
        """The base of a run (built on first use)."""
        key = (str(store), str(record["run_id"]))
        if key not in self._bases:
            base = ScenarioBase.prepare(config_of_run(record), policy_yaml=record["policy_yaml"])
            while len(self._bases) >= self.size:
                self._bases.pop(next(iter(self._bases)))
            self._bases[key] = base
        return self._bases[key]


def run_stored_scenario(
    store: Path | str,
    run_id: str,
    change: LandCoverChange,
    *,
    cache: BaseCache | None = None,
    write_lock: Any = None,
) -> tuple[str, ScenarioResult]:
    """Run ``change`` against a stored run and append the scenario to the store.

    Parameters
    ----------
    store : path-like
        The accounts store.
    run_id : str
        A run id (or ``latest``) of a whole run (``gep run`` / ``gep demo``).
    change : LandCoverChange
        The change.
    cache : BaseCache, optional
        Keeps the run's base between scenarios (a warm scenario); without it every call is cold.
    write_lock : lock, optional
        Held while the scenario is appended: readers of this process that take it (the
        server's store cache) do not open the store while it is open for writing.

    Returns
    -------
    tuple
        The scenario's run id and its result (timings include ``base``: 0 when warm).

    Raises
    ------
    StoreError, UnknownRunError
        For a malformed or unknown run id.
    ScenarioError
        For a run that cannot be changed or a bad change (nothing written).
    """
    from gep.store.query import check_run_id, run_inputs

    store = Path(store)
    change.check_form()
    lock = write_lock if write_lock is not None else contextlib.nullcontext()
    with lock:
        record = run_inputs(store, check_run_id(run_id))
    cache = cache or BaseCache(size=1)
    with cache.lock:
        clock = time.perf_counter()
        base = cache.get(store, record)
        base_s = time.perf_counter() - clock
        result = run_scenario(base, change)
    result.timings_s = {"base": round(base_s, 3), **result.timings_s}
    clock = time.perf_counter()
    manifest = {
        "engine": {"name": "gep", "version": __version__},
        "config": record["config"],
        "catalog": record["manifest"].get("catalog"),
        "scenario": {
            "base_run_id": record["run_id"],
            "change": change.model_dump(mode="json"),
            "services_recomputed": result.services_recomputed,
        },
    }
    with lock:
        new_id = _append(store, record, change, result, manifest)
    result.timings_s["store"] = round(time.perf_counter() - clock, 3)
    return new_id, result


def _append(
    store: Path,
    record: dict[str, Any],
    change: LandCoverChange,
    result: ScenarioResult,
    manifest: dict[str, Any],
) -> str:
    from gep.store.ingest import append_tables

    return append_tables(
        store,
        manifest=manifest,
        tables=result.tables(),
        kind="scenario",
        policy_yaml=record["policy_yaml"],
        units_from=record["run_id"],
        scenario={
            "base_run_id": record["run_id"],
            "year": change.year,
            "change": {
                **change.model_dump(mode="json"),
                "area_changed_km2": result.area_changed_km2,
                "services_recomputed": result.services_recomputed,
            },
            "pixels_changed": result.pixels_changed,
            "timings_s": result.timings_s,
        },
    )


def landcover_classes(record: dict[str, Any]) -> dict[str, Any]:
    """Class codes and names of a stored run's land cover (for the scenario form)."""
    from data_catalog.catalog import load_catalog
    from data_catalog.tables import load_scheme

    config = config_of_run(record)
    cat = load_catalog(config.catalog_file())
    entry = cat.entry(cat.find(variable="landcover", year=config.years[-1]))
    scheme = load_scheme(entry.class_scheme or "clcd")
    return {
        "run_id": record["run_id"],
        "years": list(config.years),
        "classes": [
            {"code": int(code), "name": str(name), "ecosystem_type": str(kind)}
            for code, name, kind in zip(
                scheme["code"].astype(int), scheme["name"], scheme["ecosystem_type"], strict=True
            )
        ],
    }
