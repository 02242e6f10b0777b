"""Sediment delivery ratio (SDR) model: routing, soil loss, connectivity, export and deposition.

The per-pixel steps follow natcap.invest 3.20.2 (``sdr.py``, ``sediment_deposition.h``)
numerically, including where InVEST stores an intermediate as float32 (slope, thresholded
W and S, 1/(W·S), IC, SDR, RKLS, USLE, E', deposition and flux): those are float32 here too,
so that later steps see the same numbers. Everything else is float64. NaN is nodata.

Per-pixel soil quantities are densities in t ha-1 yr-1, as InVEST 3.20's rasters (multiply
by the pixel area in ha for t yr-1 per pixel).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numba
import numpy as np

from gep.kernels import accumulation, distance, fill, flowdir, streams, terrain
from gep.kernels.connectivity import (
    connectivity_index,
    cover_weight,
    sediment_delivery_ratio,
    slope_weight,
    upslope_component,
    upslope_in_place,
)
from gep.kernels.deposition import sediment_deposition

_F32 = np.float32


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
        stream = streams.extract_streams_d8(fa, tfa)
    else:
        stream = streams.extract_streams_mfd(fa, fdir, tfa, trace_threshold_proportion=0.7)
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
        out["d_up"] = upslope_in_place(out.pop("w_bar"), out["s_bar"], fa, cell)
    else:
        out["d_up"] = upslope_component(out["w_bar"], out["s_bar"], fa, cell)
    del fa
    for name in ("w_bar", "s_bar"):
        if name in out:
            done(name)
    done("flow_accumulation", source=r)
    out["d_dn"] = distance.distance_to_channel(
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
