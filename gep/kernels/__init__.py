"""Pure per-pixel and routing kernels: numpy and numba only, no I/O, no CRS, no xarray.

Kernels work on magnitudes in the canonical units named in their docstrings and assume the
caller masked nodata to NaN (float inputs) or passes an explicit nodata code (class inputs).
"""
