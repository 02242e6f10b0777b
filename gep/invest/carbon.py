"""InVEST 3.20 carbon on InVEST inputs: storage, change and NPV, streamed in row blocks.

The per-pixel pass is a table of class pairs (:class:`gep.kernels.carbon_pairs.CarbonPairs`,
numpy only): the process imports neither pandas nor numba, whose imports alone took longer
than the model's I/O on a 2000² map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gep import units
from gep.errors import InputError
from gep.invest.args import Arg
from gep.invest.common import table_codes
from gep.invest.frame import (
    Frame,
    Layer,
    RasterLayer,
    check_codes,
    common_frame,
    raster_grid,
    read_layers,
)
from gep.invest.tables import Column, read_invest_table
from gep.io import bands
from gep.kernels import carbon_formulas
from gep.kernels.carbon_pairs import MAX_SLOTS, CarbonPairs

CARBON_ARGS = (
    Arg("lulc_bas_path", "raster", about="baseline land-use/land-cover raster"),
    Arg(
        "carbon_pools_path",
        "csv",
        about="carbon pools table: lucode, c_above, c_below, c_soil, c_dead",
    ),
    Arg("calc_sequestration", "bool"),
    Arg("lulc_alt_path", "raster", required="calc_sequestration", about="alternate LULC raster"),
    Arg("do_valuation", "bool"),
    Arg("lulc_bas_year", "integer", required="do_valuation", about="baseline year"),
    Arg("lulc_alt_year", "integer", required="do_valuation", about="alternate year"),
    Arg("price_per_metric_ton_of_c", "number", required="do_valuation", about="price per t C"),
    Arg("discount_rate", "number", required="do_valuation", about="discount rate, %"),
    Arg("rate_change", "number", required="do_valuation", about="annual price change, %"),
)

POOL_COLUMNS = tuple(Column(p, "t C ha-1") for p in ("c_above", "c_below", "c_soil", "c_dead"))


@dataclass
class CarbonInputs:
    """Checked inputs of the carbon model."""

    lulc: dict[str, Layer]
    codes: np.ndarray
    density: np.ndarray
    values: dict[str, Any]
    frame: Frame
    progress: Callable[[str], None]


def prepare_carbon(
    values: dict[str, Any], args_path: Path, progress: Callable[[str], None]
) -> CarbonInputs:
    """Check the carbon args, grids and pools table, and read both land-cover maps."""
    scenarios = {"bas": values["lulc_bas_path"]}
    if values["lulc_alt_path"] is not None and (
        values["calc_sequestration"] or values["do_valuation"]
    ):
        scenarios["alt"] = values["lulc_alt_path"]
    if values["do_valuation"]:
        if "alt" not in scenarios:
            raise InputError(
                f"{args_path}: do_valuation needs calc_sequestration and lulc_alt_path"
            )
        if values["lulc_bas_year"] >= values["lulc_alt_year"]:
            raise InputError(
                f"{args_path}: lulc_alt_year ({values['lulc_alt_year']}) must be later than "
                f"lulc_bas_year ({values['lulc_bas_year']}); swap or correct the years"
            )
    grids = {s: raster_grid(f"lulc_{s}_path", p) for s, p in scenarios.items()}
    if "alt" in grids and not grids["alt"].matches(grids["bas"]):
        raise InputError(
            f"lulc_alt_path: grid (shape {grids['alt'].shape}, pixel {grids['alt'].res}, origin "
            f"{grids['alt'].bounds[0]}, {grids['alt'].bounds[3]}) differs from lulc_bas_path "
            f"({grids['bas'].shape}, {grids['bas'].res}, {grids['bas'].bounds[0]}, "
            f"{grids['bas'].bounds[3]}); InVEST requires identical grids too. Align them, e.g. "
            "gdalwarp -r mode -tap -te <bas extent> -tr <bas pixel size>"
        )
    frame = common_frame("bas", grids, scenarios)
    table = read_invest_table(
        values["carbon_pools_path"],
        table="carbon pools table",
        index="lucode",
        columns=POOL_COLUMNS,
    )
    progress("reading land cover")
    layers = [RasterLayer(s, path, f"lulc_{s}", categorical=True) for s, path in scenarios.items()]
    lulc = dict(zip(scenarios, read_layers(layers, frame), strict=True))
    codes = table_codes(table)
    for s, layer in lulc.items():  # MissingClassError naming the map and the codes
        check_codes(layer, codes, table=values["carbon_pools_path"], raster=f"lulc_{s}_path")
    # InVEST maps each pool to a float32 raster and adds the four in float32, left to right.
    density = carbon_formulas.total_pool_density(table.to_numpy())
    return CarbonInputs(lulc, codes, density, values, frame, progress)


StoragePass = Callable[..., tuple[np.ndarray, dict[str, float]]]


def _storage_pass(inputs: CarbonInputs, bas: Layer, alt: Layer, factor: float) -> StoragePass:
    """The per-block pass: ``pass(lulc_bas, lulc_alt, out=buffer) -> (rasters, totals)``.

    A table of class pairs (numpy) unless the table has more than
    :data:`gep.kernels.carbon_pairs.MAX_SLOTS` classes, where the pair table would be too
    large and numba's fused kernel computes the same numbers.
    """
    fill = bands.FLOAT_NODATA  # the files' nodata: no pass to replace NaN
    if inputs.codes.size + 2 <= MAX_SLOTS:
        pairs = CarbonPairs(
            inputs.codes,
            inputs.density,
            (bas.values.dtype, alt.values.dtype),
            (bas.nodata, alt.nodata),
            factor=factor,
            fill=fill,
        )
        return pairs.compute
    from gep.kernels.carbon import storage_change_npv

    def fused(lulc_bas: np.ndarray, lulc_alt: np.ndarray, *, out: np.ndarray) -> Any:
        return storage_change_npv(
            lulc_bas,
            lulc_alt,
            inputs.codes,
            inputs.density,
            nodata_bas=bas.nodata,
            nodata_alt=alt.nodata,
            factor=factor,
            fill=fill,
            out=out,
        )

    return fused


def execute_carbon(inputs: CarbonInputs, out: Path) -> dict[str, Any]:
    """Compute storage, change and NPV as InVEST does (float32 per pixel, float64 totals).

    Block after block of :data:`gep.bands.TILE` rows, a table of class pairs
    (:class:`gep.kernels.carbon_pairs.CarbonPairs`, the numbers of
    :func:`gep.kernels.carbon.storage_change_npv`) gives the four rasters and their totals
    into one reused buffer, and :class:`gep.bands.RowBlockWriter` has GDAL compress and write
    each completed row of tiles: no output raster is ever whole in memory. The rasters hold one value per class (pair), so they are written
    without a predictor (3× smaller and faster than the floating-point predictor).
    """
    ha_per_px = inputs.frame.pixel_area_m2 / units.M2_PER_HA
    bas = inputs.lulc["bas"]
    alt = inputs.lulc.get("alt", bas)
    valued = bool(inputs.values["do_valuation"])
    factor = _valuation(inputs.values) if valued else 0.0
    rasters = _carbon_rasters("alt" in inputs.lulc, valued)
    inputs.progress("computing carbon storage")
    rows, cols = bas.values.shape
    buffer = np.empty(4 * min(rows, bands.TILE) * cols, dtype=np.float32)
    storage = _storage_pass(inputs, bas, alt, factor)
    totals: dict[str, float] = {}
    with bands.RowBlockWriter(
        [out / f"{name}.tif" for name, _ in rasters],
        (rows, cols),
        crs=inputs.frame.grid.crs,
        transform=inputs.frame.grid.transform,
        names=[name for name, _ in rasters],
        units=[unit for _, unit in rasters],
        predictor=1,
    ) as writer:
        for r0 in range(0, rows, bands.TILE):
            r1 = min(r0 + bands.TILE, rows)
            block, sums = storage(bas.values[r0:r1], alt.values[r0:r1], out=buffer)
            for key, value in sums.items():
                totals[key] = totals.get(key, 0) + value
            writer.write(r0, list(block.reshape(4, r1 - r0, cols)))
    summary: dict[str, Any] = {"units": {}, "pixel_area_m2": inputs.frame.pixel_area_m2}
    summary["stock_base_tC"] = totals["base"] * ha_per_px
    if "alt" in inputs.lulc:
        summary["stock_alt_tC"] = totals["alt"] * ha_per_px
        summary.update(_change_summary(totals, ha_per_px, inputs.values))
        if valued:
            summary["npv"] = totals["npv"] * ha_per_px
            summary["valuation"] = {
                "valuation_factor_per_tC": factor,
                **_valuation_args(inputs.values),
            }
    summary["units"].update({k: u for k, u in CARBON_UNITS.items() if k in summary})
    summary["notes"] = CARBON_NOTES
    return summary


def _carbon_rasters(with_alt: bool, valued: bool) -> list[tuple[str, str]]:
    """InVEST's carbon output rasters (name, units) for the scenarios asked for."""
    rasters = [("c_storage_bas", units.T_C_PER_HA)]
    if with_alt:
        rasters += [("c_storage_alt", units.T_C_PER_HA), ("c_change_bas_alt", units.T_C_PER_HA)]
        if valued:
            rasters.append(("npv_alt", "currency ha-1"))
    return rasters


def _change_summary(
    totals: dict[str, float], ha_per_px: float, values: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {"change_tC": totals["change"] * ha_per_px}
    out["change_tCO2"] = out["change_tC"] * units.C_TO_CO2
    # InVEST's nodata test is numpy.isclose(change, -1): |change + 1| <= 1e-8 + 1e-5·1
    if totals["n_minus_one"]:
        out["change_tC_invest_convention"] = totals["change_away_from_minus_one"] * ha_per_px
        out["pixels_with_change_minus_one"] = totals["n_minus_one"]
    if values["lulc_bas_year"] is not None and values["lulc_alt_year"] is not None:
        n = values["lulc_alt_year"] - values["lulc_bas_year"]
        if n > 0:
            out["n_years"] = n
            out["change_tC_per_yr"] = float(carbon_formulas.annualise(out["change_tC"], n))
            out["change_tCO2_per_yr"] = out["change_tC_per_yr"] * units.C_TO_CO2
    return out


def _valuation(values: dict[str, Any]) -> float:
    return carbon_formulas.valuation_factor(
        values["price_per_metric_ton_of_c"],
        values["lulc_alt_year"] - values["lulc_bas_year"],
        values["discount_rate"],
        values["rate_change"],
    )


def _valuation_args(values: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "price_per_metric_ton_of_c",
        "discount_rate",
        "rate_change",
        "lulc_bas_year",
        "lulc_alt_year",
    )
    return {k: values[k] for k in keys}


CARBON_UNITS = {
    "stock_base_tC": units.T_C,
    "stock_alt_tC": units.T_C,
    "change_tC": units.T_C,
    "change_tCO2": units.T_CO2,
    "change_tC_per_yr": units.T_C_PER_YR,
    "change_tCO2_per_yr": units.T_CO2_PER_YR,
    "change_tC_invest_convention": units.T_C,
    "n_years": "yr",
    "npv": "currency (price units of price_per_metric_ton_of_c)",
}


CARBON_NOTES = [
    "Pixel densities are t C ha-1 (float32, as InVEST); totals are Σ density × pixel area / 10 000.",
    "InVEST drops pixels whose change is exactly −1 t C/ha (its nodata); change_tC keeps them "
    "(change_tC_invest_convention shows InVEST's figure when they exist).",
    "InVEST's intermediate per-pool rasters are not written.",
]
