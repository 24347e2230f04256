"""The stored services table (`stored_services`): what each stored encounter contributes to its
patient's history, kept so the frequency watch reads a few columns instead of every document.

A row is one `history.Service` of the encounter's document (`services_of`, the one place that
decides what an encounter contributes: families and regions of the billed lines, purpose from the
note or the KX rule, documented procedures of an encounter without lines), filed under the identity
keys of the document's patient, which are the keys a `History` built from the documents files it
under. So a `History` filled from these rows (`history_of`) answers the frequency questions exactly
as `services.person_history` does.

Every write that changes an encounter's document, lines or person calls `refresh_services` with
the encounter IDs (once per file for bulk writers): it deletes their rows and inserts them anew, in
one statement each per chunk of IDs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from painrcm.codes.tables import Reference
from painrcm.history import History, Service, services_of
from painrcm.model import Encounter as EncounterModel
from painrcm.store import auth_usage
from painrcm.store import models as m
from painrcm.store.histories import CHUNK, chunks
from painrcm.store.rows import among, insert_rows, update_by_id

COLUMNS = ("encounter_pk", "person_id", "member_key", "name_key", "date_of_service", "family", "region")
COLUMNS += ("purpose", "codes")


def _reference(reference: Reference | None) -> Reference:
    if reference is not None:
        return reference
    from painrcm.codes.loader import load_reference

    return load_reference()


def rows_of(pk: int, person_id: int, enc: EncounterModel, reference: Reference) -> Iterator[tuple[Any, ...]]:
    """The table rows of one encounter (tuples in `COLUMNS` order)."""
    from painrcm.store.services import identity

    mk, nk = identity(enc.patient)
    for svc in services_of(enc, reference):
        yield (pk, person_id, mk, nk, svc.date, svc.family, svc.region, svc.purpose, " ".join(svc.codes))


class _Line(NamedTuple):
    line_no: int
    code: str
    date_of_service: date | None
    authorization_number: str | None


def refresh_services(
    s: Session,
    encounter_ids: Iterable[int],
    reference: Reference | None = None,
    models: Mapping[int, EncounterModel] | None = None,
) -> int:
    """Rebuild the stored services of these encounters from their stored documents, their
    authorization uses (table claim_auth_uses, `auth_usage.uses_of_claim`) and their claim-level
    authorization number column (pending ORM changes are flushed first), and file the persons whose
    standings this changes (before and after, with every person row sharing a key with them) as dirty
    in each stored frequency-watch snapshot (``store/standings.py``). Encounters that no longer exist
    just lose their rows. Returns the number of service rows written.

    `models`: the stored document of each of these encounters as a model, as the caller just wrote
    it (validated from the document written: a bulk writer holds them, they are not read back)."""
    ids = sorted(set(encounter_ids))
    if not ids:
        return 0
    ref = _reference(reference)
    s.flush()
    touched: set[int] = set()
    persons: set[int] = set()
    e = m.Encounter
    columns = [e.id, e.person_id, e.authorization_number, m.Person.member_id]
    # the new rows of every chunk, written at the end in one COPY per table (each chunk deleted only
    # its own encounters' rows)
    rows: list[dict[str, Any]] = []
    uses: list[dict[str, Any]] = []
    for part in chunks(ids):
        for table in (m.StoredService.__table__, m.ClaimAuthUse.__table__):
            touched.update(
                s.execute(
                    delete(table).where(among(s, table.c.encounter_pk, part)).returning(table.c.person_id)
                )
                .scalars()
                .all()
            )
        numbers: list[dict[str, Any]] = []
        members: dict[int, str] = {}
        query = select(*columns, *([e.document] if models is None else []))
        for row in s.execute(query.join(m.Person, m.Person.id == e.person_id).where(among(s, e.id, part))):
            pk, person_id, number, member_id = row[:4]
            enc = EncounterModel.model_validate(row[4]) if models is None else models[pk]
            rows += (dict(zip(COLUMNS, r, strict=True)) for r in rows_of(pk, person_id, enc, ref))
            members[person_id] = auth_usage.norm(member_id)
            lines = [
                _Line(i, ln.code, ln.date_of_service, ln.authorization_number)
                for i, ln in enumerate(enc.lines or [], 1)
            ]
            for use in auth_usage.uses_of_claim(enc.authorization_number, enc.date_of_service, lines):
                uses.append(
                    {
                        "encounter_pk": pk,
                        "person_id": person_id,
                        "member_key": members[person_id],
                        "number_key": use.number,
                        "date_of_service": use.date_of_service,
                        "level": use.level,
                        "lines": " ".join(map(str, use.lines)),
                        "codes": " ".join(use.codes),
                    }
                )
            if enc.authorization_number != number:
                numbers.append({"b_id": pk, "authorization_number": enc.authorization_number})
        touched.update(members)
        persons.update(members)
        # a person's member ID as compared, on all their claims' uses (it may have been learned): the
        # persons whose stored uses hold another key (the uses made here hold it)
        cu = m.ClaimAuthUse.__table__.c
        stale = {
            pid
            for pid, key in s.execute(
                select(cu.person_id, cu.member_key).distinct().where(among(s, cu.person_id, sorted(members)))
            )
            if key != members[pid]
        }
        if stale:
            s.execute(
                update(m.ClaimAuthUse.__table__)
                .where(cu.person_id == bindparam("pid"), cu.member_key.is_distinct_from(bindparam("mk")))
                .values(member_key=bindparam("mk")),
                [{"pid": pid, "mk": members[pid]} for pid in sorted(stale)],
            )
        update_by_id(s, m.Encounter.__table__, numbers)
    insert_rows(s, m.StoredService.__table__, rows)
    written = len(rows)
    insert_rows(s, m.ClaimAuthUse.__table__, uses)
    refresh_patient_names(s, persons)
    from painrcm.store.standings import mark_dirty

    mark_dirty(s, touched)
    return written


def refresh_patient_names(s: Session, person_ids: Iterable[int] | None = None) -> None:
    """Set `Encounter.patient_name` (`models.patient_name` of its person) on every claim of these
    persons (all persons when None) whose stored name differs: what `refresh_services` does for the
    persons of the claims it refreshes (a person may have learned a name), the migration's backfill
    and the bench generator's."""
    p, e = m.Person, m.Encounter.__table__.c
    # the stored names read first, and only the claims whose name differs written: on a write, most
    # claims of the persons touched already hold their name (one statement per person was the cost)
    q = select(e.id, e.patient_name, p.id, p.last_name, p.first_name).join(p, p.id == e.person_id)
    parts = [None] if person_ids is None else list(chunks(sorted(set(person_ids))))
    for part in parts:
        changed = [
            {"b_id": pk, "patient_name": name}
            for pk, stored, pid, last, first in s.execute(
                q if part is None else q.where(among(s, p.id, part))
            )
            if stored != (name := m.patient_name(last, first, pid))
        ]
        for k in range(0, len(changed), CHUNK):
            update_by_id(s, m.Encounter.__table__, changed[k : k + CHUNK])


def refresh_numbered(s: Session, batch: int = 2000) -> int:
    """Refresh the encounters that carry an authorization number (claim or line level), and the keys of
    every authorization: what a writer that bypassed `refresh_services` for the uses needs (the 0009
    migration over a database whose stored services were already filled; the bench generator).
    Returns the encounters refreshed."""
    auth_usage.refresh_keys(s)
    e, ln = m.Encounter, m.ClaimLine
    ids = sorted(
        set(s.scalars(select(e.id).where(e.authorization_number.is_not(None))))
        | set(s.scalars(select(ln.encounter_pk).distinct().where(ln.authorization_number.is_not(None))))
    )
    for i in range(0, len(ids), batch):
        refresh_services(s, ids[i : i + batch])
    return len(ids)


def refresh_all(s: Session, reference: Reference | None = None, batch: int = 2000) -> int:
    """Rebuild the whole table and the claims' authorization uses, and drop the stored standings (the
    migration's backfill, and a repair after a code-table change: `painrcm admin refresh-services`)."""
    s.execute(delete(m.StoredService))
    s.execute(delete(m.ClaimAuthUse))
    s.execute(delete(m.StandingSnapshot))  # every standing is recomputed on its next read
    written = 0
    last = 0
    while True:
        ids = list(
            s.scalars(
                select(m.Encounter.id).where(m.Encounter.id > last).order_by(m.Encounter.id).limit(batch)
            )
        )
        if not ids:
            return written
        written += refresh_services(s, ids, reference)
        last = ids[-1]


def history_of(rows: Iterable[tuple[Any, ...]]) -> History:
    """A `History` of stored service rows (encounter_pk, member_key, name_key, date, family, region,
    purpose, codes): the services a frequency question counts (family, region, purpose, date, codes),
    filed under the rows' identity keys. Fields a frequency limit never reads are left empty."""
    h = History()
    for pk, mk, nk, day, family, region, purpose, codes in rows:
        keys = [k for k in (mk, nk) if k]
        h.add_services(keys, str(pk), [_service(str(pk), day, family, region, purpose, codes)])
    return h


def _service(
    encounter: str, day: date, family: str, region: str | None, purpose: str | None, codes: str
) -> Service:
    return Service(
        encounter,
        None,
        day,
        family,
        region,
        purpose,
        None,
        None,
        None,
        tuple(codes.split()),
        None,
        None,
        None,
    )
