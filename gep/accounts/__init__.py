"""Zonal accounts: per-pixel quantities summed per district and township, exactly.

Each unit polygon's exact fractional coverage of every pixel comes from exactextract (Baston
2022, *exactextract*: the area fraction of each cell covered by the polygon). The fractions are
kept as a sparse matrix ``W`` (units × pixels), so that the sum of any raster ``v`` over every
unit is one sparse product ``W·v``: the polygons are intersected with the grid once, and every
service, year and component reuses it.

On grids too large for that matrix (≈ 12 bytes per covered pixel), a *blockwise* level keeps
only the polygons: they are intersected with each block of the grid the first time it is
summed, and that block's coverage is kept on disk, compactly (``gep.accounts.coverage``), for
every later sum of the block (all the rasters of a pass, every pass of a run); the block sums
are added up. A cell's coverage
fraction depends on that cell and polygon only, so both ways give the same fractions and the
same sums (to rounding).

Rules (what a statistics bureau checks):

* a unit's quantity is ``Σ_pixels W[u, pixel]·v[pixel]`` over valid pixels; the share of the
  unit's area with valid data is reported beside it (``valid_fraction``);
* a unit that does not overlap the grid at all is reported and its quantities are missing
  (NaN), never a silent zero;
* townships inside a district add up to the district: checked for every quantity and reported
  (``check_hierarchy``).
"""

from gep.accounts.tables import (
    ACCOUNT_COLUMNS,
    accounts_table,
    check_hierarchy,
    gep_by_unit,
    quantity_table,
    service_shares,
)
from gep.accounts.units import ZONAL_BLOCK, UnitLevel, unit_level
from gep.accounts.zonal import zonal_sum, zonal_sum_chunked

__all__ = [
    "ACCOUNT_COLUMNS",
    "ZONAL_BLOCK",
    "UnitLevel",
    "accounts_table",
    "check_hierarchy",
    "gep_by_unit",
    "quantity_table",
    "service_shares",
    "unit_level",
    "zonal_sum",
    "zonal_sum_chunked",
]
