"""RUSLE per-pixel soil loss given the LS factor (from ``terrain``), and the cover factor C from NDVI."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np


def _rusle_impl(erosivity, erodibility, ls, c, p, potential, actual, retained):  # pragma: no cover
    for i in numba.prange(erosivity.size):
        rkls = erosivity[i] * erodibility[i] * ls[i]
        usle = rkls * c[i] * p[i]
        potential[i] = rkls
        actual[i] = usle
        retained[i] = rkls - usle


_rusle_serial = numba.njit(nogil=True, cache=True)(_rusle_impl)
_rusle_parallel = numba.njit(nogil=True, cache=True, parallel=True)(_rusle_impl)


def rusle(
    erosivity: np.ndarray,
    erodibility: np.ndarray,
    ls: np.ndarray,
    cover_management: np.ndarray,
    support_practice: np.ndarray,
    *,
    parallel: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Potential, actual and retained soil loss by the RUSLE, t ha-1 yr-1.

    ``potential = R·K·LS``; ``actual = R·K·LS·C·P``; ``retained = potential − actual
    = R·K·LS·(1 − C·P)`` (computed as the difference, as InVEST's ``avoided_erosion``).

    Parameters
    ----------
    erosivity : numpy.ndarray
        Rainfall erosivity R, MJ mm ha-1 h-1 yr-1.
    erodibility : numpy.ndarray
        Soil erodibility K, t ha h ha-1 MJ-1 mm-1.
    ls : numpy.ndarray
        Slope length-steepness factor LS, dimensionless.
    cover_management : numpy.ndarray
        Cover-management factor C, 0–1.
    support_practice : numpy.ndarray
        Support-practice factor P, 0–1.
    parallel : bool
        Use all numba threads; ``False`` inside dask tasks.

    Returns
    -------
    potential, actual, retained : numpy.ndarray
        t ha-1 yr-1.

    References
    ----------
    Renard K.G. et al. (1997) Predicting soil erosion by water: a guide to conservation
    planning with the Revised Universal Soil Loss Equation (RUSLE). USDA Agric. Handb. 703.

    Examples
    --------
    R = 2000, K = 0.02, LS = 1.5, C = 0.1, P = 0.5: RKLS = 60, USLE = 60·0.05 = 3:

    >>> rusle(*(np.array([v]) for v in (2000.0, 0.02, 1.5, 0.1, 0.5)))
    (array([60.]), array([3.]), array([57.]))
    """
    arrays = (erosivity, erodibility, ls, cover_management, support_practice)
    dtype = np.result_type(*arrays, np.float32)
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    flat = [
        np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).reshape(-1) for a in arrays
    ]
    outs = tuple(np.empty(flat[0].size, dtype=dtype) for _ in range(3))
    (_rusle_parallel if parallel else _rusle_serial)(*flat, *outs)
    potential, actual, retained = (o.reshape(shape) for o in outs)
    return potential, actual, retained


def ls_factor_area(
    slope_percent: np.ndarray,
    flow_accumulation: np.ndarray,
    cell_size: float,
    *,
    max_slope_length_m: float = 305.0,
) -> np.ndarray:
    """RUSLE LS factor of Desmet & Govers (1996) with the upslope **area**, slope length capped.

    The accounting soil retention uses the paper's form, in which the contributing area at the
    pixel's inlet is an area (m²), so that the factor does not change with the pixel size::

        A_in = min((FA − 1)·D², λ_max·D)                  # m², λ_max the longest slope length
        x = |sin θ| + |cos θ|;   θ = arctan(s/100)
        m = 0.2 (s ≤ 1), 0.3 (≤ 3.5), 0.4 (≤ 5), 0.5 (≤ 9), else β/(1+β),
            β = (sin θ / 0.0896) / (3·sin θ^0.8 + 0.56)   (McCool et al. 1989)
        L = ((A_in + D²)^(m+1) − A_in^(m+1)) / (D^(m+2)·x^m·22.13^m)
        S = 10.8·sin θ + 0.03 (s < 9) else 16.8·sin θ − 0.5   (McCool et al. 1987)

    For ``A_in ≫ D²`` the length term tends to ``(m+1)·(A_in/D/22.13)^m``, a function of the
    specific contributing area ``A_in/D`` only. Capping ``A_in/D`` at λ_max keeps channel pixels
    (no stream mask here) at the longest slope RUSLE is meant for instead of letting L grow with
    the catchment: RUSLE is not recommended beyond slope lengths of about 1,000 ft ≈ 305 m
    (Renard et al. 1997, USDA Agric. Handb. 703, ch. 4). InVEST ≥ 3.14 adds √((FA − 1)·D²), a
    length, to the area D² (:func:`gep.kernels.terrain.ls_factor`), which makes L depend on the
    resolution; that form is kept for the SDR parity outputs.

    Parameters
    ----------
    slope_percent : numpy.ndarray
        Slope (%) from the pit-filled DEM; NaN is nodata.
    flow_accumulation : numpy.ndarray
        Flow accumulation in pixels (≥ 1); NaN is nodata.
    cell_size : float
        Pixel edge D, m.
    max_slope_length_m : float
        λ_max, m.

    Returns
    -------
    numpy.ndarray of float64
        LS (1); NaN where an input is NaN.

    References
    ----------
    Desmet P.J.J., Govers G. (1996) J. Soil Water Conserv. 51(5):427–433. McCool D.K. et al.
    (1987) Trans. ASAE 30(5):1387–1396; (1989) Trans. ASAE 32(5):1571–1576. Renard K.G. et al.
    (1997) USDA Agric. Handb. 703.

    Examples
    --------
    A 10 % slope (θ = 5.711°, sin θ = 0.099504, x = 1.094541, β = 1.074453, m = 0.517945),
    D = 30 m, nothing upslope: L = 30^(m+1)/(30^(m+2)·x^m·22.13^m) = (30/22.13/x)^m = 1.117175,
    S = 16.8·sin θ − 0.5 = 1.171662, LS = 1.308952 (as InVEST's form, which agrees when FA = 1):

    >>> round(float(ls_factor_area(np.array([10.0]), np.array([1.0]), 30.0)[0]), 4)
    1.309
    """
    if cell_size <= 0 or max_slope_length_m <= 0:
        raise ValueError("ls_factor_area: cell_size and max_slope_length_m must be > 0")
    s = np.asarray(slope_percent, dtype=np.float64).ravel()
    fa = np.asarray(flow_accumulation, dtype=np.float64).ravel()
    if s.shape != fa.shape:
        raise ValueError("ls_factor_area: slope_percent and flow_accumulation differ in shape")
    out = np.empty(s.size)
    _ls_area_pixels(s, fa, float(cell_size), float(max_slope_length_m), out)
    return out.reshape(np.shape(slope_percent))


@numba.njit(nogil=True, cache=True)
def _ls_area_pixels(
    s: np.ndarray, fa: np.ndarray, d: float, lam: float, out: np.ndarray
) -> None:  # pragma: no cover - numba
    """:func:`ls_factor_area`'s formula pixel by pixel (one pass, no temporaries).

    With t = s/100: sin θ = t/√(1+t²), cos θ = 1/√(1+t²) (θ = arctan t), and the denominator
    D^(m+2)·x^m·22.13^m = D²·(22.13·x·D)^m: three powers a pixel instead of five, and no
    trigonometric function.
    """
    d2 = d * d
    for i in range(s.size):
        slope, accumulated = s[i], fa[i]
        if math.isnan(slope) or math.isnan(accumulated):
            out[i] = math.nan
            continue
        t = slope / 100.0
        cos = 1.0 / math.sqrt(1.0 + t * t)
        sin = t * cos
        if slope <= 1.0:
            m = 0.2
        elif slope <= 3.5:
            m = 0.3
        elif slope <= 5.0:
            m = 0.4
        elif slope <= 9.0:
            m = 0.5
        else:
            beta = (sin / 0.0896) / (3.0 * sin**0.8 + 0.56)
            m = beta / (1.0 + beta)
        x = abs(sin) + abs(cos)
        area = min(max(accumulated - 1.0, 0.0) * d2, lam * d)
        length = ((area + d2) ** (m + 1.0) - area ** (m + 1.0)) / (d2 * (22.13 * x * d) ** m)
        steep = 10.8 * sin + 0.03 if slope < 9.0 else 16.8 * sin - 0.5
        out[i] = length * steep


#: C–NDVI relations :func:`cover_from_ndvi` knows (``none``: the class C everywhere)
COVER_FROM_NDVI_FORMS = ("none", "van_der_knijff", "cai")


def cover_from_ndvi(
    ndvi: np.ndarray,
    class_c: np.ndarray,
    applies: np.ndarray,
    *,
    form: str,
    alpha: float = 2.0,
    beta: float = 1.0,
    ndvi_soil: float = 0.05,
    ndvi_veg: float = 0.85,
) -> np.ndarray:
    """Cover-management factor C per pixel: from NDVI where it is known, else the class C.

    ``C = f(NDVI)`` (:func:`c_factor_van_der_knijff` with α, β or :func:`c_factor_cai` with
    NDVI_soil, NDVI_veg) on pixels with a finite NDVI whose class is under the RUSLE method
    (``applies`` true: vegetation, cropland, bare land); built-up land and water keep their
    class C (NDVI says nothing about their cover), as do pixels without NDVI.

    Parameters
    ----------
    ndvi : numpy.ndarray
        NDVI (−1 to 1), NaN where unknown.
    class_c : numpy.ndarray
        C of each pixel's land-cover class (NaN for nodata).
    applies : numpy.ndarray of bool
        The class is under the RUSLE method (``rusle_applies = 1``).
    form : {"none", "van_der_knijff", "cai"}
        The relation; ``none`` returns ``class_c``.
    alpha, beta, ndvi_soil, ndvi_veg : float
        Parameters of the relation (fitted by ``gep calibrate``, target ``c_factor_ndvi``).

    Returns
    -------
    numpy.ndarray
        C (float64, 0–1).

    Examples
    --------
    >>> cover_from_ndvi(np.array([0.5, np.nan, 0.5]), np.array([0.2, 0.2, 0.0]),
    ...                 np.array([True, True, False]), form="van_der_knijff").round(6)
    array([0.135335, 0.2     , 0.      ])
    """
    if form == "none":
        return np.asarray(class_c, dtype=np.float64)
    if form == "van_der_knijff":
        c = c_factor_van_der_knijff(ndvi, alpha, beta)
    elif form == "cai":
        if not ndvi_veg > ndvi_soil:
            raise ValueError(f"cai: ndvi_veg ({ndvi_veg}) must exceed ndvi_soil ({ndvi_soil})")
        c = c_factor_cai(ndvi, ndvi_soil, ndvi_veg)
    else:
        raise ValueError(f"unknown C–NDVI form {form!r}; choose one of {COVER_FROM_NDVI_FORMS}")
    use = np.asarray(applies, dtype=bool) & np.isfinite(ndvi)
    return np.where(use, c, np.asarray(class_c, dtype=np.float64))


def c_factor_van_der_knijff(ndvi: Any, alpha: float = 2.0, beta: float = 1.0) -> np.ndarray:
    """Cover-management factor from NDVI, ``C = exp(−α·NDVI/(β − NDVI))``, clipped to [0, 1].

    Parameters
    ----------
    ndvi : array_like
        NDVI (−1 to 1).
    alpha, beta : float
        Shape parameters (2 and 1 in the source); C = 0 where NDVI ≥ β.

    Returns
    -------
    ndarray
        C factor (1).

    References
    ----------
    Van der Knijff J.M., Jones R.J.A., Montanarella L. (1999) Soil erosion risk assessment in
    Italy. European Soil Bureau, EUR 19044 EN; (2000) Soil erosion risk assessment in Europe,
    EUR 19044 EN, p. 12.

    Examples
    --------
    NDVI 0.5 with α = 2, β = 1: exp(−2·0.5/0.5) = exp(−2):

    >>> round(float(c_factor_van_der_knijff(0.5)), 6)
    0.135335
    """
    v = np.asarray(ndvi, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = np.exp(-alpha * v / (beta - v))
    return np.where(v >= beta, 0.0, np.clip(c, 0.0, 1.0))


def c_factor_cai(ndvi: Any, ndvi_soil: float = 0.05, ndvi_veg: float = 0.85) -> np.ndarray:
    """C factor from vegetation cover (Cai et al. 2000), cover from NDVI (dimidiate pixel).

    ``fc = clip((NDVI − NDVI_soil)/(NDVI_veg − NDVI_soil), 0, 1)``, f = 100·fc (%);
    ``C = 1`` for f ≤ 0.1 %, ``C = 0.6508 − 0.3436·lg f`` for 0.1 % < f < 78.3 %, ``C = 0``
    for f ≥ 78.3 %.

    Parameters
    ----------
    ndvi : array_like
        NDVI.
    ndvi_soil, ndvi_veg : float
        NDVI of bare soil and of full vegetation cover (the fitted parameters).

    Returns
    -------
    ndarray
        C factor (1).

    References
    ----------
    Cai C.F., Ding S.W., Shi Z.H., Huang L., Zhang G.Y. (2000) 应用EUPS模型评估... 水土保持学报
    14(2), 19–24. Gutman G., Ignatov A. (1998) Int. J. Remote Sens. 19(8), 1533–1543 (fc).

    Examples
    --------
    NDVI 0.45 with soil 0.05 and vegetation 0.85: fc = 0.5, f = 50 %,
    C = 0.6508 − 0.3436·lg 50 = 0.6508 − 0.583766 = 0.067034:

    >>> round(float(c_factor_cai(0.45)), 6)
    0.067034
    """
    v = np.asarray(ndvi, dtype=np.float64)
    fc = np.clip((v - ndvi_soil) / (ndvi_veg - ndvi_soil), 0.0, 1.0)
    f = 100.0 * fc
    with np.errstate(divide="ignore"):
        middle = 0.6508 - 0.3436 * np.log10(np.where(f > 0, f, 1.0))
    return np.where(f <= 0.1, 1.0, np.where(f >= 78.3, 0.0, middle))
