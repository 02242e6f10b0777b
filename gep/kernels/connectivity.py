"""Connectivity of the SDR model: the weights W and S, D_up, the index IC and the delivery ratio.

Borselli et al. (2008) index of connectivity ``IC = log10(D_up / D_dn)`` with Cavalli et al.
(2013) weights, and the sediment delivery ratio ``SDR = SDR_max / (1 + exp((IC0 − IC)/k))``,
following natcap.invest 3.20.2 (float32 where InVEST stores float32). NaN is nodata.
"""

from __future__ import annotations

import numpy as np

#: Lower bound of the C factor used as the connectivity weight W (InVEST).
W_MIN = 0.001
#: Bounds of the slope gradient (m/m) used as the connectivity weight S (Cavalli et al. 2013).
S_MIN, S_MAX = 0.005, 1.0

_F32 = np.float32


def slope_weight(slope_percent: np.ndarray) -> np.ndarray:
    """Slope factor S of the connectivity index: slope in m/m clamped to [0.005, 1].

    Parameters
    ----------
    slope_percent : numpy.ndarray
        Slope, percent.

    Returns
    -------
    numpy.ndarray of float32
        ``clip(slope/100, 0.005, 1)``; NaN stays NaN.

    References
    ----------
    Cavalli M., Trevisani S., Comiti F., Marchi L. (2013) Geomorphometric assessment of
    spatial sediment connectivity in small Alpine catchments. Geomorphology 188, 31–41.

    Examples
    --------
    >>> import numpy as np
    >>> slope_weight(np.array([0.1, 50.0, 250.0], dtype=np.float32)).tolist()
    [0.004999999888241291, 0.5, 1.0]
    """
    s = np.asarray(slope_percent, dtype=_F32) / _F32(100)
    return np.clip(s, _F32(S_MIN), _F32(S_MAX))


def cover_weight(usle_c: np.ndarray) -> np.ndarray:
    """Cover factor W of the connectivity index: the C factor, at least 0.001 (InVEST).

    Parameters
    ----------
    usle_c : numpy.ndarray
        Cover-management factor C, 0–1.

    Returns
    -------
    numpy.ndarray of float32
        ``max(C, 0.001)``; NaN stays NaN.
    """
    w = np.asarray(usle_c, dtype=_F32)
    return np.where(w < _F32(W_MIN), _F32(W_MIN), w)


def upslope_component(
    w_bar: np.ndarray, s_bar: np.ndarray, flow_accumulation: np.ndarray, cell_size: float
) -> np.ndarray:
    """Upslope component of the connectivity index, ``D_up = W̄·S̄·√(FA·D²)``.

    Parameters
    ----------
    w_bar, s_bar : numpy.ndarray
        Mean W and S over the upslope area (flow-weighted, the pixel included).
    flow_accumulation : numpy.ndarray
        Flow accumulation, pixels.
    cell_size : float
        Pixel edge D, m.

    Returns
    -------
    numpy.ndarray of float64
        D_up, m.

    References
    ----------
    Borselli L., Cassi P., Torri D. (2008) Catena 75, 268–277, eq. 2.

    Examples
    --------
    >>> import numpy as np
    >>> float(upslope_component(np.array(0.5), np.array(0.2), np.array(4.0), 30.0))
    6.0
    """
    fa = np.asarray(flow_accumulation, dtype=np.float64)
    return np.asarray(w_bar) * np.asarray(s_bar) * np.sqrt(fa * float(cell_size) ** 2)


def upslope_in_place(
    w_bar: np.ndarray, s_bar: np.ndarray, flow_accumulation: np.ndarray, cell_size: float
) -> np.ndarray:
    """:func:`upslope_component` computed into ``w_bar``'s memory (same operations, same order)."""
    root = np.multiply(flow_accumulation, float(cell_size) ** 2)
    np.sqrt(root, out=root)
    np.multiply(w_bar, s_bar, out=w_bar)
    return np.multiply(w_bar, root, out=w_bar)


def connectivity_index(d_up: np.ndarray, d_dn: np.ndarray) -> np.ndarray:
    """Index of connectivity ``IC = log10(D_up/D_dn)``; NaN where either is NaN or 0.

    Parameters
    ----------
    d_up, d_dn : numpy.ndarray
        Upslope and downslope components.

    Returns
    -------
    numpy.ndarray of float32
        IC (InVEST stores it as float32).

    References
    ----------
    Borselli L., Cassi P., Torri D. (2008) Catena 75, 268–277, eq. 1.
    """
    up = np.asarray(d_up, dtype=np.float64)
    dn = np.asarray(d_dn, dtype=np.float64)
    ok = np.isfinite(up) & np.isfinite(dn) & (up != 0) & (dn != 0)
    out = np.full(up.shape, np.nan, dtype=_F32)
    out[ok] = np.log10(up[ok] / dn[ok])
    return out


def sediment_delivery_ratio(
    ic: np.ndarray,
    stream: np.ndarray,
    *,
    k: float = 2.0,
    ic0: float = 0.5,
    sdr_max: float = 0.8,
) -> np.ndarray:
    """Sediment delivery ratio ``SDR = SDR_max / (1 + exp((IC0 − IC)/k))``; 1 on streams.

    Parameters
    ----------
    ic : numpy.ndarray
        Index of connectivity (float32 as InVEST).
    stream : numpy.ndarray of bool
        Stream pixels: SDR = 1 there (InVEST ≥ 3.14, natcap/invest#2379).
    k, ic0, sdr_max : float
        Borselli calibration parameters (InVEST defaults 2, 0.5, 0.8).

    Returns
    -------
    numpy.ndarray of float32
        SDR (1); NaN where IC is NaN off the streams.

    References
    ----------
    Vigiak O., Borselli L., Newham L.T.H., McInnes J., Roberts A.M. (2012) Comparison of
    conceptual landscape metrics to define hillslope-scale sediment delivery ratio.
    Geomorphology 138, 74–88, eq. 2.

    Examples
    --------
    >>> import numpy as np
    >>> sediment_delivery_ratio(np.array([0.5], dtype=np.float32), np.array([False])).tolist()
    [0.4000000059604645]
    """
    ic32 = np.asarray(ic, dtype=_F32)
    on_stream = np.asarray(stream, dtype=bool)
    ok = ~np.isnan(ic32) & ~on_stream
    out = np.full(ic32.shape, np.nan, dtype=_F32)
    # float32 arithmetic as InVEST (numpy keeps float32 with Python float scalars)
    out[ok] = sdr_max / (1 + np.exp((ic0 - ic32[ok]) / k))
    out[on_stream] = 1
    return out
