"""`painrcm rescrub`: the open book re-scrubbed after a payer file changes, per claim what changed,
on a local process pool and on two real RQ worker processes over Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from painrcm import synth
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.histories import Book
from painrcm.store.imports import import_bytes
from painrcm.store.rescrub import Selection, partition, rescrub, select_claims
from painrcm.store.services import person_history

REDIS_URL = os.environ.get("PAINRCM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def database_url_of(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _book(db: Database, engine: Engine) -> dict[str, set[str]]:
    """Store a small book: practices, two years of history, 90 open claims (some with errors);
    return each open claim's error edits by encounter ID."""
    patients = synth.make_patients(30, 11)
    start = synth.DEFAULT_START + timedelta(days=1)
    past = synth.generate_history_dicts(150, 12, patients=patients, end=start, policies=engine.policies)
    claims = synth.generate_encounters(90, 13, patients=patients, start=start, days=120, engine=engine)
    for i, enc in enumerate(claims):
        if i % 3 == 0 and enc.lines:
            enc.lines.append(enc.lines[0].model_copy(deep=True))  # a repeated line: errors
    docs = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in claims]
    with db.session() as s:
        for p in synth.PRACTICES:
            s.add(m.Practice(id=p["id"], name=p["name"], npi=p["npi"], kind=p["kind"], state=p["state"]))
    for name, data, status in (("past.json", past, "history"), ("claims.json", docs, "open")):
        with db.session() as s:
            import_bytes(
                s, engine, kind="encounters", data=json.dumps(data).encode(), file_name=name,
                practice_id=None, user_id=None, work_status=status,
            )  # fmt: skip
    return _errors(db)


def _errors(db: Database) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    with db.session() as s:
        latest = (
            select(m.ScrubRun.encounter_pk, func.max(m.ScrubRun.id).label("run"))
            .group_by(m.ScrubRun.encounter_pk)
            .subquery()
        )
        q = (
            select(m.Encounter.encounter_id, m.Encounter.payer_id, m.Finding.edit, m.Finding.severity)
            .join(latest, latest.c.encounter_pk == m.Encounter.id)
            .outerjoin(m.Finding, m.Finding.run_id == latest.c.run)
            .where(m.Encounter.work_status == "open")
        )
        for eid, payer, edit, severity in s.execute(q):
            out[f"{payer}/{eid}"]
            if severity == "error":
                out[f"{payer}/{eid}"].add(edit)
    return dict(out)


def _relax_medicare(home: Path, edits: set[str]) -> None:
    """A payer file: MEDICARE claims no longer get these edits (as when a payer's rules change)."""
    (home / "payers").mkdir(parents=True, exist_ok=True)
    (home / "payers" / "medicare-relaxed.yaml").write_text(
        "payer_ids: [MEDICARE]\nbase: medicare\nid: medicare_relaxed\n"
        f"disabled_edits: [{', '.join(sorted(edits))}]\n"
    )


def _check(report, before: dict[str, set[str]], after: dict[str, set[str]], relaxed: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Medicare claims that had a relaxed edit's error report it resolved (and any error that now
    shows instead: one problem, one finding); every other claim is unchanged and unreported."""
    assert report.claims == len(before) == 90
    changed = {f"MEDICARE/{c.claim_id}": c for c in report.changes}
    assert any(k in changed for k in before)
    for key, errs in before.items():
        if key.startswith("MEDICARE/") and errs & relaxed:
            c = changed[key]
            assert {e.split()[0] for e in c.resolved_errors} >= errs & relaxed
            assert {e.split()[0] for e in c.new_errors} <= after[key]
            assert not after[key] & relaxed
        else:
            assert key not in changed and after[key] == errs


def test_book_histories_match_one_query_per_person(db: Database, engine: Engine) -> None:
    _book(db, engine)
    with db.session() as s:
        persons = list(s.scalars(select(m.Person)))
        book = Book(s, engine, persons)
        for p in persons:
            patient = synth_patient(p)
            want = list(person_history(s, p, engine).services(patient))
            got = list(book.history(p).services(patient))
            assert sorted(got, key=repr) == sorted(want, key=repr)


def synth_patient(p: m.Person):  # type: ignore[no-untyped-def]
    from painrcm.model import Patient

    return Patient(member_id=p.member_id, last_name=p.last_name, first_name=p.first_name, dob=p.dob)


def test_rescrub_on_a_local_pool_reports_resolved_errors(
    db: Database, engine: Engine, database_url_of: str, _home: Path
) -> None:
    before = _book(db, engine)
    medicare = {e for k, v in before.items() if k.startswith("MEDICARE/") for e in v}
    assert medicare, "the book has Medicare claims with errors"
    relaxed = set(sorted(medicare)[:2])
    _relax_medicare(_home, relaxed)
    report = rescrub(database_url_of, workers=2)
    assert report.runner == "local" and len(report.worker_processes) == 2
    _check(report, before, _errors(db), relaxed)
    # nothing changed since: a second re-scrub reports no change
    assert rescrub(database_url_of, workers=1).changes == []
    # a selection: only the open claims with a line of one code
    code = "64483"
    with db.session() as s:
        with_code = s.scalar(
            select(func.count(func.distinct(m.ClaimLine.encounter_pk)))
            .join(m.Encounter, m.Encounter.id == m.ClaimLine.encounter_pk)
            .where(m.ClaimLine.code == code, m.Encounter.work_status == "open")
        )
    assert rescrub(database_url_of, Selection(codes=(code,)), workers=1).claims == with_code


def test_partitions_keep_a_patients_claims_together() -> None:
    claims = [(pk, pk % 7) for pk in range(100)]
    parts = partition(claims, 4)
    assert sorted(pk for p in parts for pk in p) == list(range(100))
    owner = {pk: i for i, p in enumerate(parts) for pk in p}
    for person in range(7):
        assert len({owner[pk] for pk, who in claims if who == person}) == 1


@pytest.fixture
def redis_url() -> str:
    from redis import Redis

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable ({e}); CI is set, so this is a failure")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({e})")
    return REDIS_URL


def test_rescrub_over_two_rq_workers(
    db: Database,
    engine: Engine,
    database_url_of: str,
    _home: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from redis import Redis
    from rq import Queue, Worker

    before = _book(db, engine)
    medicare = {e for k, v in before.items() if k.startswith("MEDICARE/") for e in v}
    relaxed = set(sorted(medicare)[:2])
    _relax_medicare(_home, relaxed)
    queue = f"painrcm-rescrub-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PAINRCM_RQ_QUEUE", queue)
    rq_cli = Path(sys.executable).with_name("rq")
    workers = [
        subprocess.Popen(
            [str(rq_cli), "worker", "--url", redis_url, "--name", f"{queue}-{i}", queue],
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    try:
        conn = Redis.from_url(redis_url)
        deadline = time.monotonic() + 60
        while len(Worker.all(queue=Queue(queue, connection=conn))) < 2:
            assert time.monotonic() < deadline, "the two rq workers did not start"
            time.sleep(0.2)
        report = rescrub(database_url_of, workers=2, redis_url=redis_url, timeout=300)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
    assert report.runner == "rq"
    # the partitions ran on the two workers (on a loaded machine one may take them all)
    assert report.worker_processes and set(report.worker_processes) <= {f"{queue}-{i}" for i in range(2)}
    _check(report, before, _errors(db), relaxed)


def test_rescrub_command(db: Database, engine: Engine, database_url_of: str) -> None:
    from typer.testing import CliRunner

    from painrcm.cli import app

    _book(db, engine)
    r = CliRunner().invoke(app, ["rescrub", "--db", database_url_of, "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "re-scrubbed 90 open claims" in r.output and "0 changed" in r.output
    r = CliRunner().invoke(app, ["rescrub", "--db", database_url_of, "--payer", "medicare", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["claims"] == sum(
        1 for k in _errors(db) if k.startswith("MEDICARE/")
    )
    r = CliRunner().invoke(app, ["rescrub", "--db", database_url_of, "--pair", "64483"])
    assert r.exit_code == 2 and "COLUMN1,COLUMN2" in r.output


def _runs_per_claim(s: object) -> dict[int, int]:
    q = select(m.ScrubRun.encounter_pk, func.count()).group_by(m.ScrubRun.encounter_pk)
    return {pk: n for pk, n in s.execute(q)}  # type: ignore[attr-defined]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _blocked_on_audit(url: str) -> bool:
    """A session of this database waits for a lock in its INSERT into the audit log (a partition's
    write, after its runs and findings: the marker and audit entries come last)."""
    from sqlalchemy import create_engine, text

    e = create_engine(url)
    try:
        with e.connect() as c:
            return bool(
                c.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO audit_log%'"
                    )
                ).scalar()
            )
    finally:
        e.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_worker_killed_mid_partition_leaves_nothing_and_its_partition_runs_again(
    db: Database,
    engine: Engine,
    database_url_of: str,
    _home: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real `rq worker` is killed (SIGKILL, the worker and its work horse) while its partition's write
    transaction is open, runs and findings inserted: nothing of it is kept, the re-scrub notices the
    dead worker, queues the partition again, another worker runs it, and every claim ends with exactly
    one new scrub run and the same report as without the crash."""
    import signal
    import threading

    import psycopg
    from redis import Redis
    from rq import Queue, Worker

    before = _book(db, engine)
    medicare = {e for k, v in before.items() if k.startswith("MEDICARE/") for e in v}
    relaxed = set(sorted(medicare)[:2])
    _relax_medicare(_home, relaxed)
    with db.session() as s:
        open_pks = set(s.scalars(select(m.Encounter.id).where(m.Encounter.work_status == "open")))
        runs_before = _runs_per_claim(s)
    queue = f"painrcm-rescrub-kill-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PAINRCM_RQ_QUEUE", queue)
    rq_cli = Path(sys.executable).with_name("rq")
    conn = Redis.from_url(redis_url)

    def start(name: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [
                str(rq_cli),
                "worker",
                "-w",
                "painrcm.store.worker.Worker",
                "--url",
                redis_url,
                "--name",
                name,
                queue,
            ],
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while name not in {w.name for w in Worker.all(queue=Queue(queue, connection=conn))}:
            assert time.monotonic() < deadline, "the rq worker did not start"
            time.sleep(0.2)
        return p

    pg = psycopg.connect(database_url_of.replace("postgresql+psycopg://", "postgresql://"))
    pg.execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")  # held until rollback
    first = start(f"{queue}-first")
    second: subprocess.Popen[bytes] | None = None
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["report"] = rescrub(
                database_url_of, workers=1, redis_url=redis_url, partitions=1, timeout=300
            )
        except Exception as e:  # noqa: BLE001 - the test reports it
            out["error"] = e

    coordinator = threading.Thread(target=run)
    coordinator.start()
    try:
        deadline = time.monotonic() + 120
        while not _blocked_on_audit(database_url_of):
            assert time.monotonic() < deadline and coordinator.is_alive(), out
            time.sleep(0.2)
        horses = _children(first.pid)
        assert horses, "the worker runs the partition in a work horse"
        for pid in (first.pid, *horses):
            os.kill(pid, signal.SIGKILL)
        first.wait(timeout=30)
        pg.rollback()  # the dead horse's transaction ends without a commit
        second = start(f"{queue}-second")
        coordinator.join(timeout=300)
        assert not coordinator.is_alive()
    finally:
        pg.close()
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
    assert "error" not in out, out
    report = out["report"]
    assert report.worker_processes == [f"{queue}-second"]  # type: ignore[attr-defined]
    _check(report, before, _errors(db), relaxed)
    with db.session() as s:
        runs_after = _runs_per_claim(s)
        markers = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "rescrub_partition")).all()
    assert len(open_pks) == 90
    assert {pk: runs_after.get(pk, 0) - runs_before.get(pk, 0) for pk in open_pks} == dict.fromkeys(
        open_pks, 1
    )
    assert len(markers) == 1 and markers[0].detail["claims"] == 90


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_pool_process_killed_mid_partition_leaves_nothing_and_its_partition_runs_again(
    db: Database, engine: Engine, database_url_of: str, _home: Path
) -> None:
    """The same on the local pool: one of its processes is killed while the partitions' write
    transactions are open; the pool breaks, the partitions without an answer run again on a new pool
    (one that committed meanwhile is not written twice), and every claim gets exactly one new run."""
    import signal
    import threading

    import psycopg

    before = _book(db, engine)
    medicare = {e for k, v in before.items() if k.startswith("MEDICARE/") for e in v}
    relaxed = set(sorted(medicare)[:2])
    _relax_medicare(_home, relaxed)
    with db.session() as s:
        open_pks = set(s.scalars(select(m.Encounter.id).where(m.Encounter.work_status == "open")))
        runs_before = _runs_per_claim(s)
    pg = psycopg.connect(database_url_of.replace("postgresql+psycopg://", "postgresql://"))
    pg.execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["report"] = rescrub(database_url_of, workers=2, partitions=2, redis_url="")
        except Exception as e:  # noqa: BLE001 - the test reports it
            out["error"] = e

    coordinator = threading.Thread(target=run)
    coordinator.start()
    try:
        deadline = time.monotonic() + 120
        while not _blocked_on_audit(database_url_of):
            assert time.monotonic() < deadline and coordinator.is_alive(), out
            time.sleep(0.2)
        pool = [
            pid
            for pid in _children(os.getpid())
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert pool
        os.kill(pool[0], signal.SIGKILL)
    finally:
        pg.rollback()
        pg.close()
        coordinator.join(timeout=300)
    assert "error" not in out, out
    _check(out["report"], before, _errors(db), relaxed)
    with db.session() as s:
        runs_after = _runs_per_claim(s)
    assert {pk: runs_after.get(pk, 0) - runs_before.get(pk, 0) for pk in open_pks} == dict.fromkeys(
        open_pks, 1
    )


def test_person_rows_of_one_patient_share_a_partition(db: Database) -> None:
    """Two person rows the database counts as one patient (one shares the other's member key, a third
    row shares the second's name key) are one patient to the partitioning, so a patient's claims are
    never re-scrubbed in two partitions at once."""
    from datetime import date

    with db.session() as s:
        s.add(m.Practice(id="P01", name="P01", npi="1245319599", kind="office", state="CA"))
        rows = [
            ("M1|1960-01-01", None),
            ("M1|1960-01-01", "DOE|JANE|1960-01-01"),
            (None, "DOE|JANE|1960-01-01"),
        ]
        rows += [(f"M{i}|1970-01-01", None) for i in range(2, 9)]
        persons = [m.Person(member_key=mk, name_key=nk) for mk, nk in rows]
        s.add_all(persons)
        s.flush()
        for i, p in enumerate(persons):
            s.add(
                m.Encounter(
                    practice_id="P01", person_id=p.id, encounter_id=f"E{i}", payer_id="MEDICARE",
                    date_of_service=date(2026, 1, 5), place_of_service="11", document={}, work_status="open",
                )
            )  # fmt: skip
        s.flush()
        claims = select_claims(s, Selection())
        first_three = {
            e.id
            for e in s.scalars(select(m.Encounter).where(m.Encounter.encounter_id.in_(["E0", "E1", "E2"])))
        }
    assert len(claims) == 10
    patients = {who for pk, who in claims if pk in first_three}
    assert len(patients) == 1
    assert len({who for _, who in claims}) == 8
    for n in (2, 4, 8):
        owner = {pk: i for i, p in enumerate(partition(claims, n)) for pk in p}
        assert len({owner[pk] for pk in first_three}) == 1
