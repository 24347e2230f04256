"""Workspace operations over the database: identity, saving claims, scrubbing with the database as
the history source, audit. The API, web app and imports call these; none of them writes SQL of its
own for these concerns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from painrcm.history import History, member_key, name_key
from painrcm.history.auths import AuthLog
from painrcm.model import ClaimResult, Line, Patient
from painrcm.model import Encounter as EncounterModel
from painrcm.scrub import Engine, scrub_encounter
from painrcm.store import models as m
from painrcm.store import versions
from painrcm.store.db import defer_write

if TYPE_CHECKING:
    from painrcm.store.histories import Book


def _key(k: tuple[str, str] | None) -> str | None:
    return None if k is None else f"{k[0]}|{k[1]}"


def identity(p: Patient) -> tuple[str | None, str | None]:
    return _key(member_key(p.member_id, p.dob)), _key(name_key(p.last_name, p.first_name, p.dob))


def find_or_create_person(s: Session, p: Patient) -> m.Person:
    """One person across practices: member ID + date of birth, or name + date of birth."""
    mk, nk = identity(p)
    conds = [
        c
        for c in (m.Person.member_key == mk if mk else None, m.Person.name_key == nk if nk else None)
        if c is not None
    ]
    person = (
        s.scalars(select(m.Person).where(or_(*conds)).order_by(m.Person.id).limit(1)).first()
        if conds
        else None
    )
    if person is None:
        person = m.Person(
            member_key=mk,
            name_key=nk,
            member_id=p.member_id,
            last_name=p.last_name,
            first_name=p.first_name,
            dob=p.dob,
            sex=p.sex,
        )
        s.add(person)
        s.flush()
    else:
        # learn the other key when a later record brings it
        person.member_key = person.member_key or mk
        person.name_key = person.name_key or nk
        person.member_id = person.member_id or p.member_id
        person.last_name = person.last_name or p.last_name
        person.first_name = person.first_name or p.first_name
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
    return [
        m.ClaimLine(
            line_no=i,
            code=ln.code,
            modifiers=list(ln.modifiers),
            units=ln.units,
            diagnosis_pointers=list(ln.diagnosis_pointers or []),
            date_of_service=ln.date_of_service,
            authorization_number=ln.authorization_number,
            charge=ln.charge,
            control_number=ln.control_number,
        )
        for i, ln in enumerate(enc.lines or [], 1)
    ]


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
    Returns the row and whether anything changed (imports are idempotent).

    Every change is a claim version (``store/versions.py``): a changed re-upload of a claim not yet
    submitted is a new version, of a submitted claim a corrected claim (frequency 7, back to work)."""
    practice = s.get(m.Practice, practice_id) if practice_id else ensure_practice(s, enc)
    if practice is None:
        raise ValueError(f"unknown practice {practice_id}")
    doc = enc.model_dump(mode="json", by_alias=True, exclude_none=True)
    row = s.scalars(
        select(m.Encounter).where(
            m.Encounter.practice_id == practice.id, m.Encounter.encounter_id == enc.encounter_id
        )
    ).first()
    if row is not None and row.document == doc:
        return row, False
    person = find_or_create_person(s, enc.patient)
    chart = s.scalars(
        select(m.Chart).where(m.Chart.practice_id == practice.id, m.Chart.person_id == person.id)
    ).first()
    if chart is None:
        s.add(m.Chart(practice_id=practice.id, person_id=person.id, chart_id=enc.patient.id))
    if s.get(m.Payer, enc.payer.id) is None:
        s.add(m.Payer(id=enc.payer.id, name=enc.payer.name or enc.payer.id, plan=enc.payer.plan))
    charge = sum((ln.charge or 0) for ln in enc.lines or []) or None
    before = None if row is None else dict(row.document)
    linked = [] if row is None else versions.detach_remits(s, row)
    if row is None:
        row = m.Encounter(practice_id=practice.id, encounter_id=enc.encounter_id, work_status=work_status)
        s.add(row)
    row.person_id = person.id
    row.payer_id = enc.payer.id
    row.date_of_service = enc.date_of_service
    row.place_of_service = enc.place_of_service
    row.rendering_npi = enc.rendering_provider.npi
    row.document = doc
    row.total_charge = charge
    row.source = source
    row.status = "unscrubbed"
    row.lines = _lines(enc)
    s.flush()
    versions.relink_remits(row, linked)
    _new_version(s, row, before, source=source, user_id=user_id, reason=reason)
    return row, True


def _new_version(
    s: Session,
    row: m.Encounter,
    before: dict[str, Any] | None,
    *,
    source: str | None,
    user_id: int | None,
    reason: str | None,
) -> None:
    if row.work_status == "history":
        return
    where = f" in {source}" if source else ""
    before_status = row.work_status
    if before is None:
        versions.record(s, row, kind="upload", before=None, user_id=user_id, reason=reason, source=source)
        # a person's upload shows on the claim's trail (the API writes its own "create" entry; loads
        # without a user are in their import job's entry)
        if user_id is not None and source != "api":
            audit(s, user_id, "import", "claim", row.id, row.practice_id, source=source, version=1)
        return
    if row.work_status == "submitted":
        version = versions.record(
            s,
            row,
            kind="corrected",
            before=before,
            user_id=user_id,
            reason=reason or f"re-uploaded after submission{where}",
            source=source,
            frequency_code="7",
            payer_claim_number=versions.payer_claim_number(s, row.id),
        )
        row.work_status = "open"
    else:
        version = versions.record(
            s,
            row,
            kind="reupload",
            before=before,
            user_id=user_id,
            reason=reason or f"re-uploaded with changes{where}",
            source=source,
        )
        if row.work_status in ("fixed", "overridden"):
            row.work_status = "open"
    audit(
        s,
        user_id,
        "reupload",
        "claim",
        row.id,
        row.practice_id,
        reason=version.reason,
        version=version.number,
        frequency_code=version.frequency_code,
        payer_claim_number=version.payer_claim_number,
        changes=version.diff,
        before={"work_status": before_status},
        after={"work_status": row.work_status},
    )


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
    enc = enc or to_model(row)
    person = book.persons.get(row.person_id) if book is not None else None
    person = person or s.get(m.Person, row.person_id)
    assert person is not None
    if book is not None and person.id in book.persons:
        history, auths = book.history(person), book.auth_log(person)
    else:
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
    if flush:
        s.flush()
    return run


def new_run(encounter_pk: int, result: ClaimResult, user_id: int | None = None) -> m.ScrubRun:
    """A scrub result as a (not yet stored) scrub run with its findings."""
    return m.ScrubRun(
        encounter_pk=encounter_pk,
        status=result.status,
        policy_id=result.payer_policy,
        editions=result.editions,
        not_checked=[n.model_dump() for n in result.not_checked],
        fixed_lines=None
        if result.fixed_lines is None
        else [ln.contract_dict(i) for i, ln in enumerate(result.fixed_lines, 1)],
        user_id=user_id,
        findings=[
            m.Finding(
                edit=f.edit, severity=f.severity.value, line=f.line, code=f.code, message=f.message, fix=f.fix
            )
            for f in result.findings
        ],
    )


def keep_coded_lines(row: m.Encounter, enc: EncounterModel, result: ClaimResult) -> None:
    """A claim stored without lines was coded by its scrub: keep the coded lines as its lines."""
    row.document = {
        **row.document,
        "lines": [ln.model_dump(mode="json", exclude_none=True) for ln in result.lines],
    }
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
    entry = m.AuditEntry(
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        practice_id=practice_id,
        detail=detail,
        at=datetime.now(UTC),
    )
    if action == "read":
        defer_write(s, lambda ws: ws.add(entry))
    else:
        s.add(entry)


def today() -> date:
    return datetime.now(UTC).date()
