"""Calibration targets of the water services: the seasonality Z and the runoff coefficients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from gep import units
from gep.calibration.bounds import check_bounds
from gep.calibration.catchments import Catchments, coverage_table
from gep.calibration.errors import CalibrationError
from gep.calibration.inputs import (
    _per_pixel,
    _raster,
    ecosystem_type_of_codes,
    landcover_arrays,
)
from gep.calibration.problem import FitProblem
from gep.kernels import water
from gep.pipeline import class_table

__all__ = [
    "WaterYieldPixels",
    "fu_zhang_yield",
    "runoff_coefficient_problem",
    "water_yield_inputs",
    "water_yield_problem",
]


@dataclass(frozen=True)
class WaterYieldPixels:
    """The Z-independent terms of the water yield on the pixels of one catchment and year.

    From the kernel's inputs (built once): ``φ = Kc·ET0/P`` and ``AWC/P`` of the vegetated
    pixels, their P and area; the yield of non-vegetated pixels (no Z in it) summed once.
    """

    phi: np.ndarray
    awc_over_p: np.ndarray
    precipitation: np.ndarray
    area_m2: np.ndarray
    fixed_volume: float  # Σ a·y over valid non-vegetated pixels, m² · mm
    valid_area_m2: float
    precipitation_volume: float = 0.0  # Σ a·P over valid pixels, m² · mm

    @classmethod
    def build(cls, arrays: Sequence[np.ndarray], area_m2: np.ndarray) -> WaterYieldPixels:
        """The terms from the kernel's seven inputs on the catchment's pixels and their areas."""
        kc, eto, p, root, soil, pawc, veg = (np.asarray(a, dtype=np.float64) for a in arrays)
        # one kernel run for the validity mask and the non-vegetated yield (Z plays no part)
        _, _, depth = water.annual_water_yield(kc, eto, p, root, soil, pawc, veg, 1.0)
        ok = np.isfinite(depth)
        veg_ok = ok & (veg == 1.0)
        other = ok & (veg != 1.0)
        pv = p[veg_ok]
        return cls(
            phi=kc[veg_ok] * eto[veg_ok] / pv,
            awc_over_p=np.minimum(root[veg_ok], soil[veg_ok]) * pawc[veg_ok] / pv,
            precipitation=pv,
            area_m2=area_m2[veg_ok],
            fixed_volume=float(np.sum(area_m2[other] * depth[other])),
            valid_area_m2=float(np.sum(area_m2[ok])),
            precipitation_volume=float(np.sum(area_m2[ok] * p[ok])),
        )


def fu_zhang_yield(
    phi: np.ndarray, awc_over_p: np.ndarray, precipitation: np.ndarray, seasonality: Any
) -> np.ndarray:
    """Water yield of vegetated pixels, ``(1 − AET/P)·P`` with the Fu–Zhang Budyko curve.

    ``ω = min(Z·AWC/P + 1.25, 5)``, ``AET/P = min(φ, 1 + φ − (1 + φ^ω)^(1/ω))`` (mm yr-1), as
    :func:`gep.kernels.water.annual_water_yield` on its vegetated branch, from pre-computed
    ``φ`` and ``AWC/P``; ``seasonality`` may be a scalar or one Z per pixel.

    References
    ----------
    Fu B.P. (1981) Sci. Atmos. Sin. 5, 23–31; Zhang L. et al. (2004) Water Resour. Res. 40,
    W02502; Sharp et al., InVEST User's Guide, Annual Water Yield.

    Examples
    --------
    φ = 0.5, AWC/P = 0.1, Z = 5: ω = 1.75, AET/P = 0.339634, yield = 0.660366·1000 mm:

    >>> round(float(fu_zhang_yield(np.array([0.5]), np.array([0.1]), np.array([1000.0]), 5.0)[0]), 3)
    660.366
    """
    omega = np.minimum(np.asarray(seasonality) * awc_over_p + 1.25, 5.0)
    fraction = np.minimum(phi, 1.0 + phi - (1.0 + phi**omega) ** (1.0 / omega))
    return (1.0 - fraction) * precipitation


def water_yield_inputs(cat: Catalog, params: pd.DataFrame, year: int) -> list[np.ndarray]:
    """The water-yield kernel's seven per-pixel inputs of a year, flat float64."""
    lc_id, codes, valid = landcover_arrays(cat, year)
    table = class_table(
        cat, lc_id, params, {"kc": "kc", "root_depth": "root_depth", "vegetated": "lulc_veg"}
    )
    # InVEST's placeholder: root depth 1 mm where the class is not vegetated (unused there)
    root = table["root_depth"].where(table["vegetated"] == 1, 1.0)
    arrays = [
        _per_pixel(codes, valid, table["kc"]),
        _raster(cat, "reference_evapotranspiration", year),
        _raster(cat, "precipitation", year),
        _per_pixel(codes, valid, root),
        _raster(cat, "root_restricting_depth", None),
        _raster(cat, "plant_available_water", None),
        _per_pixel(codes, valid, table["vegetated"]),
    ]
    # float64 throughout (the service keeps the rasters' float32: differences ~1e-7 relative),
    # so that finite-difference Jacobians see a smooth objective
    return [np.asarray(a, dtype=np.float64).ravel() for a in arrays]


def water_yield_problem(
    cat: Catalog,
    params: pd.DataFrame,
    catchments: Catchments,
    observations: pd.DataFrame,
    *,
    per_basin: bool = False,
    bounds: tuple[float, float] = (1.0, 30.0),
) -> FitProblem:
    """Fit the seasonality constant Z of the annual water yield to observed runoff depth.

    The simulated value of a catchment and year is the area-weighted mean water-yield depth
    over its valid pixels, ``Σ a_i·y_i / Σ a_i`` (mm yr-1), y from the Budyko curve in
    InVEST 3.20's Fu–Zhang form (:func:`gep.kernels.water.annual_water_yield`). Everything that
    does not depend on Z is done once: rasters read, land cover reclassified to Kc, root depth
    and the vegetated flag, catchments cut out of the grid, ``φ`` and ``AWC/P`` per pixel, and
    the yield of non-vegetated pixels. A trial evaluates :func:`fu_zhang_yield` on the
    catchments' vegetated pixels only (one vectorised call for all catchments and years).

    Parameters
    ----------
    cat : Catalog
        Catalog with precipitation, reference ET, soil rasters and land cover per year.
    params : DataFrame
        Ecosystem-type parameter table (``kc``, ``root_depth``, ``lulc_veg``).
    catchments : Catchments
        Gauged catchments.
    observations : DataFrame
        :func:`match_observations` output, observed runoff in mm yr-1.
    per_basin : bool
        One Z per catchment instead of one for the region.
    bounds : (float, float)
        Bounds of Z (InVEST's guide: typically 1–30).

    Returns
    -------
    FitProblem

    References
    ----------
    Zhang L. et al. (2004) Water Resour. Res. 40:W02502; Donohue R.J., Roderick M.L.,
    McVicar T.R. (2012) Roots, storms and soil pores: incorporating key ecohydrological
    processes into Budyko's hydrological model. J. Hydrol. 436–437, 35–50 (Z as a calibration
    constant); Sharp et al., InVEST User's Guide, Annual Water Yield (Z, calibration).
    """
    check_bounds("seasonality", bounds)
    keys = list(zip(observations["catchment_id"], observations["year"].astype(int), strict=True))
    basins = sorted(set(observations["catchment_id"])) if per_basin else ["all"]
    ordered = _water_yield_parts(cat, params, catchments, keys)
    seg = np.concatenate([np.full(q.phi.size, j) for j, q in enumerate(ordered)])
    basin_of_pixel = np.concatenate(
        [
            np.full(q.phi.size, basins.index(k[0]) if per_basin else 0)
            for k, q in zip(keys, ordered, strict=True)
        ]
    )
    phi = np.concatenate([q.phi for q in ordered])
    awc_p = np.concatenate([q.awc_over_p for q in ordered])
    precip = np.concatenate([q.precipitation for q in ordered])
    area = np.concatenate([q.area_m2 for q in ordered])
    fixed = np.array([q.fixed_volume for q in ordered])
    valid_area = np.array([q.valid_area_m2 for q in ordered])
    info: dict[str, Any] = {
        "basins": basins,
        "pixels_per_trial": int(phi.size),
        # mean precipitation of each catchment and year (the water-balance gate), mm yr-1
        "precipitation_mm": np.array([q.precipitation_volume for q in ordered]) / valid_area,
        "coverage": coverage_table(catchments, observations, valid_area),
    }

    def simulate(x: np.ndarray) -> np.ndarray:
        y = fu_zhang_yield(phi, awc_p, precip, np.asarray(x, dtype=np.float64)[basin_of_pixel])
        volume = np.bincount(seg, weights=area * y, minlength=len(keys)) + fixed
        return volume / valid_area  # m² · mm / m² = mm

    names = tuple(f"seasonality:{b}" for b in basins) if per_basin else ("seasonality",)
    return FitProblem(
        names=names,
        bounds=tuple(bounds for _ in names),
        simulate=simulate,
        observed=observations["observed"].to_numpy(dtype=np.float64),
        labels=observations[["catchment_id", "year"]],
        value_unit=units.MM_PER_YR,
        parameter_units=tuple(units.DIMENSIONLESS for _ in names),
        target="water_yield_z",
        info=info,
    )


def _water_yield_parts(
    cat: Catalog, params: pd.DataFrame, catchments: Catchments, keys: list[tuple[str, int]]
) -> list[WaterYieldPixels]:
    """The Z-independent terms of each (catchment, year), in the order of ``keys``."""
    by_key: dict[tuple[str, int], WaterYieldPixels] = {}
    for year in sorted({y for _, y in keys}):
        full = water_yield_inputs(cat, params, year)
        for cid, y in keys:
            if y == year:
                i = catchments.index(cid)
                idx = catchments.pixels[i]
                part = WaterYieldPixels.build([a[idx] for a in full], catchments.area_m2[i])
                if part.valid_area_m2 <= 0:
                    raise CalibrationError(
                        f"water yield: gauge {cid}, year {year}: no valid pixel in its "
                        "catchment (every input is nodata there); fix the rasters or drop the "
                        "observation"
                    )
                by_key[(cid, y)] = part
    return [by_key[k] for k in keys]


def _runoff_design(
    cat: Catalog, catchments: Catchments, observations: pd.DataFrame, types: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    """Per observation: ``Σ a·P`` per ecosystem type over the catchment, divided by its area.

    Also returns the area share of each type, the mean precipitation (mm yr-1) and the valid
    area (m²) of each observation's catchment.
    """
    rows, shares, precip, valid_area = [], [], [], []
    for cid, year in zip(observations["catchment_id"], observations["year"], strict=True):
        lc_id, codes, valid = landcover_arrays(cat, int(year))
        eco = ecosystem_type_of_codes(cat, lc_id)
        i = catchments.index(cid)
        idx, area = catchments.pixels[i], catchments.area_m2[i]
        p = _raster(cat, "precipitation", int(year)).ravel()[idx]
        ok = valid.ravel()[idx] & np.isfinite(p)
        px_type = eco.reindex(codes.ravel()[idx]).to_numpy(dtype=object)
        px_type[~ok] = None
        total = float(area[ok].sum())
        if total <= 0:
            raise CalibrationError(
                f"runoff coefficients: gauge {cid}, year {year}: no valid pixel in its catchment"
                " (land cover or precipitation is nodata there); fix the rasters or drop it"
            )
        precip.append(float(np.sum(area[ok] * p[ok])) / total)
        valid_area.append(total)
        rows.append([float(np.sum((area * p)[px_type == t])) / total for t in types])
        shares.append({t: float(area[px_type == t].sum()) / total for t in set(px_type[ok])})
    share_table = pd.DataFrame(shares).fillna(0.0)
    return np.array(rows), share_table, np.array(precip), np.array(valid_area)


def runoff_coefficient_problem(
    cat: Catalog,
    params: pd.DataFrame,
    catchments: Catchments,
    observations: pd.DataFrame,
    *,
    ecosystem_types: Sequence[str] | None = None,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> FitProblem:
    """Fit surface-runoff coefficients α per ecosystem type to observed runoff depth.

    The water-balance method's runoff is ``R = α·P`` per pixel (MEE 2020; DB11/T 2059—2022), so
    a catchment's runoff depth is ``Σ_t α_t·(Σ_{i∈t} a_i·P_i)/A`` (mm yr-1, A the catchment's
    valid area): linear in α. The design matrix ``X[obs, t] = Σ_{i∈t} a_i·P_i / A`` is built
    once; a trial is one matrix product. Types not fitted keep their table coefficient; types
    without a coefficient (outside the method) contribute no runoff, and their area share is
    reported in ``info["area_share"]``.

    Gauged streamflow includes baseflow, which the method's surface runoff does not: fit
    against quick flow (after baseflow separation) where it is known, or read the fitted α as
    an upper bound.

    Parameters
    ----------
    cat, params, catchments, observations
        As :func:`water_yield_problem` (observed runoff in mm yr-1).
    ecosystem_types : sequence of str, optional
        Types to fit (default: the types with a coefficient in the table that cover ≥ 1 % of
        the gauged area).
    bounds : (float, float)
        Bounds of every α (0–1).

    Returns
    -------
    FitProblem
        Convex (linear least squares).
    """
    check_bounds("runoff_coefficient", bounds)
    table = params[params["parameter"] == "runoff_coefficient"].set_index("ecosystem_type")
    coef = pd.to_numeric(table["value"], errors="coerce")
    lc_id = cat.find(variable="landcover", year=int(observations["year"].iloc[0]))
    all_types = sorted(set(ecosystem_type_of_codes(cat, lc_id)))
    x_all, shares, precip, valid_area = _runoff_design(cat, catchments, observations, all_types)
    if ecosystem_types is None:
        mean_share = shares.mean()
        ecosystem_types = [
            t
            for t in all_types
            if np.isfinite(coef.get(t, np.nan)) and mean_share.get(t, 0) >= 0.01
        ]
    fitted = list(ecosystem_types)
    unknown = sorted(set(fitted) - set(all_types))
    if unknown:
        raise CalibrationError(
            f"runoff coefficients: ecosystem types {unknown} are not in the land-cover scheme "
            f"({all_types})"
        )
    fixed = [t for t in all_types if t not in fitted and np.isfinite(coef.get(t, np.nan))]
    cols = [all_types.index(t) for t in fitted]
    base = x_all[:, [all_types.index(t) for t in fixed]] @ coef.reindex(fixed).to_numpy(float)
    design = x_all[:, cols]

    def simulate(x: np.ndarray) -> np.ndarray:
        return base + design @ x

    return FitProblem(
        names=tuple(f"runoff_coefficient:{t}" for t in fitted),
        bounds=tuple(bounds for _ in fitted),
        simulate=simulate,
        observed=observations["observed"].to_numpy(dtype=np.float64),
        labels=observations[["catchment_id", "year"]],
        value_unit=units.MM_PER_YR,
        parameter_units=tuple(units.DIMENSIONLESS for _ in fitted),
        target="runoff_coefficients",
        convex=True,
        info={
            "fixed": {t: float(coef[t]) for t in fixed},
            "area_share": shares,
            "precipitation_mm": precip,
            "coverage": coverage_table(catchments, observations, valid_area),
        },
    )
