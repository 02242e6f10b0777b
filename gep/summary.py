"""Small summaries of a catalog for the command line (land-cover shares, unit counts)."""

from __future__ import annotations

import numpy as np
from rich.table import Table

from data_catalog.catalog import Catalog
from data_catalog.tables import load_scheme


def landcover_shares(cat: Catalog) -> Table:
    """Area (km²) and share of each ecosystem type, per land-cover year."""
    years = cat.years("landcover")
    table = Table(title="Land cover by ecosystem type (km², share)")
    table.add_column("ecosystem type")
    per_year = {}
    for year in years:
        entry_id = cat.find(variable="landcover", year=year)
        da = cat.raster(entry_id)
        scheme = load_scheme(cat.entry(entry_id).class_scheme or "clcd")
        to_type = dict(zip(scheme["code"].astype(int), scheme["ecosystem_type"], strict=True))
        area = np.broadcast_to(cat.reference_grid().cell_area_m2(), da.shape)
        valid = da.coords["valid"].values
        codes = da.values[valid]
        sums = np.bincount(codes, weights=area[valid], minlength=256)
        by_type: dict[str, float] = {}
        for code in np.flatnonzero(sums):
            key = to_type.get(int(code), f"code {code}")
            by_type[key] = by_type.get(key, 0.0) + float(sums[code]) / 1e6
        per_year[year] = by_type
        table.add_column(str(year), justify="right")
    types = sorted({t for d in per_year.values() for t in d})
    for t in types:
        cells = []
        for year in years:
            total = sum(per_year[year].values())
            value = per_year[year].get(t, 0.0)
            cells.append(f"{value:,.0f} ({100 * value / total:.1f} %)")
        table.add_row(t, *cells)
    return table


def unit_counts(cat: Catalog) -> Table:
    """Number of accounting units per level (vector entries with a ``level``)."""
    table = Table(title="Accounting units")
    table.add_column("level")
    table.add_column("entry")
    table.add_column("units", justify="right")
    for entry_id, entry in cat.entries.items():
        if entry.kind == "vector" and entry.level:
            table.add_row(entry.level, entry_id, str(len(cat.vector(entry_id))))
    return table
