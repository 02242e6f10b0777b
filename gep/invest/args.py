"""InVEST args files: read an args JSON or datastack, and check every arg before any work."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gep.errors import InputError

if TYPE_CHECKING:
    pass


#: Accepted model names → canonical InVEST model id.
MODEL_ALIASES = {
    "carbon": "carbon",
    "natcap.invest.carbon": "carbon",
    "annual_water_yield": "annual_water_yield",
    "awy": "annual_water_yield",
    "natcap.invest.annual_water_yield": "annual_water_yield",
    "sdr": "sdr",
    "natcap.invest.sdr.sdr": "sdr",
    "natcap.invest.sdr": "sdr",
}

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


# ----------------------------------------------------------------------------------------------
# args files


def load_args(args_path: Path) -> tuple[dict[str, Any], str | None]:
    """Read an InVEST args file: a bare args dict, or a datastack with an ``args`` entry.

    Relative paths are resolved against the args file's folder, as InVEST does for datastacks.

    Parameters
    ----------
    args_path : pathlib.Path
        ``*.json`` or ``*.invs.json``.

    Returns
    -------
    args : dict
        The args with relative paths made absolute.
    model_id : str or None
        The model named in a datastack (``model_id`` or ``model_name``), if any.

    Raises
    ------
    InputError
        If the file is missing, not JSON, or not an object.
    """
    args_path = Path(args_path)
    if not args_path.is_file():
        raise InputError(f"args file not found: {args_path}")
    try:
        raw = json.loads(args_path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{args_path} is not valid JSON ({exc}); save the args as JSON") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{args_path}: expected a JSON object of args, found {type(raw).__name__}")
    model_id = None
    if isinstance(raw.get("args"), dict):
        model_id = raw.get("model_id") or raw.get("model_name")
        raw = raw["args"]
    base = args_path.resolve().parent
    args = {key: _resolve_path(key, value, base) for key, value in raw.items()}
    return args, (str(model_id) if model_id else None)


def _resolve_path(key: str, value: Any, base: Path) -> Any:
    if key.endswith("_path") and isinstance(value, str) and value.strip():
        path = Path(value.strip()).expanduser()
        return path if path.is_absolute() else (base / path).resolve()
    return value


# ----------------------------------------------------------------------------------------------
# declarative arg checks (InVEST's validate(), with our messages)


@dataclass(frozen=True)
class Arg:
    """One InVEST arg: kind, when it is required, and its condition.

    ``kind`` is one of ``raster``, ``vector``, ``csv``, ``number``, ``integer``, ``ratio``,
    ``bool``, ``option``. ``required`` is True/False or the name of a bool arg that makes it
    required. ``minimum`` (with ``exclusive``) bounds numbers; ``choices`` lists options.
    """

    key: str
    kind: str
    required: bool | str = True
    minimum: float | None = None
    exclusive: bool = False
    choices: tuple[str, ...] = ()
    about: str = ""


def check_args(specs: tuple[Arg, ...], args: Mapping[str, Any], args_path: Path) -> dict[str, Any]:
    """Coerce and check args like InVEST's ``validate`` and report every problem at once.

    Returns
    -------
    dict
        Coerced values (paths as :class:`~pathlib.Path`, numbers as float, integers as int,
        flags as bool, options lower-case); absent optional args are ``None``.

    Raises
    ------
    InputError
        Listing each problem as ``key: what is wrong (fix)``.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in specs:  # bools first so conditional requirements can be evaluated
        if spec.kind == "bool":
            values[spec.key] = _coerce_bool(spec, args.get(spec.key), problems)
    for spec in specs:
        if spec.kind == "bool":
            continue
        raw = args.get(spec.key)
        required = (
            spec.required if isinstance(spec.required, bool) else bool(values.get(spec.required))
        )
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values[spec.key] = None
            if required:
                problems.append(f"{spec.key}: is required but has no value ({spec.about}); add it")
            continue
        values[spec.key] = _coerce(spec, raw, problems)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise InputError(f"{args_path}: {len(problems)} problem(s) in the InVEST args:\n{lines}")
    return values


def _coerce_bool(spec: Arg, raw: Any, problems: list[str]) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    problems.append(f"{spec.key}: {raw!r} is not a boolean; use true or false")
    return False


def _coerce(spec: Arg, raw: Any, problems: list[str]) -> Any:
    if spec.kind in ("raster", "vector", "csv"):
        path = Path(raw)
        if not path.is_file():
            problems.append(f"{spec.key}: file not found: {path}; check the path")
        return path
    if spec.kind == "option":
        text = str(raw).strip().lower()
        if text not in spec.choices:
            problems.append(f"{spec.key}: value {raw!r} must be one of {list(spec.choices)}")
        return text
    try:
        number = float(raw)
    except (TypeError, ValueError):
        problems.append(f'{spec.key}: value "{raw}" could not be interpreted as a number')
        return None
    if spec.kind == "integer":
        if not float(number).is_integer():
            problems.append(f'{spec.key}: value "{raw}" does not represent an integer')
        return int(number)
    _check_number(spec, number, problems)
    return number


def _check_number(spec: Arg, number: float, problems: list[str]) -> None:
    if not math.isfinite(number):
        problems.append(f"{spec.key}: value {number} is not a finite number")
    elif spec.kind == "ratio" and not 0.0 <= number <= 1.0:
        problems.append(f"{spec.key}: value {number} is not in the range [0, 1]")
    elif spec.minimum is not None:
        if number < spec.minimum or (spec.exclusive and number == spec.minimum):
            op = ">" if spec.exclusive else ">="
            problems.append(
                f"{spec.key}: value {number} does not meet the condition value {op} {spec.minimum}"
            )
