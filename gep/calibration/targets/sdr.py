"""Calibration target of the SDR model: k, IC0 and SDR_max against observed sediment yield."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from gep import units
from gep.calibration.bounds import check_bound_keys, check_bounds
from gep.calibration.catchments import Catchments, coverage_table
from gep.calibration.errors import CalibrationError
from gep.calibration.inputs import _class_values, _per_pixel, _raster, landcover_arrays
from gep.calibration.problem import FitProblem

__all__ = ["SDRInputs", "delivery_ratio", "sdr_inputs", "sdr_problem"]


def delivery_ratio(ic: np.ndarray, k: float, ic0: float, sdr_max: float) -> np.ndarray:
    """Sediment delivery ratio ``SDR = SDR_max / (1 + exp((IC0 − IC)/k))``, in float64.

    The same formula as :func:`gep.kernels.connectivity.sediment_delivery_ratio` (off streams), kept in
    float64 here so that the objective is smooth for finite-difference Jacobians (InVEST's
    float32 would add steps of ~1e-7 relative).

    References
    ----------
    Vigiak O. et al. (2012) Geomorphology 138, 74–88, eq. 2; Borselli et al. (2008).

    Examples
    --------
    >>> float(delivery_ratio(np.array([0.5]), 2.0, 0.5, 0.8)[0])
    0.4
    """
    with np.errstate(over="ignore"):  # exp → inf far below IC0: SDR → 0, as it should
        return sdr_max / (1.0 + np.exp((ic0 - np.asarray(ic, dtype=np.float64)) / k))


@dataclass(frozen=True)
class SDRInputs:
    """What the SDR calibration needs per year, computed once by the routing.

    Parameters
    ----------
    ic : ndarray
        Index of connectivity per pixel (NaN off the drained area), flat.
    soil_loss_t_per_ha : ndarray
        USLE soil loss ``R·K·LS·C·P`` per pixel, t ha-1 yr-1 (NaN on streams and nodata), flat.
    """

    ic: np.ndarray
    soil_loss_t_per_ha: np.ndarray


def sdr_inputs(
    cat: Catalog,
    params: pd.DataFrame,
    year: int,
    *,
    flow_dir_algorithm: str = "mfd",
    threshold_flow_accumulation: float = 1000.0,
    l_max: float = 122.0,
    downslope_distance: str = "pixels",
) -> SDRInputs:
    """Run the parameter-free part of the SDR model once: routing, LS, USLE, D_up, D_dn, IC.

    Calls :func:`gep.kernels.sdr.sdr_model` (InVEST 3.20 SDR), whose IC and USLE do not depend
    on k, IC0 or SDR_max; the default values it is given are not used afterwards.
    """
    from gep.kernels.sdr import sdr_model  # the routing kernels are heavy to import

    lc_id, codes, valid = landcover_arrays(cat, year)
    c = _per_pixel(codes, valid, _class_values(cat, lc_id, params, "usle_c"))
    p = _per_pixel(codes, valid, _class_values(cat, lc_id, params, "usle_p"))
    grid = cat.reference_grid()
    cell_x, cell_y = grid.pixel_size_m()
    out = sdr_model(
        _raster(cat, "elevation", None).astype(np.float64),
        _raster(cat, "erosivity", year).astype(np.float64),
        _raster(cat, "erodibility", None).astype(np.float64),
        c,
        p,
        valid,
        float(min(cell_x, cell_y)),
        flow_dir_algorithm=flow_dir_algorithm,
        threshold_flow_accumulation=threshold_flow_accumulation,
        l_max=l_max,
        downslope_distance=downslope_distance,
    )
    return SDRInputs(
        np.asarray(out["ic"], dtype=np.float64).ravel(),
        np.asarray(out["usle"], dtype=np.float64).ravel(),
    )


def sdr_problem(
    inputs: dict[int, SDRInputs],
    catchments: Catchments,
    observations: pd.DataFrame,
    *,
    bounds: dict[str, tuple[float, float]] | None = None,
) -> FitProblem:
    """Fit the Borselli/Vigiak SDR parameters k, IC0 and SDR_max to observed sediment yield.

    The simulated sediment yield of a catchment and year is InVEST's export summed over its
    pixels, ``Σ_i f_i·USLE_i·SDR(IC_i)`` (t yr-1, f the coverage fraction), with
    ``SDR = SDR_max/(1 + exp((IC0 − IC)/k))``. Flow directions, accumulation, D_up, D_dn and IC
    come from :func:`sdr_inputs`, computed once per year; a trial evaluates the logistic on the
    catchments' drained pixels and sums (stream pixels carry no USLE, as in InVEST).

    Parameters
    ----------
    inputs : dict of int to SDRInputs
        :func:`sdr_inputs` per observed year.
    catchments : Catchments
        Gauged catchments on the same grid.
    observations : DataFrame
        :func:`match_observations` output, observed sediment yield in t yr-1.
    bounds : dict, optional
        Bounds of ``k``, ``ic0`` and ``sdr_max`` (default (0.1, 10), (−10, 5), (0.05, 1)). IC
        depends on the D_dn convention: InVEST's pixel steps give IC roughly 2.5 lower than
        metres at 300 m, so IC0 must be allowed where the catchments' IC values lie.

    Returns
    -------
    FitProblem

    References
    ----------
    Borselli L., Cassi P., Torri D. (2008) Catena 75, 268–277. Vigiak O. et al. (2012)
    Geomorphology 138, 74–88. Hamel P. et al. (2015) A new approach to modeling the sediment
    retention service (InVEST 3.0). Sci. Total Environ. 524–525, 166–177 (calibration of k and
    IC0 against observed sediment yield).
    """
    default = {"k": (0.1, 10.0), "ic0": (-10.0, 5.0), "sdr_max": (0.05, 1.0)}
    check_bound_keys("sdr", list(bounds or {}))
    chosen = {**default, **(bounds or {})}
    for name, pair in chosen.items():
        check_bounds(name, pair)
    ic_parts, load_parts, segments, valid_area = [], [], [], []
    for j, (cid, year) in enumerate(
        zip(observations["catchment_id"], observations["year"].astype(int), strict=True)
    ):
        if year not in inputs:
            raise CalibrationError(f"sdr: no SDR inputs for year {year}; compute sdr_inputs first")
        i = catchments.index(cid)
        idx = catchments.pixels[i]
        ic = inputs[year].ic[idx]
        # t ha-1 yr-1 · (m² inside the catchment / 10 000 m² ha-1) = t yr-1
        load = inputs[year].soil_loss_t_per_ha[idx] * catchments.area_m2[i] / units.M2_PER_HA
        ok = np.isfinite(ic) & np.isfinite(load)
        # drained area with an IC (stream pixels have IC but no USLE, as in InVEST)
        valid_area.append(float(catchments.area_m2[i][np.isfinite(ic)].sum()))
        if valid_area[-1] <= 0:
            raise CalibrationError(
                f"sdr: gauge {cid}, year {year}: no pixel of its catchment has an index of "
                "connectivity (off the drained area or nodata); fix the rasters or drop it"
            )
        ic_parts.append(ic[ok])
        load_parts.append(load[ok])
        segments.append(np.full(int(ok.sum()), j))
    ic_all = np.concatenate(ic_parts)
    load_all = np.concatenate(load_parts)
    seg = np.concatenate(segments)
    n_obs = len(observations)

    def simulate(x: np.ndarray) -> np.ndarray:
        sdr = delivery_ratio(ic_all, x[0], x[1], x[2])
        return np.bincount(seg, weights=load_all * sdr, minlength=n_obs)

    names = ("k", "ic0", "sdr_max")
    return FitProblem(
        names=names,
        bounds=tuple(chosen[n] for n in names),
        simulate=simulate,
        observed=observations["observed"].to_numpy(dtype=np.float64),
        labels=observations[["catchment_id", "year"]],
        value_unit=units.T_PER_YR,
        parameter_units=(units.DIMENSIONLESS,) * 3,
        target="sdr",
        info={
            "pixels_per_trial": int(ic_all.size),
            "coverage": coverage_table(catchments, observations, valid_area),
        },
    )
