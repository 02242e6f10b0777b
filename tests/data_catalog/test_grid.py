"""Cell areas: projected (metres, feet), geographic at Beijing's latitude, a real district."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine
from rasterio.features import rasterize

from data_catalog.errors import CRSError
from data_catalog.grid import Grid
from data_catalog.sample import catalog_path
from data_catalog.vectors import read_vector


def test_utm_cell_area_is_pixel_size_squared():
    grid = Grid(pyproj.CRS.from_epsg(32650), Affine(30, 0, 400000, 0, -30, 4450000), (3, 4))
    area = grid.cell_area_m2()
    assert area.shape == (3, 1)
    assert np.all(area == 900.0)
    assert grid.pixel_size_m() == (30.0, 30.0)


def test_feet_are_converted_to_metres():
    # EPSG:2263 NAD83 / New York Long Island (ftUS): 1 US survey foot = 1200/3937 m
    grid = Grid(pyproj.CRS.from_epsg(2263), Affine(100, 0, 1e6, 0, -100, 2e5), (2, 2))
    foot = 1200 / 3937
    assert grid.pixel_size_m() == pytest.approx((100 * foot, 100 * foot), rel=1e-12)
    assert grid.cell_area_m2()[0, 0] == pytest.approx((100 * foot) ** 2, rel=1e-12)


def test_geographic_cell_area_at_beijing_latitude():
    # 0.01° × 0.01° cell spanning 40.00–40.01°N on WGS84.
    # Hand value: Δλ·b²/2·[q(φ2) − q(φ1)] = 948 099.212 m² (Snyder 1987 eq. 3-12);
    # a sphere of radius 6 371 007 m (authalic) would give 948 0xx: the same to 1e-3.
    grid = Grid(pyproj.CRS.from_epsg(4326), Affine(0.01, 0, 116.0, 0, -0.01, 40.01), (1, 1))
    assert grid.cell_area_m2()[0, 0] == pytest.approx(948_099.212, abs=0.01)


def test_geographic_area_matches_pyproj_geodesic_polygon():
    # pyproj measures geodesic polygons; densify the parallels so they follow the latitude.
    geod = pyproj.Geod(ellps="WGS84")
    grid = Grid(pyproj.CRS.from_epsg(4326), Affine(0.25, 0, 116.0, 0, -0.25, 41.0), (4, 1))
    areas = grid.cell_area_m2()[:, 0]
    for row, top in enumerate((41.0, 40.75, 40.5, 40.25)):
        lons = np.r_[np.linspace(116.0, 116.25, 400), np.linspace(116.25, 116.0, 400)]
        lats = np.r_[np.full(400, top), np.full(400, top - 0.25)]
        expected, _ = geod.polygon_area_perimeter(lons, lats)
        assert areas[row] == pytest.approx(abs(expected), rel=1e-7)
    assert np.all(np.diff(areas) > 0)  # cells grow towards the equator


def test_geographic_grid_refuses_metres():
    grid = Grid(pyproj.CRS.from_epsg(4326), Affine(0.01, 0, 116, 0, -0.01, 40), (1, 1))
    with pytest.raises(CRSError, match="geographic"):
        grid.pixel_size_m()


@pytest.mark.parametrize("epsg,cell", [(32650, 25.0), (4326, 0.00025)])
def test_real_district_area_equals_sum_of_its_pixels(epsg, cell):
    """Dongcheng district (real boundary): polygon area vs Σ cell areas of covered pixels."""
    districts = read_vector(catalog_path().parent / "districts_wgs84.geojson", name="districts")
    dongcheng = districts[districts["adcode"] == "110101"].to_crs(epsg)
    geom = dongcheng.geometry.iloc[0]
    left, bottom, right, top = geom.bounds
    cols, rows = int((right - left) / cell) + 2, int((top - bottom) / cell) + 2
    grid = Grid(
        pyproj.CRS.from_epsg(epsg), Affine(cell, 0, left - cell, 0, -cell, top + cell), (rows, cols)
    )
    mask = rasterize([geom], out_shape=grid.shape, transform=grid.transform).astype(bool)
    pixel_sum = float((np.broadcast_to(grid.cell_area_m2(), grid.shape) * mask).sum())
    if epsg == 4326:
        polygon_area = abs(
            pyproj.Geod(ellps="WGS84").geometry_area_perimeter(shapely.segmentize(geom, 0.0005))[0]
        )
    else:
        polygon_area = geom.area
    # Dongcheng is ≈ 41.8 km²; at 25 m / 0.00025° the boundary pixels err by < 0.5 %.
    assert 40e6 < polygon_area < 44e6
    assert pixel_sum == pytest.approx(polygon_area, rel=5e-3)


def test_bounds_and_coords():
    grid = Grid(pyproj.CRS.from_epsg(32650), Affine(30, 0, 0, 0, -30, 90), (3, 2))
    assert grid.bounds == (0, 0, 60, 90)
    x, y = grid.coords()
    assert list(x) == [15, 45]
    assert list(y) == [75, 45, 15]
