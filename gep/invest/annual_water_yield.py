"""InVEST 3.20 annual water yield on InVEST inputs: Budyko per pixel, sums per watershed.

The Budyko pass is a numba kernel (:func:`gep.kernels.water.annual_water_yield_by_class`),
imported when first called: numba's import and the loading of the kernel from its cache cost
a process about 0.5 s of CPU, which overlapping with the decoding of the inputs did not hide
on 2 cores (measured: both are CPU-bound). A numpy Budyko pass would avoid that cost but is not
bit for bit the same: numpy's float32 ``power`` (SIMD, chosen by CPU) differs from the C
library's ``powf`` that numba calls in the last bit on a fifth of the pixels. The watershed
sums and the nodata pass before writing are numpy. Tables are read without pandas and
GeoPackage watersheds without geopandas (:mod:`gep.invest.vectors`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gep import units
from gep.errors import InputError, TableError
from gep.invest.args import Arg
from gep.invest.common import feature_mask, table_codes
from gep.invest.frame import (
    Frame,
    Layer,
    RasterLayer,
    check_codes,
    class_values,
    common_frame,
    raster_grid,
    read_layers,
)
from gep.invest.tables import Column, Table, read_invest_table
from gep.invest.vectors import Features, read_features
from gep.io import bands

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
    biophysical: Table
    sheds: dict[str, Features]
    values: dict[str, Any]
    frame: Frame
    progress: Callable[[str], None]
    demand: Table | None = None
    valuation: Table | None = None


def prepare_awy(
    values: dict[str, Any], args_path: Path, progress: Callable[[str], None]
) -> AWYInputs:
    """Check the water-yield args, grids, watersheds and tables, and read the rasters."""
    keys = ["lulc_path", *(k for k, *_ in AWY_RASTERS)]
    grids = {k: raster_grid(k, values[k]) for k in keys}
    crs = grids["lulc_path"].crs
    sheds = {"watersheds": _read_sheds(values["watersheds_path"], "ws_id", crs)}
    if values["sub_watersheds_path"] is not None:
        sheds["subwatersheds"] = _read_sheds(values["sub_watersheds_path"], "subws_id", crs)
    bbox = sheds["watersheds"].bounds
    frame = common_frame("lulc_path", grids, {k: values[k] for k in keys}, bbox=bbox)
    table = read_invest_table(
        values["biophysical_table_path"],
        table="biophysical table",
        index="lucode",
        columns=BIOPHYSICAL_COLUMNS,
    )
    blank = table.index[(table["lulc_veg"] == 1) & np.isnan(table["root_depth"])].tolist()
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
    landcover, *read = read_layers(layers, frame)
    check_codes(
        landcover, table_codes(table), table=values["biophysical_table_path"], raster="lulc_path"
    )
    rasters = dict(zip((name for _, name, _, _ in AWY_RASTERS), read, strict=True))
    demand, valuation = _demand_tables(values, landcover, sheds["watersheds"])
    return AWYInputs(rasters, landcover, table, sheds, values, frame, progress, demand, valuation)


def _read_sheds(path: Path, id_field: str, crs: Any) -> Features:
    return read_features(path, name=id_field.replace("_id", "s"), id_field=id_field, crs=crs)


def _demand_tables(
    values: dict[str, Any], landcover: Layer, watersheds: Features
) -> tuple[Table | None, Table | None]:
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
            landcover, table_codes(demand), table=values["demand_table_path"], raster="lulc_path"
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
        missing = sorted(
            int(i) for i in set(watersheds.ids.tolist()) - set(valuation.index.tolist())
        )
        if missing:
            raise TableError(
                f"{values['valuation_table_path']}: ws_id {missing} missing; add a row per watershed"
            )
    return demand, valuation


def execute_awy(inputs: AWYInputs, out: Path) -> dict[str, Any]:
    """Compute water yield with the Budyko kernel; statistics per watershed.

    The arithmetic is that of the ``water_yield`` service
    (:func:`gep.services.water_yield.compute`) on plain arrays: class parameters looked up in
    the precision of the climate rasters (float32 for InVEST's float32 inputs), one fused
    kernel. It runs block after block of :data:`gep.bands.TILE` rows into one reused buffer;
    each block's watershed sums are added up, and its three rasters (InVEST's ``fractp``,
    ``aet``, ``wyield``) go to :class:`gep.bands.RowBlockWriter`, which compresses and writes
    each completed row of tiles: no output raster is ever whole in memory. Volumes
    (m³ = mm × m² × 0.001) are summed from the depths.
    """
    from gep.kernels import lookup
    from gep.kernels import water as water_kernels

    climate = {name: inputs.rasters[name].values for name in AWY_CLIMATE}
    dtype = np.result_type(*climate.values(), np.float32)
    table = inputs.biophysical
    codes = table_codes(table)
    # InVEST's placeholder: root depth 1 mm where the class is not vegetated (unused there).
    root_by_class = np.where(table["lulc_veg"] == 1, table["root_depth"], 1.0)
    columns = (table["kc"], root_by_class, table["lulc_veg"])
    luts = [lookup.build_lut(codes, column, dtype=dtype) for column in columns]
    lut_table, offset = np.stack([lut for lut, _ in luts]), luts[0][1]
    demand = _demand_raster(inputs)
    area = inputs.frame.grid.cell_area_m2()
    sheds = {label: _shed_masks(features, inputs.frame) for label, features in inputs.sheds.items()}
    rows, cols = climate["precipitation"].shape
    buffer = np.empty(3 * min(rows, bands.TILE) * cols, dtype=dtype)
    depth_sum_mm = 0.0  # Σ yield over valid pixels
    inputs.progress("computing water yield")
    names = list(AWY_OUTPUTS)
    with bands.RowBlockWriter(
        [out / "per_pixel" / f"{name}.tif" for name in names],
        (rows, cols),
        crs=inputs.frame.grid.crs,
        transform=inputs.frame.grid.transform,
        names=names,
        units=[AWY_OUTPUTS[name][1] for name in names],
        predictor=3,
    ) as writer:
        for r0 in range(0, rows, bands.TILE):
            r1 = min(r0 + bands.TILE, rows)
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
            # numpy, not numba's parallel passes: one thread and no barrier, which a busy
            # 2-core machine does not stall (measured), and no kernels to load from the cache
            nodata = [np.isnan(values) for values in (fraction, aet, depth)]
            depth_sum_mm += float(np.sum(depth, where=~nodata[2], dtype=np.float64))
            for features in sheds.values():
                for feature in features:
                    feature.add(r0, block, climate["precipitation"], demand, area)
            for values, missing in zip((fraction, aet, depth), nodata, strict=True):
                np.copyto(values, values.dtype.type(bands.FLOAT_NODATA), where=missing)
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
        from gep.kernels.water import watershed_sums

        rows, cols = self.window
        a = max(rows.start, r0)
        b = min(rows.stop, r0 + block["wyield"].shape[0])
        if a >= b:
            return
        here = (slice(a - r0, b - r0), cols)
        full = (slice(a, b), cols)
        s = watershed_sums(
            block["wyield"][here],
            block["aet"][here],
            precipitation[full],
            None if demand is None else demand[full],
            self.mask[a - rows.start : b - rows.start],
            area[a:b],
        )
        for key, value in s.items():
            self.sums[key] = self.sums.get(key, 0) + value


def _shed_masks(features: Features, frame: Frame) -> list[_Shed]:
    m2_per_unit = frame.grid.linear_unit_factor() ** 2
    sheds = []
    for ws_id, geom in zip(features.ids, features.geometries, strict=True):
        window, mask = feature_mask(geom, frame)
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
    return class_values(inputs.landcover, table_codes(demand), demand["demand"], np.float64)


def _hydropower(details: dict[str, dict[str, Any]], valuation: Table) -> None:
    """Hydropower energy (kWh yr-1) and NPV per watershed, InVEST's formulas (UG, AWY valuation)."""
    for ws_id, d in details.items():
        if d.get("rsupply_vl") is None:
            continue
        row = valuation.row(int(ws_id))
        energy = row["efficiency"] * row["fraction"] * row["height"] * d["rsupply_vl"] * 0.00272
        ratio = 1.0 / (1.0 + row["discount"] / 100.0)
        dsum = (
            row["time_span"] if ratio == 1.0 else (1.0 - ratio ** row["time_span"]) / (1.0 - ratio)
        )
        d["hp_energy"] = float(energy)
        d["hp_val"] = float((row["kw_price"] * energy - row["cost"]) * dsum)
