"""Overview pyramids by exact block means (nodata left out), one window at a time.

A Cloud-Optimized GeoTIFF carries reduced-resolution copies of its raster (overviews) at
factors 2, 4, 8, …, each cell of the level of factor ``f`` standing for an ``f × f`` block of
the full-resolution cells. GDAL builds them after the raster is written, by reading it again
(``gdaladdo``; COG driver, ``RESAMPLING``); the mean of a block's valid cells is its
``AVERAGE`` method (GDAL, *gdaladdo* documentation: "average computes the average of all
non-NODATA contributing pixels"). Here the levels are computed from each window as it is
written: the sums and counts of valid cells of level ``k`` are those of level ``k − 1``
added two by two, so every level's mean is the exact mean over the block's valid cells (GDAL
averages the previous level's means instead, which weighs partly valid blocks differently).
A window whose first row and column are multiples of ``f`` gives exactly its share of the
level's cells (the last block of a window at the grid's edge is partial, as GDAL's is: a
level has ``⌈n / f⌉`` cells a side).
"""

from __future__ import annotations

import numba
import numpy as np


def level_means(values: np.ndarray, levels: int) -> list[np.ndarray]:
    """Block means of ``values`` at factors 2, 4, …, ``2**levels`` (NaN is nodata).

    Parameters
    ----------
    values : numpy.ndarray
        2-D float window; NaN cells are left out of the means.
    levels : int
        Number of levels.

    Returns
    -------
    list of numpy.ndarray
        float32 means, level ``k`` (factor ``2**(k + 1)``) of shape ``⌈shape / 2**(k + 1)⌉``;
        NaN where a block has no valid cell.

    Examples
    --------
    >>> a = np.array([[1.0, 3.0, 5.0], [np.nan, 2.0, np.nan]])
    >>> [m.tolist() for m in level_means(a, 2)]
    [[[2.0, 5.0]], [[2.75]]]
    """
    sums, counts = _first_level(np.ascontiguousarray(values))
    out = [_means(sums, counts)]
    for _ in range(levels - 1):
        sums, counts = _halve(sums, counts)
        out.append(_means(sums, counts))
    return out


def _means(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan).astype(np.float32)


@numba.njit(nogil=True, cache=True)
def _first_level(values):  # pragma: no cover - numba
    """Sums (float64) and counts of the non-NaN cells of each 2 × 2 block."""
    rows, cols = values.shape
    sums = np.zeros(((rows + 1) // 2, (cols + 1) // 2))
    counts = np.zeros(((rows + 1) // 2, (cols + 1) // 2), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            v = values[r, c]
            if not np.isnan(v):
                sums[r // 2, c // 2] += v
                counts[r // 2, c // 2] += 1
    return sums, counts


@numba.njit(nogil=True, cache=True)
def _halve(sums, counts):  # pragma: no cover - numba
    """Sums and counts of each 2 × 2 block of a level: the next level's."""
    rows, cols = sums.shape
    out_sums = np.zeros(((rows + 1) // 2, (cols + 1) // 2))
    out_counts = np.zeros(((rows + 1) // 2, (cols + 1) // 2), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            out_sums[r // 2, c // 2] += sums[r, c]
            out_counts[r // 2, c // 2] += counts[r, c]
    return out_sums, out_counts
