"""Shared fixtures and helpers for the web/API tests (tests/web).

Every test module gets its own app on a fresh SQLite file (module scope: the app, its database, the
users and the seeded claims are made once per module). Fixtures:

- ``app``: the ASGI app (``create_app(database_url=...)``); ``app.state.db`` / ``app.state.engine``.
- ``web_db``: the app's `Database`; ``scrub_engine``: the app's scrub `Engine`.
- ``users``: practices P01 and P02 and one user per role (`USERS`: admin, supervisor, biller — the
  biller assigned to P01 only), all with password `PASSWORD`; returns {role: user id}.
- ``seeded``: a small synthetic book stored with ``services.save_encounter`` + ``scrub_row``
  (`SEED_CLAIMS`, plus a few remittance lines from `seed_denials`); returns {key: encounter pk}.
- ``client``: a `TestClient` on https://testserver (so the Secure cookie is sent), not signed in.
- ``signed_in``: a factory ``signed_in(role) -> (client, csrf_token)`` giving a fresh signed-in client.

Helpers you can import (``from tests.web.conftest import ...``): `login`, `make_user`,
`make_practices`, `seed_claim`, `seed_claims`, `seed_denials`, `api_token`, `audit_rows`.

PostgreSQL: ``pg_database_url`` (session scope) yields a factory making a uniquely named database on
postgresql+psycopg://postgres@127.0.0.1 (dropped at the end). It skips when PostgreSQL is unreachable,
but fails when the environment variable CI is set.
"""

from __future__ import annotations

import copy
import os
import uuid
import zlib
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from painrcm.edits import CATALOGUE
from painrcm.edits.examples import example_dict
from painrcm.model import Encounter
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.web import security
from painrcm.web.app import create_app

PASSWORD = "correct-horse-battery-staple"
USERS: dict[str, dict[str, Any]] = {
    "admin": {"email": "admin@example.test", "name": "Ada Admin", "practices": []},
    "supervisor": {"email": "super@example.test", "name": "Sam Supervisor", "practices": []},
    "biller": {"email": "biller@example.test", "name": "Bea Biller", "practices": ["P01"]},
}
PRACTICES = {
    "P01": {
        "id": "P01",
        "name": "Mesa Spine & Pain",
        "npi": "1245319599",
        "tax_id": "741234567",
        "kind": "physician",
        "state": "CA",
    },
    "P02": {
        "id": "P02",
        "name": "Desert Interventional",
        "npi": "1538264098",
        "tax_id": "742345678",
        "kind": "physician",
        "state": "NM",
    },
}
BASE_URL = "https://testserver"


def _example(edit: str | None) -> dict[str, Any]:
    return copy.deepcopy(CATALOGUE[edit].example) if edit else {}


# key: (practice, overrides from this edit's documented failing example (None = the clean base claim),
#       line charges, days before today, scrub?, work_status). Expected latest scrub in the comment.
SEED_CLAIMS: dict[str, tuple[str, str | None, list[float], int, bool, str]] = {
    "p01_clean": ("P01", None, [650.0], 10, True, "open"),  # clean
    "p01_fixable": ("P01", "BUN001", [650.0, 120.0], 45, True, "open"),  # error BUN001, safe fix
    "p01_nofix": ("P01", "ADD001", [300.0], 75, True, "open"),  # error ADD001, no safe fix
    "p01_warning": ("P01", "POS001", [500.0, 40.0], 100, True, "open"),  # warning POS001
    "p01_unscrubbed": ("P01", None, [650.0], 5, False, "open"),  # unscrubbed
    "p01_history": ("P01", None, [650.0], 400, False, "history"),  # an earlier service: not a claim
    "p02_clean": ("P02", None, [700.0], 20, True, "open"),  # clean
    "p02_error": ("P02", "BUN001", [700.0, 150.0], 200, True, "open"),  # error BUN001, safe fix
}


def seed_encounter(
    key: str,
    practice: str,
    edit: str | None,
    charges: list[float],
    days_ago: int,
    encounter_id: str | None = None,
) -> Encounter:
    """A synthetic claim: the edit's failing example (or the clean base) for a patient of its own."""
    doc = example_dict(_example(edit))
    n = zlib.crc32(key.encode()) % 10_000_000
    doc["encounter_id"] = encounter_id or f"SEED-{key}"
    doc["practice"] = dict(PRACTICES[practice])
    doc["patient"] = {
        "id": f"{practice}-{key}",
        "member_id": f"ZZ{n:07d}{len(key)}",
        "last_name": f"Test{key}",
        "first_name": "Pat",
        "dob": "1960-01-15",
        "sex": "F",
    }
    doc["date_of_service"] = (services.today() - timedelta(days=days_ago)).isoformat()
    lines = doc.get("lines") or []
    assert len(lines) == len(charges), f"{key}: {len(lines)} lines, {len(charges)} charges"
    for ln, charge in zip(lines, charges, strict=True):
        ln["charge"] = charge
    return Encounter.model_validate(doc)


def seed_claim(
    db: Database,
    engine: Engine,
    key: str,
    practice: str = "P01",
    edit: str | None = None,
    charges: list[float] | None = None,
    days_ago: int = 30,
    scrub: bool = True,
    work_status: str = "open",
    encounter_id: str | None = None,
) -> int:
    """Store (and scrub) one synthetic claim; returns its encounter pk. Use a new key per test that
    changes a claim, so module-scoped data stays as the other tests expect."""
    enc = seed_encounter(
        key,
        practice,
        edit,
        charges or [100.0] * len(example_dict(_example(edit))["lines"]),
        days_ago,
        encounter_id,
    )
    with db.session() as s:
        row, _ = services.save_encounter(s, enc, source="seed", practice_id=practice, work_status=work_status)
        if scrub:
            services.scrub_row(s, row, engine, None)
        return row.id


def seed_claims(
    db: Database, engine: Engine, specs: dict[str, tuple[Any, ...]] | None = None
) -> dict[str, int]:
    return {
        key: seed_claim(db, engine, key, practice, edit, charges, days, scrub, work)
        for key, (practice, edit, charges, days, scrub, work) in (specs or SEED_CLAIMS).items()
    }


# (practice, encounter key or None, [(code, billed, denied, work_status, [(group, carc, amount)])])
SEED_DENIALS: list[
    tuple[str, str | None, list[tuple[str, float, bool, str, list[tuple[str, str, float]]]]]
] = [
    (
        "P01",
        "p01_clean",
        [
            ("64483", 650.0, True, "open", [("CO", "16", 650.0)]),
            ("77003", 120.0, True, "resolved", [("CO", "97", 120.0)]),
            ("99213", 150.0, False, "open", [("CO", "45", 40.0)]),
        ],
    ),
    ("P01", None, [("64483", 600.0, True, "working", [("CO", "16", 500.0), ("CO", "45", 100.0)])]),
    ("P02", "p02_clean", [("64493", 400.0, True, "open", [("CO", "50", 400.0)])]),
]


def seed_denials(db: Database, claims: dict[str, int], specs: list[Any] | None = None) -> None:
    """Remittance rows with denied (and one paid) lines, written straight to the tables."""
    with db.session() as s:
        for i, (practice, key, lines) in enumerate(specs or SEED_DENIALS, 1):
            rem = m.Remittance(
                practice_id=practice,
                payer_name="Seed Payer",
                trace_number=f"SEED-TRN-{i}",
                payment_amount=0,
                payment_date=services.today(),
            )
            claim = m.RemitClaim(
                practice_id=practice,
                patient_control_number=f"SEED-PCN-{i}",
                status_code="4",
                billed=sum(ln[1] for ln in lines),
                paid=0,
                encounter_pk=claims.get(key) if key else None,
            )
            for code, billed, denied, work, adjs in lines:
                claim.lines.append(
                    m.RemitLine(
                        practice_id=practice,
                        code=code,
                        billed=billed,
                        paid=0 if denied else billed - 40,
                        denied=denied,
                        work_status=work,
                        adjustments=[
                            m.RemitAdjustment(group_code=g, reason_code=r, amount=a) for g, r, a in adjs
                        ],
                    )
                )
            rem.claims.append(claim)
            s.add(rem)


def make_practices(db: Database) -> None:
    with db.session() as s:
        for p in PRACTICES.values():
            if s.get(m.Practice, p["id"]) is None:
                s.add(m.Practice(**p))


def make_user(
    db: Database,
    email: str,
    role: str,
    practices: list[str] | None = None,
    name: str | None = None,
    password: str = PASSWORD,
) -> int:
    with db.session() as s:
        user = m.User(
            email=email.lower(), name=name or email, role=role, password_hash=security.hash_password(password)
        )
        s.add(user)
        s.flush()
        for pid in practices or []:
            s.add(m.UserPractice(user_id=user.id, practice_id=pid))
        return user.id


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign the client in (session cookie) and return the CSRF token for its unsafe requests."""
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


def api_token(db: Database, user_id: int, name: str = "test") -> str:
    with db.session() as s:
        user = s.get(m.User, user_id)
        assert user is not None
        return security.create_api_token(s, user, name)


def audit_rows(db: Database, **where: Any) -> list[m.AuditEntry]:
    """Audit entries matching column values (e.g. action="fix", object_id="3"), oldest first."""
    with db.session() as s:
        q = select(m.AuditEntry).order_by(m.AuditEntry.id)
        for col, value in where.items():
            q = q.where(getattr(m.AuditEntry, col) == value)
        return list(s.scalars(q))


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    path = tmp_path_factory.mktemp("webdb") / "painrcm.db"
    return create_app(database_url=f"sqlite:///{path}")


@pytest.fixture(scope="module")
def web_db(app: FastAPI) -> Database:
    return app.state.db


@pytest.fixture(scope="module")
def scrub_engine(app: FastAPI) -> Engine:
    return app.state.engine


@pytest.fixture(scope="module")
def users(web_db: Database) -> dict[str, int]:
    make_practices(web_db)
    return {role: make_user(web_db, u["email"], role, u["practices"], u["name"]) for role, u in USERS.items()}


@pytest.fixture(scope="module")
def seeded(web_db: Database, scrub_engine: Engine, users: dict[str, int]) -> dict[str, int]:
    claims = seed_claims(web_db, scrub_engine)
    seed_denials(web_db, claims)
    return claims


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def signed_in(app: FastAPI, users: dict[str, int]) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """signed_in("biller") -> (client, csrf_token): a fresh client signed in as that role."""
    opened: list[TestClient] = []

    def make(role: str) -> tuple[TestClient, str]:
        c = TestClient(app, base_url=BASE_URL)
        opened.append(c)
        return c, login(c, USERS[role]["email"])

    yield make
    for c in opened:
        c.close()


@pytest.fixture(scope="module")
def role_sessions(app: FastAPI, users: dict[str, int]) -> dict[str, tuple[str, str]]:
    """One sign-in per role for the whole module (argon2 is slow on purpose): role -> (cookie, CSRF).
    For tests that never sign out; a test that ends a session uses `signed_in` instead."""
    out = {}
    for role, info in USERS.items():
        with TestClient(app, base_url=BASE_URL) as c:
            csrf = login(c, info["email"])
            out[role] = (str(c.cookies.get(security.SESSION_COOKIE)), csrf)
    return out


@pytest.fixture
def cached_signed_in(
    app: FastAPI, role_sessions: dict[str, tuple[str, str]]
) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """Like `signed_in`, but on the module's shared session for the role."""
    opened: list[TestClient] = []

    def make(role: str) -> tuple[TestClient, str]:
        cookie, csrf = role_sessions[role]
        c = TestClient(app, base_url=BASE_URL, cookies={security.SESSION_COOKIE: cookie})
        opened.append(c)
        return c, csrf

    yield make
    for c in opened:
        c.close()


# --- PostgreSQL ----------------------------------------------------------------------------------
PG_SERVER = os.environ.get("PAINRCM_TEST_PG", "postgresql://postgres@127.0.0.1")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[Callable[[], str]]:
    """make() -> a SQLAlchemy URL of a new, uniquely named PostgreSQL database (all dropped at the end)."""
    import psycopg

    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable at {PG_SERVER} and CI is set: {e}")
        pytest.skip(f"PostgreSQL is unreachable at {PG_SERVER} (set CI to make this a failure): {e}")
    made: list[str] = []

    def make() -> str:
        name = f"painrcm_web_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/{name}"

    yield make
    for name in made:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def days_ago(n: int) -> date:
    return services.today() - timedelta(days=n)
