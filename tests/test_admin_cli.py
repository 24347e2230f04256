"""Issue 12, first run: `painrcm admin` makes practices and users and resets passwords without a browser
(non-interactive flags for scripts), the login page tells an empty workspace how to start, and `serve`
and `demo` refuse a taken port before seeding anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from painrcm.cli import app
from painrcm.cli_admin import first_admin_hint, port_problem
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.web import security
from painrcm.web.app import create_app


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(args), input=stdin)
    return res.exit_code, res.stdout, res.stderr


def test_first_admin_from_an_empty_database(url: str) -> None:
    assert "no users yet" in (first_admin_hint(url) or "").lower()
    code, out, err = run("admin", "create-practice", "--id", "P01", "--name", "Mesa", "--db", url)
    assert (code, err) == (0, "") and "P01 created" in out
    code, out, _ = run(
        "admin",
        "create-user",
        "--email",
        "Ada@Example.com",
        "--name",
        "Ada",
        "--role",
        "admin",
        "--password-stdin",
        "--db",
        url,
        stdin="a-long-secret-1\n",
    )
    assert code == 0 and "password:" not in out
    code, out, _ = run(
        "admin",
        "create-user",
        "--email",
        "bea@example.com",
        "--name",
        "Bea",
        "--practice",
        "P01",
        "--db",
        url,
    )
    assert code == 0
    generated = out.split("password: ", 1)[1].split()[0]
    db = Database(url)
    with db.session() as s:
        ada = s.scalars(select(m.User).where(m.User.email == "ada@example.com")).one()
        bea = s.scalars(select(m.User).where(m.User.email == "bea@example.com")).one()
        assert ada.role == "admin" and security.verify_password(ada.password_hash, "a-long-secret-1")
        assert security.verify_password(bea.password_hash, generated)
        assert s.scalars(
            select(m.UserPractice.practice_id).where(m.UserPractice.user_id == bea.id)
        ).all() == ["P01"]
        audit = s.scalars(select(m.AuditEntry).where(m.AuditEntry.object_type == "user")).all()
        assert all(a.detail.get("via") == "cli" for a in audit) and "secret" not in str(
            [a.detail for a in audit]
        )
    assert first_admin_hint(url) is None
    # the new admin signs in to the web app
    with TestClient(create_app(db=db), base_url="https://testserver") as c:
        r = c.post("/api/auth/login", json={"email": "ada@example.com", "password": "a-long-secret-1"})
        assert r.status_code == 200


def test_reset_password_ends_sessions(url: str) -> None:
    run(
        "admin",
        "create-user",
        "--email",
        "bea@example.com",
        "--name",
        "Bea",
        "--role",
        "supervisor",
        "--password",
        "first-password-1",
        "--db",
        url,
    )
    code, out, _ = run(
        "admin",
        "reset-password",
        "--email",
        "BEA@example.com",
        "--password-stdin",
        "--db",
        url,
        stdin="second-password-2\n",
    )
    assert code == 0 and "reset" in out
    with Database(url).session() as s:
        bea = s.scalars(select(m.User)).one()
        assert security.verify_password(bea.password_hash, "second-password-2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("admin", "create-practice", "--id", "P01", "--name", "X", "--npi", "12"),
            "--npi must be 10 digits",
        ),
        (
            ("admin", "create-user", "--email", "x@y.z", "--name", "X", "--role", "boss"),
            "--role must be one of",
        ),
        (
            ("admin", "create-user", "--email", "x@y.z", "--name", "X", "--practice", "P09"),
            "unknown practice P09",
        ),
        (("admin", "create-user", "--email", "x@y.z", "--name", "X", "--password", "short"), "at least 10"),
        (("admin", "reset-password", "--email", "nobody@y.z"), "no user with email"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(url: str, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args, "--db", url)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_login_page_shows_the_first_run_path_only_when_there_are_no_users(url: str) -> None:
    db = Database(url)
    with TestClient(create_app(db=db), base_url="https://testserver") as c:
        assert "painrcm admin create-user --role admin" in c.get("/login").text
        run("admin", "create-user", "--email", "a@b.c", "--name", "A", "--role", "admin", "--db", url)
        assert 'id="first-run"' not in c.get("/login").text


def test_taken_port_is_reported_before_seeding(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert "taken" in (port_problem("127.0.0.1", port) or "")
        demo_db = tmp_path / "demo.db"
        code, out, err = run("demo", "--port", str(port), "--db-path", str(demo_db))
        assert code == 2 and f"port {port}" in err and "nothing was seeded" in err
        assert not demo_db.exists() and "password" not in out.lower()
        code, _, err = run("serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'x.db'}")
        assert code == 2 and "taken" in err
    assert port_problem("127.0.0.1", port) is None
