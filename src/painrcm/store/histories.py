"""Many patients' histories and authorization logs, fetched in a few queries instead of one per claim.

An import or a re-scrub of thousands of claims asks the same question per claim that
`services.person_history` answers for one: "everything the database knows of this patient". A
`Book` fetches it for all the patients at once (persons linked by either identity key, their
encounters, their authorizations; IN lists in chunks), validates each stored document once (an
import hands it the claims it just wrote as models, `held`: those are not read back), and
hands out a `History` per person that holds exactly what `person_history` would (the same
encounters, added oldest first), built on first use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import Session

from painrcm.history import History, Service, services_of
from painrcm.history.auths import AuthLog
from painrcm.model import Encounter as EncounterModel
from painrcm.scrub import Engine
from painrcm.store import models as m

CHUNK = 900  # bound parameters per IN list (SQLite's limit is far above; PostgreSQL has none to speak of)
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Book:
    """The stored past of a set of persons, for scrubbing their claims."""

    def __init__(
        self,
        s: Session,
        engine: Engine,
        persons: Iterable[m.Person],
        window: tuple[date, date] | None = None,
        auths: bool = True,
        held: Mapping[int, EncounterModel] | None = None,
    ) -> None:
        """`window` (start, end): only the encounters with a service in start < date <= end (the
        encounter's date or a line's date in it), for questions that never look outside it.
        `held`: stored encounters (by row ID) as their stored documents read, which the caller holds
        (an import just wrote them: `bulk.SavedClaim.stored`, validated from the document written,
        so the same model as reading it back); their documents are not fetched."""
        self.engine = engine
        self.persons = {p.id: p for p in persons}
        mks = sorted({p.member_key for p in self.persons.values() if p.member_key})
        nks = sorted({p.name_key for p in self.persons.values() if p.name_key})
        linked: dict[int, tuple[str | None, str | None]] = {}
        for part in chunks(mks):
            for pid, mk, nk in s.execute(
                select(m.Person.id, m.Person.member_key, m.Person.name_key).where(
                    m.Person.member_key.in_(part)
                )
            ):
                linked[pid] = (mk, nk)
        for part in chunks(nks):
            for pid, mk, nk in s.execute(
                select(m.Person.id, m.Person.member_key, m.Person.name_key).where(m.Person.name_key.in_(part))
            ):
                linked[pid] = (mk, nk)
        by_mk: dict[str, set[int]] = defaultdict(set)
        by_nk: dict[str, set[int]] = defaultdict(set)
        for pid, (mk, nk) in linked.items():
            if mk:
                by_mk[mk].add(pid)
            if nk:
                by_nk[nk].add(pid)
        # person -> every person row the database counts as the same patient (services.person_history)
        self._ids: dict[int, set[int]] = {}
        for p in self.persons.values():
            ids = {p.id}
            if p.member_key:
                ids |= by_mk[p.member_key]
            if p.name_key:
                ids |= by_nk[p.name_key]
            self._ids[p.id] = ids
        wanted = sorted({i for ids in self._ids.values() for i in ids})
        self._models: dict[int, list[tuple[Any, int, EncounterModel]]] = defaultdict(list)
        self._where: dict[int, tuple[int, int]] = {}  # encounter pk -> (person id, position)
        in_window: Any = true()
        if window is not None:
            start, end = window
            line_in = exists().where(
                m.ClaimLine.encounter_pk == m.Encounter.id,
                m.ClaimLine.date_of_service > start,
                m.ClaimLine.date_of_service <= end,
            )
            in_window = or_(
                and_(m.Encounter.date_of_service > start, m.Encounter.date_of_service <= end), line_in
            )
        held = held or {}
        found: list[tuple[int, int]] = []  # (encounter, person) in the order read
        for part in chunks(wanted):
            found += (
                (pk, person)
                for pk, person in s.execute(
                    select(m.Encounter.id, m.Encounter.person_id).where(
                        m.Encounter.person_id.in_(part), in_window
                    )
                )
            )
        documents: dict[int, Any] = {}
        for part in chunks(sorted(pk for pk, _person in found if pk not in held)):
            for pk, doc in s.execute(
                select(m.Encounter.id, m.Encounter.document).where(m.Encounter.id.in_(part))
            ):
                documents[pk] = doc
        for pk, person_id in found:
            if pk in held:
                enc = held[pk]
            elif pk in documents:  # (an encounter deleted between the two reads is left out)
                enc = EncounterModel.model_validate(documents[pk])
            else:
                continue
            self._where[pk] = (person_id, len(self._models[person_id]))
            self._models[person_id].append((enc.date_of_service, pk, enc))
        member_ids = sorted({p.member_id for p in self.persons.values() if p.member_id}) if auths else []
        auth_rows: dict[int, m.Authorization] = {}
        for part in chunks(sorted(self.persons) if auths else []):
            auth_rows.update(
                (a.id, a)
                for a in s.scalars(select(m.Authorization).where(m.Authorization.person_id.in_(part)))
            )
        for part in chunks(member_ids):
            auth_rows.update(
                (a.id, a)
                for a in s.scalars(select(m.Authorization).where(m.Authorization.member_id.in_(part)))
            )
        self._auths_of_person: dict[int, list[m.Authorization]] = defaultdict(list)
        self._auths_of_member: dict[str, list[m.Authorization]] = defaultdict(list)
        for k in sorted(auth_rows):
            a = auth_rows[k]
            if a.person_id is not None:
                self._auths_of_person[a.person_id].append(a)
            self._auths_of_member[a.member_id].append(a)
        self._histories: dict[int, History] = {}
        self._auth_logs: dict[int, AuthLog] = {}
        self._services: dict[int, list[Service]] = {}  # encounter pk -> its services_of

    @classmethod
    def for_rows(cls, s: Session, engine: Engine, rows: Iterable[m.Encounter]) -> Book:
        """The book of the patients of these stored claims."""
        ids = sorted({r.person_id for r in rows})
        persons: list[m.Person] = []
        for part in chunks(ids):
            persons += s.scalars(select(m.Person).where(m.Person.id.in_(part)))
        return cls(s, engine, persons)

    def history(self, person: m.Person) -> History:
        h = self._histories.get(person.id)
        if h is None:
            rows = sorted(
                (r for i in self._ids[person.id] for r in self._models.get(i, ())), key=lambda r: r[:2]
            )
            # as History.from_encounters, with each encounter's services worked out once per book: a
            # history built again (a claim of the patient was coded) reuses the others' services
            h = self._histories[person.id] = History()
            reference = self.engine.reference
            for _day, pk, enc in rows:
                services = self._services.get(pk)
                if services is None:
                    services = self._services[pk] = services_of(enc, reference)
                h.add(enc, reference, services)
        return h

    def auth_log(self, person: m.Person) -> AuthLog:
        from painrcm.store.services import auth_rows

        log = self._auth_logs.get(person.id)
        if log is None:  # once per person (the engine only reads a log)
            found = {a.id: a for a in self._auths_of_person.get(person.id, ())}
            found.update((a.id, a) for a in self._auths_of_member.get(person.member_id or "", ()))
            log = self._auth_logs[person.id] = auth_rows([found[k] for k in sorted(found)])
        return log

    def model(self, pk: int) -> EncounterModel | None:
        """The stored claim's document as fetched (when the claim is in one of the persons' pasts)."""
        where = self._where.get(pk)
        return None if where is None else self._models[where[0]][where[1]][2]

    def replaced(self, row: m.Encounter) -> None:
        """A stored claim's document changed (its coded lines were kept): later questions see the new one."""
        self.replace(row.id, EncounterModel.model_validate(row.document))

    def replace(self, pk: int, enc: EncounterModel) -> None:
        where = self._where.get(pk)
        if where is None:
            return
        person_id, position = where
        self._models[person_id][position] = (enc.date_of_service, pk, enc)
        self._services.pop(pk, None)
        self._histories = {pid: h for pid, h in self._histories.items() if person_id not in self._ids[pid]}
