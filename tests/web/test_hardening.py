"""The web app under a busy database, hostile input and account changes (issue 8): a lock that cannot
be had is a 503 with Retry-After (reads still answer), values the schema cannot hold are 4xx on SQLite
and PostgreSQL, bodies are capped while they stream, and account changes end sessions and tokens."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from painrcm.edits.examples import example_dict
from painrcm.web.app import create_app
from painrcm.web.guards import Guards
from tests.web.conftest import (
    BASE_URL,
    PASSWORD,
    api_token,
    login,
    make_practices,
    make_user,
    seed_claim,
)


def _claim_body(eid: str = "HX-1") -> dict[str, Any]:
    doc = example_dict({"encounter_id": eid, "date_of_service": "2026-03-02"})
    doc["practice"] = {"id": "P01", "name": "Mesa Spine & Pain", "npi": "1245319599", "kind": "physician"}
    return doc


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FastAPI]:
    monkeypatch.setenv("PAINRCM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAINRCM_REDIS_URL", raising=False)
    monkeypatch.setenv("PAINRCM_SQLITE_BUSY_MS", "300")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'w.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")()
    app = create_app(database_url=url)
    make_practices(app.state.db)
    yield app
    app.state.db.engine.dispose()


def _token_client(app: FastAPI, role: str = "admin", practices: list[str] | None = None) -> TestClient:
    uid = make_user(app.state.db, f"{role}-{id(app)}@example.test", role, practices)
    c = TestClient(app, base_url=BASE_URL)
    c.headers["Authorization"] = f"Bearer {api_token(app.state.db, uid)}"
    return c


def test_values_the_schema_cannot_hold_are_4xx_on_both_databases(any_app: FastAPI) -> None:
    c = _token_client(any_app)
    long_id = _claim_body("E" * 90)
    r = c.post("/api/claims", json=long_id)
    assert r.status_code == 422 and "$.encounter_id: at most 80 characters (got 90)" in r.text
    nul = _claim_body()
    nul["patient"]["last_name"] = "Do\x00e"
    r = c.post("/api/claims", json=nul)
    assert r.status_code == 422 and "$.patient.last_name: text without NUL characters" in r.text
    lines = _claim_body()
    lines["lines"] = [dict(lines["lines"][0]) for _ in range(51)]
    r = c.post("/api/claims", json=lines)
    assert r.status_code == 422 and "at most 50 service lines" in r.text
    for query in ("/api/claims?payer=A%00B", "/api/denials?reason=%00", "/api/claims%00"):
        assert c.get(query).status_code == 400
    # nothing was stored, and the app still works
    assert c.post("/api/claims", json=_claim_body()).status_code == 201
    assert c.get("/api/claims?status=any").json()["total"] == 1


def test_a_lock_that_cannot_be_had_is_a_503_with_retry_after_and_reads_still_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PAINRCM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAINRCM_REDIS_URL", raising=False)
    monkeypatch.setenv("PAINRCM_SQLITE_BUSY_MS", "200")
    path = tmp_path / "busy.db"
    app = create_app(database_url=f"sqlite:///{path}")
    make_practices(app.state.db)
    pk = seed_claim(app.state.db, app.state.engine, "busy")
    c = _token_client(app)
    assert c.get(f"/api/claims/{pk}").status_code == 200  # the token's last use is stored
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock for longer than we wait
    try:
        r = c.post("/api/claims", json=_claim_body("HX-busy"))
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit(), r.text
        r = c.get(f"/api/claims/{pk}")  # a read whose audit entry cannot be written now
        assert r.status_code == 200 and r.json()["id"] == pk
        assert "not stored" in caplog.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert c.post("/api/claims", json=_claim_body("HX-busy")).status_code == 201
    app.state.db.engine.dispose()


def test_password_reset_deactivation_and_role_change_end_sessions_and_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAINRCM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAINRCM_REDIS_URL", raising=False)
    app = create_app(database_url=f"sqlite:///{tmp_path / 's.db'}")
    db = app.state.db
    make_practices(db)
    admin = _token_client(app)
    for change in ({"password": "another-long-secret"}, {"active": False}, {"role": "supervisor"}):
        email = f"u{len(change)}-{next(iter(change))}@example.test"
        uid = make_user(db, email, "biller", ["P01"])
        token = api_token(db, uid)
        with TestClient(app, base_url=BASE_URL) as browser:
            login(browser, email)
            assert browser.get("/api/me").status_code == 200
            script = {"Authorization": f"Bearer {token}"}
            assert browser.get("/api/me", headers=script).status_code == 200
            assert admin.patch(f"/api/admin/users/{uid}", json=change).status_code == 200
            assert browser.get("/api/me").status_code == 401, change
            browser.cookies.clear()
            assert browser.get("/api/me", headers=script).status_code == 401, change
            if change == {"active": False}:  # re-activation does not bring old sessions or tokens back
                assert admin.patch(f"/api/admin/users/{uid}", json={"active": True}).status_code == 200
                assert browser.get("/api/me", headers=script).status_code == 401
                login(browser, email, PASSWORD)
                assert browser.get("/api/me").status_code == 200
    # a name change alone keeps them
    uid = make_user(db, "keep@example.test", "biller", ["P01"])
    token = api_token(db, uid)
    assert admin.patch(f"/api/admin/users/{uid}", json={"name": "Kept"}).status_code == 200
    assert admin.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    db.engine.dispose()


def _drive(guards: Guards, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """Send a request through the guard; (status, chunks the server pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        i = pulled - 1
        return {"type": "http.request", "body": chunks[i], "more_body": i < len(chunks) - 1}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/imports",
        "query_string": b"",
        "headers": headers,
    }
    # in a thread of its own: another test's event loop may still be running in this one
    worker = threading.Thread(target=lambda: asyncio.run(guards(scope, receive, send)))
    worker.start()
    worker.join(timeout=60)
    return sent[0]["status"], pulled


def test_bodies_are_capped_while_they_stream() -> None:
    async def reads_everything(scope: Any, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guards = Guards(reads_everything, max_body=10_000)
    chunk = b"x" * 1000
    # declared too large: refused before a byte is read
    assert _drive(guards, [chunk] * 50, [(b"content-length", b"50000")]) == (413, 0)
    # streamed (no length): cut off at the cap, not read to the end
    status, pulled = _drive(guards, [chunk] * 1000, [])
    assert status == 413 and pulled == 11
    assert _drive(guards, [chunk] * 5, []) == (200, 5)


def test_upload_larger_than_the_cap_is_413(client_app: TestClient) -> None:
    r = client_app.post(
        "/api/imports",
        content=b"x",
        headers={"Content-Length": str(60 * 1024 * 1024), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 413


@pytest.fixture
def client_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("PAINRCM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAINRCM_REDIS_URL", raising=False)
    app = create_app(database_url=f"sqlite:///{tmp_path / 'c.db'}")
    with TestClient(app, base_url=BASE_URL) as c:
        yield c
    app.state.db.engine.dispose()


def test_forwarded_for_is_believed_only_from_configured_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    from painrcm.cli_serve import proxy_settings

    monkeypatch.delenv("PAINRCM_TRUSTED_PROXIES", raising=False)
    assert proxy_settings() == {"proxy_headers": False}
    monkeypatch.setenv("PAINRCM_TRUSTED_PROXIES", "10.0.0.5, 10.0.0.6")
    assert proxy_settings() == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.5", "10.0.0.6"]}


def test_the_same_new_claim_posted_at_once_is_stored_once_without_a_server_error(any_app: FastAPI) -> None:
    c = _token_client(any_app)
    statuses: list[int] = []
    body = _claim_body("HX-race")

    def post() -> None:
        with TestClient(any_app, base_url=BASE_URL, headers=dict(c.headers)) as tc:
            statuses.append(tc.post("/api/claims", json=body).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(statuses) == 4 and set(statuses) <= {200, 201, 409, 503}, statuses
    assert 201 in statuses
    listed = c.get("/api/claims?status=any").json()
    assert [row["encounter_id"] for row in listed["items"]] == ["HX-race"]
