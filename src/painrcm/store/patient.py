"""The patient page's data: one person across the practices the user works.

- identity: the person and every other stored record the identity rules (RULES.md section 6: member ID
  + date of birth, or last name + first name + date of birth) match to them, at any practice; records
  at practices outside the user's scope are counted, never shown;
- services: the stored encounters in scope, newest first (earlier services elsewhere are counted);
- frequency standing: every limit of the payer's policy, over every stored service at any practice
  (as the engine counts them when it scrubs), with the next payable date;
- authorizations on file with sessions used and left; claims' remittances.

A person with nothing in the user's practices is not found. Reading it is audited (person ID only).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session, selectinload

from painrcm.history.limits import standing
from painrcm.labels import limit_label, region_label, standing_state
from painrcm.model import Patient
from painrcm.model import Payer as PayerModel
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.queries_work import sessions_used
from painrcm.store.scope import NotFound, practice_ids
from painrcm.store.search import display_name


@dataclass
class Record:
    person_id: int
    practice_id: str
    chart_id: str | None
    name: str
    member_id: str | None
    dob: str | None
    matched_by: str  # this record | member ID + DOB | name + DOB


@dataclass
class ServiceRow:
    claim_pk: int
    encounter_id: str
    practice_id: str
    payer_id: str
    date_of_service: str
    codes: list[str]
    charge: float | None
    status: str
    work_status: str


@dataclass
class LimitRow:
    limit_id: str
    label: str
    edit: str
    region: str | None
    region_label: str
    used: int
    max: int
    left: int
    window_months: int
    state: str
    next_payable: str
    last_session: str | None


@dataclass
class AuthRow:
    id: int
    practice_id: str
    auth_number: str
    payer_id: str
    codes: list[str]
    sessions: int | None
    used: int
    left: int | None
    start_date: str
    end_date: str
    status: str


@dataclass
class RemitRow:
    remit_claim_id: int
    practice_id: str
    claim_pk: int | None
    patient_control_number: str
    payer: str | None
    payment_date: str | None
    billed: float
    paid: float
    patient_responsibility: float
    denied_lines: int


@dataclass
class PatientView:
    person_id: int
    name: str
    dob: str | None
    sex: str | None
    member_id: str | None
    on: str
    payer_id: str | None
    policy_id: str | None
    records: list[Record] = field(default_factory=list)
    hidden_records: int = 0
    services: list[ServiceRow] = field(default_factory=list)
    hidden_services: int = 0
    limits: list[LimitRow] = field(default_factory=list)
    authorizations: list[AuthRow] = field(default_factory=list)
    remittances: list[RemitRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _within(column: Any, allowed: set[str] | None) -> Any:
    return true() if allowed is None else column.in_(allowed)


def matched_people(s: Session, person: m.Person) -> list[m.Person]:
    """The person and every person record sharing either identity key (what the engine counts)."""
    conds = [
        c
        for c in (
            m.Person.member_key == person.member_key if person.member_key else None,
            m.Person.name_key == person.name_key if person.name_key else None,
        )
        if c is not None
    ]
    people = {person.id: person}
    if conds:
        people.update({p.id: p for p in s.scalars(select(m.Person).where(or_(*conds)))})
    return sorted(people.values(), key=lambda p: p.id)


def _matched_by(person: m.Person, other: m.Person) -> str:
    if other.id == person.id:
        return "this record"
    if person.member_key and other.member_key == person.member_key:
        return "member ID + date of birth"
    return "name + date of birth"


def _visible(s: Session, ids: list[int], allowed: set[str] | None) -> bool:
    if allowed is None:
        return True
    for model in (m.Chart, m.Encounter, m.Authorization):
        hit = s.scalars(
            select(model.id).where(model.person_id.in_(ids), model.practice_id.in_(allowed)).limit(1)
        ).first()
        if hit is not None:
            return True
    return False


def _payer(s: Session, payer_id: str) -> PayerModel:
    row = s.get(m.Payer, payer_id)
    try:
        return PayerModel(id=payer_id, plan=row.plan if row else "commercial")  # type: ignore[arg-type]
    except ValueError:
        return PayerModel(id=payer_id, plan="commercial")


def patient_view(
    s: Session, user: m.User, engine: Engine, person_id: int, *, on: date | None = None, audit: bool = True
) -> PatientView:
    on = on or services.today()
    person = s.get(m.Person, person_id)
    if person is None:
        raise NotFound
    allowed = practice_ids(s, user)
    people = matched_people(s, person)
    ids = [p.id for p in people]
    if not _visible(s, [person.id], allowed):
        raise NotFound
    by_id = {p.id: p for p in people}

    view = PatientView(
        person_id=person.id,
        name=display_name(person),
        dob=person.dob.isoformat() if person.dob else None,
        sex=person.sex,
        member_id=person.member_id,
        on=on.isoformat(),
        payer_id=None,
        policy_id=None,
    )
    charts = list(s.scalars(select(m.Chart).where(m.Chart.person_id.in_(ids)).order_by(m.Chart.practice_id)))
    for c in charts:
        if allowed is not None and c.practice_id not in allowed:
            view.hidden_records += 1
            continue
        p = by_id[c.person_id]
        view.records.append(
            Record(
                person_id=p.id,
                practice_id=c.practice_id,
                chart_id=c.chart_id,
                name=display_name(p),
                member_id=p.member_id,
                dob=p.dob.isoformat() if p.dob else None,
                matched_by=_matched_by(person, p),
            )
        )

    encounters = list(
        s.scalars(
            select(m.Encounter)
            .where(m.Encounter.person_id.in_(ids))
            .options(selectinload(m.Encounter.lines))
            .order_by(m.Encounter.date_of_service.desc(), m.Encounter.id.desc())
        )
    )
    mine = [e for e in encounters if allowed is None or e.practice_id in allowed]
    view.hidden_services = len(encounters) - len(mine)
    view.services = [
        ServiceRow(
            claim_pk=e.id,
            encounter_id=e.encounter_id,
            practice_id=e.practice_id,
            payer_id=e.payer_id,
            date_of_service=e.date_of_service.isoformat(),
            codes=[ln.code + "".join(f"-{x}" for x in (ln.modifiers or [])) for ln in e.lines],
            charge=e.total_charge,
            status=e.status,
            work_status=e.work_status,
        )
        for e in mine
    ]

    # frequency standing under the payer of the latest service in scope (every service counts)
    latest = next((e for e in mine if e.date_of_service <= on), mine[0] if mine else None)
    if latest is not None:
        payer = _payer(s, latest.payer_id)
        policy = engine.policies.for_payer(payer)
        view.payer_id, view.policy_id = payer.id, policy.id
        history = services.person_history(s, person, engine)
        patient = Patient(
            member_id=person.member_id,
            last_name=person.last_name,
            first_name=person.first_name,
            dob=person.dob,
        )
        limits = {lim.id: lim for lim in policy.frequency}
        for st in standing(history, patient, policy, on):
            view.limits.append(
                LimitRow(
                    limit_id=st.limit_id,
                    label=limit_label(st.limit_id, limits.get(st.limit_id)),
                    edit=st.edit,
                    region=st.region,
                    region_label=region_label(st.region),
                    used=st.used,
                    max=st.max,
                    left=st.left,
                    window_months=st.window_months,
                    state=standing_state(st.used, st.max),
                    next_payable=st.next_payable(on).isoformat(),
                    last_session=st.session_dates[-1].isoformat() if st.session_dates else None,
                )
            )

    member_ids = {p.member_id for p in people if p.member_id}
    auths = list(
        s.scalars(
            select(m.Authorization)
            .where(
                or_(m.Authorization.person_id.in_(ids), m.Authorization.member_id.in_(member_ids)),
                _within(m.Authorization.practice_id, allowed),
            )
            .order_by(m.Authorization.end_date.desc())
        )
    )
    used = sessions_used(s, auths, on)
    view.authorizations = [
        AuthRow(
            id=a.id,
            practice_id=a.practice_id,
            auth_number=a.auth_number,
            payer_id=a.payer_id,
            codes=list(a.codes or []),
            sessions=a.sessions,
            used=used.get(a.id, 0),
            left=None if a.sessions is None else max(a.sessions - used.get(a.id, 0), 0),
            start_date=a.start_date.isoformat(),
            end_date=a.end_date.isoformat(),
            status=a.status,
        )
        for a in auths
    ]

    pks = [e.id for e in mine]
    if pks:
        rcs = s.scalars(
            select(m.RemitClaim)
            .where(m.RemitClaim.encounter_pk.in_(pks))
            .options(selectinload(m.RemitClaim.remittance), selectinload(m.RemitClaim.lines))
        )
        for rc in rcs:
            rem = rc.remittance
            view.remittances.append(
                RemitRow(
                    remit_claim_id=rc.id,
                    practice_id=rc.practice_id,
                    claim_pk=rc.encounter_pk,
                    patient_control_number=rc.patient_control_number,
                    payer=rem.payer_name,
                    payment_date=rem.payment_date.isoformat() if rem.payment_date else None,
                    billed=rc.billed,
                    paid=rc.paid,
                    patient_responsibility=rc.patient_responsibility,
                    denied_lines=sum(1 for ln in rc.lines if ln.denied),
                )
            )
        view.remittances.sort(key=lambda r: (r.payment_date or "", r.remit_claim_id), reverse=True)
    if audit:
        services.audit(
            s,
            user.id,
            "read",
            "patient",
            person.id,
            None,
            person_ids=sorted({person.id, *(r.person_id for r in view.records)}),
            hidden_records=view.hidden_records,
        )
    return view


def csv_rows(view: PatientView) -> tuple[list[str], list[list[Any]]]:
    """The patient page as one CSV table: one row per service, limit, authorization and remittance."""
    header = ["section", "date", "practice", "reference", "payer", "detail", "amount", "status"]
    rows: list[list[Any]] = []
    for sv in view.services:
        rows.append(
            [
                "service",
                sv.date_of_service,
                sv.practice_id,
                sv.encounter_id,
                sv.payer_id,
                " ".join(sv.codes),
                sv.charge,
                f"{sv.status}/{sv.work_status}",
            ]
        )
    for lim in view.limits:
        rows.append(
            [
                "frequency limit",
                lim.next_payable,
                "",
                lim.edit,
                view.payer_id,
                f"{lim.label} ({lim.region_label}): {lim.used} of {lim.max} in {lim.window_months} months",
                "",
                lim.state.replace("_", " "),
            ]
        )
    for a in view.authorizations:
        left = "" if a.left is None else f", {a.left} left"
        rows.append(
            [
                "authorization",
                a.end_date,
                a.practice_id,
                a.auth_number,
                a.payer_id,
                f"{' '.join(a.codes)}: {a.used} used{left}",
                "",
                a.status,
            ]
        )
    for r in view.remittances:
        rows.append(
            [
                "remittance",
                r.payment_date,
                r.practice_id,
                r.patient_control_number,
                r.payer,
                f"billed {r.billed:.2f}, {r.denied_lines} denied line(s)",
                r.paid,
                "",
            ]
        )
    return header, rows
