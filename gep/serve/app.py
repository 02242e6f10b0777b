"""``gep serve``: the planner app and JSON API on an accounts store (FastAPI + uvicorn).

Read-only apart from what-if scenarios: ``POST /api/runs/{run}/scenarios`` runs a land-cover
change against a run (:mod:`gep.scenario`) and appends the scenario to the store as a run of
kind ``scenario``; no other endpoint writes. The page and its scripts are files of this package
(``gep/serve/static``); nothing is fetched from the internet. Bound to 127.0.0.1 by default.
The API's documentation is at ``/docs`` (a local page built from ``/openapi.json``).

Endpoints (``GET`` unless marked; amounts in CNY, 元):

=====================================  ============================================================
``/api/runs``                          the store's runs
``/api/runs/{run}``                    a run's record (configuration, input hashes, table sizes)
``/api/runs/{run}/units``              unit polygons of a level as GeoJSON (WGS84)
``/api/runs/{run}/units/{unit}``       a unit: GEP per year, GEP by service, allocation
``/api/runs/{run}/gep``                GEP per unit (``level``, ``year``)
``/api/runs/{run}/accounts``           account lines (``level``, ``year``, ``unit_id``, ``service``)
``/api/runs/{run}/allocation``         allocation lines (``level``, ``year``)
``/api/diff``                          GEP and allocation per unit: run ``b`` − run ``a``
``/api/runs/{run}/landcover-classes``  class codes and names of the run's land cover
``POST /api/runs/{run}/scenarios``     run a what-if land-cover change; stored as a new run
``/api/runs/{run}/scenario``           a stored scenario: ΔGEP per service and unit, Δ allocation
=====================================  ============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from data_catalog.errors import InputError
from gep import __version__
from gep.scenario.change import MAX_GEOJSON_BYTES, LandCoverChange, ScenarioError
from gep.serve import payloads
from gep.serve.data import StoreCache
from gep.store.query import RUN_ID_PATTERN
from gep.store.schema import StoreBusyError, StoreError, UnknownRunError

__all__ = ["create_app", "serve"]

STATIC = Path(__file__).resolve().parent / "static"

RunId = Annotated[
    str,
    PathParam(
        pattern=RUN_ID_PATTERN,
        description="Run id as `gep store list` shows it (YYYYMMDDTHHMMSSZ-xxxxxxxx), or latest.",
    ),
]
UnitId = Annotated[str, PathParam(pattern=r"^[0-9A-Za-z_]{1,32}$", description="Unit code.")]
Level = Literal["district", "township"]
Year = Annotated[int | None, Query(ge=1900, le=2200, description="Accounting year.")]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("path", "query"))
        parts.append(f"{where}: {error.get('msg', 'invalid')} (got {error.get('input')!r})")
    return "bad request: " + "; ".join(parts)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(UnknownRunError)
    async def unknown_run(request: Request, exc: UnknownRunError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(payloads.NotFound)
    async def not_found(request: Request, exc: payloads.NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(StoreBusyError)
    async def busy(request: Request, exc: StoreBusyError) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(ScenarioError)
    async def bad_scenario(request: Request, exc: ScenarioError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return _error(400, str(exc))


def _add_run_routes(app: FastAPI, cache: StoreCache) -> None:
    @app.get("/api/runs", summary="The store's runs, oldest first")
    def runs() -> dict[str, Any]:
        return {"store": str(cache.store), "runs": cache.runs()}

    @app.get("/api/runs/{run_id}", summary="A run's record")
    def run(run_id: RunId) -> dict[str, Any]:
        from gep.store import show_run

        with cache.write_lock:  # never opened while this process writes a scenario
            return show_run(cache.store, cache.resolve(run_id))

    @app.get("/api/runs/{run_id}/units", summary="Unit polygons (GeoJSON, WGS84)")
    def units(run_id: RunId, level: Level = "district") -> dict[str, Any]:
        return cache.geojson(run_id, level)

    @app.get("/api/runs/{run_id}/units/{unit_id}", summary="A unit: GEP, services, allocation")
    def unit(run_id: RunId, unit_id: UnitId) -> dict[str, Any]:
        return payloads.unit_panel(cache.run(run_id), unit_id)

    @app.get("/api/runs/{run_id}/gep", summary="GEP per unit (CNY)")
    def gep(run_id: RunId, level: Level | None = None, year: Year = None) -> dict[str, Any]:
        return payloads.gep_by_unit(cache.run(run_id), level=level, year=year)

    @app.get("/api/runs/{run_id}/accounts", summary="Account lines (CNY)")
    def accounts(
        run_id: RunId,
        level: Level | None = None,
        year: Year = None,
        unit_id: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z_]{1,32}$")] = None,
        service: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$")] = None,
    ) -> dict[str, Any]:
        data = cache.run(run_id)
        return payloads.accounts(data, level=level, year=year, unit_id=unit_id, service=service)

    @app.get("/api/runs/{run_id}/allocation", summary="Allocation lines (fen, CNY)")
    def allocation(run_id: RunId, level: Level | None = None, year: Year = None) -> dict[str, Any]:
        return payloads.allocation(cache.run(run_id), level=level, year=year)

    @app.get("/api/diff", summary="GEP and allocation per unit: run b − run a")
    def diff(
        a: Annotated[str, Query(pattern=RUN_ID_PATTERN)],
        b: Annotated[str, Query(pattern=RUN_ID_PATTERN)],
        year: Annotated[int, Query(ge=1900, le=2200)],
        level: Level = "district",
    ) -> dict[str, Any]:
        return payloads.diff(cache.run(a), cache.run(b), level=level, year=year)


def _install_body_limit(app: FastAPI) -> None:
    @app.middleware("http")
    async def body_limit(request: Request, call_next: Any) -> Any:
        # refuse an oversized body before it is read (a GeoJSON is checked again once parsed)
        if request.method == "POST":
            try:
                size = int(request.headers.get("content-length") or 0)
            except ValueError:
                return _error(400, "bad Content-Length header")
            if size > MAX_BODY_BYTES:
                return _error(
                    413,
                    f"request body of {size:,} bytes is larger than the {MAX_BODY_BYTES:,} "
                    "accepted: simplify the polygon",
                )
        return await call_next(request)


#: Largest request body accepted (a scenario's GeoJSON and its fields).
MAX_BODY_BYTES = MAX_GEOJSON_BYTES + 64_000


def _add_scenario_routes(app: FastAPI, cache: StoreCache) -> None:
    from gep.scenario.stored import BaseCache

    bases = BaseCache(size=2)

    def base_run(run_id: str) -> str:
        # `latest` is the newest whole run here: a scenario changes a run, not a scenario
        if run_id == "latest":
            whole = [r["run_id"] for r in cache.runs() if r.get("kind", "run") == "run"]
            if whole:
                return str(whole[-1])
        return cache.resolve(run_id)

    @app.get("/api/runs/{run_id}/landcover-classes", summary="Land-cover classes of a run")
    def classes(run_id: RunId) -> dict[str, Any]:
        from gep.scenario.stored import landcover_classes
        from gep.store.query import run_inputs

        with cache.write_lock:
            record = run_inputs(cache.store, base_run(run_id))
        return landcover_classes(record)

    @app.post(
        "/api/runs/{run_id}/scenarios",
        status_code=201,
        summary="Run a what-if land-cover change against a run; stored as a new run",
    )
    def run_scenario(
        run_id: RunId,
        change: Annotated[
            LandCoverChange,
            Body(
                openapi_examples={
                    "units": {
                        "summary": "cropland → forest within a district",
                        "value": {
                            "year": 2020,
                            "from_class": 1,
                            "to_class": 2,
                            "units": ["110109"],
                        },
                    },
                    "polygon": {
                        "summary": "a polygon (lon/lat) → forest",
                        "value": {
                            "year": 2020,
                            "to_class": 2,
                            "crs": "EPSG:4326",
                            "polygon": {
                                "type": "Polygon",
                                "coordinates": [
                                    [[115.8, 39.9], [115.9, 39.9], [115.9, 40.0], [115.8, 39.9]]
                                ],
                            },
                        },
                    },
                }
            ),
        ],
        level: Level = "township",
    ) -> dict[str, Any]:
        from gep.scenario.stored import run_stored_scenario
        from gep.store.query import scenario_record

        new_id, _ = run_stored_scenario(
            cache.store, base_run(run_id), change, cache=bases, write_lock=cache.write_lock
        )
        with cache.write_lock:
            record = scenario_record(cache.store, new_id)
        assert record is not None
        return payloads.scenario(
            cache.run(record["base_run_id"]), cache.run(new_id), record, level=level
        )

    @app.get("/api/runs/{run_id}/scenario", summary="A stored scenario against its base run")
    def scenario(run_id: RunId, level: Level = "township") -> dict[str, Any]:
        from gep.store.query import scenario_record

        resolved = cache.resolve(run_id)
        with cache.write_lock:
            record = scenario_record(cache.store, resolved)
        if record is None:
            raise payloads.NotFound(
                f"run {resolved} is not a scenario (POST /api/runs/RUN/scenarios makes one)"
            )
        return payloads.scenario(
            cache.run(record["base_run_id"]), cache.run(resolved), record, level=level
        )


def create_app(store: Path | str) -> FastAPI:
    """The web app on ``store`` (read-only).

    Parameters
    ----------
    store : path-like
        The accounts store's DuckDB file; it must exist.

    Returns
    -------
    fastapi.FastAPI
        The app: the page at ``/``, its assets at ``/static``, the API at ``/api``.
    """
    store = Path(store)
    if not store.is_file():
        raise StoreError(f"no accounts store at {store}: append a run first (gep store append)")
    app = FastAPI(
        title="gep: GEP accounts and compensation",
        version=__version__,
        description="API on a gep accounts store: read-only apart from what-if scenarios, "
        "which are stored as runs. Amounts are in CNY (元).",
        docs_url=None,  # FastAPI's own docs page loads Swagger UI from a CDN: ours is local
        redoc_url=None,
    )
    cache = StoreCache(store)
    _install_errors(app)
    _install_body_limit(app)
    _add_run_routes(app, cache)
    _add_scenario_routes(app, cache)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC / "docs.html", media_type="text/html; charset=utf-8")

    return app


def serve(
    store: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    announce: Callable[[str], Any] = print,
) -> None:
    """Run the app with uvicorn until interrupted (Ctrl-C).

    Parameters
    ----------
    store : path-like
        The accounts store.
    host : str
        Address to listen on; loopback by default (the app has no authentication).
    port : int
        Port to listen on.
    announce : callable
        Receives the line that says where the app is.
    """
    import uvicorn

    app = create_app(store)
    if host not in ("127.0.0.1", "localhost", "::1"):
        announce(f"warning: listening on {host}: the app has no authentication")
    announce(f"gep serve: http://{host}:{port}/ (API docs /docs) on the store {store}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
