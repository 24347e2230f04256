"""Set-based writes of many claims and scrub runs (imports, re-scrubs): the same rows, versions and
audit entries as one claim at a time, in a few statements per table instead of a few per claim.

- `save_claims` stores a file's claims: it reads what is stored for all of them in a few queries
  (the claims by practice and encounter ID, the persons by identity key, their charts, the payers,
  the latest versions), decides every claim in Python (unchanged, added, new version, corrected claim;
  which person: RULES.md section 6) and writes with executemany Core statements. `services.
  save_encounter` is this function for one claim, so a claim saved through the API and one imported
  in a file of 10,000 are decided by the same code.
- `write_scrub_results` keeps many scrub results at once: runs, findings, each claim's new status and
  the coded lines of claims that came without lines.

The rows are written by `store/rows.py` (COPY on PostgreSQL, executemany on SQLite), which checks them
as the session's flush guard would (text too long for its column, NUL characters) before anything is
written. ORM objects of the rows written that the session already holds are expired (read again on
next use).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from painrcm.model import ClaimResult, Line, Patient
from painrcm.model import Encounter as EncounterModel
from painrcm.store import models as m
from painrcm.store import versions
from painrcm.store.boundaries import document
from painrcm.store.histories import Book, chunks
from painrcm.store.rows import JsonText, among, insert_ids, insert_rows, json_text, text_of, update_by_id
from painrcm.store.service_rows import refresh_services

ENC = m.Encounter.__table__
LINE = m.ClaimLine.__table__
PERSON = m.Person.__table__
CHART = m.Chart.__table__
PAYER = m.Payer.__table__
VERSION = m.ClaimVersion.__table__
AUDIT = m.AuditEntry.__table__
RUN = m.ScrubRun.__table__
FINDING = m.Finding.__table__
REMIT_LINE = m.RemitLine.__table__


# --- shared row values (the ORM writers of one claim build their objects from these too) ---------------


def line_values(lines: Iterable[Line] | None) -> list[dict[str, Any]]:
    """A claim's billed lines as claim_lines column values (without the claim's key)."""
    return [
        {
            "line_no": i,
            "code": ln.code,
            "modifiers": list(ln.modifiers),
            "units": ln.units,
            "diagnosis_pointers": list(ln.diagnosis_pointers or []),
            "date_of_service": ln.date_of_service,
            "authorization_number": ln.authorization_number,
            "charge": ln.charge,
            "control_number": ln.control_number,
        }
        for i, ln in enumerate(lines or [], 1)
    ]


def run_values(result: ClaimResult, user_id: int | None, not_checked: Any = None) -> dict[str, Any]:
    """A scrub result as scrub_runs column values (without the claim's key). `not_checked`: that
    column's value when the caller has it already (`write_scrub_results`: serialized once)."""
    return {
        "status": result.status,
        "policy_id": result.payer_policy,
        "editions": result.editions,
        "not_checked": [n.contract_dict() for n in result.not_checked]
        if not_checked is None
        else not_checked,
        "fixed_lines": None
        if result.fixed_lines is None
        else [ln.contract_dict(i) for i, ln in enumerate(result.fixed_lines, 1)],
        "user_id": user_id,
    }


def finding_values(result: ClaimResult) -> list[dict[str, Any]]:
    """A scrub result's findings as findings column values (without the run's key)."""
    return [
        {
            "edit": f.edit,
            "severity": f.severity.value,
            "line": f.line,
            "code": f.code,
            "message": f.message,
            "fix": f.fix,
        }
        for f in result.findings
    ]


def audit_values(
    user_id: int | None,
    action: str,
    object_type: str,
    object_id: Any = None,
    practice_id: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "practice_id": practice_id,
        "detail": detail,
        "at": datetime.now(UTC),
    }


def identity(p: Patient) -> tuple[str | None, str | None]:
    """A patient's two identity keys as stored (member ID + DOB, name + DOB; RULES.md section 6)."""
    from painrcm.history import member_key, name_key

    return member_key(p.member_id, p.dob), name_key(p.last_name, p.first_name, p.dob)


# --- helpers ------------------------------------------------------------------------------------------


def _expire(s: Session, model: Any, ids: Iterable[int]) -> None:
    """Objects of these rows that the session holds are read again on next use."""
    if not s.identity_map:
        return
    for pk in ids:
        obj = s.identity_map.get(identity_key(model, pk))
        if obj is not None:
            s.expire(obj)


def _drop_lines(s: Session, ids: Iterable[int]) -> None:
    """Claim-line objects the session holds for lines deleted with Core: forget them."""
    if not s.identity_map:
        return
    for pk in ids:
        obj = s.identity_map.get(identity_key(m.ClaimLine, pk))
        if obj is not None:
            s.expunge(obj)


# --- persons ------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Person:
    id: int | None
    order: tuple[int, int]  # stored persons by ID first, then new ones in the order they were made
    member_key: str | None
    name_key: str | None
    member_id: str | None
    last_name: str | None
    first_name: str | None
    dob: Any = None
    sex: str | None = None
    dirty: bool = False


def resolve_persons(s: Session, patients: Sequence[Patient]) -> list[int]:
    """The person ID of each patient, in order, as matching one at a time would find them: a stored
    person sharing either identity key (the lowest ID), else a new person; a person found learns the
    keys and names it lacked, and later patients of the same call match what earlier ones made or
    taught. Writes the new persons and what the stored ones learned."""
    return [p.id for p in _resolve(s, patients) if p.id is not None]


def _resolve(s: Session, patients: Sequence[Patient]) -> list[_Person]:
    """`resolve_persons`: each patient's person as written (its ID, keys and names)."""
    s.flush()
    keys = [identity(p) for p in patients]
    mks = sorted({k[0] for k in keys if k[0]})
    nks = sorted({k[1] for k in keys if k[1]})
    found: dict[int, _Person] = {}
    for column, values in ((PERSON.c.member_key, mks), (PERSON.c.name_key, nks)):
        for part in chunks(values):
            for row in s.execute(
                select(
                    PERSON.c.id,
                    PERSON.c.member_key,
                    PERSON.c.name_key,
                    PERSON.c.member_id,
                    PERSON.c.last_name,
                    PERSON.c.first_name,
                ).where(among(s, column, part))
            ):
                found[row.id] = _Person(
                    row.id,
                    (0, row.id),
                    row.member_key,
                    row.name_key,
                    row.member_id,
                    row.last_name,
                    row.first_name,
                )
    by_mk: dict[str, list[_Person]] = defaultdict(list)
    by_nk: dict[str, list[_Person]] = defaultdict(list)
    for p in found.values():
        if p.member_key:
            by_mk[p.member_key].append(p)
        if p.name_key:
            by_nk[p.name_key].append(p)
    chosen: list[_Person] = []
    new: list[_Person] = []
    for pat, (mk, nk) in zip(patients, keys, strict=True):
        candidates = (by_mk.get(mk, []) if mk else []) + (by_nk.get(nk, []) if nk else [])
        if not candidates:
            person = _Person(
                None, (1, len(new)), mk, nk, pat.member_id, pat.last_name, pat.first_name, pat.dob, pat.sex
            )
            new.append(person)
            if mk:
                by_mk[mk].append(person)
            if nk:
                by_nk[nk].append(person)
        else:
            person = min(candidates, key=lambda c: c.order)
            learned = False
            if not person.member_key and mk:
                person.member_key, learned = mk, True
                by_mk[mk].append(person)
            if not person.name_key and nk:
                person.name_key, learned = nk, True
                by_nk[nk].append(person)
            for attr in ("member_id", "last_name", "first_name"):
                if not getattr(person, attr) and getattr(pat, attr):
                    setattr(person, attr, getattr(pat, attr))
                    learned = True
            person.dirty = person.dirty or (learned and person.id is not None)
        chosen.append(person)
    fields = ("member_key", "name_key", "member_id", "last_name", "first_name")
    ids = insert_ids(
        s, PERSON, [{**{f: getattr(p, f) for f in fields}, "dob": p.dob, "sex": p.sex} for p in new]
    )
    for p, pk in zip(new, ids, strict=True):
        p.id = pk
    dirty = [p for p in found.values() if p.dirty]
    update_by_id(s, PERSON, [{"b_id": p.id, **{f: getattr(p, f) for f in fields}} for p in dirty])
    _expire(s, m.Person, (p.id for p in dirty if p.id is not None))
    return chosen


# --- claims -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedClaim:
    pk: int
    person_id: int
    # added | new version | corrected claim | unchanged
    outcome: str
    # a claim written: its stored document as a model (validated from the document written, so the
    # same as reading the row again: `histories.Book` takes it instead of reading it back)
    stored: EncounterModel | None = None

    @property
    def changed(self) -> bool:
        return self.outcome != "unchanged"


@dataclass
class _Stored:
    id: int
    document: dict[str, Any]
    work_status: str
    person_id: int
    source: str | None
    created_at: datetime | None


def _stored_claims(s: Session, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], _Stored]:
    out: dict[tuple[str, str], _Stored] = {}
    # by practice and claim ID, the unique index's columns (by claim ID alone PostgreSQL walks the
    # whole index for every chunk)
    practices = among(s, ENC.c.practice_id, sorted({pid for pid, _eid in wanted}))
    for part in chunks(sorted({eid for _pid, eid in wanted})):
        for r in s.execute(
            select(
                ENC.c.id,
                ENC.c.practice_id,
                ENC.c.encounter_id,
                ENC.c.document,
                ENC.c.work_status,
                ENC.c.person_id,
                ENC.c.source,
                ENC.c.created_at,
            ).where(practices, among(s, ENC.c.encounter_id, part))
        ):
            if (r.practice_id, r.encounter_id) in wanted:
                out[(r.practice_id, r.encounter_id)] = _Stored(
                    r.id, r.document, r.work_status, r.person_id, r.source, r.created_at
                )
    return out


def _latest_versions(s: Session, pks: Sequence[int]) -> dict[int, versions.Earlier]:
    out: dict[int, Any] = {}
    for part in chunks(sorted(pks)):
        for v in s.execute(
            select(
                VERSION.c.encounter_pk,
                VERSION.c.number,
                VERSION.c.frequency_code,
                VERSION.c.payer_claim_number,
                VERSION.c.document,
            ).where(among(s, VERSION.c.encounter_pk, part))
        ):
            if v.encounter_pk not in out or v.number > out[v.encounter_pk].number:
                out[v.encounter_pk] = v
    return out


def _payer_claim_numbers(s: Session, pks: Sequence[int]) -> dict[int, str]:
    """The payer's claim control number from the latest 835 of each claim (versions.payer_claim_number)."""
    out: dict[int, str] = {}
    rc = m.RemitClaim.__table__
    for part in chunks(sorted(pks)):
        for pk, number in s.execute(
            select(rc.c.encounter_pk, rc.c.payer_claim_number)
            .where(among(s, rc.c.encounter_pk, part), rc.c.payer_claim_number.is_not(None))
            .order_by(rc.c.id)
        ):
            out[pk] = number  # the last one wins: the latest remittance
    return out


def _replace_lines(s: Session, new_lines: dict[int, list[dict[str, Any]]], replaced: Sequence[int]) -> None:
    """Give claims new lines; for claims in `replaced` the old lines go, and the remittance lines linked
    to them are linked again to the new line with the same code (versions.relink_target)."""
    old: dict[int, tuple[int, str, tuple[str, ...]]] = {}
    for part in chunks(sorted(replaced)):
        for lid, pk, code, mods in s.execute(
            select(LINE.c.id, LINE.c.encounter_pk, LINE.c.code, LINE.c.modifiers).where(
                among(s, LINE.c.encounter_pk, part)
            )
        ):
            old[lid] = (pk, code, tuple(mods or []))
    linked: list[tuple[int, int, str, tuple[str, ...]]] = []  # remit line, claim, code, modifiers
    for part in chunks(sorted(old)):
        for rid, lid in s.execute(
            select(REMIT_LINE.c.id, REMIT_LINE.c.claim_line_id).where(
                among(s, REMIT_LINE.c.claim_line_id, part)
            )
        ):
            pk, code, mods = old[lid]
            linked.append((rid, pk, code, mods))
    if linked:
        s.execute(
            update(REMIT_LINE).where(REMIT_LINE.c.id.in_([r[0] for r in linked])).values(claim_line_id=None)
        )
    for part in chunks(sorted(replaced)):
        s.execute(delete(LINE).where(among(s, LINE.c.encounter_pk, part)))
    _drop_lines(s, old)
    insert_rows(s, LINE, [{"encounter_pk": pk, **ln} for pk, lines in new_lines.items() for ln in lines])
    if linked:
        now: dict[int, list[tuple[int, str, tuple[str, ...]]]] = defaultdict(list)
        for lid, pk, code, mods in s.execute(
            select(LINE.c.id, LINE.c.encounter_pk, LINE.c.code, LINE.c.modifiers)
            .where(LINE.c.encounter_pk.in_(sorted({r[1] for r in linked})))
            .order_by(LINE.c.encounter_pk, LINE.c.line_no)
        ):
            now[pk].append((lid, code, tuple(mods or [])))
        update_by_id(
            s,
            REMIT_LINE,
            [
                {"b_id": rid, "claim_line_id": versions.relink_target(now[pk], code, mods)}
                for rid, pk, code, mods in linked
            ],
        )
        _expire(s, m.RemitLine, (r[0] for r in linked))


def save_claims(
    s: Session,
    claims: Sequence[tuple[EncounterModel, str]],
    *,
    source: str | None,
    work_status: str = "open",
    user_id: int | None = None,
    reason: str | None = None,
    documents: Sequence[dict[str, Any]] | None = None,
) -> list[SavedClaim]:
    """Store claims (encounter, practice ID; one per practice and encounter ID, practices existing):
    a claim stored with the same document is unchanged; a new one is added (version 1); a changed one
    is a new version, or a corrected claim (frequency 7, back to work) once it was submitted. Every
    change is a claim version with its audit entry (``store/versions.py``); history is stored without
    versions. Returns, in order, each claim's row ID, person and outcome (and, written, its stored
    document as a model). `documents`: each claim's stored document (`boundaries.document`) when
    the caller has it already (the boundary check made it)."""
    s.flush()  # the session's own pending changes go first
    docs = list(documents) if documents is not None else [document(enc) for enc, _pid in claims]
    keys = [(pid, enc.encounter_id) for enc, pid in claims]
    if len(set(keys)) != len(keys):
        raise ValueError("one claim per practice and encounter ID")
    stored = _stored_claims(s, set(keys))
    todo = [i for i, k in enumerate(keys) if k not in stored or stored[k].document != docs[i]]
    resolved = _resolve(s, [claims[i][0].patient for i in todo])
    persons = [p.id for p in resolved if p.id is not None]
    person_of = dict(zip(todo, persons, strict=True))
    # the patient's name as the queues show it, written with the claim (`refresh_services` then finds
    # it current)
    name_of = {i: m.patient_name(p.last_name, p.first_name, pk) for i, p, pk in zip(todo, resolved, persons)}

    # charts and payers the claims need
    charted: set[tuple[str, int]] = set()
    for part in chunks(sorted(set(persons))):
        charted.update(
            (pid, person)
            for pid, person in s.execute(
                select(CHART.c.practice_id, CHART.c.person_id).where(among(s, CHART.c.person_id, part))
            )
        )
    chart_rows: list[dict[str, Any]] = []
    payer_ids = sorted({claims[i][0].payer.id for i in todo})
    payers: set[str] = set()
    for part in chunks(payer_ids):
        payers.update(s.scalars(select(PAYER.c.id).where(among(s, PAYER.c.id, part))))
    payer_rows: list[dict[str, Any]] = []
    for i in todo:
        enc, pid = claims[i]
        if (pid, person_of[i]) not in charted:
            charted.add((pid, person_of[i]))
            chart_rows.append({"practice_id": pid, "person_id": person_of[i], "chart_id": enc.patient.id})
        if enc.payer.id not in payers:
            payers.add(enc.payer.id)
            payer_rows.append(
                {"id": enc.payer.id, "name": enc.payer.name or enc.payer.id, "plan": enc.payer.plan}
            )
    insert_rows(s, CHART, chart_rows)
    insert_rows(s, PAYER, payer_rows)

    # the claims' rows; each document serialized once, for its claim row and its version row
    texts = {i: json_text(s, docs[i]) for i in todo}

    def values(i: int) -> dict[str, Any]:
        enc = claims[i][0]
        return {
            "person_id": person_of[i],
            "payer_id": enc.payer.id,
            "date_of_service": enc.date_of_service,
            "place_of_service": enc.place_of_service,
            "rendering_npi": enc.rendering_provider.npi,
            "document": texts[i],
            "total_charge": sum((ln.charge or 0) for ln in enc.lines or []) or None,
            "source": source,
            "status": "unscrubbed",
            "authorization_number": enc.authorization_number,  # as refresh_services keeps it
            "patient_name": name_of[i],
        }

    added = [i for i in todo if keys[i] not in stored]
    changed = [i for i in todo if keys[i] in stored]
    pk_of: dict[int, int] = {i: stored[keys[i]].id for i in changed}
    new_ids = insert_ids(
        s,
        ENC,
        [
            {"practice_id": keys[i][0], "encounter_id": keys[i][1], "work_status": work_status, **values(i)}
            for i in added
        ],
    )
    pk_of.update(zip(added, new_ids, strict=True))

    # versions, work status and audit entries
    latest = _latest_versions(s, [pk_of[i] for i in changed])
    submitted = [pk_of[i] for i in changed if stored[keys[i]].work_status == "submitted"]
    claim_numbers = _payer_claim_numbers(s, submitted)
    where = f" in {source}" if source else ""
    version_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    outcome: dict[int, str] = {}
    for i in todo:
        pk, pid = pk_of[i], keys[i][0]
        was = stored.get(keys[i])
        if was is None:
            outcome[i] = "added"
            if work_status == "history":
                continue
            version_rows.append(
                versions.version_values(
                    pk, 1, None, None, docs[i], kind="upload", user_id=user_id, reason=reason, source=source
                )
                | {"document": texts[i]}
            )
            # a person's upload shows on the claim's trail (the API writes its own "create" entry;
            # loads without a user are in their import job's entry)
            if user_id is not None and source != "api":
                audit_rows.append(audit_values(user_id, "import", "claim", pk, pid, source=source, version=1))
            continue
        status = was.work_status
        outcome[i] = "corrected claim" if status == "submitted" else "new version"
        if status == "history":
            updates.append({"b_id": pk, **values(i), "work_status": status})
            continue
        previous = latest.get(pk)
        if previous is None:  # stored before versions were kept: its version 1 first
            base = versions.baseline_values(pk, source, was.document, was.created_at)
            version_rows.append(base)
            previous = _Earlier(1, "1", None, was.document)
        corrected = status == "submitted"  # a corrected claim (7), back to work; else a new version
        version = versions.version_values(
            pk,
            previous.number + 1,
            previous,
            was.document,
            docs[i],
            kind="corrected" if corrected else "reupload",
            user_id=user_id,
            reason=reason
            or (f"re-uploaded after submission{where}" if corrected else f"re-uploaded with changes{where}"),
            source=source,
            frequency_code="7" if corrected else None,
            payer_claim_number=claim_numbers.get(pk) if corrected else None,
        )
        after = "open" if corrected or status in ("fixed", "overridden") else status
        version_rows.append(version | {"document": texts[i]})
        updates.append({"b_id": pk, **values(i), "work_status": after})
        audit_rows.append(
            audit_values(
                user_id,
                "reupload",
                "claim",
                pk,
                pid,
                reason=version["reason"],
                version=version["number"],
                frequency_code=version["frequency_code"],
                payer_claim_number=version["payer_claim_number"],
                changes=version["diff"],
                before={"work_status": status},
                after={"work_status": after},
            )
        )
    update_by_id(s, ENC, updates)
    _replace_lines(s, {pk_of[i]: line_values(claims[i][0].lines) for i in todo}, [pk_of[i] for i in changed])
    # the stored services of every claim written, once for the file (store/service_rows.py)
    # each written claim's document as a model, validated once: what reading the row again would give
    models = {i: EncounterModel.model_validate(docs[i]) for i in todo}
    refresh_services(s, [pk_of[i] for i in todo], models={pk_of[i]: models[i] for i in todo})
    insert_rows(s, VERSION, [_full_version(v) for v in version_rows])
    insert_rows(s, AUDIT, audit_rows)
    _expire(s, m.Encounter, (pk_of[i] for i in changed))
    return [
        SavedClaim(pk_of[i], person_of[i], outcome[i], models[i])
        if i in outcome
        else SavedClaim(stored[keys[i]].id, stored[keys[i]].person_id, "unchanged")
        for i in range(len(claims))
    ]


@dataclass(frozen=True)
class _Earlier:
    number: int
    frequency_code: str
    payer_claim_number: str | None
    document: dict[str, Any]


_VERSION_KEYS = ("payer_claim_number", "reason", "user_id")


def _full_version(v: dict[str, Any]) -> dict[str, Any]:
    """Every row of one executemany names the same columns."""
    return {**dict.fromkeys(_VERSION_KEYS), **v}


# --- scrub results ------------------------------------------------------------------------------------


def coded_document(document: dict[str, Any], lines: Sequence[Line]) -> dict[str, Any]:
    """The stored document of a claim that came without lines, with the lines it was coded to."""
    return {**document, "lines": [ln.model_dump(mode="json", exclude_none=True) for ln in lines]}


class KeptRun(NamedTuple):
    """One scrub result as the rows that keep it (`kept_runs`): where the claim was scrubbed (a pool
    process sends these back instead of the result), so the writer only adds the row IDs."""

    pk: int  # the claim's row ID
    run: dict[str, Any]  # scrub_runs values (the claim's key included, the run's ID not)
    findings: list[dict[str, Any]]  # findings values (without the run's key)
    coded: list[Line] | None  # a claim scrubbed without lines: the lines it was coded to


def kept_runs(
    items: Iterable[tuple[int, EncounterModel, ClaimResult]],
    user_id: int | None,
    dumps: Callable[[Any], str],
) -> list[KeptRun]:
    """Scrub results (claim row ID, the claim as scrubbed, its result) as the rows that keep them, the
    one way both an importing process and its pool build them. A file's claims share a few lists of
    edits not checked (the engine's, per policy and history need): each distinct list is serialized
    once (`dumps`: the database's JSON serializer, `rows.serializer`)."""
    texts: dict[tuple[tuple[str, str], ...], JsonText] = {}
    out = []
    for pk, enc, res in items:
        key = tuple((n.edit, n.reason) for n in res.not_checked)
        text = texts.get(key)
        if text is None:
            text = texts[key] = text_of(dumps, [n.contract_dict() for n in res.not_checked])
        out.append(
            KeptRun(
                pk,
                {"encounter_pk": pk, **run_values(res, user_id, text)},
                finding_values(res),
                list(res.lines) if enc.lines is None else None,
            )
        )
    return out


def write_scrub_results(s: Session, kept: Sequence[KeptRun], book: Book | None = None) -> list[int]:
    """Keep many scrub results at once (`kept_runs`): each claim's scrub run with its findings
    becomes its latest run and sets its status; a claim scrubbed without lines (coded on the way in)
    keeps the coded lines as its lines and in its document (and in `book`, when given, so later
    questions see them). Returns the new runs' IDs, in order."""
    if not kept:
        return []
    s.flush()
    run_ids = insert_ids(s, RUN, [k.run for k in kept])
    insert_rows(
        s, FINDING, [{"run_id": rid, **f} for rid, k in zip(run_ids, kept, strict=True) for f in k.findings]
    )
    update_by_id(s, ENC, [{"b_id": k.pk, "status": k.run["status"]} for k in kept])
    coded = {k.pk: k.coded for k in kept if k.coded is not None}
    if coded:
        documents: dict[int, dict[str, Any]] = {}
        for part in chunks(sorted(coded)):
            for pk, doc in s.execute(select(ENC.c.id, ENC.c.document).where(among(s, ENC.c.id, part))):
                documents[pk] = doc
        doc_rows = []
        models: dict[int, EncounterModel] = {}
        for pk, lines in coded.items():
            documents[pk] = doc = coded_document(documents[pk], lines)
            doc_rows.append({"b_id": pk, "document": doc})
            models[pk] = EncounterModel.model_validate(doc)
            if book is not None:
                book.replace(pk, models[pk])
        update_by_id(s, ENC, doc_rows)
        _replace_lines(s, {pk: line_values(lines) for pk, lines in coded.items()}, sorted(coded))
        refresh_services(s, sorted(coded), models=models)  # their stored services, from the coded lines
    _expire(s, m.Encounter, (k.pk for k in kept))
    return run_ids
