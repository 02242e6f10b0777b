"""Soil retention: RUSLE erosion, sediment delivery ratio and avoided export (InVEST SDR).

Two quantities are kept apart on purpose:

* the **accounting** soil retention of the Chinese GEP standards (MEE 2020 guide; 发改基础〔2022〕
  481号; DB11/T 2059—2022; GB/T 46869—2025): RUSLE potential minus actual erosion,
  ``R·K·LS − R·K·LS·C·P``, on every valid pixel of the classes the method applies to, with LS
  from the DEM (Desmet & Govers 1996 with the upslope area, slope length capped) and **no
  stream mask**, so it depends neither on the SDR stream threshold nor much on the resolution;
  built-up land and water (``rusle_applies = 0``) are outside the method and count 0, not
  their whole potential erosion;
* InVEST SDR's sediment export, avoided export and deposition (and its stream-masked
  ``avoided_erosion`` as ``soil_retention_sdr``), kept for parity with InVEST and for the
  sediment delivered to streams.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import numpy as np
import xarray as xr

from gep import units
from gep.errors import InputError, ParameterError
from gep.kernels.rusle import COVER_FROM_NDVI_FORMS, cover_from_ndvi, ls_factor_area, rusle
from gep.services.spec import (
    GLOBAL,
    Parameter,
    RasterInput,
    RasterOutput,
    Service,
    ServiceInputs,
    ServiceSpec,
    TableInput,
    as_output,
    lookup_classes,
)

#: why InVEST's SDR outputs can be nodata inside a unit
_SDR_NODATA = "InVEST's SDR convention: nodata on streams and where no stream is reached"

SPEC = ServiceSpec(
    name="soil_retention",
    inputs=(
        RasterInput(
            "elevation",
            units=units.METRE,
            valid_range=(-500, 9_000),
            variable="elevation",
            year="fixed",
        ),
        RasterInput(
            "erosivity", units=units.EROSIVITY, valid_range=(0, 100_000), variable="erosivity"
        ),
        RasterInput(
            "erodibility",
            units=units.ERODIBILITY,
            valid_range=(0, 2),
            variable="erodibility",
            year="fixed",
        ),
        RasterInput("landcover", categorical=True, variable="landcover"),
        RasterInput(
            "drainage", categorical=True, optional=True, description="1 = drains to stream"
        ),
        RasterInput(
            "ndvi",
            units=units.DIMENSIONLESS,
            valid_range=(-1.0, 1.0),
            optional=True,
            description="NDVI of the year: C from the C–NDVI relation (cover_from_ndvi) where "
            "known",
            variable="ndvi",
        ),
        TableInput(
            "usle_factors",
            index=("landcover",),
            columns={
                "usle_c": units.DIMENSIONLESS,
                "usle_p": units.DIMENSIONLESS,
                "rusle_applies": units.DIMENSIONLESS,
            },
            valid_ranges={"usle_c": (0.0, 1.0), "usle_p": (0.0, 1.0)},
            flags=("rusle_applies",),
            description="RUSLE C and P per class; rusle_applies = 0 for classes outside the "
            "soil-retention method (built-up land, water)",
            parameters={"usle_c": "usle_c", "usle_p": "usle_p", "rusle_applies": "rusle_applies"},
        ),
    ),
    params=(
        Parameter("flow_dir_algorithm", "", "mfd", choices=("mfd", "d8")),
        Parameter("threshold_flow_accumulation", "pixel", 1000.0, valid_range=(0, 1e12)),
        Parameter("k", units.DIMENSIONLESS, 2.0, valid_range=(1e-9, 1e3), description="Borselli k"),
        Parameter("ic0", units.DIMENSIONLESS, 0.5, valid_range=(-1e3, 1e3), description="IC0"),
        Parameter("sdr_max", units.DIMENSIONLESS, 0.8, valid_range=(0.0, 1.0)),
        Parameter("l_max", units.DIMENSIONLESS, 122.0, valid_range=(1e-9, 1e4)),
        Parameter(
            "max_slope_length_m",
            units.METRE,
            305.0,
            valid_range=(1.0, 1e5),
            description="longest slope length λ_max of the accounting LS (RUSLE: about 1,000 "
            "ft; Renard et al. 1997)",
        ),
        Parameter(
            "downslope_distance",
            "",
            "pixels",
            choices=("pixels", "metres"),
            description="D_dn in pixel steps (InVEST 3.20) or metres (Borselli et al.)",
        ),
        Parameter(
            "cover_from_ndvi",
            "",
            "none",
            choices=COVER_FROM_NDVI_FORMS,
            description="C–NDVI relation replacing the class C where the ndvi raster has a "
            "value (none: the class C everywhere)",
        ),
        Parameter("c_ndvi_alpha", units.DIMENSIONLESS, 2.0, valid_range=(1e-9, 1e3)),
        Parameter("c_ndvi_beta", units.DIMENSIONLESS, 1.0, valid_range=(1e-9, 1e3)),
        Parameter("c_ndvi_ndvi_soil", units.DIMENSIONLESS, 0.05, valid_range=(-1.0, 1.0)),
        Parameter("c_ndvi_ndvi_veg", units.DIMENSIONLESS, 0.85, valid_range=(-1.0, 1.0)),
    ),
    outputs=(
        RasterOutput("soil_loss_potential", units.T_PER_YR, "R·K·LS per pixel, no stream mask"),
        RasterOutput("soil_loss", units.T_PER_YR, "R·K·LS·C·P per pixel, no stream mask"),
        RasterOutput(
            "soil_retention",
            units.T_PER_YR,
            "accounting retention R·K·LS·(1 − C·P); 0 on classes outside the method",
            nodata_note="nodata in an input (the accounting RUSLE has no stream mask)",
        ),
        RasterOutput(
            "soil_retention_sdr", units.T_PER_YR, "InVEST avoided erosion (NaN on streams)"
        ),
        RasterOutput(
            "sediment_export",
            units.T_PER_YR,
            "USLE · SDR",
            nodata_note=_SDR_NODATA,
        ),
        RasterOutput(
            "avoided_export",
            units.T_PER_YR,
            "(RKLS − USLE)·SDR + trapped upslope",
            nodata_note=_SDR_NODATA,
        ),
        RasterOutput("sediment_deposition", units.T_PER_YR, "sediment trapped on the pixel"),
        RasterOutput("sdr", units.DIMENSIONLESS, "sediment delivery ratio"),
    ),
    neighbourhood=GLOBAL,
    accounted=("soil_retention", "avoided_export", "sediment_export"),
    references=(
        "Renard et al. (1997) USDA Agric. Handb. 703 (RUSLE)",
        "Desmet & Govers (1996) J. Soil Water Conserv. 51(5):427–433 (LS)",
        "Borselli et al. (2008) Catena 75:268–277; Vigiak et al. (2012) Geomorphology 138:74–88",
        "Sharp et al., InVEST User's Guide: SDR (natcap.invest 3.20)",
    ),
)

#: sdr_model result key → (output name, is a t ha-1 yr-1 density to convert to t yr-1).
_RESULT_KEYS: dict[str, tuple[str, bool]] = {
    "avoided_erosion": ("soil_retention_sdr", True),
    "sed_export": ("sediment_export", True),
    "avoided_export": ("avoided_export", True),
    "sed_deposition": ("sediment_deposition", True),
    "sdr": ("sdr", False),
}


def compute(inputs: ServiceInputs) -> xr.Dataset:
    """Compute RUSLE soil loss, soil retention and sediment delivery per pixel.

    Accounting quantities (MEE 2020; 481; DB11/T 2059—2022): potential erosion ``R·K·LS``,
    actual ``R·K·LS·C·P`` and retention ``R·K·LS − R·K·LS·C·P`` (Renard et al. 1997) on every
    valid pixel, LS from the pit-filled DEM by Desmet & Govers (1996) with the upslope area and
    the slope length capped at ``max_slope_length_m``
    (:func:`gep.kernels.rusle.ls_factor_area`, nearly independent of the pixel size), without
    InVEST's stream mask; retention is 0 where ``rusle_applies`` is 0. InVEST's quantities
    (LS as InVEST ≥ 3.14 codes it, RKLS masked on streams): SDR, export, avoided export and
    deposition with InVEST 3.20's conventions (Borselli et al. 2008; Vigiak et al. 2012),
    computed as :func:`gep.kernels.sdr.sdr_model` does, by stages in bounded memory
    (:func:`gep.routing.staged_sdr.staged_sdr`: inputs read once by windows, per-pixel steps
    by bands, only the flow passes over whole compact grids; the terrain's routing reused by
    the other years of a run). Densities (t ha-1 yr-1) become t yr-1 per pixel with the cell
    area (``× A/10 000``, A in m²). The outputs are dask arrays over scratch files on disk
    (removed when the outputs are freed), read window by window by whoever uses them.

    Parameters
    ----------
    inputs : ServiceInputs
        ``elevation`` (m), ``erosivity``, ``erodibility``, ``landcover`` with the
        ``usle_factors`` table, optional ``drainage`` and ``ndvi``; routing and SDR
        parameters; the C–NDVI relation (``cover_from_ndvi``, :func:`cover_management`).

    Returns
    -------
    xarray.Dataset
        Soil loss, retention, export, avoided export and deposition in t yr-1 per pixel;
        ``sdr`` (1).

    Examples
    --------
    One pixel with R = 2000, K = 0.02, LS = 1.5, C = 0.1, P = 0.5 retains
    60 − 3 = 57 t ha-1 yr-1 (:func:`gep.kernels.rusle.rusle`); the same pixel of built-up land
    (``rusle_applies = 0``) retains 0.
    """
    staged = importlib.import_module("gep.routing.staged_sdr")
    dem = inputs.elevation
    shape = (int(dem.shape[0]), int(dem.shape[1]))
    cell_x, cell_y = inputs.grid.pixel_size_m()
    cell = float(min(cell_x, cell_y))
    options = {
        "flow_dir_algorithm": inputs.flow_dir_algorithm,
        "downslope_distance": inputs.downslope_distance,
        "cell_size_m": cell,
        "threshold_flow_accumulation": inputs.threshold_flow_accumulation,
        "k": inputs.k,
        "sdr_max": inputs.sdr_max,
        "l_max": inputs.l_max,
    }
    has_drainage = inputs.rasters.get("drainage") is not None
    result = staged.staged_sdr(
        lambda window: _sdr_inputs(inputs, window),
        shape,
        options,
        ic0=inputs.ic0,
        has_drainage=has_drainage,
    )
    view = _Outputs(result, inputs, inputs.grid.cell_area_m2() / units.M2_PER_HA, cell)
    outputs = {name: _lazy(dem, _OutputArray(view, name)) for name in SPEC.output_units}
    return as_output(SPEC, **outputs)


#: The accounting quantities, in the order :func:`accounting_retention` returns them.
_ACCOUNTING = ("soil_loss_potential", "soil_loss", "soil_retention")


def _sdr_inputs(inputs: ServiceInputs, window: tuple[slice, slice]) -> dict[str, np.ndarray]:
    """The SDR's inputs in one window (:data:`gep.routing.staged_sdr.ReadWindow`).

    R and K as read (float32 rasters stay float32: exact, half the memory); C (float64) and
    the float32 C·P of the classes (or of the C–NDVI relation); valid where P is defined. The
    land-cover codes (and NDVI when C comes from it) are kept for the accounting RUSLE, so
    that no input is read twice.
    """
    kernels = importlib.import_module("gep.kernels.sdr")
    rows, cols = window
    classes = inputs.landcover[rows, cols].compute()
    ndvi = _ndvi(inputs, rows, cols)
    c, p, _ = _factors(inputs, classes, ndvi)
    values = {
        "dem": _as_read(inputs.elevation[rows, cols]),
        "erosivity": _as_read(inputs.erosivity[rows, cols]),
        "erodibility": _as_read(inputs.erodibility[rows, cols]),
        "usle_c": c,
        "cover_practice": kernels.cover_practice(c, p),
        "valid": np.isfinite(p),
        "keep_landcover": np.asarray(classes.values),
    }
    if ndvi is not None:
        values["keep_ndvi"] = ndvi
    drainage = inputs.rasters.get("drainage")
    if drainage is not None:
        values["drainage"] = np.asarray(drainage[rows, cols].values) == 1
    return values


class _Outputs:
    """The service's outputs computed window by window from the staged SDR's scratch files.

    InVEST's densities times the cell area (t yr-1, float32 as before), the SDR, and the
    accounting RUSLE (float64) of a window, computed when the window is read: nothing is
    written twice. The three accounting quantities of the last window are kept (they are
    computed together and read one after the other).
    """

    def __init__(
        self, staged: Any, inputs: ServiceInputs, area_ha: np.ndarray, cell: float
    ) -> None:
        self.staged = staged
        self.inputs = inputs
        self.area_ha = area_ha
        self.cell = cell
        self.shape = staged.array("sdr").shape
        self._last: tuple[Any, tuple[np.ndarray, ...]] | None = None
        self._lock = threading.Lock()

    def window(self, name: str, rows: slice, cols: slice) -> np.ndarray:
        """The output ``name`` in the window ``(rows, cols)``."""
        for key, (output, per_ha) in _RESULT_KEYS.items():
            if output == name:
                values = self.staged.band(key, rows, cols)
                return (values * self.area_ha[rows] if per_ha else values).astype(np.float32)
        index = _ACCOUNTING.index(name)
        where = (rows.start, rows.stop, cols.start, cols.stop)
        with self._lock:
            if self._last is None or self._last[0] != where:
                band = _accounting(self.staged, self.inputs, (rows, cols), self.cell)
                self._last = (where, tuple(v * self.area_ha[rows] for v in band))
            return self._last[1][index]


class _OutputArray:
    """One output of :class:`_Outputs` as an array sliced by windows (for dask)."""

    def __init__(self, outputs: _Outputs, name: str) -> None:
        self.outputs = outputs
        self.name = name
        self.shape = outputs.shape
        self.ndim = 2
        self.dtype = np.dtype(np.float64 if name in _ACCOUNTING else np.float32)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = (slice(*k.indices(n)) for k, n in zip(key, self.shape, strict=True))
        return self.outputs.window(self.name, rows, cols)


def _lazy(like: xr.DataArray, array: Any) -> xr.DataArray:
    """A dask-backed DataArray over a window-sliced array, on ``like``'s grid.

    Computed in this process (the synchronous scheduler): the arrays read local scratch
    files.
    """
    import uuid

    import dask.array as dsk

    staged = importlib.import_module("gep.routing.staged_sdr")
    edge = staged.READ_WINDOW
    data = dsk.from_array(
        array, chunks=(edge, edge), name=f"scratch-{uuid.uuid4().hex}", lock=False, asarray=True
    )
    return xr.DataArray(data, coords=like.coords, dims=like.dims)


def _accounting(
    staged: Any, inputs: ServiceInputs, window: tuple[slice, slice], cell: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accounting potential, actual and retained erosion (t ha-1 yr-1) in one window.

    :func:`accounting_retention` with LS from the routed slope and flow accumulation
    (:func:`gep.kernels.rusle.ls_factor_area`), R and K as read, C, P and ``rusle_applies``
    of the window's classes (codes and NDVI kept from the SDR's single read of the inputs).
    """
    valid = staged.band("valid", *window)
    ls = ls_factor_area(
        staged.band("slope_percent", *window),
        np.where(valid, staged.band("flow_accumulation", *window), np.nan),
        cell,
        max_slope_length_m=inputs.max_slope_length_m,
    )
    classes = xr.DataArray(
        staged.kept("keep_landcover", *window), dims=("y", "x"), attrs=inputs.landcover.attrs
    )
    ndvi = staged.kept("keep_ndvi", *window) if "keep_ndvi" in staged.year else None
    c, p, applies = _factors(inputs, classes, ndvi)
    return accounting_retention(
        staged.kept("erosivity", *window),
        staged.kept("erodibility", *window),
        ls,
        c,
        p,
        applies,
        valid,
    )


def _factors(
    inputs: ServiceInputs, classes: xr.DataArray, ndvi: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C (:func:`cover_management`), P (float64) and ``rusle_applies`` (float32) of a window."""
    table = inputs.tables["usle_factors"]
    c = _cover(inputs, classes, ndvi)
    p = lookup_classes(classes, table["usle_p"], dtype=np.float64).values
    applies = lookup_classes(classes, table["rusle_applies"], dtype=np.float32).values
    return c, p, applies


def _ndvi(inputs: ServiceInputs, rows: slice, cols: slice) -> np.ndarray | None:
    """NDVI of the window (float64) when C comes from it, else ``None``."""
    if inputs.cover_from_ndvi == "none":
        return None
    ndvi = inputs.rasters.get("ndvi")
    if ndvi is None:
        raise InputError(
            f"soil_retention: cover_from_ndvi is '{inputs.cover_from_ndvi}' but there is no "
            "ndvi raster for the year; add an entry with variable: ndvi (units: '1') for every "
            "accounted year to the catalog, or set cover_from_ndvi: none"
        )
    return np.asarray(ndvi[rows, cols].values, dtype=np.float64)


def _as_read(da: xr.DataArray) -> np.ndarray:
    """The raster's values in their floating type (float32 stays float32), NaN for nodata."""
    values = np.asarray(da.values)
    return values if values.dtype.kind == "f" else values.astype(np.float64)


def cover_management(
    inputs: ServiceInputs, rows: slice | None = None, cols: slice | None = None
) -> np.ndarray:
    """Cover-management factor C per pixel (float64): the class C, or C from NDVI.

    ``rows`` and ``cols`` restrict it to a window (default: the whole grid).

    With ``cover_from_ndvi`` set, C = f(NDVI) (the fitted C–NDVI relation of ``gep calibrate``,
    :func:`gep.kernels.rusle.cover_from_ndvi`) on the pixels with an NDVI value whose class is
    under the method (``rusle_applies = 1``); the class C elsewhere.

    Raises
    ------
    InputError
        ``cover_from_ndvi`` is set but there is no ``ndvi`` raster.
    """
    rows = slice(None) if rows is None else rows
    cols = slice(None) if cols is None else cols
    return _cover(inputs, inputs.landcover[rows, cols], _ndvi(inputs, rows, cols))


def _cover(inputs: ServiceInputs, classes: xr.DataArray, ndvi: np.ndarray | None) -> np.ndarray:
    """:func:`cover_management` of the land-cover window ``classes`` and its NDVI."""
    table = inputs.tables["usle_factors"]
    c = lookup_classes(classes, table["usle_c"], dtype=np.float64).values
    form = inputs.cover_from_ndvi
    if form == "none" or ndvi is None:
        return c
    if form == "cai" and not inputs.c_ndvi_ndvi_veg > inputs.c_ndvi_ndvi_soil:
        raise ParameterError(
            f"soil_retention: c_ndvi_ndvi_veg ({inputs.c_ndvi_ndvi_veg}) must exceed "
            f"c_ndvi_ndvi_soil ({inputs.c_ndvi_ndvi_soil}) for the Cai relation"
        )
    applies = lookup_classes(classes, table["rusle_applies"], dtype=np.float64).values == 1
    return cover_from_ndvi(
        ndvi,
        c,
        applies,
        form=form,
        alpha=inputs.c_ndvi_alpha,
        beta=inputs.c_ndvi_beta,
        ndvi_soil=inputs.c_ndvi_ndvi_soil,
        ndvi_veg=inputs.c_ndvi_ndvi_veg,
    )


def accounting_retention(
    erosivity: np.ndarray,
    erodibility: np.ndarray,
    ls: np.ndarray,
    usle_c: np.ndarray,
    usle_p: np.ndarray,
    applies: np.ndarray,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RUSLE potential, actual and retained erosion of the accounts, t ha-1 yr-1.

    ``potential = R·K·LS``, ``actual = R·K·LS·C·P``, ``retained = potential − actual``
    (Renard et al. 1997; MEE 2020 GEP guide, soil retention) on every ``valid`` pixel, streams
    included; ``retained = 0`` where ``applies`` is 0 (classes outside the method: built-up
    land and water are not perfect soil retainers). NaN outside ``valid``.

    Examples
    --------
    >>> one = lambda v: np.array([v])
    >>> accounting_retention(one(2000.0), one(0.02), one(1.5), one(0.1), one(0.5),
    ...                      np.array([1.0, 0.0]), np.array([True, True]))[2]
    array([57.,  0.])
    """
    potential, actual, retained = rusle(erosivity, erodibility, ls, usle_c, usle_p)
    ok = np.asarray(valid, dtype=bool) & np.isfinite(ls)
    retained = np.where(np.asarray(applies) == 1, retained, 0.0)
    return tuple(np.where(ok, a, np.nan) for a in (potential, actual, retained))  # type: ignore[return-value]


SERVICE = Service(SPEC, compute)
