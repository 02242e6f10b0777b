"""The grid of an InVEST run's rasters, on rasterio's CRS (no pyproj import on this path).

:class:`data_catalog.grid.Grid` holds a ``pyproj.CRS``: importing pyproj and building the CRS
objects costs a ``gep invest`` process about 60 ms, a sixth of the carbon model's I/O floor
at 2000². The runners only need what GDAL knows already (projected or not, the linear unit,
equality, a name for messages), so :class:`RasterGrid` keeps the CRS rasterio read and offers
the part of :class:`~data_catalog.grid.Grid`'s interface they use; the checks and messages
are the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine

from gep.errors import CRSError

_NAME = re.compile(r'^\s*[A-Z_0-9]+\[\s*"([^"]*)"')


def crs_name(crs: Any) -> str:
    """The CRS's name as pyproj gives it (the first quoted string of its WKT).

    Examples
    --------
    >>> from rasterio.crs import CRS
    >>> crs_name(CRS.from_epsg(32650))
    'WGS 84 / UTM zone 50N'
    """
    match = _NAME.match(crs.to_wkt())
    return match.group(1) if match else crs.to_string()


@dataclass(frozen=True)
class RasterGrid:
    """A north-up raster grid: rasterio CRS, transform and shape.

    Parameters
    ----------
    crs : rasterio.crs.CRS
        Coordinate reference system.
    transform : affine.Affine
        Pixel-corner affine transform (GDAL convention).
    shape : tuple of int
        ``(rows, cols)``.

    Examples
    --------
    >>> from rasterio.crs import CRS
    >>> g = RasterGrid(CRS.from_epsg(32650), Affine(30, 0, 400000, 0, -30, 4500000), (2, 3))
    >>> g.res, g.bounds, float(g.cell_area_m2()[0, 0])
    ((30.0, 30.0), (400000.0, 4499940.0, 400090.0, 4500000.0), 900.0)
    """

    crs: Any
    transform: Affine
    shape: tuple[int, int]

    @classmethod
    def from_file(cls, path: str | Path) -> RasterGrid:
        """Grid of a raster file (CRSError if it has none)."""
        with rasterio.open(path) as src:
            if src.crs is None:
                raise CRSError(
                    f"raster '{path}' has no CRS; assign one (gdal_edit.py -a_srs EPSG:...)"
                )
            return cls(src.crs, src.transform, (src.height, src.width))

    @property
    def crs_name(self) -> str:
        """Name of the CRS, for messages."""
        return crs_name(self.crs)

    @property
    def res(self) -> tuple[float, float]:
        """Pixel size ``(x, y)`` in CRS units, both positive."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in CRS units."""
        rows, cols = self.shape
        left, top = self.transform @ (0, 0)
        right, bottom = self.transform @ (cols, rows)
        return (min(left, right), min(top, bottom), max(left, right), max(top, bottom))

    @property
    def is_geographic(self) -> bool:
        """True when coordinates are angles (degrees)."""
        return bool(self.crs.is_geographic)

    def linear_unit_factor(self) -> float:
        """Metres per CRS linear unit (1.0 for metres, 0.3048 for international feet).

        Raises
        ------
        CRSError
            If the CRS is geographic or its axis unit is not a length.
        """
        if self.is_geographic:
            raise CRSError(
                f"grid CRS {self.crs_name!r} is geographic (degrees); metres are needed here. "
                "Reproject the layer to a projected CRS such as UTM (EPSG:32650 for Beijing)."
            )
        try:
            unit, factor = self.crs.linear_units_factor
        except Exception:  # rasterio's CRSError: no linear unit
            unit, factor = self.crs.linear_units, 0.0
        if unit in ("degree", "radian") or not factor:
            raise CRSError(f"grid CRS {self.crs_name!r} has axis unit {unit!r}, not a length")
        return float(factor)

    def pixel_size_m(self) -> tuple[float, float]:
        """Pixel size ``(x, y)`` in metres (feet converted)."""
        factor = self.linear_unit_factor()
        x, y = self.res
        return (x * factor, y * factor)

    def cell_area_m2(self) -> np.ndarray:
        """Cell areas in m², shape ``(rows, 1)`` (one area: the grid is projected)."""
        t = self.transform
        area = abs(t.a * t.e - t.b * t.d) * self.linear_unit_factor() ** 2
        return np.full((self.shape[0], 1), area)

    def matches(self, other: RasterGrid, *, rtol: float = 1e-9) -> bool:
        """True when both grids have the same CRS, shape and transform."""
        return (
            self.shape == other.shape
            and self.crs == other.crs
            and self.transform.almost_equals(other.transform, precision=rtol * max(self.res))
        )
