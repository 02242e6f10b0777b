"""Chunked per-pixel services: lazy reads and block writes give the numpy path's rasters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from data_catalog.rasters import write_cog
from gep import chunked, synthetic
from gep.errors import InputError
from gep.services import SERVICES
from gep.services.spec import ServiceInputs

PARAMS = {"seasonality": 5.0}


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        values = src.read(1)
        nodata = src.nodata
    out = values.astype(np.float64)
    out[values == nodata] = np.nan
    return out


def _eager(region: synthetic.SyntheticRegion) -> dict:
    rasters = {}
    for name, da in region.rasters.items():
        rasters[name] = da.copy(data=da.values)
    return rasters


@pytest.fixture(scope="module")
def region() -> synthetic.SyntheticRegion:
    # 1300 × 1100 with 512² chunks: interior, edge and corner chunks of unequal sizes
    return synthetic.synthetic_region((1300, 1100), chunks=512, seed=7)


def test_round_chunks() -> None:
    assert chunked.round_chunks(1) == 512
    assert chunked.round_chunks(513) == 1024
    assert chunked.round_chunks(2048) == 2048


def test_synthetic_region_is_lazy_and_reproducible(region: synthetic.SyntheticRegion) -> None:
    precipitation = region.rasters["precipitation"]
    assert precipitation.chunks is not None
    again = synthetic.synthetic_region((1300, 1100), chunks=512, seed=7)
    block = (slice(500, 530), slice(1000, 1100))
    np.testing.assert_array_equal(
        precipitation[block].values, again.rasters["precipitation"][block].values
    )
    lo, hi = float(precipitation.min()), float(precipitation.max())
    assert 400.0 <= lo < hi <= 1000.0  # 400 + 600 × [0, 1]
    assert set(np.unique(region.rasters["landcover"].values)) <= {1, 2, 3, 4, 5}


def test_chunked_run_equals_numpy_run(region: synthetic.SyntheticRegion, tmp_path: Path) -> None:
    """Same kernels, same values: the chunked rasters are bit-identical to the numpy ones."""
    lazy = chunked.run_service_chunked(
        "water_yield",
        region.grid,
        region.rasters,
        tmp_path / "lazy",
        tables=region.tables,
        params=PARAMS,
    )
    service = SERVICES["water_yield"]
    inputs = ServiceInputs.build(
        service.spec, region.grid, rasters=_eager(region), tables=region.tables, params=PARAMS
    )
    eager = service.compute(inputs)
    assert all(v.chunks is None for v in eager.data_vars.values())
    for name, path in lazy.paths.items():
        expected = eager[name].values.astype(np.float32)
        got = _read(path).astype(np.float32)
        np.testing.assert_array_equal(got, expected, err_msg=name)
        assert lazy.totals[name] == pytest.approx(
            float(np.nansum(expected, dtype=np.float64)), rel=1e-12
        )
        with rasterio.open(path) as src:
            assert src.block_shapes[0] == (512, 512)
            assert src.tags(1).get("units") or src.tags().get("units")


def test_lazy_reads_from_files_equal_eager_reads(
    region: synthetic.SyntheticRegion, tmp_path: Path
) -> None:
    """Inputs written to GeoTIFF and opened lazily give what the eager read gives."""
    paths = {}
    for name, da in _eager(region).items():
        paths[name] = write_cog(da, tmp_path / "in" / f"{name}.tif", overviews=False)
    lazy = {
        name: chunked.open_lazy(
            path,
            name=name,
            chunks=700,  # rounded to 1024
            categorical=name == "landcover",
            units=region.rasters[name].attrs.get("units"),
        )
        for name, path in paths.items()
    }
    assert lazy["precipitation"].chunks[0][0] == 1024
    out = chunked.run_service_chunked(
        "water_yield",
        region.grid,
        lazy,
        tmp_path / "out",
        tables=region.tables,
        params=PARAMS,
        names=("water_yield",),
        cog=True,
    )
    service = SERVICES["water_yield"]
    eager_inputs = {name: da.compute() for name, da in lazy.items()}
    inputs = ServiceInputs.build(
        service.spec, region.grid, rasters=eager_inputs, tables=region.tables, params=PARAMS
    )
    expected = service.compute(inputs)["water_yield"].values.astype(np.float32)
    np.testing.assert_array_equal(_read(out.paths["water_yield"]).astype(np.float32), expected)
    with rasterio.open(out.paths["water_yield"]) as src:
        assert src.driver == "GTiff" and src.compression is not None


def test_routing_service_is_refused(region: synthetic.SyntheticRegion, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="gep.routing.basins"):
        chunked.run_service_chunked("soil_retention", region.grid, {}, tmp_path)
    with pytest.raises(InputError, match="unknown service"):
        chunked.run_service_chunked("nonsense", region.grid, {}, tmp_path)
