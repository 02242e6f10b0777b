"""Scale tests: chunked services, basin routing, chunked zonal sums, dask.distributed."""
