"""Large grids: the pipeline sums the accounts block by block, with the same tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_catalog.catalog import load_catalog
from gep import pipeline
from gep.pipeline import accounts as pipeline_accounts


@pytest.fixture(scope="module")
def blockwise_accounts(sample_config, sample_accounts):
    """The sample accounts again, with the blockwise threshold forced below the grid's size."""
    cat, matrix = sample_accounts
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline_accounts, "BLOCKWISE_ZONAL_PIXELS", 1000)
        patch.setattr(pipeline_accounts, "ZONAL_BLOCK", 128)  # 603 × 599 cells: 25 blocks
        levels = pipeline.unit_levels(cat, sample_config)
    params = cat.table(sample_config.parameters)  # the weather-neutral accounts too
    acc = pipeline.build_accounts(cat, sample_config, matrix.rasters, levels, params=params)
    return acc, matrix


def _assert_same(got: pd.DataFrame, want: pd.DataFrame, numeric: list[str]) -> None:
    assert got.columns.tolist() == want.columns.tolist()
    assert len(got) == len(want)
    other = [c for c in want.columns if c not in numeric]
    pd.testing.assert_frame_equal(got[other], want[other])
    for column in numeric:
        np.testing.assert_allclose(got[column], want[column], rtol=1e-9, err_msg=column)


def test_threshold_selects_blockwise_levels(sample_config, sample_accounts, blockwise_accounts):
    cat, matrix = sample_accounts
    acc, _ = blockwise_accounts
    grid = load_catalog(sample_config.catalog_file()).reference_grid()
    assert grid.shape[0] * grid.shape[1] < pipeline.BLOCKWISE_ZONAL_PIXELS  # default: matrix
    assert [lv.blockwise for lv in matrix.levels] == [False, False]
    assert [lv.blockwise for lv in acc.levels] == [True, True]
    assert [lv.block for lv in acc.levels] == [128, 128]


def test_blockwise_quantities_equal_matrix_quantities(blockwise_accounts):
    acc, matrix = blockwise_accounts
    assert (matrix.quantities["valid_fraction"] < 1).any()  # nodata inside units is exercised
    assert (matrix.quantities["quantity"] > 0).sum() > 100
    _assert_same(acc.quantities, matrix.quantities, ["quantity", "valid_fraction", "area_km2"])


def test_blockwise_accounts_equal_matrix_accounts(blockwise_accounts):
    acc, matrix = blockwise_accounts
    numeric = [
        c
        for c in matrix.accounts.columns
        if c.startswith(("quantity", "value_")) or c in ("valid_fraction", "area_km2")
    ]
    numeric = [c for c in numeric if pd.api.types.is_float_dtype(matrix.accounts[c])]
    assert {"quantity", "value_current_cny", "value_constant_cny"} <= set(numeric)
    _assert_same(acc.accounts, matrix.accounts, numeric)
    assert acc.warnings == matrix.warnings
    pd.testing.assert_frame_equal(
        acc.hierarchy.drop(columns=["parent_value", "children_sum", "relative_difference"]),
        matrix.hierarchy.drop(columns=["parent_value", "children_sum", "relative_difference"]),
    )
    if not matrix.decomposition.empty:
        floats = [
            c
            for c in matrix.decomposition.columns
            if pd.api.types.is_float_dtype(matrix.decomposition[c])
        ]
        _assert_same(acc.decomposition, matrix.decomposition, floats)


def test_cropland_areas_on_blockwise_levels(sample_config, sample_accounts, blockwise_accounts):
    """The linkage's cropland table sums with whichever levels the run built."""
    from gep.cropland import cropland_areas

    cat, matrix = sample_accounts
    acc, _ = blockwise_accounts
    got = cropland_areas(cat, acc.levels, sample_config.years)
    want = cropland_areas(cat, matrix.levels, sample_config.years)
    assert want["cropland_area_m2"].sum() > 0
    _assert_same(got, want, ["cropland_area_m2", "cropland_to_construction_m2"])


@pytest.mark.slow
def test_gep_run_sums_blockwise_above_the_threshold(
    sample_config, sample_accounts, tmp_path, monkeypatch
):
    """`gep run` (gep.run.execute) takes the switch from gep.pipeline: same accounts."""
    from gep.run import execute

    monkeypatch.setattr(pipeline_accounts, "BLOCKWISE_ZONAL_PIXELS", 1000)
    monkeypatch.setattr(pipeline, "ZONAL_BLOCK", 200)
    result = execute(sample_config, tmp_path / "out")
    _, matrix = sample_accounts
    assert all(level.blockwise for level in result.accounts.levels)
    numeric = [
        c for c in matrix.accounts.columns if pd.api.types.is_float_dtype(matrix.accounts[c])
    ]
    _assert_same(result.accounts.accounts, matrix.accounts, numeric)
    written = pd.read_csv(tmp_path / "out" / "accounts.csv")
    assert len(written) == len(matrix.accounts)
