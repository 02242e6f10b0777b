"""Carbon storage, change and NPV per pixel through a table of land-cover class pairs (numpy).

Every output of InVEST's carbon model is a function of the pixel's pair of classes (baseline,
alternate): with ``k`` slots per map (:class:`gep.kernels.classes.Slots`), a table of
``k²`` entries holds the four float32 values of each pair, computed once with the arithmetic
of :func:`gep.kernels.carbon.storage_change_npv`, and a pixel's values are four lookups (``numpy.take``)
at its pair index. The totals come from the histogram of the pairs (counts × pair values),
exact where the per-pixel kernel adds float32 values one by one. Results are bit for bit
those of :func:`gep.kernels.carbon.storage_change_npv` per pixel, and its totals to
float64 rounding; numpy only, so a ``gep invest carbon`` process does not pay numba's
import and cache loading (about 0.4 s, more than the pass itself on a 2000² map).
"""

from __future__ import annotations

import numpy as np

from gep.kernels.classes import Slots

#: Largest number of slots per map for the pair table (k² entries, 4 float32 each: 16 MiB).
MAX_SLOTS = 1024

#: InVEST's nodata test on the change raster, ``numpy.isclose(change, -1)`` (as in
#: :data:`gep.kernels.carbon.INVEST_MINUS_ONE_TOL`).
INVEST_MINUS_ONE_TOL = 1e-8 + 1e-5


class CarbonPairs:
    """The four carbon values of every (baseline, alternate) class pair.

    Parameters
    ----------
    codes, density : numpy.ndarray
        Class codes of the pools table and their total density (t C ha-1).
    dtypes : tuple of numpy dtype
        Integer types of the baseline and alternate maps.
    nodata : tuple of (int or None)
        Nodata codes of the two maps.
    factor : float
        Value of one t C of change (currency per t C); 0 without valuation.
    fill : float
        Value stored for nodata pixels.

    Raises
    ------
    ValueError
        More than :data:`MAX_SLOTS` classes (use :func:`gep.kernels.carbon.storage_change_npv`).

    Examples
    --------
    Classes 1 (ρ = 100) and 2 (ρ = 40), K = 2 (as :func:`gep.kernels.carbon.storage_change_npv`):

    >>> pairs = CarbonPairs(np.array([1, 2]), np.array([100.0, 40.0]),
    ...                     (np.dtype(np.uint8),) * 2, (0, None), factor=2.0)
    >>> out, t = pairs.compute(np.array([1, 2, 0], np.uint8), np.array([2, 2, 1], np.uint8))
    >>> out[2].tolist(), out[3].tolist()
    ([-60.0, 0.0, nan], [-120.0, 0.0, nan])
    >>> t["base"], t["alt"], t["change"], t["npv"], t["n_unknown"]
    (140.0, 180.0, -60.0, -120.0, 0)
    """

    def __init__(
        self,
        codes: np.ndarray,
        density: np.ndarray,
        dtypes: tuple[np.dtype, np.dtype],
        nodata: tuple[int | None, int | None],
        *,
        factor: float,
        fill: float = np.nan,
    ) -> None:
        self.slots = (Slots(codes, dtypes[0], nodata[0]), Slots(codes, dtypes[1], nodata[1]))
        kb, ka = (s.size for s in self.slots)
        if max(kb, ka) > MAX_SLOTS:
            raise ValueError(f"{max(kb, ka)} class slots; the pair table takes ≤ {MAX_SLOTS}")
        n = np.asarray(codes).size
        # density of each table row, NaN for the nodata and unknown rows (float32, as InVEST)
        by_row = np.append(np.asarray(density, dtype=np.float32), np.full(2, np.nan, np.float32))
        b = by_row[self.slots[0].rows][:, np.newaxis]  # (kb, 1)
        a = by_row[self.slots[1].rows][np.newaxis, :]  # (1, ka)
        c = a - b  # float32, as the per-pixel kernel: change = alt − base
        v = c * np.float32(factor)
        values = np.stack(np.broadcast_arrays(b, a, c, v)).reshape(4, kb * ka)
        self.values = values  # NaN where nodata, for the totals
        self.table = np.where(np.isnan(values), np.float32(fill), values).astype(np.float32)
        unknown_b = (self.slots[0].rows == n + 1)[:, np.newaxis]
        unknown_a = (self.slots[1].rows == n + 1)[np.newaxis, :]
        self.unknown = (unknown_b.astype(np.int64) + unknown_a).reshape(-1)
        change = values[2]
        self.near_minus_one = np.abs(change - np.float32(-1.0)) <= np.float32(INVEST_MINUS_ONE_TOL)
        self._ka = ka

    def pairs(self, lulc_bas: np.ndarray, lulc_alt: np.ndarray) -> np.ndarray:
        """Pair index of every pixel (flattened)."""
        sb = self.slots[0](lulc_bas)
        sa = self.slots[1](lulc_alt)
        if self._ka == 256 and sa.dtype == np.uint8:
            pair = sb.astype(np.intp)
            pair <<= 8
            pair |= sa
            return pair
        pair = sb.astype(np.intp)
        pair *= self._ka
        pair += sa
        return pair

    def compute(
        self, lulc_bas: np.ndarray, lulc_alt: np.ndarray, *, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Per-pixel values and totals of one block, as :func:`carbon.storage_change_npv`.

        Parameters
        ----------
        lulc_bas, lulc_alt : numpy.ndarray of int
            Land-cover codes of the two maps (same shape, the types given at construction).
        out : numpy.ndarray, optional
            C-contiguous float32 buffer of at least ``4 × lulc_bas.size`` values.

        Returns
        -------
        out : numpy.ndarray, shape (4, *lulc_bas.shape), float32
            Base storage, alternate storage, change (t C ha-1) and NPV (currency ha-1).
        totals : dict
            As :func:`gep.kernels.carbon.storage_change_npv`.
        """
        shape = np.shape(lulc_bas)
        if np.shape(lulc_alt) != shape:
            raise ValueError(f"land-cover maps differ in shape: {shape} and {np.shape(lulc_alt)}")
        pair = self.pairs(lulc_bas, lulc_alt)
        size = pair.size
        if out is None:
            out = np.empty((4, size), dtype=np.float32)
        elif out.dtype != np.float32 or not out.flags.c_contiguous or out.size < 4 * size:
            raise ValueError(f"out must be a C-contiguous float32 buffer of ≥ {4 * size} values")
        else:
            out = out.reshape(-1)[: 4 * size].reshape(4, size)
        for k in range(4):
            np.take(self.table[k], pair, out=out[k])
        counts = np.bincount(pair, minlength=self.table.shape[1])
        return out.reshape((4, *shape)), self.totals(counts)

    def totals(self, counts: np.ndarray) -> dict[str, float]:
        """Totals from the number of pixels of each pair (float64, NaN values skipped)."""
        weights = counts.astype(np.float64)
        sums = {}
        for k, name in enumerate(("base", "alt", "change", "npv")):
            values = self.values[k]
            valid = ~np.isnan(values)
            sums[name] = float(weights[valid] @ values[valid].astype(np.float64))
        change = self.values[2]
        away = ~np.isnan(change) & ~self.near_minus_one
        sums["change_away_from_minus_one"] = float(weights[away] @ change[away].astype(np.float64))
        totals: dict[str, float] = {
            k: sums[k] for k in ("base", "alt", "change", "change_away_from_minus_one")
        }
        totals.update(
            n_minus_one=int(counts[self.near_minus_one].sum()),
            npv=sums["npv"],
            n_unknown=int(counts @ self.unknown),
        )
        return totals
