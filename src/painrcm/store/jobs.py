"""Background import jobs: in-process by default, on an RQ (Redis) queue when ``PAINRCM_REDIS_URL`` is set.

``submit`` records an ``ImportJob`` row (status ``queued``), keeps the uploaded bytes under
``$PAINRCM_HOME/uploads/<sha256>`` and hands the job ID to the runner; the same file again (same
kind, hash and practice) returns the existing job's ID. Both runners execute ``run_job``, which
claims the row (queued -> running, so a job never runs twice), imports the file in one transaction
with ``store.imports.import_bytes`` and marks it ``done`` or ``failed`` (with the located error
message of the bad file; nothing of the file is stored then).

Crashes: a running job records its worker ("host:pid") and a heartbeat every few seconds. A job
whose worker died (its process is gone, or its heartbeat is older than ``PAINRCM_JOB_STALE_SECONDS``,
30 by default) is marked failed with that reason by the in-process runner on start-up and by a
watchdog (a thread of either runner, and every status poll); uploading the file again runs it
again. The import itself uses short write transactions (``store.imports.import_file``).

Progress while a job runs is kept outside the import transaction (SQLite allows one writer at a
time): in memory for the in-process runner, in the RQ job's meta for the Redis runner. ``status``
merges it with the row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, Self

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from painrcm.codes.loader import painrcm_home
from painrcm.errors import InputError
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import BadText, Database, is_busy
from painrcm.store.imports import KINDS, JobTaken, file_hash, find_job, import_file
from painrcm.store.safelog import safe_trace

log = logging.getLogger("painrcm.store.jobs")

ProgressSink = Callable[[int, int, int], None]  # (job_id, done, total)
RQ_QUEUE = "painrcm-imports"


@dataclass
class JobStatus:
    id: int
    kind: str
    file_name: str
    practice_id: str | None
    status: str  # queued | running | done | failed
    done: int
    total: int
    message: str | None
    created_by: int | None
    created_at: datetime | None
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["percent"] = self.percent
        for k in ("created_at", "finished_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


class JobRunner(Protocol):
    db: Database

    def submit(
        self, kind: str, data: bytes, file_name: str, practice_id: str | None, user_id: int | None
    ) -> int: ...

    def status(self, job_id: int) -> JobStatus | None: ...

    def wait(self, job_id: int, timeout: float = 60) -> JobStatus | None: ...


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies

    return Engine(load_reference(), load_policies())


def uploads_dir() -> Path:
    return painrcm_home() / "uploads"


def store_upload(data: bytes) -> Path:
    """Keep the uploaded bytes under their sha256 (written once; the same file is the same path)."""
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_hash(data)
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def _status(job: m.ImportJob) -> JobStatus:
    return JobStatus(
        id=job.id,
        kind=job.kind,
        file_name=job.file_name,
        practice_id=job.practice_id,
        status=job.status,
        done=job.done,
        total=job.total,
        message=job.message,
        created_by=job.created_by,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def stale_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("PAINRCM_JOB_STALE_SECONDS", "30")))
    except ValueError:
        return 30.0


def heartbeat_seconds() -> float:
    return max(0.2, stale_seconds() / 6)


HOST = socket.gethostname()[:80]


def worker_id() -> str:
    return f"{HOST}:{os.getpid()}"


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=UTC))


def _pid_gone(worker: str | None) -> bool:
    """Whether a worker of this host is a process that no longer exists (or is this new process)."""
    if not worker or ":" not in worker:
        return False
    host, _, pid_text = worker.rpartition(":")
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def death_reason(job: m.ImportJob, now: datetime | None = None) -> str | None:
    """Why a running job's worker is taken as dead, or None while it looks alive."""
    if job.status != "running":
        return None
    now = now or datetime.now(UTC)
    if _pid_gone(job.worker):
        return "its worker process is gone"
    beat = _aware(job.heartbeat_at) or _aware(job.created_at)
    if beat is not None and (now - beat).total_seconds() > stale_seconds():
        return f"its worker sent no heartbeat for {int((now - beat).total_seconds())} s"
    return None


def _fail_dead(s: Session, job: m.ImportJob, reason: str) -> None:
    job.status, job.finished_at = "failed", datetime.now(UTC)
    job.message = (
        f"{job.file_name}: the import stopped before the end ({reason}); nothing of the file was "
        "lost, and claims it stored are kept: upload the file again to finish it"
    )
    services.audit(s, None, "import_failed", "import_job", job.id, job.practice_id, kind=job.kind, dead=True)
    log.warning("import job %s marked failed: %s", job.id, reason)


def reap_dead_jobs(db: Database) -> list[int]:
    """Mark failed every running job whose worker died (see the module docstring); their IDs."""
    with db.session() as s:
        running = list(s.scalars(select(m.ImportJob).where(m.ImportJob.status == "running")))
        now = datetime.now(UTC)
        dead = [(j, r) for j in running if (r := death_reason(j, now)) is not None]
    out = []
    for job, reason in dead:
        with db.session() as s:  # only if it is still the same run (compare-and-set)
            row = s.get(m.ImportJob, job.id)
            alive = row is None or row.status != "running" or row.worker != job.worker
            if not alive and row is not None and death_reason(row) is not None:
                _fail_dead(s, row, reason)
                out.append(job.id)
    return out


def create_job(
    db: Database, kind: str, data: bytes, file_name: str, practice_id: str | None, user_id: int | None
) -> tuple[int, bool]:
    """The ImportJob row for this file: (job ID, whether it must be run). A failed job of the same file
    is queued again (the file may now import, e.g. once its practice exists), and so is one whose
    worker died."""
    if kind not in KINDS:
        raise InputError(file_name, None, f"an import kind of {', '.join(KINDS)} (got {kind!r})")
    path = store_upload(data)
    digest = path.name
    for attempt in range(3):
        try:
            return _create_job(db, kind, path, digest, file_name, practice_id, user_id)
        except IntegrityError:  # the same file uploaded twice at the same moment: take the other row
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _create_job(
    db: Database,
    kind: str,
    path: Path,
    digest: str,
    file_name: str,
    practice_id: str | None,
    user_id: int | None,
) -> tuple[int, bool]:
    with db.session() as s:
        job = find_job(s, kind, digest, practice_id)
        if job is not None and job.status == "running" and (reason := death_reason(job)) is not None:
            _fail_dead(s, job, reason)
        if job is not None and job.status != "failed":
            return job.id, False
        if job is None:
            job = m.ImportJob(
                kind=kind,
                file_name=file_name[:300],
                file_hash=digest,
                practice_id=practice_id,
                created_by=user_id,
            )
            s.add(job)
        job.stored_path, job.status, job.done, job.total = str(path), "queued", 0, 0
        job.message, job.finished_at, job.worker, job.heartbeat_at = None, None, None, None
        s.flush()
        services.audit(s, user_id, "create", "import_job", job.id, practice_id, kind=kind)
        return job.id, True


def job_status(db: Database, job_id: int) -> JobStatus | None:
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        return None if job is None else _status(job)


def _claim(db: Database, job_id: int, worker: str) -> m.ImportJob | None:
    """queued -> running, atomically: only one worker ever runs a job."""
    with db.session() as s:
        res = s.execute(
            update(m.ImportJob)
            .where(m.ImportJob.id == job_id, m.ImportJob.status == "queued")
            .values(status="running", done=0, total=0, worker=worker, heartbeat_at=datetime.now(UTC))
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return s.get(m.ImportJob, job_id)


def _finish_failed(db: Database, job: m.ImportJob, message: str, worker: str) -> None:
    with db.session() as s:
        row = s.get(m.ImportJob, job.id)
        assert row is not None
        if row.status != "running" or row.worker != worker:
            return  # a watchdog failed it already (it took this worker for dead)
        row.status, row.message, row.finished_at = "failed", message, datetime.now(UTC)
        services.audit(
            s, row.created_by, "import_failed", "import_job", row.id, row.practice_id, kind=row.kind
        )


class _Heartbeat:
    """Updates the running job's heartbeat every few seconds from a thread of its own."""

    def __init__(self, db: Database, job_id: int, worker: str) -> None:
        self.db, self.job_id, self.worker = db, job_id, worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"painrcm-heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(heartbeat_seconds()):
            try:
                with self.db.session() as s:
                    s.execute(
                        update(m.ImportJob)
                        .where(
                            m.ImportJob.id == self.job_id,
                            m.ImportJob.status == "running",
                            m.ImportJob.worker == self.worker,
                        )
                        .values(heartbeat_at=datetime.now(UTC))
                    )
            except Exception as e:  # noqa: BLE001 - a missed beat is retried at the next one
                log.info("import job %s: heartbeat not stored (%s)", self.job_id, type(e).__name__)


def _owner(job_id: int, worker: str) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        row = s.get(m.ImportJob, job_id)
        if row is None or row.status != "running" or row.worker != worker:
            raise JobTaken

    return check


def execute(
    db: Database, job_id: int, *, engine: Engine | None = None, on_progress: ProgressSink | None = None
) -> JobStatus | None:
    """Run one queued job against an open Database (the body both runners share)."""
    worker = worker_id()
    job = _claim(db, job_id, worker)
    if job is None:
        return job_status(db, job_id)
    log.info("import job %s (%s) started", job.id, job.kind)
    try:
        if not job.stored_path or not Path(job.stored_path).is_file():
            raise InputError(
                job.file_name, None, "the uploaded file, which is no longer stored; upload it again"
            )
        data = Path(job.stored_path).read_bytes()

        def progress(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(job_id, done, total)

        with _Heartbeat(db, job_id, worker):
            import_file(
                db,
                engine or default_engine(),
                job_id=job.id,
                data=data,
                progress=progress,
                owner=_owner(job_id, worker),
            )
    except InputError as e:
        _finish_failed(db, job, str(e), worker)
        log.info("import job %s (%s) failed: the file was refused", job.id, job.kind)
    except JobTaken:
        log.warning("import job %s was taken from this worker (marked dead); stopped", job.id)
    except BadText as e:  # a value no check above located (e.g. in an 835): still a clear refusal
        _finish_failed(
            db,
            job,
            f"{job.file_name}: a value the workspace cannot store ({e}); nothing was imported",
            worker,
        )
    except RecursionError:
        _finish_failed(db, job, f"{job.file_name}: the file is nested too deeply to read", worker)
    except Exception as e:  # noqa: BLE001 - a job must end in a state the user can see
        what = "the database stayed busy" if is_busy(e) else f"an internal error ({type(e).__name__})"
        _finish_failed(
            db,
            job,
            f"{job.file_name}: the import stopped on {what}; nothing of the file is lost: "
            "upload it again to retry",
            worker,
        )
        log.error("import job %s (%s) crashed: %s", job.id, job.kind, safe_trace(e))
    return job_status(db, job_id)


def run_job(job_id: int, database_url: str) -> str:
    """The worker function (RQ enqueues it by name): opens its own Database and runs the job."""
    db = Database(database_url)
    try:
        current = _rq_current_job()

        def to_meta(_job_id: int, done: int, total: int) -> None:
            if current is not None:
                current.meta.update(done=done, total=total)
                current.save_meta()

        st = execute(db, job_id, on_progress=to_meta)
        return st.status if st else "missing"
    finally:
        db.engine.dispose()


def _rq_current_job() -> Any:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover - rq is a dependency
        return None
    return get_current_job()


class Watchdog:
    """A daemon thread that fails the jobs of dead workers every few seconds (both runners start one)."""

    def __init__(self, db: Database, on_reap: Callable[[list[int]], None] | None = None) -> None:
        self.db, self.on_reap = db, on_reap
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="painrcm-import-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(max(1.0, stale_seconds() / 3)):
            try:
                ids = reap_dead_jobs(self.db)
                if ids and self.on_reap is not None:
                    self.on_reap(ids)
            except Exception as e:  # noqa: BLE001 - try again at the next round
                log.info("import watchdog: %s", type(e).__name__)

    def stop(self) -> None:
        self._stop.set()


class InProcessRunner:
    """One background worker thread runs the jobs in the order they were submitted."""

    def __init__(
        self, db: Database, engine: Engine | None = None, on_progress: ProgressSink | None = None
    ) -> None:
        self.db = db
        self.engine = engine
        self.on_progress = on_progress  # also told of every progress report (job_id, done, total)
        self._queue: queue.Queue[int] = queue.Queue()
        self._progress: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.watchdog: Watchdog | None = None

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="painrcm-imports", daemon=True)
                self._thread.start()

    def _note(self, job_id: int, done: int, total: int) -> None:
        with self._lock:
            self._progress[job_id] = (done, total)
        if self.on_progress is not None:
            self.on_progress(job_id, done, total)

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                execute(self.db, job_id, engine=self.engine, on_progress=self._note)
            except Exception as e:  # noqa: BLE001 - keep the worker alive (e.g. the database went away)
                log.error("import job %s could not be run: %s", job_id, safe_trace(e))
            finally:
                with self._lock:
                    self._progress.pop(job_id, None)
                self._queue.task_done()

    def enqueue(self, job_id: int) -> None:
        self._queue.put(job_id)
        self._ensure_thread()

    def submit(
        self, kind: str, data: bytes, file_name: str, practice_id: str | None, user_id: int | None
    ) -> int:
        job_id, run = create_job(self.db, kind, data, file_name, practice_id, user_id)
        if run:
            self.enqueue(job_id)
        return job_id

    def status(self, job_id: int) -> JobStatus | None:
        st = job_status(self.db, job_id)
        if st is not None and st.status == "running":
            with self._lock:
                live = self._progress.get(job_id)
            if live is not None:
                st.done, st.total = live
        return st

    def wait(self, job_id: int, timeout: float = 60) -> JobStatus | None:
        return _poll(self.status, job_id, timeout)

    def resume(self) -> int:
        """On start-up: fail the jobs a dead process left running (see `reap_dead_jobs`) and queue the
        ones it left queued (a job runs once: see `_claim`)."""
        reap_dead_jobs(self.db)
        with self.db.session() as s:
            ids = list(
                s.scalars(
                    select(m.ImportJob.id).where(m.ImportJob.status == "queued").order_by(m.ImportJob.id)
                )
            )
        for job_id in ids:
            self.enqueue(job_id)
        return len(ids)

    def join(self) -> None:
        """Wait until every submitted job has run."""
        self._queue.join()


class RqRunner:
    """Jobs on an RQ queue in Redis; `rq worker painrcm-imports` (or any RQ worker) runs `run_job`."""

    def __init__(self, db: Database, redis_url: str, queue_name: str = RQ_QUEUE) -> None:
        from redis import Redis
        from rq import Queue

        self.db = db
        self.redis = Redis.from_url(redis_url)
        self.queue = Queue(queue_name, connection=self.redis)
        self.database_url = db.engine.url.render_as_string(hide_password=False)
        self.watchdog: Watchdog | None = None
        self._prefix = "painrcm-import-" + hashlib.sha256(self.database_url.encode()).hexdigest()[:10]

    def rq_id(self, job_id: int) -> str:
        return f"{self._prefix}-{job_id}"

    def submit(
        self, kind: str, data: bytes, file_name: str, practice_id: str | None, user_id: int | None
    ) -> int:
        job_id, run = create_job(self.db, kind, data, file_name, practice_id, user_id)
        if run:
            self._enqueue(job_id)
        return job_id

    def _enqueue(self, job_id: int) -> None:
        from rq.job import Job

        rq_id = self.rq_id(job_id)
        old = Job.fetch(rq_id, connection=self.redis) if Job.exists(rq_id, connection=self.redis) else None
        if old is not None:
            old.delete()  # a failed job's earlier run: queue it again under the same ID
        self.queue.enqueue(
            run_job,
            job_id,
            self.database_url,
            job_id=rq_id,
            job_timeout=3600,
            result_ttl=86400,
            failure_ttl=7 * 86400,
            description=f"painrcm import {job_id}",
        )

    def status(self, job_id: int) -> JobStatus | None:
        st = job_status(self.db, job_id)
        if st is None or st.finished:
            return st
        if st.status == "running" and reap_dead_jobs(self.db):
            st = job_status(self.db, job_id)
            if st is None or st.finished:
                return st
        from rq.job import Job
        from rq.job import JobStatus as RqStatus

        rq_id = self.rq_id(job_id)
        if not Job.exists(rq_id, connection=self.redis):
            return st
        rq_job = Job.fetch(rq_id, connection=self.redis)
        if rq_job.get_status(refresh=True) in (RqStatus.FAILED, RqStatus.STOPPED, RqStatus.CANCELED):
            # the worker died or timed out before run_job could record the end: record it now
            with self.db.session() as s:
                row = s.get(m.ImportJob, job_id)
                if row is not None and row.status in ("queued", "running"):
                    row.status, row.finished_at = "failed", datetime.now(UTC)
                    row.message = (
                        f"{row.file_name}: the import worker stopped before the end; nothing was imported"
                    )
            return job_status(self.db, job_id)
        meta = rq_job.get_meta(refresh=True)
        if st.status == "running" and "total" in meta:
            st.done, st.total = int(meta.get("done", 0)), int(meta["total"])
        return st

    def wait(self, job_id: int, timeout: float = 60) -> JobStatus | None:
        return _poll(self.status, job_id, timeout)


def _poll(get: Callable[[int], JobStatus | None], job_id: int, timeout: float) -> JobStatus | None:
    end = time.monotonic() + timeout
    st = get(job_id)
    while st is not None and not st.finished and time.monotonic() < end:
        time.sleep(0.05)
        st = get(job_id)
    return st


def make_runner(db: Database) -> InProcessRunner | RqRunner:
    """The RQ runner when PAINRCM_REDIS_URL is set, else the in-process runner."""
    redis_url = os.environ.get("PAINRCM_REDIS_URL")
    if redis_url:
        rq_runner = RqRunner(db, redis_url)
        rq_runner.watchdog = Watchdog(db)
        return rq_runner
    runner = InProcessRunner(db)
    runner.resume()
    runner.watchdog = Watchdog(db)
    return runner
