"""Terrain factors: Horn percent slope and the RUSLE LS factor as InVEST ≥ 3.14 codes it."""

from __future__ import annotations

import math

import numba
import numpy as np

_ROOT2 = 2**0.5


@numba.njit(cache=True)
def _pair(z, ok, lo, mid, hi, e):  # pragma: no cover - numba
    """Difference across an outer row/column of the 3×3 window with nodata fall-backs.

    ``lo``/``mid``/``hi`` index the three cells of the row, ``e`` the centre value. Returns
    (difference, weight) exactly as pygeoprocessing's ``calculate_slope``.
    """
    a, b, c = z[lo], z[mid], z[hi]
    a_ok, b_ok, c_ok = ok[lo], ok[mid], ok[hi]
    if a_ok and c_ok:
        return a - c, 2
    if a_ok and b_ok:
        return a - b, 1
    if b_ok and c_ok:
        return b - c, 1
    if a_ok:
        return (a - e) * _ROOT2, 1
    if c_ok:
        return (e - c) * _ROOT2, 1
    return 0.0, 0


@numba.njit(cache=True)
def _middle(z, ok, lo, hi, e):  # pragma: no cover - numba
    """Doubled difference across the centre row/column with nodata fall-backs."""
    if ok[lo] and ok[hi]:
        return 2 * (z[lo] - z[hi]), 4
    if ok[lo]:
        return 2 * (z[lo] - e), 2
    if ok[hi]:
        return 2 * (e - z[hi]), 2
    return 0.0, 0


@numba.njit(cache=True)
def _window(dem, valid, r, c, z, ok):  # pragma: no cover - numba
    """Fill the 3×3 window (a b c / d e f / g h i) around (r, c); off-raster is nodata."""
    n_rows, n_cols = dem.shape
    k = 0
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            rn = r + dr
            cn = c + dc
            inside = 0 <= rn < n_rows and 0 <= cn < n_cols
            ok[k] = inside and valid[rn, cn]
            z[k] = dem[rn, cn] if ok[k] else 0.0
            k += 1


@numba.njit(cache=True)
def _slope(dem, valid, dx, dy):  # pragma: no cover - numba
    n_rows, n_cols = dem.shape
    out = np.full((n_rows, n_cols), np.nan)
    z = np.zeros(9)
    ok = np.zeros(9, dtype=np.bool_)
    for r in range(n_rows):
        for c in range(n_cols):
            if not valid[r, c]:
                continue
            _window(dem, valid, r, c, z, ok)
            e = z[4]
            # window indices: a0 b1 c2 / d3 e4 f5 / g6 h7 i8
            x1, wx1 = _pair(z, ok, 0, 1, 2, e)
            x2, wx2 = _middle(z, ok, 3, 5, e)
            x3, wx3 = _pair(z, ok, 6, 7, 8, e)
            y1, wy1 = _pair(z, ok, 0, 3, 6, e)
            y2, wy2 = _middle(z, ok, 1, 7, e)
            y3, wy3 = _pair(z, ok, 2, 5, 8, e)
            x_den = wx1 + wx2 + wx3
            y_den = wy1 + wy2 + wy3
            dzdx = (x1 + x2 + x3) / (x_den * dx) if x_den != 0 else 0.0
            dzdy = (y1 + y2 + y3) / (y_den * dy) if y_den != 0 else 0.0
            out[r, c] = 100 * math.sqrt(dzdx**2 + dzdy**2)
    return out


def slope_percent(
    dem: np.ndarray,
    cell_size: float,
    valid: np.ndarray | None = None,
    *,
    cell_size_y: float | None = None,
) -> np.ndarray:
    """Percent slope by Horn's 3×3 finite differences, as ``pygeoprocessing.calculate_slope``.

    With the window ``a b c / d e f / g h i``::

        dz/dx = ((a + 2d + g) − (c + 2f + i)) / (8·Δx)
        dz/dy = ((a + 2b + c) − (g + 2h + i)) / (8·Δy)
        slope = 100·√(dz/dx² + dz/dy²)

    Where window cells are nodata or off the raster, each of the three differences falls
    back as pygeoprocessing does: an outer pair (e.g. a−c) uses the middle cell of its row
    (a−b or b−c, weight 1), else the centre scaled by √2 ((a−e)·√2, weight 1); the middle
    pair (d−f) uses the centre (2(d−e), weight 2); the denominator is the sum of the weights
    used (8 when all cells are valid).

    Parameters
    ----------
    dem : numpy.ndarray
        Elevation, m (usually pit-filled). NaN is nodata.
    cell_size : float
        Pixel width Δx, m.
    valid : numpy.ndarray of bool, optional
        Valid pixels; default: finite ``dem``.
    cell_size_y : float, optional
        Pixel height Δy, m; default ``cell_size``.

    Returns
    -------
    numpy.ndarray of float64
        Slope, percent (100 × rise/run); NaN where invalid.

    References
    ----------
    Horn B.K.P. (1981) Hill shading and the reflectance map. Proceedings of the IEEE 69(1),
    14–47. pygeoprocessing 2.4.11, ``geoprocessing_core.calculate_slope``.

    Examples
    --------
    A plane rising 1 m per 10 m pixel eastwards has a 10 % slope everywhere:

    >>> import numpy as np
    >>> dem = np.tile(np.arange(3.0), (3, 1))
    >>> float(slope_percent(dem, 10.0)[1, 1])
    10.0
    """
    z = np.asarray(dem, dtype=np.float64)
    ok = np.isfinite(z)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    dy = float(cell_size if cell_size_y is None else cell_size_y)
    return _slope(np.ascontiguousarray(z), np.ascontiguousarray(ok), float(cell_size), dy)


_M_SLOPES = np.array([1.0, 3.5, 5.0, 9.0])
_M_VALUES = np.array([0.2, 0.3, 0.4, 0.5])
_BLOCK = 1 << 16  # pixels per block: temporaries stay in cache (PERFORMANCE.md)


def _ls_block(slope: np.ndarray, fa: np.ndarray, cell_size: float, l_max: float) -> np.ndarray:
    """LS on valid 1-D pixels, float32 where InVEST's numpy code is float32 (bit-identical on the same numpy build and CPU features)."""
    cell_area = cell_size**2
    contributing = np.sqrt((fa - 1) * cell_area)
    theta = np.arctan(slope / 100)  # float32, as InVEST's float32 slope raster
    sin_t = np.sin(theta)
    x = np.fabs(sin_t) + np.fabs(np.cos(theta))
    steepness = np.where(slope < 9, 10.8 * sin_t + 0.03, 16.8 * sin_t - 0.5)
    beta = (sin_t / 0.0896) / (3 * sin_t**0.8 + 0.56)
    steep = slope > _M_SLOPES[-1]
    m = np.empty(slope.shape, dtype=np.float32)
    m[steep] = beta[steep] / (1 + beta[steep])
    m[~steep] = _M_VALUES[np.digitize(slope[~steep], _M_SLOPES, right=True)]
    length = ((contributing + cell_area) ** (m + 1) - contributing ** (m + 1)) / (
        (cell_size ** (m + 2)) * (x**m) * (22.13**m)
    )
    length[length > l_max] = l_max
    return length * steepness


def ls_factor(
    slope_percent: np.ndarray,
    flow_accumulation: np.ndarray,
    cell_size: float,
    *,
    l_max: float = 122.0,
) -> np.ndarray:
    """RUSLE LS factor (Desmet & Govers 1996) exactly as coded in InVEST SDR ≥ 3.14.

    With θ = arctan(s/100), D the cell size (m) and FA the flow accumulation (pixels)::

        A = √((FA − 1)·D²)                        # √ of the strictly upslope area, m
        x = |sin θ| + |cos θ|
        m = 0.2 (s ≤ 1), 0.3 (≤ 3.5), 0.4 (≤ 5), 0.5 (≤ 9), else β/(1+β),
            β = (sin θ / 0.0896) / (3·sin θ^0.8 + 0.56)
        L = ((A + D²)^(m+1) − A^(m+1)) / (D^(m+2)·x^m·22.13^m),  L ≤ l_max
        S = 10.8·sin θ + 0.03 (s < 9) else 16.8·sin θ − 0.5
        LS = L·S

    As in InVEST, ``A`` is a length added to the area ``D²`` (ADR-0001, "square root of
    catchment area" as in SAGA), the slope is the raw (unthresholded) slope, and the
    weighted-proportional-flow term of Desmet & Govers is not used. The slope is taken as
    float32 and θ, x, S and m are evaluated in float32 exactly as InVEST's numpy code
    (``sdr._calculate_ls_factor``), so the result matches InVEST's ``ls.tif`` to the bit
    (numpy ≥ 1.26 on the same CPU); A and L are float64.

    Parameters
    ----------
    slope_percent : numpy.ndarray
        Slope, percent, from the pit-filled DEM. NaN is nodata.
    flow_accumulation : numpy.ndarray
        Flow accumulation, pixels (≥ 1, the pixel itself included). NaN is nodata.
    cell_size : float
        Pixel edge D, m.
    l_max : float
        Upper bound of the slope-length factor L (InVEST default 122).

    Returns
    -------
    numpy.ndarray of float64
        LS, dimensionless; NaN where either input is NaN. Computed in blocks of 65 536
        pixels (vectorised numpy; no per-pixel Python loop).

    References
    ----------
    Desmet P.J.J., Govers G. (1996) A GIS procedure for automatically calculating the USLE
    LS factor on topographically complex landscape units. J. Soil Water Conserv. 51(5),
    427–433. McCool D.K. et al. (1987) Revised slope steepness factor for the Universal Soil
    Loss Equation. Trans. ASAE 30(5), 1387–1396. Sharp R. et al., InVEST User's Guide, SDR
    (natcap.invest 3.20, ``sdr._calculate_ls_factor``).

    Examples
    --------
    A 10 % slope on a 30 m pixel with nothing upslope (FA = 1):

    >>> import numpy as np
    >>> round(float(ls_factor(np.array([10.0]), np.array([1.0]), 30.0)[0]), 3)
    1.309
    """
    s = np.asarray(slope_percent, dtype=np.float32).ravel()
    fa = np.asarray(flow_accumulation, dtype=np.float64).ravel()
    shape = np.shape(slope_percent)
    if np.shape(flow_accumulation) != shape:
        raise ValueError(
            f"ls_factor: slope_percent {shape} and flow_accumulation "
            f"{np.shape(flow_accumulation)} differ in shape"
        )
    out = np.full(s.size, np.nan)
    for start in range(0, s.size, _BLOCK):
        block = slice(start, start + _BLOCK)
        ok = ~np.isnan(s[block]) & ~np.isnan(fa[block])
        out[block][ok] = _ls_block(s[block][ok], fa[block][ok], float(cell_size), float(l_max))
    return out.reshape(shape)
