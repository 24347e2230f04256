"""Background import jobs: in-process by default, on an RQ (Redis) queue when ``PAINRCM_REDIS_URL`` is set.

``submit`` records an ``ImportJob`` row (status ``queued``), keeps the uploaded bytes under
``$PAINRCM_HOME/uploads/<sha256>`` and hands the job ID to the runner; the same file again (same
kind, hash and practice) returns the existing job's ID. Both runners execute ``run_job``, which
claims the row (queued -> running, so a job never runs twice), imports the file in one transaction
with ``store.imports.import_bytes`` and marks it ``done`` or ``failed`` (with the located error
message of the bad file; nothing of the file is stored then).

Progress while a job runs is kept outside the import transaction (SQLite allows one writer at a
time): in memory for the in-process runner, in the RQ job's meta for the Redis runner. ``status``
merges it with the row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from painrcm.codes.loader import painrcm_home
from painrcm.errors import InputError
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.store.imports import KINDS, file_hash, find_job, import_bytes

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


def create_job(
    db: Database, kind: str, data: bytes, file_name: str, practice_id: str | None, user_id: int | None
) -> tuple[int, bool]:
    """The ImportJob row for this file: (job ID, whether it must be run). A failed job of the same file
    is queued again (the file may now import, e.g. once its practice exists)."""
    if kind not in KINDS:
        raise InputError(file_name, None, f"an import kind of {', '.join(KINDS)} (got {kind!r})")
    path = store_upload(data)
    digest = path.name
    with db.session() as s:
        job = find_job(s, kind, digest, practice_id)
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
        job.message, job.finished_at = None, None
        s.flush()
        services.audit(s, user_id, "create", "import_job", job.id, practice_id, kind=kind)
        return job.id, True


def job_status(db: Database, job_id: int) -> JobStatus | None:
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        return None if job is None else _status(job)


def _claim(db: Database, job_id: int) -> m.ImportJob | None:
    """queued -> running, atomically: only one worker ever runs a job."""
    with db.session() as s:
        res = s.execute(
            update(m.ImportJob)
            .where(m.ImportJob.id == job_id, m.ImportJob.status == "queued")
            .values(status="running", done=0, total=0)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return s.get(m.ImportJob, job_id)


def _finish_failed(db: Database, job: m.ImportJob, message: str) -> None:
    with db.session() as s:
        row = s.get(m.ImportJob, job.id)
        assert row is not None
        row.status, row.message, row.finished_at = "failed", message, datetime.now(UTC)
        services.audit(
            s, row.created_by, "import_failed", "import_job", row.id, row.practice_id, kind=row.kind
        )


def execute(
    db: Database, job_id: int, *, engine: Engine | None = None, on_progress: ProgressSink | None = None
) -> JobStatus | None:
    """Run one queued job against an open Database (the body both runners share)."""
    job = _claim(db, job_id)
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

        with db.session() as s:
            import_bytes(
                s,
                engine or default_engine(),
                kind=job.kind,
                data=data,
                file_name=job.file_name,
                practice_id=job.practice_id,
                user_id=job.created_by,
                progress=progress,
                job_id=job.id,
            )
    except InputError as e:
        _finish_failed(db, job, str(e))
        log.info("import job %s (%s) failed: the file was refused", job.id, job.kind)
    except Exception as e:  # a job must end in a state the user can see
        _finish_failed(
            db,
            job,
            f"{job.file_name}: the import stopped on an internal error ({type(e).__name__}); "
            "nothing was imported",
        )
        log.exception("import job %s (%s) crashed", job.id, job.kind)
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
            except Exception:  # keep the worker alive (e.g. the database went away)
                log.exception("import job %s could not be run", job_id)
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
        """Queue the jobs a previous process left queued (a job runs once: see `_claim`)."""
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
        return RqRunner(db, redis_url)
    runner = InProcessRunner(db)
    runner.resume()
    return runner
