"""RUSLE per-pixel soil loss given the LS factor (the LS factor comes from ``terrain``)."""

from __future__ import annotations

import numba
import numpy as np


def _rusle_impl(erosivity, erodibility, ls, c, p, potential, actual, retained):  # pragma: no cover
    for i in numba.prange(erosivity.size):
        rkls = erosivity[i] * erodibility[i] * ls[i]
        usle = rkls * c[i] * p[i]
        potential[i] = rkls
        actual[i] = usle
        retained[i] = rkls - usle


_rusle_serial = numba.njit(nogil=True, cache=True)(_rusle_impl)
_rusle_parallel = numba.njit(nogil=True, cache=True, parallel=True)(_rusle_impl)


def rusle(
    erosivity: np.ndarray,
    erodibility: np.ndarray,
    ls: np.ndarray,
    cover_management: np.ndarray,
    support_practice: np.ndarray,
    *,
    parallel: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Potential, actual and retained soil loss by the RUSLE, t ha-1 yr-1.

    ``potential = R·K·LS``; ``actual = R·K·LS·C·P``; ``retained = potential − actual
    = R·K·LS·(1 − C·P)`` (computed as the difference, as InVEST's ``avoided_erosion``).

    Parameters
    ----------
    erosivity : numpy.ndarray
        Rainfall erosivity R, MJ mm ha-1 h-1 yr-1.
    erodibility : numpy.ndarray
        Soil erodibility K, t ha h ha-1 MJ-1 mm-1.
    ls : numpy.ndarray
        Slope length-steepness factor LS, dimensionless.
    cover_management : numpy.ndarray
        Cover-management factor C, 0–1.
    support_practice : numpy.ndarray
        Support-practice factor P, 0–1.
    parallel : bool
        Use all numba threads; ``False`` inside dask tasks.

    Returns
    -------
    potential, actual, retained : numpy.ndarray
        t ha-1 yr-1.

    References
    ----------
    Renard K.G. et al. (1997) Predicting soil erosion by water: a guide to conservation
    planning with the Revised Universal Soil Loss Equation (RUSLE). USDA Agric. Handb. 703.

    Examples
    --------
    R = 2000, K = 0.02, LS = 1.5, C = 0.1, P = 0.5: RKLS = 60, USLE = 60·0.05 = 3:

    >>> rusle(*(np.array([v]) for v in (2000.0, 0.02, 1.5, 0.1, 0.5)))
    (array([60.]), array([3.]), array([57.]))
    """
    arrays = (erosivity, erodibility, ls, cover_management, support_practice)
    dtype = np.result_type(*arrays, np.float32)
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    flat = [
        np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).reshape(-1) for a in arrays
    ]
    outs = tuple(np.empty(flat[0].size, dtype=dtype) for _ in range(3))
    (_rusle_parallel if parallel else _rusle_serial)(*flat, *outs)
    potential, actual, retained = (o.reshape(shape) for o in outs)
    return potential, actual, retained
