"""``gep calibrate CONFIG``: kept as the command line's import path.

The implementation lives in :mod:`gep.calibration.run` (building, fitting, validating),
:mod:`gep.calibration.config` (the checked configuration) and :mod:`gep.calibration.writeback`
(the report and the gated write-back).
"""

from __future__ import annotations

from gep.calibration.config import TARGET_UNITS, CalibrationConfig, load_calibration_config
from gep.calibration.run import CalibrationRun, build_problem, run_calibration
from gep.calibration.writeback import calibrated_catalog, gep_components, write_report

__all__ = [
    "TARGET_UNITS",
    "CalibrationConfig",
    "CalibrationRun",
    "build_problem",
    "calibrated_catalog",
    "gep_components",
    "load_calibration_config",
    "run_calibration",
    "write_report",
]
