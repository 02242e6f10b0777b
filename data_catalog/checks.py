"""Every check of a catalog entry. Each returns a list of problems; none raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.errors
from rasterio.warp import transform_bounds

from data_catalog.errors import GEPError, Problem, UnitError
from data_catalog.grid import Grid
from data_catalog.schema import Entry
from data_catalog.tables import load_scheme
from data_catalog.units import canonical_unit, conversion_factor
from data_catalog.vectors import read_vector

_STRIP_ROWS = 1024


@dataclass
class RasterStats:
    """Summary of a raster's valid values, gathered strip by strip (bounded memory)."""

    minimum: float = np.inf
    maximum: float = -np.inf
    n_valid: int = 0
    codes: set[int] = field(default_factory=set)

    def below(self, low: float) -> bool:
        """Whether any valid value is below ``low``."""
        return self.n_valid > 0 and self.minimum < low

    def above(self, high: float) -> bool:
        """Whether any valid value is above ``high``."""
        return self.n_valid > 0 and self.maximum > high


@dataclass
class CheckContext:
    """What checks share: the catalog folder, the reference grid and cached raster stats."""

    root: Path
    entries: dict[str, Entry]
    reference: Grid | None = None
    stats: dict[str, RasterStats] = field(default_factory=dict)

    def path(self, entry: Entry) -> Path:
        """Absolute path of an entry's file."""
        p = Path(entry.path)
        return p if p.is_absolute() else self.root / p


def raster_stats(path: Path, nodata: float | None, *, categorical: bool) -> RasterStats:
    """Min, max, count and (categorical) distinct codes of the valid cells of band 1."""
    stats = RasterStats()
    with rasterio.open(path) as src:
        for r0 in range(0, src.height, _STRIP_ROWS):
            window = ((r0, min(r0 + _STRIP_ROWS, src.height)), (0, src.width))
            block = src.read(1, window=window)
            valid = np.ones(block.shape, dtype=bool)
            if np.issubdtype(block.dtype, np.floating):
                valid &= np.isfinite(block)
            if nodata is not None and not np.isnan(nodata):
                valid &= block != np.asarray(nodata).astype(block.dtype)
            values = block[valid]
            if values.size == 0:
                continue
            stats.n_valid += int(values.size)
            stats.minimum = min(stats.minimum, float(values.min()))
            stats.maximum = max(stats.maximum, float(values.max()))
            if categorical:
                stats.codes.update(int(v) for v in np.unique(values))
    return stats


def check_file(entry_id: str, entry: Entry, ctx: CheckContext) -> list[Problem]:
    """The file exists."""
    path = ctx.path(entry)
    if path.exists():
        return []
    return [
        Problem(
            entry_id,
            "path",
            f"file not found: {path}",
            "check the path (relative to the catalog file) or add the file",
        )
    ]


def check_units(entry_id: str, entry: Entry) -> list[Problem]:
    """Declared units exist and convert to the variable's canonical unit."""
    canonical = canonical_unit(entry.variable) if entry.variable else None
    if entry.units is None:
        if canonical is not None and canonical != "class":
            return [
                Problem(
                    entry_id,
                    "units",
                    f"no units declared for variable '{entry.variable}'",
                    f"declare `units: {canonical}` (or a convertible unit)",
                )
            ]
        return []
    try:
        conversion_factor(entry.units, canonical or entry.units)
    except UnitError as exc:
        hint = f"declare units convertible to '{canonical}'" if canonical else "use a known unit"
        return [Problem(entry_id, "units", str(exc), hint)]
    return []


def raster_crs(
    entry_id: str, entry: Entry, src: rasterio.DatasetReader
) -> tuple[pyproj.CRS | None, list[Problem]]:
    """The CRS to use for a raster: the file's or the declared one, with problems."""
    declared = pyproj.CRS.from_user_input(entry.crs) if entry.crs else None
    if src.crs is None and declared is None:
        return None, [
            Problem(
                entry_id,
                "crs",
                "the raster has no CRS and the catalog declares none",
                "declare `crs:` (e.g. EPSG:32650) or set it with gdal_edit.py -a_srs",
            )
        ]
    file_crs = pyproj.CRS.from_user_input(src.crs) if src.crs is not None else None
    if file_crs is not None and declared is not None and file_crs != declared:
        return file_crs, [
            Problem(
                entry_id,
                "crs",
                f"the file's CRS {file_crs.to_string()} ≠ declared {entry.crs}",
                "correct `crs:` in the catalog, or reproject the file",
            )
        ]
    return file_crs or declared, []


def check_metres(entry_id: str, entry: Entry, crs: pyproj.CRS) -> list[Problem]:
    """Layers used for slopes or distances must be in a projected CRS with linear units."""
    if entry.requires_metres() and crs.is_geographic:
        return [
            Problem(
                entry_id,
                "crs",
                f"geographic CRS {crs.name!r} (degrees) where metres are needed",
                "reproject to a projected CRS in metres (e.g. EPSG:32650, UTM 50N)",
            )
        ]
    return []


def check_nodata(entry_id: str, entry: Entry, src: rasterio.DatasetReader) -> list[Problem]:
    """Nodata must be defined in the file or in the catalog."""
    if src.nodata is None and entry.nodata is None:
        return [
            Problem(
                entry_id,
                "nodata",
                "nodata is undefined in the file and the catalog",
                "declare `nodata:` (the value that marks missing cells) or set it "
                "with gdal_edit.py -a_nodata",
            )
        ]
    if src.nodata is not None and entry.nodata is not None and not _same(src.nodata, entry.nodata):
        return [
            Problem(
                entry_id,
                "nodata",
                f"the file's nodata {src.nodata} ≠ declared {entry.nodata}",
                "remove `nodata:` from the catalog or correct it",
            )
        ]
    return []


def _same(a: float, b: float) -> bool:
    return bool((np.isnan(a) and np.isnan(b)) or a == b)


def check_grid(entry_id: str, entry: Entry, grid: Grid, ctx: CheckContext) -> list[Problem]:
    """A raster off the reference grid must declare how it is resampled; it must overlap."""
    ref = ctx.reference
    if ref is None:
        return []
    problems = _check_overlap(entry_id, grid.crs, grid.bounds, ref)
    if not problems and not ref.matches(grid) and entry.resampling is None:
        rule = "mode" if entry.categorical else "average (coarser) or bilinear (finer)"
        problems.append(
            Problem(
                entry_id,
                "resampling",
                f"grid (CRS {grid.crs.to_string()}, pixel {grid.res}, shape {grid.shape}) does not match "
                f"the reference grid (CRS {ref.crs.to_string()}, pixel {ref.res}, shape {ref.shape})",
                f"declare `resampling: {rule}` so it is aligned to the reference grid",
            )
        )
    return problems


def _check_overlap(
    entry_id: str, crs: pyproj.CRS, bounds: tuple[float, float, float, float], ref: Grid
) -> list[Problem]:
    try:
        left, bottom, right, top = transform_bounds(crs, ref.crs, *bounds, densify_pts=21)
    except Exception as exc:  # PROJ errors for impossible transforms
        return [
            Problem(entry_id, "crs", f"cannot transform its bounds to the reference CRS ({exc})")
        ]
    rl, rb, rr, rt = ref.bounds
    if right <= rl or left >= rr or top <= rb or bottom >= rt:
        return [
            Problem(
                entry_id,
                "path",
                f"the layer (bounds {tuple(round(v, 1) for v in (left, bottom, right, top))} "
                f"in the reference CRS) does not overlap the reference grid "
                f"{tuple(round(v, 1) for v in ref.bounds)}",
                "check the file and its CRS (a wrong CRS often moves a layer far away)",
            )
        ]
    return []


def check_values(entry_id: str, entry: Entry, stats: RasterStats) -> list[Problem]:
    """Valid values inside the declared range; class codes known to the class scheme."""
    problems: list[Problem] = []
    if stats.n_valid == 0:
        return [
            Problem(
                entry_id,
                "path",
                "the raster has no valid cell (all nodata)",
                "check the file and its nodata value",
            )
        ]
    if entry.valid_range is not None:
        low, high = entry.valid_range
        if stats.below(low) or stats.above(high):
            problems.append(
                Problem(
                    entry_id,
                    "valid_range",
                    f"values from {stats.minimum:g} to {stats.maximum:g} fall outside [{low:g}, {high:g}]"
                    + (f" {entry.units}" if entry.units else ""),
                    "check units and nodata, or correct `valid_range:`",
                )
            )
    if entry.class_scheme is not None:
        problems.extend(_check_codes(entry_id, entry.class_scheme, stats.codes))
    return problems


def _check_codes(entry_id: str, scheme: str, codes: set[int]) -> list[Problem]:
    try:
        table = load_scheme(scheme)
    except GEPError as exc:
        return [Problem(entry_id, "class_scheme", str(exc), "use a built-in scheme or a valid CSV")]
    dup = table["code"][table["code"].duplicated()].tolist()
    problems = []
    if dup:
        problems.append(
            Problem(
                entry_id,
                "class_scheme",
                f"scheme {scheme} repeats codes {dup}",
                "each class code must appear once in the scheme",
            )
        )
    unknown = sorted(codes - {int(c) for c in table["code"]})
    if unknown:
        problems.append(
            Problem(
                entry_id,
                "class_scheme",
                f"codes {unknown} are not in class scheme {scheme}",
                "fix the land-cover file, or use/extend the right scheme",
            )
        )
    return problems


def check_raster(entry_id: str, entry: Entry, ctx: CheckContext) -> list[Problem]:
    """All checks of one raster entry."""
    problems = check_units(entry_id, entry)
    try:
        src = rasterio.open(ctx.path(entry))
    except rasterio.errors.RasterioError as exc:
        return [
            *problems,
            Problem(
                entry_id,
                "path",
                f"cannot be opened as a raster ({exc})",
                "replace it with a valid GeoTIFF (check the download)",
            ),
        ]
    with src:
        crs, crs_problems = raster_crs(entry_id, entry, src)
        problems += crs_problems + check_nodata(entry_id, entry, src)
        nodata = src.nodata if src.nodata is not None else entry.nodata
        if src.count != 1:
            problems.append(
                Problem(
                    entry_id,
                    "path",
                    f"{src.count} bands; one is expected",
                    "split the bands into separate files and entries",
                )
            )
        if crs is None:
            return problems
        problems += check_metres(entry_id, entry, crs)
        grid = Grid(crs, src.transform, (src.height, src.width))
    problems += check_grid(entry_id, entry, grid, ctx)
    stats = raster_stats(ctx.path(entry), nodata, categorical=entry.categorical)
    ctx.stats[entry_id] = stats
    return problems + check_values(entry_id, entry, stats)


def check_vector(entry_id: str, entry: Entry, ctx: CheckContext) -> list[Problem]:
    """A vector layer opens, has a CRS, the declared fields and overlaps the reference grid."""
    try:
        gdf = read_vector(ctx.path(entry), name=entry_id, crs=entry.crs, id_field=entry.id_field)
    except GEPError as exc:
        field_name = (
            "crs"
            if "CRS" in str(exc)
            else ("id_field" if entry.id_field and entry.id_field in str(exc) else "path")
        )
        return [Problem(entry_id, field_name, str(exc).removeprefix(f"{entry_id}: "))]
    problems = [
        Problem(
            entry_id,
            attr,
            f"field {value!r} not found; fields are {list(gdf.columns)}",
            f"set `{attr}:` to an existing field",
        )
        for attr, value in (("name_field", entry.name_field), ("parent_field", entry.parent_field))
        if value is not None and value not in gdf.columns
    ]
    if ctx.reference is not None and len(gdf):
        problems += _check_overlap(
            entry_id, pyproj.CRS.from_user_input(gdf.crs), tuple(gdf.total_bounds), ctx.reference
        )
    return problems


def check_table(entry_id: str, entry: Entry, ctx: CheckContext) -> list[Problem]:
    """Columns present, keys unique, every land-cover code of ``covers`` rasters present."""
    try:
        df = pd.read_csv(ctx.path(entry), encoding="utf-8-sig")
    except Exception as exc:
        return [Problem(entry_id, "path", f"cannot read as CSV ({exc})", "save it as UTF-8 CSV")]
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in [*entry.key, *entry.required_columns] if c not in df.columns]
    if missing:
        return [
            Problem(
                entry_id,
                "required_columns",
                f"columns {missing} not found; found {list(df.columns)}",
                "add the columns or correct the catalog",
            )
        ]
    problems: list[Problem] = []
    if entry.key:
        dup = df[df.duplicated(entry.key, keep=False)][entry.key].drop_duplicates()
        if len(dup):
            rows = dup.astype(str).agg("/".join, axis=1).tolist()
            problems.append(
                Problem(
                    entry_id,
                    "key",
                    f"duplicate codes {rows[:10]} in {entry.key}",
                    "keep one row per code",
                )
            )
        problems += _check_covers(entry_id, entry, df, ctx)
    return problems


def _check_covers(
    entry_id: str, entry: Entry, df: pd.DataFrame, ctx: CheckContext
) -> list[Problem]:
    key = entry.key[0]
    present = set(df[key].astype(str))
    problems = []
    for raster_id in entry.covers:
        raster = ctx.entries.get(raster_id)
        stats = ctx.stats.get(raster_id)
        if raster is None:
            problems.append(
                Problem(
                    entry_id,
                    "covers",
                    f"unknown raster entry {raster_id!r}",
                    f"use one of {sorted(ctx.entries)}",
                )
            )
            continue
        if stats is None:
            continue  # the raster itself has problems, reported there
        needed = _needed_keys(key, raster, stats)
        missing = sorted(needed - present)
        if missing:
            problems.append(
                Problem(
                    entry_id,
                    "key",
                    f"land-cover {'types' if key == 'ecosystem_type' else 'codes'} {missing} of "
                    f"'{raster_id}' are missing from column '{key}'",
                    "add a row for each (or fix the land-cover raster)",
                )
            )
    return problems


def _needed_keys(key: str, raster: Entry, stats: RasterStats) -> set[str]:
    if key == "ecosystem_type" and raster.class_scheme is not None:
        scheme = load_scheme(raster.class_scheme)
        types = scheme.set_index("code")["ecosystem_type"]
        return {str(types[c]) for c in stats.codes if c in types.index}
    return {str(c) for c in stats.codes}
