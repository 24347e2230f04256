"""The frequency watch's stored standings: per date, the standing of every candidate patient
(`history.limits.standing`, the one implementation, through `queries_work.person_standing`), kept in
tables so that a page of the watch, its counts and its CSV are SQL over stored rows.

A snapshot is one date (`standing_snapshots.on`): the candidates of that date (``store/watch.py``'s
SQL prefilter), for each of them and each practice they were seen at, the latest encounter at that
practice on or before the date (`standing_persons`: its payer's policy decides the limits) and the
limits they are at, over or one session short of (`standing_rows`). A scope (the practices a user
covers) reads, per person, the practice of their latest encounter among the practices covered: what
the watch computed per request before.

How they stay correct:
- as days pass: a snapshot answers for its own date only (windows slide and next payable dates move);
  a read for another date makes that date's snapshot first (lazily: the first read of a new day pays
  for it; ``painrcm admin refresh-services`` computes today's ahead). It is derived from the nearest
  stored snapshot (`_derive`): between two dates only the persons with a service where a window
  begins or ends in between (`limits.window_changes`) or an encounter in between can stand
  differently; they are computed, everyone else's rows copied (a next payable date that is the date
  asked moves with it). Without a snapshot near enough, every candidate is computed (`_compute`).
  The newest KEEP snapshots are kept, older ones dropped.
- as claims change: every write calls ``service_rows.refresh_services``, which files the persons
  whose services changed (before and after the write, with every person row sharing an identity key
  with them) in `standing_dirty` for each snapshot (`mark_dirty`); the next read of a snapshot
  recomputes them first.
- as rules change: the snapshot keeps the fingerprint of the policies' frequency limits and of the
  payers' plans it was computed with; another fingerprint drops it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Date, and_, case, delete, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session, aliased

from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.histories import chunks
from painrcm.store.rows import insert_rows

KEEP = 3  # snapshots kept (today, and a date or two a biller looked at)
DERIVE_SHARE = 0.5  # a new snapshot is derived while at most this share of the persons must be computed


_LIMITS: dict[int, tuple[Any, str]] = {}


def _limits_of(engine: Engine) -> str:
    """The frequency limits of every policy, as text (once per policy book)."""
    book = engine.policies
    kept = _LIMITS.get(id(book))
    if kept is None or kept[0] is not book:
        text = repr(
            [(p.id, [x.model_dump() for x in p.frequency]) for p in sorted(book.all(), key=lambda p: p.id)]
        )
        kept = _LIMITS[id(book)] = (book, text)
    return kept[1]


def rules_of(s: Session, engine: Engine) -> str:
    """Fingerprint of what a standing depends on besides the services: the frequency limits of every
    policy, how payers map to policies (their plans)."""
    h = hashlib.sha256(_limits_of(engine).encode())
    for pid, plan in s.execute(select(m.Payer.id, m.Payer.plan).order_by(m.Payer.id)):
        h.update(repr((pid, plan)).encode())
    return h.hexdigest()


def _linked(s: Session, person_ids: set[int]) -> set[int]:
    """The persons given and every person row sharing a member key or a name key with one of them."""
    out = set(person_ids)
    p = m.Person
    for part in chunks(sorted(person_ids)):
        for column in (p.member_key, p.name_key):
            keys = select(column).where(p.id.in_(part), column.is_not(None))
            out.update(s.scalars(select(p.id).where(column.in_(keys))))
    return out


def mark_dirty(s: Session, person_ids: Iterable[int]) -> None:
    """File these persons (and the person rows sharing a key with them) for recomputation in every
    stored snapshot. Called by ``service_rows.refresh_services``."""
    ids = {i for i in person_ids if i is not None}
    if not ids:
        return
    ons = list(s.scalars(select(m.StandingSnapshot.on)))
    if not ons:
        return
    ids = _linked(s, ids)
    d = m.StandingDirty
    for part in chunks(sorted(ids)):
        s.execute(delete(d).where(d.person_id.in_(part)))
        s.execute(insert(d), [{"on": on, "person_id": pid} for on in ons for pid in part])


def ensure(s: Session, engine: Engine, on: date) -> None:
    """Make the snapshot of `on` current: when missing or computed under other rules, derived from the
    nearest stored snapshot (`_derive`) or computed for all candidates; its dirty persons recomputed.
    Requests keeping the same date current take turns (on PostgreSQL the snapshot's row is locked
    until the request's transaction ends; SQLite has one writer at a time): the second finds the work
    done."""
    rules = rules_of(s, engine)
    snap = s.get(m.StandingSnapshot, on)
    if snap is not None and snap.rules != rules:
        s.execute(delete(m.StandingSnapshot).where(m.StandingSnapshot.on == on))
        s.expire_all()
        snap = None
    if snap is None:
        _evict(s)
        if _create(s, on, rules):
            source = _nearest(s, on, rules)
            if source is None or not _derive(s, engine, source, on):
                _compute(s, engine, on, None)
                return
            # derived: the persons it could not copy are filed dirty, computed below
    ss = m.StandingSnapshot
    s.execute(select(ss.on).where(ss.on == on).with_for_update(key_share=True))
    dirty = list(s.scalars(select(m.StandingDirty.person_id).where(m.StandingDirty.on == on)))
    if not dirty:
        return
    for part in chunks(sorted(dirty)):
        for table in (m.StandingRow, m.StandingPerson, m.StandingDirty):
            s.execute(delete(table).where(table.on == on, table.person_id.in_(part)))
    _compute(s, engine, on, set(dirty))


def _nearest(s: Session, on: date, rules: str) -> date | None:
    """The stored snapshot nearest to `on` computed under the same rules, if any."""
    ss = m.StandingSnapshot
    found = list(s.scalars(select(ss.on).where(ss.on != on, ss.rules == rules)))
    return min(found, key=lambda d: (abs((d - on).days), d), default=None)


def changed_between(s: Session, engine: Engine, a: date, b: date) -> set[int]:
    """The persons whose standings may differ between dates `a` and `b` (stored data unchanged): those
    with a service in the ranges of dates one of the limits' windows holds on one date and not on the
    other (`limits.window_changes`), or an encounter between the dates (their latest encounter at a
    practice, so the payer whose policy applies, may differ); with every person row sharing a key
    with them (whose history holds theirs)."""
    from painrcm.history.limits import window_changes

    months = {limit.window_months for p in engine.policies.all() for limit in p.frequency}
    sv, e = m.StoredService, m.Encounter
    found: set[int] = set()
    for lo, hi in window_changes(a, b, months):
        q = select(sv.person_id).distinct().where(sv.date_of_service > lo, sv.date_of_service <= hi)
        found.update(s.scalars(q))
    lo, hi = min(a, b), max(a, b)
    found.update(
        s.scalars(select(e.person_id).distinct().where(e.date_of_service > lo, e.date_of_service <= hi))
    )
    return _linked(s, found) if found else found


def _derive(s: Session, engine: Engine, source: date, on: date) -> bool:
    """Make the new snapshot of `on` from the snapshot of `source`: the standings of the persons
    `changed_between` the dates, and of those dirty in the source, are filed dirty (computed
    afresh); everyone else's rows are copied, with the next payable date of a limit that has a
    session left moved to `on` (`LimitStanding.next_payable`). False (nothing written) when more
    than DERIVE_SHARE of the source's persons would be computed afresh: computing all is as quick."""
    ss, sp, d = m.StandingSnapshot, m.StandingPerson, m.StandingDirty
    # the source stays while it is copied (a request for another date may evict it meanwhile)
    if (
        s.execute(select(ss.on).where(ss.on == source).with_for_update(read=True, key_share=True)).first()
        is None
    ):
        return False
    redo = changed_between(s, engine, source, on)
    redo |= set(s.scalars(select(d.person_id).where(d.on == source)))
    kept = s.scalar(select(func.count(func.distinct(sp.person_id))).where(sp.on == source)) or 0
    if len(redo) > DERIVE_SHARE * kept:
        return False
    for part in chunks(sorted(redo)):
        s.execute(insert(d), [{"on": on, "person_id": pid} for pid in part])
    day = literal(on, Date)
    for table in (sp.__table__, m.StandingRow.__table__):
        c = table.c
        names = [col.name for col in c if col.name != "id"]
        moved = {"on": day}
        if "next_payable" in c:  # LimitStanding.next_payable: the date asked while a session is left
            moved["next_payable"] = case((c.used < c.max, day), else_=c.next_payable)
        copied = select(*(moved.get(n, c[n]) for n in names)).where(
            c.on == source, ~exists().where(d.on == on, d.person_id == c.person_id)
        )
        s.execute(insert(table).from_select(names, copied))
    return True


def _create(s: Session, on: date, rules: str) -> bool:
    """Insert the snapshot's row; False when another request made it meanwhile."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    ss = m.StandingSnapshot
    stmt = dialect.insert(ss).values(on=on, rules=rules).on_conflict_do_nothing().returning(ss.on)
    return s.execute(stmt).first() is not None


def _evict(s: Session) -> None:
    ss = m.StandingSnapshot
    old = list(s.scalars(select(ss.on).order_by(ss.computed_at.desc(), ss.on.desc()).offset(KEEP - 1)))
    if old:
        s.execute(delete(ss).where(ss.on.in_(old)))


def _latest_at_practices(
    s: Session, person_ids: set[int], on: date
) -> dict[tuple[int, str], tuple[date, int, str]]:
    """(person, practice) -> (date, ID, payer) of the person's latest encounter at the practice on or
    before `on`."""
    e = m.Encounter
    latest: dict[tuple[int, str], tuple[date, int, str]] = {}
    q = select(e.person_id, e.practice_id, e.date_of_service, e.id, e.payer_id).where(e.date_of_service <= on)
    for part in chunks(sorted(person_ids)):
        for pid, practice, day, pk, payer in s.execute(q.where(e.person_id.in_(part))):
            key = (pid, practice)
            seen = latest.get(key)
            if seen is None or (day, pk) > seen[:2]:
                latest[key] = (day, pk, payer)
    return latest


def _compute(s: Session, engine: Engine, on: date, person_ids: set[int] | None) -> None:
    """Store the standings on `on` of the candidates (among `person_ids`, or everyone): each person's
    services fetched once, their standing computed once per policy their practices' payers follow."""
    from painrcm.history.limits import standing
    from painrcm.store.queries_work import _display_name, _patient, _payer_model, watched
    from painrcm.store.watch import Watchlist, candidates, limit_families, widest_window

    hot = candidates(s, engine, person_ids, on)
    if not hot:
        return
    latest = _latest_at_practices(s, hot, on)
    p = m.Person
    persons: dict[int, Any] = {}
    for part in chunks(sorted({pid for pid, _ in latest})):
        q = select(p.id, p.member_id, p.last_name, p.first_name, p.dob, p.member_key, p.name_key)
        persons.update((row.id, row) for row in s.execute(q.where(p.id.in_(part))))
    book = Watchlist(s, persons.values(), widest_window(engine, on), limit_families(engine))
    policies: dict[str, Any] = {}
    seen_at: dict[int, list[tuple[date, int]]] = {}
    for (pid, _), (day, pk, _) in latest.items():
        seen_at.setdefault(pid, []).append((day, pk))
    people: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    last_pid, patient, name, found = None, None, None, {}
    for (pid, practice), (day, pk, payer_id) in sorted(latest.items()):
        if pid != last_pid:  # the person's history once, their standing once per policy
            person = persons[pid]
            history, patient, name, found = book.history(pid), _patient(person), _display_name(person), {}
            last_pid = pid
        policy = policies.get(payer_id)
        if policy is None:
            policy = policies[payer_id] = engine.policies.for_payer(_payer_model(s, payer_id))
        standings = found.get(policy.id)
        if standings is None:
            standings = found[policy.id] = standing(history, patient, policy, on)
        pair = {"person_id": pid, "practice_id": practice, "last_date": day, "last_pk": pk}
        people.append({"on": on, "payer_id": payer_id, **pair})
        flags = {"latest": (day, pk) == max(seen_at[pid]), "practices": len(seen_at[pid])}
        for r in watched(standings, on, pid, name, practice, payer_id, policy.id):
            rows.append({"on": on, **r.to_columns(), **pair, **flags})
    insert_rows(s, m.StandingPerson.__table__, people)
    insert_rows(s, m.StandingRow.__table__, rows)


def visible(on: date, allowed: set[str] | None) -> Any:
    """SQL condition on standing_rows: the rows of `on` that a scope shows (per person, those of the
    practice of their latest encounter among the practices covered)."""
    r, k = m.StandingRow, aliased(m.StandingPerson)
    if allowed is None:
        return and_(r.on == on, r.latest.is_(True))
    later = exists().where(
        k.on == on,
        k.person_id == r.person_id,
        k.practice_id.in_(allowed),
        or_(k.last_date > r.last_date, and_(k.last_date == r.last_date, k.last_pk > r.last_pk)),
    )
    return and_(r.on == on, r.practice_id.in_(allowed), or_(r.practices == 1, r.latest.is_(True), ~later))


def count_rows(s: Session, where: Any) -> tuple[int, int, dict[str, int]]:
    """(rows, patients, rows per state) of the rows matching."""
    r = m.StandingRow
    states: dict[str, int] = {}
    for state, n in s.execute(select(r.state, func.count()).where(where).group_by(r.state)):
        states[state] = int(n)
    patients = s.scalar(select(func.count(func.distinct(r.person_id))).where(where)) or 0
    return sum(states.values()), int(patients), states
