"""The application factory: `create_app()` gives the ASGI app `painrcm serve` runs and tests drive."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from painrcm import __version__
from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.store.db import Database
from painrcm.store.scope import NotFound
from painrcm.web import guards, security
from painrcm.web.deps import LoginRequired

HERE = Path(__file__).resolve().parent
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
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return HTMLResponse(
            '<!doctype html><title>Not found · painrcm</title><link rel="stylesheet" href="/static/app.css">'
            "<main><h1>Not found</h1><p>There is nothing here, or it belongs to a practice you do not work."
            '</p><p><a href="/">Back to the dashboard</a></p></main>',
            status_code=404,
        )

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
