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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from painrcm.store import models as m


def norm(text: str | None) -> str:
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


def numbers_on_claim(document: dict[str, Any], lines: Sequence[m.ClaimLine]) -> dict[str, list[m.ClaimLine]]:
    """Normalized authorization number -> the claim's lines relying on it (claim level covers the lines
    without their own number; a claim-level number on a claim without lines maps to no line)."""
    claim_level = norm(document.get("authorization_number"))
    out: dict[str, list[m.ClaimLine]] = {}
    if claim_level:
        out[claim_level] = []
    for ln in lines:
        number = norm(ln.authorization_number) or claim_level
        if number:
            out.setdefault(number, []).append(ln)
    return out


def _uses_of(row: m.Encounter, numbers: set[str], on: date | None) -> dict[str, ClaimUse]:
    found = numbers_on_claim(row.document or {}, row.lines)
    out: dict[str, ClaimUse] = {}
    claim_level = norm((row.document or {}).get("authorization_number"))
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


def usage(s: Session, auths: Sequence[m.Authorization], on: date | None) -> dict[int, list[ClaimUse]]:
    """Per authorization ID: the claims (dated up to `on`, when given) that used it, oldest first."""
    numbers = {norm(a.auth_number) for a in auths}
    if not numbers:
        return {}
    members = {norm(a.member_id) for a in auths if norm(a.member_id)}
    person_ids = {a.person_id for a in auths if a.person_id is not None}
    member_col = func.upper(func.replace(m.Person.member_id, " ", ""))
    conds = []
    if members:
        conds.append(member_col.in_(sorted(members)))
    if person_ids:
        conds.append(m.Person.id.in_(sorted(person_ids)))
    if not conds:
        return {a.id: [] for a in auths}
    persons = {
        pid: norm(mid) for pid, mid in s.execute(select(m.Person.id, m.Person.member_id).where(or_(*conds)))
    }
    if not persons:
        return {a.id: [] for a in auths}
    rows = s.scalars(
        select(m.Encounter).where(m.Encounter.person_id.in_(sorted(persons))).order_by(m.Encounter.id)
    ).all()
    by_number: dict[str, list[tuple[m.Encounter, ClaimUse]]] = {}
    for row in rows:
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
