"""``gep sensitivity CONFIG`` and ``gep uncertainty CONFIG``: analyses of GEP per unit.

Both build the GEP model once (:func:`gep.uncertainty.build_gep_model`: the services run once,
a sample costs a few operations per unit), then

* ``run_sensitivity`` apportions the variance of total GEP, of each unit's GEP or of each
  unit's allocation to the inputs (Sobol, optionally second order, with bootstrap intervals) or
  screens them (Morris on bounded ranges);
* ``run_uncertainty`` propagates the distributions — and, jointly, the draws of a calibration's
  posterior (``posterior_runs.csv`` of ``gep calibrate``) — to intervals of GEP and allocation
  per unit and to rank changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from data_catalog.errors import InputError
from gep.analysis.config import AnalysisConfig, load_analysis_config
from gep.analysis.confusion import ConfusionMatrix, load_confusion
from gep.config import RunConfig, load_run_config
from gep.io.atomic import atomic_write
from gep.sensitivity import Model, gep_function, morris_screening, sobol_analysis
from gep.uncertainty import (
    Distribution,
    GEPModel,
    build_gep_model,
    gep_share_allocation,
    load_distributions,
    monte_carlo,
)
from gep.uncertainty.terms import _PRODUCER

__all__ = ["run_sensitivity", "run_uncertainty"]

#: columns of a posterior run file that are not parameters
_RUN_COLUMNS = ("chain", "step", "walker", "log_posterior", "nse")


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))


def _restricted(run: RunConfig, quantities: list[str] | None) -> tuple[RunConfig, list[str]]:
    """The run config valuing only quantities the model can vary; the quantities dropped."""
    supported = set(_PRODUCER)
    wanted = set(quantities) if quantities else supported
    unknown = sorted(wanted - supported)
    if unknown:
        raise InputError(
            f"analysis: quantities {unknown} cannot be analysed; choose from {sorted(supported)}"
        )
    enabled = run.valuation.enabled()
    kept = [c for c in enabled if c.quantity in wanted]
    if not kept:
        raise InputError(
            f"analysis: the run config values none of {sorted(wanted)} "
            f"(it values {sorted({c.quantity for c in enabled})})"
        )
    dropped = sorted({c.quantity for c in enabled if c.quantity not in wanted})
    producers = {_PRODUCER[c.quantity] for c in kept}
    services = {k: v for k, v in run.services.items() if k in producers}
    valuation = run.valuation.model_copy(update={"components": kept})
    return run.model_copy(update={"services": services, "valuation": valuation}), dropped


def _posterior_columns(config: AnalysisConfig) -> tuple[pd.DataFrame | None, list[str]]:
    """The posterior run file (second half of each chain) and its parameter columns."""
    if config.posterior_runs is None:
        return None, []
    path = config.resolve(config.posterior_runs)
    if not path.exists():
        raise InputError(f"posterior_runs: {path} not found (written by gep calibrate)")
    runs = pd.read_csv(path)
    if "step" in runs.columns:  # burn-in: the first half of the steps
        runs = runs[runs["step"] >= runs["step"].max() / 2]
    columns = [c for c in runs.columns if c not in _RUN_COLUMNS]
    if not columns or runs.empty:
        raise InputError(f"posterior_runs: {path} has no parameter columns or no rows")
    return runs[columns], columns


def _confusion(config: AnalysisConfig, run: RunConfig) -> ConfusionMatrix | None:
    """The checked confusion matrix (class codes of the run's land-cover scheme), if any."""
    if config.landcover_confusion is None:
        return None
    from data_catalog.catalog import load_catalog

    cat = load_catalog(run.catalog_file())
    year = int(config.year if config.year is not None else run.years[-1])
    scheme = cat.entry(cat.find(variable="landcover", year=year)).class_scheme or "clcd"
    settings = config.landcover_confusion
    return load_confusion(config.resolve(settings.table), kind=settings.kind, scheme=scheme)


def _model(config: AnalysisConfig, extra: list[str]) -> tuple[GEPModel, list[str], float]:
    start = time.perf_counter()
    run, dropped = _restricted(load_run_config(config.run_config_file()), config.quantities)
    parameters = [n for n in [*config.distributions, *extra] if not n.startswith("price:")]
    model = build_gep_model(
        run,
        level=config.level,
        year=config.year,
        parameters=parameters,
        input_errors=config.input_errors,
        confusion=_confusion(config, run),
    )
    model.check([*config.distributions, *extra])
    return model, dropped, time.perf_counter() - start


def run_uncertainty(config_path: Path, out: Path | None = None) -> dict[str, Any]:
    """Monte Carlo of GEP (and allocation) per unit from a YAML configuration.

    Parameters
    ----------
    config_path : pathlib.Path
        Analysis configuration (see ``gep/configs/analysis_sample.yaml``).
    out : pathlib.Path, optional
        Output folder (default: the config's ``output_dir``).

    Returns
    -------
    dict
        ``name, level, year, n_samples, parameters, dropped_quantities``, total GEP percentiles
        ``gep_total_p<q>_cny``, ``seconds`` (build, sampling) and ``outputs`` (name → path):
        ``uncertainty_intervals.csv``, ``rank_changes.csv``, ``uncertainty_samples.csv``.

    Raises
    ------
    data_catalog.errors.InputError
        A bad configuration, distribution or posterior file, before the services run.
    """
    config = load_analysis_config(config_path)
    posterior, post_names = _posterior_columns(config)
    model, dropped, build_s = _model(config, post_names)
    dists = load_distributions(config.distributions)
    joint = None
    if posterior is not None:
        rows = np.random.default_rng(config.seed + 1).integers(0, len(posterior), config.n_samples)
        joint = posterior.iloc[rows].reset_index(drop=True)
    allocate = (
        gep_share_allocation(config.allocation_budget_cny) if config.allocation_budget_cny else None
    )
    start = time.perf_counter()
    mc = monte_carlo(
        model, dists, config.n_samples, seed=config.seed, allocate=allocate, joint=joint
    )
    sample_s = time.perf_counter() - start
    folder = Path(out) if out is not None else Path(config.output_dir)
    outputs = {
        "intervals": _write_csv(
            mc.intervals(tuple(config.percentiles)), folder / "uncertainty_intervals.csv"
        ),
        "rank_changes": _write_csv(mc.rank_changes(), folder / "rank_changes.csv"),
        "samples": _write_csv(mc.samples, folder / "uncertainty_samples.csv"),
    }
    total = mc.gep.sum(axis=1)
    result: dict[str, Any] = {
        "name": config.name,
        "level": config.level,
        "year": model.year,
        "n_samples": config.n_samples,
        "parameters": ", ".join(mc.samples.columns),
        "dropped_quantities": ", ".join(dropped) or "none",
        "input_errors": ", ".join(
            f"{v} (cv {e.cv:g}, {e.spatial})" for v, e in config.input_errors.items()
        )
        or "none",
        "landcover_confusion": str(config.resolve(config.landcover_confusion.table))
        if config.landcover_confusion is not None
        else "none",
    }
    for q, value in zip(config.percentiles, np.percentile(total, config.percentiles), strict=True):
        result[f"gep_total_p{q:g}_cny"] = float(value)
    result["seconds"] = {"build": round(build_s, 3), "sampling": round(sample_s, 3)}
    result["outputs"] = outputs
    return result


def _sensitivity_function(config: AnalysisConfig, model: GEPModel) -> tuple[Any, list[str]]:
    names = list(config.distributions)
    if config.output == "allocation":
        assert config.allocation_budget_cny is not None
        func, units = gep_function(
            model, names, allocate=gep_share_allocation(config.allocation_budget_cny)
        )
        return func, units
    func, units = gep_function(model, names)
    if config.output == "units":
        return func, units
    return (lambda x: func(x).sum(axis=1)), ["total"]


class _Analysis(NamedTuple):
    """Indices of one sensitivity method, the column that ranks the inputs and the files."""

    table: pd.DataFrame
    key: str
    n_model_runs: int
    outputs: dict[str, Path]


def _check_sensitivity_config(config: AnalysisConfig, config_path: Path) -> None:
    """Refuse what Sobol and Morris cannot apportion, before the services run."""
    if config.posterior_runs is not None:
        raise InputError(
            f"{config_path}: sensitivity needs independent inputs; posterior_runs (correlated "
            "draws) are for gep uncertainty only"
        )
    if config.input_errors or config.landcover_confusion is not None:
        raise InputError(
            f"{config_path}: input_errors and landcover_confusion are maps, not named inputs "
            "Sobol or Morris can apportion; they are for gep uncertainty only"
        )
    if not config.distributions:
        raise InputError(f"{config_path}: sensitivity needs distributions")


def _sobol(
    config: AnalysisConfig,
    func: Model,
    dists: Mapping[str, Distribution],
    output_names: list[str],
    folder: Path,
) -> _Analysis:
    """Sobol indices (first, total and optionally second order) written to CSV."""
    s = config.sobol
    res = sobol_analysis(
        func,
        dists,
        n_base=s.n_base,
        seed=config.seed,
        output_names=output_names,
        num_resamples=s.num_resamples,
        second_order=s.second_order,
        conf_level=s.conf_level,
    )
    outputs = {"sobol": _write_csv(res.first_total, folder / "sobol_indices.csv")}
    if res.second_order is not None:
        outputs["sobol_second_order"] = _write_csv(
            res.second_order, folder / "sobol_second_order.csv"
        )
    # Saltelli's scheme: N base rows, k + 2 matrices (2k + 2 with the second-order ones)
    k = len(dists)
    runs = s.n_base * (2 * k + 2 if s.second_order else k + 2)
    return _Analysis(res.first_total, "ST", runs, outputs)


def _morris(
    config: AnalysisConfig,
    func: Model,
    dists: Mapping[str, Distribution],
    output_names: list[str],
    folder: Path,
) -> _Analysis:
    """Morris elementary effects (μ*, σ) written to CSV."""
    m = config.morris
    table = morris_screening(
        func,
        dists,
        trajectories=m.trajectories,
        num_levels=m.num_levels,
        seed=config.seed,
        output_names=output_names,
        tail=m.tail,
    )
    outputs = {"morris": _write_csv(table, folder / "morris.csv")}
    # each trajectory steps through the k inputs one at a time: k + 1 points
    return _Analysis(table, "mu_star", m.trajectories * (len(dists) + 1), outputs)


def run_sensitivity(config_path: Path, out: Path | None = None) -> dict[str, Any]:
    """Sobol indices or Morris screening of GEP (total, per unit or allocation) from YAML.

    Parameters
    ----------
    config_path : pathlib.Path
        Analysis configuration (``method: sobol | morris``; ``output: total | units |
        allocation``).
    out : pathlib.Path, optional
        Output folder (default: the config's ``output_dir``).

    Returns
    -------
    dict
        ``name, method, output, n_model_runs``, ``ranking`` (input → ST or μ* of the first
        output), ``seconds`` and ``outputs`` (name → path): ``sobol_indices.csv`` (and
        ``sobol_second_order.csv``) or ``morris.csv``.

    Raises
    ------
    data_catalog.errors.InputError
        A bad configuration (posterior runs are refused: the methods need independent inputs).
    """
    config = load_analysis_config(config_path)
    _check_sensitivity_config(config, config_path)
    model, _, build_s = _model(config, [])
    dists = load_distributions(config.distributions)
    func, output_names = _sensitivity_function(config, model)
    folder = Path(out) if out is not None else Path(config.output_dir)
    start = time.perf_counter()
    analyse = _sobol if config.method == "sobol" else _morris
    analysis = analyse(config, func, dists, output_names, folder)
    first = analysis.table[analysis.table["output"] == output_names[0]]
    return {
        "name": config.name,
        "method": config.method,
        "output": config.output,
        "n_model_runs": analysis.n_model_runs,
        "ranking": {
            str(r.input): round(float(getattr(r, analysis.key)), 4) for r in first.itertuples()
        },
        "seconds": {"build": round(build_s, 3), "analysis": round(time.perf_counter() - start, 3)},
        "outputs": analysis.outputs,
    }
