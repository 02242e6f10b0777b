"""Run a what-if land-cover change: recompute what it affects, build the accounts, link again.

A :class:`ScenarioBase` holds what does not change between scenarios on one run: the catalog,
the configuration, the units intersected with the grid, the parameter table, the linkage
policy and every service's per-pixel quantities of every year on the unchanged land cover
(computed once, then reused: that is the difference between a cold and a warm scenario).

:func:`run_scenario` then

1. applies the change to a copy of the year's land cover in memory (:mod:`gep.scenario.change`);
2. recomputes only the services that read that land cover (found by recording what each
   service read from the catalog when the base was computed): a per-pixel service
   (``neighbourhood == 0`` in its spec) only on the blocks of :data:`BLOCK` pixels a side that
   hold a changed pixel, spliced into a copy of its base raster; a routed service (soil
   retention's InVEST SDR outputs depend on every pixel upslope and downslope) in full;
3. builds the accounts with the pipeline's own :func:`gep.pipeline.build_accounts` on the
   changed catalog, so zonal sums, valuation, statistics, capped purification, the
   weather-neutral accounts (the weather-driven services of each later year under the previous
   year's weather, recomputed by the pipeline in full) and the decomposition are those of a
   full ``gep run`` on the changed land cover;
4. links them to the compensation budget under the run's policy (:mod:`linkage`), reading the
   linkage inputs back from CSV exactly as ``gep run`` does.

The pipeline is fed the changed land cover through :class:`ScenarioCatalog`, a catalog that
returns the changed array for that entry; nothing of the pipeline or the services is modified.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine

from data_catalog.catalog import Catalog, load_catalog
from data_catalog.grid import Grid
from data_catalog.tables import load_scheme
from gep.accounts import UnitLevel, gep_by_unit
from gep.config import RunConfig
from gep.pipeline import (
    ACCOUNTED,  # the one import of the accounted quantities (they may move into the specs)
    Accounts,
    build_accounts,
    run_service,
    unit_levels,
)
from gep.scenario.change import (
    LandCoverChange,
    ScenarioError,
    polygon_in_grid_crs,
    rasterise,
)
from gep.services import SERVICES

__all__ = [
    "BLOCK",
    "ScenarioBase",
    "ScenarioCatalog",
    "ScenarioResult",
    "run_scenario",
]

#: Side (pixels) of the blocks a per-pixel service is recomputed on.
BLOCK = 128


class ScenarioCatalog(Catalog):
    """A catalog whose rasters come from a base catalog, with some replaced by arrays in memory.

    Parameters
    ----------
    base : Catalog
        The run's catalog.
    replaced : dict, optional
        Entry id → DataArray on the reference grid returned instead of the file (the changed
        land cover).
    window : tuple of slice, optional
        ``(rows, cols)``: every raster and the reference grid are cut to this window, so a
        per-pixel service computes only its pixels.
    cache : dict, optional
        Entry id → DataArray already read (shared between scenarios; never modified).
    """

    def __init__(
        self,
        base: Catalog,
        *,
        replaced: dict[str, xr.DataArray] | None = None,
        window: tuple[slice, slice] | None = None,
        cache: dict[str, xr.DataArray] | None = None,
    ) -> None:
        super().__init__(
            base.path, base.name, base.reference_id, base.entries, base.description, base.synthetic
        )
        self._base = base
        self._replaced = dict(replaced or {})
        self._window = window
        self._cache = cache if cache is not None else {}
        #: entry ids read through :meth:`raster` (what a service depends on)
        self.reads: set[str] = set()

    def reference_grid(self) -> Grid:
        """The base grid, or its window."""
        grid = self._base.reference_grid()
        if self._window is None:
            return grid
        rows, cols = self._window
        return Grid(
            grid.crs,
            grid.transform * Affine.translation(cols.start, rows.start),
            (rows.stop - rows.start, cols.stop - cols.start),
        )

    def raster(
        self,
        entry_id: str,
        *,
        chunks: int | dict[str, int] | None = None,
        window: tuple[slice, slice] | None = None,
    ) -> xr.DataArray:
        """The entry's raster (read once, held in memory), replaced or windowed as set up.

        ``chunks`` is ignored: a scenario's arrays are in memory. ``window`` cuts the result
        further (:meth:`Catalog.window_of`).
        """
        return self.window_of(self._scenario_raster(entry_id), window)

    def _scenario_raster(self, entry_id: str) -> xr.DataArray:
        self.reads.add(entry_id)
        if entry_id in self._replaced:
            da = self._replaced[entry_id]
        else:
            if entry_id not in self._cache:
                self._cache[entry_id] = self._base.raster(entry_id).load()
            da = self._cache[entry_id]
        if self._window is None:
            return da
        rows, cols = self._window
        return da.isel(y=rows, x=cols).rio.write_transform(self.reference_grid().transform)


@dataclass
class ScenarioBase:
    """What stays the same between scenarios on one run (see the module's docstring)."""

    config: RunConfig
    catalog: Catalog
    params: pd.DataFrame
    levels: list[UnitLevel]
    policy_yaml: str | None
    #: (quantity, year) → per-pixel quantity on the unchanged land cover
    rasters: dict[tuple[str, int], xr.DataArray]
    #: (service, year) → catalog entries the service read
    reads: dict[tuple[str, int], set[str]]
    cache: dict[str, xr.DataArray] = field(default_factory=dict, repr=False)
    prepare_s: float = 0.0

    @classmethod
    def prepare(cls, config: RunConfig, *, policy_yaml: str | None = None) -> ScenarioBase:
        """Load the catalog, intersect the units and compute every base quantity once.

        Parameters
        ----------
        config : RunConfig
            The run's configuration (its ``linkage`` is not read: give ``policy_yaml``).
        policy_yaml : str, optional
            The linkage policy (a template, or the concrete policy a run wrote); without it a
            scenario has no allocation.
        """
        clock = time.perf_counter()
        cat = load_catalog(config.catalog_file())
        for year in config.years:
            cat.find(variable="landcover", year=year)
        params = cat.table(config.parameters)
        levels = unit_levels(cat, config)
        cache: dict[str, xr.DataArray] = {}
        rasters: dict[tuple[str, int], xr.DataArray] = {}
        reads: dict[tuple[str, int], set[str]] = {}
        for service in config.services:
            for year in config.years:
                recording = ScenarioCatalog(cat, cache=cache)
                rasters.update(
                    _quantities(
                        run_service(recording, config, params, service, year), service, year
                    )
                )
                reads[(service, year)] = recording.reads
        base = cls(config, cat, params, levels, policy_yaml, rasters, reads, cache)
        base.prepare_s = time.perf_counter() - clock
        return base

    def landcover(self, year: int) -> tuple[str, xr.DataArray]:
        """The land-cover entry id of ``year`` and its raster (held in memory)."""
        entry_id = self.catalog.find(variable="landcover", year=year)
        return entry_id, ScenarioCatalog(self.catalog, cache=self.cache).raster(entry_id)


@dataclass
class ScenarioResult:
    """A scenario's change, accounts and allocation, as a ``gep run`` would write them."""

    change: LandCoverChange
    pixels_changed: int
    area_changed_km2: float
    services_recomputed: dict[str, str]  # "service year" → "blocks N" | "full"
    accounts: Accounts
    gep_by_unit: pd.DataFrame
    allocation: pd.DataFrame | None
    timings_s: dict[str, float]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the store keeps, with the columns of the files a run writes."""
        tables = {"accounts": self.accounts.accounts, "gep_by_unit": self.gep_by_unit}
        tables["allocation"] = (
            self.allocation if self.allocation is not None else pd.DataFrame(columns=["unit_id"])
        )
        if not self.accounts.decomposition.empty:
            tables["decomposition"] = self.accounts.decomposition
        return tables


def _quantities(result: xr.Dataset, service: str, year: int) -> dict[tuple[str, int], xr.DataArray]:
    out = {}
    for name in ACCOUNTED[service]:
        da = result[name].compute()
        da.attrs["service"] = service
        out[(name, year)] = da
    return out


def _class_codes(cat: Catalog, entry_id: str) -> dict[int, str]:
    scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
    return dict(zip(scheme["code"].astype(int), scheme["name"].astype(str), strict=True))


def _check_classes(base: ScenarioBase, change: LandCoverChange, entry_id: str) -> None:
    codes = _class_codes(base.catalog, entry_id)
    for what, code in (("from_class", change.from_class), ("to_class", change.to_class)):
        if code is not None and code not in codes:
            listed = ", ".join(f"{c} {n}" for c, n in sorted(codes.items()))
            raise ScenarioError(f"{what} {code} is not a class of the land cover ({listed})")


def _unit_geometries(base: ScenarioBase, unit_ids: list[str]) -> list[Any]:
    """The polygons (in the grid's CRS) of the named units, of whatever level they are."""
    grid = base.catalog.reference_grid()
    found: dict[str, Any] = {}
    known: list[str] = []
    for level_cfg in base.config.units:
        entry = base.catalog.entry(level_cfg.entry)
        gdf = base.catalog.vector(level_cfg.entry)
        ids = gdf[entry.id_field].astype(str)
        known += list(ids)
        wanted = gdf[ids.isin(unit_ids).to_numpy()]
        if len(wanted):
            wanted = wanted.to_crs(grid.crs)
            for uid, geom in zip(ids[ids.isin(unit_ids)], wanted.geometry, strict=True):
                found[str(uid)] = geom
    unknown = [u for u in unit_ids if u not in found]
    if unknown:
        raise ScenarioError(
            f"unknown unit(s) {', '.join(unknown)}: give district or township codes of the run "
            f"(e.g. {', '.join(sorted(known)[:3])}; GET /api/runs/RUN/gep lists them)"
        )
    return list(found.values())


def change_mask(base: ScenarioBase, change: LandCoverChange) -> tuple[str, np.ndarray]:
    """The land-cover entry of the change's year and the mask of the pixels it changes.

    Raises
    ------
    ScenarioError
        For a year the run did not account, an unknown class or unit, a bad polygon, or a change
        that changes no pixel.
    """
    change.check_form()
    if change.year not in base.config.years:
        raise ScenarioError(
            f"year {change.year} is not an accounting year of the run (years: {base.config.years})"
        )
    entry_id, landcover = base.landcover(change.year)
    _check_classes(base, change, entry_id)
    grid = base.catalog.reference_grid()
    if change.units:
        region = rasterise(_unit_geometries(base, change.units), grid)
        where = f"units {', '.join(change.units)}"
    else:
        polygon = polygon_in_grid_crs(change, grid.crs)
        x0, y0, x1, y1 = grid.bounds
        gx0, gy0, gx1, gy1 = polygon.bounds
        if gx1 < x0 or gx0 > x1 or gy1 < y0 or gy0 > y1:
            raise ScenarioError(
                "the polygon lies outside the region's grid (is its CRS right? give it in `crs`)"
            )
        region = rasterise([polygon], grid)
        where = "the polygon"
    valid = np.asarray(landcover.coords["valid"].values, dtype=bool)
    inside = region & valid
    if not inside.any():
        raise ScenarioError(f"{where} cover(s) no pixel of the region: nothing to change")
    values = landcover.values
    mask = inside & (values != change.to_class)
    if change.from_class is not None:
        mask &= values == change.from_class
    if not mask.any():
        source = "any class" if change.from_class is None else f"class {change.from_class}"
        raise ScenarioError(
            f"{where}: no pixel of {source} other than {change.to_class} in {change.year}; "
            "nothing changes"
        )
    return entry_id, mask


def _blocks(mask: np.ndarray, block: int) -> list[tuple[slice, slice]]:
    """Windows of ``block`` pixels a side (clipped at the edges) that hold a changed pixel."""
    rows, cols = mask.shape
    out = []
    for r in range(0, rows, block):
        for c in range(0, cols, block):
            if mask[r : r + block, c : c + block].any():
                out.append((slice(r, min(r + block, rows)), slice(c, min(c + block, cols))))
    return out


def _window(blocks: list[tuple[slice, slice]]) -> tuple[slice, slice]:
    """The smallest window holding every block (one service call instead of one per block)."""
    return (
        slice(min(b[0].start for b in blocks), max(b[0].stop for b in blocks)),
        slice(min(b[1].start for b in blocks), max(b[1].stop for b in blocks)),
    )


def _recompute(
    base: ScenarioBase, changed: xr.DataArray, entry_id: str, mask: np.ndarray
) -> tuple[dict[tuple[str, int], xr.DataArray], dict[str, str]]:
    """Base quantities with those of the services that read the changed land cover recomputed."""
    rasters = dict(base.rasters)
    done: dict[str, str] = {}
    blocks = _blocks(mask, BLOCK)
    window = _window(blocks)
    replaced = {entry_id: changed}
    for (service, year), reads in base.reads.items():
        if entry_id not in reads:
            continue
        if SERVICES[service].spec.neighbourhood == 0:
            outputs = {
                (name, year): base.rasters[(name, year)].copy(deep=True)
                for name in ACCOUNTED[service]
            }
            # the per-pixel service on the window of the affected blocks only; a changed pixel
            # changes only itself, so the rest of the grid keeps its base values
            rows, cols = window
            part = run_service(
                ScenarioCatalog(base.catalog, replaced=replaced, window=window, cache=base.cache),
                base.config,
                base.params,
                service,
                year,
            )
            for name in ACCOUNTED[service]:
                outputs[(name, year)].values[rows, cols] = part[name].compute().values
            done[f"{service} {year}"] = (
                f"{rows.stop - rows.start}×{cols.stop - cols.start} px ({len(blocks)} block(s) "
                f"of {BLOCK} px with changed pixels)"
            )
        else:
            whole = ScenarioCatalog(base.catalog, replaced=replaced, cache=base.cache)
            outputs = _quantities(
                run_service(whole, base.config, base.params, service, year), service, year
            )
            done[f"{service} {year}"] = "full grid (routed)"
        rasters.update(outputs)
    return rasters, done


def link(
    cat: Catalog, config: RunConfig, acc: Accounts, policy_yaml: str, folder: Path
) -> pd.DataFrame:
    """The allocation of ``acc`` under ``policy_yaml``, as ``gep run`` computes it.

    The linkage inputs are written into ``folder`` and read back (as the run reads them).
    """
    from gep.cropland import cropland_areas
    from gep.linkage_inputs import prepare_linkage
    from linkage.export import allocation_table
    from linkage.run import compute_link, read_link

    template = folder / "policy_template.yaml"
    template.write_text(policy_yaml, encoding="utf-8")
    concrete = prepare_linkage(
        cat,
        acc.accounts,
        template,
        folder / "linkage_inputs",
        cropland=cropland_areas(cat, acc.levels, config.years),
        weather_neutral=acc.weather_neutral,
    )
    return allocation_table(compute_link(*read_link(concrete))).reset_index(drop=True)


def run_scenario(base: ScenarioBase, change: LandCoverChange) -> ScenarioResult:
    """Apply ``change`` to a copy of its year's land cover and recompute accounts and allocation.

    Parameters
    ----------
    base : ScenarioBase
        The run's base (:meth:`ScenarioBase.prepare`).
    change : LandCoverChange
        The change.

    Returns
    -------
    ScenarioResult
        The accounts, GEP by unit, decomposition and allocation of the changed run, what was
        recomputed and the timings (s).

    Raises
    ------
    ScenarioError
        If the change is invalid (nothing computed).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    entry_id, mask = change_mask(base, change)
    _, landcover = base.landcover(change.year)
    changed = landcover.copy(data=np.where(mask, change.to_class, landcover.values))
    lap("change")
    rasters, done = _recompute(base, changed, entry_id, mask)
    lap("services")
    cat = ScenarioCatalog(base.catalog, replaced={entry_id: changed}, cache=base.cache)
    acc = build_accounts(cat, base.config, rasters, base.levels, params=base.params)
    lap("accounts")
    allocation = None
    if base.policy_yaml is not None:
        with tempfile.TemporaryDirectory(prefix="gep-scenario-") as tmp:
            allocation = link(cat, base.config, acc, base.policy_yaml, Path(tmp))
    lap("linkage")
    area = base.catalog.reference_grid().cell_area_m2()
    area_km2 = float(np.broadcast_to(area, mask.shape)[mask].sum() / 1e6)
    return ScenarioResult(
        change,
        int(mask.sum()),
        area_km2,
        done,
        acc,
        gep_by_unit(acc.accounts),
        allocation,
        timings,
    )
