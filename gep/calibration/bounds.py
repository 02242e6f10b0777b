"""Physical domains of the calibrated parameters: bounds outside them are refused."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gep.calibration.errors import CalibrationError

__all__ = ["PARAMETER_DOMAINS", "TARGET_BOUND_KEYS", "check_bound_keys", "check_bounds"]

#: parameter → (least, greatest) value its bounds may take, and why
PARAMETER_DOMAINS: dict[str, tuple[float, float, str]] = {
    "seasonality": (0.0, np.inf, "Z ≥ 0 (ω = Z·AWC/P + 1.25 ≥ 1.25; Zhang et al. 2004)"),
    "runoff_coefficient": (0.0, 1.0, "runoff is a share of precipitation, 0–1"),
    "k": (1e-6, np.inf, "k > 0 (logistic shape; Vigiak et al. 2012)"),
    "ic0": (-np.inf, np.inf, "any real value"),
    "sdr_max": (1e-6, 1.0, "0 < SDR_max ≤ 1 (a share of the eroded soil)"),
    "c_ndvi_alpha": (0.0, np.inf, "α ≥ 0 (Van der Knijff et al. 1999)"),
    "c_ndvi_beta": (0.0, np.inf, "β > NDVI (Van der Knijff et al. 1999)"),
    "c_ndvi_ndvi_soil": (-1.0, 1.0, "an NDVI, −1 to 1"),
    "c_ndvi_ndvi_veg": (-1.0, 1.0, "an NDVI, −1 to 1"),
}

#: calibration target → the keys its ``bounds:`` mapping may use
TARGET_BOUND_KEYS: dict[str, tuple[str, ...]] = {
    "water_yield_z": ("seasonality",),
    "runoff_coefficients": ("runoff_coefficient",),
    "sdr": ("k", "ic0", "sdr_max"),
    "c_factor_ndvi": ("c_ndvi_alpha", "c_ndvi_beta", "c_ndvi_ndvi_soil", "c_ndvi_ndvi_veg"),
}


def check_bounds(name: str, bounds: Sequence[float], *, where: str = "bounds") -> None:
    """Refuse bounds that are reversed, not finite, or outside the parameter's domain.

    Examples
    --------
    >>> check_bounds("seasonality", (1.0, 30.0))
    >>> check_bounds("seasonality", (-5.0, 30.0))
    Traceback (most recent call last):
    ...
    gep.calibration.errors.CalibrationError: bounds.seasonality: [-5, 30] leaves the parameter's domain [0, inf] (Z ≥ 0 (ω = Z·AWC/P + 1.25 ≥ 1.25; Zhang et al. 2004)); narrow the bounds
    """
    lo, hi = (float(v) for v in bounds)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise CalibrationError(
            f"{where}.{name}: bounds must be finite with lower < upper, got [{lo:g}, {hi:g}]"
        )
    base = name.split(":", 1)[0]
    if base in PARAMETER_DOMAINS:
        least, greatest, why = PARAMETER_DOMAINS[base]
        if lo < least or hi > greatest:
            raise CalibrationError(
                f"{where}.{name}: [{lo:g}, {hi:g}] leaves the parameter's domain "
                f"[{least:g}, {greatest:g}] ({why}); narrow the bounds"
            )


def check_bound_keys(target: str, keys: Sequence[str], *, where: str = "bounds") -> None:
    """Refuse bound keys the target does not have (a misspelt key would silently be ignored)."""
    valid = TARGET_BOUND_KEYS.get(target, ())
    unknown = sorted(set(keys) - set(valid))
    if unknown:
        raise CalibrationError(
            f"{where}: unknown keys {unknown} for target '{target}'; valid keys: {list(valid)}"
        )
