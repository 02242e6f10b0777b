"""InVEST tables read without pandas give pandas' results and messages (the old reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gep.errors import TableError
from gep.invest.tables import Column, Table, read_invest_table

COLUMNS = (
    Column("kc", "1", valid_range=(0.0, 2.0)),
    Column("veg", flag=True),
    Column("root", "mm", nullable=True),
)


def _rows(mask: pd.Series) -> list[int]:
    return [int(i) + 2 for i in mask.index[mask.to_numpy()]]


def _column_reference(raw: pd.Series, col: Column, problems: list[str]) -> np.ndarray:
    numbers = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna()
    if blank.any() and not col.nullable:
        problems.append(f"column '{col.name}' has blank (null) value(s) on row(s) {_rows(blank)}")
    bad = numbers.isna() & ~blank
    if bad.any():
        problems.append(f"column '{col.name}' values {raw[bad].tolist()} on row(s) {_rows(bad)}")
    if col.flag:
        wrong = numbers.notna() & ~numbers.isin([0, 1])
        if wrong.any():
            problems.append(
                f"column '{col.name}' must be 0 or 1; found {numbers[wrong].tolist()} on "
                f"row(s) {_rows(wrong)}"
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


def pandas_reference(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]] | list[str]:
    """The pandas reader this module replaced (InVEST's read): its values, or its problems."""
    frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig", dtype=str)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.apply(lambda s: s.str.strip()).replace("", np.nan).dropna(how="all")
    problems = []
    keys = pd.to_numeric(frame["lucode"], errors="coerce")
    blank = frame["lucode"].isna()
    if blank.any():
        problems.append(f"column 'lucode' is blank on row(s) {_rows(blank)}")
    bad = keys.isna() & ~blank
    if bad.any():
        problems.append(
            f"column 'lucode' holds non-numbers {frame['lucode'][bad].tolist()} on row(s) "
            f"{_rows(bad)}"
        )
    out = {}
    for col in COLUMNS:
        out[col.name] = _column_reference(frame[col.name], col, problems)
    if problems:
        return problems
    return keys.fillna(-1).round().astype(np.int64).to_numpy(), out


ODD_TABLES = [
    "lucode,KC,veg,root\n1,0.5,1,100\n2,1.5,0,\n",
    "\ufeff LUCODE ;KC;veg;root;extra\n1;0.5;1;100;x\n\n2;1.5;0;NA;y\n;;;;\n",
    "lucode\tkc\tveg\troot\n1\t0.5\t1\t 200 \n2\t1e0\t0\tnull\n",
    'lucode,kc,veg,root\n"1","0.5",1,3\n2,"0,6",1,4\n',
    "lucode,kc,veg,root\n1,x,1,100\n2,3,2,\n, ,1,5\n",
    "lucode,kc,veg,root\n1, NA,1,1_0\n2,nan,1,\n3,+1,0,inf\n",
    "lucode,kc,veg,root\n1,0.5,1\n2,0.5,0,1\n",  # a short row: blanks
    "lucode,kc,veg,root,\n1,0.5,1,2,\n",  # an unnamed column
    "lucode,kc,veg,root\n1,0.5,1,2,9\n",  # a long row: pandas' own handling
]


@pytest.mark.parametrize("text", ODD_TABLES)
def test_the_csv_reader_agrees_with_pandas(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    try:
        expected = pandas_reference(path)
    except Exception as exc:  # pandas refuses the file: so must we, with its message
        with pytest.raises(TableError, match="cannot be read as a CSV table") as err:
            read_invest_table(path, table="t", index="lucode", columns=COLUMNS)
        assert str(exc).splitlines()[0][:40] in str(err.value)
        return
    if isinstance(expected, list):
        with pytest.raises(TableError) as err:
            read_invest_table(path, table="t", index="lucode", columns=COLUMNS)
        for problem in expected:  # every problem pandas' reading finds, in its words
            assert problem in str(err.value)
        return
    table = read_invest_table(path, table="t", index="lucode", columns=COLUMNS)
    keys, columns = expected
    assert table.index.tolist() == keys.tolist()
    for name, values in columns.items():
        np.testing.assert_array_equal(table[name], values)


def test_integer_columns_are_listed_as_integers(tmp_path: Path) -> None:
    # pandas.to_numeric gives int64 for an all-integer column: messages show [2], not [2.0]
    path = tmp_path / "t.csv"
    path.write_text("lucode,kc,veg,root\n1,0.5,2,1\n2,0.5,1,1\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"'veg' must be 0 or 1; found \[2\] on row\(s\) \[2\]"):
        read_invest_table(path, table="t", index="lucode", columns=COLUMNS)


def test_infinite_key_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("lucode,kc,veg,root\ninf,0.5,1,1\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"'lucode' values \[inf\] do not represent integers"):
        read_invest_table(path, table="t", index="lucode", columns=COLUMNS)


def test_headers_equal_but_for_case_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("lucode,KC,kc,veg,root\n1,0.5,0.6,1,1\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"header names \['kc'\] more than one column"):
        read_invest_table(path, table="t", index="lucode", columns=COLUMNS)


def test_table_rows_by_key() -> None:
    table = Table("ws_id", np.array([3, 7]), {"a": np.array([1.0, 2.0])})
    assert table.row(7) == {"a": 2.0} and len(table) == 2
    with pytest.raises(KeyError):
        table.row(5)
