"""Exact coverage of a level's units, window by window: computed once, kept on disk, reused.

A streamed run sums the same windows of the grid many times over (every year's services, the
weather-neutral re-runs, the value rasters), for every level. The coverage fractions of a
window's cells by the units depend on the window and the polygons only, so
:class:`LevelCoverage` intersects the polygons with each window once (exactextract, the exact
fractional coverage of Baston 2022) and keeps the result in a compact form on disk; every
later sum of that window reads it back and adds ``c·v`` with a compiled loop.

The compact form (:class:`WindowCoverage`) lists, per unit, its covered cells in the order
exactextract gives them (row by row) as *segments*: a run of consecutive cells of one row
wholly inside the unit (fraction 1) is one segment; a cell the unit's boundary crosses is a
segment of one cell with its fraction (float32, as exactextract computes it). Interior cells
cost nothing each: a window's coverage takes 16 bytes per boundary cell and per run. On the
30 m benchmark region (6030 × 5990 cells, 18.3 M of them in a unit; windows of 1024) that is
3.1 MB for the 16 districts (193 k segments) and 8.9 MB for the 349 townships (555 k), against
36 and 72 MB for a raster of zone numbers; at 10 m about three times as much (boundaries and
rows are three times as long, not nine). Each window's segments are one raw file of a
:class:`~gep.routing.scratch.Scratch` folder (removed with the level, or at exit) and are read
back when the window is summed again (a few hundred kB), so the memory held does not grow
with the grid.

References
----------
Baston, D. (2022). exactextract: fast and accurate raster zonal statistics.
https://github.com/isciences/exactextract
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numba
import numpy as np
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from data_catalog.errors import InputError
from data_catalog.grid import Grid
from gep.accounts.exact_blocks import PolygonResults
from gep.accounts.units import _pixel_bounds, _pixel_space, _Polygons
from gep.routing.scratch import Scratch, ScratchArray, remove_stale

log = logging.getLogger(__name__)

#: Prefix of the scratch folders of kept window coverages.
SCRATCH_PREFIX = "gep-coverage-"

Window = tuple[slice, slice]
BlockTotals = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class WindowCoverage:
    """The exact coverage of one window's cells by the units touching it, as segments.

    Parameters
    ----------
    shape : tuple of int
        Rows and columns of the window.
    rows : ndarray of int64
        Unit numbers (``_row``) of the polygons touching the window.
    covered : ndarray of float64
        ``Σ c`` over the window's cells, per unit of ``rows`` (cells of any value).
    offsets : ndarray of int64
        The segments of ``rows[u]`` are ``offsets[u]:offsets[u + 1]``.
    start : ndarray of int64
        First cell of each segment, numbered row by row in the window.
    length : ndarray of int32
        Cells of each segment (consecutive, in one row).
    fraction : ndarray of float32
        Coverage fraction of each cell of the segment (1 for runs of more than one cell).
    """

    shape: tuple[int, int]
    rows: np.ndarray
    covered: np.ndarray
    offsets: np.ndarray
    start: np.ndarray
    length: np.ndarray
    fraction: np.ndarray

    def totals(self, blocks: Sequence[np.ndarray]) -> BlockTotals:
        """``Σ c·v`` and ``Σ c`` over valid cells per raster and unit, and ``Σ c`` per unit.

        Parameters
        ----------
        blocks : sequence of ndarray
            The window of each raster (its shape); NaN and ±inf are nodata.

        Returns
        -------
        rows, sums, valid, covered
            As ``gep.accounts.exact_blocks.block_totals``: the unit numbers, then arrays of shape
            ``(n_rasters, n_units)``, ``(n_rasters, n_units)`` and ``(n_units,)``.
        """
        sums = np.zeros((len(blocks), self.rows.size))
        valid = np.zeros((len(blocks), self.rows.size))
        for k, block in enumerate(blocks):
            values = np.asarray(block)
            if values.shape != self.shape:
                raise InputError(
                    f"zonal sum: a block of shape {values.shape} was added for a window of "
                    f"{self.shape} cells; add each raster's window of the grid"
                )
            if values.dtype.kind != "f":
                values = values.astype(np.float64)
            sums[k], valid[k] = _segment_sums(
                self.offsets, self.start, self.length, self.fraction, values
            )
        return self.rows, sums, valid, self.covered.copy()

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (as stored)."""
        arrays = (self.rows, self.covered, self.offsets, self.start, self.length, self.fraction)
        return sum(a.nbytes for a in arrays) + 32

    def to_bytes(self) -> np.ndarray:
        """The coverage as one array of bytes (8-byte fields first: aligned when read back)."""
        header = np.array(
            [self.rows.size, self.start.size, self.shape[0], self.shape[1]], dtype=np.int64
        )
        parts = [header, self.rows, self.covered, self.offsets, self.start]
        parts += [self.length, self.fraction]
        return np.concatenate([np.ascontiguousarray(p).view(np.uint8) for p in parts])

    @classmethod
    def from_bytes(cls, data: np.ndarray) -> WindowCoverage:
        """The coverage :meth:`to_bytes` wrote (views of ``data``, no copies)."""
        n_units, n_segments, height, width = (int(x) for x in data[:32].view(np.int64))
        fields = [
            (np.int64, n_units),
            (np.float64, n_units),
            (np.int64, n_units + 1),
            (np.int64, n_segments),
            (np.int32, n_segments),
            (np.float32, n_segments),
        ]
        arrays, at = [], 32
        for dtype, count in fields:
            size = count * np.dtype(dtype).itemsize
            arrays.append(data[at : at + size].view(dtype))
            at += size
        return cls((height, width), *arrays)


class LevelCoverage:
    """The exact coverage of a level's units, per window of the grid, computed once.

    :meth:`window` runs exactextract on a window the first time it is asked for and keeps the
    :class:`WindowCoverage` in a scratch file; later calls for the same window (same row and
    column slices) read it back. Thread-safe. Pickles without what it keeps (a
    dask.distributed worker gets the polygons and computes the windows it is given).

    Parameters
    ----------
    polygons : GeoDataFrame
        The units in the grid's CRS, numbered in ``_row``.
    grid : Grid
        The grid the rasters summed are on (north-up).
    keep : bool
        Keep each window's coverage for later calls (``False``: compute it every time).

    Examples
    --------
    A square over columns 0–1 of a 3 × 3 grid, rows 0–1 wholly and row 2 half:

    >>> import geopandas as gpd, pyproj, shapely
    >>> from affine import Affine
    >>> from gep.accounts import unit_level
    >>> grid = Grid(pyproj.CRS.from_epsg(32650), Affine(30, 0, 0, 0, -30, 90), (3, 3))
    >>> square = shapely.box(0, 15, 60, 90)
    >>> units = gpd.GeoDataFrame({"id": [7]}, geometry=[square], crs=grid.crs)
    >>> level = unit_level(units, grid, level="u", id_field="id", blockwise=True)
    >>> found = level.coverage.window((slice(0, 3), slice(0, 3)))
    >>> found.start.tolist(), found.length.tolist(), found.fraction.tolist()
    ([0, 3, 6, 7], [2, 2, 1, 1], [1.0, 1.0, 0.5, 0.5])
    >>> values = np.arange(9.0).reshape(3, 3)
    >>> found.totals([values])[1]  # 0 + 1 + 3 + 4 + 0.5 × (6 + 7)
    array([[14.5]])
    >>> level.coverage.window((slice(0, 3), slice(0, 3))).covered, level.coverage.computed
    (array([5.]), 1)
    """

    def __init__(self, polygons: gpd.GeoDataFrame, grid: Grid, *, keep: bool = True) -> None:
        pixels = _pixel_space(polygons, grid)
        self._setup(
            np.asarray(shapely.to_wkb(pixels), dtype=object),
            polygons["_row"].to_numpy(),
            grid.crs.to_wkt(),
            keep,
        )

    def _setup(self, wkb: np.ndarray, rows: np.ndarray, wkt: str, keep: bool) -> None:
        self._wkb = wkb
        self._rows = rows
        self._wkt = wkt
        self._tree = shapely.STRtree(shapely.from_wkb(wkb))
        self.keep = keep
        #: exactextract passes so far (one per window while ``keep``)
        self.computed = 0
        #: a name of this object in dask graphs
        self.key = f"level-coverage-{uuid.uuid4().hex}"
        self._kept: dict[tuple[int, int, int, int], ScratchArray] = {}
        self._untouched: set[tuple[int, int, int, int]] = set()
        self._scratch: Scratch | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"wkb": self._wkb, "rows": self._rows, "wkt": self._wkt}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(state["wkb"], state["rows"], state["wkt"], keep=False)

    def touched(self, window: Window) -> np.ndarray:
        """Positions (sorted) of the polygons that touch ``window``."""
        box = shapely.box(*_pixel_bounds(window))
        return np.sort(self._tree.query(box, predicate="intersects"))

    def window(self, window: Window) -> WindowCoverage | None:
        """The coverage of ``window`` (row and column slices); ``None`` if no unit touches it."""
        key = (window[0].start, window[0].stop, window[1].start, window[1].stop)
        with self._lock:
            kept = self._kept.get(key)
            if key in self._untouched:
                return None
        if kept is not None:
            return WindowCoverage.from_bytes(kept[:, :].ravel())
        hit = self.touched(window)
        if hit.size == 0:
            with self._lock:
                self._untouched.add(key)
            return None
        coverage = _window_coverage(self._rows[hit], self._wkb[hit].tolist(), window, self._wkt)
        with self._lock:
            self.computed += 1
            if self.keep and key not in self._kept:
                if self._scratch is None:
                    _remove_stale_once()
                    self._scratch = Scratch(SCRATCH_PREFIX)
                name = "-".join(str(k) for k in key)
                self._kept[key] = self._scratch.save(name, coverage.to_bytes()[None, :], tile=None)
        return coverage

    @property
    def kept_bytes(self) -> int:
        """Bytes of the kept coverages on disk."""
        with self._lock:
            return sum(a.nbytes for a in self._kept.values())

    def clear(self) -> None:
        """Drop the kept coverages and their files."""
        with self._lock:
            self._kept.clear()
            self._untouched.clear()
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None


def window_totals(
    coverage: LevelCoverage, window: Window, *blocks: np.ndarray
) -> BlockTotals | None:
    """:meth:`WindowCoverage.totals` of ``window`` (``None`` when no unit touches it).

    A plain function of picklable arguments, for dask tasks.
    """
    found = coverage.window(window)
    return None if found is None else found.totals(blocks)


_STALE_CHECKED: list[bool] = []


def _remove_stale_once() -> None:
    """Remove kept coverages of killed runs (once per process)."""
    if not _STALE_CHECKED:
        _STALE_CHECKED.append(True)
        for folder in remove_stale((SCRATCH_PREFIX,)):
            log.warning("removed %s, scratch files of a run that was killed", folder)


class _Cells(PolygonResults):
    """Keeps each polygon's covered cells and fractions as exactextract writes them."""

    def __init__(self, n_polygons: int) -> None:
        super().__init__()
        self.cells: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n_polygons
        self.fractions: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * n_polygons

    def take(self, props: dict[str, Any]) -> None:
        """Keep one polygon's cells (numbered in the window) and their fractions."""
        position = int(props["_row"])
        self.cells[position] = np.asarray(props["cell_id"], dtype=np.int64)
        # exactextract computes fractions in float32 (and hands them over as float64)
        self.fractions[position] = np.asarray(props["coverage"], dtype=np.float32)


def _window_coverage(
    rows: np.ndarray, wkb: list[bytes], window: Window, wkt: str
) -> WindowCoverage:
    """The coverage of ``window`` by the polygons ``wkb`` (units ``rows``), by exactextract."""
    shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
    left, bottom, right, top = _pixel_bounds(window)
    # only the extent matters for cell_id and coverage: one value broadcast over the window
    ones = np.broadcast_to(np.float32(1), shape)
    source = NumPyRasterSource(ones, left, bottom, right, top, srs_wkt=wkt)
    cells = _Cells(len(wkb))
    polygons = _Polygons(wkb, wkt)  # numbered by position; ``rows`` maps them to units
    exact_extract(source, polygons, ["cell_id", "coverage"], include_cols=["_row"], output=cells)
    return _segments(rows, cells.cells, cells.fractions, shape)


def _segments(
    rows: np.ndarray,
    cells: list[np.ndarray],
    fractions: list[np.ndarray],
    shape: tuple[int, int],
) -> WindowCoverage:
    """Each polygon's cells, in their order, merged into runs of whole cells of one row.

    A cell continues the run before it when both are wholly covered, it is the next cell
    and in the same row, and both belong to the same polygon.
    """
    counts = np.array([c.size for c in cells], dtype=np.int64)
    entry_offsets = np.concatenate([[0], np.cumsum(counts)])
    cell = np.concatenate([np.zeros(0, dtype=np.int64), *cells])
    fraction = np.concatenate([np.zeros(0, dtype=np.float32), *fractions])
    full = fraction == 1
    follows = np.zeros(cell.size, dtype=bool)
    follows[1:] = full[1:] & full[:-1] & (cell[1:] == cell[:-1] + 1) & (cell[1:] % shape[1] != 0)
    follows[entry_offsets[:-1][counts > 0]] = False  # each polygon's first cell starts a segment
    heads = np.flatnonzero(~follows)
    length = np.diff(np.append(heads, cell.size)).astype(np.int32)
    offsets = np.searchsorted(heads, entry_offsets).astype(np.int64)
    covered = _segment_cover(offsets, length, fraction[heads])
    return WindowCoverage(
        shape,
        np.asarray(rows, dtype=np.int64),
        covered,
        offsets,
        cell[heads],
        length,
        fraction[heads],
    )


@numba.njit(nogil=True, cache=True)
def _segment_sums(offsets, start, length, fraction, values):  # pragma: no cover - numba
    """Per unit, ``Σ c·v`` and ``Σ c`` over its cells with a finite value (float64 sums).

    Cells are taken in the order of the segments, each product in float64, as
    ``gep.accounts.exact_blocks._covered_sum`` takes exactextract's list of cells: the same totals.
    """
    n_units = offsets.size - 1
    width = values.shape[1]
    sums = np.zeros(n_units)
    valid = np.zeros(n_units)
    for u in range(n_units):
        total = 0.0
        covered = 0.0
        for s in range(offsets[u], offsets[u + 1]):
            row = start[s] // width
            col = start[s] - row * width
            c = np.float64(fraction[s])
            for t in range(length[s]):
                v = values[row, col + t]
                if np.isfinite(v):
                    total += c * v
                    covered += c
        sums[u] = total
        valid[u] = covered
    return sums, valid


@numba.njit(nogil=True, cache=True)
def _segment_cover(offsets, length, fraction):  # pragma: no cover - numba
    """Per unit, ``Σ c`` over all its cells, added in the order of :func:`_segment_sums`.

    The same order: a raster valid everywhere has ``Σ c`` over valid cells equal to this to
    the bit (valid fraction exactly 1).
    """
    n_units = offsets.size - 1
    covered = np.zeros(n_units)
    for u in range(n_units):
        total = 0.0
        for s in range(offsets[u], offsets[u + 1]):
            c = np.float64(fraction[s])
            for _ in range(length[s]):
                total += c
        covered[u] = total
    return covered
