"""Run the same task graphs on dask.distributed: a LocalCluster or a remote scheduler.

``gep run CONFIG --scheduler tcp://HOST:PORT`` (or ``--scheduler local``) reads the rasters
in chunks and computes every service's graph on the cluster; nothing else changes — the
services, kernels and accounts are the same code as the single-process run, and the results
are identical (``tests/scale/test_distributed.py``).

What runs where: the per-pixel services run chunk by chunk on the workers (one fused kernel
per chunk, ``PERFORMANCE.md``: keep ≥ 100 ms of work per task on a cluster, hence 2048²
chunks); flow routing (soil retention) is global over its basin and is gathered on purpose
(:mod:`gep.routing.basins` splits it by basin); zonal sums, valuation and the tables run in the
client process on the small per-unit results.

Remote workers must see the input files at the same paths (a shared file system or object
storage URLs in the catalog) and have gep installed in the same version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dask

from gep.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from data_catalog.catalog import Catalog
    from gep.config import RunConfig

#: Default chunk edge on a cluster (≥ 100 ms of work per task).
CLUSTER_CHUNK = 2048


@contextlib.contextmanager
def scheduler(spec: str | None, *, n_workers: int | None = None) -> Iterator[Any]:
    """Make dask computations in the block run on ``spec``'s scheduler.

    Parameters
    ----------
    spec : str or None
        ``None`` or ``"threads"``: dask's threaded scheduler in this process (the default);
        ``"local"``: start a :class:`distributed.LocalCluster` on this machine (one worker
        process per core, one thread each) and close it on exit;
        ``"tcp://HOST:PORT"`` (or ``tls://``, ``ws://``): connect to a running scheduler.
    n_workers : int, optional
        Workers of the local cluster (default: one per core).

    Yields
    ------
    distributed.Client or None
        The client (``None`` for the threaded scheduler).

    Raises
    ------
    InputError
        An unrecognised ``spec`` or a scheduler that cannot be reached.
    """
    if spec is None or spec == "threads":
        with dask.config.set(scheduler="threads"):
            yield None
        return
    from distributed import Client, LocalCluster

    if spec == "local":
        with (
            LocalCluster(
                n_workers=n_workers, threads_per_worker=1, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    if "://" not in spec:
        raise InputError(
            f"--scheduler {spec!r}: expected 'local', 'threads' or a scheduler address such as "
            "tcp://10.0.0.5:8786"
        )
    try:
        client = Client(spec, timeout="20s")
    except OSError as exc:
        raise InputError(
            f"--scheduler {spec}: cannot reach the dask scheduler ({exc}); start one with "
            "`dask scheduler` and `dask worker <address>`, or use --scheduler local"
        ) from exc
    with client:
        yield client


class ChunkedCatalog:
    """A catalog whose rasters are opened lazily in chunks (every other call passes through).

    Parameters
    ----------
    catalog : Catalog
        The loaded catalog.
    chunks : int
        Chunk edge in pixels.
    """

    def __init__(self, catalog: Catalog, chunks: int = CLUSTER_CHUNK) -> None:
        self._catalog = catalog
        self.chunks = chunks

    def raster(self, entry_id: str, *, chunks: int | dict[str, int] | None = None) -> xr.DataArray:
        """The entry's raster, dask-backed with ``chunks`` (default: this catalog's)."""
        return self._catalog.raster(entry_id, chunks=chunks or self.chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


def compute_quantities(
    cat: Catalog,
    config: RunConfig,
    params: pd.DataFrame,
    progress: Any = None,
    *,
    scheduler_spec: str | None = "local",
    chunks: int = CLUSTER_CHUNK,
) -> dict[tuple[str, int], xr.DataArray]:
    """:func:`gep.pipeline.compute_quantities` with chunked reads on ``scheduler_spec``.

    This is the function ``gep run --scheduler`` calls in place of the single-process one;
    it returns the same ``(quantity, year) → DataArray`` mapping (computed, in memory: the
    per-unit sums that follow need every pixel once).
    """
    from gep.pipeline import compute_quantities as single

    with scheduler(scheduler_spec):
        return single(ChunkedCatalog(cat, chunks), config, params, progress)  # type: ignore[arg-type]
