"""A window of a catalog raster equals the whole aligned raster cut to that window.

``Catalog.raster(name, window=w)`` reads only ``w`` from the file when the file is on the
reference grid; otherwise it aligns the whole raster and cuts ``w`` out of it. Both must give
what ``Catalog.raster(name)`` cut to ``w`` gives: values, ``valid`` mask, coordinates,
attributes and the window's transform.

Reference grid: 8 × 8 cells of 30 m. The layers off that grid:

    precipitation   4 × 4 cells of 60 m, same corner        (nearest: each cell → 2 × 2 cells)
    smooth          the same 60 m cells                      (bilinear)
    shifted         8 × 8 cells of 30 m, one cell east and one cell south of the grid (nearest:
                    file cell (i, j) is grid cell (i + 1, j + 1); row 0 and column 0 are empty)
    landcover_2000  4 × 4 classes of 60 m, one cell nodata   (nearest, categorical)
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from affine import Affine

import data_catalog.catalog
from data_catalog.catalog import Catalog, load_catalog

from .catalog_factory import write_catalog

GRID = Affine(30, 0, 400000, 0, -30, 4450000)  # 8 × 8 cells of 30 m
HALF_RESOLUTION = Affine(60, 0, 400000, 0, -60, 4450000)  # 4 × 4 cells of 60 m, same corner
SHIFTED = Affine(30, 0, 400030, 0, -30, 4449970)  # one cell east, one cell south

COARSE = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
FINE = np.arange(100, 164, dtype=np.float32).reshape(8, 8)
CLASSES = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [1, 255, 3, 4], [5, 6, 7, 8]], dtype=np.uint8)

WINDOWS = {
    # starts on odd rows and columns: the window cuts 60 m cells in half
    "middle": (slice(3, 6), slice(1, 6)),
    "bottom-right edge": (slice(5, 8), slice(4, 8)),
    "top-left edge, open slices": (slice(None, 3), slice(None, 4)),
}


def _on_grid(values: np.ndarray) -> np.ndarray:
    """The 60 m cells repeated onto the 30 m grid (nearest resampling, same corner)."""
    return np.repeat(np.repeat(values, 2, axis=0), 2, axis=1)


def _shifted_on_grid() -> np.ndarray:
    out = np.full((8, 8), np.nan, dtype=np.float32)
    out[1:, 1:] = FINE[:-1, :-1]
    return out


#: layer → its values on the reference grid, worked out by hand (None: bilinear, not by hand)
EXPECTED = {
    "precipitation": _on_grid(COARSE),
    "smooth": None,
    "shifted": _shifted_on_grid(),
    "landcover_2000": _on_grid(CLASSES),
}


@pytest.fixture
def catalog(tmp_path, tif) -> Catalog:
    """A catalog on an 8 × 8 grid of 30 m with one layer on it and four off it."""
    reference = (np.arange(64).reshape(8, 8) % 7 + 1).astype(np.uint8)
    tif("landcover.tif", reference, transform=GRID, nodata=255)
    tif("evapotranspiration.tif", FINE, transform=GRID)
    tif("precipitation.tif", COARSE, transform=HALF_RESOLUTION)
    tif("shifted.tif", FINE, transform=SHIFTED)
    tif("landcover_2000.tif", CLASSES, transform=HALF_RESOLUTION, nodata=255)
    entries = {
        "landcover": {"kind": "raster", "path": "landcover.tif", "categorical": True},
        "evapotranspiration": {"kind": "raster", "path": "evapotranspiration.tif"},
        "precipitation": {
            "kind": "raster",
            "path": "precipitation.tif",
            "resampling": "nearest",
        },
        "smooth": {"kind": "raster", "path": "precipitation.tif", "resampling": "bilinear"},
        "shifted": {"kind": "raster", "path": "shifted.tif", "resampling": "nearest"},
        "landcover_2000": {
            "kind": "raster",
            "path": "landcover_2000.tif",
            "resampling": "nearest",
            "categorical": True,
        },
    }
    return load_catalog(write_catalog(tmp_path, entries))


@pytest.fixture
def reads(monkeypatch) -> list[tuple[slice, slice] | None]:
    """The ``window`` of every file read the catalog makes (None: the whole file).

    Tells which path served a window: on the grid, the window itself is read from the file.
    """
    seen: list[tuple[slice, slice] | None] = []
    read = data_catalog.catalog.read_raster

    def spy(*args, **kwargs):
        seen.append(kwargs.get("window"))
        return read(*args, **kwargs)

    monkeypatch.setattr(data_catalog.catalog, "read_raster", spy)
    return seen


def _assert_window_of(window_read: xr.DataArray, whole: xr.DataArray, window) -> None:
    """``window_read`` is ``whole`` cut to ``window``: values, coordinates, attrs, transform."""
    rows, cols = window
    cut = whole.isel(y=rows, x=cols)
    # the window's spatial_ref carries the window's GeoTransform, a cut one the whole grid's:
    # compare the transforms themselves instead
    xr.testing.assert_identical(window_read.drop_vars("spatial_ref"), cut.drop_vars("spatial_ref"))
    shift = Affine.translation(cols.start or 0, rows.start or 0)
    assert window_read.rio.transform() == GRID * shift
    assert window_read.rio.crs == whole.rio.crs


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
@pytest.mark.parametrize("name", EXPECTED)
def test_window_of_a_raster_off_the_grid_is_cut_from_the_aligned_raster(
    catalog, reads, name, window
):
    whole = catalog.raster(name)
    reads.clear()
    window_read = catalog.raster(name, window=window)
    # off the grid, the grid's rows and columns are not the file's: never read them from it
    assert reads and window not in reads
    _assert_window_of(window_read, whole, window)
    rows, cols = window
    x, y = catalog.reference_grid().coords()
    np.testing.assert_array_equal(window_read.x.values, x[cols])
    np.testing.assert_array_equal(window_read.y.values, y[rows])
    expected = EXPECTED[name]
    if expected is None:
        return
    np.testing.assert_array_equal(window_read.values, expected[rows, cols])
    if "valid" in window_read.coords:
        np.testing.assert_array_equal(window_read["valid"].values, expected[rows, cols] != 255)


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
@pytest.mark.parametrize("name", ["landcover", "evapotranspiration"])
def test_window_of_a_raster_on_the_grid_is_read_from_the_file(catalog, reads, name, window):
    whole = catalog.raster(name)
    reads.clear()
    window_read = catalog.raster(name, window=window)
    assert reads == [window], "on the grid, only the window is read from the file"
    _assert_window_of(window_read, whole, window)
    if name == "evapotranspiration":
        np.testing.assert_array_equal(window_read.values, FINE[window])
