"""A service's inputs from the catalog, as its spec declares them.

Every raster input with a ``variable`` (:class:`gep.services.spec.RasterInput`) is read from the
catalog: the accounted year's layer, the only layer (``year="fixed"``) or the latest earlier
one (``year="previous"``); every table input with ``parameters`` is built from the catalog's
ecosystem-type parameter table. Nothing about a service is wired here by name: adding a
service is one module in :mod:`gep.services`.

A :class:`RasterSource` opens each catalog entry once per run (lazily when ``chunks`` is set),
so the services of a year share one read of each input in one dask graph.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from data_catalog.catalog import Catalog
from data_catalog.errors import InputError
from data_catalog.grid import Grid
from data_catalog.tables import load_scheme
from gep.config import RunConfig
from gep.kernels import lookup
from gep.services import SERVICES
from gep.services.spec import ServiceInputs, ServiceSpec

#: Catalog variables the year's weather drives. A weather-neutral run of a year reads these
#: from another year and everything else (land cover, NPP, soils, terrain) from its own.
WEATHER_VARIABLES = frozenset(
    {
        "precipitation",
        "evapotranspiration",
        "reference_evapotranspiration",
        "erosivity",
        "evapotranspiration_hot_days",
        "storm_precipitation",
    }
)


class _Accounted(Mapping[str, tuple[str, ...]]):
    """Service → its spec's ``accounted`` quantities, for every registered service (live)."""

    def __getitem__(self, service: str) -> tuple[str, ...]:
        return SERVICES[service].spec.accounted

    def __iter__(self) -> Iterator[str]:
        return iter(SERVICES)

    def __len__(self) -> int:
        return len(SERVICES)


#: Service → accounted quantities (the specs' ``accounted``), for callers that look them up.
ACCOUNTED: Mapping[str, tuple[str, ...]] = _Accounted()


@dataclass
class RasterSource:
    """Catalog rasters opened once each (dask-backed with ``chunks``, else numpy).

    Parameters
    ----------
    cat : Catalog
        The catalog.
    chunks : int, optional
        Chunk edge in pixels; ``None`` reads whole arrays.
    """

    cat: Catalog
    chunks: int | None = None
    _open: dict[str, xr.DataArray] = field(default_factory=dict)
    _codes: dict[str, np.ndarray] = field(default_factory=dict)
    #: per-class parameter tables built for the services (service, table, year, entries)
    tables: dict[tuple[Any, ...], pd.DataFrame] = field(default_factory=dict)

    def raster(self, entry_id: str) -> xr.DataArray:
        """The entry's raster, opened on first use."""
        if entry_id not in self._open:
            chunks = None if self.chunks is None else {"y": self.chunks, "x": self.chunks}
            self._open[entry_id] = self.cat.raster(entry_id, chunks=chunks)
        return self._open[entry_id]

    def codes(self, entry_id: str) -> np.ndarray:
        """Distinct class codes of a categorical entry (one pass, by blocks when lazy)."""
        if entry_id not in self._codes:
            self._codes[entry_id] = codes_present(self.raster(entry_id))
        return self._codes[entry_id]


@dataclass
class WindowSource:
    """One window of the catalog rasters, read into memory once (numpy-backed).

    ``raster`` reads the window of the entry from its file (:meth:`Catalog.raster` with
    ``window``); ``codes`` are those of the whole raster (the parameter tables keep
    the rows of every class present anywhere, so each window's table is the whole run's).

    Parameters
    ----------
    lazy : RasterSource
        The run's rasters, opened lazily (``chunks`` set).
    window : tuple of slice
        Rows and columns of the grid.
    """

    lazy: RasterSource
    window: tuple[slice, slice]
    _read: dict[str, xr.DataArray] = field(default_factory=dict)

    @property
    def cat(self) -> Catalog:
        """The catalog."""
        return self.lazy.cat

    def grid(self) -> Grid:
        """The window's grid (the reference grid cut to ``window``)."""
        return window_grid(self.cat.reference_grid(), self.window)

    def raster(self, entry_id: str) -> xr.DataArray:
        """The entry's values in the window, read on first use."""
        if entry_id not in self._read:
            self._read[entry_id] = self.cat.raster(entry_id, window=self.window)
        return self._read[entry_id]

    def codes(self, entry_id: str) -> np.ndarray:
        """Distinct class codes of the whole raster."""
        return self.lazy.codes(entry_id)

    @property
    def tables(self) -> dict[tuple[Any, ...], pd.DataFrame]:
        """The run's parameter tables (shared by every window)."""
        return self.lazy.tables


def window_grid(grid: Grid, window: tuple[slice, slice]) -> Grid:
    """``grid`` cut to ``window`` (rows, columns): same CRS and resolution, moved origin.

    Examples
    --------
    >>> from affine import Affine
    >>> from pyproj import CRS
    >>> g = Grid(CRS.from_epsg(32650), Affine(30, 0, 1000, 0, -30, 9000), (100, 80))
    >>> w = window_grid(g, (slice(10, 20), slice(5, 80)))
    >>> w.shape, (w.transform.c, w.transform.f)
    ((10, 75), (1150.0, 8700.0))
    """
    from affine import Affine

    rows, cols = window
    r0, c0 = rows.start or 0, cols.start or 0
    r1 = grid.shape[0] if rows.stop is None else rows.stop
    c1 = grid.shape[1] if cols.stop is None else cols.stop
    return Grid(grid.crs, grid.transform * Affine.translation(c0, r0), (r1 - r0, c1 - c0))


def codes_present(classes: xr.DataArray) -> np.ndarray:
    """Sorted distinct valid class codes of a categorical raster (numpy- or dask-backed)."""
    import dask

    nodata = classes.attrs.get("nodata")
    if classes.chunks is None:
        return lookup.codes_present(np.asarray(classes.values), nodata=nodata)
    parts = [
        dask.delayed(lookup.codes_present)(block, nodata=nodata)
        for block in classes.data.to_delayed().ravel()
    ]
    return np.unique(np.concatenate(dask.compute(*parts)))


def weather_driven(service: str) -> bool:
    """Whether a service reads any weather variable (:data:`WEATHER_VARIABLES`)."""
    rasters = SERVICES[service].spec.catalog_rasters.values()
    return any(r.variable in WEATHER_VARIABLES for r in rasters)


def stock_change_base_year(cat: Catalog, year: int, variable: str = "landcover") -> int:
    """Year of the ``variable`` layer a change up to ``year`` starts from: the latest earlier.

    Raises
    ------
    InputError
        If the catalog has no layer of ``variable`` before ``year``.
    """
    earlier = [y for y in cat.years(variable) if y < year]
    if not earlier:
        what = "land cover" if variable == "landcover" else variable
        raise InputError(
            f"{year}: the catalog has no {what} before {year} ({what} years: "
            f"{cat.years(variable)}); a change method (carbon_stock_change) needs two maps. "
            "Add an earlier layer to the catalog, drop the year from `years`, or use "
            "carbon_nep"
        )
    return max(earlier)


def class_table(
    cat: Catalog, landcover_id: str, params: pd.DataFrame, columns: dict[str, str]
) -> pd.DataFrame:
    """Per-class table (index = land-cover code) from ecosystem-type parameters.

    Parameters
    ----------
    cat : Catalog
        The catalog (for the land cover's class scheme).
    landcover_id : str
        Land-cover entry whose class codes index the table.
    params : DataFrame
        Long table ``ecosystem_type, parameter, value``.
    columns : dict
        Output column → parameter name.
    """
    scheme = load_scheme(cat.entry(landcover_id).class_scheme or "clcd")
    wide = params.pivot_table(
        index="ecosystem_type", columns="parameter", values="value", aggfunc="first", dropna=False
    )
    missing = [p for p in columns.values() if p not in wide.columns]
    if missing:
        raise InputError(f"parameter table: no parameter {missing}; add rows for them")
    table = pd.DataFrame(index=pd.Index(scheme["code"].astype(int), name="code"))
    types = scheme.set_index(scheme["code"].astype(int))["ecosystem_type"]
    for column, parameter in columns.items():
        table[column] = types.map(wide[parameter]).astype(float).to_numpy()
    return table


def has_layer(cat: Catalog, variable: str, year: int | None = None) -> bool:
    """Whether the catalog has a layer of ``variable`` for ``year`` (or one without a year)."""
    return any(
        e.variable == variable and (year is None or e.year in (year, None))
        for e in cat.entries.values()
    )


def catalog_entries(
    cat: Catalog, spec: ServiceSpec, year: int, weather_year: int | None = None
) -> dict[str, str]:
    """Catalog entry of each raster input the pipeline supplies to ``spec`` for ``year``.

    An ``optional`` input is supplied only when the catalog has a layer of its variable for
    that year (a fixed one: any layer); the others must be there (:meth:`Catalog.find`).
    """
    out = {}
    for name, rin in spec.catalog_rasters.items():
        assert rin.variable is not None
        if rin.year == "fixed":
            if rin.optional and not has_layer(cat, rin.variable):
                continue
            out[name] = cat.find(variable=rin.variable, year=None)
            continue
        at = year
        if weather_year is not None and rin.variable in WEATHER_VARIABLES:
            at = weather_year
        if rin.year == "previous":
            if rin.optional and not any(y < year for y in cat.years(rin.variable)):
                continue
            at = stock_change_base_year(cat, year, rin.variable)
        if rin.optional and not has_layer(cat, rin.variable, at):
            continue
        out[name] = cat.find(variable=rin.variable, year=at)
    return out


def service_inputs(
    cat: Catalog,
    config: RunConfig,
    params: pd.DataFrame,
    service: str,
    year: int,
    *,
    weather_year: int | None = None,
    source: RasterSource | WindowSource | None = None,
) -> ServiceInputs:
    """Checked inputs of one service for one year (:meth:`ServiceInputs.build`).

    With a :class:`WindowSource` the inputs are the window's, on the window's grid.
    """
    spec = SERVICES[service].spec
    source = source or RasterSource(cat)
    entries = catalog_entries(cat, spec, year, weather_year)
    rasters = {name: source.raster(entry) for name, entry in entries.items()}
    tables = {}
    for name, tin in spec.tables.items():
        if not tin.parameters:
            continue
        key = (service, name, year, tuple(entries[k] for k in tin.index))
        cached = source.tables.get(key)
        if cached is None:
            table = class_table(
                cat, cat.find(variable="landcover", year=year), params, dict(tin.parameters)
            )
            codes = np.unique(np.concatenate([source.codes(entries[k]) for k in tin.index]))
            cached = table.loc[table.index.intersection(pd.Index(codes.astype(int)))]
            source.tables[key] = cached  # built once per run, not once per window
        tables[name] = cached
    service_params: dict[str, Any] = dict(config.services[service])
    previous = [r for r in spec.catalog_rasters.values() if r.year == "previous"]
    if previous and any(p.name == "n_years" for p in spec.params):
        assert previous[0].variable is not None
        service_params["n_years"] = float(
            year - stock_change_base_year(cat, year, previous[0].variable)
        )
    grid = source.grid() if isinstance(source, WindowSource) else cat.reference_grid()
    return ServiceInputs.build(spec, grid, rasters=rasters, tables=tables, params=service_params)


def run_service(
    cat: Catalog,
    config: RunConfig,
    params: pd.DataFrame,
    service: str,
    year: int,
    *,
    weather_year: int | None = None,
    source: RasterSource | WindowSource | None = None,
) -> xr.Dataset:
    """Run one service for one year on the catalog's reference grid (or a window of it).

    ``weather_year`` reads the weather variables (:data:`WEATHER_VARIABLES`) of that year
    instead of ``year``'s: the service under ``year``'s ecosystem condition and another year's
    weather. With a lazy ``source`` (``chunks`` set) per-pixel services return dask-backed
    outputs (nothing computed yet); services whose spec is ``GLOBAL`` (flow routing) compute.
    """
    inputs = service_inputs(
        cat, config, params, service, year, weather_year=weather_year, source=source
    )
    return SERVICES[service].compute(inputs)
