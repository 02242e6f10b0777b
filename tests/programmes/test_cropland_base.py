"""Cropland paid on the official base (三调 / annual change survey), land cover as a fallback.

The cropland case of ``test_worked_programmes`` (standard 300 CNY per mu in 2024, quality
factor, 600 CNY per mu lost to construction), with an official base for A and C:

A: 三调 2019 1,400 mu; 2023 annual change survey 1,480 mu -> the 2023 survey is the latest not
   after 2024: 1,480 x 300 = 444,000.00; x 1.1 = 488,400.00 (+44,400.00); 30 mu lost x 600 =
   -18,000.00 -> 470,400.00 (land cover alone gave 477,000.00)
B: no official base -> land cover, reported as the fallback: 0 (as before)
C: only a 2025 survey, after the policy year -> land cover fallback: 555,555.51 (as before)
"""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.errors import InputTableError
from linkage.programmes.cropland import FALLBACK
from linkage.run import compute_link
from tests.programmes.conftest import CROPLAND, programme_config, programme_tables

BASE = pd.DataFrame(
    {
        "unit_id": ["A", "A", "C"],
        "year": [2019, 2023, 2025],
        "cropland_area_mu": [1400.0, 1480.0, 2000.0],
        "survey": ["第三次全国国土调查", "2023 年度国土变更调查", "2025 年度国土变更调查"],
    }
)


def _run(base: pd.DataFrame):
    tables = programme_tables()
    tables["cropland_base"] = base
    return compute_link(programme_config(cropland=CROPLAND), tables)


def test_official_base_is_paid_and_the_fallback_is_reported() -> None:
    result = _run(BASE)
    summary = result.programmes["cropland"].set_index("unit_id")
    assert summary["amount_fen"][["A", "B", "C"]].tolist() == [47_040_000, 0, 55_555_551]
    assert summary.loc["A", "cropland_area_mu"] == 1480.0
    assert summary.loc["A", "area_source"] == "official base: 2023 年度国土变更调查 (2023)"
    assert summary.loc["B", "area_source"] == FALLBACK
    assert summary.loc["C", "area_source"] == FALLBACK
    lines = result.programmes["cropland_lines"]
    a = lines[lines["unit_id"] == "A"][["rule_id", "contribution_cny"]].values.tolist()
    assert a == [["CL.standard", 444_000.0], ["CL.quality", 44_400.0], ["CL.loss", -18_000.0]]
    text = lines[lines["unit_id"] == "C"]["description"].iloc[0]
    assert "land cover (fallback: no official cropland base)" in text


def test_without_a_base_every_unit_is_a_reported_fallback() -> None:
    tables = programme_tables()
    result = compute_link(programme_config(cropland=CROPLAND), tables)
    assert (result.programmes["cropland"]["area_source"] == FALLBACK).all()


def test_base_of_unknown_units_is_refused() -> None:
    bad = pd.concat([BASE, BASE.iloc[:1].assign(unit_id="T9")], ignore_index=True)
    with pytest.raises(InputTableError, match=r"\[CL\] cropland_base.unit_id: .*'T9'"):
        _run(bad)
