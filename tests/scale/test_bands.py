"""Lean raster I/O and one-pass reductions (worked examples)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from gep.io import bands
from gep.kernels import reductions

CRS = "EPSG:32650"
TRANSFORM = Affine(30, 0, 400_000, 0, -30, 4_500_000)


def test_nan_sum_by_hand() -> None:
    values = np.array([[1.5, np.nan], [2.0, 0.25]], dtype=np.float32)
    assert reductions.nan_sum(values) == 3.75  # 1.5 + 2 + 0.25
    assert reductions.nan_sum(np.full(3, np.nan)) == 0.0
    big = np.random.default_rng(0).random(300_001)  # several partial sums
    assert reductions.nan_sum(big) == pytest.approx(float(big.sum()), rel=1e-13)


def test_min_max_and_masked_sum_by_hand() -> None:
    values = np.array([[3.0, np.nan], [-1.0, 2.0]])
    assert reductions.nan_min_max(values) == (-1.0, 3.0)
    mask = np.array([[True, True], [False, True]])
    assert reductions.masked_sum_count(values, mask) == (5.0, 2)  # 3 + 2; NaN skipped
    assert reductions.masked_sum_count(values[:, 1:], mask[:, 1:]) == (2.0, 1)  # a view


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    values = np.array([[1.0, np.nan], [3.5, -2.0]], dtype=np.float32)
    path = bands.write_band(
        tmp_path / "a.tif", values, crs=CRS, transform=TRANSFORM, name="a", units="mm yr-1"
    )
    assert np.isnan(values[0, 1])  # the caller's array is untouched
    with rasterio.open(path) as src:
        assert src.nodata == bands.FLOAT_NODATA
        assert src.tags(1).get("units") == "mm yr-1" or src.tags().get("units") == "mm yr-1"
        assert src.profile["compress"].lower() == "zstd"
    band = bands.read_band(path, name="a")
    np.testing.assert_array_equal(band.values, values)
    window = bands.read_band(path, name="a", window=(slice(1, 2), slice(0, 2)))
    np.testing.assert_array_equal(window.values, values[1:2])
    assert window.transform.f == TRANSFORM.f - 30


def test_background_writer_writes_everything(tmp_path: Path) -> None:
    with bands.BackgroundWriter(max_pending=1) as writer:
        for i in range(3):
            writer.submit(
                tmp_path / f"{i}.tif",
                np.full((4, 4), i, dtype=np.uint8),
                crs=CRS,
                transform=TRANSFORM,
                name=str(i),
                units="1",
                predictor=1,
            )
    for i in range(3):
        assert (
            bands.read_band(tmp_path / f"{i}.tif", name="x", categorical=True).values == i
        ).all()


def test_background_writer_reraises(tmp_path: Path) -> None:
    with pytest.raises(Exception), bands.BackgroundWriter() as writer:  # noqa: B017
        writer.submit(
            tmp_path / "x.tif",
            np.zeros((2, 2, 2)),
            crs=CRS,
            transform=TRANSFORM,
            name="x",
            units="1",
        )


def test_tiled_geotiff_layout(tmp_path: Path) -> None:
    """``cog=False`` writes a 512² tiled ZSTD GeoTIFF in one pass (the InVEST runners' files)."""
    values = np.array([[1.0, np.nan], [2.5, 4.0]], dtype=np.float32)
    path = bands.write_band(
        tmp_path / "f.tif", values, crs=CRS, transform=TRANSFORM, name="f", units="1", cog=False
    )
    np.testing.assert_array_equal(bands.read_band(path, name="f").values, values)
    with rasterio.open(path) as src:
        assert src.profile["tiled"] and src.profile["blockxsize"] == 512
        assert src.profile["compress"].lower() == "zstd"


def test_row_block_writer_round_trip_and_atomicity(tmp_path: Path) -> None:
    """Blocks of rows land in place; a failure part-way leaves no file behind."""
    nd = bands.FLOAT_NODATA
    full = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    full[5, 1] = nd
    paths = [tmp_path / "a.tif", tmp_path / "b.tif"]
    with bands.RowBlockWriter(
        paths, (20, 3), crs=CRS, transform=TRANSFORM, names=["a", "b"], units=["mm", "1"]
    ) as writer:
        for r0 in range(0, 20, 8):  # blocks of 8, 8 and 4 rows
            block = full[r0 : r0 + 8]
            writer.write(r0, [block, block + 1])
    a = bands.read_band(paths[0], name="a").values
    assert np.isnan(a[5, 1])
    np.testing.assert_array_equal(np.nan_to_num(a, nan=nd), full)
    with rasterio.open(paths[1]) as src:
        assert src.tags().get("units") == "1" or src.tags(1).get("units") == "1"
        assert src.descriptions[0] == "b"
    with (
        pytest.raises(RuntimeError, match="stop"),
        bands.RowBlockWriter(
            [tmp_path / "c.tif"], (20, 3), crs=CRS, transform=TRANSFORM, names=["c"], units=["1"]
        ) as writer,
    ):
        writer.write(0, [full[:8]])
        raise RuntimeError("stop")
    assert not (tmp_path / "c.tif").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.tif"]
