"""Watersheds with integer ids, reprojected to the rasters' CRS, with clear errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from rasterio.crs import CRS

from gep.errors import InputError
from gep.invest.vectors import read_features

UTM50 = CRS.from_epsg(32650)


def _write(path: Path, ids: list, *, crs: str = "EPSG:32650", field: str = "ws_id") -> Path:
    boxes = [
        shapely.box(400_000 + 90 * i, 4_499_000, 400_090 + 90 * i, 4_500_000)
        for i in range(len(ids))
    ]
    multi = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])
    gdf = gpd.GeoDataFrame(
        {field: ids, "name": [f"w{i}" for i in range(len(ids))]},
        geometry=[*boxes[:-1], shapely.affinity.translate(multi, 400_000, 4_499_000)],
        crs="EPSG:32650",
    ).to_crs(crs)
    gdf.to_file(path, driver="GPKG" if path.suffix == ".gpkg" else None)
    return path


def test_watersheds_read_with_their_ids_and_bounds(tmp_path: Path) -> None:
    path = _write(tmp_path / "ws.gpkg", [3, 1, 7])
    features = read_features(path, name="watersheds", id_field="ws_id", crs=UTM50)
    assert features.ids.tolist() == [3, 1, 7]
    gdf = gpd.read_file(path)
    assert all(a.equals_exact(b, 0) for a, b in zip(features.geometries, gdf.geometry, strict=True))
    assert features.bounds == tuple(float(v) for v in gdf.total_bounds)


@pytest.mark.parametrize("name", ["ws.geojson", "ws_wgs84.gpkg"])
def test_other_formats_and_crs_are_reprojected(tmp_path: Path, name: str) -> None:
    crs = "EPSG:4326" if "wgs84" in name else "EPSG:32650"
    path = _write(tmp_path / name, [3, 1, 7], crs=crs)
    features = read_features(path, name="watersheds", id_field="ws_id", crs=UTM50)
    assert features.ids.tolist() == [3, 1, 7]
    # reprojected onto the rasters' CRS (metres)
    assert features.bounds[0] == pytest.approx(400_000, abs=1.0)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
@pytest.mark.parametrize(
    ("ids", "field", "message"),
    [
        ([1, 2, 2], "ws_id", r"field 'ws_id' repeats \[2\]; ids must be unique"),
        ([1.5, 2.0, 3.0], "ws_id", "field 'ws_id' must hold integers on every feature"),
        (["1", "x", "3"], "ws_id", "field 'ws_id' must hold integers on every feature"),
        ([1, 2, 3], "basin", r"expected the field 'ws_id' but did not find it \(fields: "),
    ],
)
def test_id_problems_are_named_for_every_format(
    tmp_path: Path, suffix: str, ids: list, field: str, message: str
) -> None:
    path = _write(tmp_path / f"ws{suffix}", ids, field=field)
    with pytest.raises(InputError, match=message) as err:
        read_features(path, name="watersheds", id_field="ws_id", crs=UTM50)
    if field != "ws_id":
        assert f"['{field}', 'name', 'geometry']" in str(err.value)


def test_string_ids_are_numbers_as_pandas_reads_them(tmp_path: Path) -> None:
    path = _write(tmp_path / "ws.gpkg", ["4", " 5", "6"], field="WS_ID")  # any case
    features = read_features(path, name="watersheds", id_field="ws_id", crs=UTM50)
    assert features.ids.dtype == np.int64 and features.ids.tolist() == [4, 5, 6]
