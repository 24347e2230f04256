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
import heapq
import math
import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, load_only

from painrcm.model import ClaimResult
from painrcm.model import Encounter as EncounterModel
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.store.histories import Book, chunks
from painrcm.store.queries_claims import _carry_overrides as carry_overrides
from painrcm.store.queries_claims import _settle_work_status as settle_work_status
from painrcm.store.service_rows import refresh_services

NOT_OPEN = ("history", "submitted")  # stored history and claims already sent are not re-scrubbed
PARTITION_CLAIMS = (
    1000  # claims per partition (a job), unless more partitions are needed to keep workers busy
)
WRITE_ROWS = 1000  # rows per INSERT statement when a partition writes its results
ATTEMPTS = 3  # a partition whose worker died is run again, at most this many times in all


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
    cpu_seconds: float = 0.0  # CPU time of the worker processes on the partitions (not the database's)
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
    """(encounter pk, patient) of the open claims the selection names. The patient is one person ID
    for every person row the database counts as the same patient (a shared member key or name key,
    as `services.person_history` matches them), so a patient's claims never straddle partitions."""
    q = (
        select(m.Encounter.id, m.Encounter.person_id, m.Person.member_key, m.Person.name_key)
        .join(m.Person, m.Person.id == m.Encounter.person_id)
        .where(m.Encounter.work_status.not_in(NOT_OPEN))
    )
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
    return same_patient(s.execute(q.order_by(m.Encounter.person_id, m.Encounter.id)).all())


def same_patient(rows: Sequence[tuple[int, int, str | None, str | None]]) -> list[tuple[int, int]]:
    """(claim pk, patient) of (claim pk, person ID, member key, name key) rows, in their order: the
    patient is one person ID for every person row of the rows that shares a member key or name key
    with another (transitively), so one patient's claims are never split (`partition`)."""
    root: dict[int, int] = {}

    def find(x: int) -> int:
        while root.setdefault(x, x) != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    first: dict[str, int] = {}  # identity key -> the first person seen with it
    for _, person, mk, nk in rows:
        for key in (f"m:{mk}" if mk else None, f"n:{nk}" if nk else None):
            if key is not None:
                other = first.setdefault(key, person)
                a, b = find(person), find(other)
                if a != b:
                    root[max(a, b)] = min(a, b)
    return [(pk, find(person)) for pk, person, _, _ in rows]


def partition(claims: Sequence[tuple[int, int]], n: int) -> list[list[int]]:
    """`n` partitions of claim pks, every claim of a patient in the same one, balanced by claim count."""
    by_person: dict[int, list[int]] = {}
    for pk, person in claims:
        by_person.setdefault(person, []).append(pk)
    parts: list[list[int]] = [[] for _ in range(max(1, n))]
    sizes = [(0, i) for i in range(len(parts))]  # a heap: the smallest partition takes the next patient
    for pks in sorted(by_person.values(), key=len, reverse=True):
        size, i = heapq.heappop(sizes)
        parts[i].extend(pks)
        heapq.heappush(sizes, (size + len(pks), i))
    return [p for p in parts if p]


def partition_count(claims: int, workers: int) -> int:
    """Enough partitions that no worker waits long at the end (two per worker at least), each big
    enough that a job's fixed cost (queueing, a forked work horse, a connection, the few queries of
    its book) is small against scrubbing its claims."""
    return max(1, min(claims, max(2 * max(1, workers), math.ceil(claims / PARTITION_CLAIMS))))


def _error_keys(edit: str, line: int | None) -> str:
    return f"{edit} line {line}" if line else edit


def _errors(findings: Sequence[Any]) -> set[str]:
    return {_error_keys(f.edit, f.line) for f in findings if f.severity == "error"}


def _sources_stamp() -> tuple[tuple[str, int, int], ...]:
    """What the engine is built from on this machine: the imported CMS and ICD-10-CM files and the
    payer files (path, mtime, size). A long-lived worker reloads when this changes."""
    from painrcm.codes.loader import painrcm_home
    from painrcm.policy.loader import payer_dirs

    home = painrcm_home()
    out: list[tuple[str, int, int]] = []
    for d in [home / "cms", home / "icd10cm", *payer_dirs()]:
        if d.is_dir():
            for f in sorted(d.iterdir()):
                st = f.stat()
                out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_engine() -> Engine:
    """The reference data and payer files as they are now (a re-scrub exists because they changed)."""
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies

    return Engine(load_reference(), load_policies())


_ENGINE: dict[str, Any] = {}


def current_engine(warm: bool = False) -> Engine:
    """This process's engine, loaded once and again only when the files it is built from change
    (a worker outlives data imports). `warm`: also read the tables that load on first use (an RQ
    worker does this before it forks, so each job's work horse inherits them)."""
    from painrcm.codes.loader import load_reference

    stamp = _sources_stamp()
    if _ENGINE.get("stamp") != stamp or "engine" not in _ENGINE:
        load_reference.cache_clear()
        _ENGINE.update(stamp=stamp, engine=load_engine(), warm=False)
    engine: Engine = _ENGINE["engine"]
    if warm and not _ENGINE["warm"]:
        from painrcm import synth
        from painrcm.scrub import scrub_encounter

        for enc in synth.generate_encounters(40, 1, engine=engine):
            scrub_encounter(enc, engine, fix=True)
        _ENGINE["warm"] = True
    return engine


def _worker_name() -> str:
    """The RQ worker's name when an RQ worker runs this, else host:pid."""
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001 - not inside an RQ job
        job = None
    name = getattr(job, "worker_name", None) if job is not None else None
    return name or f"{socket.gethostname()}:{os.getpid()}"


@functools.lru_cache(maxsize=4)
def _process_database(database_url: str) -> Database:
    # once per worker process (a pool process runs many partitions; an RQ work horse one)
    return Database(database_url, migrate=False)


@dataclass
class Outcome:
    """One claim's re-scrub, before it is written."""

    pk: int
    claim_id: str
    practice_id: str
    status: str  # the claim's stored status and work status when it was read
    work_status: str
    enc: EncounterModel
    result: ClaimResult


def _marker(token: str, index: int) -> str:
    return f"{token}/{index}"


def rescrub_partition(
    database_url: str,
    pks: list[int],
    user_id: int | None = None,
    engine: Engine | None = None,
    token: str | None = None,
    index: int = 0,
    attempt: int = 1,
    db: Database | None = None,
) -> dict[str, Any]:
    """Re-scrub one partition (a worker's unit of work; RQ runs it by name) and return its report.

    Reads the partition in one transaction (its claims and its patients' whole past and
    authorizations, a few set-based queries), scrubs in memory, and writes every result in one
    short transaction (`write_partition`): a worker that dies mid-partition leaves nothing of it.
    The write carries a marker (`token`, `index`); a partition run again after its first attempt
    did commit (a worker killed after its commit, before its answer reached the queue) reports what
    that attempt wrote instead of scrubbing again."""
    engine = engine or current_engine()
    db = db or _process_database(database_url)
    t0, c0 = time.perf_counter(), time.process_time()
    if token is not None and attempt > 1:
        with db.session() as s:
            done = s.scalar(
                select(m.AuditEntry.detail).where(
                    m.AuditEntry.action == "rescrub_partition",
                    m.AuditEntry.object_id == _marker(token, index),
                )
            )
        if done is not None:
            return {
                "claims": len(pks),
                "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - c0,
                "worker": _worker_name(),
                "changes": done.get("changes", []),
            }
    outcomes: list[Outcome] = []
    with db.session() as s:
        rows: list[m.Encounter] = []
        for part in chunks(sorted(pks)):
            rows += s.scalars(
                select(m.Encounter)
                .where(m.Encounter.id.in_(part))
                .options(
                    load_only(
                        m.Encounter.id, m.Encounter.person_id, m.Encounter.practice_id,
                        m.Encounter.encounter_id, m.Encounter.date_of_service, m.Encounter.status,
                        m.Encounter.work_status,
                    )
                )
            )  # fmt: skip
        rows.sort(key=lambda r: (r.date_of_service, r.id))
        book = Book.for_rows(s, engine, rows)
        for row in rows:
            enc, result = services.scrub_stored(s, row, engine, book, enc=book.model(row.id))
            if enc.lines is None:  # coded now: the patient's later claims see the coded lines
                book.replace(row.id, enc.model_copy(update={"lines": result.lines}))
            outcomes.append(
                Outcome(row.id, row.encounter_id, row.practice_id, row.status, row.work_status, enc, result)
            )
        s.rollback()
    with db.session() as s:
        changes = write_partition(s, outcomes, user_id)
        if token is not None:
            s.add(
                m.AuditEntry(
                    user_id=user_id, action="rescrub_partition", object_type="rescrub",
                    object_id=_marker(token, index), practice_id=None, at=datetime.now(UTC),
                    detail={"claims": len(pks), "worker": _worker_name(), "changes": [asdict(c) for c in changes]},
                )
            )  # fmt: skip
    return {
        "claims": len(pks),
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "worker": _worker_name(),
        "changes": [asdict(c) for c in changes],
    }


def write_partition(s: Session, outcomes: Sequence[Outcome], user_id: int | None) -> list[Change]:
    """Keep a partition's results, in the caller's transaction: a new scrub run per claim with its
    findings (the biller's overrides carried over, as on one claim's re-scrub), the claim's status
    and work status, and a `rescrub` audit entry per claim whose errors changed. Returns the claims
    whose status or errors changed. The one place a re-scrub writes (a bulk writer can take it over)."""
    pks = [o.pk for o in outcomes]
    previous = _latest_runs(s, pks)
    uncoded = {o.pk for o in outcomes if o.enc.lines is None}
    full = (
        {r.id: r for r in s.scalars(select(m.Encounter).where(m.Encounter.id.in_(sorted(uncoded))))}
        if uncoded
        else {}
    )
    runs: list[m.ScrubRun] = []
    settled: list[dict[str, Any]] = []
    changes: list[Change] = []
    for o in outcomes:
        run = services.new_run(o.pk, o.result, user_id)
        prev = previous.get(o.pk)
        carry_overrides(prev, run)  # the biller's overrides stay, as on a single claim's re-scrub
        row = full.get(o.pk)
        if row is not None:
            services.keep_coded_lines(row, o.enc, o.result)
        else:  # a stand-in holding what settling the status reads and writes
            row = m.Encounter(id=o.pk, status=o.status, work_status=o.work_status)
        row.status = run.status
        settle_work_status(row, run)
        if o.pk not in full and (row.status, row.work_status) != (o.status, o.work_status):
            settled.append({"id": o.pk, "status": row.status, "work_status": row.work_status})
        runs.append(run)
        old_status = prev.status if prev is not None else None
        old = _errors(prev.findings) if prev is not None else set()
        now = _errors(run.findings)
        if now == old and old_status == run.status:
            continue
        change = Change(
            o.pk, o.claim_id, o.practice_id, old_status, run.status, sorted(now - old), sorted(old - now)
        )
        changes.append(change)
        if change.new_errors or change.resolved_errors:
            services.audit(
                s, user_id, "rescrub", "encounter", o.pk, o.practice_id,
                new_errors=change.new_errors, resolved_errors=change.resolved_errors,
            )  # fmt: skip
    run_cols = ("encounter_pk", "status", "policy_id", "editions", "not_checked", "fixed_lines", "user_id")
    finding_cols = (
        "edit", "severity", "line", "code", "message", "fix", "override_reason", "overridden_by", "overridden_at"
    )  # fmt: skip
    ids: list[int] = []
    for part in chunks(runs, WRITE_ROWS):
        ids += s.scalars(
            insert(m.ScrubRun).returning(m.ScrubRun.id, sort_by_parameter_order=True),
            [{c: getattr(r, c) for c in run_cols} for r in part],
        )
    findings = [
        {"run_id": run_id, **{c: getattr(f, c) for c in finding_cols}}
        for run_id, run in zip(ids, runs, strict=True)
        for f in run.findings
    ]
    for fpart in chunks(findings, WRITE_ROWS):
        s.execute(insert(m.Finding), list(fpart))
    if settled:
        s.execute(update(m.Encounter), settled)
    s.flush()
    if uncoded:  # claims coded by this scrub: their stored services follow their new lines
        refresh_services(s, sorted(uncoded))
    return changes


def _latest_runs(s: Session, pks: Sequence[int]) -> dict[int, m.ScrubRun]:
    """Each claim's latest scrub run (status, and the findings that matter to a re-scrub: errors and
    overridden ones), as detached objects."""
    out: dict[int, m.ScrubRun] = {}
    for part in chunks(sorted(pks)):
        latest = (
            select(func.max(m.ScrubRun.id))
            .where(m.ScrubRun.encounter_pk.in_(part))
            .group_by(m.ScrubRun.encounter_pk)
        )
        by_id: dict[int, m.ScrubRun] = {}
        for run_id, pk, status in s.execute(
            select(m.ScrubRun.id, m.ScrubRun.encounter_pk, m.ScrubRun.status).where(m.ScrubRun.id.in_(latest))
        ):
            by_id[run_id] = out[pk] = m.ScrubRun(id=run_id, encounter_pk=pk, status=status, findings=[])
        for f in s.execute(
            select(
                m.Finding.run_id, m.Finding.edit, m.Finding.severity, m.Finding.line, m.Finding.code,
                m.Finding.override_reason, m.Finding.overridden_by, m.Finding.overridden_at,
            ).where(
                m.Finding.run_id.in_(latest),
                or_(m.Finding.severity == "error", m.Finding.override_reason.is_not(None)),
            ).order_by(m.Finding.id)
        ):  # fmt: skip
            by_id[f.run_id].findings.append(
                m.Finding(
                    edit=f.edit, severity=f.severity, line=f.line, code=f.code, message="",
                    override_reason=f.override_reason, overridden_by=f.overridden_by,
                    overridden_at=f.overridden_at,
                )
            )  # fmt: skip
    return out


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
    `redis_url` (default: PAINRCM_REDIS_URL) is set. `partitions`: how many pieces (default:
    `partition_count`). A partition whose worker died is run again (it wrote nothing, or its
    marker says what it wrote); one that fails `ATTEMPTS` times stops the re-scrub with its name."""
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
    parts = partition(claims, partitions or partition_count(len(claims), workers))
    report = Report(
        claims=len(claims), partitions=len(parts), workers=workers, runner="rq" if redis_url else "local"
    )
    t0 = time.perf_counter()
    if not parts:
        return report
    token = uuid.uuid4().hex
    if redis_url:
        results = _on_rq(redis_url, database_url, parts, user_id, token, on_partition, timeout)
    else:
        results = _on_pool(database_url, parts, workers, user_id, token, on_partition)
    report.seconds = time.perf_counter() - t0
    for r in results:
        report.changes += [Change(**c) for c in r["changes"]]
        report.cpu_seconds += r.get("cpu_seconds", 0.0)
    report.worker_processes = sorted({r["worker"] for r in results})
    report.changes.sort(key=lambda c: (c.practice_id, c.claim_id))
    return report


def _on_pool(
    database_url: str,
    parts: list[list[int]],
    workers: int,
    user_id: int | None,
    token: str,
    on_partition: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    done: dict[int, dict[str, Any]] = {}
    if workers <= 1:
        engine = current_engine()
        db = Database(database_url, migrate=False)
        try:
            for i, p in enumerate(parts):
                done[i] = rescrub_partition(database_url, p, user_id, engine, token, i, db=db)
                if on_partition:
                    on_partition(len(done), len(parts))
        finally:
            db.engine.dispose()
        return [done[i] for i in range(len(parts))]
    for attempt in range(1, ATTEMPTS + 1):
        todo = [i for i in range(len(parts)) if i not in done]
        # spawned, not forked: each process loads the reference data and payer files as they are now,
        # once, and keeps them (and its database connection) for every partition it runs
        ctx = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {
                    i: pool.submit(
                        rescrub_partition, database_url, parts[i], user_id, None, token, i, attempt
                    )
                    for i in todo
                }
                for i, f in futures.items():
                    done[i] = f.result()
                    if on_partition:
                        on_partition(len(done), len(parts))
            break
        except BrokenProcessPool:
            # a process died (killed, out of memory): its partition's transaction never committed,
            # or committed with its marker; run what has no answer again
            if attempt == ATTEMPTS:
                missing = len(parts) - len(done)
                raise RuntimeError(
                    f"re-scrub: {missing} partition(s) lost their worker process {ATTEMPTS} times; "
                    "nothing of them was written, run the re-scrub again"
                ) from None
    return [done[i] for i in range(len(parts))]


def _worker_lost(job: Any, connection: Any) -> bool:
    """A started job whose RQ worker is gone: on this machine its process no longer exists;
    elsewhere its heartbeat stopped (RQ beats every monitoring interval, 30 s by default)."""
    from rq import Worker

    name = getattr(job, "worker_name", None)
    if not name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=connection)
    if worker is None:
        return True
    if worker.hostname == socket.gethostname() and worker.pid:
        try:
            os.kill(worker.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    beat = worker.last_heartbeat
    return beat is not None and (datetime.now(UTC) - beat.replace(tzinfo=UTC)).total_seconds() > STALE_SECONDS


STALE_SECONDS = 120  # no heartbeat for this long: a worker on another machine is gone


def _on_rq(
    redis_url: str,
    database_url: str,
    parts: list[list[int]],
    user_id: int | None,
    token: str,
    on_partition: Callable[[int, int], None] | None,
    timeout: float,
) -> list[dict[str, Any]]:
    from redis import Redis
    from rq import Queue
    from rq.job import JobStatus

    from painrcm.store.jobs import RQ_QUEUE

    connection = Redis.from_url(redis_url)
    queue = Queue(os.environ.get("PAINRCM_RQ_QUEUE", RQ_QUEUE), connection=connection)

    def enqueue(i: int, attempt: int) -> Any:
        return queue.enqueue(
            rescrub_partition, database_url, parts[i], user_id, None, token, i, attempt,
            job_timeout=int(timeout), result_ttl=3600, failure_ttl=86400,
            description=f"painrcm rescrub partition {i + 1}/{len(parts)} (attempt {attempt})",
        )  # fmt: skip

    jobs = {i: (enqueue(i, 1), 1) for i in range(len(parts))}
    deadline = time.monotonic() + timeout
    done: dict[int, dict[str, Any]] = {}
    next_check = 0.0
    pause = 0.02
    while len(done) < len(parts):
        checking = time.monotonic() >= next_check
        pending = [i for i in jobs if i not in done]
        with connection.pipeline(transaction=False) as pipe:  # every pending job's status in one round trip
            for i in pending:
                pipe.hget(jobs[i][0].key, "status")
            statuses = pipe.execute()
        for i, raw in zip(pending, statuses, strict=True):
            job, attempt = jobs[i]
            status = JobStatus(raw.decode()) if raw else None
            if status == JobStatus.FINISHED:
                done[i] = job.return_value()
                if on_partition:
                    on_partition(len(done), len(parts))
                continue
            lost = False
            if status == JobStatus.STARTED and checking:
                job.refresh()  # the worker that took it
                lost = _worker_lost(job, connection)
            if lost or status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, None):
                why = "its worker died" if lost else f"job {status.value if status else 'expired'}"
                if attempt >= ATTEMPTS:
                    raise RuntimeError(
                        f"re-scrub partition {i + 1} of {len(parts)} ({len(parts[i])} claims): {why} "
                        f"{ATTEMPTS} times (RQ job {job.id}); nothing of it was written, run the re-scrub again"
                    )
                if lost:
                    job.cancel()  # if the worker was only slow, its late answer is not used
                jobs[i] = (enqueue(i, attempt + 1), attempt + 1)
        if checking:
            next_check = time.monotonic() + 1.0
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"re-scrub: {len(parts) - len(done)} partitions still running after {timeout:.0f} s"
            )
        if len(done) < len(parts):
            # answers within a fraction of a second without spending the coordinator's CPU on polling
            time.sleep(pause)
            pause = min(0.5, pause * 1.5)
    return [done[i] for i in range(len(parts))]
