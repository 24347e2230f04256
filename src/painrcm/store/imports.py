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

import hashlib
import importlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from painrcm.claim_ids import refusal
from painrcm.errors import InputError
from painrcm.gcpause import no_gc
from painrcm.history.auths import AuthLog, csv_rows
from painrcm.history.auths import Authorization as AuthRecord
from painrcm.inputs import encounter_from_obj, parse_json
from painrcm.model import ClaimResult
from painrcm.model import Encounter as EncounterModel
from painrcm.remit.codes import code_table
from painrcm.remit.explain import ExplainedLine, explain_remittance
from painrcm.scrub import Engine
from painrcm.store import bulk, services
from painrcm.store import models as m
from painrcm.store.boundaries import check_authorizations, check_encounter
from painrcm.store.db import Database, is_busy
from painrcm.store.histories import Book, chunks
from painrcm.store.remits_on_claim import narrow_prevented_by
from painrcm.store.rows import among, serializer
from painrcm.x12.reader835 import read_835
from painrcm.x12.reader837 import read_837
from painrcm.x12.remit_model import Remittance as RemitModel

log = logging.getLogger("painrcm.store.imports")

# x12_ack: store/imports_ack.py; x12_278: store/imports_278.py
KINDS = ("encounters", "x12_837", "x12_835", "auths", "x12_ack", "x12_278")
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
    # per claim of the file, in order: (claim ID, what happened to it)
    outcomes: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        if self.duplicate:
            return "this file was imported before; nothing added"
        return (
            f"{self.records} record(s): {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged" + (f", {self.scrubbed} scrubbed" if self.scrubbed else "")
        )


def claim_outcomes(outcomes: list[tuple[str, str]], limit: int = 200) -> str:
    """Each claim's outcome, kept with the import (one per line after the summary)."""
    if not outcomes:
        return ""
    more = f"\n(and {len(outcomes) - limit} more)" if len(outcomes) > limit else ""
    return "\nclaims:\n" + "\n".join(f"{cid}: {what}" for cid, what in outcomes[:limit]) + more


def stored_notes(warnings: list[str], limit: int = 50) -> str:
    """The reader's warnings, kept with the import (one per line after the summary)."""
    if not warnings:
        return ""
    more = f"\n(and {len(warnings) - limit} more)" if len(warnings) > limit else ""
    return f"\n{len(warnings)} note(s) from the reader:\n" + "\n".join(warnings[:limit]) + more


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
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(file, f"byte {e.start}", "UTF-8 text") from e
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(file, f"character {nul}", "text without NUL characters")
    return text


def _json(data: bytes, file: str) -> Any:
    text = _text(data, file)
    if not text.strip():
        raise InputError(file, None, "a non-empty file")
    return parse_json(text, file)


def read_encounter_json(data: bytes, file: str) -> tuple[list[EncounterModel], list[str]]:
    """The encounters of a JSON file (one object or a list) and each one's place (a JSON path)."""
    obj = _json(data, file)
    if isinstance(obj, list):
        if not obj:
            raise InputError(file, "$", "at least one encounter in the list")
        places = [f"$[{i}]" for i in range(len(obj))]
        return [encounter_from_obj(o, file, p) for o, p in zip(obj, places, strict=True)], places
    return [encounter_from_obj(obj, file)], ["$"]


def read_837_claims(data: bytes, file: str) -> tuple[list[EncounterModel], list[str], list[int | None]]:
    """Every claim must read: one claim problem refuses the whole file (all-or-nothing). Also the
    1-based segment number of each claim's CLM (None when unknown)."""
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
    segments = [src.claim[0] + 1 if src is not None and src.claim else None for src in result.sources]
    return list(result.claims), [str(w) for w in result.warnings], segments


def read_auth_log(data: bytes, file: str) -> list[AuthRecord]:
    """An authorization log (CONTRACTS.md section 3) from bytes: CSV with a header row, or a JSON list."""
    text = _text(data, file)
    if text.lstrip().startswith(("[", "{")):
        rows = _json(data, file)
        if not isinstance(rows, list):
            raise InputError(file, "$", "a JSON list of authorization records")
    else:
        rows = csv_rows(text, file)
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


def _store_claims(
    s: Session,
    encs: Sequence[EncounterModel],
    places: Sequence[str],
    result: ImportResult,
    *,
    file: str,
    json_places: bool,
    work_status: str,
    ticker: _Ticker,
    user_id: int | None = None,
    documents: Sequence[dict[str, Any]] | None = None,
    held: dict[int, EncounterModel] | None = None,
) -> list[int]:
    """Save the file's claims (no scrubbing) with a few statements for the whole file (bulk.save_claims);
    the row IDs of the claims that were added or changed, in the order they are scrubbed (by date of
    service, then row). `documents`: the claims' stored documents (`read_file` made them); `held`
    receives the claims written as their stored documents read (`SavedClaim.stored`: the book's)."""
    # Resolve every practice before writing a claim (a bad practice refuses the file, nothing half-saved).
    known: dict[tuple[str | None, str | None], str] = {}
    practices = []
    for e, p in zip(encs, places, strict=True):
        key = (e.practice.id, e.practice.npi)
        if result.practice_id is not None or key not in known:
            known[key] = _practice_for(s, e, result.practice_id, file, p)
        practices.append(known[key])
    entries = [(pid, e.encounter_id, p) for e, pid, p in zip(encs, practices, places, strict=True)]
    refused = refusal(entries)  # painrcm.claim_ids (CLM007): the command line's rule too
    if refused is not None:
        place = places[refused[0]]
        raise InputError(file, f"{place}.encounter_id" if json_places else place, refused[1])
    saved = bulk.save_claims(
        s,
        list(zip(encs, practices, strict=True)),
        source=file,
        work_status=work_status,
        user_id=user_id,
        documents=documents,
    )
    changed: list[tuple[Any, int]] = []
    for enc, claim in zip(encs, saved, strict=True):
        result.encounter_pks.append(claim.pk)
        if not claim.changed:
            result.unchanged += 1
            result.outcomes.append((enc.encounter_id, "already imported, unchanged"))
            continue
        changed.append((enc.date_of_service, claim.pk))
        if held is not None and claim.stored is not None:
            held[claim.pk] = claim.stored
        if claim.outcome == "added":
            result.added += 1
        else:
            result.updated += 1
        result.outcomes.append((enc.encounter_id, OUTCOMES[claim.outcome]))
    ticker.step(len(encs))
    return [pk for _dos, pk in sorted(changed)]


OUTCOMES = {
    "added": "added",
    "new version": "new version",
    "corrected claim": "corrected claim (it had been submitted)",
}


def claims_book(
    s: Session, engine: Engine, pks: Sequence[int], held: dict[int, EncounterModel] | None = None
) -> Book:
    """Everything the database knows of the patients of these stored claims (their whole past,
    these claims included, and their authorizations), fetched once for all of them in a few
    set-based queries: an import scrubs every claim of its file against one book. `held`: stored
    claims as their documents read, which the caller just wrote (not read back: `Book`)."""
    person_ids: set[int] = set()
    for part in chunks(sorted(pks)):
        person_ids.update(s.scalars(select(m.Encounter.person_id).where(among(s, m.Encounter.id, part))))
    persons: list[m.Person] = []
    for part in chunks(sorted(person_ids)):
        persons += s.scalars(select(m.Person).where(among(s, m.Person.id, part)))
    return Book(s, engine, persons, held=held)


Scrubbed = tuple[int, EncounterModel, ClaimResult]  # (claim row ID, the claim as scrubbed, its result)
Inputs = dict[int, tuple[int, dict[str, Any] | None]]  # claim row ID -> (person ID, document if needed)


def scrub_inputs(s: Session, pks: Sequence[int], book: Book) -> Inputs:
    """What scrubbing these stored claims reads besides `book`: each claim's person, and the stored
    document of a claim the book does not hold or that came without lines (it is coded, and the
    coded lines are kept in its document). A claim deleted meanwhile is left out."""
    need = sorted(pk for pk in pks if (enc := book.model(pk)) is None or enc.lines is None)
    rows: Inputs = {}
    for part in chunks(need):
        for pk, person_id, doc in s.execute(
            select(m.Encounter.id, m.Encounter.person_id, m.Encounter.document).where(
                among(s, m.Encounter.id, part)
            )
        ):
            rows[pk] = (person_id, doc)
    for part in chunks(sorted(set(pks) - set(need))):
        for pk, person_id in s.execute(
            select(m.Encounter.id, m.Encounter.person_id).where(among(s, m.Encounter.id, part))
        ):
            rows[pk] = (person_id, None)
    return rows


def scrub_rows(
    engine: Engine, book: Book, pks: Sequence[int], rows: Inputs, ticker: _Ticker | None = None
) -> list[Scrubbed]:
    """Scrub stored claims in the order given against `book` (no database: `rows` is `scrub_inputs`);
    a claim the book holds is scrubbed as the book validated it. A claim scrubbed without lines is
    coded, and the claims after it see its coded lines (as once kept)."""
    out: list[Scrubbed] = []
    for pk in pks:
        if pk not in rows:  # deleted meanwhile
            continue
        person_id, doc = rows[pk]
        enc, res = services.scrub_document(None, person_id, doc or {}, engine, book, book.model(pk))
        if enc.lines is None:
            assert doc is not None
            book.replace(pk, EncounterModel.model_validate(bulk.coded_document(doc, res.lines)))
        out.append((pk, enc, res))
        if ticker is not None:
            ticker.step()
    return out


def scrub_claims(
    s: Session,
    engine: Engine,
    pks: Sequence[int],
    book: Book | None = None,
    ticker: _Ticker | None = None,
) -> list[Scrubbed]:
    """Scrub stored claims (nothing written) against everything the database knows of their patients,
    fetched in a few queries for all of them (`book`, or a Book made here). In the order given (see
    `scrub_rows`)."""
    if book is None:
        book = claims_book(s, engine, pks)
    return scrub_rows(engine, book, pks, scrub_inputs(s, pks, book), ticker)


# --- scrubbing a large file on several processes ------------------------------------------------

POOL_MIN_CLAIMS = 2000  # a file with fewer claims to scrub is scrubbed in the importing process
_FORKED: dict[str, Any] = {}  # what the pool's forked processes inherit (engine, book, inputs)


def import_workers() -> int:
    """Processes that scrub a large file: PAINRCM_IMPORT_WORKERS (1: always in the importing process),
    else the machine's cores (at most 4)."""
    raw = os.environ.get("PAINRCM_IMPORT_WORKERS", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            log.warning("PAINRCM_IMPORT_WORKERS is not a number; scrubbing in the importing process")
            return 1
    return max(1, min(4, os.cpu_count() or 1))


def _scrub_forked(pks: list[int]) -> list[bulk.KeptRun]:
    """A pool process's part (it inherited the engine, the book, the inputs and how rows are written
    when it was forked), sent back as the rows that keep it (`bulk.kept_runs`): fewer, plainer objects
    to send than the results, and their rows built here rather than in the importing process."""
    return bulk.kept_runs(
        scrub_rows(_FORKED["engine"], _FORKED["book"], pks, _FORKED["rows"]),
        _FORKED["user_id"],
        _FORKED["dumps"],
    )


def scrub_file(
    engine: Engine,
    book: Book,
    pks: Sequence[int],
    rows: Inputs,
    ticker: _Ticker | None = None,
    workers: int = 1,
    min_claims: int = POOL_MIN_CLAIMS,
    batch: int = 1000,
    *,
    user_id: int | None,
    dumps: Callable[[Any], str],
) -> Iterator[list[bulk.KeptRun]]:
    """Scrub a file's stored claims against its book, each patient's claims in the order given
    (`scrub_rows`), handing them out in batches as they are done, as the rows that keep them
    (`bulk.kept_runs`, runs by `user_id`, JSON by `dumps`), so that the caller keeps one batch while
    the next is being scrubbed. A file of at least `min_claims` claims with `workers` > 1 is split
    by patient (every claim of a patient, by either identity key, in one part, in the order given:
    `rescrub.same_patient`, `rescrub.partition`) and the parts are scrubbed by forked processes that
    inherit this process's engine and book, so they answer as this process would (no database,
    nothing loaded again); each part is a batch, handed out in the parts' order as soon as it is done.
    Without fork, with a small file, or when a pool process dies, the claims (or the parts left) are
    scrubbed here, in the order given, `batch` claims at a time."""
    import multiprocessing

    from painrcm.store.rescrub import partition, partition_count, same_patient

    here = [pk for pk in pks if pk in rows]
    parts: list[list[int]] = []
    if workers > 1 and len(here) >= max(2, min_claims) and "fork" in multiprocessing.get_all_start_methods():
        keyed = []
        for pk in here:
            person = book.persons[rows[pk][0]]
            keyed.append((pk, person.id, person.member_key, person.name_key))
        parts = partition(same_patient(keyed), partition_count(len(here), workers))
    done: set[int] = set()
    if len(parts) >= 2:
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        _FORKED.update(engine=engine, book=book, rows=rows, user_id=user_id, dumps=dumps)
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(parts)), mp_context=multiprocessing.get_context("fork")
        )
        try:
            for kept in pool.map(_scrub_forked, parts):
                done.update(k.pk for k in kept)
                if ticker is not None:
                    ticker.step(len(kept))
                yield kept
        except BrokenProcessPool:
            log.warning("an import's scrubbing process died; scrubbing the rest in the importing process")
        finally:  # (also when the caller stops early: the parts not started are not scrubbed)
            pool.shutdown(cancel_futures=True)
            _FORKED.clear()
    left = [pk for pk in here if pk not in done]  # parts not answered: each patient's claims still in order
    for start in range(0, len(left), batch):
        yield bulk.kept_runs(
            scrub_rows(engine, book, left[start : start + batch], rows, ticker), user_id, dumps
        )


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
        billed=float(el.billed),  # the columns are Float: exact Decimals become floats only here
        allowed=float(el.allowed),
        paid=float(el.paid),
        date_of_service=el.date_of_service,
        control_number=el.control_number,
        remarks=[r.code for r in el.remarks],
        explanation=el.explanation,
        next_action=el.next_action,
        preventing_edits=narrow_prevented_by(el.prevented_by, claim_line),
        claim_line_id=claim_line.id if claim_line is not None else None,
        denied=denied,
        work_status="open" if denied or el.next_action in BILLER_ACTIONS else "resolved",
        adjustments=[
            m.RemitAdjustment(
                group_code=a.group, reason_code=a.reason, amount=float(a.amount), quantity=a.quantity
            )
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
                m.Remittance.payment_amount == float(rem.payment),
            )
        ).first()
        is not None
    )


def _save_remittance(
    s: Session,
    rem: RemitModel,
    practice_id: str,
    rows: list[m.Encounter],
    import_id: int | None,
    report: Any = None,
) -> m.Remittance:
    mine = [r for r in rows if r.practice_id == practice_id]
    if report is None:
        report = explain_remittance(rem, [services.to_model(r) for r in mine])
    by_eid = {r.encounter_id: r for r in mine}
    out = m.Remittance(
        practice_id=practice_id,
        import_id=import_id,
        payer_name=rem.payer_name,
        trace_number=rem.trace_number,
        payment_amount=float(rem.payment),
        payment_date=rem.payment_date,
        reconciled=report.reconciliation.balanced,
    )
    for ec, rc in zip(report.claims, rem.claims, strict=True):
        enc_row = by_eid.get(ec.matched_encounter) if ec.matched_encounter else None
        claim = m.RemitClaim(
            practice_id=practice_id,
            patient_control_number=rc.patient_control_number,
            status_code=rc.status,
            billed=float(rc.billed),
            paid=float(rc.paid),
            patient_responsibility=float(rc.patient_responsibility or 0),
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


def plan_835(s: Session, read: Any, file: str, practice_id: str | None) -> list[tuple[RemitModel, str, Any]]:
    """Each remittance's practice and explanation (reads only: the engine's work happens here, before
    the write transaction). Decides every practice before anything is written."""
    plans: list[tuple[RemitModel, str, Any]] = []
    for rem in read.remittances:
        rows = _candidates(s, {c.patient_control_number for c in rem.claims}, practice_id)
        pid = _remit_practice(s, rem, rows, practice_id, file)
        mine = [r for r in rows if r.practice_id == pid]
        plans.append((rem, pid, explain_remittance(rem, [services.to_model(r) for r in mine])))
    return plans


def _import_835(
    s: Session,
    read: Any,
    file: str,
    result: ImportResult,
    progress: Progress | None,
    plans: list[tuple[RemitModel, str, Any]] | None = None,
) -> None:
    if plans is None:
        plans = plan_835(s, read, file, result.practice_id)
    ticker = _Ticker(progress, sum(len(rem.claims) for rem in read.remittances))
    ticker.start()
    for rem, pid, report in plans:
        result.records += len(rem.claims)
        if _already_stored(s, pid, rem):
            result.unchanged += len(rem.claims)
        else:
            rows = _candidates(s, {c.patient_control_number for c in rem.claims}, pid)
            saved = _save_remittance(s, rem, pid, rows, result.import_id, report)
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


@dataclass
class ReadFile:
    """A file read and checked, before anything is written (no database needed)."""

    kind: str
    encounters: list[EncounterModel] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)  # each claim's, as stored (checked)
    auths: list[AuthRecord] = field(default_factory=list)
    remittances: Any = None  # the 835 reader's result
    warnings: list[str] = field(default_factory=list)
    raw: bytes | None = None  # a kind whose importer reads and writes in one step (ONE_STEP)
    remit_plans: Any = None  # 835: practices and explanations worked out before the write (plan_835)

    @property
    def records(self) -> int:
        if self.kind == "auths":
            return len(self.auths)
        if self.kind == "x12_835":
            return sum(len(r.claims) for r in self.remittances.remittances)
        if self.raw is not None:
            return 0  # counted by the kind's importer
        return len(self.encounters)


# Kinds whose importer reads and writes in one step, inside the import's write transaction:
# kind -> (module, function(session, data, file_name, result, progress)). They are imported lazily.
ONE_STEP: dict[str, tuple[str, str]] = {
    "x12_ack": ("painrcm.store.imports_ack", "import_ack"),
    "x12_278": ("painrcm.store.imports_278", "import_278"),
}


def read_file(kind: str, data: bytes, file_name: str) -> ReadFile:
    """Parse and check a file of `kind`; InputError (located) for anything the workspace cannot take."""
    if kind not in KINDS:
        raise InputError(file_name, None, f"an import kind of {', '.join(KINDS)} (got {kind!r})")
    out = ReadFile(kind)
    if kind in ONE_STEP:
        out.raw = data
    elif kind == "x12_835":
        out.remittances = read_835(_text(data, file_name), file_name)
        out.warnings.extend(str(w) for w in out.remittances.warnings)
        if not out.remittances.remittances:
            raise InputError(file_name, None, "at least one 835 transaction set")
    elif kind == "auths":
        out.auths = read_auth_log(data, file_name)
        check_authorizations(out.auths, file_name)
    elif kind == "encounters":
        out.encounters, out.places = read_encounter_json(data, file_name)
        # a NUL in JSON text is escaped (a raw one was refused): without the escape, no value holds one
        nul_free = b"\\u0000" not in data
        out.documents = [
            check_encounter(enc, file_name, place, nul_free=nul_free)
            for enc, place in zip(out.encounters, out.places, strict=True)
        ]
    elif kind == "x12_837":
        out.encounters, out.warnings, clm_segments = read_837_claims(data, file_name)
        # each claim is placed by its CLM segment (as the command line does): a repeated claim ID then
        # names both segments, not the same ID twice
        out.places = [
            f"segment {n} (CLM), claim {e.encounter_id!r}" if n else f"claim {e.encounter_id!r}"
            for e, n in zip(out.encounters, clm_segments, strict=True)
        ]
        # every value was read from the file's text, which holds no NUL (`_text` refused it)
        out.documents = [
            check_encounter(enc, file_name, place, json_places=False, nul_free=True)
            for enc, place in zip(out.encounters, out.places, strict=True)
        ]
    return out


def _write_records(
    s: Session,
    parsed: ReadFile,
    result: ImportResult,
    *,
    file_name: str,
    work_status: str,
    progress: Progress | None,
    ticker_total: int | None = None,
    user_id: int | None = None,
    held: dict[int, EncounterModel] | None = None,
) -> list[int]:
    """Write the file's records in the session's transaction; the claims that must be scrubbed (row
    IDs, in scrubbing order). `held`: see `_store_claims`."""
    result.records = parsed.records
    result.warnings.extend(parsed.warnings)
    if parsed.kind == "x12_835":
        result.records = 0  # counted per remittance
        _import_835(s, parsed.remittances, file_name, result, progress, parsed.remit_plans)
        return []
    if parsed.kind == "auths":
        _save_auths(s, parsed.auths, result, progress, file_name)
        return []
    if parsed.raw is not None:
        module, function = ONE_STEP[parsed.kind]
        getattr(importlib.import_module(module), function)(s, parsed.raw, file_name, result, progress)
        return []
    ticker = _Ticker(progress, ticker_total or len(parsed.encounters))
    ticker.start()
    return _store_claims(
        s,
        parsed.encounters,
        parsed.places,
        result,
        file=file_name,
        json_places=parsed.kind == "encounters",
        work_status=work_status,
        ticker=ticker,
        user_id=user_id,
        documents=parsed.documents or None,
        held=held,
    )


def _finish(s: Session, job: m.ImportJob, result: ImportResult, user_id: int | None) -> None:
    job.status, job.done, job.total = "done", result.records, result.records
    job.message = result.summary() + claim_outcomes(result.outcomes) + stored_notes(result.warnings)
    job.finished_at = datetime.now(UTC)
    services.audit(
        s,
        user_id,
        "import",
        "import_job",
        job.id,
        job.practice_id,
        kind=job.kind,
        records=result.records,
        added=result.added,
        updated=result.updated,
        unchanged=result.unchanged,
        encounter_pks=result.encounter_pks[:200],
        remittance_ids=result.remittance_ids,
    )
    s.flush()
    log.info("import %s (%s) done: %d records, %d added", job.id, job.kind, result.records, result.added)


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
    """Import one file of `kind` in the session's transaction (all-or-nothing, idempotent). For a
    shared database prefer `import_file`, which keeps its write transactions short.

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
    parsed = read_file(kind, data, file_name)
    do_scrub = (work_status != "history") if scrub is None else scrub
    total = len(parsed.encounters) * (2 if do_scrub else 1)
    held: dict[int, EncounterModel] = {}
    changed = _write_records(
        s,
        parsed,
        result,
        file_name=file_name,
        work_status=work_status,
        progress=progress,
        ticker_total=total,
        user_id=user_id,
        held=held,
    )
    if parsed.encounters and do_scrub:
        ticker = _Ticker(progress, total)
        ticker.done = total - len(changed)
        book = claims_book(s, engine, changed, held)  # the patients' past, fetched once for the file
        for start in range(0, len(changed), SCRUB_CHUNK):
            part = changed[start : start + SCRUB_CHUNK]
            scrubbed = scrub_claims(s, engine, part, book, ticker)
            bulk.write_scrub_results(s, bulk.kept_runs(scrubbed, user_id, serializer(s)))
            result.scrubbed += len(part)
    _finish(s, job, result, user_id)
    return result


# --- short transactions (background jobs) -------------------------------------------------------

WRITE_ATTEMPTS = 8
SCRUB_CHUNK = 1000  # claims scrubbed per read session, their runs kept per short write
IMPORT_LOCK = 0x70A1_2C01  # PostgreSQL advisory lock: one import writes at a time


class JobTaken(Exception):
    """The job is no longer this worker's (a watchdog failed it as dead; another run took it)."""


OwnerCheck = Callable[[Session], None]


def _write_lock(s: Session, job_id: int) -> None:
    """Start the write transaction by taking the lock, so what it reads next cannot change under it:
    on SQLite the first statement is a write (the write lock, waiting up to the busy timeout); on
    PostgreSQL an advisory lock serializes imports (two files with the same claims never race)."""
    bind = s.get_bind()
    if bind.dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": IMPORT_LOCK})
    s.execute(update(m.ImportJob).where(m.ImportJob.id == job_id).values(heartbeat_at=datetime.now(UTC)))


def _short(db: Database, job_id: int, owner: OwnerCheck | None, fn: Callable[[Session], Any]) -> Any:
    """Run `fn` in one short write transaction, retried while the database is busy or a concurrent
    writer stored the same rows first (then the next attempt reads them and reports them as they are)."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with db.session() as s:
                _write_lock(s, job_id)
                if owner is not None:
                    owner(s)
                return fn(s)
        except IntegrityError:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            log.info("import job %s: a concurrent writer stored the same rows; reading again", job_id)
        except Exception as e:
            if not is_busy(e) or attempt == WRITE_ATTEMPTS - 1:
                raise
            log.info("import job %s: database busy; retrying", job_id)
        time.sleep(min(2.0, 0.1 * 2**attempt))
    raise AssertionError("unreachable")


def _keep_runs(s: Session, *, kept: Sequence[bulk.KeptRun]) -> None:
    """Keep scrub results; a claim deleted meanwhile is left out (its run has nowhere to go)."""
    here: set[int] = set()
    for ids in chunks(sorted(k.pk for k in kept)):
        here.update(s.scalars(select(m.Encounter.id).where(among(s, m.Encounter.id, ids))))
    bulk.write_scrub_results(s, [k for k in kept if k.pk in here])


def import_file(
    db: Database,
    engine: Engine,
    *,
    job_id: int,
    data: bytes,
    progress: Progress | None = None,
    owner: OwnerCheck | None = None,
    work_status: str = "open",
    scrub: bool | None = None,
) -> ImportResult:
    """Import the file of an ImportJob row with short write transactions, for a shared database.

    1. The file is read and checked with no transaction open (a bad file raises InputError; nothing
       was written).
    2. All of its records are written in one short transaction (all-or-nothing for the file), which
       takes the write lock first (see `_write_lock`), so overlapping imports of the same claims each
       end with a per-claim outcome (added, updated, unchanged), never a unique-key error.
    3. The new and changed claims are scrubbed with no transaction open (the engine's work), a chunk
       at a time (`SCRUB_CHUNK`) against one history fetch for the whole file (`claims_book`: the
       patients' past in a few set-based queries), and each chunk's runs are stored in a
       short transaction of its own as soon as the chunk is scrubbed (with a pool, while the pool
       scrubs the next parts: `scrub_file`); a claim a crashed run left unscrubbed is scrubbed when
       the file is imported again.
    4. The job is marked done (with its audit entry) in a last short transaction.

    `owner(session)` raises JobTaken when the job is no longer this worker's; it runs in every write.
    """
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        if job is None:
            raise ValueError(f"no import job {job_id}")
        kind, file_name, practice_id, user_id = job.kind, job.file_name, job.practice_id, job.created_by
        result = ImportResult(
            kind=kind, file_name=file_name, file_hash=job.file_hash, practice_id=practice_id, import_id=job.id
        )
        if practice_id is not None:
            _require_practice(s, practice_id, file_name)
        if job.status == "done":
            result.duplicate = True
            return result
    parsed = read_file(kind, data, file_name)
    if parsed.remittances is not None:
        with db.session() as rs:  # the explanations are the engine's work: no write transaction open
            parsed.remit_plans = plan_835(rs, parsed.remittances, file_name, practice_id)
    do_scrub = bool(parsed.encounters) and ((work_status != "history") if scrub is None else scrub)
    total = len(parsed.encounters) * (2 if do_scrub else 1)
    held: dict[int, EncounterModel] = {}  # the claims written, as their stored documents read

    def write(s: Session) -> list[int]:
        held.clear()  # (a write attempt that was rolled back kept nothing)
        attempt = ImportResult(
            kind=kind,
            file_name=file_name,
            file_hash=result.file_hash,
            practice_id=practice_id,
            import_id=job_id,
        )
        changed = _write_records(
            s,
            parsed,
            attempt,
            file_name=file_name,
            work_status=work_status,
            progress=progress,
            ticker_total=total,
            user_id=user_id,
            held=held,
        )
        ids = list(changed) if do_scrub else []
        others = s.scalars(
            select(m.ImportJob.id).where(m.ImportJob.status == "running", m.ImportJob.id != job_id).limit(1)
        ).first()
        if do_scrub and others is None:  # claims a crashed run stored but did not scrub (none running now)
            left = s.scalars(
                select(m.Encounter.id).where(
                    m.Encounter.id.in_(set(attempt.encounter_pks) - set(ids)),
                    m.Encounter.status == "unscrubbed",
                    m.Encounter.work_status != "history",
                )
            ).all()
            ids += sorted(left)
        result.__dict__.update({k: v for k, v in attempt.__dict__.items() if k != "scrubbed"})
        return ids

    with no_gc():  # (as below)
        to_scrub: list[int] = _short(db, job_id, owner, write)
    ticker = _Ticker(progress, total)
    ticker.done = total - len(to_scrub)
    if to_scrub:
        # the book, the scrub and the rows kept build many long-lived objects: the cyclic collector
        # would walk the whole heap (the engine's tables included) again and again for nothing
        # (gcpause.no_gc)
        with no_gc():
            with db.session() as rs:  # the patients' past, fetched once for the file (no write transaction)
                book = claims_book(rs, engine, to_scrub, held)
                rows = scrub_inputs(rs, to_scrub, book)
                dumps = serializer(rs)
            # the engine's work, with no transaction open (on several processes for a large file); each
            # batch's runs are kept as soon as it is scrubbed, while the pool scrubs the next parts
            workers = import_workers()
            batches = scrub_file(
                engine,
                book,
                to_scrub,
                rows,
                ticker,
                workers,
                POOL_MIN_CLAIMS,
                SCRUB_CHUNK,
                user_id=user_id,
                dumps=dumps,
            )
            with closing(batches):  # (a failed write stops the pool at once)
                for batch in batches:
                    for start in range(0, len(batch), SCRUB_CHUNK):
                        kept = batch[start : start + SCRUB_CHUNK]
                        # one short write transaction per chunk of claims
                        _short(db, job_id, owner, partial(_keep_runs, kept=kept))
                        result.scrubbed += len(kept)

    def finish(s: Session) -> None:
        job = s.get(m.ImportJob, job_id)
        assert job is not None
        _finish(s, job, result, user_id)

    _short(db, job_id, owner, finish)
    return result
