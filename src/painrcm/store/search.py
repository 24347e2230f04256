"""One search box: patients by name, member ID or date of birth, claims by ID, authorizations by number.

Scoped like every other read (``painrcm.store.scope``): a patient is found only through a practice the
user works (a chart or a claim there); claims and authorizations only in those practices. Every search
that shows patients is audited as a read naming the IDs shown (never the query text: it may be a name).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.scope import practice_ids

MAX_PER_KIND = 25
MIN_QUERY = 2
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")


@dataclass
class PatientHit:
    person_id: int
    name: str
    dob: str | None
    member_id: str | None
    practices: list[str]


@dataclass
class ClaimHit:
    id: int
    encounter_id: str
    practice_id: str
    payer_id: str
    date_of_service: str
    status: str
    work_status: str
    person_id: int
    patient: str


@dataclass
class AuthHit:
    id: int
    auth_number: str
    practice_id: str
    payer_id: str
    person_id: int | None
    patient: str | None
    end_date: str
    status: str


@dataclass
class SearchResult:
    query: str
    kind: str  # what the query was read as: date | text
    patients: list[PatientHit] = field(default_factory=list)
    claims: list[ClaimHit] = field(default_factory=list)
    authorizations: list[AuthHit] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.patients) + len(self.claims) + len(self.authorizations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "read_as": self.kind,
            "total": self.total,
            "patients": [asdict(p) for p in self.patients],
            "claims": [asdict(c) for c in self.claims],
            "authorizations": [asdict(a) for a in self.authorizations],
        }


def parse_date(text: str) -> date | None:
    """A date of birth typed the ISO way (1958-03-14) or the US way (03/14/1958)."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def display_name(p: m.Person | None) -> str:
    if p is None:
        return ""
    return m.patient_name(p.last_name, p.first_name, p.id)


def _within(column: Any, allowed: set[str] | None) -> Any:
    return true() if allowed is None else column.in_(allowed)


def _squash(column: Any) -> Any:
    """A number as typed any way: spaces and hyphens ignored, upper case."""
    return func.upper(func.replace(func.replace(column, " ", ""), "-", ""))


def _like(text: str) -> str:
    return "%" + re.sub(r"([%_\\])", r"\\\1", text.upper()) + "%"


def _person_practices(s: Session, person_ids: list[int], allowed: set[str] | None) -> dict[int, list[str]]:
    """The practices (within scope) where each person has a chart or a claim."""
    out: dict[int, set[str]] = {}
    if not person_ids:
        return {}
    for pid, prac in s.execute(
        select(m.Chart.person_id, m.Chart.practice_id).where(
            m.Chart.person_id.in_(person_ids), _within(m.Chart.practice_id, allowed)
        )
    ):
        out.setdefault(pid, set()).add(prac)
    for pid, prac in s.execute(
        select(m.Encounter.person_id, m.Encounter.practice_id)
        .distinct()
        .where(m.Encounter.person_id.in_(person_ids), _within(m.Encounter.practice_id, allowed))
    ):
        out.setdefault(pid, set()).add(prac)
    return {k: sorted(v) for k, v in out.items()}


def _patients(s: Session, text: str, day: date | None, allowed: set[str] | None) -> list[PatientHit]:
    if day is not None:
        cond = m.Person.dob == day
    else:
        compact = "".join(text.split()).replace("-", "").upper()
        last, _, first = text.partition(",")
        name_cond: Any = func.upper(m.Person.last_name).like(_like(last.strip()), escape="\\")
        if first.strip():
            name_cond = name_cond & func.upper(m.Person.first_name).like(_like(first.strip()), escape="\\")
        elif " " in text.strip():  # "Pat Doe": first and last
            a, b = text.strip().split(None, 1)
            name_cond = or_(
                name_cond,
                func.upper(m.Person.first_name).like(_like(a), escape="\\")
                & func.upper(m.Person.last_name).like(_like(b), escape="\\"),
            )
        cond = or_(
            name_cond,
            _squash(m.Person.member_id).like(_like(compact), escape="\\"),
        )
    visible = or_(
        m.Person.id.in_(select(m.Chart.person_id).where(_within(m.Chart.practice_id, allowed))),
        m.Person.id.in_(select(m.Encounter.person_id).where(_within(m.Encounter.practice_id, allowed))),
    )
    people = list(
        s.scalars(
            select(m.Person)
            .where(cond, visible)
            .order_by(m.Person.last_name, m.Person.first_name, m.Person.id)
            .limit(MAX_PER_KIND)
        )
    )
    where = _person_practices(s, [p.id for p in people], allowed)
    return [
        PatientHit(
            person_id=p.id,
            name=display_name(p),
            dob=p.dob.isoformat() if p.dob else None,
            member_id=p.member_id,
            practices=where.get(p.id, []),
        )
        for p in people
    ]


def _claims(s: Session, text: str, allowed: set[str] | None) -> list[ClaimHit]:
    pattern = _like("".join(text.split()))
    rows = s.execute(
        select(m.Encounter, m.Person)
        .join(m.Person, m.Person.id == m.Encounter.person_id)
        .where(
            _within(m.Encounter.practice_id, allowed),
            func.upper(m.Encounter.encounter_id).like(pattern, escape="\\"),
        )
        .order_by(m.Encounter.date_of_service.desc(), m.Encounter.id)
        .limit(MAX_PER_KIND)
    ).all()
    return [
        ClaimHit(
            id=e.id,
            encounter_id=e.encounter_id,
            practice_id=e.practice_id,
            payer_id=e.payer_id,
            date_of_service=e.date_of_service.isoformat(),
            status=e.status,
            work_status=e.work_status,
            person_id=p.id,
            patient=display_name(p),
        )
        for e, p in rows
    ]


def _authorizations(s: Session, text: str, allowed: set[str] | None) -> list[AuthHit]:
    pattern = _like("".join(text.split()).replace("-", ""))
    auths = list(
        s.scalars(
            select(m.Authorization)
            .where(
                _within(m.Authorization.practice_id, allowed),
                _squash(m.Authorization.auth_number).like(pattern, escape="\\"),
            )
            .order_by(m.Authorization.end_date.desc(), m.Authorization.id)
            .limit(MAX_PER_KIND)
        )
    )
    ids = {a.person_id for a in auths if a.person_id is not None}
    people = {p.id: p for p in s.scalars(select(m.Person).where(m.Person.id.in_(ids)))} if ids else {}
    return [
        AuthHit(
            id=a.id,
            auth_number=a.auth_number,
            practice_id=a.practice_id,
            payer_id=a.payer_id,
            person_id=a.person_id,
            patient=display_name(people.get(a.person_id)) if a.person_id in people else None,
            end_date=a.end_date.isoformat(),
            status=a.status,
        )
        for a in auths
    ]


def search(s: Session, user: m.User, query: str) -> SearchResult:
    """Everything the user may see matching `query`, grouped by kind (at most 25 of each). A date reads
    as a date of birth; anything else as a name, member ID, claim ID or authorization number."""
    text = " ".join((query or "").split())[:100]
    day = parse_date(text)
    result = SearchResult(query=text, kind="date" if day else "text")
    if len(text) < MIN_QUERY:
        return result
    allowed = practice_ids(s, user)
    result.patients = _patients(s, text, day, allowed)
    if day is None:
        result.claims = _claims(s, text, allowed)
        result.authorizations = _authorizations(s, text, allowed)
    people = {p.person_id for p in result.patients} | {c.person_id for c in result.claims}
    people |= {a.person_id for a in result.authorizations if a.person_id is not None}
    services.audit(
        s,
        user.id,
        "read",
        "search",
        None,
        None,
        read_as=result.kind,
        person_ids=sorted(people),
        claim_ids=[c.id for c in result.claims],
        authorization_ids=[a.id for a in result.authorizations],
    )
    return result
