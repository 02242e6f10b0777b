"""The report of ``gep calibrate`` and the write-back of the fitted values (gated).

The report folder receives, for every run:

* ``fitted_parameters.csv`` — values, bounds, intervals with their method and flag;
* ``parameter_correlation.csv`` — the correlation matrix (condition number in the summary);
* ``observed_vs_simulated.csv`` (with the period: calibration, validation) and ``.png``;
* ``fit_statistics.csv`` — NSE, KGE, log-NSE, RMSE, PBIAS, calibration and validation side by
  side; ``gates.csv``; ``coverage.csv`` (each gauge's valid share of its catchment);
* ``leave_one_gauge_out.csv``, ``posterior_runs.csv``, ``posterior_intervals.csv`` and
  ``dotty.png`` when asked for;
* ``summary.md`` — what was fitted against what, how well, whether it passed, and which GEP
  components the target changes.

Only a fit that passes every gate (or ``force: true``) also writes ``parameters_calibrated.csv``
(the catalog's parameter table with the fitted rows, ``confidence: user supplied``),
``catalog_calibrated.yaml`` and ``run_calibrated.yaml``: what the pipeline reads. Each fitted
parameter reaches the quantities it governs through them:

* a region-wide Z → ``services.water_yield.seasonality`` of the run config;
* per-basin Z → ``seasonality_by_basin.tif`` (Z on the pixels of each fitted catchment, NaN
  elsewhere), an entry of variable ``seasonality`` in the calibrated catalog that the
  water-yield service reads as its optional ``seasonality_by_basin`` input; the run config's
  ``seasonality`` stays the Z of the rest of the region;
* runoff coefficients → the parameter table (``runoff_coefficient`` rows);
* SDR k, IC0, SDR_max → ``services.soil_retention`` of the run config;
* the C–NDVI relation → ``services.soil_retention.cover_from_ndvi`` (the form) and
  ``c_ndvi_*`` (the fitted values): C from the catalog's ``ndvi`` raster replaces the class C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from data_catalog.catalog import Catalog
from data_catalog.grid import Grid
from gep.calibration.catchments import Catchments
from gep.calibration.report import (
    plot_dotty,
    plot_observed_vs_simulated,
    updated_parameter_table,
    write_parameter_table,
)
from gep.calibration.run import CalibrationRun
from gep.calibration.summary import summary_markdown
from gep.config import demo_config_path
from gep.io.atomic import atomic_write

__all__ = [
    "TARGET_QUANTITIES",
    "basin_seasonality",
    "calibrated_catalog",
    "gep_components",
    "summary_dict",
    "write_report",
]

#: accounted quantities each target's parameters govern
TARGET_QUANTITIES: dict[str, tuple[str, ...]] = {
    "water_yield_z": ("water_yield",),
    "runoff_coefficients": ("water_conserved",),
    "sdr": ("sediment_export", "avoided_export", "sediment_deposition"),
    "c_factor_ndvi": ("soil_retention", "sediment_export", "avoided_export"),
}

#: catalog entry id and file name of the per-basin Z raster
BASIN_SEASONALITY = "seasonality_by_basin"
_NODATA = -9999.0


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))


def _write_text(text: str, path: Path) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def _base_run_raw(run: CalibrationRun) -> dict[str, Any] | None:
    config = run.config
    if config.base_run_config is None:
        return None
    base = (
        demo_config_path()
        if config.base_run_config == "demo"
        else config.resolve(config.base_run_config)
    )
    loaded = yaml.safe_load(base.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else None


def _has_ndvi(run: CalibrationRun) -> bool:
    raw = yaml.safe_load(run.config.catalog_file().read_text(encoding="utf-8")) or {}
    return any(e.get("variable") == "ndvi" for e in (raw.get("entries") or {}).values())


def gep_components(run: CalibrationRun) -> tuple[list[str], str]:
    """The valued GEP components the fitted parameters change, and why (none is an answer)."""
    config = run.config
    if config.target == "c_factor_ndvi" and not _has_ndvi(run):
        return [], (
            "none: the catalog has no ndvi raster (variable ndvi), so the run keeps the class "
            "C; add NDVI layers of the accounted years to the catalog for the fitted relation "
            "(cover_from_ndvi in run_calibrated.yaml) to reach soil retention"
        )
    raw = _base_run_raw(run)
    quantities = TARGET_QUANTITIES[config.target]
    if raw is None:
        return [], "unknown: no base run config to compare with"
    services = raw.get("services") or {}
    producer = {"water_yield_z": "water_yield", "sdr": "soil_retention"}
    producer |= {"c_factor_ndvi": "soil_retention", "runoff_coefficients": "water_conservation"}
    if producer[config.target] not in services:
        return [], (
            f"none: the run config does not run {producer[config.target]}, which the fitted "
            "parameters govern"
        )
    components = (raw.get("valuation") or {}).get("components") or []
    changed = [
        f"{c.get('service')}/{c.get('component')}"
        for c in components
        if c.get("enabled", True) and c.get("quantity") in quantities
    ]
    where = " (in the fitted basins)" if config.per_basin else ""
    if not changed:
        valued = sorted({str(c.get("quantity")) for c in components if c.get("enabled", True)})
        return [], (
            f"none: the run config values {valued}, not {list(quantities)}; the fit changes "
            f"the physical accounts of {', '.join(quantities)}{where} only, no GEP component"
        )
    return changed, f"changes {', '.join(changed)} (through {', '.join(quantities)}){where}"


def basin_seasonality(catchments: Catchments, values: dict[str, float], grid: Grid) -> np.ndarray:
    """Z per pixel from per-basin values: NaN outside the fitted catchments.

    A pixel takes the Z of the smallest fitted catchment that covers at least half of it
    (nested catchments: the upstream one's Z on its own pixels, the downstream one's on the
    rest; the downstream Z was fitted on the whole catchment, so its simulated yield in the
    run differs from the fitted one there).

    Parameters
    ----------
    catchments : Catchments
        The gauged catchments (pixels and covered areas).
    values : dict
        Catchment id → fitted Z.
    grid : Grid
        The reference grid.

    Returns
    -------
    numpy.ndarray
        float32, shape ``grid.shape``.
    """
    out = np.full(int(np.prod(grid.shape)), np.nan, dtype=np.float32)
    cell = np.broadcast_to(grid.cell_area_m2(), grid.shape).ravel()
    fitted = [c for c in values if c in catchments.ids]
    order = sorted(fitted, key=lambda c: -float(catchments.area_m2[catchments.index(c)].sum()))
    for cid in order:  # largest first: smaller (nested) catchments overwrite
        i = catchments.index(cid)
        idx = catchments.pixels[i]
        covered = catchments.area_m2[i] / cell[idx] >= 0.5
        out[idx[covered]] = np.float32(values[cid])
    return out.reshape(grid.shape)


def _write_basin_seasonality(run: CalibrationRun, cat: Catalog, path: Path) -> Path:
    """Write the per-basin Z raster (GeoTIFF, float32, nodata −9999) on the reference grid."""
    import rioxarray  # noqa: F401  (the .rio accessor)
    import xarray as xr

    assert run.result is not None
    catchments = run.problem.info["catchments"]
    fitted = dict(zip(run.result.problem.names, run.result.values, strict=True))
    values = {
        n.split(":", 1)[1]: float(v) for n, v in fitted.items() if n.startswith("seasonality:")
    }
    grid = cat.reference_grid()
    z = basin_seasonality(catchments, values, grid)
    x, y = grid.coords()
    da = xr.DataArray(
        np.where(np.isfinite(z), z, np.float32(_NODATA)), dims=("y", "x"), coords={"y": y, "x": x}
    )
    da = da.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    da = da.rio.write_nodata(_NODATA)
    return atomic_write(path, lambda tmp: da.rio.to_raster(tmp, driver="GTiff"))


def _basin_seasonality_entry(run: CalibrationRun, cat: Catalog, path: Path) -> dict[str, Any]:
    return {
        "kind": "raster",
        "path": str(path.resolve()),
        "variable": "seasonality",
        "units": "1",
        "crs": cat.reference_grid().crs.to_string(),
        "nodata": _NODATA,
        "valid_range": [0.0, 1.0e6],
        "source": f"gep calibrate {run.config.name}: seasonality Z fitted per gauged catchment "
        f"against {run.against}",
        "licence": "as the calibration's inputs",
        "description": "Z per pixel of each fitted catchment (the smallest covering at least "
        "half of the pixel); nodata elsewhere, where the run config's seasonality applies",
    }


def calibrated_catalog(
    catalog_file: Path,
    parameters_entry: str,
    table_path: Path,
    *,
    extra: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The catalog's YAML with absolute paths and its parameter entry pointing at ``table_path``.

    ``extra`` adds entries (id → entry); an existing entry of the same variable is dropped
    (a calibrated catalog has one per-basin Z layer).
    """
    raw = yaml.safe_load(catalog_file.read_text(encoding="utf-8"))
    for new in (extra or {}).values():
        raw["entries"] = {
            k: e
            for k, e in raw.get("entries", {}).items()
            if new.get("variable") is None or e.get("variable") != new["variable"]
        }
    root = catalog_file.resolve().parent
    for entry_id, entry in raw.get("entries", {}).items():
        if "path" in entry:
            p = Path(entry["path"])
            entry["path"] = str(p if p.is_absolute() else (root / p).resolve())
        if entry_id == parameters_entry:
            entry["path"] = str(table_path.resolve())
            entry["source"] = (
                f"{entry.get('source', '')}; calibrated values written by gep calibrate"
            )
    raw["entries"].update(extra or {})
    raw["name"] = f"{raw.get('name', 'catalog')}-calibrated"
    return raw


def _run_config(run: CalibrationRun, catalog_yaml: Path) -> dict[str, Any] | None:
    raw = _base_run_raw(run)
    if raw is None or run.result is None:
        return None
    raw["catalog"] = str(catalog_yaml.resolve())
    raw["name"] = f"{raw.get('name', 'run')}-calibrated"
    fitted = dict(zip(run.result.problem.names, run.result.values, strict=True))
    services = raw.get("services", {})
    if "seasonality" in fitted and "water_yield" in services:
        services["water_yield"]["seasonality"] = round(float(fitted["seasonality"]), 6)
    if run.config.target == "sdr" and "soil_retention" in services:
        for name in ("k", "ic0", "sdr_max"):
            services["soil_retention"][name] = round(float(fitted[name]), 6)
    if run.config.target == "c_factor_ndvi" and "soil_retention" in services:
        soil = services["soil_retention"] = dict(services["soil_retention"] or {})
        soil["cover_from_ndvi"] = run.config.c_ndvi_form
        for name, value in fitted.items():  # c_ndvi_alpha, ... are the service's parameters
            soil[name] = round(float(value), 6)
    return raw


def _write_back(run: CalibrationRun, cat: Catalog, out_dir: Path) -> dict[str, Path]:
    """Parameter table, calibrated catalog and run config (only for a passed or forced fit)."""
    assert run.result is not None
    out: dict[str, Path] = {}
    table = updated_parameter_table(
        cat.table(run.config.parameters), run.result, against=run.against
    )
    out["parameter_table"] = write_parameter_table(table, out_dir / "parameters_calibrated.csv")
    catalog_yaml = out_dir / "catalog_calibrated.yaml"
    extra = {}
    if run.config.target == "water_yield_z" and run.config.per_basin:
        out["seasonality_by_basin"] = _write_basin_seasonality(
            run, cat, out_dir / f"{BASIN_SEASONALITY}.tif"
        )
        extra[BASIN_SEASONALITY] = _basin_seasonality_entry(run, cat, out["seasonality_by_basin"])
    catalog_raw = calibrated_catalog(
        run.config.catalog_file(), run.config.parameters, out["parameter_table"], extra=extra
    )
    out["catalog"] = _write_text(
        yaml.safe_dump(catalog_raw, sort_keys=False, allow_unicode=True), catalog_yaml
    )
    run_raw = _run_config(run, catalog_yaml)
    if run_raw is not None:
        out["run_config"] = _write_text(
            yaml.safe_dump(run_raw, sort_keys=False, allow_unicode=True),
            out_dir / "run_calibrated.yaml",
        )
    return out


def _statistics_table(run: CalibrationRun) -> pd.DataFrame:
    """Calibration and validation statistics side by side."""
    calib = run.result.statistics if run.result is not None else run.calibration.statistics  # type: ignore[union-attr]
    table = pd.DataFrame({"statistic": list(calib), "calibration": list(calib.values())})
    if run.validation is not None:
        table["validation"] = [run.validation.statistics.get(k, np.nan) for k in calib]
    return table


def _observations(run: CalibrationRun) -> pd.DataFrame:
    parts = []
    if run.result is not None:
        parts.append(run.result.observation_table().assign(period="calibration"))
    elif run.calibration is not None:
        parts.append(run.calibration.observation_table())
    if run.validation is not None:
        parts.append(run.validation.observation_table())
    return pd.concat(parts, ignore_index=True)


def _fit_files(run: CalibrationRun, out_dir: Path) -> dict[str, Path]:
    """Files of a fit: parameters, correlation, gates, plot, optional LOGO and posterior."""
    result = run.result
    assert result is not None
    out = {
        "fitted_parameters": _write_csv(
            result.parameter_table(), out_dir / "fitted_parameters.csv"
        ),
        "correlation": atomic_write(
            out_dir / "parameter_correlation.csv",
            lambda tmp: result.correlation_table().to_csv(tmp, encoding="utf-8"),
        ),
        "gates": _write_csv(
            pd.DataFrame(result.gates, columns=["gate", "passed", "detail"]), out_dir / "gates.csv"
        ),
        "plot": plot_observed_vs_simulated(
            result, out_dir / "observed_vs_simulated.png", title=run.config.name
        ),
    }
    if run.gauge_out is not None:
        out["leave_one_gauge_out"] = _write_csv(
            run.gauge_out.table, out_dir / "leave_one_gauge_out.csv"
        )
    if run.posterior is not None:
        post = run.posterior
        out["posterior_runs"] = post.write_runs(out_dir / "posterior_runs.csv")
        out["posterior_intervals"] = _write_csv(
            post.intervals(), out_dir / "posterior_intervals.csv"
        )
        out["dotty"] = plot_dotty(
            post.samples, post.log_posterior, run.problem.names, out_dir / "dotty.png"
        )
    return out


def write_report(run: CalibrationRun, cat: Catalog, out_dir: Path) -> dict[str, Path]:
    """Write every file of the report (write-back only when the gates pass); name → path."""
    out: dict[str, Path] = {}
    out["observations"] = _write_csv(_observations(run), out_dir / "observed_vs_simulated.csv")
    out["statistics"] = _write_csv(_statistics_table(run), out_dir / "fit_statistics.csv")
    coverage = run.problem.info.get("coverage")
    if isinstance(coverage, pd.DataFrame):
        out["coverage"] = _write_csv(coverage, out_dir / "coverage.csv")
    if run.result is not None:
        out.update(_fit_files(run, out_dir))
        if run.passed or run.config.force:
            out.update(_write_back(run, cat, out_dir))
    changed = gep_components(run)
    out["summary"] = _write_text(summary_markdown(run, changed, out), out_dir / "summary.md")
    return out


def summary_dict(run: CalibrationRun, outputs: dict[str, Path]) -> dict[str, Any]:
    """The dictionary :func:`gep.calibration.run.run_calibration` returns."""
    result = run.result
    names = list(run.problem.names)
    calib = result.statistics if result is not None else run.calibration.statistics  # type: ignore[union-attr]
    values = result.values if result is not None else run.calibration.values  # type: ignore[union-attr]
    failures = result.gate_failures if result is not None else []
    if result is None:
        status = "evaluated only (nothing fitted, nothing written back)"
    elif failures:
        forced = " (written back: force)" if run.config.force else " (nothing written back)"
        status = "FAILED" + forced + ": " + "; ".join(failures)
    else:
        status = "passed every gate"
    return {
        "target": run.config.target,
        "objective": run.config.objective,
        "mode": run.config.mode,
        "status": status,
        "passed": run.passed,
        "gate_failures": failures,
        "parameters": {n: float(v) for n, v in zip(names, values, strict=True)},
        "ci": {
            n: (float(lo), float(hi))
            for n, lo, hi in zip(names, result.ci_low, result.ci_high, strict=True)
        }
        if result is not None
        else {},
        "ci_method": result.ci_method if result is not None else "none (evaluate only)",
        "condition_number": float(result.identifiability.condition_number)
        if result is not None and result.identifiability is not None
        else float("nan"),
        "warnings": result.warnings if result is not None else [],
        "identifiability": "; ".join(result.warnings)
        if result is not None and result.warnings
        else "no warning",
        "statistics": {k: float(v) for k, v in calib.items()},
        "validation": {k: float(v) for k, v in run.validation.statistics.items()}
        if run.validation is not None
        else {},
        "gep_components": gep_components(run)[1],
        "seconds": run.seconds.get("total", float("nan")),
        "outputs": outputs,
    }
