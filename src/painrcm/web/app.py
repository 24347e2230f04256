"""The application factory: `create_app()` gives the ASGI app `painrcm serve` runs and tests drive."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from painrcm import __version__
from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.store.db import Database
from painrcm.store.scope import NotFound
from painrcm.web import guards, security
from painrcm.web.deps import LoginRequired

HERE = Path(__file__).resolve().parent
_NOT_FOUND_PAGE = (
    '<!doctype html><title>Not found · painrcm</title><link rel="stylesheet" href="/static/app.css">'
    "<main><h1>Not found</h1><p>There is nothing here, or it belongs to a practice you do not work."
    '</p><p><a href="/">Back to the dashboard</a></p></main>'
)
_INT64 = 2**63


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/fhir/"))


def _not_found_answer(request: Request) -> Response:
    if _is_api(request.url.path):
        return JSONResponse({"detail": "not found"}, status_code=404)
    return HTMLResponse(_NOT_FOUND_PAGE, status_code=404)


def _id_too_large(params: dict[str, Any]) -> bool:
    """A path ID (``/claims/{claim_id}``) beyond the database's 64-bit integers."""
    for value in params.values():
        digits = str(value).removeprefix("-")
        if digits.isascii() and digits.isdigit() and (len(digits) > 19 or int(digits) >= _INT64):
            return True
    return False


def _page_or(app: FastAPI, exc_type: type[Exception], not_found: Callable[[Request, Any], bool]) -> None:
    """For pages, answer the not-found page when ``not_found`` says so; otherwise (and for the API)
    the handler already installed for ``exc_type``, or FastAPI's own."""
    installed = app.exception_handlers.get(exc_type, http_exception_handler)

    async def handle(request: Request, exc: Any) -> Response:
        if not _is_api(request.url.path) and not_found(request, exc):
            return _not_found_answer(request)
        return await installed(request, exc)  # type: ignore[no-any-return]

    app.add_exception_handler(exc_type, handle)


# Each slice of the workspace is one API module and one pages module (see docs/workspace.md).
ROUTERS = (
    "painrcm.api.auth",
    "painrcm.api.claims",
    "painrcm.api.work",
    "painrcm.api.admin",
    "painrcm.api.auth_requests",
    "painrcm.api.fhir",
    "painrcm.web.pages",
    "painrcm.web.claims",
    "painrcm.web.work",
    "painrcm.web.admin",
    "painrcm.web.auth_requests",
    "painrcm.api.claim_work",
    "painrcm.web.claim_work",
    "painrcm.api.search",
    "painrcm.api.queues",
    "painrcm.web.search",
    "painrcm.web.patient",
    "painrcm.web.queues",
    "painrcm.web.apidocs",
)
log = logging.getLogger("painrcm.web")


def create_app(
    database_url: str | None = None, *, db: Database | None = None, jobs: object | None = None
) -> FastAPI:
    app = FastAPI(
        title="painrcm",
        version=__version__,
        description="Interventional pain-management claims: scrub, work denials, track authorizations.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by painrcm.web.apidocs from local files (no CDN)
        redoc_url=None,
    )
    app.state.db = db or Database(database_url)
    app.state.engine = Engine(load_reference(), load_policies())
    app.state.limiter = security.LoginLimiter()
    if jobs is None and importlib.util.find_spec("painrcm.store.jobs") is not None:
        from painrcm.store.jobs import make_runner

        jobs = make_runner(app.state.db)
    app.state.jobs = jobs
    app.add_middleware(security.SecurityHeaders)
    app.add_middleware(guards.Guards)
    guards.install_handlers(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _not_found_answer(request)

    # A page address whose ID is too large for the database names nothing: the not-found page (the
    # API keeps its 422 from painrcm.web.guards), and so does a page address no route matches.
    for too_large in (OverflowError, DataError):
        _page_or(app, too_large, lambda request, exc: _id_too_large(request.path_params))
    _page_or(app, StarletteHTTPException, lambda request, exc: exc.status_code == 404)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in ROUTERS:
        if importlib.util.find_spec(module) is not None:
            app.include_router(importlib.import_module(module).router)
    return app
