"""The admin page: users, roles, practice assignments, deactivation (admin role only; other roles get
a 403 page). Plain forms with the CSRF field, post-redirect-get; the same functions as ``api/admin.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from painrcm.store import queries_work as q
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.pages import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, auth: Auth, s: Session, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    if auth.user.role != "admin":
        return render(request, "admin.html", auth, 403, nav="admin", forbidden=True)
    return render(
        request,
        "admin.html",
        auth,
        status_code,
        nav="admin",
        users=q.list_users(s),
        practices=q.visible_practices(s, auth.user),
        roles=q.ROLES,
        min_password=q.MIN_PASSWORD,
        **ctx,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request,
    done: str = "",
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    flashes = {"created": ["User created."], "updated": ["User updated."]}.get(done, [])
    return _page(request, auth, s, flashes=flashes)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    email: str = Form(...),
    name: str = Form(...),
    password: str = Form(...),
    role: str = Form(...),
    practices: list[str] = Form([]),
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    if auth.user.role != "admin":
        return _page(request, auth, s)
    try:
        q.create_user(s, auth.user, email=email, name=name, password=password, role=role, practices=practices)
    except ValueError as e:
        return _page(
            request,
            auth,
            s,
            409 if isinstance(e, q.Conflict) else 400,
            error=str(e),
            draft={"email": email, "name": name, "role": role, "practices": practices},
        )
    return RedirectResponse("/admin?done=created", status_code=303)


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def update_user(
    request: Request,
    user_id: int,
    role: str = Form(...),
    active: str = Form("yes"),
    practices: list[str] = Form([]),
    password: str = Form(""),
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    """One user's row: role, practices (the whole selection), active, optionally a new password."""
    if auth.user.role != "admin":
        return _page(request, auth, s)
    try:
        q.update_user(
            s,
            auth.user,
            user_id,
            role=role,
            active=active == "yes",
            practices=practices,
            password=password or None,
        )
    except ValueError as e:
        return _page(request, auth, s, 400, error=str(e))
    return RedirectResponse("/admin?done=updated", status_code=303)
