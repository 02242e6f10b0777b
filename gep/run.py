"""A whole run: check inputs → services → accounts → rasters → tables → linkage → maps → report.

Outputs are built in a temporary folder beside the target and moved into place at the end
(:func:`gep.io.atomic.staged_folder`): an interrupted or failed run never leaves a folder that
looks complete, and what a killed run left is removed by the next run into the same target. Every stage is timed; timings, inputs (sha256), prices and versions go into
``manifest.json``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd
import rasterio

from data_catalog.catalog import Catalog, load_catalog
from data_catalog.errors import CatalogError, InputError
from data_catalog.rasters import write_cog
from data_catalog.sample import SYNTHETIC_NOTE
from data_catalog.tables import unverified
from gep.accounts import gep_by_unit
from gep.bulletin import write_bulletins
from gep.chunked import GDAL_CACHE_BYTES, STREAM_BLOCK
from gep.config import RunConfig
from gep.cropland import cropland_areas
from gep.i18n import text
from gep.io.atomic import remove_stale_partials, staged_folder
from gep.linkage_inputs import (
    as_text,
    check_condition_change_years,
    linkage_tables,
    write_linkage_record,
)
from gep.manifest import write_manifest
from gep.outputs import (
    component_prices,
    ecosystem_types_present,
    write_account_outputs,
    write_maps,
)
from gep.pipeline import Accounts, build_accounts, stream_quantities, unit_levels
from gep.report import write_run_report
from gep.services import SERVICES

if TYPE_CHECKING:
    from linkage.run import LinkResult

log = logging.getLogger("gep")


def parameters_used(services: list[str] | tuple[str, ...]) -> set[str]:
    """Parameters of the catalog's parameter table that ``services`` read (their specs)."""
    return {p for s in services if s in SERVICES for p in SERVICES[s].spec.parameters_used}


def nodata_reason(quantity: str) -> str:
    """Why ``quantity`` can be nodata inside a unit (its output's ``nodata_note``)."""
    for service in SERVICES.values():
        for output in service.spec.outputs:
            if output.name == quantity and output.nodata_note:
                return output.nodata_note
    return "nodata in an input"


STAGES = (
    "check inputs",
    "services",
    "accounts",
    "rasters",
    "tables",
    "linkage",
    "bulletins",
    "maps",
    "report",
)


class Reporter(Protocol):
    """Progress callbacks of a run (the command line shows them with rich)."""

    def stage(self, name: str) -> None:
        """A stage starts."""

    def step(self, message: str) -> None:
        """A step inside the current stage."""


class SilentReporter:
    """Progress that goes to the log only."""

    def stage(self, name: str) -> None:
        """Log the stage."""
        log.info("stage: %s", name)

    def step(self, message: str) -> None:
        """Log the step."""
        log.info("  %s", message)


@dataclass
class RunResult:
    """What a run produced."""

    out: Path
    accounts: Accounts
    summary: pd.DataFrame
    allocation: pd.DataFrame | None
    timings: dict[str, float]
    warnings: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _log_file(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    previous = log.level
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        handler.close()
        log.setLevel(previous)


def check_inputs(config: RunConfig) -> Catalog:
    """Every check before any work: catalog, parameter table, units, prices, linkage policy."""
    cat = load_catalog(config.catalog_file())
    problems = cat.check()
    if problems:
        raise CatalogError(problems)
    for name in [config.parameters, *(u.entry for u in config.units)]:
        cat.entry(name)
    policy = config.linkage_file()
    if policy is not None and not policy.exists():
        raise InputError(f"linkage policy not found: {policy}")
    if policy is not None:
        check_condition_change_years(policy, list(config.years))
    for year in config.years:
        cat.find(variable="landcover", year=year)
    return cat


def _write_rasters(acc: Accounts, config: RunConfig, folder: Path, reporter: Reporter) -> list[str]:
    """Quantity rasters not yet written (streamed runs wrote them) and the value rasters.

    Value rasters are the quantity times its component's constant price (a scalar per
    component and year). They are written together, window by window
    (:func:`gep.chunked.write_by_blocks`): each quantity is read once for all the components
    valuing it, and the COGs' overviews are built as the windows are written.
    """
    from data_catalog.grid import Grid
    from gep.chunked import write_by_blocks

    written = []
    values = {}
    prices = component_prices(config, acc.accounts)
    for (name, year), da in acc.rasters.items():
        reporter.step(f"{name} {year}")
        if not (folder / f"{name}_{year}.tif").exists():
            write_cog(da, folder / f"{name}_{year}.tif")
        written.append(f"rasters/{name}_{year}.tif")
        rows = prices[(prices["quantity_name"] == name) & (prices["year"] == year)]
        for row in rows.to_dict("records"):
            value = da * (float(row["factor"]) * float(row["price_constant_cny"]))
            value.attrs = {"units": f"CNY yr-1 ({config.valuation.base_year} prices)"}
            stem = f"{row['service']}_{row['component']}_{year}_value_constant_cny"
            values[stem] = value.rename(stem)
            written.append(f"rasters/{stem}.tif")
    if values:
        reporter.step(f"{len(values)} value rasters")
        grid = Grid.from_dataarray(next(iter(values.values())))
        write_by_blocks(values, grid, folder, block=STREAM_BLOCK, cog=True)
    return written


def district_summary(
    acc: Accounts, allocation: pd.DataFrame | None, years: list[int]
) -> pd.DataFrame:
    """GEP per district (constant prices) in the first and last year, change and allocation."""
    gep = gep_by_unit(acc.accounts)
    d = gep[gep["level"] == "district"]
    first, last = min(years), max(years)
    table = d[d["year"] == first][["unit_id", "unit_name", "gep_constant_cny"]].rename(
        columns={"gep_constant_cny": f"gep_{first}_cny"}
    )
    table = table.merge(
        d[d["year"] == last][["unit_id", "gep_constant_cny"]].rename(
            columns={"gep_constant_cny": f"gep_{last}_cny"}
        ),
        on="unit_id",
    )
    table["change_cny"] = table[f"gep_{last}_cny"] - table[f"gep_{first}_cny"]
    if not acc.decomposition.empty:
        dec = acc.decomposition[acc.decomposition["level"] == "district"]
        table = table.merge(
            dec.groupby("unit_id", as_index=False)["volume_effect_cny"].sum(),
            on="unit_id",
            how="left",
        )
    if allocation is not None:
        alloc = allocation[allocation["level"] == "district"][["unit_id", "amount_cny"]]
        table = table.merge(
            alloc.rename(columns={"amount_cny": "allocation_cny"}), on="unit_id", how="left"
        )
    return table.sort_values("unit_id").reset_index(drop=True)


def _run_linkage(cat: Catalog, config: RunConfig, acc: Accounts, folder: Path) -> LinkResult | None:
    """The allocation, handed over in memory; the inputs are kept in ``linkage_inputs/``.

    The tables go to :func:`linkage.run.compute_link` as the text the record's CSV files hold
    (:func:`gep.linkage_inputs.as_text`), so ``gep link linkage_inputs/policy.yaml``
    recomputes the same allocation from the record.
    """
    policy = config.linkage_file()
    if policy is None:
        return None
    from linkage.run import link_and_write

    cropland = cropland_areas(cat, acc.levels, config.years)
    concrete, tables = linkage_tables(
        cat, acc.accounts, policy, cropland=cropland, weather_neutral=acc.weather_neutral
    )
    write_linkage_record(folder / "linkage_inputs", concrete, tables)
    return link_and_write(concrete, {name: as_text(t) for name, t in tables.items()}, folder)


def _quality_warnings(cat: Catalog, config: RunConfig, acc: Accounts) -> list[str]:
    warnings = list(acc.warnings)
    params = cat.table(config.parameters)
    used = parameters_used(list(config.services))
    present = set()
    for year in config.years:
        present |= ecosystem_types_present(cat, year)
    params = params[params["parameter"].isin(used) & params["ecosystem_type"].isin(present)]
    flagged = unverified(params)
    for conf, rows in flagged.groupby("confidence"):
        names = ", ".join(f"{r.ecosystem_type}/{r.parameter}" for r in rows.itertuples())
        warnings.append(f"parameters with confidence '{conf}' are used: {names}")
    low = acc.quantities[acc.quantities["valid_fraction"] < 0.999]
    for name, rows in low.groupby("quantity_name"):
        worst = rows.nsmallest(1, "valid_fraction").iloc[0]
        why = nodata_reason(str(name))
        warnings.append(
            f"{name}: {len(rows)} unit-year rows have nodata inside the unit (lowest valid "
            f"share {worst['valid_fraction']:.1%}, {worst['level']} {worst['unit_id']} "
            f"{worst['year']}); why: {why}"
        )
    prices = component_prices(config, acc.accounts)
    for row in prices.drop_duplicates(["service", "component"]).itertuples():
        if row.price_confidence != "stated in source":
            warnings.append(f"price {row.service}/{row.component} is '{row.price_confidence}'")
    return warnings


def _accounts(
    cat: Catalog,
    config: RunConfig,
    folder: Path,
    reporter: Reporter,
    scheduler: str | None,
    chunks: int | None,
    lap: Callable[[str], None],
) -> Accounts:
    """Services and accounts: streamed by chunks, or gathered from a dask scheduler.

    The single-process run streams (:func:`gep.pipeline.stream_quantities`): every quantity
    is written to ``folder`` and summed per unit chunk by chunk, and the accounts are built
    from those sums; ``acc.rasters`` are the written files, opened lazily. On a scheduler
    (:func:`gep.distributed.compute_quantities`) the quantities are computed on the cluster
    and gathered.
    """
    params = cat.table(config.parameters)
    if scheduler is None:
        chunks = chunks or STREAM_BLOCK
        levels = unit_levels(cat, config, blockwise=True)
        streamed = stream_quantities(
            cat, config, params, levels, folder, chunks=chunks, progress=reporter.step
        )
        lap("services")
        reporter.stage("accounts")
        return build_accounts(
            cat,
            config,
            streamed.rasters,
            levels,
            params=params,
            progress=reporter.step,
            quantities=streamed.quantities,
            chunks=chunks,
            type_totals=streamed.type_totals,
        )
    from gep.distributed import CLUSTER_CHUNK
    from gep.distributed import compute_quantities as on_scheduler

    levels = unit_levels(cat, config)
    rasters = on_scheduler(
        cat, config, params, reporter.step, scheduler_spec=scheduler, chunks=chunks or CLUSTER_CHUNK
    )
    lap("services")
    reporter.stage("accounts")
    return build_accounts(cat, config, rasters, levels, params=params, progress=reporter.step)


def execute(
    config: RunConfig,
    out: Path,
    *,
    reporter: Reporter | None = None,
    scheduler: str | None = None,
    chunks: int | None = None,
) -> RunResult:
    """Run the whole pipeline into ``out`` (built in a temporary folder, moved at the end).

    The services are streamed: computed, written and summed per unit one window of
    ``chunks`` cells a side at a time (default :data:`gep.chunked.STREAM_BLOCK`; memory grows
    with its square, not with the raster). ``scheduler`` (``local``, ``threads`` or
    ``tcp://HOST:PORT``) computes them instead on dask chunks (default 2048) on a cluster and
    gathers them (:func:`gep.distributed.compute_quantities`); the accounts are the same.
    """
    reporter = reporter or SilentReporter()
    # GDAL's default block cache (5 % of the machine's memory) keeps blocks of every raster
    # read or written (the checks' strips, COG overviews): bounded, as the streamed windows are
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        return _execute(config, out, reporter, scheduler, chunks)


def _execute(
    config: RunConfig,
    out: Path,
    reporter: Reporter,
    scheduler: str | None,
    chunks: int | None,
) -> RunResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    reporter.stage("check inputs")
    cat = check_inputs(config)
    _check_space(cat, config, out)
    lap("check inputs")
    stale = remove_stale_partials(out)
    with staged_folder(out) as tmp, _log_file(tmp / "run.log"):
        log.info("gep run %s into %s", config.name, out)
        for folder in stale:
            log.warning("removed %s, left by an earlier run into %s that was killed", folder, out)
        reporter.stage("services")
        acc = _accounts(cat, config, tmp / "rasters", reporter, scheduler, chunks, lap)
        lap("accounts")
        reporter.stage("rasters")
        outputs = _write_rasters(acc, config, tmp / "rasters", reporter)
        lap("rasters")
        reporter.stage("tables")
        notes = [SYNTHETIC_NOTE] if cat.synthetic else []
        outputs += list(write_account_outputs(cat, config, acc, tmp, notes=notes))
        lap("tables")
        reporter.stage("linkage")
        link = _run_linkage(cat, config, acc, tmp)
        allocation = None if link is None else link.allocation
        lap("linkage")
        reporter.stage("bulletins")
        _bulletins(cat, config, acc, link, tmp / "bulletins")
        lap("bulletins")
        summary = district_summary(acc, allocation, config.years)
        reporter.stage("maps")
        maps = write_maps(cat, config, acc, allocation, tmp / "maps", reporter.step)
        lap("maps")
        reporter.stage("report")
        warnings = _quality_warnings(cat, config, acc)
        for w in warnings:
            log.warning(w)
        write_run_report(cat, config, acc, summary, maps, warnings, tmp / "report.html")
        lap("report")
        _manifest(cat, config, acc, tmp, outputs, timings, warnings)
    return RunResult(Path(out).resolve(), acc, summary, allocation, timings, warnings)


def _check_space(cat: Catalog, config: RunConfig, out: Path) -> None:
    """Stop before any work if the disks cannot take the run (:mod:`gep.pipeline.space`)."""
    from gep.pipeline.space import check_space, space_needed
    from gep.services.spec import GLOBAL

    rows, cols = cat.reference_grid().shape
    years = len(config.years)
    specs = [SERVICES[s].spec for s in config.services if s in SERVICES]
    need = space_needed(
        rows * cols,
        quantities=sum(len(spec.accounted) for spec in specs),
        years=years,
        routed=any(spec.neighbourhood == GLOBAL for spec in specs),
    )
    check_space(need, out, what=f"{rows} × {cols} grid, {years} years")


def _bulletins(
    cat: Catalog, config: RunConfig, acc: Accounts, link: LinkResult | None, folder: Path
) -> None:
    """A bulletin per unit, in the run's language (:func:`gep.bulletin.write_bulletins`)."""
    write_bulletins(
        acc.accounts,
        None if link is None else link.allocation,
        None if link is None else link.programmes,
        folder,
        synthetic_note=text(config.language, "synthetic_note") if cat.synthetic else None,
        language=config.language,
    )


def _manifest(
    cat: Catalog,
    config: RunConfig,
    acc: Accounts,
    folder: Path,
    outputs: list[str],
    timings: dict[str, float],
    warnings: list[str],
) -> None:
    """Write ``manifest.json``: configuration, inputs, prices, timings, every file written."""
    outputs = outputs + [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
    write_manifest(
        folder / "manifest.json",
        config=config.model_dump(mode="json"),
        cat=cat,
        prices=[
            {str(k): v for k, v in r.items()}
            for r in component_prices(config, acc.accounts).to_dict("records")
        ],
        timings=timings,
        outputs=sorted(set(outputs)),
        warnings=warnings,
    )
