"""Imports into the workspace database: encounter JSON, 837P, 835 and authorization logs.

Every import is
- **all-or-nothing**: the whole file is read and checked before anything is written, and everything
  is written in the caller's one transaction. A bad file raises ``InputError`` naming the file, the
  place and what was expected; nothing is stored (``Database.session()`` rolls back on the error).
- **idempotent**: an ``ImportJob`` row remembers each file by (kind, sha256, practice). The same file
  again returns ``duplicate=True`` and adds nothing; beyond that, claims are saved by (practice,
  encounter ID) only when they changed, authorizations are upserted by (practice, number, payer,
  member) and a remittance already stored for the practice (same trace number, payer and amount) is
  skipped.

Claims imported for work are scrubbed against everything the database knows of the patient after the
whole file is saved (so the file's own earlier services count too); ``work_status="history"``
imports earlier services without scrubbing them.

Nothing here logs PHI: log lines carry import IDs, kinds and counts only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from painrcm.errors import InputError
from painrcm.history.auths import COLUMNS as AUTH_COLUMNS
from painrcm.history.auths import AuthLog
from painrcm.history.auths import Authorization as AuthRecord
from painrcm.inputs import encounter_from_obj
from painrcm.model import Encounter as EncounterModel
from painrcm.remit.codes import code_table
from painrcm.remit.explain import ExplainedLine, explain_remittance
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.histories import Book
from painrcm.x12.reader835 import read_835
from painrcm.x12.reader837 import read_837
from painrcm.x12.remit_model import Remittance as RemitModel

log = logging.getLogger("painrcm.store.imports")

KINDS = ("encounters", "x12_837", "x12_835", "auths")
Progress = Callable[[int, int], None]
PROGRESS_EVERY = 25

_TRIVIAL = 0.005


@dataclass
class ImportResult:
    kind: str
    file_name: str
    file_hash: str
    practice_id: str | None
    import_id: int | None = None
    duplicate: bool = False  # the same file was imported before: nothing added
    records: int = 0  # claims, remittance claims or authorizations in the file
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    scrubbed: int = 0
    encounter_pks: list[int] = field(default_factory=list)
    remittance_ids: list[int] = field(default_factory=list)
    authorization_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.duplicate:
            return "this file was imported before; nothing added"
        return (
            f"{self.records} record(s): {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged" + (f", {self.scrubbed} scrubbed" if self.scrubbed else "")
        )


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_job(s: Session, kind: str, digest: str, practice_id: str | None) -> m.ImportJob | None:
    """The import row of this file (NULL practice compares equal here, unlike in the unique index)."""
    cond = (
        m.ImportJob.practice_id.is_(None) if practice_id is None else m.ImportJob.practice_id == practice_id
    )
    return s.scalars(
        select(m.ImportJob)
        .where(m.ImportJob.kind == kind, m.ImportJob.file_hash == digest, cond)
        .order_by(m.ImportJob.id)
        .limit(1)
    ).first()


class _Ticker:
    """Calls the progress callback every `every` steps and at the end."""

    def __init__(self, progress: Progress | None, total: int, every: int = PROGRESS_EVERY) -> None:
        self.progress, self.total, self.every, self.done = progress, total, max(1, every), 0

    def start(self) -> None:
        if self.progress:
            self.progress(0, self.total)

    def step(self, n: int = 1) -> None:
        before = self.done
        self.done = min(self.total, self.done + n)
        if self.progress and (self.done // self.every != before // self.every or self.done == self.total):
            self.progress(self.done, self.total)


# --- reading (no database writes) ---------------------------------------------------------------


def _text(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(file, f"byte {e.start}", "UTF-8 text") from e


def _json(data: bytes, file: str) -> Any:
    text = _text(data, file)
    if not text.strip():
        raise InputError(file, None, "a non-empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(file, f"line {e.lineno}, column {e.colno}", f"valid JSON ({e.msg})") from e


def read_encounter_json(data: bytes, file: str) -> tuple[list[EncounterModel], list[str]]:
    """The encounters of a JSON file (one object or a list) and each one's place (a JSON path)."""
    obj = _json(data, file)
    if isinstance(obj, list):
        if not obj:
            raise InputError(file, "$", "at least one encounter in the list")
        places = [f"$[{i}]" for i in range(len(obj))]
        return [encounter_from_obj(o, file, p) for o, p in zip(obj, places, strict=True)], places
    return [encounter_from_obj(obj, file)], ["$"]


def read_837_claims(data: bytes, file: str) -> tuple[list[EncounterModel], list[str]]:
    """Every claim must read: one claim problem refuses the whole file (all-or-nothing)."""
    result = read_837(_text(data, file), file)
    if result.problems:
        first = result.problems[0]
        more = len(result.problems) - 1
        note = (
            f" (and {more} more claim problem(s); nothing was imported)"
            if more
            else " (nothing was imported)"
        )
        raise InputError(first.file or file, first.place, first.expected + note)
    if not result.claims:
        raise InputError(file, None, "at least one 837P claim")
    return list(result.claims), [str(w) for w in result.warnings]


def read_auth_log(data: bytes, file: str) -> list[AuthRecord]:
    """An authorization log (CONTRACTS.md section 3) from bytes: CSV with a header row, or a JSON list."""
    text = _text(data, file)
    if text.lstrip().startswith(("[", "{")):
        rows = _json(data, file)
        if not isinstance(rows, list):
            raise InputError(file, "$", "a JSON list of authorization records")
    else:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in AUTH_COLUMNS if c not in header]
        if missing:
            raise InputError(
                file, "header row", f"the columns {', '.join(AUTH_COLUMNS)} (missing {', '.join(missing)})"
            )
        rows = [{(k or "").strip(): v for k, v in r.items()} for r in reader]
    if not rows:
        raise InputError(file, None, "at least one authorization record")
    return AuthLog.from_rows(rows, file).all()


# --- practices ----------------------------------------------------------------------------------


def _require_practice(s: Session, practice_id: str, file: str) -> m.Practice:
    practice = s.get(m.Practice, practice_id)
    if practice is None:
        raise InputError(
            file, None, f"an existing practice to import into (there is no practice {practice_id!r})"
        )
    return practice


def _practice_for(s: Session, enc: EncounterModel, practice_id: str | None, file: str, place: str) -> str:
    """The practice a claim is stored under: the upload's practice, else the claim's own (by ID or NPI)."""
    if practice_id is not None:
        if enc.practice.id and enc.practice.id != practice_id:
            raise InputError(
                file,
                f"{place}.practice.id",
                f"practice {practice_id!r}, the practice this file is imported into "
                f"(got {enc.practice.id!r})",
            )
        return practice_id
    if enc.practice.id:
        return services.ensure_practice(s, enc).id
    if enc.practice.npi:
        found = s.scalars(
            select(m.Practice).where(m.Practice.npi == enc.practice.npi).order_by(m.Practice.id)
        ).first()
        if found is not None:
            return found.id
    if not enc.practice.npi:
        raise InputError(
            file, place, "a practice (practice.id or NPI), or choose the practice when importing"
        )
    return services.ensure_practice(s, enc).id


# --- writing ------------------------------------------------------------------------------------


def _save_claims(
    s: Session,
    engine: Engine,
    encs: Sequence[EncounterModel],
    places: Sequence[str],
    result: ImportResult,
    *,
    file: str,
    json_places: bool,
    user_id: int | None,
    work_status: str,
    scrub: bool,
    progress: Progress | None,
) -> None:
    # Resolve every practice before writing a claim (a bad practice refuses the file, nothing half-saved).
    practices = [_practice_for(s, e, result.practice_id, file, p) for e, p in zip(encs, places, strict=True)]
    seen: dict[tuple[str, str], str] = {}
    for enc, pid, place in zip(encs, practices, places, strict=True):
        if (pid, enc.encounter_id) in seen:
            raise InputError(
                file,
                f"{place}.encounter_id" if json_places else place,
                f"a unique encounter ID in the file ({enc.encounter_id!r} is also at {seen[(pid, enc.encounter_id)]})",
            )
        seen[(pid, enc.encounter_id)] = place
    ticker = _Ticker(progress, len(encs) * (2 if scrub else 1))
    ticker.start()
    changed: list[m.Encounter] = []
    for enc, pid in zip(encs, practices, strict=True):
        existed = s.scalars(
            select(m.Encounter.id).where(
                m.Encounter.practice_id == pid, m.Encounter.encounter_id == enc.encounter_id
            )
        ).first()
        row, did = services.save_encounter(s, enc, source=file, practice_id=pid, work_status=work_status)
        result.encounter_pks.append(row.id)
        if not did:
            result.unchanged += 1
        else:
            changed.append(row)
            if existed is None:
                result.added += 1
            else:
                result.updated += 1
        ticker.step()
    if not scrub:
        return
    ticker.step(len(encs) - len(changed))
    # the patients' histories and authorizations in a few queries for the whole file, not one per claim
    book = Book.for_rows(s, engine, changed)
    for row in sorted(changed, key=lambda r: (r.date_of_service, r.id)):
        services.scrub_row(s, row, engine, user_id, book=book)
        result.scrubbed += 1
        ticker.step()


def _member_index(s: Session, practice_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """Normalized member ID -> person ID: persons charted at this practice first, then anyone."""

    def norm(v: str) -> str:
        return "".join(v.split()).upper()

    local: dict[str, int] = {}
    for pid, mid in s.execute(
        select(m.Person.id, m.Person.member_id)
        .join(m.Chart, m.Chart.person_id == m.Person.id)
        .where(m.Chart.practice_id == practice_id, m.Person.member_id.is_not(None))
        .order_by(m.Person.id)
    ):
        local.setdefault(norm(mid), pid)
    anywhere: dict[str, int] = {}
    for pid, mid in s.execute(
        select(m.Person.id, m.Person.member_id).where(m.Person.member_id.is_not(None)).order_by(m.Person.id)
    ):
        anywhere.setdefault(norm(mid), pid)
    return local, anywhere


def _save_auths(
    s: Session, records: Sequence[AuthRecord], result: ImportResult, progress: Progress | None, file: str
) -> None:
    if result.practice_id is None:
        raise InputError(
            file, None, "a practice to import the authorization log into (choose one when importing)"
        )
    practice_id = result.practice_id
    keys: dict[tuple[str, str, str], int] = {}
    for n, a in enumerate(records, 1):
        key = (a.auth_number, a.payer_id, a.member_id)
        if key in keys:
            raise InputError(
                file,
                f"record {n}",
                f"one record per authorization number, payer and member (same as record {keys[key]})",
            )
        keys[key] = n
    local, anywhere = _member_index(s, practice_id)
    ticker = _Ticker(progress, len(records))
    ticker.start()
    for a in records:
        norm = "".join(a.member_id.split()).upper()
        person_id = local.get(norm, anywhere.get(norm))
        values = {
            "person_id": person_id,
            "codes": list(a.codes),
            "sessions": a.sessions,
            "start_date": a.start_date,
            "end_date": a.end_date,
            "rendering_npi": a.rendering_npi,
            "status": a.status,
        }
        row = s.scalars(
            select(m.Authorization).where(
                m.Authorization.practice_id == practice_id,
                m.Authorization.auth_number == a.auth_number,
                m.Authorization.payer_id == a.payer_id,
                m.Authorization.member_id == a.member_id,
            )
        ).first()
        if row is None:
            row = m.Authorization(
                practice_id=practice_id,
                auth_number=a.auth_number,
                payer_id=a.payer_id,
                member_id=a.member_id,
                **values,
            )
            s.add(row)
            result.added += 1
        elif any(getattr(row, k) != v for k, v in values.items() if not (k == "person_id" and v is None)):
            for k, v in values.items():
                if k == "person_id" and v is None:
                    continue
                setattr(row, k, v)
            result.updated += 1
        else:
            result.unchanged += 1
        s.flush()
        result.authorization_ids.append(row.id)
        ticker.step()


# --- 835 ----------------------------------------------------------------------------------------


BILLER_ACTIONS = ("correct_and_resubmit", "appeal", "bill_patient", "bill_secondary")


def remit_line_row(
    practice_id: str, el: ExplainedLine, claim_line: m.ClaimLine | None, *, reversal: bool = False
) -> m.RemitLine:
    """One explained 835 service line as stored (imports and the demo seed share it): denied when
    nothing was paid or a CO/PR adjustment is a denial reason; open while a biller has something to do."""
    denied = _denied(el, reversal)
    return m.RemitLine(
        practice_id=practice_id,
        code=el.code,
        modifiers=list(el.modifiers),
        units=el.units,
        billed=el.billed,
        allowed=el.allowed,
        paid=el.paid,
        date_of_service=el.date_of_service,
        control_number=el.control_number,
        remarks=[r.code for r in el.remarks],
        explanation=el.explanation,
        next_action=el.next_action,
        preventing_edits=list(el.prevented_by),
        claim_line_id=claim_line.id if claim_line is not None else None,
        denied=denied,
        work_status="open" if denied or el.next_action in BILLER_ACTIONS else "resolved",
        adjustments=[
            m.RemitAdjustment(group_code=a.group, reason_code=a.reason, amount=a.amount, quantity=a.quantity)
            for a in el.adjustments
        ],
    )


def _denied(line: ExplainedLine, reversal: bool) -> bool:
    if reversal:
        return False
    if line.billed > _TRIVIAL and abs(line.paid) <= _TRIVIAL:
        return True
    return any(
        a.group in ("CO", "PR") and a.amount > _TRIVIAL and not _reduction(a.reason) for a in line.adjustments
    )


def _reduction(reason: str) -> bool:
    """A CAS reason that lowers a payment without denying the service (carc_rarc.yaml `reduction`)."""
    info = code_table().carc.get(reason)
    return info is not None and info.reduction


def _candidates(s: Session, pcns: set[str], practice_id: str | None) -> list[m.Encounter]:
    q = select(m.Encounter).where(m.Encounter.encounter_id.in_(sorted(pcns)))
    if practice_id is not None:
        q = q.where(m.Encounter.practice_id == practice_id)
    return list(s.scalars(q.order_by(m.Encounter.id)))


def _remit_practice(
    s: Session, rem: RemitModel, rows: list[m.Encounter], practice_id: str | None, file: str
) -> str:
    if practice_id is not None:
        return practice_id
    by_pcn: dict[str, set[str]] = {}
    for r in rows:
        by_pcn.setdefault(r.encounter_id, set()).add(r.practice_id)
    found = {next(iter(ps)) for ps in by_pcn.values() if len(ps) == 1}
    if rem.payee_id:
        found |= set(s.scalars(select(m.Practice.id).where(m.Practice.npi == rem.payee_id)))
    if len(found) == 1:
        return found.pop()
    where = f"segment {rem.segment} (ST)"
    if not found:
        raise InputError(
            file,
            where,
            "claims or a payee NPI that match a stored practice; none do, so choose the "
            "practice this remittance belongs to when importing",
        )
    raise InputError(
        file,
        where,
        f"claims of one practice (they match {', '.join(sorted(found))}); choose the practice when importing",
    )


def _already_stored(s: Session, practice_id: str, rem: RemitModel) -> bool:
    if not rem.trace_number:
        return False
    return (
        s.scalars(
            select(m.Remittance.id).where(
                m.Remittance.practice_id == practice_id,
                m.Remittance.trace_number == rem.trace_number,
                func.coalesce(m.Remittance.payer_name, "") == (rem.payer_name or ""),
                m.Remittance.payment_amount == rem.payment,
            )
        ).first()
        is not None
    )


def _save_remittance(
    s: Session, rem: RemitModel, practice_id: str, rows: list[m.Encounter], import_id: int | None
) -> m.Remittance:
    mine = [r for r in rows if r.practice_id == practice_id]
    report = explain_remittance(rem, [services.to_model(r) for r in mine])
    by_eid = {r.encounter_id: r for r in mine}
    out = m.Remittance(
        practice_id=practice_id,
        import_id=import_id,
        payer_name=rem.payer_name,
        trace_number=rem.trace_number,
        payment_amount=rem.payment,
        payment_date=rem.payment_date,
        reconciled=report.reconciliation.balanced,
    )
    for ec, rc in zip(report.claims, rem.claims, strict=True):
        enc_row = by_eid.get(ec.matched_encounter) if ec.matched_encounter else None
        claim = m.RemitClaim(
            practice_id=practice_id,
            patient_control_number=rc.patient_control_number,
            status_code=rc.status,
            billed=rc.billed,
            paid=rc.paid,
            patient_responsibility=rc.patient_responsibility or 0,
            payer_claim_number=rc.payer_claim_number,
            encounter_pk=enc_row.id if enc_row is not None else None,
        )
        for el in ec.lines:
            claim_line = None
            if el.match is not None and el.match.encounter_id in by_eid:
                claim_line = next(
                    (ln for ln in by_eid[el.match.encounter_id].lines if ln.line_no == el.match.line), None
                )
            line = remit_line_row(practice_id, el, claim_line, reversal=ec.reversal)
            claim.lines.append(line)
        out.claims.append(claim)
    s.add(out)
    s.flush()
    return out


def _import_835(s: Session, data: bytes, file: str, result: ImportResult, progress: Progress | None) -> None:
    read = read_835(_text(data, file), file)
    result.warnings.extend(str(w) for w in read.warnings)
    if not read.remittances:
        raise InputError(file, None, "at least one 835 transaction set")
    plans: list[tuple[RemitModel, str, list[m.Encounter]]] = []
    for rem in read.remittances:  # decide every practice before writing anything
        rows = _candidates(s, {c.patient_control_number for c in rem.claims}, result.practice_id)
        plans.append((rem, _remit_practice(s, rem, rows, result.practice_id, file), rows))
    ticker = _Ticker(progress, sum(len(rem.claims) for rem in read.remittances))
    ticker.start()
    for rem, pid, rows in plans:
        result.records += len(rem.claims)
        if _already_stored(s, pid, rem):
            result.unchanged += len(rem.claims)
        else:
            saved = _save_remittance(s, rem, pid, rows, result.import_id)
            result.remittance_ids.append(saved.id)
            result.added += len(rem.claims)
        ticker.step(len(rem.claims))


# --- entry point --------------------------------------------------------------------------------


def _job_row(
    s: Session,
    *,
    kind: str,
    digest: str,
    file_name: str,
    practice_id: str | None,
    user_id: int | None,
    job_id: int | None,
) -> m.ImportJob:
    if job_id is not None:
        job = s.get(m.ImportJob, job_id)
        if job is None:
            raise ValueError(f"no import job {job_id}")
        return job
    job = find_job(s, kind, digest, practice_id)
    if job is None:
        job = m.ImportJob(
            kind=kind,
            file_name=file_name[:300],
            file_hash=digest,
            practice_id=practice_id,
            status="running",
            created_by=user_id,
        )
        s.add(job)
        s.flush()
    return job


def import_bytes(
    s: Session,
    engine: Engine,
    *,
    kind: str,
    data: bytes,
    file_name: str,
    practice_id: str | None,
    user_id: int | None,
    progress: Progress | None = None,
    work_status: str = "open",
    scrub: bool | None = None,
    job_id: int | None = None,
) -> ImportResult:
    """Import one file of `kind` in the session's transaction (all-or-nothing, idempotent).

    ``job_id``: the ImportJob row a background job already created for this file (see store/jobs.py).
    ``scrub``: scrub the saved claims (default: unless ``work_status == "history"``).
    Raises InputError for a bad file; the caller must then roll back (``Database.session()`` does).
    """
    if kind not in KINDS:
        raise InputError(file_name, None, f"an import kind of {', '.join(KINDS)} (got {kind!r})")
    digest = file_hash(data)
    result = ImportResult(kind=kind, file_name=file_name, file_hash=digest, practice_id=practice_id)
    if practice_id is not None:
        _require_practice(s, practice_id, file_name)
    job = _job_row(
        s,
        kind=kind,
        digest=digest,
        file_name=file_name,
        practice_id=practice_id,
        user_id=user_id,
        job_id=job_id,
    )
    result.import_id = job.id
    if job.status == "done":
        result.duplicate = True
        return result
    if kind == "x12_835":
        _import_835(s, data, file_name, result, progress)
    elif kind == "auths":
        records = read_auth_log(data, file_name)
        result.records = len(records)
        _save_auths(s, records, result, progress, file_name)
    else:
        if kind == "encounters":
            encs, places = read_encounter_json(data, file_name)
        else:
            encs, warnings = read_837_claims(data, file_name)
            places = [f"claim {e.encounter_id!r}" for e in encs]
            result.warnings.extend(warnings)
        result.records = len(encs)
        _save_claims(
            s,
            engine,
            encs,
            places,
            result,
            file=file_name,
            json_places=kind == "encounters",
            user_id=user_id,
            work_status=work_status,
            scrub=(work_status != "history") if scrub is None else scrub,
            progress=progress,
        )
    job.status, job.done, job.total = "done", result.records, result.records
    job.message, job.finished_at = result.summary(), datetime.now(UTC)
    services.audit(
        s,
        user_id,
        "import",
        "import_job",
        job.id,
        practice_id,
        kind=kind,
        records=result.records,
        added=result.added,
        updated=result.updated,
        unchanged=result.unchanged,
        encounter_pks=result.encounter_pks[:200],
        remittance_ids=result.remittance_ids,
    )
    s.flush()
    log.info("import %s (%s) done: %d records, %d added", job.id, kind, result.records, result.added)
    return result
