"""Prior-authorization requests in the workspace: from request to the payer's answer (issue 14).

A request is built by the engine (`painrcm.authreq.build_request`) against everything the database
knows of the patient, stored with its evidence and what it is waiting for, and moved along by the
payer's answer (a FHIR ClaimResponse, a 278 response or a biller's entry). An approval becomes an
authorization on file, which the claim edits (AUT002-AUT006) and the tracker then use.

States: requested (sent, waiting for the payer) | pended (evidence missing, or the payer pended it) |
approved | denied | expired (an approval whose window ends before the planned service, or a request
never answered whose planned date has passed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from painrcm.auth_request_model import REQUEST_STATUS
from painrcm.authreq import AuthRequestPacket, build_request
from painrcm.history import History
from painrcm.history.auths import AuthLog
from painrcm.model import ClaimResult, Encounter
from painrcm.scrub import Engine, scrub_encounter
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.scope import NotFound, practice_ids

STATES = ("requested", "pended", "approved", "denied", "expired")
DECISIONS = ("approved", "pended", "denied")
STATE_LABELS = {
    "requested": "Waiting for the payer",
    "pended": "Pended",
    "approved": "Approved",
    "denied": "Denied",
    "expired": "Expired",
}


class BadDecision(ValueError):
    """A decision the request cannot take (unknown status, an approval without a number...)."""


def find_person(s: Session, enc: Encounter) -> m.Person | None:
    """The stored person for this patient (identity rules), without creating one."""
    mk, nk = services.identity(enc.patient)
    conds = [
        c
        for c in (m.Person.member_key == mk if mk else None, m.Person.name_key == nk if nk else None)
        if c is not None
    ]
    if not conds:
        return None
    return s.scalars(select(m.Person).where(or_(*conds)).order_by(m.Person.id).limit(1)).first()


def practice_in_scope(s: Session, user: m.User, enc: Encounter, practice: str | None) -> m.Practice:
    """The practice the request or claim belongs to: `practice` when given, else the encounter's
    practice ID or billing NPI. Outside the user's practices it is not found (404), like any read."""
    allowed = practice_ids(s, user)
    row = None
    if practice:
        row = s.get(m.Practice, practice)
    else:
        if enc.practice.id:
            row = s.get(m.Practice, enc.practice.id)
        if row is None and enc.practice.npi:
            candidates = list(s.scalars(select(m.Practice).where(m.Practice.npi == enc.practice.npi)))
            inside = [p for p in candidates if allowed is None or p.id in allowed]
            row = inside[0] if len(inside) == 1 else None
    if row is None or (allowed is not None and row.id not in allowed):
        raise NotFound
    return row


def _history_and_auths(
    s: Session, enc: Encounter, person: m.Person | None, engine: Engine
) -> tuple[History, AuthLog]:
    if person is None:  # no earlier service of this patient; authorizations may still be on file
        member = enc.patient.member_id or ""
        rows = s.scalars(select(m.Authorization).where(m.Authorization.member_id == member)).all()
        return History(), services.auth_rows(rows)
    return services.person_history(s, person, engine), services.auth_log(s, person)


def validate_claim(
    s: Session, user: m.User, enc: Encounter, engine: Engine, practice: str | None
) -> ClaimResult:
    """Scrub a claim against the database (history, authorizations) without storing it."""
    row = practice_in_scope(s, user, enc, practice)
    person = find_person(s, enc)
    history, log = _history_and_auths(s, enc, person, engine)
    result = scrub_encounter(enc, engine, history=history, auths=log)
    services.audit(
        s, user.id, "validate", "claim", enc.encounter_id, row.id, person_id=person.id if person else None
    )
    return result


def submit_request(
    s: Session,
    user: m.User,
    enc: Encounter,
    engine: Engine,
    *,
    practice: str | None = None,
    source: str = "api",
    on: date | None = None,
) -> tuple[m.AuthRequest, AuthRequestPacket, bool]:
    """Build (or rebuild) the request for a planned service and store it. The same request ID again
    refreshes its evidence; a decided request keeps its decision. Returns (row, packet, created)."""
    prac = practice_in_scope(s, user, enc, practice)
    on = on or services.today()
    person = services.find_or_create_person(s, enc.patient)
    history = services.person_history(s, person, engine)
    packet = build_request(enc, engine, history=history, requested_on=on)
    row = s.scalars(
        select(m.AuthRequest).where(
            m.AuthRequest.practice_id == prac.id, m.AuthRequest.request_id == enc.encounter_id
        )
    ).first()
    created = row is None
    if row is None:
        row = m.AuthRequest(
            practice_id=prac.id, request_id=enc.encounter_id, created_by=user.id, source=source
        )
    if s.get(m.Payer, enc.payer.id) is None:
        s.add(m.Payer(id=enc.payer.id, name=enc.payer.name or enc.payer.id, plan=enc.payer.plan))
    row.person_id = person.id
    row.payer_id = enc.payer.id
    row.member_id = enc.patient.member_id
    row.rendering_npi = enc.rendering_provider.npi
    row.planned_date = enc.date_of_service
    row.codes = [sv.code for sv in packet.services]
    row.auth_codes = [sv.code for sv in packet.services if sv.needs_authorization]
    row.families = list(packet.families)
    row.ready = packet.ready
    row.evidence = [e.as_dict() for e in packet.evidence]
    row.document = packet.encounter.model_copy(update={"lines": packet.lines}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    if row.status not in ("approved", "denied"):
        row.status = "requested" if packet.ready else "pended"
        row.waiting_for = packet.gaps() or [f"the payer's answer (due {packet.response_due.isoformat()})"]
        row.response_due = packet.response_due
    elif row.response_due is None:
        row.response_due = packet.response_due
    if created:
        s.add(row)
    s.flush()
    services.audit(
        s,
        user.id,
        "create" if created else "update",
        "auth_request",
        row.id,
        prac.id,
        request_id=row.request_id,
        status=row.status,
        source=source,
    )
    return row, packet, created


def apply_278_responses(s: Session, practice_id: str, responses: list[Any], user_id: int | None) -> int:
    """A payer's 278 responses (already in the authorization log) move the requests they answer
    (TRN02 = our request ID) in `practice_id`. Returns how many requests moved."""
    moved = 0
    for resp in responses:
        if not resp.request_id:
            continue
        row = s.scalars(
            select(m.AuthRequest).where(
                m.AuthRequest.practice_id == practice_id, m.AuthRequest.request_id == resp.request_id
            )
        ).first()
        decided = [d for d in resp.decisions if d.decision in REQUEST_STATUS]
        if row is None or not decided:
            continue
        d = decided[0]
        status = REQUEST_STATUS[d.decision]
        number = d.certification_number
        if status == "approved" and not number:
            continue  # the log made no authorization either; the request waits for a usable answer
        sessions = max((x.sessions for x in decided if x.sessions is not None), default=None)
        apply_decision(
            s,
            row,
            user_id,
            status=status,
            auth_number=number,
            start=d.start_date,
            end=d.end_date,
            sessions=sessions,
            codes=sorted({c for x in decided for c in x.codes}) or None,
            note=f"278 {d.action_code}" + (f" reason {d.reason_code}" if d.reason_code else ""),
            source="x12_278",
        )
        moved += 1
    return moved


def _scoped_request(s: Session, user: m.User, request_id: str, practice: str | None) -> m.AuthRequest:
    allowed = practice_ids(s, user)
    q = select(m.AuthRequest).where(m.AuthRequest.request_id == request_id)
    if practice:
        q = q.where(m.AuthRequest.practice_id == practice)
    rows = [r for r in s.scalars(q) if allowed is None or r.practice_id in allowed]
    if len(rows) != 1:
        raise NotFound
    return rows[0]


def record_decision(
    s: Session,
    user: m.User,
    request_id: str,
    *,
    status: str,
    auth_number: str | None = None,
    start: date | None = None,
    end: date | None = None,
    sessions: int | None = None,
    codes: list[str] | None = None,
    note: str | None = None,
    practice: str | None = None,
    source: str = "api",
) -> m.AuthRequest:
    """The payer's answer. An approval (or a denial with a number) becomes an authorization on file,
    so the claim's AUT edits and the tracker see it."""
    if status not in DECISIONS:
        raise BadDecision(f"status must be one of {', '.join(DECISIONS)}")
    row = _scoped_request(s, user, request_id, practice)
    return apply_decision(
        s,
        row,
        user.id,
        status=status,
        auth_number=auth_number,
        start=start,
        end=end,
        sessions=sessions,
        codes=codes,
        note=note,
        source=source,
    )


def apply_decision(
    s: Session,
    row: m.AuthRequest,
    user_id: int | None,
    *,
    status: str,
    auth_number: str | None = None,
    start: date | None = None,
    end: date | None = None,
    sessions: int | None = None,
    codes: list[str] | None = None,
    note: str | None = None,
    source: str = "api",
) -> m.AuthRequest:
    """Apply an answer to a request the caller has already scoped (API, page, FHIR, 278 import)."""
    if status not in DECISIONS:
        raise BadDecision(f"status must be one of {', '.join(DECISIONS)}")
    if status == "approved" and not auth_number:
        raise BadDecision("an approval needs the payer's authorization (certification) number")
    if sessions is not None and sessions < 0:
        raise BadDecision("sessions must be zero or more")
    before = {"status": row.status, "auth_number": row.auth_number}
    row.status = status
    row.payer_note = note
    row.decided_at = datetime.now(UTC) if status != "pended" else None
    if status == "pended":
        row.waiting_for = [
            f"the payer pended the request: {note}" if note else "the payer pended the request"
        ]
    else:
        row.waiting_for = []
    if auth_number:
        start = start or row.planned_date
        end = end or (start + timedelta(days=90))
        if end < start:
            raise BadDecision("the authorization's end date is before its start date")
        auth = s.scalars(
            select(m.Authorization).where(
                m.Authorization.practice_id == row.practice_id,
                m.Authorization.auth_number == auth_number,
                m.Authorization.payer_id == row.payer_id,
                m.Authorization.member_id == (row.member_id or ""),
            )
        ).first()
        if auth is None:
            auth = m.Authorization(
                practice_id=row.practice_id,
                auth_number=auth_number,
                payer_id=row.payer_id,
                member_id=row.member_id or "",
            )
            s.add(auth)
        auth.person_id = row.person_id
        auth.codes = list(codes or row.auth_codes or row.codes)
        auth.sessions = sessions
        auth.start_date = start
        auth.end_date = end
        auth.rendering_npi = row.rendering_npi
        auth.status = "approved" if status == "approved" else ("denied" if status == "denied" else "pending")
        s.flush()
        row.authorization_id = auth.id
        row.auth_number = auth_number
    s.flush()
    services.audit(
        s,
        user_id,
        "update",
        "auth_request",
        row.id,
        row.practice_id,
        request_id=row.request_id,
        before=before,
        after={"status": row.status, "auth_number": row.auth_number},
        source=source,
    )
    return row


@dataclass
class RequestRow:
    id: int
    practice_id: str
    request_id: str
    person_id: int | None
    patient: str | None
    payer_id: str
    planned_date: date
    codes: list[str]
    status: str
    state: str
    ready: bool
    waiting_for: list[str]
    response_due: date
    overdue: bool
    auth_number: str | None
    auth_end: date | None
    sessions: int | None
    sessions_used: int | None
    alerts: list[str]

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "practice_id": self.practice_id,
            "request_id": self.request_id,
            "person_id": self.person_id,
            "patient": self.patient,
            "payer_id": self.payer_id,
            "planned_date": self.planned_date.isoformat(),
            "codes": list(self.codes),
            "status": self.status,
            "state": self.state,
            "state_label": self.state_label,
            "ready": self.ready,
            "waiting_for": list(self.waiting_for),
            "response_due": self.response_due.isoformat(),
            "overdue": self.overdue,
            "auth_number": self.auth_number,
            "auth_end": self.auth_end.isoformat() if self.auth_end else None,
            "sessions": self.sessions,
            "sessions_used": self.sessions_used,
            "alerts": list(self.alerts),
        }


def state_and_alerts(
    row: m.AuthRequest, auth: m.Authorization | None, used: int | None, on: date
) -> tuple[str, list[str], bool]:
    """The request's state on `on`, the alerts a scheduler must see, and whether the payer is late."""
    alerts: list[str] = []
    state = row.status
    upcoming = row.planned_date >= on
    if state == "approved" and auth is not None:
        if auth.end_date < row.planned_date:
            state = "expired"
            alerts.append(
                f"the authorization ends {auth.end_date.isoformat()}, before the service on {row.planned_date.isoformat()}"
            )
        elif auth.end_date < on:
            state = "expired"
        elif auth.sessions is not None and used is not None and used >= auth.sessions and upcoming:
            alerts.append(f"all {auth.sessions} approved sessions are used")
    elif state in ("requested", "pended") and not upcoming:
        state = "expired"
    if upcoming and state != "approved":
        alerts.append(f"the service on {row.planned_date.isoformat()} has no approved authorization")
    overdue = row.status == "requested" and row.response_due < on
    if overdue:
        alerts.append(f"the payer's answer was due {row.response_due.isoformat()}")
    return state, alerts, overdue


def list_requests(
    s: Session,
    user: m.User,
    *,
    practice: str | None = None,
    state: str | None = None,
    on: date | None = None,
) -> tuple[list[RequestRow], dict[str, int]]:
    """Requests in the user's practices with their state, alerts and sessions used, most urgent first,
    and the count per state. Audited as a read of the patients listed (IDs only)."""
    from painrcm.store.queries_work import sessions_used

    if state is not None and state not in STATES:
        raise BadDecision(f"state must be one of {', '.join(STATES)}")
    allowed = practice_ids(s, user)
    if practice:
        if allowed is not None and practice not in allowed:
            raise NotFound
        allowed = {practice}
    on = on or services.today()
    q = select(m.AuthRequest)
    if allowed is not None:
        q = q.where(m.AuthRequest.practice_id.in_(allowed))
    reqs = list(s.scalars(q))
    auth_ids = {r.authorization_id for r in reqs if r.authorization_id}
    auths = (
        {a.id: a for a in s.scalars(select(m.Authorization).where(m.Authorization.id.in_(auth_ids)))}
        if auth_ids
        else {}
    )
    used = sessions_used(s, list(auths.values()), on) if auths else {}
    person_ids = {r.person_id for r in reqs if r.person_id}
    persons = (
        {p.id: p for p in s.scalars(select(m.Person).where(m.Person.id.in_(person_ids)))}
        if person_ids
        else {}
    )
    rows: list[RequestRow] = []
    counts = dict.fromkeys(STATES, 0)
    for r in reqs:
        auth = auths.get(r.authorization_id or -1)
        n = used.get(auth.id) if auth else None
        st, alerts, overdue = state_and_alerts(r, auth, n, on)
        counts[st] += 1
        if state is not None and st != state:
            continue
        p = persons.get(r.person_id or -1)
        rows.append(
            RequestRow(
                id=r.id,
                practice_id=r.practice_id,
                request_id=r.request_id,
                person_id=r.person_id,
                patient=m.full_name(p.last_name, p.first_name) if p else None,
                payer_id=r.payer_id,
                planned_date=r.planned_date,
                codes=list(r.codes or []),
                status=r.status,
                state=st,
                ready=r.ready,
                waiting_for=list(r.waiting_for or []),
                response_due=r.response_due,
                overdue=overdue,
                auth_number=r.auth_number,
                auth_end=auth.end_date if auth else None,
                sessions=auth.sessions if auth else None,
                sessions_used=n,
                alerts=alerts,
            )
        )
    order = {"pended": 0, "requested": 1, "expired": 2, "denied": 3, "approved": 4}
    rows.sort(key=lambda x: (not x.alerts, order[x.state], x.planned_date, x.request_id))
    services.audit(
        s,
        user.id,
        "read",
        "auth_request_list",
        None,
        practice,
        person_ids=sorted({r.person_id for r in rows if r.person_id}),
        state=state,
    )
    return rows, counts


def request_detail(s: Session, user: m.User, pk: int) -> dict[str, Any]:
    row = s.get(m.AuthRequest, pk)
    allowed = practice_ids(s, user)
    if row is None or (allowed is not None and row.practice_id not in allowed):
        raise NotFound
    on = services.today()
    auth = s.get(m.Authorization, row.authorization_id) if row.authorization_id else None
    from painrcm.store.queries_work import sessions_used

    n = sessions_used(s, [auth], on).get(auth.id) if auth else None
    state, alerts, overdue = state_and_alerts(row, auth, n, on)
    services.audit(s, user.id, "read", "auth_request", row.id, row.practice_id, person_id=row.person_id)
    return {
        "id": row.id,
        "practice_id": row.practice_id,
        "request_id": row.request_id,
        "payer_id": row.payer_id,
        "member_id": row.member_id,
        "planned_date": row.planned_date.isoformat(),
        "codes": list(row.codes or []),
        "families": list(row.families or []),
        "status": row.status,
        "state": state,
        "state_label": STATE_LABELS[state],
        "ready": row.ready,
        "evidence": list(row.evidence or []),
        "waiting_for": list(row.waiting_for or []),
        "response_due": row.response_due.isoformat(),
        "overdue": overdue,
        "alerts": alerts,
        "auth_number": row.auth_number,
        "authorization": None
        if auth is None
        else {
            "id": auth.id,
            "auth_number": auth.auth_number,
            "start_date": auth.start_date.isoformat(),
            "end_date": auth.end_date.isoformat(),
            "sessions": auth.sessions,
            "sessions_used": n,
            "status": auth.status,
        },
        "payer_note": row.payer_note,
        "source": row.source,
    }
