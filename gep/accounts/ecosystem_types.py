"""Quantities summed per ecosystem type: the physical side of the SEEA EA supply table.

SEEA EA (UN 2021, ch. 7) tabulates each ecosystem service's supply by ecosystem type. Here a
pixel's type is its land-cover class's ``ecosystem_type`` in the class scheme, kept as a
one-byte index into the sorted type names (``-1`` where the land cover is nodata or the class
has no type), and each quantity is summed per type with :func:`numpy.bincount`, block by
block. :class:`TypeTotals` adds the blocks up as a streamed run computes them, so the supply
table needs no second reading of the rasters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data_catalog.catalog import Catalog
from data_catalog.tables import load_scheme


def type_lookup(cat: Catalog, year: int) -> tuple[np.ndarray, list[str], str]:
    """Class code → type index table of ``year``'s land cover, the type names, and its entry.

    Returns
    -------
    lut : numpy.ndarray of int8
        Index per class code (256 or 65536 entries: the land cover's integer range).
    names : list of str
        Ecosystem-type names, sorted; ``names[lut[code]]`` is the class's type.
    entry_id : str
        The catalog entry of the land cover.
    """
    entry_id = cat.find(variable="landcover", year=year)
    entry = cat.entry(entry_id)
    scheme = load_scheme(entry.class_scheme or "clcd")
    names = sorted({str(t) for t in scheme["ecosystem_type"] if isinstance(t, str) and t})
    codes = scheme["code"].to_numpy().astype(int)
    lut = np.full(65536 if int(codes.max(initial=0)) > 255 else 256, -1, dtype=np.int8)
    for code, etype in zip(codes, scheme["ecosystem_type"], strict=True):
        if isinstance(etype, str) and etype:
            lut[code] = names.index(etype)
    return lut, names, entry_id


def apply_types(codes: np.ndarray, valid: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Type index per pixel (int8, ``-1`` where not ``valid``).

    Examples
    --------
    >>> lut = np.array([-1, 0, 1], dtype=np.int8)
    >>> apply_types(np.array([[1, 2], [2, 0]]), np.array([[True, True], [False, True]]), lut)
    array([[ 0,  1],
           [-1, -1]], dtype=int8)
    """
    codes = np.asarray(codes).astype(np.int64, copy=False)
    index = np.full(codes.shape, -1, dtype=np.int8)
    inside = np.asarray(valid) & (codes >= 0) & (codes < lut.size)
    index[inside] = lut[codes[inside]]
    return index


def block_type_totals(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """``Σ v`` and the count of finite ``v`` per type index in one block (shape ``(2, n)``).

    Examples
    --------
    >>> block_type_totals(np.array([1.0, np.nan, 2.0, 4.0]), np.array([0, 0, 1, -1]), 2)
    array([[1., 2.],
           [1., 1.]])
    """
    values = np.asarray(values, dtype=np.float64)
    index = np.asarray(index)
    valid = np.isfinite(values) & (index >= 0)
    codes = index[valid].astype(np.int64)
    sums = np.bincount(codes, weights=values[valid], minlength=n)
    counts = np.bincount(codes, minlength=n).astype(np.float64)
    return np.stack([sums, counts])


class TypeTotals:
    """Per-type sums of several quantities, added block by block.

    Parameters
    ----------
    n_quantities : int
        Quantities given to each :meth:`add`.
    n_types : int
        Number of ecosystem types.
    """

    def __init__(self, n_quantities: int, n_types: int) -> None:
        self._totals = np.zeros((n_quantities, 2, n_types))
        self._n_types = n_types

    def add(self, index: np.ndarray, blocks: Sequence[np.ndarray]) -> None:
        """Add one block of every quantity, with the block's type ``index``."""
        for k, values in enumerate(blocks):
            self._totals[k] += block_type_totals(values, index, self._n_types)

    def result(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per quantity, the sums and the pixel counts per type."""
        return [(t[0].copy(), t[1].astype(np.int64)) for t in self._totals]
