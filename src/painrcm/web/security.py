"""Authentication and the browser's protections: argon2 passwords, server-side sessions in a
secure cookie, API tokens for scripts, CSRF tokens, login rate limiting, security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from painrcm.store import models as m
from painrcm.store.db import defer_write

SESSION_COOKIE = "painrcm_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_HOURS = 12
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(s: Session, email: str, password: str) -> m.User | None:
    user = s.scalars(select(m.User).where(m.User.email == email.strip().lower())).first()
    if user is None:
        _hasher.hash(password)  # same work either way: no user-enumeration by timing
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


def create_session(s: Session, user: m.User) -> tuple[str, m.WebSession]:
    token = secrets.token_urlsafe(32)
    row = m.WebSession(
        id=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=datetime.now(UTC) + timedelta(hours=SESSION_HOURS),
    )
    s.add(row)
    s.flush()
    return token, row


def session_for(s: Session, token: str | None) -> m.WebSession | None:
    if not token:
        return None
    row = s.get(m.WebSession, _digest(token))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires < datetime.now(UTC):
        s.delete(row)
        return None
    return row


def end_session(s: Session, token: str | None) -> None:
    row = session_for(s, token)
    if row is not None:
        s.delete(row)


def create_api_token(s: Session, user: m.User, name: str) -> str:
    token = "prcm_" + secrets.token_urlsafe(32)
    s.add(m.ApiToken(user_id=user.id, name=name, token_hash=_digest(token)))
    s.flush()
    return token


def user_for_token(s: Session, token: str) -> m.User | None:
    row = s.scalars(select(m.ApiToken).where(m.ApiToken.token_hash == _digest(token))).first()
    if row is None:
        return None
    now = datetime.now(UTC)
    last = row.last_used_at
    if last is None or (last if last.tzinfo else last.replace(tzinfo=UTC)) < now - timedelta(minutes=1):
        # best effort, after the request's own transaction: a read with a token stays a read
        token_id = row.id

        def touch(ws: Session) -> None:
            ws.execute(update(m.ApiToken).where(m.ApiToken.id == token_id).values(last_used_at=now))

        defer_write(s, touch)
    user = s.get(m.User, row.user_id)
    return user if user is not None and user.active else None


def csrf_ok(session: m.WebSession, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(session.csrf_token, supplied or "")


def set_session_cookie(response: Response, token: str) -> None:
    # Secure is honoured on http://localhost by browsers (a secure context), so it is always set.
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=True,
        samesite="lax",
        path="/",
    )


class LoginLimiter:
    """At most `attempts` failed logins per client address and per account in `window` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._fails.pop(k, None)


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
