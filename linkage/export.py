"""Write ``allocation.csv``, ``allocation.xlsx``, ``allocation.json`` and its JSON schema.

All four files are first written to temporary files in the target folder and only then moved
into place with :func:`os.replace`, so a failure never leaves partial outputs behind.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from linkage.config import LinkConfig
from linkage.defaults import sourced
from linkage.finance import fund_allocation_table
from linkage.result import LinkResult
from linkage.xlsx import write_sheets

__all__ = ["ALLOCATION_COLUMNS", "allocation_json", "allocation_schema", "write_outputs"]

ALLOCATION_COLUMNS = (
    "unit_id",
    "unit_name",
    "level",
    "parent_id",
    "year",
    "stage",
    "group_id",
    "group_budget_fen",
    "base_factor",
    "level_tilt",
    "improvement_tilt",
    "gep_tilt",
    "deduction_share",
    "weight",
    "effective_weight",
    "proportional_fen",
    "bounded_fen",
    "bound",
    "coefficient",
    "amount_fen",
    "amount_cny",
    "township_envelope_fen",
    "retained_fen",
)
_OPTIONAL_COLUMNS = (
    "previous_fen",
    "floor_fen",
    "cap_fen",
    "water_two_way_net_fen",
    "forest_fen",
    "cropland_fen",
    "transfer_fen",
    "award_fen",
)
#: JSON schema of a number that may be missing (coefficients, tilts, optional amounts)
_NULLABLE_NUMBER: dict[str, Any] = {"type": ["number", "null"]}
#: JSON schema of each field of a rule line, in the order the lines are written
_LINE_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "step": {"type": "integer", "minimum": 1},
    "rule_id": {"type": "string"},
    "description": {"type": "string"},
    "coefficient": _NULLABLE_NUMBER,
    "contribution_cny": {"type": "number"},
    "running_total_cny": {"type": "number"},
}
_LINE_FIELDS = tuple(_LINE_FIELD_SCHEMAS)
#: JSON schema of the unit fields that are not nullable numbers (the other allocation columns are)
_UNIT_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "unit_id": {"type": "string"},
    "unit_name": {"type": "string"},
    "level": {"enum": ["district", "township"]},
    "parent_id": {"type": ["string", "null"]},
    "year": {"type": "integer"},
    "stage": {"enum": ["district", "township"]},
    "group_id": {"type": "string"},
    "bound": {"enum": ["", "floor", "cap"]},
    "group_budget_fen": {"type": "integer", "minimum": 0},
    "amount_fen": {"type": "integer", "minimum": 0},
    "amount_cny": {"type": "number", "minimum": 0},
}
_UNIT_REQUIRED = ("unit_id", "stage", "coefficient", "amount_fen", "rule_lines")
_DOCUMENT_REQUIRED = (
    "schema_version",
    "policy",
    "budget",
    "currency",
    "units",
    "programmes",
    "defaults_used",
    "generated_by",
)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def allocation_table(result: LinkResult) -> pd.DataFrame:
    """The per-unit result table written to ``allocation.csv`` and the ``result`` sheet."""
    columns = list(ALLOCATION_COLUMNS) + [c for c in _OPTIONAL_COLUMNS if c in result.allocation]
    return result.allocation[columns]


def used_defaults(config: LinkConfig) -> list[dict[str, Any]]:
    """Sourced default values the run relied on, with unit, price year and source."""
    wanted: list[tuple[str, str]] = []
    water = config.water_two_way
    if water is not None and water.deterioration.amount_cny is None:
        wanted.append(("water_two_way", "deterioration_cny_per_section_month_class"))
    if water is not None and water.no_worse_than_inflow.amount_cny is None:
        wanted.append(("water_two_way", "no_worse_than_inflow_cny_per_section_month_class"))
    if config.forest is not None and config.forest.standard.current_cny_per_mu_yr is None:
        wanted.append(("forest", "standard_cny_per_mu_yr"))
    out = []
    for section, key in wanted:
        value = sourced(section, key)
        out.append(
            {
                "name": f"{section}.{key}",
                "value": value.value,
                "unit": value.unit,
                "price_year": value.price_year,
                "source": value.source,
            }
        )
    return out


def _version() -> str:
    try:
        return metadata.version("gep")
    except metadata.PackageNotFoundError:
        return "unknown"


def allocation_json(result: LinkResult) -> dict[str, Any]:
    """The document written to ``allocation.json`` (see :func:`allocation_schema`)."""
    config = result.config
    budget = config.districts.budget
    lines = result.audit.groupby(["stage", "unit_id"], sort=False)
    units = []
    for row in _records(allocation_table(result)):
        unit_lines = lines.get_group((row["stage"], row["unit_id"]))
        row["rule_lines"] = _records(unit_lines[list(_LINE_FIELDS)])
        units.append(row)
    return {
        "schema_version": 1,
        "policy": config.policy.model_dump(),
        "budget": {
            "rule_id": budget.id,
            "amount_cny": str(budget.amount_cny),
            "amount_fen": int(budget.amount_cny * 100),
        },
        "currency": "CNY",
        "amount_units": "*_fen: integer fen (1 CNY = 100 fen); *_cny: CNY",
        "units": units,
        "programmes": {name: _records(frame) for name, frame in result.programmes.items()},
        "fund_allocation": _records(fund_allocation_table(result)),
        "defaults_used": used_defaults(config),
        "generated_by": {"package": "gep (linkage)", "version": _version()},
    }


def _rule_line_schema() -> dict[str, Any]:
    """JSON schema of one rule line of a unit."""
    return {
        "type": "object",
        "required": list(_LINE_FIELDS),
        "properties": dict(_LINE_FIELD_SCHEMAS),
    }


def _unit_schema() -> dict[str, Any]:
    """JSON schema of one unit: its allocation columns and its rule lines."""
    properties: dict[str, Any] = {name: _NULLABLE_NUMBER for name in ALLOCATION_COLUMNS}
    properties.update(_UNIT_FIELD_SCHEMAS)
    properties["rule_lines"] = {"type": "array", "items": _rule_line_schema(), "minItems": 1}
    return {"type": "object", "properties": properties, "required": list(_UNIT_REQUIRED)}


def _document_properties() -> dict[str, Any]:
    """JSON schema of each top-level field of ``allocation.json``."""
    return {
        "schema_version": {"const": 1},
        "policy": {"type": "object", "required": ["id", "year", "base_year"]},
        "budget": {
            "type": "object",
            "required": ["rule_id", "amount_cny", "amount_fen"],
            "properties": {"amount_fen": {"type": "integer", "minimum": 0}},
        },
        "currency": {"const": "CNY"},
        "amount_units": {"type": "string"},
        "units": {"type": "array", "items": _unit_schema()},
        "programmes": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "object"}},
        },
        "defaults_used": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "value", "unit", "price_year", "source"],
            },
        },
        "generated_by": {"type": "object"},
    }


def allocation_schema() -> dict[str, Any]:
    """JSON schema (draft 2020-12) of ``allocation.json``."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gep.example/linkage/allocation.schema.json",
        "title": "gep linkage allocation",
        "description": "Compensation allocation per unit with coefficients and rule lines; "
        "the rule lines of a unit, added in order, give its amount.",
        "type": "object",
        "required": list(_DOCUMENT_REQUIRED),
        "properties": _document_properties(),
    }
    # a copy, so that a caller changing the schema cannot change the module's field schemas
    return copy.deepcopy(schema)


def _rules_sheet(config: LinkConfig, out_dir: Path) -> pd.DataFrame:
    """Every setting of the policy; input files relative to the output folder (reproducible)."""
    flat = pd.json_normalize(json.loads(config.model_dump_json()), sep=".")
    rows = []
    for key, value in flat.iloc[0].items():
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        elif str(key).startswith("inputs.") and isinstance(value, str) and os.path.isabs(value):
            value = Path(os.path.relpath(value, out_dir.resolve())).as_posix()
        rows.append((key, value))
    return pd.DataFrame(rows, columns=["setting", "value"]).astype({"value": str})


def _write_xlsx(result: LinkResult, path: Path, out_dir: Path) -> None:
    sheets = {
        "inputs": result.inputs,
        "scores": result.scores,
        "rule lines": result.audit,
        "result": allocation_table(result),
        "rules": _rules_sheet(result.config, out_dir),
        "defaults used": pd.DataFrame(used_defaults(result.config)),
        "资金分配表": fund_allocation_table(result),
        **{name.replace("_", " "): frame for name, frame in result.programmes.items()},
    }
    write_sheets(path, sheets)


def _write_json(document: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_outputs(result: LinkResult, out_dir: Path) -> dict[str, Path]:
    """Write the four output files atomically.

    Parameters
    ----------
    result : LinkResult
        A computed result.
    out_dir : pathlib.Path
        Target folder (created if missing).

    Returns
    -------
    dict of str to pathlib.Path
        ``csv``, ``xlsx``, ``json``, ``schema`` to the files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    writers: dict[str, tuple[str, Callable[[Path], None]]] = {
        "csv": ("allocation.csv", lambda p: allocation_table(result).to_csv(p, index=False)),
        "xlsx": ("allocation.xlsx", lambda p: _write_xlsx(result, p, out_dir)),
        "json": ("allocation.json", lambda p: _write_json(allocation_json(result), p)),
        "schema": ("allocation.schema.json", lambda p: _write_json(allocation_schema(), p)),
    }
    temporary: dict[str, Path] = {}
    try:
        for key, (name, write) in writers.items():
            handle, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
            os.close(handle)
            temporary[key] = Path(tmp)
            write(temporary[key])
    except BaseException:
        for tmp_path in temporary.values():
            tmp_path.unlink(missing_ok=True)
        raise
    final = {}
    mode = _file_mode()
    for key, (name, _) in writers.items():
        final[key] = out_dir / name
        temporary[key].chmod(mode)  # mkstemp creates 0600; give the usual umask mode
        os.replace(temporary[key], final[key])
    return final


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
