"""Water kernels: the water-balance method and the Budyko (Fu–Zhang) annual water yield.

All depths are in mm (per year where the inputs are annual). NaN in any input gives NaN out.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

#: Precipitation closer to 0 than this is treated as nodata, as InVEST does
#: (``numpy.isclose(P, 0)`` with atol 1e-8 in ``fractp_op``): φ = PET/P is undefined there.
ZERO_PRECIPITATION_MM = 1e-8


def _water_balance_impl(
    precipitation, evapotranspiration, runoff_coefficient, out
):  # pragma: no cover
    for i in numba.prange(precipitation.size):
        p = precipitation[i]
        out[i] = p - runoff_coefficient[i] * p - evapotranspiration[i]


_water_balance_serial = numba.njit(nogil=True, cache=True)(_water_balance_impl)
_water_balance_parallel = numba.njit(nogil=True, cache=True, parallel=True)(_water_balance_impl)


def water_balance(
    precipitation: np.ndarray,
    evapotranspiration: np.ndarray,
    runoff_coefficient: np.ndarray,
    *,
    parallel: bool = True,
) -> np.ndarray:
    """Water retained per pixel by the water-balance method, signed, in mm.

    ``Q = P − R − ET`` with surface runoff ``R = α·P`` (MEE 2020 GEP guide; NDRC/NBS 2022
    《生态产品总值核算规范》; DB11/T 2059—2022). Negative values (ET > P − R) are a real signal
    and are returned as they are; clip them where an accounting rule asks for it.

    Parameters
    ----------
    precipitation : numpy.ndarray
        Annual precipitation P, mm yr-1.
    evapotranspiration : numpy.ndarray
        Annual actual evapotranspiration ET, mm yr-1.
    runoff_coefficient : numpy.ndarray
        Surface-runoff coefficient α of the ecosystem type, dimensionless (0–1).
    parallel : bool
        Use all numba threads; ``False`` inside dask tasks.

    Returns
    -------
    numpy.ndarray
        Q in mm yr-1, same shape; dtype is the common float type of the inputs.

    References
    ----------
    Ministry of Ecology and Environment (2020) 陆地生态系统生产总值（GEP）核算技术指南, water
    conservation, water-balance method.

    Examples
    --------
    >>> water_balance(np.array([600.0]), np.array([400.0]), np.array([0.05]))
    array([170.])
    """
    dtype = np.result_type(precipitation, evapotranspiration, runoff_coefficient, np.float32)
    shape = np.broadcast_shapes(
        np.shape(precipitation), np.shape(evapotranspiration), np.shape(runoff_coefficient)
    )
    p, et, a = (
        np.ascontiguousarray(np.broadcast_to(x, shape), dtype=dtype).reshape(-1)
        for x in (precipitation, evapotranspiration, runoff_coefficient)
    )
    out = np.empty(p.size, dtype=dtype)
    (_water_balance_parallel if parallel else _water_balance_serial)(p, et, a, out)
    return out.reshape(shape)


@numba.njit(nogil=True, cache=True, inline="always")
def _awy_pixel(kc, eto, precip, root, soil, pawc, flag, z):  # pragma: no cover - numba
    """AET/P of one pixel (see :func:`annual_water_yield`)."""
    # Literals are float32 (exact for 1, 1.25 and 5) so that float32 inputs stay float32, the
    # precision InVEST computes in, while float64 inputs stay float64.
    one = numba.float32(1.0)
    nan = numba.float32(np.nan)
    pet = kc * eto  # PET = Kc·ET0 (mm)
    phi = pet / precip  # dryness index φ = PET/P
    depth = root if root < soil else soil  # min(root, soil) as InVEST writes it
    awc = depth * pawc  # plant-available water (mm)
    if flag == 1.0:  # the two powers only where the Budyko curve applies
        w = awc / precip * z + numba.float32(1.25)  # ω = Z·AWC/P + 1.25 ...
        if w > 5.0:
            w = numba.float32(5.0)  # ... capped at 5
        fu_zhang = (one + phi) - (one + phi**w) ** (one / w)
        f = phi if phi < fu_zhang else fu_zhang
        if root != root:
            f = nan
    else:
        f = (pet if pet < precip else precip) / precip
    # InVEST treats nodata in any input (and P == 0) as nodata on every branch
    if not (flag == flag and precip == precip and soil == soil and pawc == pawc):
        f = nan
    if abs(precip) <= ZERO_PRECIPITATION_MM:
        f = nan
    return f


def _awy_impl(kc, eto, p, root, soil, pawc, veg, z, fraction, aet, wyield):  # pragma: no cover
    one = numba.float32(1.0)
    for i in numba.prange(p.size):
        precip = p[i]
        f = _awy_pixel(kc[i], eto[i], precip, root[i], soil[i], pawc[i], veg[i], z)
        fraction[i] = f
        aet[i] = f * precip
        wyield[i] = (one - f) * precip


@numba.njit(nogil=True, cache=True, parallel=True)
def _awy_classes(classes, offset, nodata, has_nodata, table, eto, p, soil, pawc, z, out):
    # pragma: no cover - numba; table rows: kc, root depth, vegetated flag per class code
    one = numba.float32(1.0)
    n_codes = table.shape[1]
    for i in numba.prange(p.size):
        code = classes[i]
        idx = np.int64(code) - offset
        if (has_nodata and code == nodata) or idx < 0 or idx >= n_codes:
            kc = table.dtype.type(np.nan)
            root = kc
            flag = kc
        else:
            kc = table[0, idx]
            root = table[1, idx]
            flag = table[2, idx]
        precip = p[i]
        f = _awy_pixel(kc, eto[i], precip, root, soil[i], pawc[i], flag, z)
        out[0, i] = f
        out[1, i] = f * precip
        out[2, i] = (one - f) * precip


def annual_water_yield_by_class(
    classes: np.ndarray,
    table: np.ndarray,
    offset: int,
    nodata: int | None,
    eto: np.ndarray,
    precipitation: np.ndarray,
    soil_depth: np.ndarray,
    pawc: np.ndarray,
    seasonality: float,
    *,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`annual_water_yield` with Kc, root depth and the vegetated flag looked up per class.

    The same per-pixel arithmetic, fused with the class lookup: no per-pixel Kc, root depth
    and flag rasters are built (three arrays less in memory and one pass instead of four).

    Parameters
    ----------
    classes : numpy.ndarray of int
        Land-cover codes.
    table : numpy.ndarray, shape (3, n)
        Rows Kc, root depth (mm) and vegetated flag (1/0) of codes ``offset .. offset + n − 1``
        (NaN for absent codes), in the precision of the climate rasters.
    offset : int
        Code of the table's first column.
    nodata : int or None
        Land-cover nodata code (NaN results).
    eto, precipitation, soil_depth, pawc : numpy.ndarray
        As in :func:`annual_water_yield`, same shape as ``classes``.
    seasonality : float
        Z.
    out : numpy.ndarray, optional
        C-contiguous buffer of the result's float type and at least ``3 × classes.size``
        values, reused block after block; the results are views of it.

    Returns
    -------
    fraction, aet, water_yield : numpy.ndarray
        As :func:`annual_water_yield`.

    Examples
    --------
    The worked example of :func:`annual_water_yield` for class 7:

    >>> one = np.array([1.0])
    >>> table = np.array([[1.0], [1000.0], [1.0]])
    >>> f, aet, wy = annual_water_yield_by_class(np.array([7]), table, 7, None, 500 * one,
    ...                                          1000 * one, 1000 * one, 0.1 * one, 5.0)
    >>> round(float(f[0]), 6), round(float(wy[0]), 3)
    (0.339634, 660.366)
    """
    dtype = np.result_type(eto, precipitation, soil_depth, pawc, table, np.float32)
    shape = np.shape(precipitation)
    flat = [
        np.ascontiguousarray(a, dtype=dtype).reshape(-1)
        for a in (eto, precipitation, soil_depth, pawc)
    ]
    n = flat[0].size
    if out is None:
        out = np.empty((3, n), dtype=dtype)
    elif out.dtype != dtype or not out.flags.c_contiguous or out.size < 3 * n:
        raise ValueError(f"out must be a C-contiguous {dtype} buffer of ≥ {3 * n} values")
    else:
        out = out.reshape(-1)[: 3 * n].reshape(3, n)
    kernel: Any = _awy_classes
    kernel(
        np.ascontiguousarray(classes).reshape(-1),
        np.int64(offset),
        np.int64(nodata if nodata is not None else 0),
        nodata is not None,
        np.ascontiguousarray(table, dtype=dtype),
        *flat,
        dtype.type(seasonality),
        out,
    )
    return out[0].reshape(shape), out[1].reshape(shape), out[2].reshape(shape)


_awy_serial = numba.njit(nogil=True, cache=True)(_awy_impl)
_awy_parallel = numba.njit(nogil=True, cache=True, parallel=True)(_awy_impl)


def _awy_map_impl(
    kc, eto, p, root, soil, pawc, veg, z_map, z_default, fraction, aet, wyield
):  # pragma: no cover - numba
    one = numba.float32(1.0)
    for i in numba.prange(p.size):
        precip = p[i]
        z = z_map[i]
        if z != z:  # no fitted Z on this pixel: the region's constant
            z = z_default
        f = _awy_pixel(kc[i], eto[i], precip, root[i], soil[i], pawc[i], veg[i], z)
        fraction[i] = f
        aet[i] = f * precip
        wyield[i] = (one - f) * precip


_awy_map_serial = numba.njit(nogil=True, cache=True)(_awy_map_impl)
_awy_map_parallel = numba.njit(nogil=True, cache=True, parallel=True)(_awy_map_impl)


def annual_water_yield_zmap(
    kc: np.ndarray,
    eto: np.ndarray,
    precipitation: np.ndarray,
    root_depth: np.ndarray,
    soil_depth: np.ndarray,
    pawc: np.ndarray,
    vegetated: np.ndarray,
    seasonality_map: np.ndarray,
    *,
    seasonality: float,
    parallel: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`annual_water_yield` with the seasonality constant Z given per pixel.

    ``seasonality_map`` holds Z where it was fitted (e.g. per gauged basin by ``gep
    calibrate``) and NaN elsewhere, where ``seasonality`` applies. The per-pixel arithmetic is
    :func:`annual_water_yield`'s; a map that is NaN everywhere gives its results bit for bit.

    Parameters
    ----------
    kc, eto, precipitation, root_depth, soil_depth, pawc, vegetated : numpy.ndarray
        As :func:`annual_water_yield`.
    seasonality_map : numpy.ndarray
        Z per pixel (dimensionless, > 0), NaN where the constant applies.
    seasonality : float
        Z of the pixels without a value in ``seasonality_map``.
    parallel : bool
        Use all numba threads; ``False`` inside dask tasks.

    Returns
    -------
    fraction, aet, water_yield : numpy.ndarray
        As :func:`annual_water_yield`.

    Examples
    --------
    Two pixels of the worked example of :func:`annual_water_yield`; the first has Z = 5 from
    the map, the second none (the constant Z = 1 applies: ω = 1.35, AET/P = 0.222188):

    >>> one = np.ones(2)
    >>> f, aet, wy = annual_water_yield_zmap(one, 500 * one, 1000 * one, 1000 * one,
    ...                                      1000 * one, 0.1 * one, one,
    ...                                      np.array([5.0, np.nan]), seasonality=1.0)
    >>> np.round(wy, 3)
    array([660.366, 777.812])
    """
    arrays = (kc, eto, precipitation, root_depth, soil_depth, pawc, vegetated)
    dtype = np.result_type(*arrays, np.float32)
    shape = np.broadcast_shapes(*(np.shape(a) for a in (*arrays, seasonality_map)))
    flat = [
        np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).reshape(-1)
        for a in (*arrays, seasonality_map)
    ]
    out = (np.empty(shape, dtype), np.empty(shape, dtype), np.empty(shape, dtype))
    kernel: Any = _awy_map_parallel if parallel else _awy_map_serial
    kernel(*flat, dtype.type(seasonality), *(o.reshape(-1) for o in out))
    fraction, aet, water_yield = out
    return fraction, aet, water_yield


def annual_water_yield(
    kc: np.ndarray,
    eto: np.ndarray,
    precipitation: np.ndarray,
    root_depth: np.ndarray,
    soil_depth: np.ndarray,
    pawc: np.ndarray,
    vegetated: np.ndarray,
    seasonality: float,
    *,
    parallel: bool = True,
    out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Annual water yield per pixel (Budyko curve, Fu–Zhang form), exactly as InVEST 3.20.

    ``PET = Kc·ET0``; ``φ = PET/P``; ``AWC = min(root_depth, soil_depth)·PAWC``;
    ``ω = min(Z·AWC/P + 1.25, 5)``. Vegetated pixels (flag 1):
    ``AET/P = min(φ, 1 + φ − (1 + φ^ω)^(1/ω))``; other pixels: ``AET/P = min(Kc·ET0, P)/P``.
    Then ``AET = (AET/P)·P`` and ``yield = (1 − AET/P)·P``. Pixels with ``P == 0`` are NaN
    (φ undefined), as in InVEST; NaN in any input used by the pixel's branch gives NaN.

    One fused numba kernel per call (GIL released). Arithmetic is done in the inputs' common
    float type: float32 inputs reproduce InVEST's float32 ``fractp_op``, ``aet_op`` and
    ``wyield_op`` operation by operation: bit-identical to numpy float32 on the same numpy build
    and CPU features (numpy picks SIMD code for float32 ``power`` at run time); on any CPU within
    16 units of float32 roundoff times the Budyko curve's condition of the float64 value
    (``tests/services/test_kernels.py``).

    Parameters
    ----------
    kc : numpy.ndarray
        Crop (vegetation) evapotranspiration coefficient Kc, dimensionless.
    eto : numpy.ndarray
        Reference evapotranspiration ET0, mm yr-1.
    precipitation : numpy.ndarray
        Precipitation P, mm yr-1.
    root_depth : numpy.ndarray
        Root depth of the land-cover class, mm (unused where ``vegetated`` is 0).
    soil_depth : numpy.ndarray
        Depth to the root-restricting layer, mm.
    pawc : numpy.ndarray
        Plant-available water content, fraction 0–1.
    vegetated : numpy.ndarray
        1 where the Budyko curve applies (``lulc_veg``), 0 elsewhere.
    seasonality : float
        Seasonality constant Z (> 0), dimensionless.
    parallel : bool
        Use all numba threads; ``False`` inside dask tasks.
    out : tuple of three numpy.ndarray, optional
        C-contiguous arrays of the result's shape and float type to write fraction, AET and
        yield into (buffers reused across chunks).

    Returns
    -------
    fraction : numpy.ndarray
        AET/P, dimensionless.
    aet : numpy.ndarray
        Actual evapotranspiration, mm yr-1.
    water_yield : numpy.ndarray
        Water yield, mm yr-1.

    References
    ----------
    Fu B.P. (1981) On the calculation of the evaporation from land surface. *Sci. Atmos. Sin.*
    5:23–31. Zhang L. et al. (2004) A rational function approach for estimating mean annual
    evapotranspiration. *Water Resour. Res.* 40:W02502. Sharp R. et al., InVEST User's Guide,
    Annual Water Yield; natcap.invest 3.20 ``annual_water_yield.fractp_op``.

    Examples
    --------
    φ = 500/1000 = 0.5, AWC = 1000·0.1 = 100 mm, ω = 5·100/1000 + 1.25 = 1.75,
    AET/P = 1.5 − (1 + 0.5^1.75)^(1/1.75) = 1.5 − 1.160366 = 0.339634:

    >>> one = np.array([1.0])
    >>> f, aet, wy = annual_water_yield(one, 500 * one, 1000 * one, 1000 * one, 1000 * one,
    ...                                 0.1 * one, one, 5.0)
    >>> round(float(f[0]), 6), round(float(aet[0]), 3), round(float(wy[0]), 3)
    (0.339634, 339.634, 660.366)
    """
    arrays = (kc, eto, precipitation, root_depth, soil_depth, pawc, vegetated)
    dtype = np.result_type(*arrays, np.float32)
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    flat = [
        np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).reshape(-1) for a in arrays
    ]
    if out is None:
        out = (np.empty(shape, dtype), np.empty(shape, dtype), np.empty(shape, dtype))
    for o in out:
        if o.shape != shape or o.dtype != dtype or not o.flags.c_contiguous:
            raise ValueError(
                f"out arrays must be C-contiguous {dtype} of shape {shape}, got {o.dtype} {o.shape}"
            )
    kernel: Any = _awy_parallel if parallel else _awy_serial
    kernel(*flat, dtype.type(seasonality), *(o.reshape(-1) for o in out))
    fraction, aet, water_yield = out
    return fraction, aet, water_yield


def watershed_sums(
    water_yield: np.ndarray,
    aet: np.ndarray,
    precipitation: np.ndarray,
    demand: np.ndarray | None,
    mask: np.ndarray,
    cell_area_m2: np.ndarray,
) -> dict[str, float]:
    """Sums and valid-pixel counts of the water-yield rasters over one watershed, in one pass.

    The statistics of InVEST's ``watershed_results_wyield`` (means of yield, AET and
    precipitation over the valid pixels of the polygon, total demand) and the accounting
    volume ``Σ yield·A·0.001`` (m³ yr-1, mm × m² × 0.001 m mm-1), each skipping NaN.

    Parameters
    ----------
    water_yield, aet, precipitation : numpy.ndarray
        Windows (views) of the rasters around the watershed, mm yr-1.
    demand : numpy.ndarray or None
        Window of the consumptive demand raster (m³ yr-1 per pixel), if any.
    mask : numpy.ndarray of bool
        Pixels of the watershed in the window.
    cell_area_m2 : numpy.ndarray, shape (rows, 1) or (rows,)
        Cell area of each row of the window, m².

    Returns
    -------
    dict
        ``wyield_sum``, ``wyield_n``, ``wyield_m3``, ``aet_sum``, ``aet_n``, ``precip_sum``,
        ``precip_n``, ``demand_sum``, ``demand_n`` (float64 sums; a few masked numpy
        reductions: a compiled parallel kernel stalled on a busy 2-core machine and cost more
        to load than these passes take).

    References
    ----------
    Sharp R. et al., InVEST User's Guide, Annual Water Yield: watershed outputs.

    Examples
    --------
    Two valid pixels of 10 000 m² in the watershed, yields 300 and 500 mm:
    volume = (300 + 500) · 10 000 · 0.001 = 8 000 m³.

    >>> wy = np.array([[300.0, 500.0], [np.nan, 9.0]])
    >>> m = np.array([[True, True], [True, False]])
    >>> s = watershed_sums(wy, wy, wy, None, m, np.full((2, 1), 1e4))
    >>> s["wyield_sum"], s["wyield_n"], s["wyield_m3"]
    (800.0, 2, 8000.0)
    """
    res: dict[str, float] = {}
    row_m3 = np.reshape(cell_area_m2, (-1, 1)) * 1e-3  # m² × 0.001 m mm-1, per row
    named = {"wyield": water_yield, "aet": aet, "precip": precipitation, "demand": demand}
    for name, values in named.items():
        if values is None:
            res[f"{name}_sum"], res[f"{name}_n"] = 0.0, 0
            continue
        valid = mask & ~np.isnan(values)
        res[f"{name}_sum"] = float(np.sum(values, where=valid, dtype=np.float64))
        res[f"{name}_n"] = int(np.count_nonzero(valid))
        if name == "wyield":
            by_row = np.sum(values, axis=1, where=valid, dtype=np.float64, keepdims=True)
            res["wyield_m3"] = float(np.sum(by_row * np.broadcast_to(row_m3, by_row.shape)))
    return res
