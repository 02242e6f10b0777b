"""The numba passes of :mod:`gep.io.bands`, imported only when a write needs them.

Kept apart so that reading a band (``gep invest`` reads every input through
:func:`gep.io.bands.read_band`) does not import numba: its import and cache loading cost a
command-line process about 0.3 s.
"""

from __future__ import annotations

import numba


@numba.njit(nogil=True, cache=True, parallel=True)
def fill_nan_into(values, fill, out):  # pragma: no cover - numba
    """``out[i] = fill`` where ``values[i]`` is NaN, else ``values[i]`` (flat arrays)."""
    flat = values.reshape(-1)
    dst = out.reshape(-1)
    for i in numba.prange(flat.size):
        v = flat[i]
        dst[i] = fill if v != v else v
