"""Request dependencies: the database session, the signed-in user, CSRF, roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from painrcm.store import models as m
from painrcm.web import security

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def db(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as s:
        yield s


@dataclass
class Auth:
    user: m.User
    via: str  # "session" | "token"
    session: m.WebSession | None = None

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""


class LoginRequired(Exception):
    """A page asked for without a session: the app answers with a redirect to /login."""


async def _auth(request: Request, s: Session) -> Auth | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = security.user_for_token(s, header[7:].strip())
        return Auth(user, "token") if user else None
    sess = security.session_for(s, request.cookies.get(security.SESSION_COOKIE))
    if sess is None:
        return None
    user = s.get(m.User, sess.user_id)
    if user is None or not user.active:
        return None
    if request.method in UNSAFE:
        supplied = request.headers.get(security.CSRF_HEADER)
        if supplied is None and "form" in (request.headers.get("content-type") or ""):
            supplied = str((await request.form()).get(security.CSRF_FIELD) or "")
        if not security.csrf_ok(sess, supplied):
            raise HTTPException(403, "missing or wrong CSRF token")
    return Auth(user, "session", sess)


async def api_auth(request: Request, s: Session = Depends(db, scope="function")) -> Auth:
    auth = await _auth(request, s)
    if auth is None:
        raise HTTPException(
            401,
            "sign in, or send an API token (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.auth = auth
    return auth


async def page_auth(request: Request, s: Session = Depends(db, scope="function")) -> Auth:
    auth = await _auth(request, s)
    if auth is None:
        raise LoginRequired
    request.state.auth = auth
    return auth


def require_role(*roles: str):  # type: ignore[no-untyped-def]
    async def check(auth: Auth = Depends(api_auth)) -> Auth:
        if auth.user.role not in roles:
            raise HTTPException(403, f"needs role {' or '.join(roles)}")
        return auth

    return check
