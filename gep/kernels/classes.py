"""Land-cover class codes in plain numpy: codes present, and each pixel's row of a class table.

The InVEST-compatible runners (:mod:`gep.invest`) run as command-line processes on one map:
numba's import and the loading of its compiled kernels from the on-disk cache (about 0.4 s)
would outweigh what numba saves on these passes, each a handful of numpy operations on
8- or 16-bit codes. :mod:`gep.kernels.lookup` keeps the numba versions for the pipeline.
"""

from __future__ import annotations

import numpy as np

#: Pixels per step of the passes below (bounds their temporary arrays to a few MB).
STEP = 1 << 20

#: Largest code range served by a dense table (as :data:`gep.kernels.lookup.MAX_LUT_SPAN`).
MAX_SPAN = 1 << 24


def _flat(classes: np.ndarray) -> np.ndarray:
    """Codes as a flat, contiguous array in native byte order."""
    arr = np.asarray(classes)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"class codes must be an integer array, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")).reshape(-1)


def _unsigned(flat: np.ndarray) -> np.ndarray:
    """8- and 16-bit codes viewed as unsigned: they index a table of 256 or 65 536 entries."""
    return flat.view(np.dtype(f"u{flat.dtype.itemsize}"))


def codes_present(classes: np.ndarray, *, nodata: int | None = None) -> np.ndarray:
    """Sorted distinct codes of ``classes`` except ``nodata``, int64.

    Examples
    --------
    >>> codes_present(np.array([[3, 1], [255, 3]], dtype=np.uint8), nodata=255).tolist()
    [1, 3]
    >>> codes_present(np.array([-5, 70000, -5])).tolist()
    [-5, 70000]
    """
    flat = _flat(classes)
    if flat.size == 0:
        return np.empty(0, dtype=np.int64)
    if flat.dtype.itemsize <= 2:
        unsigned = _unsigned(flat)
        counts = _counts(unsigned, 1 << (8 * flat.dtype.itemsize))
        # the bytes seen, read back as the map's (signed or unsigned) codes
        present = np.flatnonzero(counts).astype(unsigned.dtype).view(flat.dtype).astype(np.int64)
        present.sort()
    else:
        lo, hi = int(flat.min()), int(flat.max())
        if hi - lo < MAX_SPAN:
            counts = np.zeros(hi - lo + 1, dtype=np.int64)
            for i in range(0, flat.size, STEP):
                counts += np.bincount(
                    flat[i : i + STEP] - flat.dtype.type(lo), minlength=counts.size
                )
            present = np.flatnonzero(counts).astype(np.int64) + lo
        else:
            present = np.unique(flat).astype(np.int64)
    if nodata is not None:
        present = present[present != nodata]
    return present


def _counts(unsigned: np.ndarray, size: int) -> np.ndarray:
    counts = np.zeros(size, dtype=np.int64)
    for i in range(0, unsigned.size, STEP):
        counts += np.bincount(unsigned[i : i + STEP], minlength=size)
    return counts


def missing_codes(
    classes: np.ndarray, table_codes: np.ndarray, *, nodata: int | None = None
) -> np.ndarray:
    """Codes present in ``classes`` (except ``nodata``) but absent from ``table_codes``.

    Examples
    --------
    >>> missing_codes(np.array([1, 2, 7, 9], dtype=np.int16), np.array([1, 2]), nodata=9)
    array([7])
    """
    present = codes_present(classes, nodata=nodata)
    return np.setdiff1d(present, np.asarray(table_codes, dtype=np.int64))


class Slots:
    """Each pixel's row of a class table: ``slots(classes)`` gives small integers.

    Rows ``0 .. n − 1`` are the table's codes in order, row ``n`` the nodata code, row
    ``n + 1`` any other code. 8-bit maps skip the lookup: their row is the code's byte, and
    :attr:`rows` maps the 256 bytes onto the table (``size`` 256).

    Parameters
    ----------
    codes : numpy.ndarray of int
        The table's class codes (distinct).
    dtype : numpy dtype
        Integer type of the class maps.
    nodata : int, optional
        Nodata code of the maps.

    Attributes
    ----------
    size : int
        Number of slots (the range of the values :meth:`__call__` returns).
    rows : numpy.ndarray of int64, shape (size,)
        Table row of each slot: ``0 .. n − 1``, ``n`` for nodata, ``n + 1`` for unknown codes.

    Examples
    --------
    >>> s = Slots(np.array([10, 20]), np.dtype(np.int32), nodata=-1)
    >>> s.rows[s(np.array([20, -1, 10, 7], dtype=np.int32))].tolist()
    [1, 2, 0, 3]
    """

    def __init__(self, codes: np.ndarray, dtype: np.dtype, nodata: int | None) -> None:
        codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        n = codes.size
        self._dtype = np.dtype(dtype).newbyteorder("=")
        info = np.iinfo(self._dtype)
        in_range = (codes >= info.min) & (codes <= info.max)
        if self._dtype.itemsize == 1:
            self.size = 256
            rows = np.full(256, n + 1, dtype=np.int64)
            rows[codes[in_range] & 0xFF] = np.flatnonzero(in_range)
            if nodata is not None and info.min <= nodata <= info.max:
                rows[nodata & 0xFF] = n  # nodata wins over a table row of the same code
            self.rows = rows
            self._lut: np.ndarray | None = None
            return
        # a dense table over the codes' range (and nodata's, when near): value → slot
        wanted = codes[in_range]
        if nodata is not None and info.min <= nodata <= info.max:
            wanted = np.append(wanted, nodata)
        self._lo = int(wanted.min()) if wanted.size else 0
        span = (int(wanted.max()) - self._lo + 1) if wanted.size else 1
        if span > MAX_SPAN:
            raise ValueError(f"class codes span {span} values; at most {MAX_SPAN} are supported")
        self.size = n + 2
        self.rows = np.arange(n + 2, dtype=np.int64)
        slot_type = np.uint8 if n + 2 <= 256 else np.uint16 if n + 2 <= 65536 else np.int64
        lut = np.full(span + 2, n + 1, dtype=slot_type)  # [0] below, [-1] above the range
        lut[codes[in_range] - self._lo + 1] = np.flatnonzero(in_range)
        if nodata is not None and info.min <= nodata <= info.max:
            lut[nodata - self._lo + 1] = n  # nodata wins over a table row of the same code
        self._lut = lut

    def __call__(self, classes: np.ndarray) -> np.ndarray:
        """Slot of every pixel of ``classes`` (flattened; a view for 8-bit maps)."""
        flat = _flat(classes)
        if flat.dtype != self._dtype:
            raise TypeError(f"expected {self._dtype} class codes, got {flat.dtype}")
        if self._lut is None:
            return _unsigned(flat)
        rel = flat.astype(np.int64) - (self._lo - 1)
        np.clip(rel, 0, self._lut.size - 1, out=rel)
        return self._lut[rel]
