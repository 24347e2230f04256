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


FEW = 10 * CHUNK  # up to this many persons, `candidates` asks about them by ID


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
    # a few thousand persons (the dirty of a snapshot, those a new date changes): asked by person
    parts: list[Any] = [None]
    if people is not None and len(people) <= FEW:
        parts = list(chunks(sorted(people)))
    for families, purpose, per_region, months, threshold in sorted(rules, key=repr):
        start = add_months(on, -months)
        q = select(sv.person_id).where(
            sv.date_of_service > start, sv.date_of_service <= on, sv.family.in_(families)
        )
        if purpose is not None:
            q = q.where(sv.purpose == purpose)
        q = q.group_by(sv.person_id, *((sv.region,) if per_region else ()))
        q = q.having(func.count(func.distinct(sv.date_of_service)) >= threshold)
        for part in parts:
            found.update(s.scalars(q if part is None else q.where(sv.person_id.in_(part))))
    return found if people is None else found & people


def limit_families(engine: Engine) -> list[str]:
    """The procedure families some frequency limit counts, over every policy in force (a limit counts
    the services of its own families only: `Past.sessions`)."""
    return sorted({f for p in engine.policies.all() for limit in p.frequency for f in limit.families})


class Watchlist:
    """The services in the window of a set of person rows, fetched in a few queries (the families a
    limit counts only): `history(person_id)` holds what `services.person_history` would hold for the
    window's questions (the services of every person row sharing a key with this one, filed under
    their documents' keys)."""

    def __init__(
        self, s: Session, persons: Iterable[Any], window: tuple[date, date], families: Iterable[str]
    ) -> None:
        """`persons`: rows with `id`, `member_key` and `name_key` (ORM persons or selected columns)."""
        start, end = window
        linked = _linked(s, persons)
        self._ids = linked
        wanted = sorted({i for ids in linked.values() for i in ids})
        sv = m.StoredService
        self._rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        cols = (sv.person_id, sv.encounter_pk, sv.member_key, sv.name_key, sv.date_of_service, sv.family)
        cols += (sv.region, sv.purpose, sv.codes)
        base = select(*cols).where(
            sv.date_of_service > start, sv.date_of_service <= end, sv.family.in_(sorted(families))
        )
        for part in chunks(wanted):
            for row in s.execute(base.where(sv.person_id.in_(part)).order_by(sv.id)):
                self._rows[row[0]].append(tuple(row[1:]))

    def history(self, person_id: int) -> History:
        ids = self._ids[person_id]
        return history_of(r for i in sorted(ids) for r in self._rows.get(i, ()))


def _linked(s: Session, persons: Iterable[Any]) -> dict[int, set[int]]:
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
