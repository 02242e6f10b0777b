"""Plausibility gates: a fit that fails one is reported as failed and is not written back.

A calibration's values go into the parameter table and the next run only when

* the calibration NSE is ≥ 0 (the model beats the mean of the observations; Moriasi et al.
  2007 call NSE ≤ 0 unacceptable);
* no parameter sits on a bound (the data ask for a value the bounds exclude, or the model lacks
  a process the observations contain);
* observed runoff does not exceed the catchment's precipitation (water balance: a runoff depth
  above P is a unit or catchment error);
* the valid data cover at least ``min_coverage`` of every gauged catchment (a catchment half off
  the grid is averaged over the wrong area).

``gep calibrate`` writes the diagnostics of a failed fit but no ``parameters_calibrated.csv``,
``catalog_calibrated.yaml`` or ``run_calibrated.yaml`` unless the configuration says
``force: true``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from gep.calibration.problem import FitResult

__all__ = ["DEFAULT_MIN_COVERAGE", "evaluate"]

#: share of a catchment's polygon area that valid pixels must cover
DEFAULT_MIN_COVERAGE = 0.9

Gate = tuple[str, bool, str]


def _nse_gate(result: FitResult) -> Gate:
    value = result.statistics.get("nse", float("nan"))
    ok = bool(np.isfinite(value) and value >= 0)
    detail = f"calibration NSE {value:.3f}" + (
        ""
        if ok
        else " < 0: the model does worse than the mean of the observations; check their unit, "
        "the catchments and the target"
    )
    return "nse_not_negative", ok, detail


def _bound_gate(result: FitResult) -> Gate:
    at = result.at_bound()
    names = [n for n, b in zip(result.problem.names, at, strict=True) if b]
    if not names:
        return "no_parameter_on_bound", True, "every parameter inside its bounds"
    values = dict(zip(result.problem.names, result.values, strict=True))
    listed = ", ".join(f"{n} = {values[n]:.6g}" for n in names)
    return (
        "no_parameter_on_bound",
        False,
        f"{listed} on a bound: widen the bounds if physically plausible, or the observations "
        "contain a process (or a unit) the model does not",
    )


def _water_balance_gate(result: FitResult) -> Gate | None:
    precip = result.problem.info.get("precipitation_mm")
    if precip is None:
        return None
    observed = result.problem.observed
    above = np.flatnonzero(observed > np.asarray(precip))
    if above.size == 0:
        return "runoff_below_precipitation", True, "observed runoff ≤ precipitation everywhere"
    labels = result.problem.labels.reset_index(drop=True)
    cases = [
        f"{' '.join(str(v) for v in labels.iloc[j])}: {observed[j]:.6g} > {precip[j]:.6g} mm"
        for j in above[:5]
    ]
    return (
        "runoff_below_precipitation",
        False,
        f"observed runoff above the catchment's precipitation ({'; '.join(cases)}"
        f"{'; …' if above.size > 5 else ''}): the values are not a runoff depth in mm yr-1 "
        "(a volume in m3? another catchment?)",
    )


def _coverage_gate(result: FitResult, min_coverage: float) -> Gate | None:
    coverage = result.problem.info.get("coverage")
    if not isinstance(coverage, pd.DataFrame) or coverage.empty:
        return None
    low = coverage[coverage["valid_fraction"] < min_coverage]
    if low.empty:
        return (
            "catchment_coverage",
            True,
            f"valid data cover ≥ {min_coverage:.0%} of each catchment",
        )
    cases = [
        f"{r.catchment_id} {r.year}: {r.valid_fraction:.0%} of {r.polygon_km2:.4g} km²"
        for r in low.itertuples()
    ]
    return (
        "catchment_coverage",
        False,
        f"valid data cover less than {min_coverage:.0%} of {', '.join(cases)}: the simulated "
        "value averages part of the catchment; extend the rasters or fix the polygon",
    )


def evaluate(result: FitResult, *, min_coverage: float = DEFAULT_MIN_COVERAGE) -> list[Gate]:
    """Every gate of a fit: ``(name, passed, detail)``.

    Parameters
    ----------
    result : FitResult
        A calibration fit.
    min_coverage : float
        Least share of each catchment's polygon area covered by valid pixels.

    Returns
    -------
    list of (str, bool, str)
    """
    out = [_nse_gate(result), _bound_gate(result)]
    for gate in (_water_balance_gate(result), _coverage_gate(result, min_coverage)):
        if gate is not None:
            out.append(gate)
    return out
