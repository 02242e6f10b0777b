"""The streamed run (what ``gep run`` does) equals the in-memory accounts.

``stream_quantities`` evaluates every per-pixel service window by window, writes each window into
its GeoTIFF and sums it per unit in the same pass (soil retention: over the grid, then written
and summed the same way); the in-memory path computes whole arrays and sums them through the
coverage matrix. Both call the same kernels on the same float64 values,
so the per-unit sums agree to rounding (the order of the additions differs): 1e-9 relative.
Windows are forced small (512 pixels on the 603 × 599 sample grid: 4 chunks, and blocks that
cut through units) so that a chunk-boundary error would show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from data_catalog.catalog import load_catalog
from gep import pipeline
from gep.config import demo_config_path, load_run_config

SERVICES = ("water_conservation", "water_yield", "carbon_nep", "soil_retention", "air_purification")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    config = pipeline.restrict_services(load_run_config(demo_config_path()), SERVICES)
    cat = load_catalog(config.catalog_file())
    params = cat.table(config.parameters)
    folder = tmp_path_factory.mktemp("streamed")
    levels = pipeline.unit_levels(cat, config, blockwise=True)
    streamed = pipeline.stream_quantities(cat, config, params, levels, folder, chunks=512)
    in_memory = pipeline.compute_quantities(cat, config, params)
    matrix_levels = pipeline.unit_levels(cat, config)
    return cat, config, params, levels, streamed, in_memory, matrix_levels, folder


def _by_key(table: pd.DataFrame) -> pd.DataFrame:
    keys = ["level", "unit_id", "year", "quantity_name"]
    return table.sort_values(keys).set_index(keys)


def test_streamed_sums_equal_in_memory(both) -> None:
    _, _, _, _, streamed, in_memory, matrix_levels, _ = both
    want = _by_key(pipeline.accounts.quantity_table(matrix_levels, in_memory))
    got = _by_key(streamed.quantities)
    assert got.index.equals(want.index)
    assert set(got.index.get_level_values("quantity_name")) == {q for q, _ in in_memory}
    np.testing.assert_allclose(got["quantity"], want["quantity"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["valid_fraction"], want["valid_fraction"], rtol=1e-9)
    assert (got["quantity_unit"] == want["quantity_unit"]).all()


def test_streamed_rasters_are_the_quantities_in_float32(both) -> None:
    _, _, _, _, streamed, in_memory, _, folder = both
    for (name, year), path in streamed.paths.items():
        assert path == folder / f"{name}_{year}.tif"
        with rasterio.open(path) as src:
            assert src.dtypes[0] == "float32"
            assert src.tags()["units"] == in_memory[(name, year)].attrs["units"]
            assert src.profile.get("tiled") or src.block_shapes[0][0] < src.height
        lazy = streamed.rasters[(name, year)]
        assert lazy.chunks is not None  # opened lazily, not read whole
        want = in_memory[(name, year)].values
        got = lazy.values
        assert np.array_equal(np.isnan(got), np.isnan(want)), name
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite].astype(np.float32), rtol=0, atol=0)


def test_streamed_accounts_equal_in_memory_accounts(both) -> None:
    """The whole accounts (valuation, weather-neutral, decomposition) from the streamed sums."""
    cat, config, params, levels, streamed, in_memory, matrix_levels, _ = both
    got = pipeline.build_accounts(
        cat,
        config,
        streamed.rasters,
        levels,
        params=params,
        quantities=streamed.quantities,
        chunks=512,
    )
    want = pipeline.build_accounts(cat, config, in_memory, matrix_levels, params=params)
    keys = ["level", "unit_id", "year", "service", "component"]
    a = got.accounts.sort_values(keys).reset_index(drop=True)
    b = want.accounts.sort_values(keys).reset_index(drop=True)
    assert a[keys].equals(b[keys])
    np.testing.assert_allclose(a["value_constant_cny"], b["value_constant_cny"], rtol=1e-9)
    keys_n = ["level", "unit_id", "year", "service", "component"]
    n_a = got.weather_neutral.sort_values(keys_n).reset_index(drop=True)
    n_b = want.weather_neutral.sort_values(keys_n).reset_index(drop=True)
    assert len(n_a) == len(n_b) > 0
    np.testing.assert_allclose(n_a["value_constant_cny"], n_b["value_constant_cny"], rtol=1e-9)
    d_a = got.decomposition.sort_values(["level", "unit_id", "year_to"])
    d_b = want.decomposition.sort_values(["level", "unit_id", "year_to"])
    for column in ("condition_effect_cny", "weather_effect_cny"):
        np.testing.assert_allclose(
            d_a[column].to_numpy(), d_b[column].to_numpy(), rtol=1e-9, atol=1e-3
        )


def test_streamed_type_totals_are_the_supply_tables(both) -> None:
    """The per-type sums added up while writing equal those of the in-memory quantities."""
    from gep.exports import supply_table
    from gep.outputs import ecosystem_type_index

    cat, config, _, _, streamed, in_memory, _, _ = both
    types = {year: ecosystem_type_index(cat, year) for year in config.years}
    prices = pd.DataFrame(
        columns=["quantity_name", "year", "factor", "price_current_cny", "price_constant_cny"]
    )
    assert set(streamed.type_totals) == set(streamed.rasters)
    got = supply_table(streamed.rasters, types, prices, totals=streamed.type_totals)
    want = supply_table(in_memory, types, prices)
    keys = ["quantity_name", "year", "ecosystem_type"]
    got, want = got.sort_values(keys).set_index(keys), want.sort_values(keys).set_index(keys)
    assert got.index.equals(want.index) and len(got) > 20
    np.testing.assert_allclose(got["quantity"], want["quantity"], rtol=1e-9, atol=1e-9)


def test_soil_retention_routed_by_tiles_in_the_streamed_run(both, monkeypatch, tmp_path) -> None:
    """With the flow passes forced onto 256-pixel tiles (3 × 3 on the sample grid), the
    streamed run's soil retention rasters equal the whole-grid run's to the bit."""
    from gep.routing import staged_sdr

    cat, config, params, levels, streamed, _, _, _ = both
    only = pipeline.restrict_services(config, ("soil_retention",))
    monkeypatch.setattr(staged_sdr, "ROUTE_TILE", 256)
    staged_sdr.ROUTED.clear()  # no terrain routed whole is reused
    try:
        tiled = pipeline.stream_quantities(cat, only, params, levels, tmp_path, chunks=512)
        assert type(staged_sdr.ROUTED["last"].passes).__name__ == "TiledPasses"
    finally:
        staged_sdr.ROUTED.clear()
    assert tiled.paths
    for key, path in tiled.paths.items():
        with rasterio.open(path) as a, rasterio.open(streamed.paths[key]) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1), err_msg=str(key))


def test_a_years_soil_retention_scratch_is_gone_before_the_next_year(both, monkeypatch, tmp_path):
    """The staged SDR keeps a year's inputs and outputs in scratch files (7 GB at 10 m) that
    are removed with their last reference: once the year is written and summed, nothing may
    still refer to them (a loop variable once kept the last output, and with it the folder)."""
    import gc

    from gep.routing import staged_sdr
    from gep.routing.scratch import Scratch

    cat, config, params, levels, *_ = both
    only = pipeline.restrict_services(config, ("soil_retention",))
    live_years = []
    run_service = pipeline.quantities.run_service

    def spy(*args, **kwargs):
        gc.collect()
        live_years.append(
            sum(
                isinstance(o, Scratch) and o.path.name.startswith("gep-sdr-year-")
                for o in gc.get_objects()
            )
        )
        return run_service(*args, **kwargs)

    monkeypatch.setattr(pipeline.quantities, "run_service", spy)
    staged_sdr.ROUTED.clear()
    try:
        pipeline.stream_quantities(cat, only, params, levels, tmp_path, chunks=512)
    finally:
        staged_sdr.ROUTED.clear()
    assert live_years == [0] * len(config.years) and len(config.years) == 2
