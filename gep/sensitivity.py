"""Sensitivity: Morris screening and Sobol indices (SALib) of GEP and allocations per unit.

Inputs are declared as distributions (:class:`gep.uncertainty.Distribution`); SALib samples the
unit hypercube and each column is mapped through its distribution's inverse CDF, so any of the
declared distributions can be used. Morris screening works on bounded ranges: an unbounded
distribution's grid spans its central ``1 − 2·tail`` quantiles (default 2.5 %–97.5 %), not
±4.75σ, so that a normal input is not ranked above a uniform one of equal variance. The model is any vectorised function ``X (n, k) → Y (n, m)``;
:func:`gep_function` makes one from a :class:`gep.uncertainty.GEPModel`, whose per-pixel work
was done once (a price sample costs one multiplication per unit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from data_catalog.errors import InputError
from gep.uncertainty import Allocate, Distribution, GEPModel

__all__ = [
    "SobolResult",
    "gep_function",
    "ishigami",
    "morris_screening",
    "sobol_analysis",
    "sobol_indices",
]

Model = Callable[[np.ndarray], np.ndarray]


def _problem(distributions: Mapping[str, Distribution]) -> dict:
    names = list(distributions)
    if not names:
        raise InputError("sensitivity: declare at least one distribution")
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _to_values(
    u: np.ndarray, distributions: Mapping[str, Distribution], *, tail: float | None = None
) -> np.ndarray:
    """Unit-hypercube columns → values; with ``tail``, unbounded inputs use their central range.

    ``tail`` maps ``u ∈ [0, 1]`` of an unbounded distribution to the quantiles
    ``tail + u·(1 − 2·tail)`` (bounded distributions keep their full support).
    """
    columns = []
    for j, d in enumerate(distributions.values()):
        q = u[:, j]
        if tail is not None and not d.bounded:
            q = tail + q * (1.0 - 2.0 * tail)
        columns.append(d.from_unit(q))
    return np.column_stack(columns)


def _outputs(
    model: Model, x: np.ndarray, output_names: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    y = np.asarray(model(x), dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    names = list(output_names) if output_names is not None else [f"y{j}" for j in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise InputError(f"sensitivity: {y.shape[1]} outputs but {len(names)} output names")
    return y, names


@dataclass
class SobolResult:
    """Sobol indices: first order and total per output and input, second order per pair."""

    first_total: pd.DataFrame
    second_order: pd.DataFrame | None = None


def _sobol_rows(
    out: str, names: list[str], res: dict, second_order: bool
) -> tuple[list[tuple], list[tuple]]:
    first = [
        (out, name, res["S1"][i], res["S1_conf"][i], res["ST"][i], res["ST_conf"][i])
        for i, name in enumerate(names)
    ]
    pairs = []
    if second_order:
        for i in range(len(names)):
            for k in range(i + 1, len(names)):
                pairs.append((out, names[i], names[k], res["S2"][i, k], res["S2_conf"][i, k]))
    return first, pairs


def sobol_analysis(
    model: Model,
    distributions: Mapping[str, Distribution],
    *,
    n_base: int = 1024,
    seed: int = 0,
    output_names: Sequence[str] | None = None,
    num_resamples: int = 100,
    second_order: bool = False,
    conf_level: float = 0.95,
) -> SobolResult:
    """First-order, total and (optionally) second-order Sobol indices with bootstrap intervals.

    Saltelli's scheme with Sobol' sequences: ``n_base·(k + 2)`` model runs, or
    ``n_base·(2k + 2)`` with second order; Jansen's estimator of the total index (as SALib).
    The ``*_conf`` columns are half-widths of bootstrap intervals at ``conf_level`` from
    ``num_resamples`` resamples of the model runs.

    Parameters
    ----------
    model : callable
        ``X (n, k) → Y (n,) or (n, m)``, vectorised over rows.
    distributions : mapping
        Input name → distribution (column order of X).
    n_base : int
        Base sample size N (a power of 2).
    seed : int
        Seed of the sampler's scrambling and of the bootstrap intervals.
    output_names : sequence of str, optional
        Names of the m outputs (e.g. unit ids).
    num_resamples : int
        Bootstrap resamples for the confidence intervals.
    second_order : bool
        Also estimate the second-order indices S_ij.
    conf_level : float
        Level of the bootstrap intervals.

    Returns
    -------
    SobolResult
        ``first_total``: ``output, input, S1, S1_conf, ST, ST_conf``; ``second_order``:
        ``output, input_i, input_j, S2, S2_conf`` (None unless asked for).

    References
    ----------
    Sobol' I.M. (2001) Global sensitivity indices for nonlinear mathematical models and their
    Monte Carlo estimates. Math. Comput. Simul. 55, 271–280. Saltelli A. (2002) Making best use
    of model evaluations to compute sensitivity indices. Comput. Phys. Commun. 145, 280–297
    (second order). Saltelli A. et al. (2010) Comput. Phys. Commun. 181, 259–270. Archer G.E.B.,
    Saltelli A., Sobol' I.M. (1997) Sensitivity measures, ANOVA-like techniques and the use of
    bootstrap. J. Stat. Comput. Simul. 58, 99–120. Herman J., Usher W. (2017) SALib. J. Open
    Source Softw. 2(9), 97.
    """
    if n_base < 2 or n_base & (n_base - 1):
        raise InputError(f"sensitivity: n_base must be a power of 2, got {n_base}")
    problem = _problem(distributions)
    u = sobol_sample.sample(problem, n_base, calc_second_order=second_order, seed=seed)
    y, names = _outputs(model, _to_values(u, distributions), output_names)
    rows: list[tuple] = []
    pairs: list[tuple] = []
    inputs = list(problem["names"])
    for j, out in enumerate(names):
        if np.ptp(y[:, j]) == 0:  # a constant output has no variance to apportion
            rows += [(out, name, 0.0, 0.0, 0.0, 0.0) for name in inputs]
            continue
        res = sobol_analyze.analyze(
            problem,
            y[:, j],
            calc_second_order=second_order,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=seed,
        )
        first, second = _sobol_rows(out, inputs, res, second_order)
        rows += first
        pairs += second
    table = pd.DataFrame(rows, columns=["output", "input", "S1", "S1_conf", "ST", "ST_conf"])
    s2 = (
        pd.DataFrame(pairs, columns=["output", "input_i", "input_j", "S2", "S2_conf"])
        if second_order
        else None
    )
    return SobolResult(table, s2)


def sobol_indices(
    model: Model,
    distributions: Mapping[str, Distribution],
    *,
    n_base: int = 1024,
    seed: int = 0,
    output_names: Sequence[str] | None = None,
    num_resamples: int = 100,
) -> pd.DataFrame:
    """First-order and total Sobol indices (``output, input, S1, S1_conf, ST, ST_conf``).

    :func:`sobol_analysis` without second order; see there for the method and references.
    """
    return sobol_analysis(
        model,
        distributions,
        n_base=n_base,
        seed=seed,
        output_names=output_names,
        num_resamples=num_resamples,
    ).first_total


def morris_screening(
    model: Model,
    distributions: Mapping[str, Distribution],
    *,
    trajectories: int = 20,
    num_levels: int = 4,
    seed: int = 0,
    output_names: Sequence[str] | None = None,
    tail: float = 0.025,
) -> pd.DataFrame:
    """Morris elementary effects: μ* (importance) and σ (non-linearity, interactions).

    Effects are measured in the inputs' probability space (the unit hypercube mapped through
    each inverse CDF), so μ* of different inputs compare per quantile step. The grid of an
    unbounded distribution spans its quantiles ``tail`` to ``1 − tail`` (a bounded range, as
    Morris's design requires); bounded distributions span their support.

    Parameters
    ----------
    model : callable
        ``X (n, k) → Y (n,) or (n, m)``.
    distributions : mapping
        Input name → distribution.
    trajectories : int
        Number of trajectories r (``r·(k + 1)`` model runs).
    num_levels : int
        Grid levels p.
    seed : int
        Seed.
    output_names : sequence of str, optional
        Names of the outputs.
    tail : float
        Probability cut from each tail of unbounded distributions (0 < tail < 0.5).

    Returns
    -------
    DataFrame
        ``output, input, mu, mu_star, sigma, mu_star_conf``.

    References
    ----------
    Morris M.D. (1991) Factorial sampling plans for preliminary computational experiments.
    Technometrics 33, 161–174. Campolongo F., Cariboni J., Saltelli A. (2007) An effective
    screening design for sensitivity analysis of large models. Environ. Model. Softw. 22,
    1509–1518 (μ*). Saltelli A., Tarantola S., Campolongo F., Ratto M. (2004) Sensitivity
    Analysis in Practice, Wiley, §4.4 (levels as quantiles, tails of unbounded factors cut).
    """
    if not 0 < tail < 0.5:
        raise InputError(f"sensitivity: Morris tail must be in (0, 0.5), got {tail}")
    problem = _problem(distributions)
    u = morris_sample.sample(problem, trajectories, num_levels=num_levels, seed=seed)
    y, names = _outputs(model, _to_values(u, distributions, tail=tail), output_names)
    rows = []
    for j, out in enumerate(names):
        res = morris_analyze.analyze(problem, u, y[:, j], num_levels=num_levels, seed=seed)
        for i, name in enumerate(problem["names"]):
            rows.append(
                (
                    out,
                    name,
                    res["mu"][i],
                    res["mu_star"][i],
                    res["sigma"][i],
                    res["mu_star_conf"][i],
                )
            )
    return pd.DataFrame(rows, columns=["output", "input", "mu", "mu_star", "sigma", "mu_star_conf"])


def gep_function(
    model: GEPModel,
    names: Sequence[str],
    *,
    allocate: Allocate | None = None,
) -> tuple[Model, list[str]]:
    """A vectorised function ``X → GEP per unit`` (or allocation per unit) and its output names.

    Parameters
    ----------
    model : GEPModel
        Built once (:func:`gep.uncertainty.build_gep_model`).
    names : sequence of str
        Input names, in the column order of X.
    allocate : callable, optional
        GEP matrix → allocation matrix; the outputs are then the allocations.
    """
    model.check(names)
    columns = list(names)

    def evaluate(x: np.ndarray) -> np.ndarray:
        gep = model.evaluate(pd.DataFrame(x, columns=columns))
        return allocate(gep) if allocate is not None else gep

    return evaluate, [str(u) for u in model.units["unit_id"]]


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami function ``sin x₁ + a·sin² x₂ + b·x₃⁴·sin x₁`` (inputs uniform on [−π, π]).

    Analytic variance shares for a = 7, b = 0.1: S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424,
    0.2437.

    References
    ----------
    Ishigami T., Homma T. (1990) An importance quantification technique in uncertainty analysis
    for computer models. Proc. ISUMA '90, 398–403. Sobol' I.M., Levitan Y.L. (1999) On the use
    of variance reducing multipliers in Monte Carlo computations of a global sensitivity index.
    Comput. Phys. Commun. 117, 52–61.

    Examples
    --------
    >>> float(ishigami(np.array([[np.pi / 2, np.pi / 2, 1.0]]))[0])  # 1 + 7 + 0.1
    8.1
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])
