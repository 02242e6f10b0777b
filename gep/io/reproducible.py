"""Byte-identical outputs for identical inputs: fixed times in XLSX and GeoPackage files.

XLSX files are written by :func:`linkage.xlsx.write_sheets`, which stabilises them (shared
with the linkage layer, which imports nothing from ``gep``). GeoPackages record a ``last_change`` time per
layer; :func:`fixed_gdal_date` makes GDAL write :func:`~linkage.reproducible.fixed_timestamp`
instead of the wall clock (GDAL's ``OGR_CURRENT_DATE`` configuration option).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from linkage.reproducible import fixed_timestamp

__all__ = ["fixed_gdal_date", "fixed_timestamp"]


@contextlib.contextmanager
def fixed_gdal_date() -> Iterator[str]:
    """Within the block, GDAL stamps vector files with the fixed timestamp (yielded, ISO 8601).

    The previous value of ``OGR_CURRENT_DATE`` is restored on exit.
    """
    import pyogrio

    stamp = fixed_timestamp().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield stamp
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
