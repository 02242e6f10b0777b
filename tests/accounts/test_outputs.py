"""Account outputs: files agree with each other; numbers stay numbers; writes are atomic."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from gep.io.atomic import RunFailedError
from gep.outputs import staged_folder, write_account_outputs


@pytest.fixture(scope="module")
def written(sample_accounts, sample_config, tmp_path_factory):
    cat, acc = sample_accounts
    target = tmp_path_factory.mktemp("run") / "out"
    with staged_folder(target) as tmp:
        write_account_outputs(cat, sample_config, acc, tmp, notes=["SYNTHETIC INPUTS"])
    return target, acc


def test_every_file_is_there(written):
    folder, _ = written
    names = {p.name for p in folder.iterdir()}
    assert {
        "accounts.csv",
        "accounts.xlsx",
        "units.gpkg",
        "supply_table.csv",
        "decomposition.csv",
        "gep_by_unit.csv",
        "quantities.csv",
    } <= names
    assert not list(folder.parent.glob(".*partial"))


def test_csv_equals_memory(written):
    folder, acc = written
    csv = pd.read_csv(folder / "accounts.csv", dtype={"unit_id": str, "parent_id": str})
    assert len(csv) == len(acc.accounts)
    assert csv["value_constant_cny"].sum() == pytest.approx(
        acc.accounts["value_constant_cny"].sum()
    )


def test_xlsx_has_levels_and_numbers_as_numbers(written):
    """The sample configuration is the demo's, in Chinese (`language: zh`): sheet names and
    headings are Chinese, values exact yuan."""
    folder, _ = written
    wb = openpyxl.load_workbook(folder / "accounts.xlsx", read_only=True)
    assert {"区", "乡镇街道", "生态产品总值", "核算单元", "价格", "说明"} <= set(wb.sheetnames)
    sheet = wb["区"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    row = [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))]
    record = dict(zip(header, row, strict=True))
    assert isinstance(record["不变价价值（元）"], float)
    assert isinstance(record["价格年份"], int)


def test_geopackage_attributes_equal_the_accounts(written):
    folder, acc = written
    towns = gpd.read_file(folder / "units.gpkg", layer="township")
    assert len(towns) == 349
    by_unit = acc.accounts[(acc.accounts["level"] == "township") & (acc.accounts["year"] == 2020)]
    expected = by_unit.groupby("unit_id")["value_constant_cny"].sum()
    got = towns.set_index("unit_id")["gep_constant_cny_2020"]
    np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-9)


def test_supply_table_adds_up_to_the_raster_totals(written):
    folder, acc = written
    supply = pd.read_csv(folder / "supply_table.csv")
    for (name, year), da in acc.rasters.items():
        rows = supply[(supply["quantity_name"] == name) & (supply["year"] == year)]
        assert rows.drop_duplicates("ecosystem_type")["quantity"].sum() == pytest.approx(
            float(np.nansum(da.values.astype(np.float64))), rel=1e-9
        )


def test_failed_run_leaves_no_output_folder(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RunFailedError) as failed, staged_folder(target) as tmp:
        (tmp / "accounts.csv").write_text("half")
        raise RuntimeError("interrupted")
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_rerun_keeps_the_previous_outputs(tmp_path):
    target = tmp_path / "out"
    with staged_folder(target) as tmp:
        (tmp / "accounts.csv").write_text("first")
    with pytest.raises(RunFailedError, match="boom"), staged_folder(target) as tmp:
        (tmp / "accounts.csv").write_text("second, broken")
        raise RuntimeError("boom")
    assert (target / "accounts.csv").read_text() == "first"
