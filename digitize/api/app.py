"""The portal HTTP API: ``create_app`` wires the index, the object store and the hooks into FastAPI."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from digitize.api import review as review_station
from digitize.api import routes, schemas
from digitize.api.auth import require
from digitize.api.context import ApiContext, ctx
from digitize.api.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
from digitize.config import Settings
from digitize.document.extract import official_metadata  # the one portal-name mapping
from digitize.errors import DigitizeError
from storage.access import ApiKey
from storage.index import Index
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            413: "too_large", 415: "unsupported_type", 422: "invalid"}


def create_app(settings: Settings, index: Index, store: ObjectStore, *, keys: Engine | None = None,
               on_import: Callable[[str, str], str] | None = None, queue_depth: Callable[[], int] | None = None,
               presign_ttl: dt.timedelta = dt.timedelta(minutes=5), signer: Any = None) -> FastAPI:
    """The API over ``index`` and ``store``.

    ``keys`` is the database holding API keys, the audit log and import jobs (default: the index's).
    ``on_import(sha256, filename) -> job id`` starts processing of an uploaded file; without it the
    file stays queued. ``queue_depth()`` feeds the ``digitize_queue_depth`` metric. ``signer``
    (``digitize.handoff.sign.CopySigner``) signs each reviewed document's copy the first time it is downloaded
    or packaged; without one, copies are served unsigned and marked ``signed: false``.
    """
    app = FastAPI(title="digitize portal API", version="1", description=(
        "Digitised result documents of administrative procedures, by dossier code (mã hồ sơ). Authenticate "
        "with an API key in `X-API-Key` or `Authorization: Bearer`. Roles: portal (read, download), clerk "
        "(also import and review), admin (also key management and the audit log)."))
    metrics = Metrics(index, queue_depth)
    app.state.ctx = ApiContext(settings=settings, index=index, store=store, keys=keys or index.engine,
                               on_import=on_import, queue_depth=queue_depth, presign_ttl=presign_ttl,
                               official=official_metadata, metrics=metrics, signer=signer)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(routes.router)
    review_station.install(app)  # /review: the clerk's review station (HTML)
    from digitize.api import reports

    app.include_router(reports.router)
    app.add_exception_handler(DigitizeError, _digitize_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]

    @app.get("/healthz", response_model=schemas.HealthOut, responses={503: {"model": schemas.HealthOut}},
             tags=["operations"])
    def healthz(c: ApiContext = Depends(ctx)) -> Any:
        """Liveness: the index answers and the object store is reachable (no key needed)."""
        index_ok = _check("index", c.index.ping)
        store_ok = _check("store", lambda: c.store.exists("health/probe"))
        body = {"status": "ok" if index_ok and store_ok else "failing", "index": "ok" if index_ok else "failing",
                "store": "ok" if store_ok else "failing"}
        return JSONResponse(body, status_code=200 if index_ok and store_ok else 503)

    @app.get("/metrics", response_class=Response, tags=["operations"],
             responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
                              "description": "Prometheus text format"},
                        401: {"model": schemas.ErrorOut}, 403: {"model": schemas.ErrorOut}})
    def metrics_endpoint(key: ApiKey = Depends(require("read")), c: ApiContext = Depends(ctx)) -> Response:
        """Prometheus metrics: pages processed, failures, queue depth, review backlog, HTTP requests."""
        return Response(c.metrics.render(), media_type=CONTENT_TYPE)

    return app


def _check(what: str, probe: Callable[[], object]) -> bool:
    try:
        probe()
    except Exception as e:  # noqa: BLE001 - a health check reports any failure as "failing"
        log.error("health check: %s failing: %s: %s", what, e.__class__.__name__, e)
        return False
    return True


async def _digitize_error(request: Request, exc: DigitizeError) -> JSONResponse:
    status = exc.http_status
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    headers = {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'} if status == 401 else None
    return JSONResponse({"detail": str(exc), "reason": exc.reason}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": str(exc.detail), "reason": _REASONS.get(exc.status_code, "error")},
                        status_code=exc.status_code, headers=exc.headers)
