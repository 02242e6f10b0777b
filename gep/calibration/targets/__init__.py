"""Calibration targets: each builds a :class:`gep.calibration.FitProblem` once."""
