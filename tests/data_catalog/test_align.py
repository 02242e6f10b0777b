"""Aligning a raster to the reference grid with each declared resampling rule."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from data_catalog.catalog import load_catalog

from .catalog_factory import write_catalog

FINE = Affine(30, 0, 400000, 0, -30, 4450000)  # 4 × 4 cells of 30 m
COARSE = Affine(60, 0, 400000, 0, -60, 4450000)  # 2 × 2 cells of 60 m, same corner


def _catalog(
    tmp_path,
    tif,
    *,
    reference_transform,
    ref_shape,
    layer,
    layer_transform,
    resampling,
    categorical=False,
):
    tif("ref.tif", np.ones(ref_shape, dtype=np.uint8), transform=reference_transform, nodata=255)
    tif("layer.tif", layer, transform=layer_transform, nodata=255 if categorical else -9999.0)
    entries = {
        "landcover": {"kind": "raster", "path": "ref.tif", "categorical": True},
        "layer": {
            "kind": "raster",
            "path": "layer.tif",
            "resampling": resampling,
            "categorical": categorical,
        },
    }
    return load_catalog(write_catalog(tmp_path, entries))


def test_nearest_upsampling_repeats_cells(tmp_path, tif):
    coarse = np.array([[1, 2], [3, 4]], dtype=np.float32)
    cat = _catalog(
        tmp_path,
        tif,
        reference_transform=FINE,
        ref_shape=(4, 4),
        layer=coarse,
        layer_transform=COARSE,
        resampling="nearest",
    )
    out = cat.raster("layer").values
    expected = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    np.testing.assert_array_equal(out, expected)


def test_bilinear_upsampling_interpolates_between_centres(tmp_path, tif):
    # Source centres at 30 and 90 m; f = 1 + x + 2y in source pixel units.
    # Target centres at 45 and 75 m lie 0.25 and 0.75 of the way: 1.75, 2.25 / 2.75, 3.25.
    coarse = np.array([[1, 2], [3, 4]], dtype=np.float32)
    cat = _catalog(
        tmp_path,
        tif,
        reference_transform=FINE,
        ref_shape=(4, 4),
        layer=coarse,
        layer_transform=COARSE,
        resampling="bilinear",
    )
    out = cat.raster("layer").values
    np.testing.assert_allclose(out[1:3, 1:3], [[1.75, 2.25], [2.75, 3.25]], rtol=1e-6)


def test_average_downsampling_means_blocks_ignoring_nodata(tmp_path, tif):
    fine = np.arange(16, dtype=np.float32).reshape(4, 4)
    fine[0, 0] = -9999.0  # nodata: the first block averages its other three cells
    cat = _catalog(
        tmp_path,
        tif,
        reference_transform=COARSE,
        ref_shape=(2, 2),
        layer=fine,
        layer_transform=FINE,
        resampling="average",
    )
    out = cat.raster("layer").values
    # blocks: {1, 4, 5} → 10/3; {2, 3, 6, 7} → 4.5; {8, 9, 12, 13} → 10.5; {10, 11, 14, 15} → 12.5
    np.testing.assert_allclose(out, [[10 / 3, 4.5], [10.5, 12.5]], rtol=1e-6)


def test_mode_downsampling_takes_majority_class(tmp_path, tif):
    fine = np.array([[1, 1, 2, 2], [1, 3, 2, 7], [4, 4, 5, 5], [4, 6, 5, 6]], dtype=np.uint8)
    cat = _catalog(
        tmp_path,
        tif,
        reference_transform=COARSE,
        ref_shape=(2, 2),
        layer=fine,
        layer_transform=FINE,
        resampling="mode",
        categorical=True,
    )
    out = cat.raster("layer")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out.values, [[1, 2], [4, 5]])
    assert out.coords["valid"].values.all()


def test_categorical_refuses_bilinear(tmp_path, tif):
    from data_catalog.errors import CatalogError

    tif("ref.tif", np.ones((2, 2), dtype=np.uint8), nodata=255)
    entries = {
        "landcover": {
            "kind": "raster",
            "path": "ref.tif",
            "categorical": True,
            "resampling": "bilinear",
        }
    }
    with pytest.raises(CatalogError, match="would invent class codes"):
        load_catalog(write_catalog(tmp_path, entries))


def test_units_converted_to_canonical(tmp_path, tif):
    tif("ref.tif", np.ones((2, 2), dtype=np.uint8), nodata=255)
    tif("p.tif", np.full((2, 2), 0.5, dtype=np.float32))
    entries = {
        "landcover": {"kind": "raster", "path": "ref.tif", "categorical": True},
        "p": {"kind": "raster", "path": "p.tif", "variable": "precipitation", "units": "m yr-1"},
    }
    out = load_catalog(write_catalog(tmp_path, entries)).raster("p")
    assert out.attrs["units"] == "mm yr-1"
    np.testing.assert_allclose(out.values, 500.0)
