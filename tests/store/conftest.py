"""Storage tests run on both databases: SQLite in a file and PostgreSQL on localhost.

PostgreSQL: one uniquely named database per test session (created with psycopg in autocommit,
dropped at the end); each test starts from an empty `public` schema. When PostgreSQL is unreachable
the PostgreSQL cases are skipped, unless the environment variable CI is set: then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.store.db import Database

PG_HOST = os.environ.get("PAINRCM_TEST_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("PAINRCM_TEST_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("PAINRCM_TEST_PG_PASSWORD", "")


def _unavailable(what: str, why: object) -> None:
    msg = f"{what} is unreachable ({why})"
    if os.environ.get("CI"):
        pytest.fail(f"{msg}; CI is set, so this is a failure, not a skip")
    pytest.skip(f"{msg}; set CI to make this a failure")


def _pg_connect(dbname: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        user=PG_USER,
        password=PG_PASSWORD or None,
        dbname=dbname,
        autocommit=True,
        connect_timeout=3,
    )


def _pg_url(dbname: str) -> str:
    auth = PG_USER + (f":{PG_PASSWORD}" if PG_PASSWORD else "")
    return f"postgresql+psycopg://{auth}@{PG_HOST}/{dbname}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; its name."""
    try:
        admin = _pg_connect("postgres")
    except Exception as e:  # noqa: BLE001 - any connection problem means "unreachable"
        _unavailable(f"PostgreSQL on {PG_HOST}", e)
    name = f"painrcm_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with _pg_connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_pg(name: str) -> None:
    with _pg_connect(name) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _clean_pg(name: str) -> None:
    """Empty every table of an already migrated schema (much faster than migrating again)."""
    from painrcm.store.models import Base

    with _pg_connect(name) as conn:
        current = conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()
        version = (
            conn.execute("SELECT version_num FROM alembic_version").fetchone()
            if current and current[0]
            else None
        )
        if version is None or version[0] != _head():
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
            return
        tables = ", ".join(f'"{t}"' for t in Base.metadata.tables)
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def _head() -> str:
    from alembic.script import ScriptDirectory

    from painrcm.store.db import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables) of each kind."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'painrcm.db'}"
    name = request.getfixturevalue("pg_database")
    _empty_pg(name)
    return _pg_url(name)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploads go under a temporary PAINRCM_HOME; the in-process runner is the default."""
    home = tmp_path / "home"
    monkeypatch.setenv("PAINRCM_HOME", str(home))
    monkeypatch.delenv("PAINRCM_REDIS_URL", raising=False)
    return home


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(load_reference(), load_policies())


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database with no rows, of each kind."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'painrcm.db'}"
    else:
        name = request.getfixturevalue("pg_database")
        _clean_pg(name)
        url = _pg_url(name)
    database = Database(url)
    try:
        yield database
    finally:
        database.engine.dispose()


@pytest.fixture
def practices(db: Database) -> Database:
    """The two practices of the synthetic data, stored."""
    from painrcm.store import models as m
    from tests.store.synth import PRACTICE_A, PRACTICE_B

    with db.session() as s:
        for p in (PRACTICE_A, PRACTICE_B):
            s.add(m.Practice(id=p["id"], name=p["name"], npi=p["npi"], kind=p["kind"], state=p["state"]))
    return db
