"""Sediment delivery ratio (SDR) model: connectivity, SDR, export and deposition.

The per-pixel steps follow natcap.invest 3.20.2 (``sdr.py``, ``sediment_deposition.h``)
numerically, including where InVEST stores an intermediate as float32 (slope, thresholded
W and S, 1/(W·S), IC, SDR, RKLS, USLE, E', deposition and flux): those are float32 here too,
so that later steps see the same numbers. Everything else is float64. NaN is nodata.

Per-pixel soil quantities are densities in t ha-1 yr-1, as InVEST 3.20's rasters (multiply
by the pixel area in ha for t yr-1 per pixel).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numba
import numpy as np

from gep.kernels import accumulation, fill, flowdir, terrain
from gep.kernels._grid import COL_OFFSETS, INFLOW, ROW_OFFSETS, mfd_weight, mfd_weight_sums

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


def _upslope_in_place(
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


@numba.njit(cache=True)
def _trap(f_in, sdr_i, sdr_dn, e_i):  # pragma: no cover - numba
    """Deposition and outgoing flux of one pixel (InVEST's ``sediment_deposition.h``)."""
    sdr_dn = max(sdr_dn, sdr_i)
    trapped = 1.0 if sdr_i == 1 else (sdr_dn - sdr_i) / (1 - sdr_i)
    return max(trapped * f_in, 0.0), max((1 - trapped) * f_in + e_i, 0.0)


@numba.njit(cache=True)
def _deposition_d8(fdir, e_prime, sdr, order):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    # float64 inside: InVEST's ManagedRaster caches blocks as double and rounds to float32
    # only when writing the raster
    deposition = np.full((n_rows, n_cols), np.nan)
    flux = np.full((n_rows, n_cols), np.nan)
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        f_in = 0.0
        for d in range(8):
            rn = r + ROW_OFFSETS[d]
            cn = c + COL_OFFSETS[d]
            if 0 <= rn < n_rows and 0 <= cn < n_cols and fdir[rn, cn] == INFLOW[d]:
                f_j = flux[rn, cn]
                if not math.isnan(f_j):
                    f_in += f_j
        sdr_i = sdr[r, c]
        e_i = e_prime[r, c]
        if math.isnan(sdr_i) or math.isnan(e_i):
            continue
        d = fdir[r, c]
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        sdr_dn = 0.0
        if 0 <= rn < n_rows and 0 <= cn < n_cols:
            value = sdr[rn, cn]
            if not math.isnan(value):
                # InVEST: SDR 0 marks a stream, the last step that retains sediment
                sdr_dn = 1.0 if value == 0 else value
        deposition[r, c], flux[r, c] = _trap(f_in, sdr_i, sdr_dn, e_i)
    return deposition, flux


@numba.njit(cache=True)
def _mfd_flux_in(fdir, sums, flux, r, c):  # pragma: no cover - numba
    """Σ_j p(j,i)·F_j over upslope neighbours, p the float32 share w/Σw as InVEST."""
    n_rows, n_cols = fdir.shape
    f_in = 0.0
    for d in range(8):
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols:
            continue
        w = mfd_weight(fdir[rn, cn], INFLOW[d])
        if w == 0:
            continue
        f_j = flux[rn, cn]
        if not math.isnan(f_j):
            f_in += np.float64(np.float32(w) / np.float32(sums[rn, cn])) * f_j
    return f_in


@numba.njit(cache=True)
def _mfd_sdr_downslope(fdir, sdr, r, c):  # pragma: no cover - numba
    """Flow-weighted mean SDR of the receivers (nodata receivers count in the weights)."""
    n_rows, n_cols = fdir.shape
    total = 0.0
    flow_sum = 0
    for d in range(8):
        w = mfd_weight(fdir[r, c], d)
        rn = r + ROW_OFFSETS[d]
        cn = c + COL_OFFSETS[d]
        if w == 0 or rn < 0 or rn >= n_rows or cn < 0 or cn >= n_cols:
            continue
        flow_sum += w
        value = sdr[rn, cn]
        if not math.isnan(value):
            total += (1.0 if value == 0 else value) * w
    return total / flow_sum if flow_sum else total


@numba.njit(cache=True)
def _deposition_mfd(fdir, e_prime, sdr, order):  # pragma: no cover - numba
    n_rows, n_cols = fdir.shape
    sums = mfd_weight_sums(fdir)
    # float64 inside: InVEST's ManagedRaster caches blocks as double and rounds to float32
    # only when writing the raster
    deposition = np.full((n_rows, n_cols), np.nan)
    flux = np.full((n_rows, n_cols), np.nan)
    for p in order:
        r = p // n_cols
        c = p - r * n_cols
        f_in = _mfd_flux_in(fdir, sums, flux, r, c)
        sdr_i = sdr[r, c]
        e_i = e_prime[r, c]
        if math.isnan(sdr_i) or math.isnan(e_i):
            continue
        sdr_dn = _mfd_sdr_downslope(fdir, sdr, r, c)
        deposition[r, c], flux[r, c] = _trap(f_in, sdr_i, sdr_dn, e_i)
    return deposition, flux


def sediment_deposition(
    flow_dir: np.ndarray,
    algorithm: str,
    e_prime: np.ndarray,
    sdr: np.ndarray,
    *,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sediment trapped on each pixel and the flux it passes on (InVEST's C++ algorithm).

    Visiting pixels upstream first::

        F_in   = Σ_j p(j,i)·F_j                      (upslope neighbours j)
        SDR_dn = max(Σ_k p(i,k)·SDR_k / Σ_k p(i,k), SDR_i)   (receivers k; SDR_k = 0 → 1)
        dT_i   = 1 if SDR_i = 1 else (SDR_dn − SDR_i)/(1 − SDR_i)
        T_i    = max(dT_i·F_in, 0)                   (deposition)
        F_i    = max((1 − dT_i)·F_in + E'_i, 0)      (flux)

    with ``p`` the D8 (1) or MFD (4-bit weight share, float32) flow proportions; receivers
    with nodata SDR count in the denominator only; pixels with nodata SDR or E' stay nodata
    and are skipped in F_in (``natcap.invest.sdr.sediment_deposition.h``).

    Parameters
    ----------
    flow_dir : numpy.ndarray
        D8 codes or MFD packed weights.
    algorithm : {"d8", "mfd"}
        Which of the two ``flow_dir`` holds.
    e_prime : numpy.ndarray
        ``E' = USLE·(1 − SDR)`` (0 on streams), t ha-1 yr-1.
    sdr : numpy.ndarray
        Sediment delivery ratio (float32 as InVEST).
    order : numpy.ndarray, optional
        Pre-computed :func:`gep.kernels.accumulation.topological_order`.

    Returns
    -------
    deposition, flux : numpy.ndarray of float32
        t ha-1 yr-1; NaN where not defined.

    References
    ----------
    Sharp R. et al., InVEST User's Guide, SDR: "Sediment deposition" (natcap.invest 3.20).
    """
    algo = str(algorithm).lower()
    fdir = np.ascontiguousarray(flow_dir)
    if order is None:
        order = accumulation.topological_order(fdir, algo)
    kernel = _deposition_d8 if algo == "d8" else _deposition_mfd
    deposition, flux = kernel(
        fdir,
        np.ascontiguousarray(e_prime, dtype=np.float64),
        np.ascontiguousarray(sdr, dtype=np.float64),
        order,
    )
    return deposition.astype(np.float32), flux.astype(np.float32)


def _check_inputs(
    arrays: dict[str, np.ndarray], valid: np.ndarray, options: dict[str, Any]
) -> None:
    shape = np.shape(valid)
    if len(shape) != 2:
        raise ValueError(f"sdr_model: 'valid' must be a 2-D mask, got shape {shape}")
    for name, a in arrays.items():
        if np.shape(a) != shape:
            raise ValueError(
                f"sdr_model: {name!r} has shape {np.shape(a)} but 'valid' has {shape}; "
                "align all inputs to the DEM grid first"
            )
    if options["flow_dir_algorithm"] not in ("d8", "mfd"):
        raise ValueError(
            "sdr_model: flow_dir_algorithm must be 'mfd' or 'd8', "
            f"got {options['flow_dir_algorithm']!r}"
        )
    if options["downslope_distance"] not in ("pixels", "metres"):
        raise ValueError(
            "sdr_model: downslope_distance must be 'pixels' (InVEST) or 'metres' "
            f"(Borselli et al. 2008), got {options['downslope_distance']!r}"
        )
    checks = (
        ("cell_size_m", options["cell_size_m"] > 0, "> 0"),
        ("threshold_flow_accumulation", options["threshold_flow_accumulation"] >= 0, ">= 0"),
        ("k", options["k"] > 0, "> 0"),
        ("sdr_max", 0 < options["sdr_max"] <= 1, "in (0, 1]"),
        ("l_max", options["l_max"] > 0, "> 0"),
    )
    for name, ok, expected in checks:
        if not ok:
            raise ValueError(f"sdr_model: {name} must be {expected}, got {options[name]}")


def _routing(dem: np.ndarray, valid: np.ndarray, cell: float, algo: str, tfa: float) -> dict:
    """Fill, slope, flow direction, accumulation and streams (InVEST SDR steps 3–7)."""
    filled = fill.fill_pits(dem, valid)
    slope = terrain.slope_percent(filled, cell, valid).astype(_F32)
    fdir = (
        flowdir.flow_dir_d8(filled, valid) if algo == "d8" else flowdir.flow_dir_mfd(filled, valid)
    )
    order = accumulation.topological_order(fdir, algo)
    fa = accumulation.flow_accumulation(fdir, algo, order=order)
    if algo == "d8":
        stream = accumulation.extract_streams_d8(fa, tfa)
    else:
        stream = accumulation.extract_streams_mfd(fa, fdir, tfa, trace_threshold_proportion=0.7)
    return {
        "filled_dem": filled,
        "slope_percent": slope,
        "flow_direction": fdir,
        "order": order,
        "flow_accumulation": fa,
        "stream": stream,
    }


@numba.njit(nogil=True, cache=True, parallel=True)
def _soil_loss_fused(ls, erosivity, erodibility, cp, ok, on_land, rkls, usle, avoided):
    # pragma: no cover - numba; the operations (and their precision) are those of the numpy
    # expressions they replace: a float64 product rounded once to float32, then float32.
    nan = np.float32(np.nan)
    for i in numba.prange(ls.size):
        if not ok[i]:
            rkls[i] = nan
            usle[i] = nan
            avoided[i] = nan
            continue
        r = np.float32(ls[i] * np.float64(erosivity[i]) * np.float64(erodibility[i]))
        if not on_land[i]:
            r = nan
        u = r * cp[i]
        rkls[i] = r
        usle[i] = u
        avoided[i] = r - u


def cover_practice(usle_c: np.ndarray, usle_p: np.ndarray) -> np.ndarray:
    """The USLE CP factor ``C·P`` in float64, stored as float32 (InVEST's ``cp.tif``).

    Examples
    --------
    >>> cover_practice(np.array([0.1]), np.array([0.5]))
    array([0.05], dtype=float32)
    """
    return (np.asarray(usle_c, dtype=np.float64) * usle_p).astype(_F32)


def _soil_loss(r: dict, erosivity, erodibility, cp, cell: float, l_max: float) -> dict:
    """LS, RKLS (nodata on streams), USLE and avoided erosion, t ha-1 yr-1.

    ``RKLS = LS·R·K`` (float64, stored float32, NaN on streams), ``USLE = RKLS·CP`` and
    ``RKLS − USLE`` in float32, as InVEST's float32 rasters; pixels outside ``r["valid"]``
    are NaN. One fused pass, no temporaries.
    """
    ls = terrain.ls_factor(r["slope_percent"], r["flow_accumulation"], cell, l_max=l_max)
    ok = r["valid"]
    on_land = r["stream"] == 0
    cp = np.where(ok, np.asarray(cp, dtype=_F32), _F32(np.nan))
    outputs = [np.empty(ls.shape, dtype=_F32) for _ in range(3)]
    flat = [np.ascontiguousarray(a).reshape(-1) for a in (ls, erosivity, erodibility, cp)]
    kernel: Any = _soil_loss_fused
    kernel(*flat, ok.reshape(-1), on_land.reshape(-1), *(o.reshape(-1) for o in outputs))
    rkls, usle, avoided = outputs
    return {"ls": ls, "cp": cp, "rkls": rkls, "usle": usle, "avoided_erosion": avoided}


def _connectivity(
    r: dict, c, cell: float, algo: str, convention: str, keep: Collection[str] | None = None
) -> dict:
    """W̄, S̄, D_up, D_dn and IC (Borselli et al. 2008 as InVEST, or in metres).

    Intermediates not in ``keep`` (when given) are dropped as soon as the next one is built.
    """
    fdir, order = r["flow_direction"], r["order"]
    out: dict[str, np.ndarray] = {}

    def done(*names: str, source: dict[str, np.ndarray] = out) -> None:
        for name in names:
            if keep is not None and name not in keep:
                del source[name]

    if c is None:  # handed over in ``r`` so that it is freed once W is built
        c = r.pop("_usle_c")
    out["w_threshold"] = cover_weight(c)
    del c
    out["s_threshold"] = slope_weight(r["slope_percent"])
    done("slope_percent", source=r)
    # float32 as InVEST's ws_inverse.tif
    out["ws_inverse"] = _F32(1) / (out["w_threshold"] * out["s_threshold"])
    accumulated = accumulation.flow_accumulation(fdir, algo, out["w_threshold"], order=order)
    out["w_bar"] = np.divide(accumulated, r["flow_accumulation"], out=accumulated)
    done("w_threshold")
    accumulated = accumulation.flow_accumulation(fdir, algo, out["s_threshold"], order=order)
    out["s_bar"] = np.divide(accumulated, r["flow_accumulation"], out=accumulated)
    del accumulated
    done("s_threshold")
    fa = r["flow_accumulation"]
    if keep is not None and "w_bar" not in keep and out["w_bar"].dtype == np.float64:
        out["d_up"] = _upslope_in_place(out.pop("w_bar"), out["s_bar"], fa, cell)
    else:
        out["d_up"] = upslope_component(out["w_bar"], out["s_bar"], fa, cell)
    del fa
    for name in ("w_bar", "s_bar"):
        if name in out:
            done(name)
    done("flow_accumulation", source=r)
    out["d_dn"] = accumulation.distance_to_channel(
        fdir,
        r["stream"] == 1,
        algo,
        out["ws_inverse"],
        convention="invest" if convention == "pixels" else "metres",
        cell_size=cell,
        order=order,
    )
    done("ws_inverse")
    out["ic"] = connectivity_index(out["d_up"], out["d_dn"])
    done("d_up")
    return out


def _delivery(
    out: dict,
    algo: str,
    k: float,
    ic0: float,
    sdr_max: float,
    keep: Collection[str] | None = None,
) -> dict:
    """SDR, export, E', deposition, flux and avoided export.

    With ``keep``, D_dn and IC leave ``out`` once used unless kept (lower peak memory).
    """
    on_stream = out["stream"] == 1
    result = {"drains_to_stream": out["valid"] & ~np.isnan(out["d_dn"])}
    sdr = sediment_delivery_ratio(out["ic"], on_stream, k=k, ic0=ic0, sdr_max=sdr_max)
    _free(out, keep, ("d_dn", "ic"))
    usle = out["usle"]
    e_prime = usle * (_F32(1) - sdr)
    e_prime[on_stream] = 0
    del on_stream
    deposition, flux = sediment_deposition(
        out["flow_direction"], algo, e_prime, sdr, order=out["order"]
    )
    result.update(
        {
            "sdr": sdr,
            "sed_export": usle * sdr,
            "e_prime": e_prime,
            "sed_deposition": deposition,
            "flux": flux,
            "avoided_export": out["avoided_erosion"] * sdr + deposition,
        }
    )
    return result


def sdr_model(
    dem: np.ndarray,
    erosivity: np.ndarray,
    erodibility: np.ndarray,
    usle_c: np.ndarray,
    usle_p: np.ndarray,
    valid: np.ndarray,
    cell_size_m: float,
    *,
    flow_dir_algorithm: str = "mfd",
    threshold_flow_accumulation: float,
    k: float = 2.0,
    ic0: float = 0.5,
    sdr_max: float = 0.8,
    l_max: float = 122.0,
    downslope_distance: str = "pixels",
    drainage: np.ndarray | None = None,
    keep: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """Soil loss, sediment delivery, export and deposition as InVEST 3.20 SDR computes them.

    Steps (natcap.invest 3.20.2 ``sdr.execute`` after alignment and masking): pit filling;
    Horn slope; D8 or MFD flow direction and accumulation; streams (D8 ``FA > TFA``; MFD
    traced with ``trace_threshold_proportion=0.7``; plus ``drainage``); LS (Desmet & Govers,
    InVEST ≥ 3.14); RKLS and USLE (Renard et al. 1997) off the streams; W̄, S̄, D_up, D_dn,
    IC (Borselli et al. 2008); SDR (Vigiak et al. 2012, 1 on streams); export
    ``USLE·SDR``; E' ``USLE·(1 − SDR)``; deposition (InVEST's flux algorithm, see
    :func:`sediment_deposition`); avoided erosion ``RKLS − USLE``; avoided export
    ``(RKLS − USLE)·SDR + deposition``.

    ``downslope_distance="pixels"`` is InVEST's D_dn: sums of 1/(W·S) along the flow path in
    pixel steps (no cell length, the MFD step weighted by the receiver). ``"metres"`` is
    Borselli et al. (2008): each step's length (D or √2·D, m) over the pixel's own W·S,
    which raises IC by about log10(D) relative to InVEST.

    Parameters
    ----------
    dem : numpy.ndarray
        Elevation, m.
    erosivity : numpy.ndarray
        Rainfall erosivity R, MJ mm ha-1 h-1 yr-1.
    erodibility : numpy.ndarray
        Soil erodibility K, t ha h ha-1 MJ-1 mm-1.
    usle_c, usle_p : numpy.ndarray
        Cover-management C and support-practice P factors (1), per pixel.
    valid : numpy.ndarray of bool
        Pixels inside the study area; pixels where any input is NaN are dropped too
        (InVEST's mutual mask).
    cell_size_m : float
        Square pixel edge D, m.
    flow_dir_algorithm : {"mfd", "d8"}
        Flow routing (case-insensitive).
    threshold_flow_accumulation : float
        Stream threshold TFA, pixels.
    k, ic0, sdr_max : float
        Borselli calibration parameters (defaults 2, 0.5, 0.8).
    l_max : float
        Upper bound of the slope-length factor L (default 122).
    downslope_distance : {"pixels", "metres"}
        D_dn convention (see above).
    drainage : numpy.ndarray of bool, optional
        Extra drainage pixels counted as streams.
    keep : collection of str, optional
        Result keys to return; every other intermediate is freed as soon as no later step
        needs it, which lowers the peak memory (default: return everything).

    Returns
    -------
    dict of str to numpy.ndarray
        ``filled_dem`` (m), ``slope_percent`` (%), ``flow_direction`` (codes),
        ``flow_accumulation`` (pixels), ``stream`` (uint8: 1, 0, 255 nodata), ``ls`` (1),
        ``cp`` (1), ``rkls``, ``usle``, ``avoided_erosion`` (t ha-1 yr-1, NaN on streams),
        ``w_threshold``, ``s_threshold``, ``w_bar``, ``s_bar`` (1), ``d_up`` (m),
        ``ws_inverse`` (1), ``d_dn`` (pixels or m), ``ic`` (1), ``sdr`` (1),
        ``sed_export``, ``e_prime``, ``sed_deposition``, ``flux``, ``avoided_export``
        (t ha-1 yr-1), ``drains_to_stream`` and ``valid`` (bool). NaN is nodata; pixels
        that drain to no stream have NaN D_dn, IC, SDR, export and deposition.

    References
    ----------
    Borselli L., Cassi P., Torri D. (2008) Catena 75, 268–277. Vigiak O. et al. (2012)
    Geomorphology 138, 74–88. Renard K.G. et al. (1997) USDA Agric. Handb. 703.
    Sharp R. et al., InVEST User's Guide, SDR (natcap.invest 3.20.2).
    """
    algo = str(flow_dir_algorithm).lower()
    options: dict[str, Any] = {
        "flow_dir_algorithm": algo,
        "downslope_distance": downslope_distance,
        "cell_size_m": float(cell_size_m),
        "threshold_flow_accumulation": float(threshold_flow_accumulation),
        "k": float(k),
        "sdr_max": float(sdr_max),
        "l_max": float(l_max),
    }
    inputs = {
        "dem": dem,
        "erosivity": erosivity,
        "erodibility": erodibility,
        "usle_c": usle_c,
        "usle_p": usle_p,
    }
    if drainage is not None:
        inputs["drainage"] = drainage
    return sdr_from_arrays(inputs, valid, options, keep=keep, ic0=float(ic0))


def sdr_from_arrays(
    inputs: dict[str, np.ndarray],
    valid: np.ndarray,
    options: dict[str, Any],
    *,
    keep: Collection[str] | None = None,
    ic0: float = 0.5,
) -> dict[str, np.ndarray]:
    """:func:`sdr_model` on a dict of inputs that it empties as the steps no longer need them.

    For large rasters: the caller hands over ``inputs`` (``dem``, ``erosivity``,
    ``erodibility``, ``usle_c``, ``usle_p`` and optionally ``drainage``) and keeps no other
    reference, so each input is freed after its last use. ``usle_p`` may be replaced by
    ``cover_practice``, the float32 CP factor (:func:`cover_practice` of the class values:
    identical results with half the memory of float64 C and P rasters). ``options`` holds the keywords of
    :func:`sdr_model` (``flow_dir_algorithm``, ``downslope_distance``, ``cell_size_m``,
    ``threshold_flow_accumulation``, ``k``, ``sdr_max``, ``l_max``).
    """
    options = {**options, "flow_dir_algorithm": str(options["flow_dir_algorithm"]).lower()}
    algo = options["flow_dir_algorithm"]
    _check_inputs(inputs, valid, options)
    ok = np.asarray(valid, dtype=bool).copy()
    for n, a in inputs.items():
        if n != "drainage":
            ok &= np.isfinite(a)
    cell = float(options["cell_size_m"])
    drainage = inputs.pop("drainage", None)
    # InVEST's mutual mask, applied to copies made when each step needs them (the inputs are
    # left untouched; fewer arrays are alive at once)
    out = _routing(
        _masked(inputs.pop("dem"), ok), ok, cell, algo, options["threshold_flow_accumulation"]
    )
    if drainage is not None:
        out["stream"][ok & np.asarray(drainage, dtype=bool)] = 1
    del drainage
    out["valid"] = ok
    _free(out, keep, ("filled_dem",))
    if "cover_practice" in inputs:
        cp = inputs.pop("cover_practice")
    else:
        cp = cover_practice(inputs["usle_c"], inputs.pop("usle_p"))
    out.update(
        _soil_loss(
            out, inputs.pop("erosivity"), inputs.pop("erodibility"), cp, cell, options["l_max"]
        )
    )
    del cp
    _free(out, keep, ("ls", "cp"))
    # W uses C in float32, as InVEST's w.tif
    out["_usle_c"] = _masked(inputs.pop("usle_c"), ok, dtype=_F32)
    out.update(_connectivity(out, None, cell, algo, options["downslope_distance"], keep))
    _free(
        out,
        keep,
        ("w_threshold", "s_threshold", "w_bar", "s_bar", "d_up", "ws_inverse", "slope_percent"),
    )
    _free(out, keep, ("flow_accumulation",))
    out.update(_delivery(out, algo, float(options["k"]), ic0, float(options["sdr_max"]), keep))
    del out["order"]
    if keep is not None:
        for name in [n for n in out if n not in keep]:
            del out[name]
    return out


def _masked(values: np.ndarray, ok: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
    """A copy of ``values`` (float64 by default) with NaN outside ``ok``."""
    copy = np.array(values, dtype=dtype)
    copy[~ok] = np.nan
    return copy


def _free(out: dict[str, np.ndarray], keep: Collection[str] | None, names: tuple[str, ...]) -> None:
    """Drop intermediates no later step needs, unless the caller asked to keep them."""
    if keep is None:
        return
    for name in names:
        if name not in keep:
            out.pop(name, None)
