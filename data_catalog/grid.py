"""The raster grid: CRS, transform and shape, with cell areas in square metres."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyproj
import rasterio
from affine import Affine

from data_catalog.errors import CRSError, GridMismatchError

if TYPE_CHECKING:
    import xarray as xr

_METRE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Parameters
    ----------
    crs : pyproj.CRS
        Coordinate reference system.
    transform : affine.Affine
        Pixel-corner affine transform (GDAL convention).
    shape : tuple of int
        ``(rows, cols)``.

    Examples
    --------
    >>> g = Grid(pyproj.CRS.from_epsg(32650), Affine(30, 0, 400000, 0, -30, 4500000), (2, 3))
    >>> g.pixel_size_m()
    (30.0, 30.0)
    >>> float(g.cell_area_m2()[0, 0])
    900.0
    """

    crs: pyproj.CRS
    transform: Affine
    shape: tuple[int, int]

    @classmethod
    def from_dataarray(cls, da: xr.DataArray) -> Grid:
        """Grid of a rioxarray-backed DataArray."""
        crs = da.rio.crs
        if crs is None:
            raise CRSError(
                f"layer '{da.name}' has no CRS; declare `crs:` in the catalog or set it in the file"
            )
        return cls(
            pyproj.CRS.from_user_input(crs), da.rio.transform(), (da.sizes["y"], da.sizes["x"])
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Grid:
        """Grid of a raster file (CRSError if it has none)."""
        with rasterio.open(path) as src:
            if src.crs is None:
                raise CRSError(
                    f"raster '{path}' has no CRS; assign one (gdal_edit.py -a_srs EPSG:...)"
                )
            return cls(pyproj.CRS.from_user_input(src.crs), src.transform, (src.height, src.width))

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
                f"grid CRS {self.crs.name!r} is geographic (degrees); metres are needed here. "
                "Reproject the layer to a projected CRS such as UTM (EPSG:32650 for Beijing)."
            )
        axis = self.crs.axis_info[0]
        factor = axis.unit_conversion_factor
        if axis.unit_name in ("degree", "radian") or not factor:
            raise CRSError(
                f"grid CRS {self.crs.name!r} has axis unit {axis.unit_name!r}, not a length"
            )
        return float(factor)

    def pixel_size_m(self) -> tuple[float, float]:
        """Pixel size ``(x, y)`` in metres for a projected CRS (feet converted)."""
        factor = self.linear_unit_factor()
        x, y = self.res
        return (x * factor, y * factor)

    def cell_area_m2(self) -> np.ndarray:
        """Cell areas in m², shape ``(rows, 1)``, broadcastable against ``(rows, cols)``.

        Projected CRS: the map-plane area ``|det(transform)|`` times the squared unit factor
        (scale distortion of the projection is not corrected: ≤ 0.1 % in UTM). Geographic CRS:
        the exact area of each latitude band of the CRS ellipsoid,
        ``A = Δλ · b²/2 · [q(φ₂) − q(φ₁)]`` with
        ``q(φ) = sin φ/(1 − e² sin² φ) + ln((1 + e sin φ)/(1 − e sin φ))/(2e)``
        (authalic-latitude formula; Snyder 1987, *Map Projections: A Working Manual*, eq. 3-12).

        Returns
        -------
        numpy.ndarray
            float64 areas in m².
        """
        rows = self.shape[0]
        t = self.transform
        if t.b != 0 or t.d != 0:
            if self.is_geographic:
                raise CRSError(
                    "rotated geographic grids are not supported; warp to a north-up grid"
                )
            area = abs(t.a * t.e - t.b * t.d) * self.linear_unit_factor() ** 2
            return np.full((rows, 1), area)
        if not self.is_geographic:
            area = abs(t.a * t.e) * self.linear_unit_factor() ** 2
            return np.full((rows, 1), area)
        edges = t.f + t.e * np.arange(rows + 1)
        lat = np.deg2rad(np.clip(edges, -90.0, 90.0))
        ellipsoid = self.crs.ellipsoid
        if ellipsoid is None:
            raise CRSError(f"geographic CRS {self.crs.name!r} has no ellipsoid")
        a = ellipsoid.semi_major_metre
        b = ellipsoid.semi_minor_metre
        q = _authalic_q(lat, a, b)
        dlon = np.deg2rad(abs(t.a))
        band = np.abs(np.diff(q)) * dlon * b * b / 2.0
        return band.reshape(rows, 1)

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates ``(x, y)`` as 1-D arrays (north-up grids)."""
        rows, cols = self.shape
        t = self.transform
        x = t.c + t.a * (np.arange(cols) + 0.5)
        y = t.f + t.e * (np.arange(rows) + 0.5)
        return x, y

    def matches(self, other: Grid, *, rtol: float = 1e-9) -> bool:
        """True when both grids have the same CRS, shape and transform."""
        return (
            self.shape == other.shape
            and self.crs == other.crs
            and self.transform.almost_equals(other.transform, precision=rtol * max(self.res))
        )

    def check_aligned(self, da: xr.DataArray, name: str) -> None:
        """Raise :class:`GridMismatchError` naming ``name`` if ``da`` is not on this grid."""
        other = Grid.from_dataarray(da)
        if other.crs != self.crs:
            raise GridMismatchError(
                f"'{name}' CRS {other.crs.to_string()} ≠ {self.crs.to_string()} of the reference grid; "
                "declare `resampling:` in the catalog so it is warped to the reference grid"
            )
        if other.res != self.res and not np.allclose(other.res, self.res):
            raise GridMismatchError(
                f"'{name}' resolution {other.res} ≠ {self.res} of the reference grid; "
                "resample it in the catalog with `resampling: average` (continuous) or `mode` (classes)"
            )
        if not self.matches(other):
            raise GridMismatchError(
                f"'{name}' grid (shape {other.shape}, origin {other.transform.c, other.transform.f}) "
                f"≠ reference (shape {self.shape}, origin {self.transform.c, self.transform.f}); "
                "align it in the catalog with a `resampling:` rule"
            )


def _authalic_q(lat: np.ndarray, a: float, b: float) -> np.ndarray:
    """Snyder's q(φ) for an ellipsoid with semi-axes ``a`` and ``b`` (sphere when a == b)."""
    e2 = 1.0 - (b * b) / (a * a)
    s = np.sin(lat)
    if e2 < _METRE_TOLERANCE:
        return 2.0 * s
    e = np.sqrt(e2)
    return s / (1.0 - e2 * s * s) + np.log((1.0 + e * s) / (1.0 - e * s)) / (2.0 * e)
