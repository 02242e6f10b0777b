"""Appending what ``gep link`` wrote: its allocation lines and a run record of kind ``link``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gep.store.ingest import (
    RunFiles,
    _empty_table,
    _read_table,
    _read_units,
    _sha256,
    _write_new_run,
)
from gep.store.schema import StoreError

__all__ = ["append_link_run"]


def append_link_run(
    store_path: Path | str,
    output_folder: Path | str,
    policy: Path | str,
    *,
    engine: dict[str, Any],
    lock_timeout_s: float = 60.0,
) -> str:
    """Append what ``gep link`` wrote (its allocation lines) and a run record of kind ``link``.

    Parameters
    ----------
    store_path : path-like
        The store's DuckDB file (created if missing).
    output_folder : path-like
        The folder ``gep link`` wrote ``allocation.csv`` into.
    policy : path-like
        The policy file it read; its text is kept, and the sha256 of it and of every input
        table it names (``inputs:``, relative to the policy) is recorded.
    engine : dict
        ``{"name": ..., "version": ...}`` of the engine.

    Returns
    -------
    str
        The new run's id.

    Raises
    ------
    StoreError
        If the folder has no ``allocation.csv`` or the policy cannot be read (nothing written).
    """
    import yaml

    folder, policy = Path(output_folder), Path(policy)
    if not (folder / "allocation.csv").is_file():
        raise StoreError(f"{folder} has no allocation.csv: is it a `gep link` output folder?")
    try:
        text = policy.read_text(encoding="utf-8")
        parsed = yaml.safe_load(text) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StoreError(f"{policy}: cannot be read as a policy file ({exc})") from None
    inputs = []
    named = parsed.get("inputs") if isinstance(parsed, dict) else None
    for input_id, value in [("policy", policy.name), *((named or {}).items())]:
        path = policy if input_id == "policy" else policy.parent / str(value)
        if path.is_file():
            inputs.append(
                {
                    "id": str(input_id),
                    "kind": "table" if input_id != "policy" else "policy",
                    "path": str(path.resolve()),
                    "bytes": path.stat().st_size,
                    "sha256": _sha256(path),
                }
            )
    meta = parsed.get("policy") if isinstance(parsed, dict) else None
    name = str((meta or {}).get("name") or policy.stem)
    manifest = {
        "engine": engine,
        "config": {"name": name, "kind": "link", "policy": str(policy.resolve())},
        "inputs": inputs,
    }
    files = {"allocation.csv": _sha256(folder / "allocation.csv"), "policy": _sha256(policy)}
    tables = {
        "accounts": _empty_table("accounts"),
        "gep_by_unit": _empty_table("gep_by_unit"),
        "allocation": _read_table(folder, "allocation"),
    }
    units = _read_units(folder)
    run = RunFiles(folder.resolve(), manifest, tables, units, files, kind="link", policy_yaml=text)
    return _write_new_run(store_path, run, lock_timeout_s)
