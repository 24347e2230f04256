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


def test_a_page_address_with_an_id_too_large_for_the_database_is_the_not_found_page(
    any_app: FastAPI,  # noqa: F811
) -> None:
    """Leftover of issue 11's QA: /claims/<a 23-digit ID> answered the API's JSON 422 ("a number is
    too large"); a page answers the HTML not-found page, the API keeps its JSON."""
    from fastapi.testclient import TestClient

    from tests.web.conftest import BASE_URL, login, make_user

    make_user(any_app.state.db, "pages@example.test", "admin")
    with TestClient(any_app, base_url=BASE_URL) as c:
        csrf = login(c, "pages@example.test")
        huge = HUGE + "999"
        for path in (
            f"/claims/{huge}",
            f"/claims/{huge}/837",
            f"/claims/{huge}/versions/compare",
            f"/patients/{huge}",
            f"/uploads/jobs/{huge}",
            f"/claims/-{huge}",  # no page route takes it
            "/claims/12345",  # an ID that fits but is not there: the same page
        ):
            r = c.get(path)
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
            assert "Not found" in r.text
        r = c.post(f"/claims/{huge}/scrub", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        r = c.get(f"/api/claims/{huge}")
        assert r.status_code == 422 and r.json()["detail"]  # (SQLite overflows, PostgreSQL: out of range)
        r = c.get("/api/no-such-thing")
        assert r.status_code == 404 and r.json()
