"""Calibration target: the C factor–NDVI relation (Van der Knijff et al. 1999; Cai et al. 2000)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gep import units
from gep.calibration.bounds import check_bounds
from gep.calibration.errors import CalibrationError
from gep.calibration.problem import FitProblem
from gep.kernels.rusle import c_factor_cai, c_factor_van_der_knijff

__all__ = [
    "C_NDVI_FORMS",
    "c_factor_cai",
    "c_factor_van_der_knijff",
    "c_ndvi_problem",
    "class_c_from_ndvi",
]


#: form → (function, parameter names, default bounds)
C_NDVI_FORMS: dict[str, tuple[Callable[..., np.ndarray], tuple[str, str], tuple[Any, Any]]] = {
    "van_der_knijff": (c_factor_van_der_knijff, ("alpha", "beta"), ((0.1, 10.0), (1.0, 5.0))),
    "cai": (c_factor_cai, ("ndvi_soil", "ndvi_veg"), ((-0.2, 0.3), (0.5, 1.0))),
}


def c_ndvi_problem(
    ndvi: Any,
    observed_c: Any,
    *,
    form: str = "van_der_knijff",
    bounds: Sequence[tuple[float, float]] | None = None,
    labels: pd.DataFrame | None = None,
) -> FitProblem:
    """Fit a C factor–NDVI relation to paired observations (plots, or class C vs mean NDVI).

    Parameters
    ----------
    ndvi, observed_c : array_like
        Paired NDVI and observed C factor.
    form : {"van_der_knijff", "cai"}
        :func:`c_factor_van_der_knijff` (α, β) or :func:`c_factor_cai` (NDVI_soil, NDVI_veg).
    bounds : sequence of (float, float), optional
        Bounds of the two parameters.
    labels : DataFrame, optional
        One row per observation.

    Returns
    -------
    FitProblem
        Not convex (the Cai form is piecewise): the global search runs.
    """
    if form not in C_NDVI_FORMS:
        raise CalibrationError(f"unknown C–NDVI form {form!r}; choose from {list(C_NDVI_FORMS)}")
    func, names, default = C_NDVI_FORMS[form]
    v = np.asarray(ndvi, dtype=np.float64).ravel()
    c = np.asarray(observed_c, dtype=np.float64).ravel()
    if v.shape != c.shape or not np.all(np.isfinite(v)):
        raise CalibrationError("C–NDVI observations: NDVI and C must be paired and finite")
    if np.any((c < 0) | (c > 1)):
        raise CalibrationError("C–NDVI observations: C factors must lie in [0, 1]")

    chosen = [tuple(b) for b in (bounds or default)]
    for n, pair in zip(names, chosen, strict=True):
        check_bounds(f"c_ndvi_{n}", pair)

    def simulate(x: np.ndarray) -> np.ndarray:
        return func(v, float(x[0]), float(x[1]))

    return FitProblem(
        names=tuple(f"c_ndvi_{n}" for n in names),
        bounds=tuple(chosen),  # type: ignore[arg-type]
        simulate=simulate,
        observed=c,
        labels=labels if labels is not None else pd.DataFrame({"ndvi": v}),
        value_unit=units.DIMENSIONLESS,
        parameter_units=(units.DIMENSIONLESS,) * 2,
        target="c_factor_ndvi",
        info={"form": form},
    )


def class_c_from_ndvi(
    ndvi: np.ndarray, codes: np.ndarray, valid: np.ndarray, types: pd.Series, c_of_ndvi: Callable
) -> pd.Series:
    """Mean C factor per ecosystem type from an NDVI raster and a fitted C–NDVI relation.

    Parameters
    ----------
    ndvi : ndarray
        NDVI per pixel.
    codes, valid : ndarray
        Land-cover codes and their valid mask.
    types : Series
        Ecosystem type per land-cover code (the class scheme).
    c_of_ndvi : callable
        NDVI → C (e.g. a fitted :func:`c_factor_van_der_knijff`).

    Returns
    -------
    Series
        Mean C per ecosystem type (types without valid NDVI pixels are left out).
    """
    ok = valid & np.isfinite(ndvi)
    c = c_of_ndvi(ndvi[ok])
    eco = types.reindex(codes[ok].astype(int)).to_numpy()
    return pd.Series(c).groupby(eco).mean()
