"""The embedded sample region: size, realism and consistency of what ships."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_catalog.catalog import load_catalog
from data_catalog.sample import catalog_path

CROP, FOREST, BUILT = 1, 2, 8


@pytest.fixture(scope="module")
def cat():
    return load_catalog(catalog_path())


def test_sample_is_small():
    folder = catalog_path().parent
    size = sum(
        p.stat().st_size for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert size < 20e6


def test_grid_is_utm50n_at_300m(cat):
    grid = cat.reference_grid()
    assert grid.crs.to_epsg() == 32650
    assert grid.pixel_size_m() == (300.0, 300.0)


def test_real_codes_one_township_polygon_each(cat):
    towns = cat.vector("townships")
    codes = pd.read_csv(catalog_path().parent / "township_codes.csv", dtype=str)
    assert len(towns) == 349
    assert sorted(towns["town_code"]) == sorted(codes["town_code"])
    assert towns.geometry.is_valid.all()
    assert (towns.geometry.area > 0).all()


def test_townships_partition_their_districts(cat):
    towns = cat.vector("townships")
    districts = cat.vector("districts").to_crs(towns.crs).set_index("adcode")
    sums = towns.groupby("district_code").geometry.apply(lambda g: g.area.sum())
    for code, area in sums.items():
        assert area == pytest.approx(districts.loc[code].geometry.area, rel=1e-6)


def test_precipitation_is_plausible_and_orographic(cat):
    p = cat.raster("precipitation_2020").values
    dem = cat.raster("dem").values
    valid = np.isfinite(p)
    assert 380 <= np.nanmin(p) and np.nanmax(p) <= 760
    assert 540 < np.nanmean(p) < 640
    front = valid & (dem > 200) & (dem < 700)
    plain = valid & (dem < 60)
    assert p[front].mean() > p[plain].mean()


def test_landcover_changes_realistically(cat):
    lc15 = cat.raster("landcover_2015").values
    lc20 = cat.raster("landcover_2020").values
    n = lc15.size
    urban_growth = np.sum((lc15 == CROP) & (lc20 == BUILT)) / n
    afforestation = np.sum((lc15 == CROP) & (lc20 == FOREST)) / n
    loss = np.sum((lc15 == FOREST) & (lc20 != FOREST)) / n
    assert urban_growth > 0.005 and afforestation > 0.005
    assert 0 < loss < afforestation
    assert np.sum(lc20 == BUILT) > np.sum(lc15 == BUILT)


def test_every_output_says_synthetic(cat):
    for entry_id, entry in cat.entries.items():
        if entry_id != "districts":
            assert entry.synthetic, entry_id
    assert cat.raster("dem").attrs["synthetic"] == "true"
