"""InVEST 3.20 SDR on InVEST inputs: RUSLE, routing, sediment delivery and export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio.features

from gep import units
from gep.invest.args import Arg
from gep.invest.common import (
    feature_mask,
    nan_total,
    read_vector,
    table_codes,
    vector_bounds,
)
from gep.invest.frame import (
    Frame,
    Layer,
    RasterLayer,
    check_codes,
    class_values,
    common_frame,
    raster_grid,
    read_layer,
    read_layers,
    write_layer,
)
from gep.invest.tables import Column, Table, read_invest_table
from gep.io.bands import BackgroundWriter
from gep.kernels import reductions

if TYPE_CHECKING:
    import geopandas as gpd


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
    usle: Table
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
    bbox = vector_bounds(watersheds)
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
        landcover, table_codes(table), table=values["biophysical_table_path"], raster="lulc_path"
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
    """Run the SDR on the mutually masked inputs and total the outputs in t yr-1.

    The model runs by stages (:func:`gep.routing.staged_sdr.staged_sdr`: the same numbers as
    :func:`gep.kernels.sdr.sdr_model`, in bounded memory): the inputs are handed over window
    by window and freed once read; each output is then read back, written and totalled one at
    a time.
    """
    from gep.kernels.sdr import cover_practice
    from gep.routing.staged_sdr import staged_sdr

    codes = table_codes(inputs.usle)
    usle_c = inputs.usle["usle_c"]
    # C·P per class in float64, then float32 per pixel: InVEST's cp.tif, bit for bit
    cp = cover_practice(usle_c, inputs.usle["usle_p"])
    arrays = {n: inputs.rasters.pop(r).values for n, r in SDR_KERNEL_INPUTS.items()}
    arrays["usle_c"] = class_values(inputs.landcover, codes, usle_c, np.float32)
    arrays["cover_practice"] = class_values(inputs.landcover, codes, cp, np.float32)
    arrays["valid"] = inputs.inside & np.logical_and.reduce(
        [np.isfinite(a) for a in arrays.values()]
    )
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
    shape = arrays["dem"].shape
    result = staged_sdr(
        lambda window: {name: a[window] for name, a in arrays.items()},
        shape,
        options,
        ic0=v["ic_0_param"],
        has_drainage=inputs.drainage is not None,
        on_read=arrays.clear,
    )
    inputs.drainage = None
    summary = _write_outputs(result, inputs, out)
    summary["notes"] = SDR_NOTES
    return summary


def _write_outputs(result: Any, inputs: SDRInputs, out: Path) -> dict[str, Any]:
    """Write each output raster and total it per watershed and over all pixels, one by one."""
    ha_per_px = inputs.frame.pixel_area_m2 / units.M2_PER_HA
    summary: dict[str, Any] = {"units": {}, "pixel_area_m2": inputs.frame.pixel_area_m2}
    per_shed: dict[str, dict[str, float]] = {}
    with BackgroundWriter() as writer:
        for key, (name, total_key) in SDR_OUTPUTS.items():
            values = result.array(key).load()  # InVEST's float32 rasters
            unit = units.DIMENSIONLESS if key == "sdr" else units.T_PER_HA_PER_YR
            write_layer(
                inputs.frame, values, out / f"{name}.tif", name=name, units=unit, writer=writer
            )
            if total_key is None:
                continue
            sheds = _sdr_watersheds(inputs.watersheds, inputs.frame, {total_key: values}, ha_per_px)
            for ws_id, sums in sheds.items():
                per_shed.setdefault(ws_id, {}).update(sums)
            # InVEST reports per-watershed sums; the total is their sum (as the peer totals)
            summary[total_key] = float(sum(d[total_key] for d in per_shed.values()))
            summary[f"{total_key}_pixel_sum"] = nan_total(values) * ha_per_px
            summary["units"][total_key] = summary["units"][f"{total_key}_pixel_sum"] = (
                units.T_PER_YR
            )
            del values
    summary["watersheds"] = per_shed
    return summary


def _sdr_watersheds(
    watersheds: gpd.GeoDataFrame, frame: Frame, rasters: dict[str, np.ndarray], ha_per_px: float
) -> dict[str, dict[str, float]]:
    """Σ pixel values (t ha-1 yr-1) × pixel area (ha) per watershed polygon, t yr-1."""
    ids = watersheds["ws_id"] if "ws_id" in watersheds.columns else watersheds.index
    out: dict[str, dict[str, float]] = {}
    for ws_id, geom in zip(ids, watersheds.geometry, strict=True):
        window, mask = feature_mask(geom, frame)
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
