"""Sign-in and sign-out pages, and the shared page helpers (templates, auth in the context)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from painrcm import labels
from painrcm.api.auth import login_keys
from painrcm.store import services
from painrcm.web import security
from painrcm.web.deps import Auth, db, page_auth

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters.update(
    words=labels.words, limit_label=labels.limit_label, region_label=labels.region_label
)
router = APIRouter(include_in_schema=False)


def render(
    request: Request, template: str, auth: Auth | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the signed-in user (and their CSRF token) in the context."""
    if auth is not None and "data_notice" not in context:
        from painrcm.web.data_notice import banner

        context["data_notice"] = banner(request.app)
    return templates.TemplateResponse(request, template, {"auth": auth, **context}, status_code=status_code)


def _safe_next(target: str | None) -> str:
    # only local paths: never an open redirect
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", s: Session = Depends(db, scope="function")) -> HTMLResponse:
    from sqlalchemy import select

    from painrcm.store import models as m

    first_run = s.scalars(select(m.User.id).limit(1)).first() is None
    return render(request, "login.html", None, next=_safe_next(next), first_run=first_run)


@router.post("/login")
def login_submit(
    request: Request,
    email: str = Form(...),
    password: str = Form(...),
    next: str = Form("/"),
    s: Session = Depends(db, scope="function"),
) -> Response:
    limiter: security.LoginLimiter = request.app.state.limiter
    keys = login_keys(request, email)
    if limiter.blocked(*keys):
        return render(
            request,
            "login.html",
            None,
            429,
            error="Too many failed sign-ins. Try again in a few minutes.",
            email=email,
            next=_safe_next(next),
        )
    user = security.authenticate(s, email, password)
    if user is None:
        limiter.failed(*keys)
        services.audit(s, None, "login_failed", "user", None)
        return render(
            request,
            "login.html",
            None,
            401,
            error="Wrong email or password.",
            email=email,
            next=_safe_next(next),
        )
    limiter.succeeded(*keys)
    token, _ = security.create_session(s, user)
    services.audit(s, user.id, "login", "user", user.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    security.set_session_cookie(response, token)
    return response


@router.post("/logout")
def logout(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> Response:
    security.end_session(s, request.cookies.get(security.SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response
