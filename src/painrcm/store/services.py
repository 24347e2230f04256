"""Workspace operations over the database: identity, saving claims, scrubbing with the database as
the history source, audit. The API, web app and imports call these; none of them writes SQL of its
own for these concerns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from painrcm.history import History
from painrcm.history.auths import AuthLog
from painrcm.model import ClaimResult, Line, Patient
from painrcm.model import Encounter as EncounterModel
from painrcm.scrub import Engine, scrub_encounter
from painrcm.store import bulk
from painrcm.store import models as m
from painrcm.store.db import defer_write
from painrcm.store.service_rows import refresh_services

if TYPE_CHECKING:
    from painrcm.store.histories import Book


def identity(p: Patient) -> tuple[str | None, str | None]:
    return bulk.identity(p)


def find_or_create_person(s: Session, p: Patient) -> m.Person:
    """One person across practices: member ID + date of birth, or name + date of birth (the stored
    person with the lowest ID sharing either key, who learns the other key when this record brings it)."""
    person = s.get(m.Person, bulk.resolve_persons(s, [p])[0])
    assert person is not None
    return person


def ensure_practice(s: Session, enc: EncounterModel) -> m.Practice:
    pid = enc.practice.id or enc.practice.npi or "UNKNOWN"
    practice = s.get(m.Practice, pid)
    if practice is None:
        practice = m.Practice(
            id=pid,
            name=enc.practice.name or pid,
            npi=enc.practice.npi,
            tax_id=enc.practice.tax_id,
            kind=enc.practice.kind,
            state=enc.practice.state,
        )
        s.add(practice)
        s.flush()
    return practice


def _lines(enc: EncounterModel) -> list[m.ClaimLine]:
    return [m.ClaimLine(**v) for v in bulk.line_values(enc.lines)]


def save_encounter(
    s: Session,
    enc: EncounterModel,
    *,
    source: str | None = None,
    practice_id: str | None = None,
    work_status: str = "open",
    user_id: int | None = None,
    reason: str | None = None,
) -> tuple[m.Encounter, bool]:
    """Store one claim; the same practice and encounter ID again updates it only when it changed.
    Returns the row and whether anything changed (imports are idempotent); the claim's stored services
    are brought up to date with it (``service_rows.refresh_services``, in ``bulk.save_claims``).

    Every change is a claim version (``store/versions.py``): a changed re-upload of a claim not yet
    submitted is a new version, of a submitted claim a corrected claim (frequency 7, back to work).
    This is ``bulk.save_claims`` for one claim (an import decides its claims with the same code)."""
    practice = s.get(m.Practice, practice_id) if practice_id else ensure_practice(s, enc)
    if practice is None:
        raise ValueError(f"unknown practice {practice_id}")
    [saved] = bulk.save_claims(
        s, [(enc, practice.id)], source=source, work_status=work_status, user_id=user_id, reason=reason
    )
    row = s.get(m.Encounter, saved.pk)
    assert row is not None
    return row, saved.changed


def to_model(row: m.Encounter) -> EncounterModel:
    return EncounterModel.model_validate(row.document)


def person_history(s: Session, person: m.Person, engine: Engine) -> History:
    """The database as a history source: every stored encounter of this person, at any practice,
    matched by either identity key (the engine cannot tell this from a folder of files)."""
    conds = [
        c
        for c in (
            m.Person.member_key == person.member_key if person.member_key else None,
            m.Person.name_key == person.name_key if person.name_key else None,
        )
        if c is not None
    ]
    ids = set(s.scalars(select(m.Person.id).where(or_(*conds)))) if conds else {person.id}
    ids.add(person.id)
    rows = s.scalars(select(m.Encounter).where(m.Encounter.person_id.in_(ids))).all()
    return History.from_encounters((to_model(r) for r in rows), engine.reference)


def auth_log(s: Session, person: m.Person) -> AuthLog:
    rows = s.scalars(
        select(m.Authorization).where(
            or_(m.Authorization.person_id == person.id, m.Authorization.member_id == (person.member_id or ""))
        )
    ).all()
    return auth_rows(rows)


def auth_rows(rows: Iterable[m.Authorization]) -> AuthLog:
    """Stored authorizations as the engine's authorization log."""
    return AuthLog.from_rows(
        (
            {
                "auth_number": a.auth_number,
                "payer_id": a.payer_id,
                "member_id": a.member_id,
                "codes": " ".join(a.codes),
                "sessions": a.sessions,
                "start_date": a.start_date.isoformat(),
                "end_date": a.end_date.isoformat(),
                "rendering_npi": a.rendering_npi or "",
                "status": a.status,
            }
            for a in rows
        ),
        source="database",
    )


def scrub_row(
    s: Session, row: m.Encounter, engine: Engine, user_id: int | None = None, book: Book | None = None
) -> m.ScrubRun:
    """Scrub a stored claim against everything the database knows of the patient; keep the run.
    `book`: the patients' histories fetched beforehand for many claims (imports, re-scrubs)."""
    enc, result = scrub_stored(s, row, engine, book)
    return keep_run(s, row, enc, result, user_id, book)


def scrub_stored(
    s: Session,
    row: m.Encounter,
    engine: Engine,
    book: Book | None = None,
    enc: EncounterModel | None = None,
) -> tuple[EncounterModel, ClaimResult]:
    """The scrub result of a stored claim (nothing written). `enc`: the claim's stored document,
    already validated in the same transaction (a re-scrub's book holds it)."""
    return scrub_document(s, row.person_id, row.document, engine, book, enc)


def scrub_document(
    s: Session | None,
    person_id: int,
    document: dict[str, Any],
    engine: Engine,
    book: Book | None = None,
    enc: EncounterModel | None = None,
) -> tuple[EncounterModel, ClaimResult]:
    """The scrub result of a stored claim's document against everything the database knows of its
    person (from `book` when it holds them; then no session is needed: `s` may be None)."""
    enc = enc or EncounterModel.model_validate(document)
    person = book.persons.get(person_id) if book is not None else None
    if book is not None and person is not None:
        history, auths = book.history(person), book.auth_log(person)
    else:
        if s is None:
            raise ValueError(f"person {person_id} is not in the book and there is no session to read")
        person = s.get(m.Person, person_id)
        assert person is not None
        history, auths = person_history(s, person, engine), auth_log(s, person)
    return enc, scrub_encounter(enc, engine, history=history, auths=auths, fix=True)


def keep_run(
    s: Session,
    row: m.Encounter,
    enc: EncounterModel,
    result: ClaimResult,
    user_id: int | None = None,
    book: Book | None = None,
    flush: bool = True,
) -> m.ScrubRun:
    """Store a scrub result as the claim's latest run (and the coded lines of a claim stored without).
    `flush=False`: the caller flushes once for many claims."""
    run = new_run(row.id, result, user_id)
    s.add(run)
    row.status = result.status
    if enc.lines is None:  # coded on the way in: keep the coded lines as the claim's lines
        keep_coded_lines(row, enc, result)
        if book is not None:
            book.replaced(row)
        refresh_services(s, [row.id])
    if flush:
        s.flush()
    return run


def new_run(encounter_pk: int, result: ClaimResult, user_id: int | None = None) -> m.ScrubRun:
    """A scrub result as a (not yet stored) scrub run with its findings."""
    return m.ScrubRun(
        encounter_pk=encounter_pk,
        **bulk.run_values(result, user_id),
        findings=[m.Finding(**f) for f in bulk.finding_values(result)],
    )


def keep_coded_lines(row: m.Encounter, enc: EncounterModel, result: ClaimResult) -> None:
    """A claim stored without lines was coded by its scrub: keep the coded lines as its lines (the
    caller refreshes its stored services, ``service_rows.refresh_services``)."""
    row.document = bulk.coded_document(row.document, result.lines)
    row.lines = _lines(enc.model_copy(update={"lines": result.lines}))


def compute_scrub(s: Session, row: m.Encounter, engine: Engine) -> tuple[EncounterModel, ClaimResult]:
    """Scrub a stored claim against everything the database knows of the patient (reads only): the
    imports scrub outside their write transactions with this, then keep the run with `store_scrub`."""
    return scrub_stored(s, row, engine)


def store_scrub(
    s: Session, row: m.Encounter, enc: EncounterModel, result: ClaimResult, user_id: int | None = None
) -> m.ScrubRun:
    """Keep a scrub's run and the claim's new status (and its coded lines, when it came without)."""
    return keep_run(s, row, enc, result, user_id)


def latest_run(row: m.Encounter) -> m.ScrubRun | None:
    return row.scrub_runs[-1] if row.scrub_runs else None


def apply_fixed_lines(s: Session, row: m.Encounter, lines: Iterable[dict[str, Any]]) -> None:
    """Replace the claim's lines (the one-click safe fix). The old lines stay in the audit log."""
    new = [Line.model_validate({k: v for k, v in d.items() if k != "line"}) for d in lines]
    enc = to_model(row).model_copy(update={"lines": new})
    row.document = enc.model_dump(mode="json", by_alias=True, exclude_none=True)
    row.lines = _lines(enc)
    row.work_status = "fixed"
    s.flush()
    refresh_services(s, [row.id])


def audit(
    s: Session,
    user_id: int | None,
    action: str,
    object_type: str,
    object_id: Any = None,
    practice_id: str | None = None,
    **detail: Any,
) -> None:
    """Append to the audit log (never updated or deleted). Detail must hold no PHI beyond IDs.

    A read's entry is written after the read's own transaction, in a short one of its own
    (``db.defer_write``): a busy database never turns a successful read into an error."""
    entry = m.AuditEntry(**bulk.audit_values(user_id, action, object_type, object_id, practice_id, **detail))
    if action == "read":
        defer_write(s, lambda ws: ws.add(entry))
    else:
        s.add(entry)


def today() -> date:
    return datetime.now(UTC).date()
