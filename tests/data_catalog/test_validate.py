"""`gep validate`: every kind of fault is reported, all at once, each with a fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
from affine import Affine
from typer.testing import CliRunner

from data_catalog.catalog import validate_catalog
from data_catalog.sample import catalog_path
from gep.cli import app

from .catalog_factory import write_catalog

_LON, _LAT = pyproj.Transformer.from_crs(32650, 4326, always_xy=True).transform(400030, 4449970)
GEOGRAPHIC = Affine(0.001, 0, _LON - 0.001, 0, -0.001, _LAT + 0.001)  # over the UTM fixtures
FAR_AWAY = Affine(30, 0, 100000, 0, -30, 3000000)
COARSE = Affine(60, 0, 400000, 0, -60, 4450000)


@pytest.fixture
def faulty_catalog(tmp_path, tif):
    lc = np.array([[1, 2], [2, 255]], dtype=np.uint8)
    tif("lc.tif", lc, nodata=255)
    tif("nocrs.tif", np.ones((2, 2), dtype=np.float32), crs=None)
    tif("dem_geo.tif", np.ones((2, 2), dtype=np.float32), transform=GEOGRAPHIC, crs="EPSG:4326")
    tif("nonodata.tif", np.ones((2, 2), dtype=np.float32), nodata=None)
    tif("range.tif", np.array([[500, 99999], [600, 700]], dtype=np.float32))
    tif("coarse.tif", np.ones((1, 1), dtype=np.float32), transform=COARSE)
    tif("far.tif", np.ones((2, 2), dtype=np.float32), transform=FAR_AWAY)
    tif("units.tif", np.ones((2, 2), dtype=np.float32))
    pd.DataFrame({"ecosystem_type": ["cropland"], "parameter": ["kc"], "value": [0.6]}).to_csv(
        tmp_path / "params.csv", index=False
    )
    pd.DataFrame({"lucode": [1, 1, 2], "kc": [0.6, 0.7, 1.0]}).to_csv(
        tmp_path / "dup.csv", index=False
    )
    entries = {
        "landcover": {
            "kind": "raster",
            "path": "lc.tif",
            "categorical": True,
            "class_scheme": "clcd",
            "variable": "landcover",
        },
        "missing": {"kind": "raster", "path": "nope.tif"},
        "nocrs": {"kind": "raster", "path": "nocrs.tif"},
        "dem": {
            "kind": "raster",
            "path": "dem_geo.tif",
            "variable": "elevation",
            "units": "m",
            "resampling": "bilinear",
        },
        "nonodata": {"kind": "raster", "path": "nonodata.tif"},
        "precipitation": {
            "kind": "raster",
            "path": "range.tif",
            "variable": "precipitation",
            "units": "mm yr-1",
            "valid_range": [0, 5000],
        },
        "coarse": {"kind": "raster", "path": "coarse.tif"},
        "far": {"kind": "raster", "path": "far.tif", "resampling": "average"},
        "et": {
            "kind": "raster",
            "path": "units.tif",
            "variable": "evapotranspiration",
            "units": "m",
        },
        "params": {
            "kind": "table",
            "path": "params.csv",
            "key": ["ecosystem_type", "parameter"],
            "covers": ["landcover"],
        },
        "dup": {"kind": "table", "path": "dup.csv", "key": "lucode"},
        "typo": {"kind": "raster", "path": "lc.tif", "colour": "red"},
        "nosource": {"kind": "raster", "path": "lc.tif"},
        "corrupt": {"kind": "raster", "path": "corrupt.tif"},
    }
    (tmp_path / "corrupt.tif").write_bytes(b"not a tiff")
    path = write_catalog(tmp_path, entries)
    text = path.read_text().replace("  nosource:\n    source: test fixture\n", "  nosource:\n")
    path.write_text(text)
    return path


EXPECTED = {
    ("missing", "path"): "file not found",
    ("nocrs", "crs"): "no CRS",
    ("dem", "crs"): "where metres are needed",
    ("nonodata", "nodata"): "nodata is undefined",
    ("nosource", "source"): "Field required",
    ("corrupt", "path"): "cannot be opened as a raster",
    ("precipitation", "valid_range"): "fall outside",
    ("coarse", "resampling"): "does not match the reference grid",
    ("far", "path"): "does not overlap",
    ("et", "units"): "cannot convert",
    ("params", "key"): "missing from column 'ecosystem_type'",
    ("dup", "key"): "duplicate codes",
    ("typo", "colour"): "Extra inputs are not permitted",
}


def test_every_fault_is_reported_with_a_fix(faulty_catalog):
    problems = validate_catalog(faulty_catalog)
    found = {(p.entry, p.field): p for p in problems}
    for (entry, field), text in EXPECTED.items():
        assert (entry, field) in found, f"{entry}.{field} not reported; got {sorted(found)}"
        problem = found[(entry, field)]
        assert text in problem.message, problem
        assert problem.hint, f"{problem} has no fix"
    assert len(problems) == len(EXPECTED), problems  # nothing else, nothing twice
    assert "forest" in found[("params", "key")].message


def test_cli_lists_every_fault_and_exits_nonzero(faulty_catalog):
    result = CliRunner().invoke(app, ["validate", str(faulty_catalog)], terminal_width=200)
    assert result.exit_code == 1
    for entry, _ in EXPECTED:
        assert entry in result.output


def test_sample_catalog_has_no_problem():
    assert validate_catalog(catalog_path()) == []


def test_cli_validate_sample_ok():
    result = CliRunner().invoke(app, ["validate", str(catalog_path())])
    assert result.exit_code == 0, result.output
    assert "no problem" in result.output


def test_reference_grid_must_exist(tmp_path, tif):
    tif("lc.tif", np.ones((2, 2), dtype=np.uint8), nodata=255)
    path = write_catalog(
        tmp_path, {"landcover": {"kind": "raster", "path": "lc.tif"}}, reference="nope"
    )
    problems = validate_catalog(path)
    assert [(p.entry, p.field) for p in problems] == [("catalog", "reference_grid")]


def test_missing_catalog_file(tmp_path):
    problems = validate_catalog(tmp_path / "none.yaml")
    assert "catalog file not found" in problems[0].message
