"""InVEST-style biophysical tables, read as InVEST 3.20 reads them, checked before any work.

InVEST reads tables with ``pandas.read_csv(sep=None, engine="python", encoding="utf-8-sig")``,
strips and lower-cases the headers, ignores extra columns and drops fully empty rows. It then
reports missing columns, blanks in required columns, duplicate keys and out-of-range values.
We do the same, and every problem names the file, the column, the rows, and the fix.

The tables are a few rows long, so they are parsed with the :mod:`csv` module exactly as
pandas' python engine parses them (delimiter sniffed from the first line, pandas' default
missing-value strings): importing pandas would cost ``gep invest carbon`` a fifth of a second,
more than the model's arithmetic on a 2000² raster. A file that pandas would treat in a way
this parser does not reproduce (a line longer than the header, repeated headers, an
unsniffable first line, broken quoting) is handed to pandas itself, so the outcome and the
messages are pandas' in every case.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gep.errors import TableError

#: Strings pandas reads as missing by default (``pandas._libs.parsers.STR_NA_VALUES``).
NA_STRINGS = frozenset(
    {
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
        "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    }
)  # fmt: skip

_INTEGER = re.compile(r"[+-]?[0-9]+")


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


@dataclass(frozen=True)
class Table:
    """A checked InVEST table: integer keys and float64 columns, in the file's row order.

    Attributes
    ----------
    index_name : str
        The key column (``"lucode"``, ``"ws_id"``).
    index : numpy.ndarray
        Keys, int64.
    columns : dict of str to numpy.ndarray
        The required columns, float64 (NaN for blanks of nullable columns).

    Examples
    --------
    >>> t = Table("lucode", np.array([1, 2]), {"kc": np.array([0.5, 1.0])})
    >>> t["kc"].tolist(), t.row(2)
    ([0.5, 1.0], {'kc': 1.0})
    """

    index_name: str
    index: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        """The values of column ``name``."""
        return self.columns[name]

    def __len__(self) -> int:
        """Number of rows."""
        return int(self.index.size)

    def row(self, key: int) -> dict[str, float]:
        """The values of the row whose key is ``key`` (KeyError if there is none)."""
        where = np.flatnonzero(self.index == key)
        if where.size == 0:
            raise KeyError(key)
        return {name: float(values[where[0]]) for name, values in self.columns.items()}

    def to_numpy(self) -> np.ndarray:
        """The columns side by side, shape ``(rows, columns)``, float64."""
        return np.column_stack(list(self.columns.values())).astype(np.float64, copy=False)


def read_invest_table(path: Path, *, table: str, index: str, columns: Sequence[Column]) -> Table:
    """Read and check an InVEST-style CSV table; all problems are reported together.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file (any delimiter the csv sniffer recognises, optional UTF-8 BOM).
    table : str
        Table name as InVEST calls it (e.g. ``"biophysical table"``), for messages.
    index : str
        Integer key column (``"lucode"``, ``"ws_id"``).
    columns : sequence of Column
        Required numeric columns.

    Returns
    -------
    Table
        Keyed by ``index`` (int64), with the required columns as float64.

    Raises
    ------
    TableError
        Missing file or columns, blanks, non-numbers, non-integer or duplicate keys, values out
        of range. The message lists every problem with its fix.
    """
    header, rows = _read_csv(path, table)
    problems: list[str] = []
    expected = [index, *(c.name for c in columns)]
    missing = [name for name in expected if name not in header]
    if missing:
        raise TableError(
            f"{table} {path}: expected the column(s) {missing} but did not find them "
            f"(found {header}; headers are matched case-insensitively); add them"
        )
    keys = _index_values(_Raw.of(header, rows, index), index, problems)
    out = Table(index, keys)
    for col in columns:
        out.columns[col.name] = _column_values(_Raw.of(header, rows, col.name), col, problems)
    unique, counts = np.unique(keys, return_counts=True)
    duplicated = sorted(int(k) for k in unique[counts > 1])
    if duplicated:
        problems.append(
            f"duplicate values {duplicated} in the key column '{index}'; keep one row per code"
        )
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise TableError(f"{table} {path} has {len(problems)} problem(s):\n{lines}")
    return out


# ----------------------------------------------------------------------------------------------
# parsing


class _PandasOnly(Exception):
    """The file needs pandas' own handling (see the module docstring)."""


#: A data row: its 0-based position among the file's non-blank data lines (pandas' index
#: label) and its stripped cells (None for missing).
_Row = tuple[int, list[str | None]]


def _read_csv(path: Path, table: str) -> tuple[list[str], list[_Row]]:
    """Lower-case headers and the non-empty data rows, as pandas' python engine reads them."""
    if not path.is_file():
        raise TableError(f"{table}: file not found: {path}; check the path in the args file")
    try:
        return _parse(path)
    except UnicodeDecodeError as exc:
        raise TableError(f"{table} {path}: cannot be read as a CSV table ({exc})") from exc
    except (_PandasOnly, csv.Error):
        return _read_with_pandas(path, table)


def _parse(path: Path) -> tuple[list[str], list[_Row]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        first = f.readline()
        if not first.strip():
            raise _PandasOnly  # blank first line: pandas' sniffing rules apply
        delimiter = csv.Sniffer().sniff(first).delimiter

        class Dialect(csv.Dialect):  # pandas' dialect, with the sniffed delimiter
            quotechar = '"'
            escapechar = None
            doublequote = True
            skipinitialspace = False
            quoting = csv.QUOTE_MINIMAL
            lineterminator = "\n"

        Dialect.delimiter = delimiter
        lines = [*csv.reader([first], dialect=Dialect), *csv.reader(f, Dialect, strict=True)]
    lines = [line for line in lines if len(line) > 1 or (len(line) == 1 and line[0].strip())]
    if not lines:
        raise _PandasOnly  # empty file: pandas' EmptyDataError
    raw_header, data = lines[0], lines[1:]
    if len(set(raw_header)) != len(raw_header) or any(len(r) > len(raw_header) for r in data):
        raise _PandasOnly  # mangled duplicate names, implicit index or field-count errors
    header = [
        (name if name != "" else f"Unnamed: {i}").strip().lower()
        for i, name in enumerate(raw_header)
    ]
    if len(set(header)) != len(header):
        raise _PandasOnly
    rows: list[_Row] = []
    for position, line in enumerate(data):
        cells = [_cell(v) for v in line] + [None] * (len(header) - len(line))
        if any(c is not None for c in cells):  # pandas' dropna(how="all")
            rows.append((position, cells))
    return header, rows


def _cell(value: str) -> str | None:
    """A cell as InVEST sees it: pandas' missing strings and blanks are None, others stripped."""
    if value in NA_STRINGS:
        return None
    value = value.strip()
    return value if value else None


def _read_with_pandas(path: Path, table: str) -> tuple[list[str], list[_Row]]:
    """The unusual files: read by pandas exactly as InVEST does."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig", dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise TableError(f"{table} {path}: cannot be read as a CSV table ({exc})") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.apply(lambda s: s.str.strip()).replace("", np.nan)
    frame = frame.dropna(how="all")
    if frame.columns.duplicated().any():
        raise TableError(
            f"{table} {path}: the header names {sorted(set(frame.columns[frame.columns.duplicated()]))} "
            "more than one column (headers are matched case-insensitively); keep one of each"
        )
    rows = [
        (int(label), [None if pd.isna(v) else str(v) for v in values])
        for label, values in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    return list(frame.columns), rows


# ----------------------------------------------------------------------------------------------
# checks


@dataclass(frozen=True)
class _Raw:
    """One column's cells and what ``pandas.to_numeric(errors="coerce")`` makes of them."""

    cells: list[str | None]
    labels: list[int]  # pandas' row labels
    numbers: np.ndarray  # float64, NaN for blanks and non-numbers
    integers: bool  # pandas would have returned int64 (every cell an integer literal)

    @classmethod
    def of(cls, header: list[str], rows: list[_Row], name: str) -> _Raw:
        j = header.index(name)
        cells = [cells[j] for _, cells in rows]
        numbers = np.array([parse_number(c) for c in cells], dtype=np.float64)
        integers = all(c is not None and _INTEGER.fullmatch(c) for c in cells)
        return cls(cells, [label for label, _ in rows], numbers, integers)

    def rows(self, mask: np.ndarray) -> list[int]:
        # 1-based data rows as a spreadsheet shows them, header being row 1
        return [label + 2 for label, m in zip(self.labels, mask, strict=True) if m]

    def values(self, mask: np.ndarray) -> list[Any]:
        """The numbers under ``mask`` as pandas lists them (int when the column is integer)."""
        chosen = self.numbers[mask]
        return [int(v) for v in chosen] if self.integers else chosen.tolist()

    def blank(self) -> np.ndarray:
        return np.array([c is None for c in self.cells], dtype=bool)


def parse_number(cell: str | None) -> float:
    """``pandas.to_numeric(cell, errors="coerce")`` for one stripped cell: NaN if not a number."""
    if cell is None or not cell.isascii() or "_" in cell:
        return math.nan  # Python's float() takes '1_000' and non-ASCII digits; pandas does not
    try:
        return float(cell)
    except ValueError:
        return math.nan


def _index_values(raw: _Raw, index: str, problems: list[str]) -> np.ndarray:
    numbers = raw.numbers
    blank = raw.blank()
    if blank.any():
        problems.append(
            f"column '{index}' is blank on row(s) {raw.rows(blank)}; every row needs a code"
        )
    bad = np.isnan(numbers) & ~blank
    if bad.any():
        found = [c for c, b in zip(raw.cells, bad, strict=True) if b]
        problems.append(f"column '{index}' holds non-numbers {found} on row(s) {raw.rows(bad)}")
    # an infinite key is no integer either (pandas stopped there with IntCastingNaNError)
    fractional = ~np.isnan(numbers) & ~(np.isfinite(numbers) & (numbers == np.round(numbers)))
    if fractional.any():
        problems.append(
            f"column '{index}' values {numbers[fractional].tolist()} do not represent integers"
        )
    return np.round(np.where(np.isfinite(numbers), numbers, -1.0)).astype(np.int64)


def _column_values(raw: _Raw, col: Column, problems: list[str]) -> np.ndarray:
    numbers = raw.numbers
    blank = raw.blank()
    if blank.any() and not col.nullable:
        problems.append(
            f"column '{col.name}' has blank (null) value(s) on row(s) {raw.rows(blank)}; "
            "fill them in"
        )
    bad = np.isnan(numbers) & ~blank
    if bad.any():
        found = [c for c, b in zip(raw.cells, bad, strict=True) if b]
        problems.append(
            f"column '{col.name}' values {found} on row(s) {raw.rows(bad)} could not be "
            "interpreted as numbers"
        )
    known = ~np.isnan(numbers)
    if col.flag:
        wrong = known & (numbers != 0) & (numbers != 1)
        if wrong.any():
            problems.append(
                f"column '{col.name}' must be 0 or 1; found {raw.values(wrong)} on row(s) "
                f"{raw.rows(wrong)}"
            )
    elif col.valid_range is not None:
        lo, hi = col.valid_range
        wrong = known & ((numbers < lo) | (numbers > hi))
        if wrong.any():
            problems.append(
                f"column '{col.name}' ({col.units}) must be within [{lo}, {hi}]; found "
                f"{raw.values(wrong)} on row(s) {raw.rows(wrong)}"
            )
    return numbers.astype(np.float64)
