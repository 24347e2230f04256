"""A frequency-watch snapshot derived from the nearest stored one (`standings._derive`: the persons
whose standings can differ between the dates computed afresh, the rest copied) equals the snapshot
computed for every candidate, over random histories and dates: services near window boundaries,
month ends (a window from 31 March or 29 February), identities spanning person rows, payers of
both policies, encounters without services, writes between the two reads."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from painrcm.dates import add_months
from painrcm.model import Patient
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import standings
from painrcm.store.bulk import identity
from painrcm.store.db import Database

KINDS = (  # (family, region, purpose) of a stored service
    [("epidural_interlaminar", r, None) for r in ("cervical_thoracic", "lumbar_sacral")]
    + [("epidural_transforaminal", "lumbar_sacral", None)]
    + [("facet_joint", r, p) for r in ("cervical_thoracic", "lumbar_sacral") for p in ("diagnostic", "therapeutic", None)]
    + [("radiofrequency_ablation", "lumbar_sacral", None), ("trigger_point", None, None)]
    + [("sacroiliac_joint", None, p) for p in ("diagnostic", "therapeutic", None)]
    + [("office_visit", None, None)]
)  # fmt: skip
BASES = (date(2026, 7, 28), date(2025, 3, 31), date(2024, 2, 29), date(2025, 12, 31))
PAYERS = {"MCR": "medicare", "ACME": "commercial", "GONE": None}  # GONE: no payer row (commercial)
NAMES = (("DOE", "JANE"), ("DOE", "JOHN"), ("ROE", "RICHARD"))

READS = (1, 2, -1, 7, -7, 30, 31, 61, -45, 365)  # dates read after the first, in days from it
# dates are drawn near where windows begin and end: the dates read and twelve months before them
ANCHORS = (0, *READS, *(("-12m", k) for k in (0, *READS)))

person = st.tuples(st.sampled_from(NAMES), st.sampled_from(("M1", "M2", "M3", "M4", None)))
day = st.tuples(st.sampled_from(ANCHORS), st.integers(-2, 2))
service = st.tuples(st.sampled_from(KINDS), st.integers(-2, 2) | st.just(0))  # days from its encounter
who, where, paid_by = st.integers(0, 7), st.sampled_from(("PA", "PB")), st.sampled_from(sorted(PAYERS))
# (person (modulo those drawn), practice, payer, date, services)
encounter = st.tuples(who, where, paid_by, day | st.integers(-460, 70), st.lists(service, max_size=4))
visit = st.tuples(who, where, paid_by, day, st.just([]))  # no service: the latest encounter (its payer) moves
world = st.fixed_dictionaries(
    {
        "persons": st.lists(person, min_size=1, max_size=6),
        "encounters": st.lists(encounter, min_size=4, max_size=60),
        "base": st.sampled_from(BASES),
        "reads": st.lists(st.sampled_from(READS), min_size=1, max_size=3),
        "visits": st.lists(visit, max_size=6),
        # a service added after the first read: mostly inside the windows, away from their ends
        "write": st.tuples(st.integers(0, 59), st.sampled_from(KINDS[:-1]), st.integers(-300, 0) | day),
    }
)


def _date(base: date, when: Any) -> date:
    """A drawn date: days from the first date read, or (anchor, days from it)."""
    if isinstance(when, int):
        return base + timedelta(days=when)
    anchor, delta = when
    if isinstance(anchor, tuple):  # twelve months before a date read
        anchor_day = add_months(base + timedelta(days=anchor[1]), -12)
    else:
        anchor_day = base + timedelta(days=anchor)
    return anchor_day + timedelta(days=delta)


def _clean(s: Any) -> None:
    for table in (m.StandingSnapshot, m.StoredService, m.Encounter, m.Person, m.Payer, m.Practice):
        s.execute(delete(table))


def _store(s: Any, w: dict[str, Any]) -> list[m.Encounter]:
    for pid in ("PA", "PB"):
        s.add(m.Practice(id=pid, name=pid))
    for pid, plan in PAYERS.items():
        if plan:
            s.add(m.Payer(id=pid, name=pid, plan=plan))
    people = []
    for (last, first), member in w["persons"]:
        dob = date(1960, 1, 2)
        mk, nk = identity(Patient(member_id=member, last_name=last, first_name=first, dob=dob))
        people.append(
            m.Person(member_key=mk, name_key=nk, member_id=member, last_name=last, first_name=first, dob=dob)
        )
    s.add_all(people)
    s.flush()
    encounters = []
    for k, (who, practice, payer, day, services) in enumerate(w["encounters"] + w["visits"]):
        p = people[who % len(people)]
        dos = _date(w["base"], day)
        e = m.Encounter(
            practice_id=practice, person_id=p.id, encounter_id=f"E{k}", payer_id=payer,
            date_of_service=dos, place_of_service="11", document={},
        )  # fmt: skip
        s.add(e)
        s.flush()
        encounters.append(e)
        for (family, region, purpose), shift in services:
            _service(s, e, p, family, region, purpose, dos + timedelta(days=shift))
    s.flush()
    return encounters


def _service(s: Any, e: m.Encounter, p: m.Person, family: str, region: Any, purpose: Any, day: date) -> None:
    s.add(
        m.StoredService(
            encounter_pk=e.id, person_id=p.id, member_key=p.member_key, name_key=p.name_key,
            date_of_service=day, family=family, region=region, purpose=purpose, codes="",
        )
    )  # fmt: skip


def _snapshot(s: Any, on: date) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    r, p = m.StandingRow.__table__, m.StandingPerson.__table__
    rows = sorted(
        tuple(x) for x in s.execute(select(*(c for c in r.c if c.name != "id")).where(r.c.on == on))
    )
    people = sorted(tuple(x) for x in s.execute(select(p).where(p.c.on == on)))
    return rows, people


@pytest.fixture
def derive_always(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """Derive whatever share of the persons must be computed afresh; the dates derived."""
    monkeypatch.setattr(standings, "DERIVE_SHARE", float("inf"))
    derived: list[date] = []
    real = standings._derive

    def spy(s: Any, engine: Engine, source: date, on: date) -> bool:
        done = real(s, engine, source, on)
        if done:
            derived.append(on)
        return done

    monkeypatch.setattr(standings, "_derive", spy)
    return derived


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=world)
def test_a_derived_snapshot_equals_the_full_computation(
    db: Database, engine: Engine, derive_always: list[date], w: dict[str, Any]
) -> None:
    derive_always.clear()
    with db.session() as s:
        _clean(s)
        encounters = _store(s, w)
    first = w["base"]
    reads = [first + timedelta(days=k) for k in w["reads"]]
    got = {}
    with db.session() as s:
        standings.ensure(s, engine, first)
        # a write after the first read: its person is dirty in the snapshot
        k, (family, region, purpose), when = w["write"]
        e = encounters[k % len(encounters)]
        p = s.get(m.Person, e.person_id)
        _service(s, e, p, family, region, purpose, _date(first, when))
        s.flush()
        standings.mark_dirty(s, [p.id])
        for on in reads:
            standings.ensure(s, engine, on)
            got[on] = _snapshot(s, on)
    assert set(derive_always) == {on for on in reads if on != first}
    for on in reads:
        with db.session() as s:
            s.execute(delete(m.StandingSnapshot))
            standings.ensure(s, engine, on)
            assert got[on] == _snapshot(s, on), on


def test_two_first_reads_of_a_derived_date_make_it_once(db: Database, engine: Engine) -> None:
    """Two requests for the day after a stored snapshot: the first derives it; the second finds its
    row made (`_create` is False) and reads it as it is (no duplicate rows, nothing recomputed)."""
    w = {
        "persons": [(NAMES[0], "M1"), (NAMES[1], "M2")],
        "encounters": [(k % 2, "PA", "MCR", -30 * k, [(KINDS[9], 0)]) for k in range(5)],
        "visits": [],
        "base": BASES[0],
    }
    with db.session() as s:
        _store(s, w)
    first, on = BASES[0], BASES[0] + timedelta(days=1)
    with db.session() as s:
        standings.ensure(s, engine, first)
    with db.session() as s:
        standings.ensure(s, engine, on)
        made = _snapshot(s, on)
    assert made[0], "someone is near a limit"
    with db.session() as s:
        assert not standings._create(s, on, standings.rules_of(s, engine))
        standings.ensure(s, engine, on)
        assert _snapshot(s, on) == made
        assert not list(s.scalars(select(m.StandingDirty.person_id)))
