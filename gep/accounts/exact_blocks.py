"""One block's exact zonal totals straight from exactextract (the uncached block path).

:func:`block_totals` intersects the unit polygons with one block of the grid (exactextract,
Baston 2022: each cell's covered area fraction) and adds ``c·v`` and ``c`` per unit for every
raster of the block. :func:`gep.accounts.zonal.zonal_sum_chunked` uses it for rasters summed
once; levels summed repeatedly keep each window's coverage instead
(:mod:`gep.accounts.coverage`), which reproduces these totals.
"""

from __future__ import annotations

import threading
from typing import Any

import numba
import numpy as np
from exactextract import exact_extract
from exactextract.feature import Feature, JSONFeature
from exactextract.raster import NumPyRasterSource
from exactextract.writer import Writer

from data_catalog.errors import InputError
from gep.accounts.units import _Polygons


class PolygonResults(Writer):
    """An exactextract writer that hands each polygon's properties to :meth:`take`.

    Subclasses keep or add up the results as they come (nothing is written anywhere).
    """

    def add_operation(self, op: object) -> None:
        """Nothing to set up per operation."""

    def add_column(self, col_name: str) -> None:
        """Nothing to set up per column."""

    def write(self, feature: Feature) -> None:
        """Pass one polygon's properties (its ``_row`` and the operations' results) on."""
        out = JSONFeature()
        feature.copy_to(out)
        self.take(out.feature["properties"])

    def take(self, props: dict[str, Any]) -> None:
        """Keep one polygon's results."""
        raise NotImplementedError

    def features(self) -> None:
        """Results are kept by the subclass."""


class CellNumbers:
    """A raster numbering cells 0, 1, … row by row (float64: exact below 2⁵³), for blocks.

    One array of the largest block's shape serves every block of a sum (a block of ``w``
    columns reads a view of it, whose numbers ``n`` stand for cell ``(n // stride, n %
    stride)``); read-only, shared by the threads, sent to a dask.distributed worker empty
    and rebuilt there.
    """

    def __init__(self, wkt: str, shape: tuple[int, int]) -> None:
        if shape[1] >= 2**26 or shape[0] * shape[1] >= 2**52:
            raise InputError(
                f"zonal sum: blocks of {shape} cells are too large; use smaller chunks"
            )
        self.wkt = wkt
        self.shape = shape
        self.stride = shape[1]
        self._numbers: np.ndarray | None = None
        self._lock = threading.Lock()

    def __call__(self, shape: tuple[int, int]) -> np.ndarray:
        """The numbers of a block of ``shape`` (a view of the shared array)."""
        with self._lock:
            if self._numbers is None:
                numbers = np.arange(self.shape[0] * self.shape[1], dtype=np.float64)
                numbers.flags.writeable = False
                self._numbers = numbers.reshape(self.shape)
        return self._numbers[: shape[0], : shape[1]]

    def __getstate__(self) -> dict[str, Any]:
        return {"wkt": self.wkt, "shape": self.shape}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["wkt"], state["shape"])  # type: ignore[misc]


class _BlockSums(PolygonResults):
    """Adds up each polygon's results as exactextract writes them (nothing per cell is kept).

    Two kinds of results: a polygon's covered cells (``values`` of the block's cell numbers:
    their indices) with their ``coverage`` fractions ``c`` (float32, as :func:`unit_level`'s),
    from which a compiled loop adds ``c·v`` for every raster; or, for one raster without
    nodata in the block, exactextract's own ``sum`` (``Σ c·v``) and ``count`` (``Σ c``).
    """

    def __init__(self, blocks: list[np.ndarray], n_units: int, stride: int) -> None:
        super().__init__()
        self.blocks = blocks
        self.stride = stride
        self.sums = np.zeros((len(blocks), n_units))
        self.valid = np.zeros((len(blocks), n_units))
        self.covered = np.zeros(n_units)

    def take(self, props: dict[str, Any]) -> None:
        """Add one polygon's results to its unit's totals."""
        row = int(props["_row"])
        if "values" not in props:  # one raster, no nodata: Σ c over valid cells = Σ c
            self.sums[0, row] += props["sum"]
            self.valid[0, row] += props["count"]
            self.covered[row] += props["count"]
            return
        index, fraction = props["values"], props["coverage"]
        self.covered[row] += fraction.sum()
        for k, values in enumerate(self.blocks):
            total, covered_valid = _covered_sum(index, fraction, values, self.stride)
            self.sums[k, row] += total
            self.valid[k, row] += covered_valid


def block_totals(
    rows: np.ndarray,
    wkb: list[bytes],
    bounds: tuple[float, float, float, float],
    numbers: CellNumbers,
    *blocks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One block's ``Σ c·v``, ``Σ c`` over valid cells (per raster) and ``Σ c`` per unit.

    ``rows`` numbers the units of the polygons ``wkb`` touching the block; the totals are
    returned for those units only (``rows`` first): plain arrays, small, picklable.
    exactextract's ``sum`` and ``count`` skip NaN cells (its nodata) but add ±inf, which
    :func:`zonal_sum` treats as nodata: its own operations serve only one raster whose block
    is all finite; otherwise the coverage of the block's cells is read once for all rasters.
    """
    left, bottom, right, top = bounds
    values = [_as_float(b) for b in blocks]
    sums = _BlockSums(values, len(rows), numbers.stride)
    if len(values) == 1 and _all_finite(values[0]):
        raster = values[0]
        ops = ["sum", "count"]
    else:
        raster = numbers(blocks[0].shape)
        ops = ["values", "coverage"]
    source = NumPyRasterSource(raster, left, bottom, right, top, srs_wkt=numbers.wkt)
    polygons = _Polygons(wkb, numbers.wkt)
    exact_extract(source, polygons, ops, include_cols=["_row"], output=sums)
    return rows, sums.sums, sums.valid, sums.covered


def _as_float(block: np.ndarray) -> np.ndarray:
    """The block as a 2-D float array (a view when it is one already: no copy)."""
    v = np.asarray(block)
    return v if v.dtype.kind == "f" else v.astype(np.float64)


@numba.njit(nogil=True, cache=True)
def _covered_sum(index, fraction, values, stride):  # pragma: no cover - numba
    """``Σ c·v`` and ``Σ c`` over covered cells with a finite value (float64 sums).

    ``index`` holds cell numbers ``n`` (float64) of a raster ``stride`` cells wide: cell ``n``
    is ``values[⌊n / stride⌋, n − ⌊n / stride⌋·stride]``. exactextract lists a polygon's
    cells row by row, so the row is recomputed only when ``n`` leaves the current one (the
    float division is exact here: ``n < 2⁵²``, ``stride < 2²⁶``).
    """
    total = 0.0
    valid = 0.0
    row = 0
    start = 0.0
    end = -1.0
    for t in range(index.size):
        n = index[t]
        if n >= end or n < start:
            first = np.floor(n / stride)
            row = np.int64(first)
            start = first * stride
            end = start + stride
        v = values[row, np.int64(n - start)]
        if np.isfinite(v):
            total += fraction[t] * v
            valid += fraction[t]
    return total, valid


@numba.njit(nogil=True, cache=True)
def _all_finite(values):  # pragma: no cover - numba
    """Whether every value of a 2-D array is finite (stops at the first that is not)."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            if not np.isfinite(values[r, c]):
                return False
    return True
