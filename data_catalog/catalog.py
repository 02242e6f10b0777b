"""Load a catalog, check every entry (all problems at once) and align rasters to one grid."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import xarray as xr
import yaml
from pydantic import ValidationError
from rasterio.enums import Resampling

from data_catalog.checks import CheckContext, check_file, check_raster, check_table, check_vector
from data_catalog.errors import CatalogError, CRSError, InputError, Problem
from data_catalog.grid import Grid
from data_catalog.rasters import read_raster
from data_catalog.schema import CatalogFile, Entry
from data_catalog.units import canonical_unit, conversion_factor
from data_catalog.vectors import read_vector

_CHECKS: dict[str, Callable[[str, Entry, CheckContext], list[Problem]]] = {
    "raster": check_raster,
    "vector": check_vector,
    "table": check_table,
}


@dataclass
class Catalog:
    """A parsed catalog: entries by id, the reference grid's entry and the catalog's folder."""

    path: Path
    name: str
    reference_id: str
    entries: dict[str, Entry]
    description: str = ""
    synthetic: bool = False
    _grid: Grid | None = field(default=None, repr=False)
    #: whether each raster file lies on the reference grid (looked up once, not per window)
    _on_grid: dict[Path, bool] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> Path:
        """Folder that entry paths are relative to."""
        return self.path.parent

    def resolve(self, entry_id: str) -> Path:
        """Absolute path of an entry's file."""
        p = Path(self.entry(entry_id).path)
        return p if p.is_absolute() else self.root / p

    def entry(self, entry_id: str) -> Entry:
        """The entry with this id (InputError listing the ids otherwise)."""
        try:
            return self.entries[entry_id]
        except KeyError:
            raise InputError(
                f"catalog {self.name}: no entry {entry_id!r}; entries are {sorted(self.entries)}"
            ) from None

    def find(self, *, variable: str, year: int | None = None) -> str:
        """Id of the single entry with this variable (and year, when given)."""
        ids = [
            i
            for i, e in self.entries.items()
            if e.variable == variable and (year is None or e.year in (year, None))
        ]
        exact = [i for i in ids if year is None or self.entries[i].year == year]
        ids = exact or ids
        if len(ids) != 1:
            raise InputError(
                f"catalog {self.name}: expected one entry with variable {variable!r}"
                f"{f' and year {year}' if year else ''}, found {ids or 'none'}"
            )
        return ids[0]

    def years(self, variable: str) -> list[int]:
        """Years for which a variable is declared."""
        return sorted({e.year for e in self.entries.values() if e.variable == variable and e.year})

    def reference_grid(self) -> Grid:
        """Grid every raster is aligned to."""
        if self._grid is None:
            self._grid = Grid.from_file(self.resolve(self.reference_id))
        return self._grid

    def check(self) -> list[Problem]:
        """Run every check of every entry; return all problems (empty when the catalog is fine)."""
        ctx = CheckContext(self.root, self.entries)
        problems: list[Problem] = []
        for entry_id in self._check_order():
            entry = self.entries[entry_id]
            found = check_file(entry_id, entry, ctx)
            if not found:
                found = _CHECKS[entry.kind](entry_id, entry, ctx)
            problems += found
            if entry_id == self.reference_id and not found:
                ctx.reference = self.reference_grid()
        return problems

    def _check_order(self) -> list[str]:
        rank = {"raster": 1, "vector": 2, "table": 3}
        ids = sorted(self.entries, key=lambda i: (rank[self.entries[i].kind], i))
        ids.remove(self.reference_id)
        return [self.reference_id, *ids]

    def raster(
        self,
        entry_id: str,
        *,
        chunks: int | dict[str, int] | None = None,
        window: tuple[slice, slice] | None = None,
    ) -> xr.DataArray:
        """Read a raster, convert it to its canonical unit and align it to the reference grid.

        ``window`` (rows, columns of the reference grid) reads only that part: from the file
        directly when it is on the reference grid, else from the aligned raster.
        """
        entry = self.entry(entry_id)
        if entry.kind != "raster":
            raise InputError(f"{entry_id}: is a {entry.kind}, not a raster")
        if window is not None:
            return self._raster_window(entry_id, window)
        da = read_raster(
            self.resolve(entry_id),
            name=entry_id,
            categorical=entry.categorical,
            units=entry.units,
            nodata=entry.nodata,
            chunks=chunks,
        )
        if da.rio.crs is None and entry.crs:
            da = da.rio.write_crs(pyproj.CRS.from_user_input(entry.crs).to_wkt())
        da = _to_canonical(da, entry)
        ref = self.reference_grid()
        if not ref.matches(Grid.from_dataarray(da)):
            if entry.resampling is None:
                raise InputError(
                    f"{entry_id}: not on the reference grid and no `resampling:` declared"
                )
            da = align(da, ref, entry.resampling, categorical=entry.categorical)
        da.attrs.update(_provenance(entry))
        return da

    def _raster_window(self, entry_id: str, window: tuple[slice, slice]) -> xr.DataArray:
        entry = self.entry(entry_id)
        path = self.resolve(entry_id)
        if path not in self._on_grid:
            try:
                self._on_grid[path] = self.reference_grid().matches(Grid.from_file(path))
            except CRSError:
                # no CRS in the file: read it whole (the catalog's CRS applies)
                self._on_grid[path] = False
        if not self._on_grid[path]:
            da = self.raster(entry_id, chunks={"y": 1024, "x": 1024})[window]
            return da.load()
        da = read_raster(
            path,
            name=entry_id,
            categorical=entry.categorical,
            units=entry.units,
            nodata=entry.nodata,
            window=window,
        )
        da = _to_canonical(da, entry)
        da.attrs.update(_provenance(entry))
        return da

    def window_of(self, da: xr.DataArray, window: tuple[slice, slice] | None) -> xr.DataArray:
        """``da`` (on the reference grid) cut to ``window``, with the window's transform.

        For catalogs that replace some rasters (scenarios, occupation footprints): their
        :meth:`raster` serves windows of the replaced arrays as the base serves the files.
        """
        if window is None:
            return da
        from affine import Affine

        rows, cols = window
        shift = Affine.translation(cols.start or 0, rows.start or 0)
        transform = self.reference_grid().transform * shift
        return da.isel(y=rows, x=cols).rio.write_transform(transform)

    def vector(self, entry_id: str) -> gpd.GeoDataFrame:
        """Read a vector layer (GCJ-02 converted to WGS84)."""
        entry = self.entry(entry_id)
        return read_vector(
            self.resolve(entry_id), name=entry_id, crs=entry.crs, id_field=entry.id_field
        )

    def table(self, entry_id: str) -> pd.DataFrame:
        """Read a CSV table."""
        df = pd.read_csv(self.resolve(entry_id), encoding="utf-8-sig")
        df.columns = [str(c).strip() for c in df.columns]
        return df


def _provenance(entry: Entry) -> dict[str, object]:
    attrs: dict[str, object] = {"source": entry.source, "licence": entry.licence}
    if entry.year is not None:
        attrs["year"] = entry.year
    if entry.synthetic:
        attrs["synthetic"] = "true"
    return attrs


def _to_canonical(da: xr.DataArray, entry: Entry) -> xr.DataArray:
    canonical = canonical_unit(entry.variable) if entry.variable else None
    if canonical is None or entry.units is None or entry.units == canonical:
        return da
    factor = conversion_factor(entry.units, canonical)
    attrs = {**da.attrs, "units": canonical}
    out = da * np.asarray(factor, dtype=da.dtype)
    out.attrs = attrs
    out.encoding = da.encoding
    return out


_RESAMPLING = {
    "nearest": Resampling.nearest,
    "mode": Resampling.mode,
    "bilinear": Resampling.bilinear,
    "average": Resampling.average,
    "cubic": Resampling.cubic,
}


def align(
    da: xr.DataArray, grid: Grid, resampling: str, *, categorical: bool = False
) -> xr.DataArray:
    """Warp ``da`` onto ``grid`` with the named resampling (GDAL's warper via rioxarray).

    Continuous layers carry NaN as nodata; categorical layers their integer sentinel, and get a
    fresh ``valid`` mask. Cells of the grid outside the layer become nodata.
    """
    attrs = dict(da.attrs)
    if categorical:
        sentinel = attrs.get("nodata")
        if sentinel is None:
            raise InputError(f"{da.name}: a categorical layer needs a nodata value to be resampled")
        src = da.drop_vars("valid").rio.write_nodata(sentinel, encoded=False)
    else:
        src = da.rio.write_nodata(np.nan, encoded=False)
    x, y = grid.coords()
    target = xr.DataArray(
        np.zeros(grid.shape, dtype=np.uint8), dims=("y", "x"), coords={"y": y, "x": x}
    )
    target = target.rio.write_crs(grid.crs.to_wkt()).rio.write_transform(grid.transform)
    out = src.rio.reproject_match(target, resampling=_RESAMPLING[resampling])
    out = out.assign_coords(x=x, y=y)
    if categorical:
        out = out.assign_coords(valid=out != np.asarray(sentinel).astype(out.dtype))
    out.attrs = {**attrs, "resampling": resampling}
    out.attrs.pop("_FillValue", None)
    out.name = da.name
    return out


def load_catalog(path: str | Path) -> Catalog:
    """Parse and schema-check a catalog YAML file.

    Raises
    ------
    CatalogError
        Listing every schema problem of every entry at once.
    """
    catalog, problems = _parse_catalog(path)
    if problems or catalog is None:
        raise CatalogError(problems)
    return catalog


def _parse_catalog(path: str | Path) -> tuple[Catalog | None, list[Problem]]:
    """The catalog made of the entries that parse, and the problems of those that don't."""
    path = Path(path).resolve()
    if not path.exists():
        hint = "give the path of a catalog YAML file"
        return None, [Problem("catalog", "path", f"catalog file not found: {path}", hint)]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return None, [
            Problem("catalog", "yaml", f"{path} is not valid YAML: {exc}", "fix the syntax")
        ]
    try:
        top = CatalogFile.model_validate(raw)
    except ValidationError as exc:
        return None, _pydantic_problems("catalog", exc)
    entries, problems = _parse_entries(top.entries)
    reference = entries.get(top.reference_grid)
    if reference is None or reference.kind != "raster":
        rasters = sorted(i for i, e in entries.items() if e.kind == "raster")
        problems.append(
            Problem(
                "catalog",
                "reference_grid",
                f"{top.reference_grid!r} is not a valid raster entry",
                f"name one of {rasters}",
            )
        )
        return None, problems
    return Catalog(
        path, top.name, top.reference_grid, entries, top.description, top.synthetic
    ), problems


def _parse_entries(raw: dict[str, dict[str, object]]) -> tuple[dict[str, Entry], list[Problem]]:
    entries: dict[str, Entry] = {}
    problems: list[Problem] = []
    for entry_id, fields in raw.items():
        try:
            entries[entry_id] = Entry.model_validate(fields)
        except ValidationError as exc:
            problems += _pydantic_problems(entry_id, exc)
    return entries, problems


def _pydantic_problems(entry_id: str, exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "entry"
        hint = "see the catalog reference in the README"
        if err["type"] == "missing":
            hint = f"add `{loc}:` to the entry"
        elif err["type"] == "extra_forbidden":
            hint = "remove it or check its spelling"
        problems.append(Problem(entry_id, loc, err["msg"], hint))
    return problems


def validate_catalog(path: str | Path) -> list[Problem]:
    """Every problem of a catalog file: schema and data checks, all at once.

    Entries with schema problems are reported and skipped; all the others are checked.
    """
    catalog, problems = _parse_catalog(path)
    if catalog is None:
        return problems
    return problems + catalog.check()


def catalog_summary(catalog: Catalog) -> list[dict[str, object]]:
    """One row per entry: id, kind, variable, year, units, and shape or feature count."""
    rows = []
    for entry_id, entry in catalog.entries.items():
        row: dict[str, object] = {
            "id": entry_id,
            "kind": entry.kind,
            "variable": entry.variable or "",
            "year": entry.year or "",
            "units": entry.units or "",
        }
        path = catalog.resolve(entry_id)
        if entry.kind == "raster":
            with rasterio.open(path) as src:
                row["size"] = f"{src.height}×{src.width} @ {abs(src.transform.a):g}"
        elif entry.kind == "vector":
            row["size"] = f"{len(catalog.vector(entry_id))} features"
        else:
            row["size"] = f"{len(catalog.table(entry_id))} rows"
        rows.append(row)
    return rows
