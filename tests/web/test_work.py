"""The work slice (issue 5): authorization tracker, frequency watch, denial queue, uploads: the JSON API
and the pages over the same queries, for each role, practice-scoped (a biller assigned P01 never sees
P02's authorizations, patients, denial lines or import jobs: 404), with audit entries."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from painrcm.dates import first_day_outside
from painrcm.store import models as m
from painrcm.store import queries_work as q
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.web.app import create_app
from tests.web.conftest import BASE_URL, audit_rows, days_ago, seed_encounter

SignedIn = Callable[[str], tuple[TestClient, str]]
TODAY = services.today()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The conftest app, but with PAINRCM_HOME in a temporary folder: the real in-process import runner
    keeps uploaded files there."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PAINRCM_HOME", str(tmp_path_factory.mktemp("home")))
    mp.delenv("PAINRCM_REDIS_URL", raising=False)
    path = tmp_path_factory.mktemp("workdb") / "painrcm.db"
    application = create_app(database_url=f"sqlite:///{path}")
    yield application
    join = getattr(application.state.jobs, "join", None)
    if join is not None:
        join()
    application.state.db.engine.dispose()
    mp.undo()


@pytest.fixture
def signed_in(cached_signed_in: SignedIn) -> SignedIn:
    """This module never signs out: every client of a role shares one session (argon2 is slow)."""
    return cached_signed_in


# --- the world: authorizations, patients near limits, remittance lines --------------------------------
def _claim(
    db: Database, key: str, practice: str, days: int, encounter_id: str, auth: str | None = None
) -> int:
    """A clean Medicare lumbar transforaminal epidural (FRQ001: 4 a year per region) of patient `key`."""
    enc = seed_encounter(key, practice, None, [650.0], days, encounter_id)
    if auth is not None:
        enc = enc.model_copy(
            update={"lines": [ln.model_copy(update={"authorization_number": auth}) for ln in enc.lines or []]}
        )
    with db.session() as s:
        row, _ = services.save_encounter(s, enc, source="test", practice_id=practice)
        return row.id


def _member(db: Database, encounter_pk: int) -> tuple[int, str]:
    with db.session() as s:
        row = s.get(m.Encounter, encounter_pk)
        assert row is not None
        person = s.get(m.Person, row.person_id)
        assert person is not None and person.member_id
        return person.id, person.member_id


def _auth(
    s: Any,
    practice: str,
    number: str,
    member: str,
    person_id: int | None,
    *,
    status: str = "approved",
    sessions: int | None = 2,
    start: int = 90,
    end: int = 60,
    payer: str = "MEDICARE",
) -> m.Authorization:
    a = m.Authorization(
        practice_id=practice,
        person_id=person_id,
        auth_number=number,
        payer_id=payer,
        member_id=member,
        codes=["64483"],
        sessions=sessions,
        start_date=TODAY - timedelta(days=start),
        end_date=TODAY + timedelta(days=end),
        status=status,
    )
    s.add(a)
    return a


def seed_auths(db: Database) -> dict[str, int]:
    """One authorization per state at P01, an expiring one at P02; claims that use some of them."""
    c1 = _claim(db, "auth-used", "P01", 40, "AU-1", auth="PA100")
    _claim(db, "auth-used", "P01", 20, "AU-2", auth="pa 100")  # the same number, spelt differently
    c3 = _claim(db, "auth-active", "P01", 30, "AA-1", auth="PA600")
    _claim(db, "auth-active", "P01", -10, "AA-2", auth="PA600")  # booked after today: not used yet
    _claim(db, "auth-other", "P01", 15, "AO-1", auth="PA600")  # another member: does not count
    c5 = _claim(db, "auth-p02", "P02", 25, "AP-1")
    (p1, m1), (p3, m3), (p5, m5) = _member(db, c1), _member(db, c3), _member(db, c5)
    with db.session() as s:
        rows = {
            "used_up": _auth(s, "P01", "PA100", m1, p1, sessions=2),
            "expiring": _auth(s, "P01", "PA200", m1, p1, end=5),
            "pending": _auth(s, "P01", "PA300", m1, None, status="pending"),
            "denied": _auth(s, "P01", "PA400", m3, p3, status="denied"),
            "expired": _auth(s, "P01", "PA500", m3, p3, end=-3),
            "active": _auth(s, "P01", "PA600", m3, p3, sessions=3, end=90),
            "p02": _auth(s, "P02", "ZZP02-PA700", m5, p5, end=4),
        }
        s.flush()
        out = {k: a.id for k, a in rows.items()}
    out.update(person_used=p1, person_active=p3, person_p02=p5)
    return out


def seed_frequency(db: Database) -> dict[str, int]:
    """FRQ001 (Medicare: 4 lumbar epidurals in 12 months): one P01 patient at the limit (two sessions
    at P01, two at P02: every practice counts), one a session short, one far from it, one at P02 only."""
    at = [_claim(db, "freq-at", "P01", d, f"FA-{d}") for d in (300, 200)]
    at += [_claim(db, "freq-at", "P02", d, f"FA2-{d}") for d in (100, 50)]
    near = [_claim(db, "freq-near", "P01", d, f"FN-{d}") for d in (150, 90, 30)]
    far = [_claim(db, "freq-far", "P01", 60, "FF-60")]
    other = [_claim(db, "freq-p02", "P02", d, f"FP-{d}") for d in (240, 180, 120, 60)]
    return {
        "at": _member(db, at[0])[0],
        "near": _member(db, near[0])[0],
        "far": _member(db, far[0])[0],
        "p02": _member(db, other[0])[0],
    }


def _remit(s: Any, practice: str, lines: list[m.RemitLine], trace: str) -> None:
    rem = m.Remittance(
        practice_id=practice,
        payer_name="Test Payer",
        trace_number=trace,
        payment_amount=0,
        payment_date=TODAY,
    )
    claim = m.RemitClaim(
        practice_id=practice, patient_control_number=f"{trace}-PCN", status_code="1", billed=0, paid=0
    )
    claim.lines = lines
    rem.claims = [claim]
    s.add(rem)


def seed_remits(db: Database) -> dict[str, int]:
    """P01: a denial (appeal), a reduction to correct, a contractual reduction (not in the queue);
    P02: a denial."""
    with db.session() as s:
        appeal = m.RemitLine(
            practice_id="P01",
            code="64483",
            modifiers=["RT"],
            billed=650,
            paid=0,
            allowed=0,
            denied=True,
            remarks=["N115"],
            explanation="Denied: not medically necessary.",
            next_action="appeal",
            preventing_edits=["DX001"],
            adjustments=[m.RemitAdjustment(group_code="CO", reason_code="50", amount=650)],
        )
        reduced = m.RemitLine(
            practice_id="P01",
            code="77003",
            billed=120,
            paid=60,
            allowed=60,
            denied=False,
            explanation="Paid 60.00 of 120.00 billed.",
            next_action="correct_and_resubmit",
            adjustments=[m.RemitAdjustment(group_code="CO", reason_code="59", amount=60)],
        )
        contractual = m.RemitLine(
            practice_id="P01",
            code="99213",
            billed=150,
            paid=110,
            allowed=110,
            denied=False,
            next_action="write_off",
            adjustments=[m.RemitAdjustment(group_code="CO", reason_code="45", amount=40)],
        )
        p02 = m.RemitLine(
            practice_id="P02",
            code="64493",
            billed=400,
            paid=0,
            denied=True,
            next_action="appeal",
            explanation="ZZP02 denial",
            adjustments=[m.RemitAdjustment(group_code="CO", reason_code="50", amount=400)],
        )
        _remit(s, "P01", [appeal, reduced, contractual], "TRN-W1")
        _remit(s, "P02", [p02], "ZZP02-TRN")
        s.flush()
        return {"appeal": appeal.id, "reduced": reduced.id, "contractual": contractual.id, "p02": p02.id}


@pytest.fixture(scope="module")
def world(app: FastAPI, users: dict[str, int], seeded: dict[str, int]) -> dict[str, Any]:
    db = app.state.db
    return {"auths": seed_auths(db), "freq": seed_frequency(db), "remits": seed_remits(db), "claims": seeded}


def _get(c: TestClient, path: str, **params: Any) -> Any:
    r = c.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


# --- authorization tracker ----------------------------------------------------------------------
def test_auth_state_rules(app: FastAPI) -> None:
    """The state rule (SQL, `auth_state_sql`) on single values."""
    on = date(2026, 5, 1)
    with app.state.db.session() as s:

        def st(*args: Any) -> str:
            return q.auth_state(s, *args)

        assert st("denied", on + timedelta(days=99), 2, 0, on, 14) == "denied"
        assert st("Pending", on + timedelta(days=99), 2, 0, on, 14) == "pending"
        assert st("approved", on - timedelta(days=1), 2, 0, on, 14) == "expired"
        assert st("approved", on + timedelta(days=99), 2, 2, on, 14) == "used_up"
        assert st("approved", on + timedelta(days=14), 2, 1, on, 14) == "expiring"
        assert st("approved", on + timedelta(days=15), 2, 1, on, 14) == "active"
        assert st("approved", on + timedelta(days=15), None, 9, on, 30) == "expiring"  # payer's own warning
        assert st("approved", on, None, 9, on, 0) == "expiring"  # last day


def test_authorizations_states_and_sessions_used(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("biller")
    doc = _get(c, "/api/authorizations")
    by_id = {a["id"]: a for a in doc["authorizations"]}
    ids = world["auths"]
    for state in ("used_up", "expiring", "pending", "denied", "expired", "active"):
        assert by_id[ids[state]]["state"] == state, (state, by_id[ids[state]])
    assert by_id[ids["used_up"]]["used"] == 2 and by_id[ids["used_up"]]["left"] == 0
    assert (
        by_id[ids["active"]]["used"] == 1 and by_id[ids["active"]]["left"] == 2
    )  # not the future one or the other member's
    assert by_id[ids["expiring"]]["warning_days"] == 14 and by_id[ids["expiring"]]["days_left"] == 5
    assert by_id[ids["used_up"]]["patient"] == "Testauth-used, Pat"
    assert ids["p02"] not in by_id
    assert doc["counts"]["denied"] == 1 and doc["counts"]["expiring"] == 1


def test_authorizations_filters(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("supervisor")
    ids = world["auths"]
    expiring = {a["id"] for a in _get(c, "/api/authorizations", state="expiring")["authorizations"]}
    assert {ids["expiring"], ids["p02"]} <= expiring and not {ids["active"], ids["used_up"]} & expiring
    assert {a["practice_id"] for a in _get(c, "/api/authorizations", practice="P02")["authorizations"]} == {
        "P02"
    }
    # a month ago the soon-expiring one was active, and one of PA100's two sessions lay ahead
    earlier = {
        a["id"]: a for a in _get(c, "/api/authorizations", on=days_ago(30).isoformat())["authorizations"]
    }
    assert earlier[ids["expiring"]]["state"] == "active"
    assert earlier[ids["used_up"]]["used"] == 1 and earlier[ids["used_up"]]["state"] == "active"
    assert c.get("/api/authorizations", params={"state": "lost"}).status_code == 400


def test_authorizations_scoped_for_biller(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("biller")
    assert c.get("/api/authorizations", params={"practice": "P02"}).status_code == 404
    assert c.get("/api/authorizations", params={"practice": "NOPE"}).status_code == 404
    page = c.get("/authorizations", params={"practice": "P02"})
    assert page.status_code == 404 and "ZZP02" not in page.text
    assert "ZZP02" not in c.get("/authorizations").text


def test_authorizations_read_is_audited_with_person_ids_only(
    world: dict[str, Any], signed_in: SignedIn, web_db: Database
) -> None:
    c, _ = signed_in("biller")
    before = len(audit_rows(web_db, object_type="authorization_list"))
    _get(c, "/api/authorizations", practice="P01")
    rows = audit_rows(web_db, object_type="authorization_list")
    assert len(rows) == before + 1
    entry = rows[-1]
    assert entry.action == "read" and entry.practice_id == "P01"
    assert world["auths"]["person_used"] in entry.detail["person_ids"]
    text = json.dumps(entry.detail)
    assert "Testauth" not in text and "ZZ" not in text  # no names, no member IDs


def test_authorizations_page(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("supervisor")
    r = c.get("/authorizations", params={"state": "expiring"})
    assert r.status_code == 200
    assert "PA200" in r.text and "ZZP02-PA700" in r.text and "PA600" not in r.text
    assert "expiring soon" in r.text
    assert " style=" not in r.text and "<script>" not in r.text
    bad = c.get("/authorizations", params={"on": "yesterday"})
    assert bad.status_code == 400 and "Not a date" in bad.text


# --- frequency watch ----------------------------------------------------------------------
def test_frequency_watch_at_and_near(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("biller")
    doc = _get(c, "/api/frequency")
    rows = [r for r in doc["limits"] if r["limit_id"] == "epidural" and r["region"] == "lumbar_sacral"]
    by_person = {r["person_id"]: r for r in rows}
    freq = world["freq"]
    at, near = by_person[freq["at"]], by_person[freq["near"]]
    assert (at["used"], at["left"], at["state"]) == (4, 0, "at_limit")
    assert at["next_payable"] == first_day_outside(days_ago(300), 12).isoformat()
    assert at["practice_id"] == "P01" and at["edit"] == "FRQ001"
    assert (near["used"], near["left"], near["state"]) == (3, 1, "near_limit")
    assert near["next_payable"] == TODAY.isoformat()
    assert freq["far"] not in by_person and freq["p02"] not in by_person


def test_frequency_watch_on_date_and_practice(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("supervisor")
    freq = world["freq"]
    p02 = {r["person_id"] for r in _get(c, "/api/frequency", practice="P02")["limits"]}
    assert freq["p02"] in p02 and freq["at"] in p02  # seen at P02 too
    assert freq["near"] not in p02
    # 150 days ago the 'at' patient had had two sessions, the 'near' one one
    earlier = {
        r["person_id"]
        for r in _get(c, "/api/frequency", on=days_ago(150).isoformat())["limits"]
        if r["limit_id"] == "epidural"
    }
    assert freq["at"] not in earlier and freq["near"] not in earlier


def test_frequency_scoped_and_audited(world: dict[str, Any], signed_in: SignedIn, web_db: Database) -> None:
    c, _ = signed_in("biller")
    assert c.get("/api/frequency", params={"practice": "P02"}).status_code == 404
    assert c.get("/frequency", params={"practice": "P02"}).status_code == 404
    db = web_db
    before = len(audit_rows(db, object_type="frequency_watch"))
    page = c.get("/frequency")
    assert page.status_code == 200 and "Testfreq-at" in page.text and "Testfreq-p02" not in page.text
    assert "one left" in page.text and "at limit" in page.text
    rows = audit_rows(db, object_type="frequency_watch")
    assert len(rows) == before + 1
    assert {world["freq"]["at"], world["freq"]["near"]} <= set(rows[-1].detail["person_ids"])
    assert world["freq"]["p02"] not in rows[-1].detail["person_ids"]


# --- denial queue ----------------------------------------------------------------------
def test_denial_queue_lines(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("biller")
    rows = {d["id"]: d for d in _get(c, "/api/denials")["denials"]}
    r = world["remits"]
    assert r["appeal"] in rows and r["reduced"] in rows
    assert r["contractual"] not in rows and r["p02"] not in rows
    line = rows[r["appeal"]]
    assert line["patient_control_number"] == "TRN-W1-PCN" and line["modifiers"] == ["RT"]
    assert line["adjustments"] == [
        {"group": "CO", "reason": "50", "code": "CO-50", "amount": 650.0, "quantity": None}
    ]
    assert line["next_action"] == "appeal" and line["next_action_text"] == "appeal"
    assert line["preventing_edits"] == ["DX001"] and line["remarks"] == ["N115"]
    assert line["explanation"].startswith("Denied") and line["work_status"] == "open"
    assert all(d["practice_id"] == "P01" for d in rows.values())


def test_denial_filters(world: dict[str, Any], signed_in: SignedIn) -> None:
    c, _ = signed_in("supervisor")
    r = world["remits"]

    def ids(**params: Any) -> set[int]:
        return {d["id"] for d in _get(c, "/api/denials", **params)["denials"]}

    assert ids(reason="50") >= {r["appeal"], r["p02"]} and r["reduced"] not in ids(reason="50")
    assert r["appeal"] in ids(reason="CO-50") and r["appeal"] not in ids(reason="PR-50")
    assert ids(next_action="correct_and_resubmit") & set(r.values()) == {r["reduced"]}
    assert ids(practice="P02") & set(r.values()) == {r["p02"]}
    assert all(d["work_status"] == "working" for d in _get(c, "/api/denials", status="working")["denials"])
    assert c.get("/api/denials", params={"status": "lost"}).status_code == 400
    assert c.get("/api/denials", params={"next_action": "pray"}).status_code == 400


def test_denial_scoping(world: dict[str, Any], signed_in: SignedIn, web_db: Database) -> None:
    c, csrf = signed_in("biller")
    c.headers["X-CSRF-Token"] = csrf
    p02 = world["remits"]["p02"]
    assert c.get(f"/api/denials/{p02}").status_code == 404
    assert c.patch(f"/api/denials/{p02}", json={"work_status": "working"}).status_code == 404
    assert c.get("/api/denials", params={"practice": "P02"}).status_code == 404
    assert c.post(f"/denials/{p02}", data={"work_status": "working"}).status_code == 404
    assert c.get("/api/denials/999999").status_code == 404
    with web_db.session() as s:
        assert s.get(m.RemitLine, p02).work_status == "open"


def test_denial_status_update_is_audited(
    world: dict[str, Any], signed_in: SignedIn, web_db: Database
) -> None:
    c, csrf = signed_in("biller")
    line = world["remits"]["appeal"]
    assert (
        c.patch(f"/api/denials/{line}", json={"work_status": "working"}).status_code == 403
    )  # no CSRF token
    c.headers["X-CSRF-Token"] = csrf
    line = world["remits"]["appeal"]
    r = c.patch(
        f"/api/denials/{line}", json={"work_status": "appealed", "work_note": "Sent the op note to Ms X"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["work_status"] == "appealed" and r.json()["work_note"] == "Sent the op note to Ms X"
    entry = audit_rows(web_db, object_type="remit_line", object_id=str(line))[-1]
    assert entry.action == "update" and entry.practice_id == "P01"
    assert entry.detail == {"work_status_from": "open", "work_status_to": "appealed", "note_changed": True}
    assert c.patch(f"/api/denials/{line}", json={"work_status": "lost"}).status_code == 422
    # the note alone
    r = c.patch(f"/api/denials/{line}", json={"work_note": ""})
    assert r.json()["work_status"] == "appealed" and r.json()["work_note"] is None
    assert _get(c, f"/api/denials/{line}")["work_note"] is None


def test_denials_page_and_htmx_update(world: dict[str, Any], signed_in: SignedIn, web_db: Database) -> None:
    c, csrf = signed_in("biller")
    line = world["remits"]["reduced"]
    page = c.get("/denials", params={"next_action": "correct_and_resubmit"})
    assert page.status_code == 200
    assert f'hx-post="/denials/{line}"' in page.text and "correct and resubmit" in page.text
    assert "ZZP02" not in c.get("/denials").text
    # without the CSRF token: refused, nothing changes
    assert c.post(f"/denials/{line}", data={"work_status": "working"}).status_code == 403
    r = c.post(
        f"/denials/{line}",
        data={"work_status": "resubmitted", "work_note": "fixed the modifier", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith(f'<tr id="denial-{line}"') and "saved" in r.text
    assert 'value="resubmitted" selected' in r.text
    plain = c.post(
        f"/denials/{line}", data={"work_status": "working", "csrf_token": csrf}, follow_redirects=False
    )
    assert plain.status_code == 303 and plain.headers["location"] == "/denials"
    bad = c.post(
        f"/denials/{line}", data={"work_status": "lost", "csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 200 and "work_status must be one of" in bad.text
    entries = audit_rows(web_db, object_type="remit_line", object_id=str(line))
    assert [e.detail["work_status_to"] for e in entries][-2:] == ["resubmitted", "working"]


# --- uploads ----------------------------------------------------------------------
_jobs = itertools.count(1)


class FakeRunner:
    """Records submissions and makes the ImportJob row the real runner would, in a chosen state."""

    def __init__(
        self,
        db: Database,
        status: str = "running",
        done: int = 4,
        total: int = 10,
        message: str | None = None,
    ) -> None:
        self.db, self.state = db, (status, done, total, message)
        self.calls: list[tuple[str, bytes, str, str | None, int | None]] = []

    def submit(
        self, kind: str, data: bytes, file_name: str, practice_id: str | None, user_id: int | None
    ) -> int:
        self.calls.append((kind, data, file_name, practice_id, user_id))
        status, done, total, message = self.state
        with self.db.session() as s:
            job = m.ImportJob(
                kind=kind,
                file_name=file_name,
                file_hash=f"fake{next(_jobs):060d}",
                practice_id=practice_id,
                status=status,
                done=done,
                total=total,
                message=message,
                created_by=user_id,
            )
            s.add(job)
            s.flush()
            return job.id

    def status(self, job_id: int) -> None:
        return None


@pytest.fixture
def use_runner(app: FastAPI) -> Iterator[Callable[[Any], None]]:
    """use_runner(fake): the app submits to `fake` for this test (pytest's monkeypatch cannot restore an
    attribute of Starlette's State, which keeps them in a dict)."""
    real = app.state.jobs

    def use(runner: Any) -> None:
        app.state.jobs = runner

    yield use
    app.state.jobs = real


def _set_job(db: Database, job_id: int, **values: Any) -> None:
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        assert job is not None
        for k, v in values.items():
            setattr(job, k, v)


def test_upload_with_fake_runner_and_progress(
    world: dict[str, Any], signed_in: SignedIn, app: FastAPI, use_runner: Callable[[Any], None]
) -> None:
    fake = FakeRunner(app.state.db)
    use_runner(fake)
    c, csrf = signed_in("biller")
    c.headers["X-CSRF-Token"] = csrf
    r = c.post(
        "/api/imports",
        files={"file": ("remit.835", b"ISA*00~", "text/plain")},
        data={"kind": "x12_835", "practice_id": "P01"},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "running" and job["percent"] == 40 and job["practice_id"] == "P01"
    assert fake.calls[-1][0] == "x12_835" and fake.calls[-1][2:4] == ("remit.835", "P01")
    panel = c.get(f"/uploads/jobs/{job['id']}")
    assert panel.status_code == 200
    assert 'hx-trigger="every 1s"' in panel.text and 'class="progress"' in panel.text
    assert 'aria-valuenow="40"' in panel.text and 'width="40"' in panel.text
    _set_job(
        app.state.db, job["id"], status="failed", message="remit.835: segment 3 (CLP): expected 7 elements"
    )
    panel = c.get(f"/uploads/jobs/{job['id']}")
    assert "hx-trigger" not in panel.text and "segment 3 (CLP)" in panel.text and 'role="alert"' in panel.text
    status = _get(c, f"/api/imports/{job['id']}")
    assert status["status"] == "failed" and "segment 3" in status["message"]
    assert job["id"] in {j["id"] for j in _get(c, "/api/imports")["imports"]}


def test_upload_scoping(
    world: dict[str, Any], signed_in: SignedIn, app: FastAPI, use_runner: Callable[[Any], None]
) -> None:
    fake = FakeRunner(app.state.db, status="done", done=1, total=1)
    use_runner(fake)
    c, csrf = signed_in("biller")
    c.headers["X-CSRF-Token"] = csrf
    files = {"file": ("a.json", b"[]", "application/json")}
    assert (
        c.post("/api/imports", files=files, data={"kind": "encounters", "practice_id": "P02"}).status_code
        == 404
    )
    assert (
        c.post(
            "/uploads",
            files=files,
            data={"kind": "encounters", "practice_id": "P02", "csrf_token": csrf},
            headers={"HX-Request": "true"},
        ).status_code
        == 404
    )
    assert fake.calls == []
    sup, sup_csrf = signed_in("supervisor")
    sup.headers["X-CSRF-Token"] = sup_csrf
    job_id = sup.post("/api/imports", files=files, data={"kind": "encounters", "practice_id": "P02"}).json()[
        "id"
    ]
    assert c.get(f"/api/imports/{job_id}").status_code == 404
    assert c.get(f"/uploads/jobs/{job_id}").status_code == 404
    assert job_id not in {j["id"] for j in _get(c, "/api/imports")["imports"]}
    assert c.get("/api/imports", params={"practice": "P02"}).status_code == 404
    assert _get(sup, f"/api/imports/{job_id}")["status"] == "done"
    # the page offers only the biller's practices
    page = c.get("/uploads")
    assert 'value="P01"' in page.text and 'value="P02"' not in page.text
    assert c.post("/api/imports", files=files, data={"kind": "gif", "practice_id": "P01"}).status_code == 422
    empty = {"file": ("a.json", b"", "application/json")}
    assert (
        c.post("/api/imports", files=empty, data={"kind": "encounters", "practice_id": "P01"}).status_code
        == 400
    )


def test_upload_form_needs_csrf(
    world: dict[str, Any], signed_in: SignedIn, app: FastAPI, use_runner: Callable[[Any], None]
) -> None:
    fake = FakeRunner(app.state.db)
    use_runner(fake)
    c, csrf = signed_in("biller")
    files = {"file": ("a.csv", b"x", "text/csv")}
    r = c.post("/uploads", files=files, data={"kind": "auths", "practice_id": "P01"})
    assert r.status_code == 403 and fake.calls == []
    r = c.post("/uploads", files=files, data={"kind": "auths", "practice_id": "P01", "csrf_token": "wrong"})
    assert r.status_code == 403 and fake.calls == []
    ok = c.post(
        "/uploads",
        files=files,
        data={"kind": "auths", "practice_id": "P01", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and len(fake.calls) == 1
    page = c.get("/uploads")
    assert 'name="csrf_token"' in page.text and 'hx-encoding="multipart/form-data"' in page.text


AUTH_CSV = (
    "auth_number,payer_id,member_id,codes,sessions,start_date,end_date,rendering_npi,status\n"
    "UPL-900,ACME-HEALTH,UPLMEMBER9,64483,2,{start},{end},,approved\n"
)


def test_upload_flow_with_the_real_runner(world: dict[str, Any], signed_in: SignedIn, app: FastAPI) -> None:
    assert hasattr(app.state.jobs, "wait"), "the app runs the real in-process runner"
    c, csrf = signed_in("biller")
    csv = AUTH_CSV.format(
        start=days_ago(10).isoformat(), end=(TODAY + timedelta(days=7)).isoformat()
    ).encode()
    r = c.post(
        "/uploads",
        files={"file": ("auths.csv", csv, "text/csv")},
        data={"kind": "auths", "practice_id": "P01", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and 'class="progress"' in r.text
    job_id = int(r.text.split('id="job-', 1)[1].split('"', 1)[0])
    app.state.jobs.wait(job_id, timeout=30)
    done = _get(c, f"/api/imports/{job_id}")
    assert done["status"] == "done" and done["percent"] == 100, done
    auths = _get(c, "/api/authorizations", state="expiring")["authorizations"]
    assert "UPL-900" in {a["auth_number"] for a in auths}
    assert "hx-trigger" not in c.get(f"/uploads/jobs/{job_id}").text
    # a bad file imports nothing and says where it went wrong
    bad = b'[{"encounter_id": "BAD-1"}]'
    r = c.post(
        "/api/imports",
        files={"file": ("bad.json", bad, "application/json")},
        data={"kind": "encounters", "practice_id": "P01"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 202, r.text
    app.state.jobs.wait(r.json()["id"], timeout=30)
    failed = _get(c, f"/api/imports/{r.json()['id']}")
    assert failed["status"] == "failed" and "bad.json" in failed["message"]
    panel = c.get(f"/uploads/jobs/{r.json()['id']}")
    assert "bad.json" in panel.text and "hx-trigger" not in panel.text
    with app.state.db.session() as s:
        assert s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "BAD-1")).first() is None


def test_roles_reach_the_pages(world: dict[str, Any], signed_in: SignedIn, client: TestClient) -> None:
    for path in ("/authorizations", "/frequency", "/denials", "/uploads"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    for path in ("/api/authorizations", "/api/frequency", "/api/denials", "/api/imports", "/api/imports/1"):
        assert client.get(path).status_code == 401
    for role in ("admin", "supervisor", "biller"):
        c, _ = signed_in(role)
        for path in ("/authorizations", "/frequency", "/denials", "/uploads"):
            r = c.get(path)
            assert r.status_code == 200, (role, path)
            assert "Content-Security-Policy" in r.headers
            assert " style=" not in r.text
        seen_p02 = "ZZP02" in c.get("/denials").text
        assert seen_p02 is (role != "biller")


def test_api_token_reads_work_lists(world: dict[str, Any], app: FastAPI, users: dict[str, int]) -> None:
    from tests.web.conftest import api_token

    token = api_token(app.state.db, users["biller"])
    with TestClient(app, base_url=BASE_URL) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        assert c.get("/api/denials").status_code == 200
        # a script needs no CSRF token
        line = world["remits"]["reduced"]
        assert c.patch(f"/api/denials/{line}", json={"work_status": "working"}).status_code == 200
        assert c.get("/api/denials", params={"practice": "P02"}).status_code == 404


def test_job_view_percent() -> None:
    now = datetime.now(UTC)
    job = m.ImportJob(
        id=1,
        kind="auths",
        file_name="a.csv",
        file_hash="x",
        practice_id="P01",
        status="running",
        total=8,
        done=2,
        message=None,
        created_at=now,
        finished_at=None,
    )
    view = q._job_view(job)
    assert view.percent == 25 and view.running and view.kind_label.startswith("Authorization")
    job.status = "done"
    assert q._job_view(job).percent == 100 and not q._job_view(job).running


# --- PostgreSQL ----------------------------------------------------------------------
def test_work_queries_on_postgresql(pg_database_url: Callable[[], str], app: FastAPI) -> None:
    """The same queries (normalized authorization numbers, JSON columns, reason filters, distinct
    reasons, user assignment) on PostgreSQL."""
    from tests.web.conftest import make_practices, make_user

    db = Database(pg_database_url())
    try:
        make_practices(db)
        engine = app.state.engine
        ids = {"auths": seed_auths(db), "freq": seed_frequency(db), "remits": seed_remits(db)}
        biller_id = make_user(db, "pg.biller@example.test", "biller", ["P01"])
        admin_id = make_user(db, "pg.admin@example.test", "admin")
        with db.session() as s:
            biller = s.get(m.User, biller_id)
            assert biller is not None
            rows, counts = q.authorization_tracker(s, biller, engine.policies)
            by_id = {r.id: r for r in rows}
            assert by_id[ids["auths"]["used_up"]].used == 2 and by_id[ids["auths"]["active"]].used == 1
            assert ids["auths"]["p02"] not in by_id and counts["expiring"] == 1
            freq = {(r.person_id, r.state) for r in q.frequency_watch(s, biller, engine)}
            assert (ids["freq"]["at"], "at_limit") in freq and (ids["freq"]["near"], "near_limit") in freq
            denials = {r.id for r in q.list_denials(s, biller, reason="CO-50")}
            assert denials == {ids["remits"]["appeal"]}
            assert q.denial_reasons(s, biller) == ["CO-50", "CO-59"]
            q.update_denial(s, biller, ids["remits"]["appeal"], "appealed", "sent")
            with pytest.raises(q.NotFound):
                q.update_denial(s, biller, ids["remits"]["p02"], "appealed")
        with db.session() as s:
            admin = s.get(m.User, admin_id)
            assert admin is not None
            made = q.create_user(
                s,
                admin,
                email="pg.new@example.test",
                name="PG New",
                password="long-enough-1",
                role="biller",
                practices=["P02"],
            )
            assert q.update_user(s, admin, made.id, practices=["P01", "P02"]).practices == ["P01", "P02"]
            assert s.get(m.RemitLine, ids["remits"]["appeal"]).work_status == "appealed"
            assert len(audit_rows(db, object_type="remit_line")) == 1
    finally:
        db.engine.dispose()
