"""The four work queues over one row shape (see the package docstring)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session, selectinload

from painrcm.model import Payer as PayerModel
from painrcm.policy.loader import PolicyBook
from painrcm.policy.schema import Policy
from painrcm.remit.explain import action_text
from painrcm.store import models as m
from painrcm.store import queries_work as qw
from painrcm.store import services
from painrcm.store.counts import WORKED, worked
from painrcm.store.scope import NotFound, can_see_practice, get_scoped
from painrcm.store.search import display_name

KINDS = {
    "claims": "Claims",
    "denials": "Denials",
    "authorizations": "Authorizations",
    "underpayments": "Underpayments",
}
OBJECT_TYPE = {
    "claims": "encounter",
    "denials": "remit_line",
    "underpayments": "remit_line",
    "authorizations": "authorization",
}
STATUSES: dict[str, tuple[str, ...]] = {
    "claims": WORKED,  # every work status a claim takes (counts.worked reads them off the index)
    "denials": qw.WORK_STATUSES,
    "underpayments": qw.WORK_STATUSES,
    "authorizations": ("open", "requested", "renewed", "closed"),
}
# statuses with nothing left to do: no due date, and left out unless asked for
DONE = {"submitted", "resolved", "written_off", "appealed", "resubmitted", "closed"}
AGES = {"0-30": (0, 30), "31-60": (31, 60), "61-90": (61, 90), "91-180": (91, 180), "181+": (181, 100000)}
DUES = ("overdue", "soon", "later")
SORTS = ("due", "age", "dos", "amount", "practice", "patient", "payer", "status", "assignee")
PER_PAGE = 100
CENT = 0.005
# reductions a payer may have applied wrongly: not the contract (45, A2), the patient's share (1, 2, 3)
# or sequestration (253), all of which the remittance legitimately carries
NOT_UNDERPAYMENT = {"45", "A2", "1", "2", "3", "253"}


class BadFilter(ValueError):
    """A filter or field value the queue cannot use (400 with the message)."""


@dataclass
class QueueFilters:
    practice: str = ""
    payer: str = ""
    code: str = ""
    edit: str = ""
    reason: str = ""
    status: str = ""
    assignee: str = ""  # "" any | me | none | a user ID
    age: str = ""
    due: str = ""
    sort: str = "due"
    order: str = "asc"
    page: int = 1

    def as_query(self, **override: Any) -> dict[str, str]:
        """The filters as URL parameters (defaults left out): saved filters are just the URL."""
        d = {**asdict(self), **override}
        defaults = asdict(QueueFilters())
        return {k: str(v) for k, v in d.items() if v not in ("", None) and v != defaults[k]}


def parse_filters(kind: str, params: dict[str, Any]) -> QueueFilters:
    if kind not in KINDS:
        raise NotFound
    text: dict[str, Any] = {
        k: str(params.get(k) or "").strip()
        for k in ("practice", "payer", "code", "edit", "reason", "status", "assignee", "age", "due")
    }
    f = QueueFilters(**text)
    f.code, f.edit, f.reason = f.code.upper(), f.edit.upper(), f.reason.upper()
    f.sort = str(params.get("sort") or "due")
    f.order = str(params.get("order") or "asc")
    try:
        f.page = max(1, int(params.get("page") or 1))
    except ValueError:
        raise BadFilter("page must be a number") from None
    for name, value, allowed in (
        ("status", f.status, (*STATUSES[kind], "all")),
        ("age", f.age, tuple(AGES)),
        ("due", f.due, DUES),
        ("sort", f.sort, SORTS),
        ("order", f.order, ("asc", "desc")),
    ):
        if value and value not in allowed:
            raise BadFilter(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    if f.assignee not in ("", "me", "none") and not f.assignee.isdigit():
        raise BadFilter("assignee must be me, none or a user ID")
    return f


@dataclass
class QueueRow:
    kind: str
    id: int
    practice_id: str
    reference: str
    href: str | None
    person_id: int | None
    patient: str | None
    payer: str | None
    codes: list[str]
    date_of_service: date | None
    age_days: int | None
    amount: float | None
    detail: str
    status: str
    edits: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    assignee_id: int | None = None
    assignee: str | None = None
    due_date: date | None = None
    due_what: str | None = None
    due_state: str | None = None  # overdue | soon | later | None (nothing due)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("date_of_service", "due_date"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


CSV_HEADER = [
    "queue",
    "id",
    "practice",
    "reference",
    "patient",
    "payer",
    "codes",
    "date_of_service",
    "age_days",
    "amount",
    "detail",
    "status",
    "assignee",
    "due_date",
    "due_for",
    "due_state",
]


def csv_row(r: QueueRow) -> list[Any]:
    return [
        r.kind,
        r.id,
        r.practice_id,
        r.reference,
        r.patient,
        r.payer,
        " ".join(r.codes),
        r.date_of_service.isoformat() if r.date_of_service else "",
        r.age_days,
        None if r.amount is None else f"{r.amount:.2f}",
        r.detail,
        r.status,
        r.assignee,
        r.due_date.isoformat() if r.due_date else "",
        r.due_what,
        r.due_state,
    ]


# --- policy deadlines ----------------------------------------------------------------------------
class _Policies:
    def __init__(self, s: Session, book: PolicyBook) -> None:
        self.s, self.book = s, book
        self.cache: dict[str, Policy] = {}

    def for_payer(self, payer_id: str | None) -> Policy:
        key = payer_id or ""
        if key not in self.cache:
            row = self.s.get(m.Payer, payer_id) if payer_id else None
            try:
                payer = PayerModel(id=payer_id or "unknown", plan=row.plan if row else "commercial")  # type: ignore[arg-type]
            except ValidationError:
                payer = PayerModel(id=payer_id or "unknown", plan="commercial")
            self.cache[key] = self.book.for_payer(payer)
        return self.cache[key]


def _due_state(due: date | None, soon_days: int, today: date) -> str | None:
    if due is None:
        return None
    if due < today:
        return "overdue"
    if due <= today + timedelta(days=soon_days):
        return "soon"
    return "later"


def _within(column: Any, allowed: set[str] | None) -> Any:
    return true() if allowed is None else column.in_(allowed)


# --- the four queues -----------------------------------------------------------------------------
def _claims(
    s: Session,
    user: m.User,
    allowed: set[str] | None,
    f: QueueFilters,
    pol: _Policies,
    today: date,
    all_rows: bool,
) -> tuple[list[QueueRow], int, int, dict[str, int]]:
    """The claims queue in SQL: filtered, counted (overdue/soon) and sorted by the database with the
    payers' timely filing deadlines as a CASE over the payers present, so a page costs the page
    (rows, total, page, overdue/soon counts); rows are built for the rows shown only."""
    e, w, u = m.Encounter, m.WorkItem, m.User
    where: list[Any] = [worked(), _within(e.practice_id, allowed)]
    if f.payer:
        where.append(func.upper(e.payer_id).like(f"%{f.payer.upper()}%"))
    # per payer: filing is due `timely_filing_days` after the date of service (open claims only);
    # overdue before today, soon up to `due_soon_days` from today. The payers of all claims (a walk
    # of the payer index; those of other practices or history add an unused branch)
    payers = distinct_values(s, e.payer_id)
    if f.code:
        where.append(e.lines.any(m.ClaimLine.code == f.code))
    if f.edit:  # an unoverridden error or warning of that edit in the claim's latest scrub run
        latest = (
            select(func.max(m.ScrubRun.id))
            .where(m.ScrubRun.encounter_pk == e.id)
            .correlate(e)
            .scalar_subquery()
        )
        where.append(
            select(m.Finding.id)
            .correlate(e)
            .where(
                m.Finding.run_id == latest,
                m.Finding.edit == f.edit,
                m.Finding.override_reason.is_(None),
                m.Finding.severity.in_(("error", "warning")),
            )
            .exists()
        )
    if f.reason and not _reason_matches([], f.reason):
        where.append(false())  # a claim row has no reasons
    where += _work_filters(f, user, today, e.work_status, w.assignee_id, e.date_of_service)
    deadlines = {x: pol.for_payer(x).deadlines for x in payers}
    unknown = pol.for_payer(None).deadlines

    def per_payer(value: Any) -> Any:
        whens = [(e.payer_id == x, literal(value(d))) for x, d in deadlines.items() if x is not None]
        return case(*whens, else_=literal(value(unknown))) if whens else literal(value(unknown))

    filing = per_payer(lambda d: d.timely_filing_days)
    overdue_before = per_payer(lambda d: today - timedelta(days=d.timely_filing_days))
    soon_until = per_payer(lambda d: today + timedelta(days=d.due_soon_days - d.timely_filing_days))
    open_ = e.work_status.not_in(DONE)
    due_state = case(
        (~open_, null()),
        (e.date_of_service < overdue_before, "overdue"),
        (e.date_of_service <= soon_until, "soon"),
        else_="later",
    )
    if f.due:
        where.append(due_state == f.due)
    base = (
        select(e.id, due_state.label("due_state"))
        .outerjoin(w, and_(w.object_type == OBJECT_TYPE["claims"], w.object_id == e.id))
        .where(*where)
    )
    total, page, counts = _counted(s, base, f)
    value: Any = {
        "due": case((open_, _plus_days(s, e.date_of_service, filing)), else_=null()),
        "age": e.date_of_service,
        "dos": e.date_of_service,
        "amount": e.total_charge,
        "practice": e.practice_id,
        "patient": e.patient_name,  # stored, so that a page walks its index (ix_encounters_patient)
        "payer": e.payer_id,
        "status": e.work_status,
        "assignee": u.name,
    }[f.sort]
    q = base
    if f.sort == "assignee":
        q = q.outerjoin(u, u.id == w.assignee_id)
    q = q.order_by(*_queue_order(f, value, e.id))
    if not all_rows:
        q = q.offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ids = [int(i) for i, _ in s.execute(q)]
    rows: list[QueueRow] = []
    for k in range(0, len(ids), 2000):
        rows += _claim_rows(s, ids[k : k + 2000], pol, today)
    return rows, total, page, counts


def distinct_values(s: Session, column: Any) -> list[Any]:
    """The distinct values of an indexed column that is never null, in order: one index probe per
    value (a recursive "next value after this one"), where SELECT DISTINCT on PostgreSQL reads the
    whole index (the claims' payers: a handful of values over every encounter)."""
    first = select(func.min(column).label("v")).cte("found", recursive=True)
    after = select(func.min(column)).where(column > first.c.v).scalar_subquery()
    found = first.union_all(select(after).select_from(first).where(first.c.v.is_not(None)))
    return list(s.scalars(select(found.c.v).where(found.c.v.is_not(None))))


def _plus_days(s: Session, day: Any, days: Any) -> Any:
    """A date column plus a number of days, as something that sorts like the date (SQLite keeps
    dates as ISO text: its Julian day number)."""
    if s.get_bind().dialect.name == "sqlite":
        return func.julianday(day) + days
    return day + cast(days, Integer)


def _claim_rows(s: Session, ids: list[int], pol: _Policies, today: date) -> list[QueueRow]:
    """The queue rows of these claims, in this order."""
    if not ids:
        return []
    encs = {
        r.id: r
        for r in s.execute(
            select(
                m.Encounter.id,
                m.Encounter.encounter_id,
                m.Encounter.practice_id,
                m.Encounter.payer_id,
                m.Encounter.date_of_service,
                m.Encounter.total_charge,
                m.Encounter.status,
                m.Encounter.work_status,
                m.Encounter.person_id,
                m.Encounter.patient_name,
            ).where(m.Encounter.id.in_(ids))
        )
    }
    codes: dict[int, list[str]] = {}
    for pk, code in s.execute(
        select(m.ClaimLine.encounter_pk, m.ClaimLine.code)
        .where(m.ClaimLine.encounter_pk.in_(ids))
        .order_by(m.ClaimLine.encounter_pk, m.ClaimLine.line_no)
    ):
        codes.setdefault(pk, []).append(code)
    latest = (
        select(func.max(m.ScrubRun.id))
        .where(m.ScrubRun.encounter_pk.in_(ids))
        .group_by(m.ScrubRun.encounter_pk)
    )
    edits: dict[int, set[str]] = {}
    for pk, edit in s.execute(
        select(m.ScrubRun.encounter_pk, m.Finding.edit)
        .join(m.ScrubRun, m.ScrubRun.id == m.Finding.run_id)
        .where(
            m.Finding.run_id.in_(latest),
            m.Finding.override_reason.is_(None),
            m.Finding.severity.in_(("error", "warning")),
        )
    ):
        edits.setdefault(pk, set()).add(edit)
    rows = []
    for e in (encs[i] for i in ids if i in encs):
        found = sorted(edits.get(e.id, ()))
        policy = pol.for_payer(e.payer_id)
        open_ = e.work_status not in DONE
        due = e.date_of_service + timedelta(days=policy.deadlines.timely_filing_days) if open_ else None
        rows.append(
            QueueRow(
                kind="claims",
                id=e.id,
                practice_id=e.practice_id,
                reference=e.encounter_id,
                href=f"/claims/{e.id}",
                person_id=e.person_id,
                patient=e.patient_name,
                payer=e.payer_id,
                codes=codes.get(e.id, []),
                date_of_service=e.date_of_service,
                age_days=(today - e.date_of_service).days,
                amount=e.total_charge,
                detail=(f"{e.status}: " + ", ".join(found)) if found else e.status,
                status=e.work_status,
                edits=found,
                due_date=due,
                due_what="timely filing" if due else None,
                due_state=_due_state(due, policy.deadlines.due_soon_days, today),
            )
        )
    return rows


def _remit_base(kind: str, allowed: set[str] | None, f: QueueFilters) -> Any:
    """The remit lines of a queue (denials or underpayments) with the payer and code filters: the
    FROM and WHERE both the SQL ranking and the rows' build share."""
    q = (
        select(m.RemitLine.id)
        .join(m.RemitClaim, m.RemitLine.remit_claim_id == m.RemitClaim.id)
        .join(m.Remittance, m.RemitClaim.remittance_id == m.Remittance.id)
        .outerjoin(m.Encounter, m.Encounter.id == m.RemitClaim.encounter_pk)
        .outerjoin(m.Person, m.Person.id == m.Encounter.person_id)
        .where(_within(m.RemitLine.practice_id, allowed))
    )
    if kind == "denials":
        q = q.where(qw.in_denial_queue())
    else:
        reducing = [c for c in _reduction_codes() if c not in NOT_UNDERPAYMENT]
        q = q.where(
            m.RemitLine.denied.is_(False),
            m.RemitLine.paid > CENT,
            or_(
                m.RemitLine.adjustments.any(
                    and_(
                        m.RemitAdjustment.reason_code.in_(reducing),
                        m.RemitAdjustment.group_code.in_(("CO", "OA", "PI")),
                    )
                ),
                and_(
                    m.RemitLine.allowed.is_not(None),
                    m.RemitLine.paid < m.RemitLine.allowed - 0.01 - _pr_sum(),
                ),
            ),
        )
    if f.payer:
        like = f"%{f.payer.upper()}%"
        q = q.where(
            or_(func.upper(m.Remittance.payer_name).like(like), func.upper(m.Encounter.payer_id).like(like))
        )
    if f.code:
        q = q.where(m.RemitLine.code == f.code)
    return q


def _plus_payer_days(s: Session, day: Any, by_payer: dict[int, list[str | None]]) -> Any:
    """`day` plus a number of days that depends on the encounter's payer (None: no payer)."""
    if s.get_bind().dialect.name == "postgresql":
        plus: Any = lambda n: day + n
    else:
        plus = lambda n: func.date(day, f"{n:+d} days")
    whens = []
    other = None
    for n, ids in by_payer.items():
        named = [i for i in ids if i is not None]
        if None in ids:
            other = n
        if named:
            whens.append((m.Encounter.payer_id.in_(named), plus(n)))
    expr = (
        case(*whens, else_=plus(other) if other is not None else null())
        if whens
        else (plus(other) if other is not None else null())
    )
    return type_coerce(expr, Date)


def _remit_queue(
    s: Session,
    user: m.User,
    kind: str,
    allowed: set[str] | None,
    f: QueueFilters,
    pol: _Policies,
    today: date,
    all_rows: bool,
) -> tuple[list[QueueRow], int, int, dict[str, int]]:
    """A remit queue in SQL: filtered, counted (overdue/soon), sorted and paged by the database,
    the appeal deadline from each payer's policy; rows built only for what is shown."""
    base = _remit_base(kind, allowed, f)
    line, rem, enc, p, w, u = m.RemitLine, m.Remittance, m.Encounter, m.Person, m.WorkItem, m.User
    payers = [None, *distinct_values(s, enc.payer_id)]
    appeal: dict[int, list[str | None]] = {}
    warn: dict[int, list[str | None]] = {}
    for pid in payers:
        d = pol.for_payer(pid).deadlines
        appeal.setdefault(d.appeal_days, []).append(pid)
        warn.setdefault(d.appeal_days - d.due_soon_days, []).append(pid)
    open_ = and_(line.work_status.not_in(DONE), rem.payment_date.is_not(None))
    due_date = case((open_, _plus_payer_days(s, rem.payment_date, appeal)), else_=null())
    due = case(
        (~open_, null()),
        (_plus_payer_days(s, rem.payment_date, appeal) < today, "overdue"),
        (_plus_payer_days(s, rem.payment_date, warn) <= today, "soon"),
        else_="later",
    )
    where: list[Any] = []
    if f.edit:
        where.append(false())  # a remit line has no edits
    if f.reason:
        group, _, code = f.reason.rpartition("-")
        adj = m.RemitAdjustment
        full = adj.group_code + "-" + adj.reason_code
        where.append(
            line.adjustments.any(
                full == f.reason if group else or_(adj.reason_code == code, full == f.reason)
            )
        )
    where += _work_filters(f, user, today, line.work_status, w.assignee_id, rem.payment_date)
    if f.due:
        where.append(due == f.due)
    q = base.add_columns(due.label("due_state"))
    if f.assignee or f.sort == "assignee":  # the work items only when asked about
        q = q.outerjoin(w, and_(w.object_type == OBJECT_TYPE[kind], w.object_id == line.id))
        q = q.outerjoin(u, u.id == w.assignee_id)
    q = q.where(*where)
    last, first = func.nullif(p.last_name, ""), func.nullif(p.first_name, "")
    patient = case(
        (p.id.is_(None), null()),
        (and_(last.is_not(None), first.is_not(None)), last + ", " + first),
        (last.is_not(None), last),
        (first.is_not(None), first),
        else_="patient " + cast(p.id, String),
    )
    amount = line.billed - line.paid
    if s.get_bind().dialect.name == "postgresql":
        amount = cast(amount, Numeric)
    value: Any = {
        "due": due_date,
        "age": rem.payment_date,
        "dos": func.coalesce(line.date_of_service, enc.date_of_service),
        "amount": func.round(amount, 2),
        "practice": line.practice_id,
        "patient": patient,
        "payer": func.coalesce(func.nullif(rem.payer_name, ""), enc.payer_id),
        "status": line.work_status,
        "assignee": u.name,
    }.get(f.sort)
    q = q.order_by(*_queue_order(f, value, line.id))
    ids, total, page, counts = _paged(s, q, due, f, all_rows)
    rows: list[QueueRow] = []
    for k in range(0, len(ids), 2000):
        rows += _remit_rows(s, kind, ids[k : k + 2000], pol, today)
    return rows, total, page, counts


def _remit_rows(s: Session, kind: str, ids: list[int], pol: _Policies, today: date) -> list[QueueRow]:
    """The queue rows of these remit lines, in this order."""
    q = (
        select(m.RemitLine, m.Remittance, m.RemitClaim, m.Encounter, m.Person)
        .join(m.RemitClaim, m.RemitLine.remit_claim_id == m.RemitClaim.id)
        .join(m.Remittance, m.RemitClaim.remittance_id == m.Remittance.id)
        .outerjoin(m.Encounter, m.Encounter.id == m.RemitClaim.encounter_pk)
        .outerjoin(m.Person, m.Person.id == m.Encounter.person_id)
        .where(m.RemitLine.id.in_(ids))
        .options(selectinload(m.RemitLine.adjustments))
    )
    by_id: dict[int, QueueRow] = {}
    for line, rem, rc, enc, person in s.execute(q).all():
        policy = pol.for_payer(enc.payer_id if enc else None)
        paid_on = rem.payment_date
        open_ = line.work_status not in DONE
        due = paid_on + timedelta(days=policy.deadlines.appeal_days) if (open_ and paid_on) else None
        reasons = [f"{a.group_code}-{a.reason_code}" for a in sorted(line.adjustments, key=lambda a: a.id)]
        dos = line.date_of_service or (enc.date_of_service if enc else None)
        if kind == "denials":
            amount = line.billed - line.paid
            detail = (
                action_text(line.next_action)
                if line.next_action
                else ("denied" if line.denied else "reduced")
            )
        else:
            amount = line.billed - line.paid
            detail = (
                f"allowed {line.allowed:.2f}, paid {line.paid:.2f}"
                if line.allowed is not None
                else f"paid {line.paid:.2f}"
            )
        by_id[line.id] = QueueRow(
            kind=kind,
            id=line.id,
            practice_id=line.practice_id,
            reference=rc.patient_control_number,
            href=f"/claims/{enc.id}" if enc else None,
            person_id=person.id if person else None,
            patient=display_name(person) if person else None,
            payer=rem.payer_name or (enc.payer_id if enc else None),
            codes=[line.code + "".join(f"-{x}" for x in (line.modifiers or []))],
            date_of_service=dos,
            age_days=(today - paid_on).days if paid_on else None,
            amount=round(amount, 2),
            detail=detail,
            status=line.work_status,
            reasons=reasons,
            due_date=due,
            due_what="appeal" if due else None,
            due_state=_due_state(due, policy.deadlines.due_soon_days, today),
        )
    return [by_id[i] for i in ids]


def _pr_sum() -> Any:
    """Per remit line: what the payer put on the patient (group PR), so paid + that = allowed."""
    return (
        select(func.coalesce(func.sum(m.RemitAdjustment.amount), 0.0))
        .where(m.RemitAdjustment.remit_line_id == m.RemitLine.id, m.RemitAdjustment.group_code == "PR")
        .correlate(m.RemitLine)
        .scalar_subquery()
    )


def _reduction_codes() -> list[str]:
    from painrcm.remit.codes import code_table

    return [c for c, info in code_table().carc.items() if info.reduction]


def _auth_queue(
    s: Session, user: m.User, f: QueueFilters, policies: PolicyBook, today: date, all_rows: bool
) -> tuple[list[QueueRow], int, int, dict[str, int]]:
    """The authorization queue in SQL: the tracker's states (`queries_work.tracker`, the one rule)
    with the work items' status and assignee, filtered, counted and sorted by the database, so a
    page costs the page (rows, total, page, overdue/soon counts)."""
    tr = qw.tracker(s, user, policies, qw.AuthFilters(practice=f.practice, payer=f.payer))
    a, w, p, u = m.Authorization, m.WorkItem, m.Person, m.User
    status = func.coalesce(func.nullif(w.status, ""), "open")
    due = case(
        (status.in_(DONE), null()),
        (a.end_date < today, "overdue"),
        (a.end_date <= tr.expiring_until, "soon"),
        else_="later",
    )
    where: list[Any] = list(tr.where)
    if f.code:
        where.append(cast(a.codes, String).contains(json.dumps(f.code), autoescape=True))
    if f.edit:
        where.append(false())  # an authorization has no edits
    where += _work_filters(f, user, today, status, w.assignee_id, a.start_date)
    if f.due:
        where.append(due == f.due)
    base = (
        select(a.id, due.label("due_state"))
        .outerjoin(w, and_(w.object_type == OBJECT_TYPE["authorizations"], w.object_id == a.id))
        .where(*where)
    )
    if f.reason:  # on the state: the tracker's ranking (sessions used counted for everyone at once)
        t = tr.ranked.subquery()
        states = [i for i, x in enumerate(qw.AUTH_STATES) if _reason_matches([x], f.reason)]
        base = base.join(t, t.c.id == a.id).where(t.c.state_order.in_(states))
    total, page, counts = _counted(s, base, f)
    last, first = func.nullif(p.last_name, ""), func.nullif(p.first_name, "")
    value: Any = {
        "due": a.end_date,
        "age": a.start_date,
        "practice": a.practice_id,
        "patient": case(
            (and_(last.is_not(None), first.is_not(None)), last + ", " + first),
            (last.is_not(None), last),
            else_=first,
        ),
        "payer": a.payer_id,
        "status": status,
        "assignee": u.name,
    }.get(f.sort)
    q = base
    if f.sort == "patient":
        q = q.outerjoin(p, p.id == a.person_id)
    elif f.sort == "assignee":
        q = q.outerjoin(u, u.id == w.assignee_id)
    q = q.order_by(*_queue_order(f, value, a.id))
    if not all_rows:
        q = q.offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ids = [int(i) for i, _ in s.execute(q)]
    rows: list[QueueRow] = []
    for k in range(0, len(ids), 2000):
        part = ids[k : k + 2000]
        # the state of the rows shown only (the same rule as the ranking's: `auth_state_sql`)
        state = {int(i): int(o) for i, o in s.execute(select(a.id, tr.state_of).where(a.id.in_(part)))}
        ranked = [(i, state[i]) for i in part]
        rows += [_auth_queue_row(r, today) for r in qw.auth_rows(s, tr, ranked, False)]
    return rows, total, page, counts


def _auth_queue_row(a: qw.AuthRow, today: date) -> QueueRow:
    left = (
        "" if a.left is None else f", {a.left} of {a.sessions} session{'' if a.sessions == 1 else 's'} left"
    )
    return QueueRow(
        kind="authorizations",
        id=a.id,
        practice_id=a.practice_id,
        reference=a.auth_number,
        href=f"/patients/{a.person_id}" if a.person_id else None,
        person_id=a.person_id,
        patient=a.patient,
        payer=a.payer_id,
        codes=a.codes,
        date_of_service=None,
        age_days=(today - a.start_date).days,
        amount=None,
        detail=a.state_label + left,
        status="open",
        reasons=[a.state],
        due_date=a.end_date,
        due_what="expires",
        due_state=_due_state(a.end_date, a.warning_days, today),
    )


def _with_work_items(s: Session, kind: str, rows: list[QueueRow]) -> None:
    if not rows:
        return
    otype = OBJECT_TYPE[kind]
    items = {
        w.object_id: w
        for w in s.scalars(
            select(m.WorkItem).where(
                m.WorkItem.object_type == otype, m.WorkItem.object_id.in_([r.id for r in rows])
            )
        )
    }
    names = {u.id: u.name for u in s.scalars(select(m.User))}
    for r in rows:
        w = items.get(r.id)
        if w is None:
            continue
        r.assignee_id = w.assignee_id
        r.assignee = names.get(w.assignee_id) if w.assignee_id else None
        if kind == "authorizations" and w.status:
            r.status = w.status
            if w.status in DONE:
                r.due_state = None


def _counted(s: Session, q: Any, f: QueueFilters) -> tuple[int, int, dict[str, int]]:
    """A queue's total, the page shown (the last when asked past it) and its overdue/soon counts, from
    its filtered statement (which has a `due_state` column)."""
    counted = q.subquery()
    by_due = dict(s.execute(select(counted.c.due_state, func.count()).group_by(counted.c.due_state)).all())
    total = sum(by_due.values())
    page = min(f.page, max(1, -(-total // PER_PAGE)))
    return total, page, {"overdue": by_due.get("overdue", 0), "soon": by_due.get("soon", 0)}


def _paged(
    s: Session, q: Any, due: Any, f: QueueFilters, all_rows: bool
) -> tuple[list[int], int, int, dict[str, int]]:
    """A queue's rows (a page, or all of them) in one statement with the total and the overdue/soon
    counts over every filtered row as window aggregates, so the filtered rows (and their joins) are
    read once; `q` is the sorted statement (its first column the ID), `due` its due-state expression.
    Asked past the last page: the last page (its number from a count, then that page)."""
    counted = q.add_columns(
        func.count().over(),
        func.count(case((due == "overdue", 1))).over(),
        func.count(case((due == "soon", 1))).over(),
    )

    def rows_of(page: int) -> list[Any]:
        return s.execute(counted if all_rows else counted.offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()

    page = f.page
    got = rows_of(page)
    if not got and page > 1 and not all_rows:  # past the last page: the last page
        total = s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
        page = max(1, -(-total // PER_PAGE))
        got = rows_of(page) if total else []
    if not got:
        return [], 0, page, {"overdue": 0, "soon": 0}
    first = got[0]
    return [int(r[0]) for r in got], int(first[-3]), page, {"overdue": int(first[-2]), "soon": int(first[-1])}


def _queue_order(f: QueueFilters, value: Any, id_column: Any) -> list[Any]:
    """The queues' order: the sort's value ascending (or descending), rows without a value last, ties
    by ID in the same direction; `age` sorts on a date, so its ascending order is the date's
    descending one. `value` None (a sort the queue has no value for): by ID alone."""
    desc = f.order == "desc"
    order: list[Any] = []
    if value is not None:
        order.append((value.asc() if desc == (f.sort == "age") else value.desc()).nulls_last())
    order.append(id_column.desc() if desc else id_column.asc())
    return order


def _work_filters(
    f: QueueFilters, user: m.User, today: date, status: Any, assignee: Any = None, since: Any = None
) -> list[Any]:
    """The filters every queue shares, as SQL: status (by default only what is left to do), assignee
    (me, none or a user ID) and age band (days since `since`). A column given as None is not filtered."""
    where: list[Any] = []
    if status is not None:
        if f.status and f.status != "all":
            where.append(status == f.status)
        elif not f.status:
            where.append(status.not_in(DONE))
    if assignee is not None:
        if f.assignee == "me":
            where.append(assignee == user.id)
        elif f.assignee == "none":
            where.append(assignee.is_(None))
        elif f.assignee.isdigit():
            where.append(assignee == int(f.assignee))
    if since is not None and f.age:
        lo, hi = AGES[f.age]
        where.append(since.between(today - timedelta(days=hi), today - timedelta(days=lo)))
    return where


def _reason_matches(reasons: list[str], reason: str) -> bool:
    """A reason filter: an exact reason (GROUP-CODE), or a code alone in any group."""
    group, _, code = reason.rpartition("-")
    return any((x == reason) if group else (x.rpartition("-")[2] == code or x == reason) for x in reasons)


@dataclass
class QueuePage:
    kind: str
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int]  # overdue / soon over the filtered rows


def list_queue(
    s: Session,
    user: m.User,
    kind: str,
    f: QueueFilters,
    policies: PolicyBook,
    *,
    all_rows: bool = False,
    audit: bool = True,
) -> QueuePage:
    """One page of a queue (or every row, for export), filtered and sorted; audited (IDs only)."""
    if kind not in KINDS:
        raise NotFound
    allowed = qw.scope_for(s, user, f.practice or None)
    today = services.today()
    pol = _Policies(s, policies)
    if kind == "authorizations":
        shown, total, page, counts = _auth_queue(s, user, f, policies, today, all_rows)
        _with_work_items(s, kind, shown)
    elif kind == "claims":
        shown, total, page, counts = _claims(s, user, allowed, f, pol, today, all_rows)
        _with_work_items(s, kind, shown)
    else:
        shown, total, page, counts = _remit_queue(s, user, kind, allowed, f, pol, today, all_rows)
        _with_work_items(s, kind, shown)
    pages = max(1, -(-total // PER_PAGE))
    if audit:
        services.audit(
            s,
            user.id,
            "read",
            f"{kind}_queue",
            None,
            f.practice or None,
            person_ids=sorted({r.person_id for r in shown if r.person_id is not None}),
            rows=len(shown),
        )
    return QueuePage(kind=kind, rows=shown, total=total, page=page, pages=pages, counts=counts)


def assignable_users(s: Session, user: m.User) -> list[m.User]:
    """Active users (for the assignee filter and the assign menu)."""
    return list(s.scalars(select(m.User).where(m.User.active.is_(True)).order_by(m.User.name)))


_MODEL: dict[str, Any] = {
    "encounter": m.Encounter,
    "remit_line": m.RemitLine,
    "authorization": m.Authorization,
}


def _objects(s: Session, user: m.User, kind: str, ids: Iterable[int]) -> list[Any]:
    if kind not in KINDS:
        raise NotFound
    ids = sorted({int(i) for i in ids})
    if not ids:
        raise BadFilter("choose at least one row")
    if len(ids) > 1000:
        raise BadFilter("at most 1000 rows at once")
    return [get_scoped(s, _MODEL[OBJECT_TYPE[kind]], i, user) for i in ids]


def _item(s: Session, otype: str, obj: Any) -> m.WorkItem:
    w = s.scalars(
        select(m.WorkItem).where(m.WorkItem.object_type == otype, m.WorkItem.object_id == obj.id)
    ).first()
    if w is None:
        w = m.WorkItem(object_type=otype, object_id=obj.id, practice_id=obj.practice_id)
        s.add(w)
    return w


def assign(s: Session, user: m.User, kind: str, ids: Sequence[int], assignee_id: int | None) -> int:
    """Give rows to a user (None: unassign). The assignee must be active and work each row's practice
    (or the row is refused with the reason). Audited per row. Returns the rows changed."""
    objs = _objects(s, user, kind, ids)
    assignee = None
    if assignee_id is not None:
        assignee = s.get(m.User, assignee_id)
        if assignee is None or not assignee.active:
            raise BadFilter("no active user with that ID")
        for o in objs:
            if not can_see_practice(s, assignee, o.practice_id):
                raise BadFilter(f"{assignee.name} does not work practice {o.practice_id}")
    otype = OBJECT_TYPE[kind]
    changed = 0
    for o in objs:
        w = _item(s, otype, o)
        if w.assignee_id != assignee_id:
            services.audit(
                s,
                user.id,
                "assign",
                otype,
                o.id,
                o.practice_id,
                assignee_from=w.assignee_id,
                assignee_to=assignee_id,
            )
            w.assignee_id, w.updated_by = assignee_id, user.id
            changed += 1
    s.flush()
    return changed


def set_status(s: Session, user: m.User, kind: str, ids: Sequence[int], status: str) -> int:
    """Bulk status change (audited per row). Returns the rows changed."""
    if status not in STATUSES.get(kind, ()):
        raise BadFilter(f"status must be one of {', '.join(STATUSES.get(kind, ()))} (got {status!r})")
    objs = _objects(s, user, kind, ids)
    otype = OBJECT_TYPE[kind]
    changed = 0
    for o in objs:
        if kind == "authorizations":
            w = _item(s, otype, o)
            before = w.status or "open"
            w.status, w.updated_by = status, user.id
        else:
            if kind == "claims" and o.work_status == "history":
                raise NotFound
            before = o.work_status
            o.work_status = status
        if before != status:
            services.audit(
                s,
                user.id,
                "update",
                otype,
                o.id,
                o.practice_id,
                work_status_from=before,
                work_status_to=status,
                bulk=True,
            )
            changed += 1
    s.flush()
    return changed
