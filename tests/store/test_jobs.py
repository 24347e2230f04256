"""Background imports: the in-process runner (default) and the RQ runner on a real Redis."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.imports import file_hash
from painrcm.store.jobs import InProcessRunner, RqRunner, execute, make_runner
from tests.store.synth import as_bytes, epidural

pytestmark = pytest.mark.usefixtures("practices")

REDIS_URL = os.environ.get("PAINRCM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def many_claims(n: int) -> bytes:
    docs = [epidural(f"E-{i}", f"2026-03-{i % 28 + 1:02d}") for i in range(n)]
    for d in docs:  # one patient each
        d["patient"] = {**d["patient"], "member_id": f"M{d['encounter_id']}", "last_name": d["encounter_id"]}
    return as_bytes(docs)


def encounter_count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(m.Encounter)) or 0


def test_in_process_runner_finishes_a_job_with_progress(db: Database, engine: Engine, _home: Path) -> None:
    seen: list[tuple[int, int, int]] = []
    runner = InProcessRunner(db, engine, on_progress=lambda *args: seen.append(args))
    data = many_claims(30)
    job_id = runner.submit("encounters", data, "march.json", "P01", None)
    assert (_home / "uploads" / file_hash(data)).read_bytes() == data
    st = runner.wait(job_id, timeout=60)
    assert st is not None and st.status == "done", st
    assert (st.done, st.total, st.percent) == (30, 30, 100) and "30 added" in (st.message or "")
    assert st.finished_at is not None and st.as_dict()["status"] == "done"
    assert encounter_count(db) == 30
    assert seen[0][1:] == (0, 60) and seen[-1][1:] == (60, 60) and len(seen) >= 3  # every 25 steps
    assert (
        runner.submit("encounters", data, "again.json", "P01", None) == job_id
    )  # the same file: the same job
    runner.join()
    assert encounter_count(db) == 30


def test_a_failed_job_keeps_its_located_message(db: Database, engine: Engine) -> None:
    runner = InProcessRunner(db, engine)
    bad = as_bytes([epidural("E-1", "2026-03-02"), epidural("E-2", "2026-02-30")])
    job_id = runner.submit("encounters", bad, "bad.json", "P01", None)
    st = runner.wait(job_id, timeout=60)
    assert st is not None and st.status == "failed"
    assert st.message is not None and st.message.startswith("bad.json: $[1].date_of_service: ")
    assert encounter_count(db) == 0
    with db.session() as s:
        actions = [a.action for a in s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))]
    assert actions == ["create", "import_failed"]
    # a failed file submitted again runs again (and fails again): the same job row
    assert runner.submit("encounters", bad, "bad.json", "P01", None) == job_id
    st = runner.wait(job_id, timeout=60)
    assert st is not None and st.status == "failed"


def test_jobs_run_in_order_and_once(db: Database, engine: Engine) -> None:
    runner = InProcessRunner(db, engine)
    first = runner.submit("encounters", as_bytes(epidural("E-1", "2026-03-02")), "1.json", "P01", None)
    second = runner.submit("encounters", as_bytes(epidural("E-1", "2026-03-09")), "2.json", "P01", None)
    runner.join()
    assert execute(db, first, engine=engine) is not None  # already done: claiming it again does nothing
    with db.session() as s:
        jobs = s.scalars(select(m.ImportJob).order_by(m.ImportJob.id)).all()
        assert [(j.id, j.status) for j in jobs] == [(first, "done"), (second, "done")]
        assert jobs[0].finished_at <= jobs[1].finished_at  # type: ignore[operator]
        row = s.scalars(select(m.Encounter)).one()
        assert row.date_of_service.isoformat() == "2026-03-09"  # the later file updated the claim


def test_runner_resumes_jobs_left_queued(db: Database, engine: Engine) -> None:
    from painrcm.store.jobs import create_job

    job_id, run = create_job(
        db, "encounters", as_bytes(epidural("E-1", "2026-03-02")), "left.json", "P01", None
    )
    assert run
    runner = make_runner(db)  # no PAINRCM_REDIS_URL: in-process; picks up the queued job
    assert isinstance(runner, InProcessRunner)
    st = runner.wait(job_id, timeout=60)
    assert st is not None and st.status == "done"


def _redis_or_skip() -> None:
    from redis import Redis

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as e:  # noqa: BLE001 - any connection problem means "unreachable"
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable ({e}); CI is set, so this is a failure")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({e}); set CI to make this a failure")


def test_rq_runner_on_redis(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _redis_or_skip()
    from rq import SimpleWorker
    from rq.job import Job
    from rq.job import JobStatus as RqStatus

    monkeypatch.setenv("PAINRCM_REDIS_URL", REDIS_URL)
    assert isinstance(make_runner(db), RqRunner)
    runner = RqRunner(db, REDIS_URL, queue_name=f"painrcm-test-{uuid.uuid4().hex[:8]}")
    # only this test's queue: other tests (other xdist workers, the crash tests) share the Redis database
    runner.queue.delete(delete_jobs=True)
    data = many_claims(3)
    job_id = runner.submit("encounters", data, "rq.json", "P01", None)
    assert runner.submit("encounters", data, "rq.json", "P01", None) == job_id
    assert len(runner.queue) == 1
    st = runner.status(job_id)
    assert st is not None and st.status == "queued"
    bad_id = runner.submit("encounters", b"[{]", "bad.json", "P01", None)
    lost_id = runner.submit("encounters", as_bytes(epidural("L-1", "2026-03-02")), "lost.json", "P01", None)
    lost = Job.fetch(runner.rq_id(lost_id), connection=runner.redis)
    runner.queue.remove(lost)
    lost.set_status(RqStatus.FAILED)  # as when a worker dies or times out before run_job ends
    st = runner.status(lost_id)
    assert st is not None and st.status == "failed" and "worker stopped" in (st.message or "")
    SimpleWorker([runner.queue], connection=runner.redis).work(burst=True)
    st = runner.status(job_id)
    assert st is not None and (st.status, st.done, st.total) == ("done", 3, 3)
    assert encounter_count(db) == 3
    meta = Job.fetch(runner.rq_id(job_id), connection=runner.redis).get_meta()
    assert meta == {"done": 6, "total": 6}  # progress went to the RQ job (3 saved + 3 scrubbed)
    bad = runner.wait(bad_id, timeout=5)
    assert (
        bad is not None
        and bad.status == "failed"
        and (bad.message or "").startswith("bad.json: line 1, column 3")
    )
    runner.queue.delete(delete_jobs=True)


def test_status_of_a_running_job_shows_live_progress(db: Database, engine: Engine) -> None:
    import threading

    reached, release = threading.Event(), threading.Event()

    def hold(job_id: int, done: int, total: int) -> None:
        if 0 < done < total and not reached.is_set():
            reached.set()
            release.wait(30)

    runner = InProcessRunner(db, engine, on_progress=hold)
    job_id = runner.submit("encounters", many_claims(30), "live.json", "P01", None)
    try:
        assert reached.wait(30)
        st = runner.status(job_id)
        assert (
            # the 30 claims written at once (one set-based write), not yet scrubbed
            st is not None and st.status == "running" and (st.done, st.total) == (30, 60) and st.percent == 50
        )
        assert encounter_count(db) == 0  # nothing is visible before the import commits
    finally:
        release.set()
    st = runner.wait(job_id, timeout=60)
    assert st is not None and st.status == "done" and encounter_count(db) == 30
