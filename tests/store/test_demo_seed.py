"""`painrcm demo`'s database: the promised mix of synthetic data, deterministic for a seed, idempotent,
on SQLite and PostgreSQL; `demo_command` recreates the file and prints working credentials."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.demo_seed import USERS, DemoCredentials, seed_demo

TODAY = date(2026, 7, 15)  # inside FY2026, the ICD-10-CM year painrcm ships, so every edit runs
PG_HOST = os.environ.get("PAINRCM_TEST_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("PAINRCM_TEST_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("PAINRCM_TEST_PG_PASSWORD", "")


def _pg(name: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        user=PG_USER,
        password=PG_PASSWORD or None,
        dbname=name,
        autocommit=True,
        connect_timeout=3,
    )


def _pg_url(request: pytest.FixtureRequest) -> str:
    name = request.getfixturevalue("pg_database")  # conftest: skip, or fail when CI is set
    with _pg(name) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    auth = PG_USER + (f":{PG_PASSWORD}" if PG_PASSWORD else "")
    return f"postgresql+psycopg://{auth}@{PG_HOST}/{name}"


@pytest.fixture(scope="module")
def demo_engine() -> Engine:
    return Engine(load_reference(), load_policies())


def _seed(url: str, engine: Engine) -> Iterator[tuple[Database, DemoCredentials]]:
    db = Database(url)
    creds = seed_demo(db, engine, today=TODAY, seed=7)
    try:
        yield db, creds
    finally:
        db.engine.dispose()


@pytest.fixture(scope="module")
def sqlite_seeded(
    tmp_path_factory: pytest.TempPathFactory, demo_engine: Engine
) -> Iterator[tuple[Database, DemoCredentials]]:
    yield from _seed(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'seeded.db'}", demo_engine)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, demo_engine: Engine) -> Iterator[tuple[Database, DemoCredentials]]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_seeded")
        return
    yield from _seed(_pg_url(request), demo_engine)


def _uses(s: Any, auth: m.Authorization) -> int:
    """Dates of service that used the authorization (claims carrying its number)."""
    days = set()
    for enc in s.scalars(select(m.Encounter).where(m.Encounter.practice_id == auth.practice_id)):
        doc = enc.document
        numbers = {doc.get("authorization_number")} | {
            ln.get("authorization_number") for ln in doc.get("lines") or []
        }
        if auth.auth_number in numbers and doc["patient"].get("member_id") == auth.member_id:
            days.add(enc.date_of_service)
    return len(days)


def test_three_practices_and_a_user_of_each_role(seeded: tuple[Database, DemoCredentials]) -> None:
    db, creds = seeded
    assert creds.created
    assert [u.email for u in creds.users] == [u[0] for u in USERS]
    assert all(u.password and len(u.password) >= 12 for u in creds.users)
    with db.session() as s:
        assert {(p.id, p.kind, p.state) for p in s.scalars(select(m.Practice))} == {
            ("P01", "physician", "CA"),
            ("P02", "physician", "TX"),
            ("ASC1", "asc", "CA"),
        }
        roles = {u.email: u.role for u in s.scalars(select(m.User))}
        assert set(roles.values()) == {"admin", "supervisor", "biller"}
        assigned = {(up.user_id, up.practice_id) for up in s.scalars(select(m.UserPractice))}
        ids = {u.email: u.id for u in s.scalars(select(m.User))}
    assert {p for u, p in assigned if u == ids["biller.p01@demo.test"]} == {"P01"}
    assert {p for u, p in assigned if u == ids["biller.p02@demo.test"]} == {"P02", "ASC1"}
    assert {u for u, _ in assigned} == {ids["biller.p01@demo.test"], ids["biller.p02@demo.test"]}


def test_a_year_of_history_and_current_claims_in_every_status(
    seeded: tuple[Database, DemoCredentials],
) -> None:
    db, _ = seeded
    with db.session() as s:
        encs = s.scalars(select(m.Encounter)).all()
        history = [e for e in encs if e.work_status == "history"]
        current = [
            e for e in encs if e.work_status != "history" and e.date_of_service > TODAY - timedelta(days=31)
        ]
        assert len(history) > 200
        assert min(e.date_of_service for e in history) < TODAY - timedelta(days=300)
        assert max(e.date_of_service for e in encs) < TODAY
        assert 55 <= len(current) <= 70
        assert {e.practice_id for e in current} == {"P01", "P02", "ASC1"}
        assert {e.status for e in current} == {"clean", "warning", "error"}
        assert {e.work_status for e in encs} == {"history", "open", "fixed", "overridden", "submitted"}
        assert all(e.scrub_runs for e in encs if e.work_status != "history")
        clean = sum(e.status == "clean" for e in current) / len(current)
        assert 0.4 < clean < 0.9
        # the bundled demo claims' typical errors are in the queue, moved into the last 30 days
        demo = {e.encounter_id: e for e in current if e.encounter_id.startswith("DEMO-")}
        assert len(demo) == 15
        overridden = next(e for e in encs if e.work_status == "overridden")
        finding = next(f for f in overridden.scrub_runs[-1].findings if f.override_reason)
        assert finding.overridden_by is not None
        actions = {a.action for a in s.scalars(select(m.AuditEntry))}
        assert {"seed", "import", "fix", "override"} <= actions


def test_bundled_claims_keep_their_findings_after_the_date_shift(
    seeded: tuple[Database, DemoCredentials], demo_engine: Engine
) -> None:
    from painrcm.demo import demo_paths
    from painrcm.history.auths import load_auth_log
    from painrcm.history.files import load_history
    from painrcm.inputs import read_encounters
    from painrcm.scrub import scrub_encounter

    paths = demo_paths()
    hist, log = load_history([paths.history]), load_auth_log(paths.auths)
    expected = {}
    for p in paths.claims:
        (enc,), _ = read_encounters(p)
        expected[enc.encounter_id] = sorted(
            f.edit for f in scrub_encounter(enc, demo_engine, history=hist, auths=log).findings
        )
    db, _ = seeded
    with db.session() as s:
        rows = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id.like("DEMO-%"))).all()
        got = {r.encounter_id: sorted(f.edit for f in r.scrub_runs[0].findings) for r in rows}
        fixed = next(r for r in rows if r.work_status == "fixed")
        assert fixed.status == "clean" and len(fixed.scrub_runs) == 2
    assert got == expected


def test_open_denials_with_explanations(seeded: tuple[Database, DemoCredentials]) -> None:
    db, _ = seeded
    with db.session() as s:
        lines = s.scalars(select(m.RemitLine)).all()
        adj = {(a.group_code, a.reason_code, a.line.code) for ln in lines for a in ln.adjustments}
        denied = [ln for ln in lines if ln.denied]
        assert ("CO", "97", "77003") in adj
        assert {("CO", "151"), ("CO", "197"), ("CO", "4"), ("PR", "1"), ("CO", "45"), ("CO", "59")} <= {
            (g, r) for g, r, _ in adj
        }
        assert {ln.practice_id for ln in denied} >= {"P01", "P02"}
        assert any(ln.work_status == "open" for ln in denied)
        for ln in denied:
            assert ln.paid == 0 and ln.explanation and ln.explanation.startswith("Denied")
            assert ln.next_action in ("correct_and_resubmit", "appeal") and ln.preventing_edits
            assert ln.claim_line_id is not None
            claim_line = s.get(m.ClaimLine, ln.claim_line_id)
            assert claim_line is not None and claim_line.code == ln.code
            assert claim_line.encounter.practice_id == ln.practice_id == ln.claim.practice_id
        assert any(
            ln.paid > 0 and not ln.denied and ln.next_action == "write_off" for ln in lines
        )  # paid line
        partial = [
            c
            for c in s.scalars(select(m.RemitClaim))
            if 0 < c.paid < c.billed and any(a.reason_code == "59" for ln in c.lines for a in ln.adjustments)
        ]
        assert partial
        for rem in s.scalars(select(m.Remittance)):
            assert rem.reconciled
            assert round(sum(c.paid for c in rem.claims), 2) == rem.payment_amount
            assert all(c.encounter_pk is not None for c in rem.claims)


def test_authorizations_in_every_state(seeded: tuple[Database, DemoCredentials]) -> None:
    db, _ = seeded
    soon = TODAY + timedelta(days=14)
    with db.session() as s:
        auths = s.scalars(select(m.Authorization)).all()
        approved = [a for a in auths if a.status == "approved"]
        states = {
            "pending": any(a.status == "pending" for a in auths),
            "denied": any(a.status == "denied" for a in auths),
            "expiring": any(TODAY <= a.end_date <= soon for a in approved),
            "active": any(a.start_date <= TODAY and a.end_date > soon for a in approved),
            "expired": any(a.end_date < TODAY for a in approved),
            "used up": any(
                a.sessions is not None and a.end_date >= TODAY and _uses(s, a) >= a.sessions for a in approved
            ),
        }
        assert all(states.values()), states
        assert {a.practice_id for a in auths} == {"P01", "P02", "ASC1"}


def _fingerprint(db: Database) -> dict[str, Any]:
    with db.session() as s:
        return {
            "claims": sorted(
                (
                    e.practice_id,
                    e.encounter_id,
                    e.date_of_service.isoformat(),
                    e.status,
                    e.work_status,
                    tuple(ln.code for ln in e.lines),
                    e.person.member_id,
                )
                for e in s.scalars(select(m.Encounter))
            ),
            "auths": sorted(
                (
                    a.practice_id,
                    a.auth_number,
                    a.status,
                    a.sessions,
                    a.start_date.isoformat(),
                    a.end_date.isoformat(),
                )
                for a in s.scalars(select(m.Authorization))
            ),
            "remits": sorted(
                (ln.practice_id, ln.claim.patient_control_number, ln.code, ln.billed, ln.paid, ln.next_action)
                for ln in s.scalars(select(m.RemitLine))
            ),
        }


def test_seeding_again_changes_nothing(seeded: tuple[Database, DemoCredentials], demo_engine: Engine) -> None:
    db, creds = seeded
    before = _fingerprint(db)
    again = seed_demo(db, demo_engine, today=TODAY + timedelta(days=3), seed=8)
    assert not again.created
    assert (again.seed, again.today, again.counts) == (7, TODAY, creds.counts)
    assert [(u.email, u.role, u.practices) for u in again.users] == [
        (u.email, u.role, tuple(sorted(u.practices))) for u in creds.users
    ]
    assert all(u.password is None for u in again.users)
    assert _fingerprint(db) == before


def test_demo_command_recreates_the_database_and_prints_credentials(
    sqlite_seeded: tuple[Database, DemoCredentials], capsys: pytest.CaptureFixture[str]
) -> None:
    from painrcm.cli_serve import demo_command
    from painrcm.codes.loader import painrcm_home
    from painrcm.web.security import authenticate

    db, creds = sqlite_seeded
    path = painrcm_home() / "demo.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a database: an earlier run's leftovers")
    demo_command(serve=False, today=TODAY)
    out = capsys.readouterr().out
    demo = Database(f"sqlite:///{path}")
    try:
        assert _fingerprint(demo) == _fingerprint(db)  # deterministic for a seed
        with demo.session() as s:
            for email, _, role, _ in USERS:
                line = next(ln for ln in out.splitlines() if email in ln)
                password = line.split()[2]
                assert role in line
                user = authenticate(s, email, password)
                assert user is not None and user.role == role
        mine = {u.email: u.password for u in creds.users}
        assert all(mine[e] not in out for e in mine)  # random per database
    finally:
        demo.engine.dispose()
    assert str(path) in out and "http://127.0.0.1:8000/" in out


def test_demo_report_keeps_the_bundled_scrub_report(capsys: pytest.CaptureFixture[str]) -> None:
    from painrcm.cli_serve import demo_command

    demo_command(report=True, as_json=True)
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["claims"]) == 15


def test_serve_runs_the_app_on_the_given_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from painrcm.cli import app

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    url = f"sqlite:///{tmp_path / 'served.db'}"
    res = CliRunner().invoke(app, ["serve", "--db", url, "--port", "8123"])
    assert res.exit_code == 0, res.output
    ((target, kw),) = calls
    # X-Forwarded-For is believed from no peer unless proxies are configured
    assert kw == {"host": "127.0.0.1", "port": 8123, "proxy_headers": False}
    assert str(target.state.db.engine.url) == url
    assert (tmp_path / "served.db").exists()  # migrated on open


def test_a_database_in_use_is_never_seeded(tmp_path: Path, demo_engine: Engine) -> None:
    db = Database(f"sqlite:///{tmp_path / 'in-use.db'}")
    with db.session() as s:
        s.add(m.Practice(id="P77", name="A real practice", kind="physician"))
    with pytest.raises(ValueError, match="empty database"):
        seed_demo(db, demo_engine, today=TODAY)
    with db.session() as s:
        assert [p.id for p in s.scalars(select(m.Practice))] == ["P77"]
    db.engine.dispose()
