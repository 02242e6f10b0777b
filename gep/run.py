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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from data_catalog.catalog import Catalog, load_catalog
from data_catalog.errors import CatalogError, InputError
from data_catalog.rasters import write_cog
from data_catalog.sample import SYNTHETIC_NOTE
from data_catalog.tables import unverified
from gep.accounts import gep_by_unit
from gep.bulletin import write_bulletins
from gep.config import RunConfig
from gep.cropland import cropland_areas
from gep.io.atomic import remove_stale_partials, staged_folder
from gep.linkage_inputs import check_condition_change_years, prepare_linkage
from gep.manifest import write_manifest
from gep.outputs import (
    component_prices,
    ecosystem_types_present,
    write_account_outputs,
    write_maps,
)
from gep.pipeline import Accounts, build_accounts, compute_quantities, unit_levels
from gep.report import ReportContent, write_report
from gep.services.purification import AIR_POLLUTANTS, WATER_POLLUTANTS

if TYPE_CHECKING:
    from linkage.run import LinkResult

log = logging.getLogger("gep")

#: parameters of the catalog's parameter table that each service reads
PARAMETERS_USED = {
    "water_conservation": ("runoff_coefficient",),
    "water_yield": ("kc", "root_depth", "lulc_veg"),
    "soil_retention": ("usle_c", "usle_p", "rusle_applies"),
    "carbon_stock_change": ("c_above", "c_below", "c_soil", "c_dead"),
    "climate_regulation": ("climate_transpiring", "climate_evaporating"),
    "flood_regulation": ("storm_runoff_coefficient",),
    "air_purification": tuple(f"air_capacity_{p}" for p in AIR_POLLUTANTS),
    "water_purification": tuple(f"water_capacity_{p}" for p in WATER_POLLUTANTS),
}

#: why a quantity can be nodata inside a unit, for the data-quality warnings
NODATA_REASONS = {
    "soil_retention": "nodata in an input (the accounting RUSLE has no stream mask)",
    "avoided_export": "InVEST's SDR convention: nodata on streams and where no stream is reached",
    "sediment_export": "InVEST's SDR convention: nodata on streams and where no stream is reached",
}

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
    written = []
    prices = component_prices(config, acc.accounts)
    for (name, year), da in acc.rasters.items():
        reporter.step(f"{name} {year}")
        write_cog(da, folder / f"{name}_{year}.tif")
        written.append(f"rasters/{name}_{year}.tif")
        rows = prices[(prices["quantity_name"] == name) & (prices["year"] == year)]
        for row in rows.to_dict("records"):
            value = da * (float(row["factor"]) * float(row["price_constant_cny"]))
            value.attrs = {"units": f"CNY yr-1 ({config.valuation.base_year} prices)"}
            value.name = f"{row['service']}_{row['component']}"
            path = folder / f"{value.name}_{year}_value_constant_cny.tif"
            write_cog(value, path)
            written.append(f"rasters/{path.name}")
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
    policy = config.linkage_file()
    if policy is None:
        return None
    from linkage.run import run_link

    cropland = cropland_areas(cat, acc.levels, config.years)
    concrete = prepare_linkage(
        cat,
        acc.accounts,
        policy,
        folder / "linkage_inputs",
        cropland=cropland,
        weather_neutral=acc.weather_neutral,
    )
    return run_link(concrete, folder)


def _quality_warnings(cat: Catalog, config: RunConfig, acc: Accounts) -> list[str]:
    warnings = list(acc.warnings)
    params = cat.table(config.parameters)
    used = {p for service in config.services for p in PARAMETERS_USED.get(service, ())}
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
        why = NODATA_REASONS.get(str(name), "nodata in an input")
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


CATEGORY_COLUMNS = (
    "gep_provisioning_constant_cny",
    "gep_regulating_constant_cny",
    "gep_cultural_constant_cny",
    "gep_r_constant_cny",
)


def gep_summary_lines(accounts: pd.DataFrame, base_year: int) -> list[str]:
    """One line per level and year: GEP, its categories and GEP-R; partial totals say so."""
    gep = gep_by_unit(accounts)
    totals = gep.groupby(["level", "year"], as_index=False)[
        ["gep_constant_cny", *CATEGORY_COLUMNS]
    ].sum()
    missing = str(gep["gep_missing"].iloc[0]) if len(gep) else ""
    label = f"GEP [PARTIAL 部分核算; missing: {missing}]" if missing else "GEP"
    lines = []
    for r in totals.to_dict("records"):
        v = {k: float(r[k]) / 1e8 for k in ("gep_constant_cny", *CATEGORY_COLUMNS)}
        lines.append(
            f"{r['level']}s, {r['year']}: {label} {v['gep_constant_cny']:,.2f} 亿元 "
            f"({base_year} prices); provisioning 供给 {v['gep_provisioning_constant_cny']:,.2f}, "
            f"regulating 调节 (GEP-R) {v['gep_regulating_constant_cny']:,.2f}, cultural 文化 "
            f"{v['gep_cultural_constant_cny']:,.2f} 亿元"
        )
    return lines


def _report(
    cat: Catalog,
    config: RunConfig,
    acc: Accounts,
    summary: pd.DataFrame,
    maps: list[tuple[str, Path]],
    warnings: list[str],
    path: Path,
) -> Path:
    prices = component_prices(config, acc.accounts)
    observed = acc.accounts[["service", "component", "year", "price_observed_year"]]
    prices = prices.merge(
        observed.drop_duplicates(["service", "component", "year"]),
        on=["service", "component", "year"],
        how="left",
    )
    methods = prices[
        [
            "service",
            "component",
            "year",
            "factor",
            "price_current_cny",
            "price_constant_cny",
            "price_unit",
            "price_year",
            "price_observed_year",
            "deflator",
            "price_source",
            "price_confidence",
        ]
    ]
    params = cat.table(config.parameters)[
        ["ecosystem_type", "parameter", "value", "unit", "confidence", "source"]
    ]
    service_params = pd.DataFrame(
        [
            {"service": s, "parameter": k, "value": str(v)}
            for s, ps in config.services.items()
            for k, v in ps.items()
        ],
        columns=["service", "parameter", "value"],
    )
    lines = gep_summary_lines(acc.accounts, config.valuation.base_year)
    lines.append(f"services: {', '.join(config.services)}; years: {config.years}")
    top = acc.accounts[acc.accounts["level"] == config.units[0].level]
    by_service = top.pivot_table(
        index=["service", "component"], columns="year", values="value_constant_cny", aggfunc="sum"
    )
    by_service.columns = [f"{c} (CNY yr-1)" for c in by_service.columns]
    gep = gep_by_unit(acc.accounts)
    by_category = gep[gep["level"] == config.units[0].level][
        ["unit_id", "unit_name", "year", "gep_constant_cny", *CATEGORY_COLUMNS, "gep_scope"]
    ]
    content = ReportContent(
        title=f"GEP accounts and compensation: {config.name}",
        summary_lines=lines,
        tables=[
            ("GEP per district (constant prices, CNY yr⁻¹)", summary),
            (
                f"GEP by category and GEP-R per {config.units[0].level} (constant prices, "
                "CNY yr⁻¹; 供给 provisioning, 调节 regulating = GEP-R, 文化 cultural)",
                by_category,
            ),
            (
                f"GEP by service component, all {config.units[0].level}s (constant prices)",
                by_service.reset_index(),
            ),
            ("Service parameters set in the run configuration", service_params),
        ],
        maps=maps,
        methods=methods,
        parameters=params,
        warnings=warnings,
        synthetic_note=SYNTHETIC_NOTE if cat.synthetic else None,
    )
    return write_report(content, path)


def execute(
    config: RunConfig,
    out: Path,
    *,
    reporter: Reporter | None = None,
    scheduler: str | None = None,
    chunks: int = 2048,
) -> RunResult:
    """Run the whole pipeline into ``out`` (built in a temporary folder, moved at the end).

    ``scheduler`` (``local``, ``threads`` or ``tcp://HOST:PORT``) computes the per-pixel
    services on chunked inputs (``chunks`` cells a side) with dask, locally or on a
    dask.distributed cluster (:func:`gep.distributed.compute_quantities`); the results equal
    the single-process run.
    """
    reporter = reporter or SilentReporter()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    reporter.stage("check inputs")
    cat = check_inputs(config)
    lap("check inputs")
    stale = remove_stale_partials(out)
    with staged_folder(out) as tmp, _log_file(tmp / "run.log"):
        log.info("gep run %s into %s", config.name, out)
        for folder in stale:
            log.warning("removed %s, left by an earlier run into %s that was killed", folder, out)
        reporter.stage("services")
        levels = unit_levels(cat, config)
        params = cat.table(config.parameters)
        if scheduler is None:
            rasters = compute_quantities(cat, config, params, reporter.step)
        else:
            from gep.distributed import compute_quantities as on_scheduler

            rasters = on_scheduler(
                cat, config, params, reporter.step, scheduler_spec=scheduler, chunks=chunks
            )
        lap("services")
        reporter.stage("accounts")
        acc = build_accounts(cat, config, rasters, levels, params=params, progress=reporter.step)
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
        write_bulletins(
            acc.accounts,
            allocation,
            None if link is None else link.programmes,
            tmp / "bulletins",
            synthetic_note=SYNTHETIC_NOTE if cat.synthetic else None,
        )
        lap("bulletins")
        summary = district_summary(acc, allocation, config.years)
        reporter.stage("maps")
        maps = write_maps(cat, config, acc, allocation, tmp / "maps", reporter.step)
        lap("maps")
        reporter.stage("report")
        warnings = _quality_warnings(cat, config, acc)
        for w in warnings:
            log.warning(w)
        _report(cat, config, acc, summary, maps, warnings, tmp / "report.html")
        lap("report")
        outputs += [str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()]
        write_manifest(
            tmp / "manifest.json",
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
    return RunResult(Path(out).resolve(), acc, summary, allocation, timings, warnings)
