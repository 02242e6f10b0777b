"""The calibration's error class."""

from __future__ import annotations

from data_catalog.errors import InputError

__all__ = ["CalibrationError"]


class CalibrationError(InputError):
    """Observations, bounds or options of a calibration are unusable."""
