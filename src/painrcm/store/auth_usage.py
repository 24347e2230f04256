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

from sqlalchemy import and_, func, or_, select
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


@dataclass
class _Claim:
    id: int
    encounter_id: str
    practice_id: str
    date_of_service: date
    person_id: int
    authorization_number: str | None  # claim level
    lines: list[Any] = field(default_factory=list)


def _uses_of(row: _Claim, numbers: set[str], on: date | None) -> dict[str, ClaimUse]:
    claim_level = norm(row.authorization_number)
    found = _numbers(claim_level, row.lines)
    out: dict[str, ClaimUse] = {}
    for number, lines in found.items():
        if number not in numbers:
            continue
        dates = [ln.date_of_service or row.date_of_service for ln in lines] or [row.date_of_service]
        day = min(dates)
        if on is not None and day > on:
            continue
        out[number] = ClaimUse(
            encounter_pk=row.id,
            encounter_id=row.encounter_id,
            practice_id=row.practice_id,
            date_of_service=day,
            level="claim" if number == claim_level else "line",
            lines=[ln.line_no for ln in lines],
            codes=[ln.code for ln in lines],
        )
    return out


def _claims_with_numbers(s: Session, person_ids: Sequence[int] | None) -> list[_Claim]:
    """The stored claims that carry an authorization number at claim or line level (of these persons,
    or of everyone), with their lines, oldest ID first: from columns, no document is read."""
    e, ln = m.Encounter, m.ClaimLine
    carries = or_(
        e.authorization_number.is_not(None),
        e.id.in_(select(ln.encounter_pk).where(ln.authorization_number.is_not(None))),
    )
    claims: dict[int, _Claim] = {}
    for part in [None] if person_ids is None else list(chunks(sorted(person_ids))):
        where = carries if part is None else and_(carries, e.person_id.in_(part))
        q = select(
            e.id, e.encounter_id, e.practice_id, e.date_of_service, e.person_id, e.authorization_number
        ).where(where)
        for row in s.execute(q):
            claims[row[0]] = _Claim(*row)
        lq = (
            select(ln.encounter_pk, ln.line_no, ln.code, ln.date_of_service, ln.authorization_number)
            .join(e, e.id == ln.encounter_pk)
            .where(where)
            .order_by(ln.encounter_pk, ln.line_no)
        )
        for line in s.execute(lq):
            claims[line.encounter_pk].lines.append(line)
    return [claims[k] for k in sorted(claims)]


def usage(s: Session, auths: Sequence[Any], on: date | None) -> dict[int, list[ClaimUse]]:
    """Per authorization ID: the claims (dated up to `on`, when given) that used it, oldest first.
    `auths`: authorization rows (or rows with their id, auth_number, member_id and person_id)."""
    numbers = {norm(a.auth_number) for a in auths}
    if not numbers:
        return {}
    members = {norm(a.member_id) for a in auths if norm(a.member_id)}
    person_ids = {a.person_id for a in auths if a.person_id is not None}
    member_col = func.upper(func.replace(m.Person.member_id, " ", ""))
    persons: dict[int, str] = {}
    for part in chunks(sorted(members)):
        persons.update(
            (pid, norm(mid))
            for pid, mid in s.execute(select(m.Person.id, m.Person.member_id).where(member_col.in_(part)))
        )
    for part in chunks(sorted(person_ids)):
        persons.update(
            (pid, norm(mid))
            for pid, mid in s.execute(select(m.Person.id, m.Person.member_id).where(m.Person.id.in_(part)))
        )
    if not persons:
        return {a.id: [] for a in auths}
    # many patients: one pass over the claims that carry a number; a few: their claims only
    rows = _claims_with_numbers(s, None if len(persons) > CHUNK else sorted(persons))
    by_number: dict[str, list[tuple[_Claim, ClaimUse]]] = {}
    for row in rows:
        if row.person_id not in persons:
            continue
        for number, use in _uses_of(row, numbers, on).items():
            by_number.setdefault(number, []).append((row, use))
    out: dict[int, list[ClaimUse]] = {}
    for a in auths:
        member = norm(a.member_id)
        uses = [
            use
            for row, use in by_number.get(norm(a.auth_number), [])
            if (a.person_id is not None and row.person_id == a.person_id)
            or persons.get(row.person_id) == member
        ]
        out[a.id] = sorted(uses, key=lambda u: (u.date_of_service, u.encounter_id))
    return out


def sessions(uses: Sequence[ClaimUse]) -> int:
    """Sessions used: distinct dates of service."""
    return len({u.date_of_service for u in uses})


def authorizations_for_claim(s: Session, row: m.Encounter) -> list[tuple[m.Authorization, list[int]]]:
    """The authorizations on file that the claim's lines rely on, with the line numbers relying on each."""
    found = numbers_on_claim(row.document or {}, row.lines)
    if not found:
        return []
    number_col = func.upper(func.replace(m.Authorization.auth_number, " ", ""))
    person = s.get(m.Person, row.person_id)
    member = norm(person.member_id if person else None)
    out = []
    for a in s.scalars(
        select(m.Authorization)
        .where(m.Authorization.practice_id == row.practice_id, number_col.in_(sorted(found)))
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
