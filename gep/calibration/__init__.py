"""Calibration: fit model parameters to observations, check them, validate them, report them.

What can be fitted (each a :class:`FitProblem` built once, whose ``simulate`` is cheap):

* the water-yield seasonality constant Z (one for the region, or one per basin) against
  observed annual runoff at gauged catchments (:func:`water_yield_problem`);
* the water-balance surface-runoff coefficients α per ecosystem type against observed runoff
  (:func:`runoff_coefficient_problem`; the simulation is linear in α);
* the SDR parameters k, IC0 and SDR_max against observed sediment yield
  (:func:`sdr_problem`; routing, D_up, D_dn and IC are computed once);
* the C factor–NDVI relation (:func:`c_ndvi_problem`).

Work that does not depend on the fitted parameters (reading rasters, reclassifying land cover,
intersecting catchments with the grid, flow routing) is done once, when the problem is built;
a trial only re-evaluates the parameter-dependent step on the catchments' pixels.

Modules: :mod:`~gep.calibration.metrics` (objective functions), :mod:`~.fit` (bounded global
then local search), :mod:`~.identifiability` (correlation, condition number, null space),
:mod:`~.intervals` (profile likelihood, gauge bootstrap), :mod:`~.gates` (plausibility),
:mod:`~.validation` (split-sample, evaluate-only, leave-one-gauge-out), :mod:`~.posterior`
(MCMC behind gep's problem interface), :mod:`~.catchments`, :mod:`~.targets`, :mod:`~.report`,
and the command line's :mod:`~.config` and :mod:`~.run`.
"""

from __future__ import annotations

from gep.calibration.bounds import PARAMETER_DOMAINS, check_bound_keys, check_bounds
from gep.calibration.catchments import (
    Catchments,
    area_mismatches,
    catchments_from_labels,
    catchments_from_level,
    coverage_table,
    match_observations,
)
from gep.calibration.errors import CalibrationError
from gep.calibration.fit import fit
from gep.calibration.identifiability import identifiability, jacobian
from gep.calibration.inputs import ecosystem_type_of_codes, landcover_arrays
from gep.calibration.metrics import (
    OBJECTIVES,
    fit_statistics,
    kge,
    log_nse,
    log_offset,
    loss,
    nse,
    pbias,
    residuals,
    rmse,
)
from gep.calibration.problem import FitProblem, FitResult, Identifiability, subset_problem
from gep.calibration.report import (
    plot_dotty,
    plot_observed_vs_simulated,
    table_key,
    updated_parameter_table,
    write_parameter_table,
)
from gep.calibration.targets.c_ndvi import (
    C_NDVI_FORMS,
    c_factor_cai,
    c_factor_van_der_knijff,
    c_ndvi_problem,
    class_c_from_ndvi,
)
from gep.calibration.targets.sdr import SDRInputs, delivery_ratio, sdr_inputs, sdr_problem
from gep.calibration.targets.water import (
    WaterYieldPixels,
    fu_zhang_yield,
    runoff_coefficient_problem,
    water_yield_inputs,
    water_yield_problem,
)
from gep.calibration.validation import (
    Evaluation,
    GaugeOutResult,
    ValidationResult,
    evaluate,
    leave_one_gauge_out,
    split_sample,
    validation_mask,
)

__all__ = [
    "C_NDVI_FORMS",
    "OBJECTIVES",
    "PARAMETER_DOMAINS",
    "CalibrationError",
    "Catchments",
    "Evaluation",
    "FitProblem",
    "FitResult",
    "GaugeOutResult",
    "Identifiability",
    "SDRInputs",
    "ValidationResult",
    "WaterYieldPixels",
    "area_mismatches",
    "c_factor_cai",
    "c_factor_van_der_knijff",
    "c_ndvi_problem",
    "catchments_from_labels",
    "catchments_from_level",
    "check_bound_keys",
    "check_bounds",
    "class_c_from_ndvi",
    "coverage_table",
    "delivery_ratio",
    "ecosystem_type_of_codes",
    "evaluate",
    "fit",
    "fit_statistics",
    "fu_zhang_yield",
    "identifiability",
    "jacobian",
    "kge",
    "landcover_arrays",
    "leave_one_gauge_out",
    "log_nse",
    "log_offset",
    "loss",
    "match_observations",
    "nse",
    "pbias",
    "plot_dotty",
    "plot_observed_vs_simulated",
    "residuals",
    "rmse",
    "runoff_coefficient_problem",
    "sdr_inputs",
    "sdr_problem",
    "split_sample",
    "subset_problem",
    "table_key",
    "updated_parameter_table",
    "validation_mask",
    "water_yield_inputs",
    "water_yield_problem",
    "write_parameter_table",
]
