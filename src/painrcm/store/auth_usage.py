"""Authorization usage (issue 9): which stored claims used an authorization, and how many sessions.

An authorization number reaches a claim at two levels, and both count:
- claim level: the encounter's ``authorization_number`` (837P loop 2300 REF*G1), which covers every
  line that carries no number of its own;
- line level: a line's ``authorization_number`` (837P loop 2400 REF*G1).

A session is a date of service: the claims of one member on one date that carry the number count
once. A claim counts for an authorization when the number matches (spaces and case ignored) and the
claim is the authorization's patient (the same person, or a person with the same member ID).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, event, func, or_, select, update
from sqlalchemy.orm import Session

from painrcm.store import models as m
from painrcm.store.histories import CHUNK, chunks


@functools.lru_cache(maxsize=1 << 16)
def norm(text: str | None) -> str:
    """An authorization number as compared: spaces and case ignored (cached: a book repeats its numbers
    on every line and claim)."""
    return "".join((text or "").split()).upper()


@dataclass
class ClaimUse:
    """One claim's use of an authorization."""

    encounter_pk: int
    encounter_id: str
    practice_id: str
    date_of_service: date
    level: str  # claim | line
    lines: list[int] = field(default_factory=list)  # line numbers relying on it
    codes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.encounter_pk,
            "encounter_id": self.encounter_id,
            "practice_id": self.practice_id,
            "date_of_service": self.date_of_service.isoformat(),
            "level": self.level,
            "lines": list(self.lines),
            "codes": list(self.codes),
        }


def numbers_on_claim(document: dict[str, Any], lines: Sequence[Any]) -> dict[str, list[Any]]:
    """Normalized authorization number -> the claim's lines relying on it (claim level covers the lines
    without their own number; a claim-level number on a claim without lines maps to no line)."""
    return _numbers(norm(document.get("authorization_number")), lines)


def _numbers(claim_level: str, lines: Sequence[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    if claim_level:
        out[claim_level] = []
    for ln in lines:
        number = norm(ln.authorization_number) or claim_level
        if number:
            out.setdefault(number, []).append(ln)
    return out


@dataclass(frozen=True)
class Use:
    """What one claim's use of one number stores (a `ClaimUse` without the claim's columns)."""

    number: str
    date_of_service: date
    level: str
    lines: tuple[int, ...]
    codes: tuple[str, ...]


def uses_of_claim(claim_level: str | None, claim_date: date, lines: Sequence[Any]) -> list[Use]:
    """The numbers one claim uses (`_numbers`), each with its date of service (the earliest of the lines
    relying on it, the claim's date when none does), level and lines. `lines`: with their line_no,
    code, date_of_service and authorization_number. What ``service_rows.refresh_services`` stores for
    every claim (table claim_auth_uses), which the tracker and `usage` read."""
    level_number = norm(claim_level)
    out = []
    for number, mine in _numbers(level_number, lines).items():
        dates = [ln.date_of_service or claim_date for ln in mine] or [claim_date]
        out.append(
            Use(
                number,
                min(dates),
                "claim" if number == level_number else "line",
                tuple(ln.line_no for ln in mine),
                tuple(ln.code for ln in mine),
            )
        )
    return out


def keys_of(auth_number: str | None, member_id: str | None) -> tuple[str, str]:
    """An authorization's number and member ID as compared (columns number_key, member_key)."""
    return norm(auth_number), norm(member_id)


@event.listens_for(m.Authorization, "before_insert")
@event.listens_for(m.Authorization, "before_update")
def _set_keys(mapper: Any, connection: Any, target: m.Authorization) -> None:
    target.number_key, target.member_key = keys_of(target.auth_number, target.member_id)


def refresh_keys(s: Session) -> int:
    """Set the keys of every authorization whose keys are missing or differ (the migration's backfill;
    a writer that bypasses the ORM). Returns the rows changed."""
    a = m.Authorization.__table__.c
    changed = [
        {"pk": pk, "nk": nk, "mk": mk}
        for pk, number, member, old_n, old_m in s.execute(
            select(a.id, a.auth_number, a.member_id, a.number_key, a.member_key)
        )
        for nk, mk in [keys_of(number, member)]
        if (nk, mk) != (old_n, old_m)
    ]
    for part in [changed[i : i + CHUNK] for i in range(0, len(changed), CHUNK)]:
        s.execute(
            update(m.Authorization.__table__)
            .where(a.id == bindparam("pk"))
            .values(number_key=bindparam("nk"), member_key=bindparam("mk")),
            part,
        )
    return len(changed)


def matches() -> Any:
    """SQL condition joining authorizations to claim_auth_uses: the same number, and the
    authorization's patient (the same person, or a person with the same member ID)."""
    a, u = m.Authorization, m.ClaimAuthUse
    return and_(
        u.number_key == a.number_key,
        or_(u.person_id == a.person_id, and_(a.member_key != "", u.member_key == a.member_key)),
    )


def usage(s: Session, auths: Sequence[Any], on: date | None) -> dict[int, list[ClaimUse]]:
    """Per authorization ID: the claims (dated up to `on`, when given) that used it, oldest first.
    `auths`: stored authorization rows (or rows with their id)."""
    ids = sorted({a.id for a in auths})
    out: dict[int, list[ClaimUse]] = {i: [] for i in ids}
    a, u, e = m.Authorization, m.ClaimAuthUse, m.Encounter
    for part in chunks(ids):
        q = (
            select(
                a.id, u.encounter_pk, e.encounter_id, e.practice_id, u.date_of_service, u.level, u.lines,
                u.codes,
            )
            .join(u, matches())
            .join(e, e.id == u.encounter_pk)
            .where(a.id.in_(part))
        )  # fmt: skip
        if on is not None:
            q = q.where(u.date_of_service <= on)
        for aid, pk, eid, practice, day, level, lines, codes in s.execute(q):
            out[aid].append(
                ClaimUse(pk, eid, practice, day, level, [int(x) for x in lines.split()], codes.split())
            )
    for uses in out.values():
        uses.sort(key=lambda c: (c.date_of_service, c.encounter_id))
    return out


def used_by_authorization(on: date, where: Sequence[Any]) -> Any:
    """Subquery (id, used): the sessions each authorization matching `where` used up to `on` (those
    with none are left out), in one grouped join."""
    a, u = m.Authorization, m.ClaimAuthUse
    return (
        select(a.id, func.count(func.distinct(u.date_of_service)).label("used"))
        .join(u, and_(matches(), u.date_of_service <= on))
        .where(*where)
        .group_by(a.id)
        .subquery()
    )


def used_sessions(on: date) -> Any:
    """Correlated SQL: the sessions an authorization (the outer `authorizations` row) used up to `on`
    (distinct dates of service of the claims that used it)."""
    a, u = m.Authorization, m.ClaimAuthUse
    return (
        select(func.count(func.distinct(u.date_of_service)))
        .where(matches(), u.date_of_service <= on)
        .correlate(a)
        .scalar_subquery()
    )


def sessions(uses: Sequence[ClaimUse]) -> int:
    """Sessions used: distinct dates of service."""
    return len({u.date_of_service for u in uses})


def authorizations_for_claim(s: Session, row: m.Encounter) -> list[tuple[m.Authorization, list[int]]]:
    """The authorizations on file that the claim's lines rely on, with the line numbers relying on each."""
    found = numbers_on_claim(row.document or {}, row.lines)
    if not found:
        return []
    person = s.get(m.Person, row.person_id)
    member = norm(person.member_id if person else None)
    s.flush()  # the keys of authorizations added in this session
    out = []
    for a in s.scalars(
        select(m.Authorization)
        .where(m.Authorization.practice_id == row.practice_id, m.Authorization.number_key.in_(sorted(found)))
        .order_by(m.Authorization.id)
    ):
        if a.person_id == row.person_id or (member and norm(a.member_id) == member):
            out.append((a, [ln.line_no for ln in found[norm(a.auth_number)]]))
    return out


def unmatched_numbers(s: Session, row: m.Encounter) -> list[str]:
    """Authorization numbers the claim carries that match no authorization on file for the patient."""
    found = numbers_on_claim(row.document or {}, row.lines)
    matched = {norm(a.auth_number) for a, _ in authorizations_for_claim(s, row)}
    return sorted(n for n in found if n not in matched)
