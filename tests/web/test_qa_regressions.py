"""Hostile requests found by the QA crawl: each answers 4xx, never 500, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi import FastAPI

from tests.web.test_hardening import _token_client, any_app  # noqa: F401 - the fixture is used by name

HUGE = "99999999999999999999"  # over 64 bits: SQLite's driver overflows, PostgreSQL refuses the value


def test_ids_too_large_for_the_database_are_422_not_500(any_app: FastAPI) -> None:  # noqa: F811
    c = _token_client(any_app)
    for path in (
        f"/api/claims/{HUGE}",
        f"/api/claims/{HUGE}/audit",
        f"/api/denials/{HUGE}",
        f"/api/admin/users/{HUGE}",
    ):
        r = c.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)


def test_a_binary_upload_where_json_is_expected_is_422_not_500(any_app: FastAPI) -> None:  # noqa: F811
    c = _token_client(any_app)
    r = c.post("/api/tokens", files={"file": ("x.837", b"\x00\xff" * 100)})
    assert r.status_code == 422
    assert "detail" in r.json()
    r = c.post("/api/claims", files={"file": ("x.837", "ISA*00".encode("utf-16"))})
    assert r.status_code == 422
