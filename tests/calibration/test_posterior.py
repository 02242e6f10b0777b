"""Posterior sampling: SDR's three parameters recovered in the sampled intervals; R̂; run file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.calibration import fit, plot_dotty
from gep.calibration.posterior import gelman_rubin, log_likelihood, sample_posterior
from tests.calibration.synthetic import SDR_TRUTH, product_problem, sdr_synthetic


@pytest.fixture(scope="module")
def sdr_posterior():
    """Seeded synthetic SDR, 30 units, 5 % multiplicative noise; 4 × 12 walkers × 400 steps."""
    problem = sdr_synthetic()
    return problem, sample_posterior(
        problem, n_chains=4, n_steps=400, seed=1, error_model="relative"
    )


def test_sdr_truth_inside_the_sampled_intervals(sdr_posterior):
    """k = 0.8, IC0 = −5.5, SDR_max = 0.6 each inside its 95 % posterior interval; the
    chains started apart in the bounds agree (R̂ < 1.1)."""
    _, post = sdr_posterior
    table = post.intervals().set_index("parameter")
    for name, truth in zip(["k", "ic0", "sdr_max"], SDR_TRUTH, strict=True):
        assert table.loc[name, "ci_low"] <= truth <= table.loc[name, "ci_high"], name
        assert table.loc[name, "ci_high"] - table.loc[name, "ci_low"] < 0.5 * (
            table.loc[name, "upper_bound"] - table.loc[name, "lower_bound"]
        )
    assert (table["r_hat"] < 1.1).all()
    assert 0.2 < post.acceptance < 0.9


def test_run_file_and_dotty_plot(sdr_posterior, tmp_path):
    problem, post = sdr_posterior
    path = post.write_runs(tmp_path / "runs.csv")
    runs = pd.read_csv(path)
    assert list(runs.columns) == [
        "chain",
        "step",
        "walker",
        "k",
        "ic0",
        "sdr_max",
        "log_posterior",
        "nse",
    ]
    assert len(runs) == 4 * 400 * 12
    assert runs["nse"].max() > 0.9
    png = plot_dotty(post.samples, post.log_posterior, problem.names, tmp_path / "dotty.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_posterior_shows_the_non_identifiable_pair():
    """y = a·b·x: the draws lie along a·b = 4, their correlation is strongly negative."""
    post = sample_posterior(product_problem(), n_chains=2, n_steps=300, seed=3)
    product = post.samples[:, 0] * post.samples[:, 1]
    assert np.percentile(product, 2.5) > 3.8 and np.percentile(product, 97.5) < 4.2
    assert post.identifiability.correlation[0, 1] < -0.5
    table = post.intervals().set_index("parameter")
    assert table.loc["a", "ci_high"] - table.loc["a", "ci_low"] > 3.0  # a ridge, not a point


def test_gelman_rubin_detects_disagreeing_chains():
    rng = np.random.default_rng(0)
    same = rng.normal(size=(4, 500, 1))
    apart = same + np.arange(4)[:, None, None]
    assert gelman_rubin(same)[0] < 1.01
    assert gelman_rubin(apart)[0] > 1.5


def test_likelihoods_by_hand():
    """Residual 0.5, 1.0, 0.1, 0.2 on the 5 observations of G0…G3: SSE_g = 5·r_g² =
    1.25, 5, 0.05, 0.2. Per gauge: −(5/2)·Σ ln SSE_g = −2.5·ln(0.0625) = 6.931;
    pooled: −(20/2)·ln 6.5 = −18.718; relative: residuals / observed."""
    problem = product_problem()
    offset = {"G0": 0.5, "G1": 1.0, "G2": 0.1, "G3": 0.2}
    r = np.array([offset[g] for g in problem.groups])
    sim = problem.observed + r
    assert log_likelihood(problem, sim, "per_gauge") == pytest.approx(-2.5 * np.log(0.0625))
    assert log_likelihood(problem, sim, "gaussian") == pytest.approx(-10 * np.log(6.5))
    rel = r / problem.observed
    assert log_likelihood(problem, sim, "relative") == pytest.approx(-10 * np.log(rel @ rel))


def test_fit_on_sdr_passes_the_gates_with_finite_intervals():
    """The synthetic SDR fit is identifiable enough for linearised intervals everywhere."""
    result = fit(sdr_synthetic(), "nse", seed=0)
    assert result.passed
    assert np.all(np.isfinite(result.ci_low)) and set(result.ci_flags) == {"linearised"}
