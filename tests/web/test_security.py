"""The browser's protections (issue 5, item 7): CSRF, cookie flags, login rate limiting, security
headers, server-side logout, API tokens, no PHI in logs, argon2 password hashes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from painrcm.edits import CATALOGUE
from painrcm.edits.examples import example_dict
from painrcm.model import Encounter as EncounterModel
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.web import security
from tests.web.conftest import BASE_URL, PASSWORD, PRACTICES, USERS

# The seeded patient: none of this may reach a log line at INFO or above.
PATIENT = {
    "id": "SEC-CHART-77",
    "member_id": "SECMEM4471Q",
    "last_name": "Thistlewood",
    "first_name": "Ottoline",
    "dob": "1947-11-23",
    "sex": "F",
}
PHI = (
    PATIENT["member_id"],
    PATIENT["last_name"],
    PATIENT["first_name"],
    PATIENT["dob"],
    "11/23/1947",
    "19471123",
)


@dataclass
class Site:
    app: FastAPI
    db: Database
    claim_id: int


def email(role: str) -> str:
    return str(USERS[role]["email"])


def _seed_claim(db: Database, engine: Any) -> int:
    """A P01 claim (BUN001 error) of a patient whose name, member ID and birth date are searched for."""
    doc = example_dict(copy.deepcopy(CATALOGUE["BUN001"].example))
    doc.update(
        encounter_id="SEC-ENC-1",
        patient=PATIENT,
        practice=PRACTICES["P01"],
        date_of_service=(date.today() - timedelta(days=10)).isoformat(),
    )
    with db.session() as s:
        row, _ = services.save_encounter(
            s, EncounterModel.model_validate(doc), source="security.json", practice_id="P01"
        )
        services.scrub_row(s, row, engine)
        return row.id


@pytest.fixture(scope="module")
def site(app: FastAPI, users: dict[str, int]) -> Site:
    return Site(app, app.state.db, _seed_claim(app.state.db, app.state.engine))


@pytest.fixture(autouse=True)
def fresh_limiter(site: Site) -> Iterator[None]:
    """Every test starts with no failed sign-ins on record (the rate-limit tests use them up)."""
    site.app.state.limiter = security.LoginLimiter()
    yield
    site.app.state.limiter = security.LoginLimiter()


def new_client(site: Site, *, raise_errors: bool = True) -> TestClient:
    return TestClient(site.app, base_url=BASE_URL, raise_server_exceptions=raise_errors)


def sign_in(site: Site, role: str = "biller") -> tuple[TestClient, str]:
    c = new_client(site)
    r = c.post("/api/auth/login", json={"email": email(role), "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def page_sign_in(site: Site, role: str = "biller", *, raise_errors: bool = True) -> TestClient:
    c = new_client(site, raise_errors=raise_errors)
    r = c.post(
        "/login", data={"email": email(role), "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return c


def _set_cookie(response: object) -> str:
    cookies = [
        v
        for v in response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
        if v.startswith(security.SESSION_COOKIE + "=")
    ]
    assert cookies, "no session cookie set"
    return cookies[0]


# --- CSRF ----------------------------------------------------------------------------------------
def test_csrf_api_post_needs_the_token(site: Site) -> None:
    c, token = sign_in(site)
    assert c.post("/api/tokens", json={"name": "no-csrf"}).status_code == 403
    assert (
        c.post("/api/tokens", json={"name": "bad-csrf"}, headers={security.CSRF_HEADER: "forged"}).status_code
        == 403
    )
    r = c.post("/api/tokens", json={"name": "with-csrf"}, headers={security.CSRF_HEADER: token})
    assert r.status_code == 200, r.text


def test_csrf_form_post_needs_the_token(site: Site) -> None:
    c = page_sign_in(site)
    page = c.get("/claims" if _has_route(site, "/claims") else "/api/me")
    assert page.status_code == 200, page.text
    r = c.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert c.get("/api/me").status_code == 200, "a refused sign-out must leave the session alone"
    token = _form_token(c)
    r = c.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def _has_route(site: Site, path: str) -> bool:
    c, _ = sign_in(site, "admin")
    return c.get(path, follow_redirects=False).status_code == 200


def _form_token(c: TestClient) -> str:
    """The CSRF token as a page gives it to its forms (hidden field) or to htmx (hx-headers)."""
    for path in ("/", "/claims"):
        html = c.get(path).text
        found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
            r'"X-CSRF-Token": "([^"]+)"', html
        )
        if found:
            return found.group(1)
    pytest.fail("no page carries the CSRF token (base.html: hidden csrf_token field in the sign-out form)")


# --- cookies -------------------------------------------------------------------------------------
@pytest.mark.parametrize("via", ["api", "page"])
def test_session_cookie_flags(site: Site, via: str) -> None:
    c = new_client(site)
    if via == "api":
        r = c.post("/api/auth/login", json={"email": email("biller"), "password": PASSWORD})
    else:
        r = c.post("/login", data={"email": email("biller"), "password": PASSWORD}, follow_redirects=False)
    cookie = _set_cookie(r).lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie


# --- rate limiting -------------------------------------------------------------------------------
def test_login_rate_limited_on_api(site: Site) -> None:
    c = new_client(site)
    for _ in range(5):
        r = c.post("/api/auth/login", json={"email": email("biller"), "password": "wrong"})
        assert r.status_code == 401
    r = c.post("/api/auth/login", json={"email": email("biller"), "password": "wrong"})
    assert r.status_code == 429
    # the right password does not get through either while the account is blocked
    r = c.post("/api/auth/login", json={"email": email("biller"), "password": PASSWORD})
    assert r.status_code == 429


def test_login_rate_limited_on_page(site: Site) -> None:
    c = new_client(site)
    for _ in range(5):
        r = c.post("/login", data={"email": email("supervisor"), "password": "wrong"}, follow_redirects=False)
        assert r.status_code == 401
    r = c.post("/login", data={"email": email("supervisor"), "password": "wrong"}, follow_redirects=False)
    assert r.status_code == 429
    assert "too many" in r.text.lower()
    r = c.post("/login", data={"email": email("supervisor"), "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 429 and security.SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_unknown_accounts_count_too(site: Site) -> None:
    """Guessing many accounts from one address is limited as well (per client address)."""
    c = new_client(site)
    for i in range(5):
        c.post("/api/auth/login", json={"email": f"nobody{i}@security.test", "password": "x"})
    assert (
        c.post("/api/auth/login", json={"email": "nobody9@security.test", "password": "x"}).status_code == 429
    )


# --- headers -------------------------------------------------------------------------------------
def _directives(csp: str) -> dict[str, str]:
    out = {}
    for part in csp.split(";"):
        words = part.strip().split(None, 1)
        if words:
            out[words[0].lower()] = words[1] if len(words) > 1 else ""
    return out


def _check_headers(r: object, where: str) -> None:
    h = r.headers  # type: ignore[attr-defined]
    csp = _directives(h.get("content-security-policy", ""))
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts is not None, f"{where}: CSP restricts no scripts"
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, f"{where}: {scripts}"
    assert "'unsafe-inline'" not in csp.get("style-src", csp.get("default-src", "")), (
        f"{where}: inline styles allowed"
    )
    assert csp.get("frame-ancestors") == "'none'", where
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("x-content-type-options") == "nosniff", where
    assert "strict-transport-security" in h, where


def test_security_headers_on_pages_and_api(site: Site) -> None:
    anon = new_client(site)
    _check_headers(anon.get("/login"), "/login")
    _check_headers(anon.get("/api/me"), "/api/me (401)")
    c, _ = sign_in(site)
    for path in ("/api/me", "/", "/claims", f"/claims/{site.claim_id}", f"/api/claims/{site.claim_id}"):
        r = c.get(path, follow_redirects=False)
        if r.status_code == 404 and not path.startswith("/api/me"):
            continue  # the page is not there yet; the routes that exist are checked
        _check_headers(r, path)
        assert "no-store" in r.headers.get("cache-control", ""), (
            f"{path}: an authenticated page may be cached"
        )


def test_pages_use_no_inline_script_or_style(site: Site) -> None:
    """The CSP would block them in a browser; catch them here with a readable message."""
    c = page_sign_in(site, "admin", raise_errors=False)
    problems = []
    for path in (
        "/login",
        "/",
        "/claims",
        f"/claims/{site.claim_id}",
        "/authorizations",
        "/frequency",
        "/denials",
        "/uploads",
        "/admin",
    ):
        r = c.get(path)
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            continue
        html = r.text
        for tag in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL | re.IGNORECASE):
            if "src=" not in tag.group(1) or tag.group(2).strip():
                problems.append(f"{path}: inline <script>")
        if re.search(r"<[^>]+\sstyle\s*=", html, re.IGNORECASE):
            problems.append(f"{path}: style= attribute")
        if re.search(r"<style\b", html, re.IGNORECASE):
            problems.append(f"{path}: <style> element")
        if re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE):
            problems.append(f"{path}: inline event handler (on...=)")
    assert not problems, problems


# --- sessions and tokens -------------------------------------------------------------------------
def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    c, token = sign_in(site)
    cookie = c.cookies.get(security.SESSION_COOKIE)
    assert cookie
    assert c.post("/api/auth/logout", headers={security.CSRF_HEADER: token}).status_code == 200
    replay = new_client(site)
    replay.cookies.set(security.SESSION_COOKIE, cookie, domain="testserver")
    assert replay.get("/api/me").status_code == 401
    r = replay.get("/claims" if _has_route(site, "/claims") else "/", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")


def test_page_logout_ends_the_session_on_the_server(site: Site) -> None:
    c = page_sign_in(site)
    cookie = c.cookies.get(security.SESSION_COOKIE)
    r = c.post("/logout", headers={security.CSRF_HEADER: _form_token(c)}, follow_redirects=False)
    assert r.status_code == 303
    replay = new_client(site)
    replay.cookies.set(security.SESSION_COOKIE, cookie, domain="testserver")
    assert replay.get("/api/me").status_code == 401


def test_api_token_works_without_cookies_or_csrf(site: Site) -> None:
    c, csrf = sign_in(site, "supervisor")
    token = c.post("/api/tokens", json={"name": "script"}, headers={security.CSRF_HEADER: csrf}).json()[
        "token"
    ]
    script = new_client(site)
    assert not script.cookies
    headers = {"Authorization": f"Bearer {token}"}
    r = script.get("/api/me", headers=headers)
    assert r.status_code == 200 and r.json()["role"] == "supervisor"
    # an unsafe call with a token needs no CSRF token (no cookie, nothing for a forged page to ride on)
    r = script.post("/api/tokens", json={"name": "from-script"}, headers=headers)
    assert r.status_code == 200, r.text
    assert script.get("/api/me", headers={"Authorization": "Bearer prcm_wrong"}).status_code == 401
    with site.db.session() as s:
        stored = s.scalars(select(m.ApiToken.token_hash)).all()
    assert token not in stored, "API tokens are stored hashed"


def test_inactive_user_loses_access(site: Site) -> None:
    with site.db.session() as s:
        u = m.User(
            email="leaver@security.test",
            name="Leaver",
            role="supervisor",
            password_hash=security.hash_password(PASSWORD),
        )
        s.add(u)
    c = new_client(site)
    assert (
        c.post("/api/auth/login", json={"email": "leaver@security.test", "password": PASSWORD}).status_code
        == 200
    )
    with site.db.session() as s:
        s.scalars(select(m.User).where(m.User.email == "leaver@security.test")).one().active = False
    assert c.get("/api/me").status_code == 401


# --- commit before answering ---------------------------------------------------------------------
def _asgi_post(app: FastAPI, path: str, body: bytes, content_type: str, on_start: Any) -> int:
    """POST straight through the ASGI interface, calling on_start(headers) when the response starts:
    the moment the browser may already follow a redirect or send its next request."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    status: list[int] = []

    async def run() -> None:
        sent = False
        never = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await never.wait()  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                on_start(message["headers"])

        await app(scope, receive, send)

    # a thread of its own: Playwright's sync API (tests/browser) may keep an event loop running here
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
    return status[0]


@pytest.mark.parametrize("via", ["api", "page"])
def test_sign_in_is_committed_before_the_response(site: Site, via: str) -> None:
    """The session row must be in the database when the response starts: the browser follows the
    sign-in redirect at once, and a session committed only after the response (a `yield` dependency
    left at FastAPI's default "request" scope) bounces it back to /login now and then."""
    found: list[bool] = []

    def check(headers: list[tuple[bytes, bytes]]) -> None:
        cookies = [v.decode() for k, v in headers if k.lower() == b"set-cookie"]
        token = next(
            c.split(";", 1)[0].split("=", 1)[1]
            for c in cookies
            if c.startswith(security.SESSION_COOKIE + "=")
        )
        with site.db.session() as s:
            found.append(security.session_for(s, token) is not None)

    if via == "api":
        body = json.dumps({"email": email("biller"), "password": PASSWORD}).encode()
        code = _asgi_post(site.app, "/api/auth/login", body, "application/json", check)
    else:
        body = urlencode({"email": email("biller"), "password": PASSWORD, "next": "/"}).encode()
        code = _asgi_post(site.app, "/login", body, "application/x-www-form-urlencoded", check)
    assert code in (200, 303)
    assert found == [True], (
        "the session is committed after the response was sent: use "
        "Depends(db, scope='function') for the database session (painrcm.web.deps.db)"
    )


# --- PHI and passwords ---------------------------------------------------------------------------
def test_no_phi_in_logs(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    c = page_sign_in(site)
    api, _ = sign_in(site)
    reads = [
        c.get(f"/claims/{site.claim_id}"),
        api.get(f"/api/claims/{site.claim_id}"),
        c.get("/claims"),
        api.get("/api/claims"),
    ]
    assert any(r.status_code == 200 for r in reads), [r.status_code for r in reads]
    opened = [r for r in reads[:2] if r.status_code == 200]
    assert opened, "no claim page or claim API read worked; the PHI check would prove nothing"
    assert any(PATIENT["last_name"] in r.text for r in opened), "the claim read does not show the patient"
    logged = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records if r.levelno >= logging.INFO
    )
    leaks = [p for p in PHI if p.lower() in logged.lower()]
    assert not leaks, f"PHI in logs: {leaks}\n{logged}"


def test_no_phi_in_audit_detail(site: Site) -> None:
    """Reads are audited, and the audit detail holds IDs only."""
    c, _ = sign_in(site)
    c.get(f"/api/claims/{site.claim_id}")
    with site.db.session() as s:
        entries = s.scalars(select(m.AuditEntry)).all()
        assert any(e.action == "read" and e.object_id == str(site.claim_id) for e in entries), (
            "reading a claim (a patient record) writes no audit entry"
        )
        text = repr([(e.action, e.object_type, e.object_id, e.detail) for e in entries]).lower()
    assert not [p for p in PHI if p.lower() in text]


def test_passwords_are_argon2id_hashes(site: Site) -> None:
    with site.db.session() as s:
        hashes = s.scalars(select(m.User.password_hash)).all()
    assert hashes
    for h in hashes:
        assert h.startswith("$argon2id$"), h[:12]
        assert PASSWORD not in h
