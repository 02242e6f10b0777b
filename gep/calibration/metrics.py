"""Objective functions of a calibration: NSE, KGE (2009), PBIAS, RMSE, log-NSE, and losses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gep.calibration.errors import CalibrationError


def _pair(observed: Any, simulated: Any) -> tuple[np.ndarray, np.ndarray]:
    o = np.asarray(observed, dtype=np.float64).ravel()
    s = np.asarray(simulated, dtype=np.float64).ravel()
    if o.shape != s.shape:
        raise CalibrationError(
            f"observed ({o.size} values) and simulated ({s.size} values) differ in length"
        )
    if o.size == 0:
        raise CalibrationError("no observations to compare")
    return o, s


def nse(observed: Any, simulated: Any) -> float:
    """Nash–Sutcliffe efficiency ``NSE = 1 − Σ(s − o)² / Σ(o − ō)²``.

    1 is a perfect fit; 0 means the model is as good as the mean of the observations.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        NSE (1); NaN when the observations do not vary.

    References
    ----------
    Nash J.E., Sutcliffe J.V. (1970) River flow forecasting through conceptual models part I —
    A discussion of principles. J. Hydrol. 10(3), 282–290.

    Examples
    --------
    >>> nse([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    o, s = _pair(observed, simulated)
    spread = float(np.sum((o - o.mean()) ** 2))
    if spread == 0:
        return float("nan")
    return 1.0 - float(np.sum((s - o) ** 2)) / spread


def kge(observed: Any, simulated: Any) -> float:
    """Kling–Gupta efficiency ``KGE = 1 − √((r − 1)² + (α − 1)² + (β − 1)²)``.

    ``r`` is the Pearson correlation, ``α = σ_s/σ_o`` the ratio of standard deviations
    (population, ddof 0) and ``β = μ_s/μ_o`` the ratio of means.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        KGE (1); NaN when either series is constant or the observed mean is 0.

    References
    ----------
    Gupta H.V., Kling H., Yilmaz K.K., Martinez G.F. (2009) Decomposition of the mean squared
    error and NSE performance criteria: implications for improving hydrological modelling.
    J. Hydrol. 377(1–2), 80–91, eq. 9.

    Examples
    --------
    >>> round(kge([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]), 6)
    -0.414214
    """
    o, s = _pair(observed, simulated)
    so, ss, mo = float(o.std()), float(s.std()), float(o.mean())
    if so == 0 or ss == 0 or mo == 0:
        return float("nan")
    r = float(np.corrcoef(o, s)[0, 1])
    alpha = ss / so
    beta = float(s.mean()) / mo
    return 1.0 - float(np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2))


def pbias(observed: Any, simulated: Any) -> float:
    """Percent bias ``PBIAS = 100·Σ(o − s)/Σo``; positive when the model underestimates.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        PBIAS, %; NaN when the observations sum to 0.

    References
    ----------
    Moriasi D.N. et al. (2007) Model evaluation guidelines for systematic quantification of
    accuracy in watershed simulations. Trans. ASABE 50(3), 885–900, eq. 2.

    Examples
    --------
    >>> pbias([10.0, 20.0], [9.0, 18.0])
    10.0
    """
    o, s = _pair(observed, simulated)
    total = float(o.sum())
    if total == 0:
        return float("nan")
    return 100.0 * float(np.sum(o - s)) / total


def rmse(observed: Any, simulated: Any) -> float:
    """Root-mean-square error ``RMSE = √(mean((s − o)²))``, in the units of the data.

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units.

    Returns
    -------
    float
        RMSE, units of the data.

    References
    ----------
    Moriasi D.N. et al. (2007) Trans. ASABE 50(3), 885–900 (RMSE and RSR).

    Examples
    --------
    >>> rmse([1.0, 2.0], [2.0, 4.0])  # √((1 + 4)/2)
    1.5811388300841898
    """
    o, s = _pair(observed, simulated)
    return float(np.sqrt(np.mean((s - o) ** 2)))


def log_offset(observed: Any) -> float:
    """Offset ε added before taking logarithms: 1/100 of the mean observation.

    References
    ----------
    Pushpalatha R., Perrin C., Le Moine N., Andréassian V. (2012) A review of efficiency
    criteria suitable for evaluating low-flow simulations. J. Hydrol. 420–421, 171–182.
    """
    return float(np.mean(np.asarray(observed, dtype=np.float64))) / 100.0


def log_nse(observed: Any, simulated: Any) -> float:
    """NSE of the logarithms, ``NSE(ln(o + ε), ln(s + ε))`` with ε = mean(o)/100.

    Weights relative errors alike across small and large values (low flows, small sediment
    yields).

    Parameters
    ----------
    observed, simulated : array_like
        Paired values, same units; observed values must be > 0 and simulated ≥ 0.

    Returns
    -------
    float
        log-NSE (1).

    References
    ----------
    Krause P., Boyle D.P., Bäse F. (2005) Comparison of different efficiency criteria for
    hydrological model assessment. Adv. Geosci. 5, 89–97. ε as Pushpalatha et al. (2012).

    Examples
    --------
    >>> round(log_nse([1.0, 10.0, 100.0], [1.0, 10.0, 100.0]), 6)
    1.0
    """
    o, s = _pair(observed, simulated)
    if np.any(o <= 0):
        raise CalibrationError("log-NSE needs observed values > 0; use nse or kge instead")
    eps = log_offset(o)
    return nse(np.log(o + eps), np.log(np.clip(s, 0.0, None) + eps))


#: objective name → the metric it is based on (minimised as a loss, see :func:`loss`)
OBJECTIVES: dict[str, Callable[[Any, Any], float]] = {
    "nse": nse,
    "kge": kge,
    "log_nse": log_nse,
    "rmse": rmse,
    "pbias": pbias,
}

#: objectives that are monotone in a sum of squared residuals (least squares applies)
_SUM_OF_SQUARES = ("nse", "rmse", "log_nse")


def loss(objective: str, observed: np.ndarray, simulated: np.ndarray) -> float:
    """The quantity minimised for an objective: ``1 − NSE``, ``1 − KGE``, ``RMSE``, ``|PBIAS|``."""
    value = OBJECTIVES[objective](observed, simulated)
    if not np.isfinite(value):
        return 1e12  # a parameter set that makes the metric undefined is as bad as it gets
    if objective in ("nse", "kge", "log_nse"):
        return 1.0 - value
    if objective == "pbias":
        return abs(value)
    return value


def residuals(objective: str, observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """Residuals whose sum of squares the objective is monotone in (``s − o``, or in logs)."""
    if objective == "log_nse":
        eps = log_offset(observed)
        return np.log(np.clip(simulated, 0.0, None) + eps) - np.log(observed + eps)
    return np.asarray(simulated, dtype=np.float64) - observed


def fit_statistics(observed: Any, simulated: Any) -> dict[str, float]:
    """Every objective function of a fit, with the number of observations.

    Examples
    --------
    >>> s = fit_statistics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    >>> s["nse"], s["pbias_percent"], s["n_observations"]
    (0.5, -16.666666666666668, 3.0)
    """
    o, s = _pair(observed, simulated)
    out = {
        "nse": nse(o, s),
        "kge": kge(o, s),
        "log_nse": log_nse(o, s) if np.all(o > 0) else float("nan"),
        "rmse": rmse(o, s),
        "pbias_percent": pbias(o, s),
        "n_observations": float(o.size),
    }
    return out
