"""The gep → linkage hand-over of a spatial eligibility rule: each unit's share in an area."""

from __future__ import annotations

import numpy as np
import pytest

from gep.linkage_inputs import area_share_table, inside_area


def test_slope_threshold_by_hand() -> None:
    """Rows of 0, 0, 30 m on 30 m cells: slope (central differences) 0, atan(0.5) = 26.57 deg,
    atan(1) = 45 deg; at >= 25 deg the last two rows are inside, at >= 30 deg only the last."""
    dem = np.array([[0.0] * 3, [0.0] * 3, [30.0] * 3])
    at_25 = inside_area(dem, (30.0, 30.0), elevation_min_m=None, slope_min_deg=25.0)
    at_30 = inside_area(dem, (30.0, 30.0), elevation_min_m=None, slope_min_deg=30.0)
    assert at_25[:, 0].tolist() == [0.0, 1.0, 1.0]
    assert at_30[:, 0].tolist() == [0.0, 0.0, 1.0]
    either = inside_area(dem, (30.0, 30.0), elevation_min_m=0.0, slope_min_deg=30.0)
    assert np.all(either == 1.0)


def test_a_rule_without_thresholds_is_refused() -> None:
    from data_catalog.errors import InputError

    with pytest.raises(InputError, match="elevation_min_m and/or slope_min_deg"):
        inside_area(np.zeros((2, 2)), (30.0, 30.0), elevation_min_m=None, slope_min_deg=None)


def test_sample_region_shares() -> None:
    """Central 东城 lies wholly in the plain, 门头沟 wholly in the mountains (DEM >= 100 m)."""
    from data_catalog.catalog import load_catalog
    from data_catalog.sample import catalog_path

    table = area_share_table(
        load_catalog(catalog_path()), {"area_id": "mountain", "elevation_min_m": 100}
    ).set_index("unit_id")
    assert list(table.columns) == ["area_id", "share", "source"]
    assert table["share"].between(0.0, 1.0).all()
    assert len(table) == 16 + 349
    assert table.loc["110101", "share"] == 0.0
    assert table.loc["110109", "share"] == 1.0
    assert "elevation >= 100 m" in table["source"].iloc[0]


def test_shares_by_bands_equal_the_whole_raster() -> None:
    """The DEM read in bands of 7 rows (one halo row each side for the slope) gives the shares
    of one band holding the whole raster, to the last bit, with both thresholds in play."""
    from data_catalog.catalog import load_catalog
    from data_catalog.sample import catalog_path

    cat = load_catalog(catalog_path())
    area = {"area_id": "hills", "elevation_min_m": 300.0, "slope_min_deg": 8.0}
    whole = area_share_table(cat, area, band=100_000)
    banded = area_share_table(cat, area, band=7)
    assert banded["unit_id"].tolist() == whole["unit_id"].tolist()
    assert np.array_equal(banded["share"].to_numpy(), whole["share"].to_numpy())
    assert 0.0 < whole["share"].mean() < 1.0
