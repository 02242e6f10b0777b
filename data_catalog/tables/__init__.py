"""Built-in class schemes, parameter tables and price tables (CSV, every row sourced).

Confidence marks follow ``PARAMETERS.md``: ``stated in source``, ``literature unverified``,
``derived from stated %``, ``not sourced`` (no value: the user must supply it) and
``synthetic`` (illustrative values of the sample region only).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from data_catalog.errors import InputError

SCHEMES = ("clcd", "esa_worldcover", "gbt21010")
ECOSYSTEM_TYPES = (
    "forest",
    "shrub",
    "grassland",
    "wetland",
    "cropland",
    "water",
    "built_up",
    "bare",
)
CONFIDENCE_LEVELS = (
    "stated in source",
    "literature unverified",
    "derived from stated %",
    "not sourced",
    "synthetic",
    "user supplied",
)
SCHEME_COLUMNS = ("code", "name", "ecosystem_type", "source", "confidence")
PARAMETER_COLUMNS = ("ecosystem_type", "parameter", "value", "unit", "source", "confidence")


def _builtin(folder: str, name: str) -> Path:
    path = resources.files("data_catalog.tables").joinpath(folder, f"{name}.csv")
    return Path(str(path))


def builtin_parameter_tables() -> list[str]:
    """Names of the built-in parameter tables."""
    folder = Path(str(resources.files("data_catalog.tables").joinpath("parameters")))
    return sorted(p.stem for p in folder.glob("*.csv"))


def read_table(path: str | Path, *, name: str, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV table and check that its required columns exist.

    Headers are stripped; a UTF-8 byte-order mark is accepted.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{name}: table file not found: {path}")
    try:
        df = pd.read_csv(path, encoding="utf-8-sig", skipinitialspace=True, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: cannot read {path} as CSV ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{name}: expected the column(s) {missing} in {path} but found {list(df.columns)}"
        )
    return df


def load_scheme(scheme: str | Path) -> pd.DataFrame:
    """A land-cover class scheme with its crosswalk to the engine's ecosystem types.

    Parameters
    ----------
    scheme : str or path
        ``"clcd"``, ``"esa_worldcover"``, ``"gbt21010"`` or the path of a CSV with columns
        ``code, name, ecosystem_type, source, confidence``.
    """
    path = _builtin("schemes", str(scheme)) if str(scheme) in SCHEMES else Path(scheme)
    if not path.exists():
        raise InputError(
            f"class scheme {scheme!r} is neither built in ({', '.join(SCHEMES)}) nor a CSV file"
        )
    df = read_table(path, name=f"class scheme {scheme}", required=SCHEME_COLUMNS)
    bad = sorted(set(df["ecosystem_type"]) - set(ECOSYSTEM_TYPES))
    if bad:
        raise InputError(
            f"class scheme {scheme}: unknown ecosystem types {bad}; use {list(ECOSYSTEM_TYPES)}"
        )
    return df


def load_parameters(table: str | Path) -> pd.DataFrame:
    """A long-format parameter table (``ecosystem_type, parameter, value, unit, source, confidence``).

    Rows marked ``not sourced`` have no value; :func:`require_values` turns them into a clear
    error when a run needs them.
    """
    name = str(table)
    path = _builtin("parameters", name) if name in builtin_parameter_tables() else Path(table)
    df = read_table(path, name=f"parameter table {name}", required=PARAMETER_COLUMNS)
    df["value"] = pd.to_numeric(df["value"], errors="raise")
    return df


def require_values(
    params: pd.DataFrame, ecosystem_types: list[str], parameters: list[str], *, table: str
) -> pd.DataFrame:
    """Wide table ``ecosystem_type × parameter``; error listing every value that is missing.

    Raises
    ------
    InputError
        If any requested (ecosystem type, parameter) has no row or no value.
    """
    wide = params.pivot_table(
        index="ecosystem_type", columns="parameter", values="value", aggfunc="first", dropna=False
    )
    missing = [
        f"{t}/{p}"
        for t in ecosystem_types
        for p in parameters
        if t not in wide.index or p not in wide.columns or bool(pd.isna(float(wide.at[t, p])))  # type: ignore[arg-type]
    ]
    if missing:
        raise InputError(
            f"parameter table {table}: no value for {', '.join(missing)}. These are not sourced "
            "in the built-in defaults: supply them in your own parameter table "
            "(same columns, confidence 'user supplied')"
        )
    return wide.loc[ecosystem_types, parameters]


def unverified(params: pd.DataFrame) -> pd.DataFrame:
    """Rows whose value is used but not stated in a source (to be flagged in outputs)."""
    used = params["value"].notna()
    return params[used & (params["confidence"] != "stated in source")]


def load_unit_prices() -> pd.DataFrame:
    """Built-in unit prices: ``item, service, value, unit, price_year, deflator, source, confidence``."""
    return read_table(
        _builtin("prices", "unit_prices"),
        name="unit prices",
        required=("item", "value", "unit", "price_year", "source", "confidence"),
    )


def load_carbon_market_prices() -> pd.DataFrame:
    """Built-in carbon market prices (CNY per t CO2) with year, kind and source."""
    return read_table(
        _builtin("prices", "carbon_market_prices"),
        name="carbon market prices",
        required=("market", "value", "unit", "price_year", "source"),
    )


def load_price_indices() -> pd.DataFrame:
    """Built-in national price indices (previous year = 100): ``year, index, value``."""
    return read_table(
        _builtin("prices", "price_indices"),
        name="price indices",
        required=("year", "index", "value", "source", "confidence"),
    )
