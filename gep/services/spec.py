"""The service contract: declarative specs, validated inputs and unit-carrying outputs.

A service is a :class:`ServiceSpec` (inputs with units, parameters, outputs with units) plus a
short ``compute(inputs: ServiceInputs) -> xr.Dataset``. :meth:`ServiceInputs.build` checks every
input against the spec (presence, grid, units, class coverage of tables, parameter ranges) and
raises before any computation; :func:`as_output` checks that ``compute`` returns exactly the
declared outputs and attaches their units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from data_catalog.grid import Grid
from gep.errors import (
    InputError,
    MissingClassError,
    ParameterError,
    TableError,
)
from gep.kernels import lookup
from gep.services.pixelwise import apply_pixelwise, as_output, lookup_classes, reclassify
from gep.units import conversion_factor

__all__ = [
    "GLOBAL",
    "Parameter",
    "RasterInput",
    "RasterOutput",
    "Service",
    "ServiceInputs",
    "ServiceSpec",
    "TableInput",
    "apply_pixelwise",
    "as_output",
    "check_classes_covered",
    "lookup_classes",
    "reclassify",
]

#: ``neighbourhood`` of a service whose computation is global (flow routing over a basin).
GLOBAL = -1


@dataclass(frozen=True)
class RasterInput:
    """A raster input of a service.

    Parameters
    ----------
    name : str
        Input name (domain term in full, e.g. ``"precipitation"``).
    units : str, optional
        Canonical units the service computes in (required unless ``categorical``).
    categorical : bool
        Integer class codes (land cover).
    valid_range : tuple of float, optional
        Physically valid range, in ``units``.
    optional : bool
        The service runs without it.
    description : str
        One line for documentation and messages.
    variable : str, optional
        Catalog variable the pipeline reads for this input (``None``: the pipeline does not
        supply it, e.g. an optional input given only by library callers).
    year : {"run", "fixed", "previous"}
        Which of the variable's layers: the accounted year's (``run``), the catalog's only one
        (``fixed``: soils, terrain), or the latest before the accounted year (``previous``:
        the first map of a change).
    """

    name: str
    units: str | None = None
    categorical: bool = False
    valid_range: tuple[float, float] | None = None
    optional: bool = False
    description: str = ""
    variable: str | None = None
    year: str = "run"


@dataclass(frozen=True)
class TableInput:
    """A per-class parameter table keyed by the classes of categorical raster(s).

    Parameters
    ----------
    name : str
        Table name.
    index : tuple of str
        Categorical raster input(s) whose classes must all be rows of the table.
    columns : mapping of str to str
        Required column → units.
    valid_ranges : mapping of str to (float, float)
        Column → inclusive valid range.
    nullable : tuple of str
        Columns that may be blank (NaN); the meaning is documented by the service.
    flags : tuple of str
        Columns that must hold 0 or 1.
    description : str
        One line for documentation and messages.
    parameters : mapping of str to str
        Column → parameter of the catalog's ecosystem-type parameter table (``ecosystem_type,
        parameter, value``) the pipeline builds the table from; empty when the pipeline does
        not supply the table.
    """

    name: str
    index: tuple[str, ...]
    columns: Mapping[str, str]
    valid_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    nullable: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    description: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    """A scalar parameter of a service.

    Parameters
    ----------
    name : str
        Parameter name.
    units : str
        Units (``"1"`` when dimensionless, ``""`` for options).
    default : float, str or None
        Default; ``None`` means the caller must give it (unless ``optional``).
    valid_range : tuple of float, optional
        Inclusive range for numbers.
    choices : tuple of str, optional
        Allowed values for options.
    optional : bool
        May be left unset (``None``).
    description : str
        One line for documentation and messages.
    """

    name: str
    units: str
    default: float | str | None = None
    valid_range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    optional: bool = False
    description: str = ""


@dataclass(frozen=True)
class RasterOutput:
    """A per-pixel output of a service, with its units.

    ``nodata_note`` says why the output can be nodata inside a unit (for the run's
    data-quality warnings); empty means "nodata in an input".
    """

    name: str
    units: str
    description: str = ""
    nodata_note: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    """Declarative description of a service.

    Parameters
    ----------
    name : str
        Registry name (the GEP accounting standard's term).
    inputs : tuple of RasterInput or TableInput
        Inputs with units.
    outputs : tuple of RasterOutput
        Outputs with units.
    params : tuple of Parameter
        Scalar parameters.
    neighbourhood : int
        0 for per-pixel services, the halo width for neighbourhood kernels, :data:`GLOBAL`
        for basin-wide routing.
    references : tuple of str
        Method references.
    accounted : tuple of str
        Outputs the pipeline sums per unit into the accounts (the others are written by
        library callers and ``gep invest`` only).
    """

    name: str
    inputs: tuple[RasterInput | TableInput, ...]
    outputs: tuple[RasterOutput, ...]
    params: tuple[Parameter, ...] = ()
    neighbourhood: int = 0
    references: tuple[str, ...] = ()
    accounted: tuple[str, ...] = ()

    @property
    def rasters(self) -> dict[str, RasterInput]:
        """Raster inputs by name."""
        return {i.name: i for i in self.inputs if isinstance(i, RasterInput)}

    @property
    def tables(self) -> dict[str, TableInput]:
        """Table inputs by name."""
        return {i.name: i for i in self.inputs if isinstance(i, TableInput)}

    @property
    def output_units(self) -> dict[str, str]:
        """Output name → units."""
        return {o.name: o.units for o in self.outputs}

    @property
    def catalog_rasters(self) -> dict[str, RasterInput]:
        """Raster inputs the pipeline reads from the catalog (those with a ``variable``)."""
        return {n: r for n, r in self.rasters.items() if r.variable is not None}

    @property
    def parameters_used(self) -> tuple[str, ...]:
        """Parameters of the catalog's parameter table that the pipeline's tables read."""
        return tuple(p for t in self.tables.values() for p in t.parameters.values())


@dataclass(frozen=True)
class Service:
    """A registered service: its spec and its compute function."""

    spec: ServiceSpec
    compute: Callable[[ServiceInputs], xr.Dataset]


@dataclass(frozen=True)
class ServiceInputs:
    """Validated inputs of one service run, on one grid, in canonical units.

    Rasters, tables and parameters are reachable as attributes (``inputs.precipitation``).
    Build it with :meth:`build`, which checks everything against the spec.
    """

    spec: ServiceSpec
    grid: Grid
    rasters: Mapping[str, xr.DataArray]
    tables: Mapping[str, pd.DataFrame]
    params: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        for group in ("rasters", "tables", "params"):
            values = object.__getattribute__(self, group)
            if name in values:
                return values[name]
        raise AttributeError(f"service '{self.spec.name}' has no input or parameter '{name}'")

    @property
    def is_dask(self) -> bool:
        """True when any raster is dask-backed."""
        return any(da.chunks is not None for da in self.rasters.values())

    def cell_area_m2(self) -> xr.DataArray:
        """Cell area in m² along ``y`` (broadcasts against the rasters)."""
        ref = next(iter(self.rasters.values()))
        return xr.DataArray(self.grid.cell_area_m2()[:, 0], dims=("y",), coords={"y": ref["y"]})

    @classmethod
    def build(
        cls,
        spec: ServiceSpec,
        grid: Grid,
        *,
        rasters: Mapping[str, xr.DataArray],
        tables: Mapping[str, pd.DataFrame] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ServiceInputs:
        """Check inputs against ``spec`` and convert them to canonical units.

        Parameters
        ----------
        spec : ServiceSpec
            The service's spec.
        grid : Grid
            The grid every raster must be on.
        rasters : mapping of str to xarray.DataArray
            Rasters by input name (from :func:`data_catalog.rasters.read_raster`: NaN for
            nodata in continuous layers, a ``valid`` coordinate and ``attrs["nodata"]`` in
            categorical ones); continuous rasters carry ``attrs["units"]``.
        tables : mapping of str to pandas.DataFrame
            Tables by input name, indexed by class code.
        params : mapping
            Parameter values; unset ones take their defaults.

        Raises
        ------
        InputError
            A missing or unknown input, a table without a required column, blanks, values out
            of range, class codes missing from a table (:class:`MissingClassError`), or a bad
            parameter (:class:`ParameterError`).
        GridMismatchError
            A raster is not on ``grid``.
        UnitError
            A raster has no units or units that do not convert.
        """
        checked_rasters = _check_rasters(spec, grid, dict(rasters))
        checked_tables = _check_tables(spec, dict(tables or {}), checked_rasters)
        checked_params = _check_params(spec, dict(params or {}))
        return cls(spec, grid, checked_rasters, checked_tables, checked_params)


def _check_rasters(
    spec: ServiceSpec, grid: Grid, rasters: dict[str, xr.DataArray]
) -> dict[str, xr.DataArray]:
    unknown = sorted(set(rasters) - set(spec.rasters))
    if unknown:
        raise InputError(
            f"service '{spec.name}' got unknown raster(s) {unknown}; "
            f"its raster inputs are {sorted(spec.rasters)}"
        )
    out: dict[str, xr.DataArray] = {}
    for name, rin in spec.rasters.items():
        da = rasters.get(name)
        if da is None:
            if rin.optional:
                continue
            raise InputError(
                f"service '{spec.name}' needs the raster '{name}' ({rin.description or rin.units}); "
                "add it to the run configuration"
            )
        grid.check_aligned(da, name)
        out[name] = _as_categorical(da, name) if rin.categorical else _to_canonical(da, rin)
    return out


def _as_categorical(da: xr.DataArray, name: str) -> xr.DataArray:
    if not np.issubdtype(da.dtype, np.integer):
        raise InputError(
            f"'{name}' holds {da.dtype} values but class codes must be integers; "
            "read it with read_raster(..., categorical=True) from an integer raster"
        )
    return da


def _to_canonical(da: xr.DataArray, rin: RasterInput) -> xr.DataArray:
    assert rin.units is not None
    factor = conversion_factor(da.attrs.get("units"), rin.units, name=rin.name)
    if not np.issubdtype(da.dtype, np.floating):
        da = da.astype(np.float64)
    if factor != 1.0:
        da = da * da.dtype.type(factor)
    da = da.drop_vars("valid", errors="ignore")
    da.attrs = {**da.attrs, "units": rin.units}
    return da


def _check_tables(
    spec: ServiceSpec, tables: dict[str, pd.DataFrame], rasters: dict[str, xr.DataArray]
) -> dict[str, pd.DataFrame]:
    unknown = sorted(set(tables) - set(spec.tables))
    if unknown:
        raise InputError(
            f"service '{spec.name}' got unknown table(s) {unknown}; its tables are "
            f"{sorted(spec.tables)}"
        )
    out: dict[str, pd.DataFrame] = {}
    for name, tin in spec.tables.items():
        if name not in tables:
            raise InputError(
                f"service '{spec.name}' needs the table '{name}' with columns "
                f"{dict(tin.columns)}; add it to the run configuration"
            )
        table = _check_table_columns(tables[name], tin)
        for raster_name in tin.index:
            if raster_name in rasters:
                check_classes_covered(
                    rasters[raster_name], table.index.to_numpy(), name, raster_name
                )
        out[name] = table
    return out


def _check_table_columns(table: pd.DataFrame, tin: TableInput) -> pd.DataFrame:
    missing = [c for c in tin.columns if c not in table.columns]
    if missing:
        raise TableError(
            f"table '{tin.name}' lacks column(s) {missing}; expected {dict(tin.columns)} "
            f"(found {list(table.columns)})"
        )
    if not pd.api.types.is_integer_dtype(table.index) or table.index.has_duplicates:
        raise TableError(
            f"table '{tin.name}' must be indexed by distinct integer class codes; "
            "set the class-code column as the index"
        )
    table = table[list(tin.columns)].astype(np.float64)
    for col in tin.columns:
        values = table[col]
        if col not in tin.nullable and values.isna().any():
            rows = values.index[values.isna()].tolist()
            raise TableError(
                f"table '{tin.name}' column '{col}' is blank for classes {rows}; fill them in"
            )
        lo, hi = tin.valid_ranges.get(col, (-np.inf, np.inf))
        bad = values[(values < lo) | (values > hi)]
        if col in tin.flags:
            bad = values[values.notna() & ~values.isin([0.0, 1.0])]
            lo, hi = 0, 1
        if len(bad):
            raise TableError(
                f"table '{tin.name}' column '{col}' ({tin.columns[col]}) must be "
                f"{'0 or 1' if col in tin.flags else f'in [{lo}, {hi}]'}; "
                f"found {bad.to_dict()} (class: value)"
            )
    return table


def check_classes_covered(
    classes: xr.DataArray, table_codes: np.ndarray, table: str, raster: str
) -> None:
    """Raise :class:`MissingClassError` if ``classes`` holds codes that ``table`` lacks.

    Parameters
    ----------
    classes : xarray.DataArray
        Categorical raster (numpy- or dask-backed); ``attrs["nodata"]`` is ignored.
    table_codes : numpy.ndarray
        Class codes of the table.
    table, raster : str
        Names used in the message.
    """
    nodata = classes.attrs.get("nodata")
    if classes.chunks is None:
        present = lookup.codes_present(np.asarray(classes.values), nodata=nodata)
    else:
        parts = [
            dask.delayed(lookup.codes_present)(block, nodata=nodata)
            for block in classes.data.to_delayed().ravel()
        ]
        present = np.unique(np.concatenate(dask.compute(*parts)))
    missing = np.setdiff1d(present, np.asarray(table_codes, dtype=np.int64))
    if missing.size:
        raise MissingClassError(table, raster, [int(c) for c in missing], column="class code")


def _check_params(spec: ServiceSpec, params: dict[str, Any]) -> dict[str, Any]:
    declared = {p.name: p for p in spec.params}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ParameterError(
            f"service '{spec.name}' has no parameter(s) {unknown}; its parameters are {sorted(declared)}"
        )
    out: dict[str, Any] = {}
    for name, p in declared.items():
        value = params.get(name, p.default)
        if value is None:
            if not p.optional:
                raise ParameterError(
                    f"service '{spec.name}' needs the parameter '{name}' ({p.units})"
                )
            out[name] = None
            continue
        out[name] = _check_param_value(spec.name, p, value)
    return out


def _check_param_value(service: str, p: Parameter, value: Any) -> Any:
    if p.choices is not None:
        text = str(value).lower()
        if text not in p.choices:
            raise ParameterError(
                f"service '{service}' parameter '{p.name}' is {value!r}; choose one of {list(p.choices)}"
            )
        return text
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"service '{service}' parameter '{p.name}' must be a number ({p.units}), got {value!r}"
        ) from None
    lo, hi = p.valid_range or (-np.inf, np.inf)
    if not (lo <= number <= hi):
        raise ParameterError(
            f"service '{service}' parameter '{p.name}' = {number} is outside [{lo}, {hi}] ({p.units})"
        )
    return number
