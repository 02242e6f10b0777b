"""Reports of a calibration: the parameter table written back, and the plots."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from gep import __version__, units
from gep.calibration.problem import FitResult
from gep.io.atomic import atomic_write

__all__ = [
    "plot_dotty",
    "plot_observed_vs_simulated",
    "table_key",
    "updated_parameter_table",
    "write_parameter_table",
]


def table_key(name: str) -> tuple[str, str]:
    """Catalog key ``(ecosystem_type, parameter)`` of a fitted parameter name.

    ``runoff_coefficient:forest`` → ``(forest, runoff_coefficient)``;
    ``seasonality:G1`` (per basin) → ``(basin:G1, seasonality)``;
    region-wide parameters → ``(all, name)``.

    Examples
    --------
    >>> table_key("runoff_coefficient:forest"), table_key("seasonality:G1"), table_key("k")
    (('forest', 'runoff_coefficient'), ('basin:G1', 'seasonality'), ('all', 'k'))
    """
    if ":" not in name:
        return "all", name
    parameter, where = name.split(":", 1)
    if parameter == "seasonality":
        return f"basin:{where}", parameter
    return where, parameter


def updated_parameter_table(
    base: pd.DataFrame,
    result: FitResult,
    *,
    against: str,
    date: dt.date | None = None,
    extra: dict[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """The catalog's parameter table with the fitted values written in (long format).

    Rows ``ecosystem_type, parameter, value, unit, source, confidence`` (and ``note``) are
    replaced where the key exists and appended otherwise; ``source`` is "calibrated by gep
    <version> against <observations>, <date>", ``confidence`` "user supplied", and ``note``
    holds the interval and the objective.

    Parameters
    ----------
    base : DataFrame
        The table used for the fit.
    result : FitResult
        The fit.
    against : str
        What was fitted against (e.g. "gauges G1, G2 (observed_runoff_mm 2015, 2020)").
    date : datetime.date, optional
        Date of the calibration (today).
    extra : dict, optional
        More ``(ecosystem_type, parameter) → value`` rows derived from the fit (e.g. class C).
    """
    when = (date or dt.date.today()).isoformat()
    source = f"calibrated by gep {__version__} against {against}, {when}"
    rows = []
    table = result.parameter_table()
    for r in table.itertuples():
        eco, parameter = table_key(str(r.parameter))
        note = (
            f"{result.objective} fit; {r.ci_level:.0%} CI [{r.ci_low:.6g}, {r.ci_high:.6g}] "
            f"({r.ci_flag}){'; at a bound' if r.at_bound else ''}"
        )
        rows.append((eco, parameter, float(r.value), str(r.unit), note))  # type: ignore[arg-type]
    for (eco, parameter), value in (extra or {}).items():
        rows.append((eco, parameter, float(value), units.DIMENSIONLESS, "derived from the fit"))
    new = pd.DataFrame(
        rows, columns=["ecosystem_type", "parameter", "value", "unit", "note"]
    ).assign(source=source, confidence="user supplied")
    out = base.copy()
    if "note" not in out.columns:
        out["note"] = ""
    keys = set(zip(new["ecosystem_type"], new["parameter"], strict=True))
    keep = [k not in keys for k in zip(out["ecosystem_type"], out["parameter"], strict=True)]
    columns = [*out.columns]
    merged = pd.concat([out[keep], new[columns]], ignore_index=True)
    return merged


def write_parameter_table(table: pd.DataFrame, path: Path) -> Path:
    """Write a parameter table as UTF-8 CSV, atomically."""
    return atomic_write(Path(path), lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8"))


def plot_observed_vs_simulated(result: FitResult, path: Path, *, title: str | None = None) -> Path:
    """Observed vs simulated (with the 1:1 line) and residuals, as a PNG written atomically.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend change).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = result.observation_table()
    label_cols = [c for c in result.problem.labels.columns]
    names = table[label_cols].astype(str).agg(" ".join, axis=1)
    fig = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    obs, sim = table["observed"].to_numpy(), table["simulated"].to_numpy()
    group = table[label_cols[0]].astype(str)
    for g in sorted(group.unique()):
        m = (group == g).to_numpy()
        left.scatter(obs[m], sim[m], label=g, s=30)
    lim = [min(obs.min(), sim.min()), max(obs.max(), sim.max())]
    pad = 0.05 * (lim[1] - lim[0] or 1.0)
    left.plot([lim[0] - pad, lim[1] + pad], [lim[0] - pad, lim[1] + pad], "k--", lw=1, label="1:1")
    unit = result.problem.value_unit
    left.set_xlabel(f"observed ({unit})")
    left.set_ylabel(f"simulated ({unit})")
    s = result.statistics
    left.set_title(f"NSE {s['nse']:.3f}  KGE {s['kge']:.3f}  PBIAS {s['pbias_percent']:.1f} %")
    if group.nunique() <= 12:
        left.legend(fontsize=8)
    right.bar(np.arange(len(table)), table["residual"].to_numpy())
    right.axhline(0, color="k", lw=1)
    right.set_xticks(np.arange(len(table)))
    right.set_xticklabels(names, rotation=90, fontsize=7)
    right.set_ylabel(f"simulated − observed ({unit})")
    fig.suptitle(title or f"{result.problem.target}: observed vs simulated")
    fig.tight_layout()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tight_layout notes on crowded labels
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))


def plot_dotty(
    samples: np.ndarray,
    objective_values: np.ndarray,
    names: tuple[str, ...],
    path: Path,
    *,
    ylabel: str = "log-posterior",
    truth: np.ndarray | None = None,
) -> Path:
    """Dotty plots: the objective of every sampled parameter set against each parameter.

    A flat upper envelope over a parameter's range shows that the observations do not
    constrain it (equifinality, Beven & Binley 1992). Written as a PNG, atomically.

    References
    ----------
    Beven K., Binley A. (1992) The future of distributed models: model calibration and
    uncertainty prediction. Hydrol. Process. 6, 279–298.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    y = np.asarray(objective_values, dtype=np.float64)
    fig = Figure(figsize=(3.2 * len(names), 3.2), dpi=100)
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    for k, (ax, name) in enumerate(zip(axes, names, strict=True)):
        ax.scatter(x[:, k], y, s=4, alpha=0.4)
        if truth is not None:
            ax.axvline(float(truth[k]), color="k", lw=1, ls="--")
        ax.set_xlabel(name)
        ax.set_ylabel(ylabel if k == 0 else "")
    fig.tight_layout()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
