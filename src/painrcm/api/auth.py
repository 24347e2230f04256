"""Sign in (session cookie for the browser), sign out, API tokens for scripts, who am I."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from painrcm.store import services
from painrcm.store.scope import practice_ids
from painrcm.web import security
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/api", tags=["auth"])


class Credentials(BaseModel):
    email: str
    password: str


class TokenRequest(BaseModel):
    name: str = "script"


def login_keys(request: Request, email: str) -> tuple[str, str]:
    client = request.client.host if request.client else "unknown"
    return f"ip:{client}", f"user:{email.strip().lower()}"


@router.post("/auth/login")
def login(
    body: Credentials, request: Request, response: Response, s: Session = Depends(db, scope="function")
) -> dict[str, object]:
    """Start a browser session: sets the session cookie and returns the CSRF token for forms."""
    limiter: security.LoginLimiter = request.app.state.limiter
    keys = login_keys(request, body.email)
    if limiter.blocked(*keys):
        raise HTTPException(429, "too many failed sign-ins; try again in a few minutes")
    user = security.authenticate(s, body.email, body.password)
    if user is None:
        limiter.failed(*keys)
        services.audit(s, None, "login_failed", "user", None)
        raise HTTPException(401, "wrong email or password")
    limiter.succeeded(*keys)
    token, sess = security.create_session(s, user)
    security.set_session_cookie(response, token)
    services.audit(s, user.id, "login", "user", user.id)
    return {"user": user.email, "role": user.role, "csrf_token": sess.csrf_token}


@router.post("/auth/logout")
def logout(
    request: Request,
    response: Response,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, str]:
    security.end_session(s, request.cookies.get(security.SESSION_COOKIE))
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return {"status": "signed out"}


@router.post("/tokens")
def create_token(
    body: TokenRequest, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, str]:
    """An API token for scripts (shown once). Send it as `Authorization: Bearer <token>`."""
    token = security.create_api_token(s, auth.user, body.name)
    services.audit(s, auth.user.id, "create", "api_token", None, name=body.name)
    return {"token": token, "name": body.name}


@router.get("/me")
def me(auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")) -> dict[str, object]:
    allowed = practice_ids(s, auth.user)
    return {
        "email": auth.user.email,
        "name": auth.user.name,
        "role": auth.user.role,
        "practices": None if allowed is None else sorted(allowed),
    }
