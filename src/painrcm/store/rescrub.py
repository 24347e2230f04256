"""Re-scrub the open book: every open claim, or those a changed code, NCCI pair or payer touches.

A billing company re-scrubs its whole open book when a new NCCI/MUE quarter, fee schedule or payer
file arrives. The claims are partitioned by patient (a person and everything the database counts
as the same patient go to one partition, and each partition fetches its patients' whole history
with `histories.Book`, so no claim is scrubbed against part of a past). Partitions run on RQ
workers when ``PAINRCM_REDIS_URL`` is set (the same workers and queue as the workspace's import
jobs, on any number of machines against the same database), else on a local process pool.

Each re-scrubbed claim gets a new scrub run (the claim queue shows its new status and findings);
a claim whose errors changed gets an audit entry ``rescrub`` with the errors it gained and lost,
and the run's report lists them per claim.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.store.histories import Book, chunks
from painrcm.store.queries_claims import _carry_overrides as carry_overrides
from painrcm.store.queries_claims import _settle_work_status as settle_work_status

NOT_OPEN = ("history", "submitted")  # stored history and claims already sent are not re-scrubbed
COMMIT_EVERY = 100  # claims per transaction inside a partition (SQLite has one writer at a time)


@dataclass(frozen=True)
class Selection:
    """Which open claims: all of them, or those with a line of a changed code, with both codes of a
    changed pair, or of a changed payer (any of these); optionally one practice."""

    codes: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    payers: tuple[str, ...] = ()
    practice: str | None = None

    @property
    def everything(self) -> bool:
        return not (self.codes or self.pairs or self.payers)


@dataclass
class Change:
    encounter_pk: int
    claim_id: str
    practice_id: str
    before: str | None  # status before (None: never scrubbed)
    after: str
    new_errors: list[str]  # "EDIT line N" (or "EDIT" for a claim-level finding)
    resolved_errors: list[str]


@dataclass
class Report:
    claims: int = 0
    partitions: int = 0
    workers: int = 0
    runner: str = "local"
    seconds: float = 0.0
    changes: list[Change] = field(default_factory=list)
    worker_processes: list[str] = field(default_factory=list)  # host:pid of each process that took part

    @property
    def claims_per_second(self) -> float:
        return self.claims / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["claims_per_second"] = round(self.claims_per_second, 1)
        return d


def _has_code(code: str) -> Any:
    return m.Encounter.id.in_(select(m.ClaimLine.encounter_pk).where(m.ClaimLine.code == code))


def select_claims(s: Session, sel: Selection) -> list[tuple[int, int]]:
    """(encounter pk, person id) of the open claims the selection names, by person."""
    q = select(m.Encounter.id, m.Encounter.person_id).where(m.Encounter.work_status.not_in(NOT_OPEN))
    if sel.practice:
        q = q.where(m.Encounter.practice_id == sel.practice)
    conds: list[Any] = []
    if sel.codes:
        codes = sorted({c.strip().upper() for c in sel.codes})
        conds.append(m.Encounter.id.in_(select(m.ClaimLine.encounter_pk).where(m.ClaimLine.code.in_(codes))))
    for a, b in sel.pairs:
        conds.append(and_(_has_code(a.strip().upper()), _has_code(b.strip().upper())))
    if sel.payers:
        conds.append(func.upper(m.Encounter.payer_id).in_(sorted({p.strip().upper() for p in sel.payers})))
    if conds:
        q = q.where(or_(*conds))
    return [(pk, person) for pk, person in s.execute(q.order_by(m.Encounter.person_id, m.Encounter.id))]


def partition(claims: Sequence[tuple[int, int]], n: int) -> list[list[int]]:
    """`n` partitions of claim pks, every claim of a person in the same one, balanced by claim count."""
    by_person: dict[int, list[int]] = {}
    for pk, person in claims:
        by_person.setdefault(person, []).append(pk)
    parts: list[list[int]] = [[] for _ in range(max(1, n))]
    for pks in sorted(by_person.values(), key=len, reverse=True):
        min(parts, key=len).extend(pks)
    return [p for p in parts if p]


def _errors(findings: Sequence[Any]) -> set[str]:
    return {f"{f.edit} line {f.line}" if f.line else f.edit for f in findings if f.severity == "error"}


def _previous_errors(s: Session, pks: Sequence[int]) -> dict[int, tuple[str, set[str]]]:
    latest: dict[int, int] = {}
    for part in chunks(sorted(pks)):
        for pk, run_id in s.execute(
            select(m.ScrubRun.encounter_pk, func.max(m.ScrubRun.id))
            .where(m.ScrubRun.encounter_pk.in_(part))
            .group_by(m.ScrubRun.encounter_pk)
        ):
            latest[run_id] = pk
    out: dict[int, tuple[str, set[str]]] = {}
    runs = sorted(latest)
    for part in chunks(runs):
        for run_id, status in s.execute(
            select(m.ScrubRun.id, m.ScrubRun.status).where(m.ScrubRun.id.in_(part))
        ):
            out[latest[run_id]] = (status, set())
        for run_id, edit, line, severity in s.execute(
            select(m.Finding.run_id, m.Finding.edit, m.Finding.line, m.Finding.severity).where(
                m.Finding.run_id.in_(part)
            )
        ):
            if severity == "error":
                out[latest[run_id]][1].add(f"{edit} line {line}" if line else edit)
    return out


def load_engine() -> Engine:
    """The reference data and payer files as they are now (a re-scrub exists because they changed)."""
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies

    return Engine(load_reference(), load_policies())


def _worker_name() -> str:
    """The RQ worker's name when an RQ worker runs this, else host:pid."""
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001 - not inside an RQ job
        job = None
    name = getattr(job, "worker_name", None) if job is not None else None
    return name or f"{socket.gethostname()}:{os.getpid()}"


@functools.lru_cache(maxsize=1)
def _worker_engine() -> Engine:
    # once per worker process: the local pool spawns fresh processes per re-scrub, and an RQ
    # worker forks a fresh work horse per job
    return load_engine()


def rescrub_partition(
    database_url: str, pks: list[int], user_id: int | None = None, engine: Engine | None = None
) -> dict[str, Any]:
    """Re-scrub one partition (a worker's unit of work; RQ runs it by name). Returns its report."""
    engine = engine or _worker_engine()
    db = Database(database_url, migrate=False)
    t0 = time.perf_counter()
    changes: list[Change] = []
    try:
        with db.session() as s:
            rows: list[m.Encounter] = []
            for part in chunks(sorted(pks)):
                rows += s.scalars(select(m.Encounter).where(m.Encounter.id.in_(part)))
            rows.sort(key=lambda r: (r.date_of_service, r.id))
            order = [r.id for r in rows]
            book = Book.for_rows(s, engine, rows)
            before = _previous_errors(s, pks)
        for start in range(0, len(order), COMMIT_EVERY):
            piece = order[start : start + COMMIT_EVERY]
            # scrub without holding a write lock (SQLite has one writer), then write the piece at once
            with db.session() as s:
                fetched = {r.id: r for r in s.scalars(select(m.Encounter).where(m.Encounter.id.in_(piece)))}
                results = []
                for pk in piece:
                    enc, result = services.scrub_stored(s, fetched[pk], engine, book)
                    if enc.lines is None:  # coded now: the patient's later claims see the coded lines
                        book.replace(pk, enc.model_copy(update={"lines": result.lines}))
                    results.append((enc, result))
                s.rollback()
            with db.session() as s:
                fetched = {r.id: r for r in s.scalars(select(m.Encounter).where(m.Encounter.id.in_(piece)))}
                latest = (
                    select(func.max(m.ScrubRun.id))
                    .where(m.ScrubRun.encounter_pk.in_(piece))
                    .group_by(m.ScrubRun.encounter_pk)
                )
                previous = {
                    r.encounter_pk: r
                    for r in s.scalars(
                        select(m.ScrubRun)
                        .where(m.ScrubRun.id.in_(latest))
                        .options(selectinload(m.ScrubRun.findings))
                    )
                }
                for pk, (enc, result) in zip(piece, results, strict=True):
                    row = fetched[pk]
                    run = services.keep_run(s, row, enc, result, user_id, book, flush=False)
                    # the biller's overrides stay, as on a single claim's re-scrub
                    carry_overrides(previous.get(pk), run)
                    settle_work_status(row, run)
                    old_status, old = before.get(row.id, (None, set()))
                    now = _errors(run.findings)
                    if now == old and old_status == run.status:
                        continue
                    change = Change(
                        row.id, row.encounter_id, row.practice_id, old_status, run.status,
                        sorted(now - old), sorted(old - now),
                    )  # fmt: skip
                    changes.append(change)
                    if change.new_errors or change.resolved_errors:
                        services.audit(
                            s, user_id, "rescrub", "encounter", row.id, row.practice_id,
                            new_errors=change.new_errors, resolved_errors=change.resolved_errors,
                        )  # fmt: skip
    finally:
        db.engine.dispose()
    return {
        "claims": len(pks),
        "seconds": time.perf_counter() - t0,
        "worker": _worker_name(),
        "changes": [asdict(c) for c in changes],
    }


def rescrub(
    database_url: str,
    sel: Selection = Selection(),
    *,
    workers: int = 1,
    user_id: int | None = None,
    redis_url: str | None = None,
    partitions: int | None = None,
    on_partition: Callable[[int, int], None] | None = None,
    timeout: float = 3600,
) -> Report:
    """Re-scrub the selected open claims over `workers` local processes, or over RQ workers when
    `redis_url` (default: PAINRCM_REDIS_URL) is set. `partitions`: how many pieces (default 4 per
    worker, so a slow piece does not hold the rest)."""
    redis_url = redis_url if redis_url is not None else os.environ.get("PAINRCM_REDIS_URL")
    db = Database(database_url)
    try:
        with db.session() as s:
            claims = select_claims(s, sel)
            if user_id is not None:
                services.audit(
                    s, user_id, "rescrub_started", "workspace", None, sel.practice,
                    claims=len(claims), codes=list(sel.codes), pairs=[list(p) for p in sel.pairs],
                    payers=list(sel.payers),
                )  # fmt: skip
    finally:
        db.engine.dispose()
    parts = partition(claims, partitions or max(1, workers) * 4)
    report = Report(
        claims=len(claims), partitions=len(parts), workers=workers, runner="rq" if redis_url else "local"
    )
    t0 = time.perf_counter()
    if not parts:
        return report
    if redis_url:
        results = _on_rq(redis_url, database_url, parts, user_id, on_partition, timeout)
    else:
        results = _on_pool(database_url, parts, workers, user_id, on_partition)
    report.seconds = time.perf_counter() - t0
    for r in results:
        report.changes += [Change(**c) for c in r["changes"]]
    report.worker_processes = sorted({r["worker"] for r in results})
    report.changes.sort(key=lambda c: (c.practice_id, c.claim_id))
    return report


def _on_pool(
    database_url: str,
    parts: list[list[int]],
    workers: int,
    user_id: int | None,
    on_partition: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    if workers <= 1:
        engine = load_engine()
        out = []
        for i, p in enumerate(parts, 1):
            out.append(rescrub_partition(database_url, p, user_id, engine))
            if on_partition:
                on_partition(i, len(parts))
        return out
    # spawned, not forked: each worker loads the reference data and payer files as they are now
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(rescrub_partition, database_url, p, user_id) for p in parts]
        out = []
        for i, f in enumerate(futures, 1):
            out.append(f.result())
            if on_partition:
                on_partition(i, len(parts))
        return out


def _on_rq(
    redis_url: str,
    database_url: str,
    parts: list[list[int]],
    user_id: int | None,
    on_partition: Callable[[int, int], None] | None,
    timeout: float,
) -> list[dict[str, Any]]:
    from redis import Redis
    from rq import Queue
    from rq.job import JobStatus

    from painrcm.store.jobs import RQ_QUEUE

    queue = Queue(os.environ.get("PAINRCM_RQ_QUEUE", RQ_QUEUE), connection=Redis.from_url(redis_url))
    jobs = [
        queue.enqueue(rescrub_partition, database_url, p, user_id, job_timeout=int(timeout), result_ttl=3600)
        for p in parts
    ]
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(jobs):
        for job in jobs:
            if job.id in done:
                continue
            status = job.get_status(refresh=True)
            if status == JobStatus.FINISHED:
                done[job.id] = job.return_value()
                if on_partition:
                    on_partition(len(done), len(jobs))
            elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                raise RuntimeError(f"re-scrub partition {job.id} {status.value} on its worker")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"re-scrub: {len(jobs) - len(done)} partitions still running after {timeout:.0f} s"
            )
        time.sleep(0.05)
    return [done[j.id] for j in jobs]
