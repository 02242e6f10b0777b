"""Posterior sampling of a calibration problem (emcee), with a run file and convergence checks.

gep's :class:`~gep.calibration.FitProblem` is the interface: any problem (Z, runoff
coefficients, SDR, C–NDVI) can be sampled. The sampler is emcee's affine-invariant ensemble
(Goodman & Weare 2010; Foreman-Mackey et al. 2013), run as several independent ensembles
started over-dispersed in the bounds, so that the Gelman–Rubin R̂ compares chains that did not
start together.

The likelihood is Gaussian with the error scale integrated out under a Jeffreys prior
(Box & Tiao 1973, §2.4), ``ln L = −(n/2)·ln SSE`` of the weighted residuals; with
``error_model="per_gauge"`` each gauge has its own error scale, ``ln L = −Σ_g (n_g/2)·ln SSE_g``
(residuals persist per gauge); ``"relative"`` weighs each residual by 1/observed
(heteroscedastic errors proportional to the value). The prior is uniform within the bounds.

Every sampled set goes into a run file (CSV: chain, step, walker, parameters, log-posterior,
NSE), as SPOTPY's database does; dotty plots come from it (:func:`gep.calibration.plot_dotty`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from gep.calibration.errors import CalibrationError
from gep.calibration.identifiability import sample_identifiability
from gep.calibration.metrics import nse
from gep.calibration.problem import FitProblem, Identifiability
from gep.calibration.search import start_points
from gep.io.atomic import atomic_write

__all__ = ["ErrorModel", "PosteriorResult", "gelman_rubin", "log_likelihood", "sample_posterior"]

ErrorModel = Literal["gaussian", "relative", "per_gauge"]


def log_likelihood(
    problem: FitProblem, simulated: np.ndarray, error_model: ErrorModel = "gaussian"
) -> float:
    """Gaussian log-likelihood with the error scale integrated out (Jeffreys prior).

    ``ln L = −(n/2)·ln Σ (wᵢ·(sᵢ − oᵢ))²`` up to a constant; ``per_gauge`` sums that per gauge;
    ``relative`` sets ``wᵢ = 1/oᵢ``.

    References
    ----------
    Box G.E.P., Tiao G.C. (1973) Bayesian Inference in Statistical Analysis, Addison-Wesley,
    §2.4. Kavetski D., Kuczera G., Franks S.W. (2006) Bayesian analysis of input uncertainty in
    hydrological modeling. Water Resour. Res. 42, W03407 (per-group error scales).

    Examples
    --------
    >>> import pandas as pd
    >>> p = FitProblem(("a",), ((0.0, 2.0),), lambda x: x * np.ones(2), np.array([1.0, 2.0]),
    ...                pd.DataFrame({"g": ["A", "B"]}), "mm", ("1",), "demo")
    >>> round(log_likelihood(p, np.array([1.5, 1.5])), 6)  # −(2/2)·ln(0.25 + 0.25)
    0.693147
    """
    r = np.asarray(simulated, dtype=np.float64) - problem.observed
    if error_model == "relative":
        if np.any(problem.observed <= 0):
            raise CalibrationError("error_model 'relative' needs observations > 0")
        r = r / problem.observed
    elif problem.weights is not None:
        r = r * problem.weights
    if not np.all(np.isfinite(r)):
        return -np.inf
    if error_model == "per_gauge":
        groups = problem.groups
        total = 0.0
        for g in np.unique(groups):
            rg = r[groups == g]
            total -= rg.size / 2 * np.log(max(float(rg @ rg), 1e-300))
        return total
    return -r.size / 2 * float(np.log(max(float(r @ r), 1e-300)))


def gelman_rubin(chains: np.ndarray) -> np.ndarray:
    """Potential scale reduction R̂ of each parameter from m chains of n draws ``(m, n, p)``.

    ``W`` = mean within-chain variance, ``B/n`` = variance of the chain means,
    ``R̂ = √(((n − 1)/n·W + B/n)/W)``; values below 1.1 (Gelman et al. 2013) indicate that
    the chains agree.

    References
    ----------
    Gelman A., Rubin D.B. (1992) Inference from iterative simulation using multiple sequences.
    Statist. Sci. 7, 457–472. Gelman A. et al. (2013) Bayesian Data Analysis, 3rd ed., §11.4.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bool(gelman_rubin(rng.normal(size=(4, 2000, 1)))[0] < 1.01)
    True
    """
    x = np.asarray(chains, dtype=np.float64)
    m, n = x.shape[:2]
    if m < 2 or n < 2:
        return np.full(x.shape[2], np.nan)
    within = x.var(axis=1, ddof=1).mean(axis=0)
    between_over_n = x.mean(axis=1).var(axis=0, ddof=1)
    pooled = (n - 1) / n * within + between_over_n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(pooled / within)


@dataclass
class PosteriorResult:
    """Posterior draws of a problem, their intervals, correlation and convergence."""

    problem: FitProblem
    runs: pd.DataFrame
    samples: np.ndarray
    log_posterior: np.ndarray
    r_hat: np.ndarray
    acceptance: float
    level: float
    identifiability: Identifiability
    seconds: float = 0.0

    def intervals(self) -> pd.DataFrame:
        """Per parameter: median, equal-tailed interval at ``level``, R̂, bounds."""
        tail = (1 - self.level) / 2 * 100
        low, mid, high = np.percentile(self.samples, [tail, 50, 100 - tail], axis=0)
        return pd.DataFrame(
            {
                "parameter": list(self.problem.names),
                "median": mid,
                "ci_low": low,
                "ci_high": high,
                "ci_level": self.level,
                "r_hat": self.r_hat,
                "lower_bound": self.problem.lower,
                "upper_bound": self.problem.upper,
            }
        )

    def write_runs(self, path: Path) -> Path:
        """Write every sampled set (the run file) as CSV, atomically."""
        return atomic_write(
            Path(path), lambda tmp: self.runs.to_csv(tmp, index=False, encoding="utf-8")
        )


def _log_posterior(
    problem: FitProblem, error_model: ErrorModel, x: np.ndarray
) -> tuple[float, float]:
    """Log-posterior (uniform prior in the bounds) and the NSE of a set, as emcee's blob."""
    if np.any(x < problem.lower) or np.any(x > problem.upper):
        return -np.inf, np.nan
    simulated = np.asarray(problem.simulate(x), dtype=np.float64)
    return log_likelihood(problem, simulated, error_model), nse(problem.observed, simulated)


def _run_chain(
    problem: FitProblem,
    error_model: ErrorModel,
    start: np.ndarray,
    n_walkers: int,
    n_steps: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One ensemble: ``(steps, walkers, p)`` chain, log-posterior, NSE, acceptance."""
    import emcee  # an optional heavy import, needed here only

    p = start.size
    rng = np.random.default_rng(seed)
    span = problem.upper - problem.lower
    walkers = start + 0.01 * span * rng.standard_normal((n_walkers, p))
    walkers = np.clip(walkers, problem.lower + 1e-9 * span, problem.upper - 1e-9 * span)
    sampler = emcee.EnsembleSampler(
        n_walkers, p, lambda x: _log_posterior(problem, error_model, x), blobs_dtype=float
    )
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(walkers, n_steps, progress=False)
    return (
        sampler.get_chain(),
        sampler.get_log_prob(),
        np.asarray(sampler.get_blobs(), dtype=np.float64),
        float(np.mean(sampler.acceptance_fraction)),
    )


def sample_posterior(
    problem: FitProblem,
    *,
    n_chains: int = 4,
    n_walkers: int | None = None,
    n_steps: int = 600,
    burn_in: float = 0.5,
    seed: int = 0,
    level: float = 0.95,
    error_model: ErrorModel = "gaussian",
    start: np.ndarray | None = None,
) -> PosteriorResult:
    """Sample the posterior of a problem's parameters with emcee, as several ensembles.

    Parameters
    ----------
    problem : FitProblem
        Any calibration problem.
    n_chains : int
        Independent ensembles (chains of the Gelman–Rubin R̂), started at Latin-hypercube
        points in the bounds (or around ``start``).
    n_walkers : int, optional
        Walkers per ensemble (default ``max(4p, 12)``, even).
    n_steps : int
        Steps per walker.
    burn_in : float
        Share of the steps discarded.
    seed : int
        Seed of the start points and of each ensemble.
    level : float
        Level of the equal-tailed intervals.
    error_model : {"gaussian", "relative", "per_gauge"}
        See :func:`log_likelihood`.
    start : ndarray, optional
        Centre of every ensemble's start (e.g. the fitted optimum) instead of spread starts.

    Returns
    -------
    PosteriorResult

    References
    ----------
    Goodman J., Weare J. (2010) Ensemble samplers with affine invariance. Commun. Appl. Math.
    Comput. Sci. 5, 65–80. Foreman-Mackey D., Hogg D.W., Lang D., Goodman J. (2013) emcee: the
    MCMC hammer. PASP 125, 306–312.
    """
    import time

    _check_options(problem, n_chains, n_steps, burn_in, error_model)
    begin = time.perf_counter()
    p = len(problem.names)
    walkers = n_walkers or max(4 * p, 12)
    walkers += walkers % 2
    starts = (
        start_points(problem, n_chains, seed) if start is None else np.tile(start, (n_chains, 1))
    )
    keep = int(n_steps * burn_in)
    chains, logps, frames, accept = [], [], [], []
    for c in range(n_chains):
        chain, logp, blob, acc = _run_chain(
            problem, error_model, starts[c], walkers, n_steps, seed + c
        )
        chains.append(chain[keep:].reshape(-1, p))
        logps.append(logp[keep:].ravel())
        accept.append(acc)
        frames.append(_run_frame(problem.names, c, chain, logp, blob))
    samples, log_post = np.concatenate(chains), np.concatenate(logps)
    return PosteriorResult(
        problem=problem,
        runs=pd.concat(frames, ignore_index=True),
        samples=samples,
        log_posterior=log_post,
        r_hat=gelman_rubin(np.stack(chains)),
        acceptance=float(np.mean(accept)),
        level=level,
        identifiability=sample_identifiability(samples, problem.names),
        seconds=time.perf_counter() - begin,
    )


def _run_frame(
    names: tuple[str, ...], chain_id: int, chain: np.ndarray, logp: np.ndarray, blob: np.ndarray
) -> pd.DataFrame:
    """Every step of one ensemble as rows of the run file."""
    steps, walkers, p = chain.shape
    frame = pd.DataFrame(chain.reshape(-1, p), columns=list(names))
    frame.insert(0, "walker", np.tile(np.arange(walkers), steps))
    frame.insert(0, "step", np.repeat(np.arange(steps), walkers))
    frame.insert(0, "chain", chain_id)
    frame["log_posterior"] = logp.ravel()
    frame["nse"] = blob.ravel()
    return frame


def _check_options(
    problem: FitProblem, n_chains: int, n_steps: int, burn_in: float, error_model: Any
) -> None:
    if error_model not in ("gaussian", "relative", "per_gauge"):
        raise CalibrationError(
            f"unknown error_model {error_model!r}; choose gaussian, relative or per_gauge"
        )
    if n_chains < 1 or n_steps < 10 or not 0 <= burn_in < 1:
        raise CalibrationError(
            f"posterior sampling needs n_chains ≥ 1, n_steps ≥ 10 and 0 ≤ burn_in < 1; got "
            f"{n_chains}, {n_steps}, {burn_in}"
        )
    if problem.observed.size <= len(problem.names):
        raise CalibrationError(
            f"{problem.target}: {problem.observed.size} observations cannot constrain "
            f"{len(problem.names)} parameters"
        )
