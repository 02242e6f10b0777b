"""InVEST-style biophysical tables, read as InVEST 3.20 reads them, checked before any work.

InVEST reads tables with ``pandas.read_csv(sep=None, engine="python", encoding="utf-8-sig")``,
strips and lower-cases the headers, ignores extra columns and drops fully empty rows. It then
reports missing columns, blanks in required columns, duplicate keys and out-of-range values.
We do the same, and every problem names the file, the column, the rows, and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.errors import TableError


@dataclass(frozen=True)
class Column:
    """An expected column of an InVEST table.

    Parameters
    ----------
    name : str
        Lower-case header.
    units : str
        Units, for messages.
    valid_range : tuple of float, optional
        Inclusive range of the values.
    flag : bool
        Values must be 0 or 1.
    nullable : bool
        Blanks are allowed (NaN kept).
    """

    name: str
    units: str = ""
    valid_range: tuple[float, float] | None = None
    flag: bool = False
    nullable: bool = False


def read_invest_table(
    path: Path, *, table: str, index: str, columns: Sequence[Column]
) -> pd.DataFrame:
    """Read and check an InVEST-style CSV table; all problems are reported together.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file (any delimiter pandas can sniff, optional UTF-8 BOM).
    table : str
        Table name as InVEST calls it (e.g. ``"biophysical table"``), for messages.
    index : str
        Integer key column (``"lucode"``, ``"ws_id"``).
    columns : sequence of Column
        Required numeric columns.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``index`` (int64), with the required columns as float64.

    Raises
    ------
    TableError
        Missing file or columns, blanks, non-numbers, non-integer or duplicate keys, values out
        of range. The message lists every problem with its fix.
    """
    frame = _read_csv(path, table)
    problems: list[str] = []
    expected = [index, *(c.name for c in columns)]
    missing = [name for name in expected if name not in frame.columns]
    if missing:
        raise TableError(
            f"{table} {path}: expected the column(s) {missing} but did not find them "
            f"(found {list(frame.columns)}; headers are matched case-insensitively); add them"
        )
    keys = _index_values(frame[index], index, problems)
    out = pd.DataFrame(index=pd.Index(keys, name=index))
    for col in columns:
        out[col.name] = _column_values(frame[col.name], col, problems)
    duplicated = sorted({int(k) for k in out.index[out.index.duplicated()]})
    if duplicated:
        problems.append(
            f"duplicate values {duplicated} in the key column '{index}'; keep one row per code"
        )
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise TableError(f"{table} {path} has {len(problems)} problem(s):\n{lines}")
    return out


def _read_csv(path: Path, table: str) -> pd.DataFrame:
    if not path.is_file():
        raise TableError(f"{table}: file not found: {path}; check the path in the args file")
    try:
        frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig", dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise TableError(f"{table} {path}: cannot be read as a CSV table ({exc})") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.apply(lambda s: s.str.strip()).replace("", np.nan)
    return frame.dropna(how="all")


def _index_values(raw: pd.Series, index: str, problems: list[str]) -> np.ndarray:
    numbers = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna()
    if blank.any():
        problems.append(
            f"column '{index}' is blank on row(s) {_rows(blank)}; every row needs a code"
        )
    bad = numbers.isna() & ~blank
    if bad.any():
        problems.append(
            f"column '{index}' holds non-numbers {raw[bad].tolist()} on row(s) {_rows(bad)}"
        )
    fractional = numbers.notna() & (numbers != np.round(numbers))
    if fractional.any():
        problems.append(
            f"column '{index}' values {numbers[fractional].tolist()} do not represent integers"
        )
    return numbers.fillna(-1).round().astype(np.int64).to_numpy()


def _column_values(raw: pd.Series, col: Column, problems: list[str]) -> np.ndarray:
    numbers = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna()
    if blank.any() and not col.nullable:
        problems.append(
            f"column '{col.name}' has blank (null) value(s) on row(s) {_rows(blank)}; fill them in"
        )
    bad = numbers.isna() & ~blank
    if bad.any():
        problems.append(
            f"column '{col.name}' values {raw[bad].tolist()} on row(s) {_rows(bad)} could not be "
            "interpreted as numbers"
        )
    if col.flag:
        wrong = numbers.notna() & ~numbers.isin([0, 1])
        if wrong.any():
            problems.append(
                f"column '{col.name}' must be 0 or 1; found {numbers[wrong].tolist()} on row(s) "
                f"{_rows(wrong)}"
            )
    elif col.valid_range is not None:
        lo, hi = col.valid_range
        wrong = numbers.notna() & ((numbers < lo) | (numbers > hi))
        if wrong.any():
            problems.append(
                f"column '{col.name}' ({col.units}) must be within [{lo}, {hi}]; found "
                f"{numbers[wrong].tolist()} on row(s) {_rows(wrong)}"
            )
    return numbers.to_numpy(dtype=np.float64)


def _rows(mask: pd.Series) -> list[int]:
    # 1-based data rows as a spreadsheet shows them, header being row 1
    return [int(i) + 2 for i in mask.index[mask.to_numpy()]]
