"""``summary.md`` of a calibration: status, parameters, identifiability, validation, GEP reach."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gep.calibration.run import CalibrationRun

__all__ = ["summary_markdown"]


def _fmt(value: Any) -> str:
    value = float(value)
    return f"{value:.4g}" if np.isfinite(value) else "–"


def _parameter_lines(run: CalibrationRun) -> list[str]:
    result = run.result
    assert result is not None
    lines = [
        "| parameter | value | CI low | CI high | interval | bounds | at bound |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result.parameter_table().itertuples():
        lines.append(
            f"| {r.parameter} | {r.value:.6g} | {_fmt(r.ci_low)} | {_fmt(r.ci_high)} | "
            f"{r.ci_flag} | [{r.lower_bound:g}, {r.upper_bound:g}] | "
            f"{'yes' if r.at_bound else 'no'} |"
        )
    ident = result.identifiability
    if ident is not None:
        lines += ["", f"Condition number of the scaled JᵀJ: {ident.condition_number:.4g}."]
        if len(result.problem.names) > 1:
            lines.append("Correlation matrix: `parameter_correlation.csv`.")
    lines += [f"- **warning:** {w}" for w in result.warnings]
    return lines


def _statistics_lines(run: CalibrationRun) -> list[str]:
    calib = run.result.statistics if run.result is not None else run.calibration.statistics  # type: ignore[union-attr]
    valid = run.validation.statistics if run.validation is not None else None
    lines = ["| statistic | calibration | validation |", "|---|---|---|"]
    for key, value in calib.items():
        other = _fmt(valid.get(key, np.nan)) if valid is not None else "–"
        lines.append(f"| {key} | {_fmt(value)} | {other} |")
    if run.gauge_out is not None:
        pooled = run.gauge_out.statistics
        lines += [
            "",
            f"Leave-one-gauge-out (each gauge predicted by a fit without it): pooled NSE "
            f"{_fmt(pooled['nse'])}, PBIAS {_fmt(pooled['pbias_percent'])} %; per gauge in "
            "`leave_one_gauge_out.csv`.",
        ]
    return lines


def _gate_lines(run: CalibrationRun) -> list[str]:
    result = run.result
    if result is None:
        return ["Evaluate-only run: nothing is fitted and nothing is written back."]
    status = "PASSED" if result.passed else "FAILED"
    lines = [f"**Status: {status}.**", ""]
    lines += [
        f"- {'ok' if ok else 'FAILED'} `{name}`: {detail}" for name, ok, detail in result.gates
    ]
    if result.passed:
        lines.append(
            "\nThe calibrated values are in `parameters_calibrated.csv` (confidence `user "
            "supplied`); `catalog_calibrated.yaml` and `run_calibrated.yaml` use them."
        )
    elif run.config.force:
        lines.append("\n`force: true`: the values were written back although a gate failed.")
    else:
        lines.append(
            "\nNothing was written back (no parameter table, catalog or run config); fix the "
            "cause, or set `force: true` to write the values anyway."
        )
    return lines


def _posterior_lines(run: CalibrationRun) -> list[str]:
    post = run.posterior
    if post is None:
        return []
    lines = [
        "",
        "## Posterior (emcee)",
        "",
        f"{len(post.samples)} draws kept, acceptance {post.acceptance:.2f}, {post.seconds:.1f} s; "
        "runs in `posterior_runs.csv`, dotty plots in `dotty.png`.",
        "",
        "| parameter | median | low | high | R̂ |",
        "|---|---|---|---|---|",
    ]
    for r in post.intervals().itertuples():
        lines.append(
            f"| {r.parameter} | {r.median:.6g} | {r.ci_low:.6g} | {r.ci_high:.6g} | {r.r_hat:.3f} |"
        )
    return lines


def summary_markdown(
    run: CalibrationRun, changed: tuple[list[str], str], outputs: dict[str, Path]
) -> str:
    """The report's Markdown summary."""
    config, problem = run.config, run.problem
    notes = problem.info.get("catchment_notes") or []
    lines = [
        f"# Calibration report: {config.name}",
        "",
        f"- target: `{config.target}`; objective: `{config.objective}`; mode: {config.mode}",
        f"- observations: {run.against}, in {problem.value_unit}",
        f"- GEP components changed by this target: {changed[1]}",
        f"- time: {', '.join(f'{k} {v:.1f} s' for k, v in run.seconds.items())}",
        *[f"- note: {n}" for n in notes],
        "",
        "## Gates",
        "",
        *_gate_lines(run),
    ]
    if run.result is not None:
        lines += ["", "## Parameters", "", *_parameter_lines(run)]
        lines += [f"\nIntervals: {run.result.ci_method}, level {run.result.ci_level:.0%}."]
    lines += ["", "## Fit statistics", "", *_statistics_lines(run)]
    if "plot" in outputs:
        lines += ["", "![observed vs simulated](observed_vs_simulated.png)"]
    lines += _posterior_lines(run)
    return "\n".join(lines) + "\n"
