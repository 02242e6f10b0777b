"""Runners of the InVEST-compatible models: carbon, annual water yield, SDR.

Each runner declares its InVEST args, a ``prepare`` step that checks and reads everything
(raising before any computation) and an ``execute`` step that computes, writes the InVEST-named
rasters into the staging folder and returns the summary. Helpers live in :mod:`gep.invest`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import rasterio.features

from gep import fastio, units
from gep.errors import InputError, TableError
from gep.fastio import BackgroundWriter
from gep.invest import (
    Arg,
    Frame,
    Layer,
    Progress,
    RasterLayer,
    check_codes,
    class_values,
    common_frame,
    raster_grid,
    read_layer,
    read_layers,
    write_layer,
)
from gep.invest_tables import Column, read_invest_table
from gep.kernels import carbon as carbon_kernels
from gep.kernels import reductions
from gep.kernels import water as water_kernels

if TYPE_CHECKING:
    import geopandas as gpd


@dataclass(frozen=True)
class Runner:
    """An InVEST-compatible model: its args, a checking/reading step and a computing step."""

    args: tuple[Arg, ...]
    prepare: Callable[[dict[str, Any], Path, Callable[[str], None]], Any]
    execute: Callable[[Any, Path], dict[str, Any]]


def read_vector(path: Path, *, name: str) -> gpd.GeoDataFrame:
    """Read a vector arg (geopandas is imported here: the carbon model does not need it)."""
    from data_catalog.vectors import read_vector as read

    return read(path, name=name)


def _table_codes(table: pd.DataFrame) -> np.ndarray:
    return table.index.to_numpy(dtype=np.int64)


# ----------------------------------------------------------------------------------------------
# carbon

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
    density: pd.Series
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
    lulc = dict(zip(scenarios, read_layers(layers, frame, warm=_warm_carbon), strict=True))
    codes = _table_codes(table)
    with ThreadPoolExecutor(max_workers=2) as pool:  # the presence kernel releases the GIL
        checks = [
            pool.submit(
                check_codes,
                layer,
                codes,
                table=values["carbon_pools_path"],
                raster=f"lulc_{s}_path",
            )
            for s, layer in lulc.items()
        ]
        for check in checks:
            check.result()  # MissingClassError naming the map and the codes
    # InVEST maps each pool to a float32 raster and adds the four in float32, left to right.
    density = pd.Series(carbon_kernels.total_pool_density(table.to_numpy()), index=table.index)
    return CarbonInputs(lulc, density, values, frame, progress)


def _class_dtype(dtype: np.dtype) -> np.dtype:
    """Type of land-cover codes in memory: integer files keep theirs, float files become int64."""
    return dtype if np.issubdtype(dtype, np.integer) else np.dtype(np.int64)


def _warm_carbon(dtypes: list[np.dtype]) -> None:
    """Load the carbon pass for these land-cover types from numba's cache (tiny arrays)."""
    bas, alt = (np.zeros((1, 1), _class_dtype(d)) for d in (dtypes[0], dtypes[-1]))
    carbon_kernels.storage_change_npv(
        bas, alt, np.array([0]), np.array([1.0]), nodata_bas=1, nodata_alt=1, factor=1.0, fill=0.0
    )


def execute_carbon(inputs: CarbonInputs, out: Path) -> dict[str, Any]:
    """Compute storage, change and NPV as InVEST does (float32 per pixel, float64 totals).

    Block after block of :data:`gep.fastio.TILE` rows, one fused pass
    (:func:`gep.kernels.carbon.storage_change_npv`) computes the four rasters and their totals
    into one reused buffer, and :class:`gep.fastio.RowBlockWriter` has GDAL compress and write
    each completed row of tiles: no output raster is ever whole in memory. The rasters hold one value per class (pair), so they are written
    without a predictor (3× smaller and faster than the floating-point predictor).
    """
    ha_per_px = inputs.frame.pixel_area_m2 / units.M2_PER_HA
    codes = _table_codes(inputs.density.to_frame())
    bas = inputs.lulc["bas"]
    alt = inputs.lulc.get("alt", bas)
    valued = bool(inputs.values["do_valuation"])
    factor = _valuation(inputs.values) if valued else 0.0
    rasters = _carbon_rasters("alt" in inputs.lulc, valued)
    inputs.progress("computing carbon storage")
    rows, cols = bas.values.shape
    buffer = np.empty(4 * min(rows, fastio.TILE) * cols, dtype=np.float32)
    totals: dict[str, float] = {}
    with fastio.RowBlockWriter(
        [out / f"{name}.tif" for name, _ in rasters],
        (rows, cols),
        crs=inputs.frame.grid.crs,
        transform=inputs.frame.grid.transform,
        names=[name for name, _ in rasters],
        units=[unit for _, unit in rasters],
        predictor=1,
    ) as writer:
        for r0 in range(0, rows, fastio.TILE):
            r1 = min(r0 + fastio.TILE, rows)
            block, sums = carbon_kernels.storage_change_npv(
                bas.values[r0:r1],
                alt.values[r0:r1],
                codes,
                inputs.density.to_numpy(),
                nodata_bas=bas.nodata,
                nodata_alt=alt.nodata,
                factor=factor,
                fill=fastio.FLOAT_NODATA,  # the files' nodata: no pass to replace NaN
                out=buffer,
            )
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
            out["change_tC_per_yr"] = float(carbon_kernels.annualise(out["change_tC"], n))
            out["change_tCO2_per_yr"] = out["change_tC_per_yr"] * units.C_TO_CO2
    return out


def _valuation(values: dict[str, Any]) -> float:
    return carbon_kernels.valuation_factor(
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


def _total(values: np.ndarray) -> float:
    return reductions.nan_sum(values)


# ----------------------------------------------------------------------------------------------
# annual water yield

AWY_ARGS = (
    Arg("lulc_path", "raster", about="land-use/land-cover raster"),
    Arg("depth_to_root_rest_layer_path", "raster", about="root-restricting layer depth, mm"),
    Arg("precipitation_path", "raster", about="annual precipitation, mm"),
    Arg("pawc_path", "raster", about="plant available water content, 0–1"),
    Arg("eto_path", "raster", about="annual reference evapotranspiration, mm"),
    Arg("watersheds_path", "vector", about="watershed polygons with an integer field ws_id"),
    Arg("sub_watersheds_path", "vector", required=False),
    Arg("biophysical_table_path", "csv", about="lucode, lulc_veg, root_depth, kc"),
    Arg("seasonality_constant", "number", minimum=0.0, exclusive=True, about="Z, typically 1–30"),
    Arg("demand_table_path", "csv", required=False),
    Arg("valuation_table_path", "csv", required=False),
)

AWY_RASTERS = (
    ("precipitation_path", "precipitation", units.MM_PER_YR, (0.0, np.inf)),
    ("eto_path", "reference_evapotranspiration", units.MM_PER_YR, (0.0, np.inf)),
    ("depth_to_root_rest_layer_path", "root_restricting_depth", units.MM, (0.0, np.inf)),
    ("pawc_path", "plant_available_water", units.DIMENSIONLESS, (0.0, 1.0)),
)

BIOPHYSICAL_COLUMNS = (
    Column("lulc_veg", flag=True),
    Column("root_depth", "mm", valid_range=(0.0, np.inf), nullable=True),
    Column("kc", "1", valid_range=(0.0, np.inf)),
)


@dataclass
class AWYInputs:
    """Checked inputs of the annual water yield model."""

    rasters: dict[str, Layer]
    landcover: Layer
    biophysical: pd.DataFrame
    sheds: dict[str, tuple[gpd.GeoDataFrame, str]]
    values: dict[str, Any]
    frame: Frame
    progress: Callable[[str], None]
    demand: pd.DataFrame | None = None
    valuation: pd.DataFrame | None = None


def prepare_awy(
    values: dict[str, Any], args_path: Path, progress: Callable[[str], None]
) -> AWYInputs:
    """Check the water-yield args, grids, watersheds and tables, and read the rasters."""
    keys = ["lulc_path", *(k for k, *_ in AWY_RASTERS)]
    grids = {k: raster_grid(k, values[k]) for k in keys}
    crs = grids["lulc_path"].crs
    sheds = {"watersheds": (_read_sheds(values["watersheds_path"], "ws_id", crs), "ws_id")}
    if values["sub_watersheds_path"] is not None:
        sheds["subwatersheds"] = (
            _read_sheds(values["sub_watersheds_path"], "subws_id", crs),
            "subws_id",
        )
    bbox = _bounds(sheds["watersheds"][0])
    frame = common_frame("lulc_path", grids, {k: values[k] for k in keys}, bbox=bbox)
    table = read_invest_table(
        values["biophysical_table_path"],
        table="biophysical table",
        index="lucode",
        columns=BIOPHYSICAL_COLUMNS,
    )
    blank = table.index[(table["lulc_veg"] == 1) & table["root_depth"].isna()].tolist()
    if blank:
        raise TableError(
            f"biophysical table {values['biophysical_table_path']}: root_depth is blank for vegetated "
            f"classes {blank} (lulc_veg = 1); give their root depth in mm"
        )
    progress("reading rasters")
    layers = [RasterLayer("lulc_path", values["lulc_path"], "landcover", categorical=True)]
    layers += [
        RasterLayer(key, values[key], name, units=unit, valid_range=rng)
        for key, name, unit, rng in AWY_RASTERS
    ]
    landcover, *read = read_layers(layers, frame, warm=_warm_awy)
    check_codes(
        landcover, _table_codes(table), table=values["biophysical_table_path"], raster="lulc_path"
    )
    rasters = dict(zip((name for _, name, _, _ in AWY_RASTERS), read, strict=True))
    demand, valuation = _demand_tables(values, landcover, sheds["watersheds"][0])
    return AWYInputs(rasters, landcover, table, sheds, values, frame, progress, demand, valuation)


def _bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    return minx, miny, maxx, maxy


def _read_sheds(path: Path, id_field: str, crs: Any) -> gpd.GeoDataFrame:
    gdf = read_vector(path, name=id_field.replace("_id", "s"))
    columns = {c.lower(): c for c in gdf.columns}
    if id_field not in columns:
        raise InputError(
            f"{path}: expected the field '{id_field}' but did not find it (fields: {list(gdf.columns)}); "
            "add an integer id field"
        )
    gdf = gdf.rename(columns={columns[id_field]: id_field})
    ids = pd.to_numeric(gdf[id_field], errors="coerce")
    if ids.isna().any() or (ids != ids.round()).any():
        raise InputError(f"{path}: field '{id_field}' must hold integers on every feature")
    if ids.duplicated().any():
        raise InputError(
            f"{path}: field '{id_field}' repeats {sorted(set(ids[ids.duplicated()].astype(int)))}; "
            "ids must be unique to report one volume per watershed"
        )
    gdf[id_field] = ids.astype(np.int64)
    if gdf.crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)  # InVEST requires one projection; reprojecting is harmless here
    return gdf


def _demand_tables(
    values: dict[str, Any], landcover: Layer, watersheds: gpd.GeoDataFrame
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Optional demand (m3 yr-1 per pixel by class) and hydropower valuation tables."""
    demand = valuation = None
    if values["demand_table_path"] is not None:
        demand = read_invest_table(
            values["demand_table_path"],
            table="water demand table",
            index="lucode",
            columns=(Column("demand", "m3 yr-1"),),
        )
        check_codes(
            landcover, _table_codes(demand), table=values["demand_table_path"], raster="lulc_path"
        )
    if values["valuation_table_path"] is not None:
        if demand is None:
            raise InputError(
                "valuation_table_path needs demand_table_path (InVEST values realised supply)"
            )
        cols = ("efficiency", "fraction", "height", "kw_price", "cost", "time_span", "discount")
        valuation = read_invest_table(
            values["valuation_table_path"],
            table="hydropower valuation table",
            index="ws_id",
            columns=tuple(Column(c) for c in cols),
        )
        missing = sorted(set(watersheds["ws_id"]) - set(valuation.index))
        if missing:
            raise TableError(
                f"{values['valuation_table_path']}: ws_id {missing} missing; add a row per watershed"
            )
    return demand, valuation


def _warm_awy(dtypes: list[np.dtype]) -> None:
    """Load the water-yield kernels for these raster types from numba's cache (tiny arrays)."""
    classes = np.zeros((2, 2), _class_dtype(dtypes[0]))
    ctype = np.result_type(*(fastio.value_dtype(d) for d in dtypes[1:]), np.float32)
    c = np.ones((2, 2), ctype)
    water_kernels.annual_water_yield_by_class(
        classes, np.ones((3, 1), ctype), 0, None, c, c, c, c, 5.0
    )
    reductions.nan_sum(c)  # the whole-area volume
    v = np.ones((3, 3), ctype)[:2, :2]  # watershed windows are views
    water_kernels.watershed_sums(v, v, v, None, np.ones((2, 2), dtype=bool), np.ones((2, 1)))
    fastio.fill_nan(c, 0.0)


def execute_awy(inputs: AWYInputs, out: Path) -> dict[str, Any]:
    """Compute water yield with the Budyko kernel; statistics per watershed.

    The arithmetic is that of the ``water_yield`` service
    (:func:`gep.services.water_yield.compute`) on plain arrays: class parameters looked up in
    the precision of the climate rasters (float32 for InVEST's float32 inputs), one fused
    kernel. It runs block after block of :data:`gep.fastio.TILE` rows into one reused buffer;
    each block's watershed sums are added up, and its three rasters (InVEST's ``fractp``,
    ``aet``, ``wyield``) go to :class:`gep.fastio.RowBlockWriter`, which compresses and writes
    each completed row of tiles: no output raster is ever whole in memory. Volumes
    (m³ = mm × m² × 0.001) are summed from the depths.
    """
    from gep.kernels import lookup

    climate = {name: inputs.rasters[name].values for name in AWY_CLIMATE}
    dtype = np.result_type(*climate.values(), np.float32)
    table = inputs.biophysical
    codes = _table_codes(table)
    # InVEST's placeholder: root depth 1 mm where the class is not vegetated (unused there).
    root_by_class = table["root_depth"].where(table["lulc_veg"] == 1, 1.0).to_numpy()
    columns = (table["kc"].to_numpy(dtype=np.float64), root_by_class, table["lulc_veg"].to_numpy())
    luts = [lookup.build_lut(codes, column, dtype=dtype) for column in columns]
    lut_table, offset = np.stack([lut for lut, _ in luts]), luts[0][1]
    demand = _demand_raster(inputs)
    area = inputs.frame.grid.cell_area_m2()
    sheds = {
        label: _shed_masks(gdf, id_field, inputs.frame)
        for label, (gdf, id_field) in inputs.sheds.items()
    }
    rows, cols = climate["precipitation"].shape
    buffer = np.empty(3 * min(rows, fastio.TILE) * cols, dtype=dtype)
    depth_sum_mm = 0.0  # Σ yield over valid pixels
    inputs.progress("computing water yield")
    names = list(AWY_OUTPUTS)
    with fastio.RowBlockWriter(
        [out / "per_pixel" / f"{name}.tif" for name in names],
        (rows, cols),
        crs=inputs.frame.grid.crs,
        transform=inputs.frame.grid.transform,
        names=names,
        units=[AWY_OUTPUTS[name][1] for name in names],
        predictor=3,
    ) as writer:
        for r0 in range(0, rows, fastio.TILE):
            r1 = min(r0 + fastio.TILE, rows)
            fraction, aet, depth = water_kernels.annual_water_yield_by_class(
                inputs.landcover.values[r0:r1],
                lut_table,
                offset,
                inputs.landcover.nodata,
                climate["reference_evapotranspiration"][r0:r1],
                climate["precipitation"][r0:r1],
                climate["root_restricting_depth"][r0:r1],
                climate["plant_available_water"][r0:r1],
                inputs.values["seasonality_constant"],
                out=buffer,
            )
            block = {"wyield": depth, "aet": aet}
            depth_sum_mm += reductions.nan_sum(depth)
            for features in sheds.values():
                for feature in features:
                    feature.add(r0, block, climate["precipitation"], demand, area)
            for values in (fraction, aet, depth):
                fastio.fill_nan(values, fastio.FLOAT_NODATA)
            writer.write(r0, [fraction, aet, depth])
    # mm × m² × 0.001 m mm-1 = m³: the grid is projected (raster_grid), one cell area
    volume_m3 = depth_sum_mm * inputs.frame.pixel_area_m2 * units.MM_TO_M
    summary = _awy_summary(inputs, volume_m3, sheds)
    summary["notes"] = AWY_NOTES
    return summary


@dataclass
class _Shed:
    """One watershed polygon: its pixel-centre mask on the grid and its running sums."""

    ws_id: str
    area_m2: float
    window: tuple[slice, slice]
    mask: np.ndarray
    sums: dict[str, float]

    def add(
        self,
        r0: int,
        block: dict[str, np.ndarray],
        precipitation: np.ndarray,
        demand: np.ndarray | None,
        area: np.ndarray,
    ) -> None:
        """Add the sums over the rows of block ``r0 ..`` that the watershed covers."""
        rows, cols = self.window
        a = max(rows.start, r0)
        b = min(rows.stop, r0 + block["wyield"].shape[0])
        if a >= b:
            return
        here = (slice(a - r0, b - r0), cols)
        full = (slice(a, b), cols)
        s = water_kernels.watershed_sums(
            block["wyield"][here],
            block["aet"][here],
            precipitation[full],
            None if demand is None else demand[full],
            self.mask[a - rows.start : b - rows.start],
            area[a:b],
        )
        for key, value in s.items():
            self.sums[key] = self.sums.get(key, 0) + value


def _shed_masks(gdf: gpd.GeoDataFrame, id_field: str, frame: Frame) -> list[_Shed]:
    m2_per_unit = frame.grid.linear_unit_factor() ** 2
    sheds = []
    for ws_id, geom in zip(gdf[id_field], gdf.geometry, strict=True):
        window, mask = _feature_mask(geom, frame)
        sheds.append(_Shed(str(int(ws_id)), float(geom.area) * m2_per_unit, window, mask, {}))
    return sheds


def _awy_summary(
    inputs: AWYInputs, volume_m3: float, sheds: dict[str, list[_Shed]]
) -> dict[str, Any]:
    inputs.progress("watershed totals")
    summary: dict[str, Any] = {
        "units": {
            "wyield_volume_m3": units.M3_PER_YR,
            "wyield_volume_pixel_sum_m3": units.M3_PER_YR,
            "watersheds": units.M3_PER_YR,
            "watersheds_pixel_sum_m3": units.M3_PER_YR,
        },
        "wyield_volume_pixel_sum_m3": volume_m3,
        "pixel_area_m2": inputs.frame.pixel_area_m2,
    }
    for label, features in sheds.items():
        details = {f.ws_id: _shed_details(f, inputs.demand is not None) for f in features}
        if label == "watersheds" and inputs.valuation is not None:
            _hydropower(details, inputs.valuation)
        summary[label] = {k: d["wyield_vol"] for k, d in details.items()}
        summary[f"{label}_pixel_sum_m3"] = {k: d["wyield_pixel_sum_m3"] for k, d in details.items()}
        summary[f"{label}_details"] = details
    summary["wyield_volume_m3"] = float(
        sum(v for v in summary["watersheds"].values() if v is not None)
    )
    return summary


def _shed_details(shed: _Shed, with_demand: bool) -> dict[str, Any]:
    """InVEST's watershed_results_wyield fields (and ours) from the watershed's sums."""
    s = {k: shed.sums.get(k, 0) for k in ("wyield_sum", "wyield_n", "wyield_m3", "aet_sum")}
    s.update({k: shed.sums.get(k, 0) for k in ("aet_n", "precip_sum", "precip_n")})
    s.update({k: shed.sums.get(k, 0) for k in ("demand_sum", "demand_n")})
    count = int(s["wyield_n"])
    mean = s["wyield_sum"] / count if count else None
    d: dict[str, Any] = {
        "wyield_mn": mean,
        "wyield_vol": mean * shed.area_m2 / 1000.0 if mean is not None else None,
        "wyield_pixel_sum_m3": float(s["wyield_m3"]),
        "polygon_area_m2": shed.area_m2,
        "valid_pixels": count,
        "aet_mn": s["aet_sum"] / s["aet_n"] if s["aet_n"] else None,
        "precip_mn": s["precip_sum"] / s["precip_n"] if s["precip_n"] else None,
    }
    if with_demand:
        d["consum_vol"] = float(s["demand_sum"])
        d["consum_mn"] = s["demand_sum"] / s["demand_n"] if s["demand_n"] else None
        if d["wyield_vol"] is not None and d["consum_mn"] is not None:
            d["rsupply_vl"] = d["wyield_vol"] - d["consum_vol"]
    return d


#: InVEST per-pixel raster name → (water_yield service output, units).
AWY_OUTPUTS = {
    "fractp": ("aet_fraction", units.DIMENSIONLESS),
    "aet": ("actual_evapotranspiration", units.MM_PER_YR),
    "wyield": ("water_yield_depth", units.MM_PER_YR),
}

#: Climate and soil rasters of the water yield kernel.
AWY_CLIMATE = (
    "precipitation",
    "reference_evapotranspiration",
    "root_restricting_depth",
    "plant_available_water",
)

AWY_NOTES = [
    "wyield_volume_m3: Σ over watersheds of InVEST's wyield_vol; wyield_volume_pixel_sum_m3: Σ "
    "pixel volumes (yield × cell area / 1000) over every valid pixel of the analysis area.",
    "watersheds: InVEST's wyield_vol = mean valid-pixel yield (mm) × polygon area (m2) / 1000 (m3 yr-1).",
    "watersheds_pixel_sum_m3: Σ pixel yield × cell area / 1000 over pixels whose centre is in the "
    "polygon; the accounting form when polygons and pixels do not match.",
    "Polygons are rasterised at pixel centres (as pygeoprocessing.zonal_statistics); a polygon "
    "that holds no pixel centre uses every pixel it touches.",
    "Hydropower NPV with a 0 % discount rate: InVEST returns 0 (its dsum stays 0); we use the "
    "limit dsum = time_span.",
    "Per-pixel outputs are InVEST's fractp, aet and wyield; a per-pixel volume raster is not "
    "written (volume = wyield × cell area / 1000, m3 yr-1).",
]


def _demand_raster(inputs: AWYInputs) -> np.ndarray | None:
    demand = inputs.demand
    if demand is None:
        return None
    return class_values(
        inputs.landcover, _table_codes(demand), demand["demand"].to_numpy(), np.float64
    )


def _feature_mask(geom: Any, frame: Frame) -> tuple[tuple[slice, slice], np.ndarray]:
    """Window of the grid around ``geom`` and the pixel-centre mask of ``geom`` in it."""
    grid = frame.grid
    rows, cols = grid.shape
    resx, resy = grid.res
    left, _, _, top = grid.bounds
    minx, miny, maxx, maxy = geom.bounds
    c0 = min(max(int(np.floor((minx - left) / resx)), 0), cols)
    c1 = min(max(int(np.ceil((maxx - left) / resx)), c0), cols)
    r0 = min(max(int(np.floor((top - maxy) / resy)), 0), rows)
    r1 = min(max(int(np.ceil((top - miny) / resy)), r0), rows)
    shape = (r1 - r0, c1 - c0)
    if 0 in shape:
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), dtype=bool)
    transform = grid.transform @ grid.transform.translation(c0, r0)
    mask = rasterio.features.geometry_mask([geom], shape, transform, invert=True)
    if not mask.any():
        mask = rasterio.features.geometry_mask(
            [geom], shape, transform, invert=True, all_touched=True
        )
    return (slice(r0, r1), slice(c0, c1)), mask


def _hydropower(details: dict[str, dict[str, Any]], valuation: pd.DataFrame) -> None:
    """Hydropower energy (kWh yr-1) and NPV per watershed, InVEST's formulas (UG, AWY valuation)."""
    for ws_id, d in details.items():
        if d.get("rsupply_vl") is None:
            continue
        row = valuation.loc[int(ws_id)]
        energy = row["efficiency"] * row["fraction"] * row["height"] * d["rsupply_vl"] * 0.00272
        ratio = 1.0 / (1.0 + row["discount"] / 100.0)
        dsum = (
            row["time_span"] if ratio == 1.0 else (1.0 - ratio ** row["time_span"]) / (1.0 - ratio)
        )
        d["hp_energy"] = float(energy)
        d["hp_val"] = float((row["kw_price"] * energy - row["cost"]) * dsum)


# ----------------------------------------------------------------------------------------------
# SDR

SDR_ARGS = (
    Arg("dem_path", "raster", about="digital elevation model, m"),
    Arg("erosivity_path", "raster", about="rainfall erosivity R, MJ mm ha-1 h-1 yr-1"),
    Arg("erodibility_path", "raster", about="soil erodibility K, t ha h ha-1 MJ-1 mm-1"),
    Arg("lulc_path", "raster", about="land-use/land-cover raster"),
    Arg("watersheds_path", "vector", about="watershed polygons"),
    Arg("biophysical_table_path", "csv", about="lucode, usle_c, usle_p"),
    Arg("threshold_flow_accumulation", "number", minimum=0.0, about="pixels"),
    Arg("k_param", "number", about="Borselli k"),
    Arg("ic_0_param", "number", about="Borselli IC0"),
    Arg("sdr_max", "ratio", about="maximum SDR"),
    Arg("l_max", "number", minimum=0.0, exclusive=True, about="maximum L factor"),
    Arg("flow_dir_algorithm", "option", choices=("d8", "mfd"), about="D8 or MFD"),
    Arg("drainage_path", "raster", required=False),
)

SDR_RASTERS = (
    ("dem_path", "elevation", units.METRE, None, "bilinear"),
    ("erosivity_path", "erosivity", units.EROSIVITY, (0.0, np.inf), "bilinear"),
    ("erodibility_path", "erodibility", units.ERODIBILITY, (0.0, np.inf), "bilinear"),
)

USLE_COLUMNS = (
    Column("usle_c", "1", valid_range=(0.0, 1.0)),
    Column("usle_p", "1", valid_range=(0.0, 1.0)),
)

#: sdr_model input → SDR raster read.
SDR_KERNEL_INPUTS = {"dem": "elevation", "erosivity": "erosivity", "erodibility": "erodibility"}

#: sdr_model result key → (InVEST raster name, summary key of its total in t yr-1).
SDR_OUTPUTS = {
    "rkls": ("rkls", None),
    "usle": ("usle", "usle_t_yr"),
    "avoided_erosion": ("avoided_erosion", "avoided_erosion_t_yr"),
    "sed_export": ("sed_export", "sed_export_t_yr"),
    "avoided_export": ("avoided_export", "avoided_export_t_yr"),
    "sed_deposition": ("sed_deposition", "sed_deposition_t_yr"),
    "sdr": ("sdr_factor", None),
}


@dataclass
class SDRInputs:
    """Checked inputs of the SDR model."""

    rasters: dict[str, Layer]
    landcover: Layer
    usle: pd.DataFrame
    drainage: np.ndarray | None
    watersheds: gpd.GeoDataFrame
    inside: np.ndarray
    values: dict[str, Any]
    frame: Frame
    progress: Callable[[str], None]


def prepare_sdr(
    values: dict[str, Any], args_path: Path, progress: Callable[[str], None]
) -> SDRInputs:
    """Check the SDR args, grids, watersheds and table; read and mutually mask the rasters."""
    keys = [k for k, *_ in SDR_RASTERS] + ["lulc_path"]
    if values["drainage_path"] is not None:
        keys.append("drainage_path")
    grids = {k: raster_grid(k, values[k]) for k in keys}
    watersheds = read_vector(values["watersheds_path"], name="watersheds")
    if watersheds.crs is not None and watersheds.crs != grids["dem_path"].crs:
        watersheds = watersheds.to_crs(grids["dem_path"].crs)
    bbox = _bounds(watersheds)
    methods = {
        "lulc_path": "mode",
        "drainage_path": "near",
        "erosivity_path": "bilinear",
        "erodibility_path": "bilinear",
    }
    frame = common_frame(
        "dem_path", grids, {k: values[k] for k in keys}, bbox=bbox, resampling=methods
    )
    table = read_invest_table(
        values["biophysical_table_path"],
        table="biophysical table",
        index="lucode",
        columns=USLE_COLUMNS,
    )
    progress("reading rasters")
    layers = [RasterLayer("lulc_path", values["lulc_path"], "landcover", categorical=True)]
    layers += [
        RasterLayer(key, values[key], name, units=unit, valid_range=rng)
        for key, name, unit, rng, _ in SDR_RASTERS
    ]
    landcover, *read = read_layers(layers, frame)
    check_codes(
        landcover, _table_codes(table), table=values["biophysical_table_path"], raster="lulc_path"
    )
    rasters = dict(zip((r[1] for r in SDR_RASTERS), read, strict=True))
    drainage = None
    if values["drainage_path"] is not None:
        d = read_layer(
            RasterLayer("drainage_path", values["drainage_path"], "drainage", categorical=True),
            frame,
        )
        drainage = np.asarray(d.values) == 1
    inside = rasterio.features.geometry_mask(
        list(watersheds.geometry), frame.grid.shape, frame.grid.transform, invert=True
    )
    return SDRInputs(
        rasters, landcover, table, drainage, watersheds, inside, values, frame, progress
    )


def execute_sdr(inputs: SDRInputs, out: Path) -> dict[str, Any]:
    """Run the SDR kernel on the mutually masked inputs and total the outputs in t yr-1."""
    from gep.kernels.sdr import cover_practice, sdr_from_arrays

    codes = _table_codes(inputs.usle)
    usle_c = inputs.usle["usle_c"].to_numpy(dtype=np.float64)
    # C·P per class in float64, then float32 per pixel: InVEST's cp.tif, bit for bit
    cp = cover_practice(usle_c, inputs.usle["usle_p"].to_numpy(dtype=np.float64))
    arrays = {n: inputs.rasters.pop(r).values for n, r in SDR_KERNEL_INPUTS.items()}
    arrays["usle_c"] = class_values(inputs.landcover, codes, usle_c, np.float32)
    arrays["cover_practice"] = class_values(inputs.landcover, codes, cp, np.float32)
    valid = inputs.inside & np.logical_and.reduce([np.isfinite(a) for a in arrays.values()])
    if inputs.drainage is not None:
        arrays["drainage"] = inputs.drainage
    inputs.progress("routing and sediment delivery")
    cell_x, cell_y = inputs.frame.grid.pixel_size_m()
    v = inputs.values
    options = {
        "flow_dir_algorithm": v["flow_dir_algorithm"],
        "downslope_distance": "pixels",
        "cell_size_m": float(min(cell_x, cell_y)),
        "threshold_flow_accumulation": v["threshold_flow_accumulation"],
        "k": v["k_param"],
        "sdr_max": v["sdr_max"],
        "l_max": v["l_max"],
    }
    # the kernel takes the arrays over and frees each one after its last use
    result = sdr_from_arrays(arrays, valid, options, keep=tuple(SDR_OUTPUTS), ic0=v["ic_0_param"])
    del arrays, valid
    ha_per_px = inputs.frame.pixel_area_m2 / units.M2_PER_HA
    summary: dict[str, Any] = {"units": {}, "pixel_area_m2": inputs.frame.pixel_area_m2}
    rasters: dict[str, np.ndarray] = {}
    with BackgroundWriter() as writer:
        for key, (name, total_key) in SDR_OUTPUTS.items():
            values = np.asarray(result.pop(key), dtype=np.float32)  # InVEST's float32 rasters
            unit = units.DIMENSIONLESS if key == "sdr" else units.T_PER_HA_PER_YR
            write_layer(
                inputs.frame, values, out / f"{name}.tif", name=name, units=unit, writer=writer
            )
            if total_key is not None:
                rasters[total_key] = values
        per_shed = _sdr_watersheds(inputs.watersheds, inputs.frame, rasters, ha_per_px)
    for total_key, values in rasters.items():
        # InVEST reports per-watershed sums; the total is their sum (as the peer totals)
        summary[total_key] = float(sum(d[total_key] for d in per_shed.values()))
        summary[f"{total_key}_pixel_sum"] = _total(values) * ha_per_px
        summary["units"][total_key] = summary["units"][f"{total_key}_pixel_sum"] = units.T_PER_YR
    summary["watersheds"] = per_shed
    summary["notes"] = SDR_NOTES
    return summary


def _sdr_watersheds(
    watersheds: gpd.GeoDataFrame, frame: Frame, rasters: dict[str, np.ndarray], ha_per_px: float
) -> dict[str, dict[str, float]]:
    """Σ pixel values (t ha-1 yr-1) × pixel area (ha) per watershed polygon, t yr-1."""
    ids = watersheds["ws_id"] if "ws_id" in watersheds.columns else watersheds.index
    out: dict[str, dict[str, float]] = {}
    for ws_id, geom in zip(ids, watersheds.geometry, strict=True):
        window, mask = _feature_mask(geom, frame)
        out[str(ws_id)] = {
            key: reductions.masked_sum_count(values[window], mask)[0] * ha_per_px
            for key, values in rasters.items()
        }
    return out


SDR_NOTES = [
    "Rasters are t ha-1 yr-1 (InVEST ≥ 3.15); per-watershed values are Σ pixel × pixel area / "
    "10 000 (t yr-1) over pixel centres in the polygon; totals are the sum over watersheds, as "
    "InVEST reports them; *_pixel_sum are Σ over every valid pixel (no double counting).",
    "D_dn is measured in pixel steps as InVEST 3.20 does (not metres).",
    "Inputs must already share the DEM's pixel lattice: InVEST's bilinear/mode resampling is not "
    "repeated silently.",
]


MODELS: dict[str, Runner] = {
    "carbon": Runner(CARBON_ARGS, prepare_carbon, execute_carbon),
    "annual_water_yield": Runner(AWY_ARGS, prepare_awy, execute_awy),
    "sdr": Runner(SDR_ARGS, prepare_sdr, execute_sdr),
}

__all__ = ["MODELS", "Progress", "Runner"]
