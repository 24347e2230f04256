"""Which patients can be at or near a frequency limit: a superset found in SQL, so the frequency
watch computes standings (`history.limits.standing`, the one implementation) only for them.

A patient is listed when a limit has used >= max - 1 (and >= 1) sessions in its window. Sessions
used are distinct dates of services of the limit's families (and codes) in the window, of the
purpose the limit counts, per region when it counts per region: never more than the distinct dates
of billed lines whose code is of those families (and codes) in the window, whatever the region or
purpose. So a person is a candidate when that line-date count reaches the threshold for some limit
of any policy, counted over the person row's own claims and over the claims of every person row
sharing its member key or its name key (the identity rule of `services.person_history`). A stored
encounter without lines (documented procedures only) has services the lines cannot show: its
person is always a candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from painrcm.dates import add_months
from painrcm.scrub import Engine
from painrcm.store import models as m


def _limit_codes(engine: Engine, families: Iterable[str], codes: Iterable[str]) -> list[str]:
    fams = set(families)
    wanted = set(codes)
    return sorted(
        c for c, info in engine.reference.codes.items() if info.family in fams and (not wanted or c in wanted)
    )


def widest_window(engine: Engine, on: date) -> tuple[date, date]:
    """(start, on) covering every limit's window on `on`, over every policy in force."""
    months = max((limit.window_months for p in engine.policies.all() for limit in p.frequency), default=12)
    return add_months(on, -months), on


def candidates(s: Session, engine: Engine, person_ids: Iterable[int], on: date) -> set[int]:
    """The persons among `person_ids` that may stand at or one session short of a frequency limit on `on`."""
    people = set(person_ids)
    if not people:
        return set()
    found: set[int] = set()
    # person rows that share a key with another row: their history spans rows, always computed
    for column in (m.Person.member_key, m.Person.name_key):
        shared = select(column).where(column.is_not(None)).group_by(column).having(func.count() > 1)
        found |= set(s.scalars(select(m.Person.id).where(column.in_(shared)))) & people
    # each distinct counting rule once, over every policy in force
    rules = {
        (
            tuple(sorted(limit.families)),
            tuple(sorted(limit.codes)),
            limit.window_months,
            max(1, limit.max - 1),
        )
        for policy in engine.policies.all()
        for limit in policy.frequency
    }
    day = func.coalesce(m.ClaimLine.date_of_service, m.Encounter.date_of_service)
    earliest = on
    for families, codes, months, threshold in sorted(rules):
        code_list = _limit_codes(engine, families, codes)
        if not code_list:
            continue
        start = add_months(on, -months)
        earliest = min(earliest, start)
        q = (
            select(m.Encounter.person_id)
            .join(m.ClaimLine, m.ClaimLine.encounter_pk == m.Encounter.id)
            .where(m.ClaimLine.code.in_(code_list), day > start, day <= on)
            .group_by(m.Encounter.person_id)
            .having(func.count(func.distinct(day)) >= threshold)
        )
        found |= set(s.scalars(q)) & people
    # documented-only encounters in the widest window: their services are not in claim_lines
    no_lines = ~exists().where(m.ClaimLine.encounter_pk == m.Encounter.id)
    found |= (
        set(
            s.scalars(
                select(m.Encounter.person_id)
                .where(m.Encounter.date_of_service > earliest, m.Encounter.date_of_service <= on, no_lines)
                .distinct()
            )
        )
        & people
    )
    return found
