"""The clerk's review station under ``/review``: see the page, fix the field, approve — in the browser,
in Vietnamese, from the keyboard. ``install(app)`` adds it to the API's FastAPI app."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI) -> None:
    """Add the station's routes, static files (vendored, no build step), sessions and error pages."""
    from digitize.api.review import routes
    from digitize.api.review.session import PATH, LoginRequired, Sessions, StationError

    app.state.review_sessions = Sessions()
    app.include_router(routes.router)
    app.mount(f"{PATH}/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="review-static")

    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = f"{PATH}/login?" + urllib.parse.urlencode({"next": exc.next_path})
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    async def station_error(request: Request, exc: StationError) -> Response:
        return routes.page(request, "error.html", exc.status, message=exc.message)

    app.add_exception_handler(LoginRequired, login_required)  # type: ignore[arg-type]
    app.add_exception_handler(StationError, station_error)  # type: ignore[arg-type]
