"""The frequency watch's reads: which patients can be at or near a frequency limit (a superset found
in SQL over the stored services), and their services in the limits' windows, fetched together, so the
watch computes standings (`history.limits.standing`, the one implementation) only for them.

A patient is listed when a limit has used >= max - 1 (and >= 1) sessions in its window. Sessions
used are distinct dates of services of the limit's families (and codes) in the window, of the
purpose the limit counts, per region when it counts per region. The stored services
(``store/service_rows.py``) hold exactly those facts per encounter, so a person row is a candidate
when, over its own encounters' services of a limit's families in the window (of the limit's purpose,
per region when the limit counts per region), the distinct dates reach the threshold, for some limit
of any policy (the limit's codes are not checked: a superset). A person row that shares its member
key or its name key with another row has a history that spans rows (the identity rule of
`services.person_history`): it is always a candidate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from painrcm.dates import add_months
from painrcm.history import History
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.histories import CHUNK, chunks
from painrcm.store.service_rows import history_of


def widest_window(engine: Engine, on: date) -> tuple[date, date]:
    """(start, on) covering every limit's window on `on`, over every policy in force."""
    months = max((limit.window_months for p in engine.policies.all() for limit in p.frequency), default=12)
    return add_months(on, -months), on


def shared_identity(s: Session) -> set[int]:
    """Person rows that share a member key or a name key with another row."""
    found: set[int] = set()
    for column in (m.Person.member_key, m.Person.name_key):
        shared = select(column).where(column.is_not(None)).group_by(column).having(func.count() > 1)
        found |= set(s.scalars(select(m.Person.id).where(column.in_(shared))))
    return found


def candidates(s: Session, engine: Engine, person_ids: Iterable[int] | None, on: date) -> set[int]:
    """The persons (among `person_ids`, or all when None) that may stand at or one session short of a
    frequency limit on `on`."""
    people = None if person_ids is None else set(person_ids)
    if people is not None and not people:
        return set()
    found = shared_identity(s)
    # each distinct counting rule once, over every policy in force
    rules = {
        (
            tuple(sorted(limit.families)),
            limit.purpose,
            limit.per_region,
            limit.window_months,
            max(1, limit.max - 1),
        )
        for policy in engine.policies.all()
        for limit in policy.frequency
    }
    sv = m.StoredService
    for families, purpose, per_region, months, threshold in sorted(rules, key=repr):
        start = add_months(on, -months)
        q = select(sv.person_id).where(
            sv.date_of_service > start, sv.date_of_service <= on, sv.family.in_(families)
        )
        if purpose is not None:
            q = q.where(sv.purpose == purpose)
        if people is not None and len(people) <= CHUNK:  # a few persons (the dirty of a snapshot)
            q = q.where(sv.person_id.in_(sorted(people)))
        q = q.group_by(sv.person_id, *((sv.region,) if per_region else ()))
        q = q.having(func.count(func.distinct(sv.date_of_service)) >= threshold)
        found.update(s.scalars(q))
    return found if people is None else found & people


class Watchlist:
    """The persons and the services in the window of a set of person rows, fetched in a few queries:
    `history(person)` holds what `services.person_history` would hold for the window's questions (the
    services of every person row sharing a key with this one, filed under their documents' keys)."""

    def __init__(self, s: Session, persons: Iterable[m.Person], window: tuple[date, date]) -> None:
        self.persons = {p.id: p for p in persons}
        start, end = window
        linked = _linked(s, self.persons.values())
        self._ids = linked
        wanted = sorted({i for ids in linked.values() for i in ids})
        sv = m.StoredService
        self._rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for part in chunks(wanted):
            q = (
                select(
                    sv.person_id,
                    sv.encounter_pk,
                    sv.member_key,
                    sv.name_key,
                    sv.date_of_service,
                    sv.family,
                    sv.region,
                    sv.purpose,
                    sv.codes,
                )
                .where(sv.person_id.in_(part), sv.date_of_service > start, sv.date_of_service <= end)
                .order_by(sv.id)
            )
            for row in s.execute(q):
                self._rows[row[0]].append(tuple(row[1:]))

    def history(self, person: m.Person) -> History:
        ids = self._ids[person.id]
        return history_of(r for i in sorted(ids) for r in self._rows.get(i, ()))


def _linked(s: Session, persons: Iterable[m.Person]) -> dict[int, set[int]]:
    """Person ID -> every person row sharing its member key or name key (itself included)."""
    persons = list(persons)
    by_mk: dict[str, set[int]] = defaultdict(set)
    by_nk: dict[str, set[int]] = defaultdict(set)
    mks = sorted({p.member_key for p in persons if p.member_key})
    nks = sorted({p.name_key for p in persons if p.name_key})
    # only keys held by more than one row can link rows: ask about those
    shared_mk = set(
        s.scalars(
            select(m.Person.member_key)
            .where(m.Person.member_key.is_not(None))
            .group_by(m.Person.member_key)
            .having(func.count() > 1)
        )
    )
    shared_nk = set(
        s.scalars(
            select(m.Person.name_key)
            .where(m.Person.name_key.is_not(None))
            .group_by(m.Person.name_key)
            .having(func.count() > 1)
        )
    )
    for part in chunks([k for k in mks if k in shared_mk]):
        for pid, mk in s.execute(
            select(m.Person.id, m.Person.member_key).where(m.Person.member_key.in_(part))
        ):
            by_mk[mk].add(pid)
    for part in chunks([k for k in nks if k in shared_nk]):
        for pid, nk in s.execute(select(m.Person.id, m.Person.name_key).where(m.Person.name_key.in_(part))):
            by_nk[nk].add(pid)
    out: dict[int, set[int]] = {}
    for p in persons:
        ids = {p.id}
        if p.member_key:
            ids |= by_mk.get(p.member_key, set())
        if p.name_key:
            ids |= by_nk.get(p.name_key, set())
        out[p.id] = ids
    return out
