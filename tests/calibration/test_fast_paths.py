"""The cheap per-trial evaluations equal the engine's kernels and services."""

from __future__ import annotations

import numpy as np

from gep.accounts import unit_level, zonal_sum
from gep.calibration import delivery_ratio, fu_zhang_yield, water_yield_problem
from gep.config import demo_config_path, load_run_config
from gep.kernels import water
from gep.kernels.connectivity import sediment_delivery_ratio
from gep.pipeline import run_service


def test_fu_zhang_equals_the_kernel():
    rng = np.random.default_rng(0)
    n = 500
    kc, eto = rng.uniform(0.5, 1.2, n), rng.uniform(600, 1200, n)
    p, root = rng.uniform(300, 900, n), rng.uniform(200, 2000, n)
    soil, pawc = rng.uniform(100, 3000, n), rng.uniform(0.05, 0.2, n)
    _, _, expected = water.annual_water_yield(kc, eto, p, root, soil, pawc, np.ones(n), 6.5)
    got = fu_zhang_yield(kc * eto / p, np.minimum(root, soil) * pawc / p, p, 6.5)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_delivery_ratio_equals_the_kernel():
    ic = np.linspace(-8, 2, 50).astype(np.float32)
    expected = sediment_delivery_ratio(ic, np.zeros(50, bool), k=1.3, ic0=-4.0, sdr_max=0.7)
    np.testing.assert_allclose(delivery_ratio(ic, 1.3, -4.0, 0.7), expected, rtol=1e-6)


def test_water_yield_simulation_equals_the_service(
    sample_catalog, sample_params, gauges, gauge_observations
):
    """Simulated catchment depth = zonal mean of the service's water-yield depth (float32)."""
    config = load_run_config(demo_config_path())
    config.services["water_yield"] = {"seasonality": 5.0}
    ds = run_service(sample_catalog, config, sample_params, "water_yield", 2020)
    grid = sample_catalog.reference_grid()
    level = unit_level(
        sample_catalog.vector("gauge_catchments"), grid, level="g", id_field="gauge_id"
    )
    volume, _ = zonal_sum(level, ds["water_yield"].values)  # m3 yr-1
    area = np.broadcast_to(grid.cell_area_m2(), grid.shape)
    valid_area, _ = zonal_sum(level, np.where(np.isfinite(ds["water_yield"].values), area, np.nan))
    expected = volume / valid_area * 1000  # m3 / m2 → m → mm
    obs = gauge_observations[gauge_observations["year"] == 2020].reset_index(drop=True)
    problem = water_yield_problem(sample_catalog, sample_params, gauges, obs)
    order = [list(level.ids).index(c) for c in obs["catchment_id"]]
    np.testing.assert_allclose(problem.simulate(np.array([5.0])), expected[order], rtol=1e-5)
