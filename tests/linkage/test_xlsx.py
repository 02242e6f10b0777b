"""Sheets streamed by ``linkage.xlsx`` read back as those of pandas' own writer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import openpyxl
import pandas as pd
import pytest

from linkage.xlsx import write_sheets


def _frames() -> dict[str, pd.DataFrame]:
    rows = 50
    rng = np.random.default_rng(7)
    mixed = pd.DataFrame(
        {
            "unit_id": [f"1101{i:05d}" for i in range(rows)],
            "名称": ["东城区", "西城区"] * (rows // 2),
            "amount_cny": rng.integers(0, 10**12, rows),
            "share": rng.random(rows),
            "flag": [True, False] * (rows // 2),
            "with_gaps": np.where(np.arange(rows) % 7 == 0, np.nan, rng.random(rows)),
            "ints_with_gaps": pd.array([None if i % 5 == 0 else i for i in range(rows)], "Int64"),
            "floats_with_gaps": pd.array(
                [None if i % 4 == 0 else i / 3 for i in range(rows)], "Float64"
            ),
            "text_with_gaps": [None if i % 3 == 0 else f"t{i}" for i in range(rows)],
            "extremes": np.where(np.arange(rows) % 2 == 0, np.inf, -np.inf),
            "when": pd.date_range("2020-01-01", periods=rows, freq="D"),
        }
    )
    objects = pd.DataFrame(
        {"date": [dt.date(2022, 1, 1)], "decimal": [Decimal("1.25")], "np_int": [np.int64(3)]}
    )
    return {
        "mixed": mixed,
        "a sheet name longer than thirty-one chars": mixed,
        "o": objects,
        "empty": pd.DataFrame({"a": [], "b": []}),
    }


def test_sheets_read_back_as_pandas_own_writer(tmp_path):
    frames = _frames()
    ours = write_sheets(tmp_path / "ours.xlsx", frames)
    with pd.ExcelWriter(tmp_path / "pandas.xlsx", engine="openpyxl") as xl:
        for name, frame in frames.items():
            frame.to_excel(xl, sheet_name=name[:31], index=False)
    a = pd.read_excel(ours, sheet_name=None)
    b = pd.read_excel(tmp_path / "pandas.xlsx", sheet_name=None)
    assert list(a) == list(b) == [n[:31] for n in frames]
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


def test_the_header_is_bold_and_numbers_are_numbers(tmp_path):
    path = write_sheets(tmp_path / "t.xlsx", {"s": pd.DataFrame({"元": [1234567890123, 2]})})
    sheet = openpyxl.load_workbook(path)["s"]
    assert sheet["A1"].value == "元" and sheet["A1"].font.b
    assert sheet["A2"].value == 1234567890123 and sheet["A2"].data_type == "n"


@pytest.mark.parametrize("writes", [1, 2])
def test_the_file_is_byte_for_byte_reproducible(tmp_path, writes):
    frames = _frames()
    paths = [write_sheets(tmp_path / f"{i}.xlsx", frames) for i in range(writes + 1)]
    assert len({p.read_bytes() for p in paths}) == 1
