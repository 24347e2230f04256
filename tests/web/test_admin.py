"""User administration (issue 5): admin only (403 for the other roles on the API and the page, 401 or
the sign-in page anonymously); users created with argon2 hashes, roles changed, practices assigned to
billers, users deactivated; every change audited without the password; CSRF on the page's forms."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from painrcm.store import models as m
from painrcm.store.db import Database
from tests.web.conftest import BASE_URL, USERS, audit_rows, login, make_user

SignedIn = Callable[[str], tuple[TestClient, str]]
NEW_PASSWORD = "a-long-enough-secret"


@pytest.fixture
def signed_in(cached_signed_in: SignedIn) -> SignedIn:
    """This module never signs out: every client of a role shares one session (argon2 is slow)."""
    return cached_signed_in


@pytest.fixture
def admin(signed_in: SignedIn) -> TestClient:
    c, csrf = signed_in("admin")
    c.headers["X-CSRF-Token"] = csrf
    return c


def _client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url=BASE_URL)


def test_admin_api_is_admin_only(
    app: FastAPI, users: dict[str, int], signed_in: SignedIn, client: TestClient
) -> None:
    assert client.get("/api/admin/users").status_code == 401
    assert client.post("/api/admin/users", json={}).status_code == 401
    body = {"email": "x@example.test", "name": "X", "password": NEW_PASSWORD, "role": "admin"}
    for role in ("supervisor", "biller"):
        c, csrf = signed_in(role)
        c.headers["X-CSRF-Token"] = csrf
        assert c.get("/api/admin/users").status_code == 403
        assert c.get(f"/api/admin/users/{users['admin']}").status_code == 403
        assert c.post("/api/admin/users", json=body).status_code == 403
        assert c.patch(f"/api/admin/users/{users[role]}", json={"role": "admin"}).status_code == 403
    with app.state.db.session() as s:
        assert s.get(m.User, users["biller"]).role == "biller"
        assert s.query(m.User).filter_by(email="x@example.test").first() is None


def test_admin_lists_users(users: dict[str, int], admin: TestClient) -> None:
    doc = admin.get("/api/admin/users").json()
    by_email = {u["email"]: u for u in doc["users"]}
    biller = by_email[USERS["biller"]["email"]]
    assert biller == {
        "id": users["biller"],
        "email": USERS["biller"]["email"],
        "name": USERS["biller"]["name"],
        "role": "biller",
        "active": True,
        "practices": ["P01"],
    }
    assert all("password" not in str(k) for u in doc["users"] for k in u)
    assert admin.get(f"/api/admin/users/{users['biller']}").json()["practices"] == ["P01"]
    assert admin.get("/api/admin/users/999999").status_code == 404


def test_create_user_hashes_with_argon2_and_audits(
    app: FastAPI, users: dict[str, int], admin: TestClient, web_db: Database
) -> None:
    r = admin.post(
        "/api/admin/users",
        json={
            "email": " New.Biller@Example.test ",
            "name": "New Biller",
            "password": NEW_PASSWORD,
            "role": "biller",
            "practices": ["P02"],
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["email"] == "new.biller@example.test" and made["practices"] == ["P02"]
    with web_db.session() as s:
        row = s.get(m.User, made["id"])
        assert (
            row is not None
            and row.password_hash.startswith("$argon2")
            and NEW_PASSWORD not in row.password_hash
        )
    entry = audit_rows(web_db, action="create", object_type="user", object_id=str(made["id"]))[-1]
    assert entry.user_id == users["admin"] and entry.detail == {"role": "biller", "practices": ["P02"]}
    # the new biller signs in and sees P02, not P01
    with _client(app) as c:
        login(c, "new.biller@example.test", NEW_PASSWORD)
        assert c.get("/api/me").json()["practices"] == ["P02"]
        assert c.get("/api/denials", params={"practice": "P01"}).status_code == 404
        assert c.get("/api/denials", params={"practice": "P02"}).status_code == 200
    dup = admin.post(
        "/api/admin/users",
        json={
            "email": "new.biller@example.test",
            "name": "Again",
            "password": NEW_PASSWORD,
            "role": "biller",
        },
    )
    assert dup.status_code == 409
    short = admin.post(
        "/api/admin/users",
        json={"email": "s@example.test", "name": "S", "password": "short", "role": "biller"},
    )
    assert short.status_code == 422
    unknown = admin.post(
        "/api/admin/users",
        json={
            "email": "u@example.test",
            "name": "U",
            "password": NEW_PASSWORD,
            "role": "biller",
            "practices": ["P99"],
        },
    )
    assert unknown.status_code == 400 and "P99" in unknown.json()["detail"]
    assert (
        admin.post(
            "/api/admin/users",
            json={"email": "r@example.test", "name": "R", "password": NEW_PASSWORD, "role": "owner"},
        ).status_code
        == 422
    )


def test_role_change_and_practice_assignment(app: FastAPI, admin: TestClient, web_db: Database) -> None:
    uid = make_user(web_db, "mover@example.test", "biller", ["P01"], password=NEW_PASSWORD)
    r = admin.patch(f"/api/admin/users/{uid}", json={"practices": ["P01", "P02"]})
    assert r.status_code == 200 and r.json()["practices"] == ["P01", "P02"]
    entry = audit_rows(web_db, action="update", object_type="user", object_id=str(uid))[-1]
    assert entry.detail == {"practices": [["P01"], ["P01", "P02"]]}
    with _client(app) as c:
        login(c, "mover@example.test", NEW_PASSWORD)
        assert c.get("/api/me").json()["practices"] == ["P01", "P02"]
        r = admin.patch(f"/api/admin/users/{uid}", json={"role": "supervisor"})
        assert r.json()["role"] == "supervisor"
        assert c.get("/api/me").status_code == 401  # a new role ends the user's sessions
        login(c, "mover@example.test", NEW_PASSWORD)
        assert c.get("/api/me").json()["practices"] is None  # a supervisor sees every practice
    assert audit_rows(web_db, action="update", object_type="user", object_id=str(uid))[-1].detail == {
        "role": ["biller", "supervisor"]
    }
    # nothing changed: nothing audited
    n = len(audit_rows(web_db, object_type="user", object_id=str(uid)))
    assert admin.patch(f"/api/admin/users/{uid}", json={"role": "supervisor"}).status_code == 200
    assert len(audit_rows(web_db, object_type="user", object_id=str(uid))) == n
    assert admin.patch("/api/admin/users/999999", json={"role": "biller"}).status_code == 404


def test_deactivate_signs_the_user_out(
    app: FastAPI, users: dict[str, int], admin: TestClient, web_db: Database
) -> None:
    uid = make_user(web_db, "leaver@example.test", "biller", ["P01"], password=NEW_PASSWORD)
    with _client(app) as c:
        login(c, "leaver@example.test", NEW_PASSWORD)
        assert c.get("/api/me").status_code == 200
        r = admin.patch(f"/api/admin/users/{uid}", json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False
        assert c.get("/api/me").status_code == 401
        bad = c.post("/api/auth/login", json={"email": "leaver@example.test", "password": NEW_PASSWORD})
        assert bad.status_code == 401
    assert audit_rows(web_db, action="update", object_type="user", object_id=str(uid))[-1].detail == {
        "active": [True, False]
    }
    # an admin cannot lock themselves out
    me = users["admin"]
    assert admin.patch(f"/api/admin/users/{me}", json={"active": False}).status_code == 400
    assert admin.patch(f"/api/admin/users/{me}", json={"role": "biller"}).status_code == 400
    # a new password is audited as changed, never stored in the clear
    assert (
        admin.patch(
            f"/api/admin/users/{uid}", json={"password": "another-long-secret", "active": True}
        ).json()["active"]
        is True
    )
    entry = audit_rows(web_db, action="update", object_type="user", object_id=str(uid))[-1]
    assert entry.detail == {"active": [False, True], "password": True}
    with _client(app) as c:
        login(c, "leaver@example.test", "another-long-secret")


def test_admin_page_for_each_role(users: dict[str, int], signed_in: SignedIn, client: TestClient) -> None:
    r = client.get("/admin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    for role in ("supervisor", "biller"):
        c, csrf = signed_in(role)
        page = c.get("/admin")
        assert page.status_code == 403 and USERS["admin"]["email"] not in page.text
        posted = c.post(
            "/admin/users",
            data={
                "email": "p@example.test",
                "name": "P",
                "password": NEW_PASSWORD,
                "role": "admin",
                "csrf_token": csrf,
            },
        )
        assert posted.status_code == 403
        assert (
            c.post(f"/admin/users/{users[role]}", data={"role": "admin", "csrf_token": csrf}).status_code
            == 403
        )
        assert "/admin" not in c.get("/denials").text.split("<main>")[0]  # no Admin link in the nav
    c, _ = signed_in("admin")
    page = c.get("/admin")
    assert page.status_code == 200
    for u in USERS.values():
        assert u["email"] in page.text
    assert 'name="csrf_token"' in page.text and " style=" not in page.text
    assert 'href="/admin"' in page.text


def test_admin_page_forms(users: dict[str, int], signed_in: SignedIn, web_db: Database) -> None:
    c, csrf = signed_in("admin")
    form = {
        "email": "formuser@example.test",
        "name": "Form User",
        "password": NEW_PASSWORD,
        "role": "biller",
        "practices": ["P01", "P02"],
    }
    assert c.post("/admin/users", data=form).status_code == 403  # no CSRF token
    assert c.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    r = c.post("/admin/users", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin?done=created"
    with web_db.session() as s:
        user = s.query(m.User).filter_by(email="formuser@example.test").one()
        uid = user.id
        assert sorted(up.practice_id for up in s.query(m.UserPractice).filter_by(user_id=uid)) == [
            "P01",
            "P02",
        ]
    assert "User created." in c.get("/admin?done=created").text
    again = c.post("/admin/users", data={**form, "csrf_token": csrf})
    assert again.status_code == 409 and "exists" in again.text
    # the row form: role, practices (the whole selection), active
    r = c.post(
        f"/admin/users/{uid}",
        data={"role": "biller", "practices": ["P02"], "active": "no", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with web_db.session() as s:
        user = s.get(m.User, uid)
        assert user is not None and user.active is False
        assert [up.practice_id for up in s.query(m.UserPractice).filter_by(user_id=uid)] == ["P02"]
    entry = audit_rows(web_db, action="update", object_type="user", object_id=str(uid))[-1]
    assert entry.detail == {"active": [True, False], "practices": [["P01", "P02"], ["P02"]]}
    assert c.post(f"/admin/users/{uid}", data={"role": "biller"}).status_code == 403  # no CSRF token
    bad = c.post(f"/admin/users/{uid}", data={"role": "owner", "csrf_token": csrf})
    assert bad.status_code == 400 and "role must be one of" in bad.text
    assert c.post("/admin/users/999999", data={"role": "biller", "csrf_token": csrf}).status_code == 404
    me = c.post(f"/admin/users/{users['admin']}", data={"role": "admin", "active": "no", "csrf_token": csrf})
    assert me.status_code == 400 and "yourself" in me.text


def test_rescrub_is_an_admin_action(
    users: dict[str, int], signed_in: SignedIn, admin: TestClient, web_db: Database
) -> None:
    """The workspace's re-scrub (tests/store/test_rescrub.py covers what it does to a book)."""
    for role in ("supervisor", "biller"):
        c, csrf = signed_in(role)
        c.headers["X-CSRF-Token"] = csrf
        assert c.post("/api/admin/rescrub", json={}).status_code == 403
    r = admin.post("/api/admin/rescrub", json={"codes": ["64483"], "workers": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["claims"] == 0 and body["changes"] == [] and body["runner"] == "local"
    assert admin.post("/api/admin/rescrub", json={"workers": 0}).status_code == 422
    with web_db.session() as s:
        started = s.query(m.AuditEntry).filter_by(action="rescrub_started").all()
        assert [a.user_id for a in started] == [users["admin"]]
