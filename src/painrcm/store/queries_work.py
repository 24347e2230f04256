"""The work lists a biller goes through every day, and user administration: the query functions the
JSON API (``api/work.py``, ``api/admin.py``) and the pages (``web/work.py``, ``web/admin.py``) share.

- authorization tracker: every authorization on file with its computed state (expiring soon, sessions
  used up, pending, denied, active, expired);
- frequency watch: patients at or one session short of a frequency limit of their payer's policy, with
  the next payable date (``painrcm.history.limits`` over the database as history source);
- denial queue: 835 lines denied or reduced in a way someone has to act on, with the plain-English
  explanation, the next action and the status the biller works them through;
- imports: handing an uploaded file to the job runner and reading its progress;
- administration: users, roles, practice assignments.

Everything is practice-scoped through ``painrcm.store.scope``: an object, or a practice filter, outside
the user's practices is ``NotFound`` (404). Lists that show patients write one audit entry naming the
person IDs shown (never names or member IDs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    delete,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from painrcm.history import History
from painrcm.history.limits import LimitStanding, standing
from painrcm.labels import standing_state
from painrcm.model import Patient
from painrcm.model import Payer as PayerModel
from painrcm.policy.loader import PolicyBook
from painrcm.remit.codes import ACTIONS
from painrcm.remit.explain import action_text
from painrcm.scrub import Engine
from painrcm.store import auth_usage, services, standings
from painrcm.store import models as m
from painrcm.store.histories import chunks
from painrcm.store.scope import NotFound, can_see_practice, get_scoped, practice_ids

AUTH_STATES = ("expiring", "used_up", "pending", "denied", "active", "expired")
AUTH_STATE_LABELS = {
    "expiring": "expiring soon",
    "used_up": "sessions used up",
    "pending": "pending",
    "denied": "denied",
    "active": "active",
    "expired": "expired",
}
WORK_STATUSES = ("open", "working", "appealed", "resubmitted", "written_off", "resolved")
# A reduced (not denied) line is in the denial queue only when its next action needs the biller.
QUEUE_ACTIONS = ("correct_and_resubmit", "appeal", "bill_secondary")
IMPORT_KINDS = {
    "encounters": "Encounter JSON",
    "x12_837": "837P claim file",
    "x12_835": "835 remittance",
    "auths": "Authorization log (CSV or JSON)",
    "x12_ack": "999 / 277CA acknowledgement",
    "x12_278": "278 authorization response",
}
ROLES = ("admin", "supervisor", "biller")
MIN_PASSWORD = 10
CENT = 0.005


class BadInput(ValueError):
    """A filter or field value the query cannot use (the API answers 400 with the message)."""


class Conflict(ValueError):
    """The change clashes with what is stored (the API answers 409)."""


class JobRunner(Protocol):
    def submit(
        self, kind: str, data: bytes, file_name: str, practice_id: str | None, user_id: int | None
    ) -> int: ...


def _norm(text: str | None) -> str:
    return "".join((text or "").split()).upper()


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def scope_for(s: Session, user: m.User, practice: str | None = None) -> set[str] | None:
    """The practices a list covers: the user's, narrowed to `practice` when given. A practice the user
    may not see (or that does not exist) is not found, never an empty list."""
    allowed = practice_ids(s, user)
    practice = _blank(practice)
    if practice is None:
        return allowed
    if s.get(m.Practice, practice) is None or (allowed is not None and practice not in allowed):
        raise NotFound
    return {practice}


def _within(column: Any, allowed: set[str] | None) -> Any:
    return true() if allowed is None else column.in_(allowed)


def visible_practices(s: Session, user: m.User) -> list[m.Practice]:
    allowed = practice_ids(s, user)
    q = select(m.Practice).where(_within(m.Practice.id, allowed)).order_by(m.Practice.id)
    return list(s.scalars(q))


def _choice(value: str | None, allowed: Sequence[str], what: str) -> str | None:
    value = _blank(value)
    if value is not None and value not in allowed:
        raise BadInput(f"{what} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _audit_people(
    s: Session,
    user: m.User,
    object_type: str,
    person_ids: Iterable[int | None],
    practice: str | None,
    **detail: Any,
) -> None:
    ids = sorted({p for p in person_ids if p is not None})
    services.audit(s, user.id, "read", object_type, None, practice, person_ids=ids, **detail)


def _display_name(person: Any) -> str | None:
    return None if person is None else m.full_name(person.last_name, person.first_name)


PER_PAGE = 100


@dataclass
class ListFilters:
    """The filters of a paged work list (URL parameters)."""

    practice: str = ""
    on: str = ""
    state: str = ""
    payer: str = ""
    sort: str = ""
    order: str = "asc"
    page: int = 1

    def as_query(self, **override: Any) -> dict[str, str]:
        """The filters as URL parameters (defaults left out): a saved filter is the URL."""
        d = {**asdict(self), **override}
        defaults = asdict(type(self)())
        return {k: str(v) for k, v in d.items() if v not in ("", None) and v != defaults[k]}


def _page_number(value: Any) -> int:
    try:
        return max(1, int(value or 1))
    except (TypeError, ValueError):
        raise BadInput("page must be a number") from None


def _day_filter(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"Not a date (YYYY-MM-DD): {text}") from None


# ------------------------------------------------------------------------------------------------
# Authorization tracker


@dataclass
class AuthRow:
    id: int
    practice_id: str
    auth_number: str
    payer_id: str
    member_id: str
    person_id: int | None
    patient: str | None
    codes: list[str]
    sessions: int | None
    used: int
    left: int | None
    start_date: date
    end_date: date
    days_left: int
    status: str
    state: str
    warning_days: int
    claims: list[dict[str, Any]] = field(default_factory=list)  # the claims that used it

    @property
    def state_label(self) -> str:
        return AUTH_STATE_LABELS[self.state]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_date"], d["end_date"] = self.start_date.isoformat(), self.end_date.isoformat()
        d["state_label"] = self.state_label
        return d


def auth_state_sql(
    status: Any, end: Any, sessions: Any, used: Any, on: date, expiring_until: Any, *, ordinal: bool = False
) -> Any:
    """SQL: an authorization's state on `on`. Denied and pending come from the payer; otherwise
    expired, sessions used up, expiring (ending on or before `expiring_until`: `on` plus the payer
    policy's warning days), or active. The one implementation of the rule (lists and claim pages).
    `ordinal`: the state's position in AUTH_STATES instead of its name (the lists sort on it)."""

    def out(state: str) -> Any:
        return AUTH_STATES.index(state) if ordinal else state

    st = func.lower(func.trim(status))
    return case(
        (st == "denied", out("denied")),
        (st == "pending", out("pending")),
        (end < on, out("expired")),
        (and_(sessions.is_not(None), used >= sessions), out("used_up")),
        (end <= expiring_until, out("expiring")),
        else_=out("active"),
    )


def auth_state(
    s: Session, status: str, end: date, sessions: int | None, used: int, on: date, warning_days: int
) -> str:
    """One authorization's state (`auth_state_sql` on these values)."""
    expr = auth_state_sql(
        literal(status, String),
        literal(end, Date),
        literal(sessions, Integer),
        literal(used, Integer),
        on,
        literal(on + timedelta(days=warning_days), Date),
    )
    return str(s.scalar(select(expr)))


def warning_days(s: Session, policies: PolicyBook, payer_id: str, cache: dict[str, int]) -> int:
    """The payer policy's authorization expiry warning (14 days unless the payer file says otherwise)."""
    if payer_id not in cache:
        row = s.get(m.Payer, payer_id)
        try:
            payer = PayerModel(id=payer_id, plan=row.plan if row else "commercial")  # type: ignore[arg-type]
        except ValidationError:
            payer = PayerModel(id=payer_id, plan="commercial")
        cache[payer_id] = policies.for_payer(payer).authorization.expiry_warning_days
    return cache[payer_id]


def sessions_used(s: Session, auths: Sequence[m.Authorization], on: date) -> dict[int, int]:
    """Per authorization: dates of service up to `on` of stored claims that carry its number for its
    member (the same person, or a person with the same member ID), at claim level (837P 2300 REF*G1)
    or line level (2400 REF*G1): see ``store/auth_usage.py``."""
    return {k: auth_usage.sessions(v) for k, v in auth_usage.usage(s, auths, on).items()}


def _auth_persons(s: Session, auths: Sequence[Any]) -> dict[int, Any]:
    """Person ID -> (id, last_name, first_name) of the authorizations' persons (for display names)."""
    ids = sorted({a.person_id for a in auths if a.person_id is not None})
    out: dict[int, Any] = {}
    for part in chunks(ids):
        q = select(m.Person.id, m.Person.last_name, m.Person.first_name).where(m.Person.id.in_(part))
        out.update((p.id, p) for p in s.execute(q))
    return out


AUTH_SORTS = {  # sort key -> columns of the tracker's query (then the default order breaks ties)
    "urgency": (),
    "end_date": ("end_date",),
    "practice": ("practice_id",),
    "number": ("auth_number",),
    "payer": ("payer_id",),
    "sessions": ("sessions",),
}
_AUTH_ORDER = ("state_order", "end_date", "practice_id", "auth_number", "id")


_F = TypeVar("_F", bound="ListFilters")


def _list_filters(cls: type[_F], params: dict[str, Any], states: Sequence[str], sorts: Iterable[str]) -> _F:
    """A paged list's filters from URL parameters, each checked (BadFilter names the one refused)."""
    f = cls(
        **{k: str(params.get(k) or "").strip() for k in ("practice", "on", "state", "payer")},
        order=str(params.get("order") or "asc"),
        page=_page_number(params.get("page")),
    )
    f.sort = str(params.get("sort") or f.sort)
    _choice(f.state, tuple(states), "state")
    _choice(f.sort, tuple(sorts), "sort")
    _choice(f.order, ("asc", "desc"), "order")
    _day_filter(f.on)
    return f


@dataclass
class AuthFilters(ListFilters):
    sort: str = "urgency"


def auth_filters(params: dict[str, Any]) -> AuthFilters:
    return _list_filters(AuthFilters, params, AUTH_STATES, AUTH_SORTS)


@dataclass
class Tracker:
    on: date
    ranked: Any  # select: (id, state_order, sort columns) of every authorization matching
    detail: Any  # select: the columns of a row (add a filter on ids)
    expiring_until: Any  # SQL over Authorization.payer_id: `on` plus the payer's warning days
    where: list[Any]  # SQL: the authorizations the tracker covers (scope and payer filter)
    state_of: Any  # SQL over one authorization row: its state ordinal (sessions used counted for it)


def tracker(s: Session, user: m.User, policies: PolicyBook, f: AuthFilters) -> Tracker:
    """Every authorization in scope (and payer filter) with its state on `on`, from SQL: a narrow
    ranking (what sorting and counting need) and the columns of the rows shown."""
    allowed = scope_for(s, user, f.practice)
    on = _day_filter(f.on) or services.today()
    a = m.Authorization
    where = [_within(a.practice_id, allowed)]
    if f.payer:
        where.append(func.upper(a.payer_id).like(f"%{f.payer.upper()}%"))
    cache: dict[str, int] = {}
    payers = sorted(s.scalars(select(a.payer_id).distinct().where(*where)))
    until = {p: on + timedelta(days=warning_days(s, policies, p, cache)) for p in payers}
    expiring_until: Any = (
        case(*((a.payer_id == p, literal(d, Date)) for p, d in until.items()), else_=literal(on, Date))
        if until
        else literal(on, Date)
    )
    # sessions used, counted in one grouped join for the authorizations whose state depends on them
    # (neither denied nor pending, not ended, with a session cap): the others' state needs none
    st = func.lower(func.trim(a.status))
    live = [*where, st.not_in(("denied", "pending")), a.end_date >= on, a.sessions.is_not(None)]
    used_live = auth_usage.used_by_authorization(on, live)
    used = func.coalesce(used_live.c.used, 0)
    state = auth_state_sql(a.status, a.end_date, a.sessions, used, on, expiring_until, ordinal=True)
    sort_cols = sorted({c for cols in AUTH_SORTS.values() for c in cols} | set(_AUTH_ORDER) - {"state_order"})
    ranked = (
        select(*(a.__table__.c[c] for c in sort_cols), state.label("state_order"))
        .outerjoin(used_live, used_live.c.id == a.id)
        .where(*where)
    )
    detail = select(
        a.id, a.practice_id, a.person_id, a.auth_number, a.payer_id, a.member_id, a.codes, a.sessions,
        a.start_date, a.end_date, a.status, expiring_until.label("expiring_until"),
    )  # fmt: skip
    # the same state for a few rows (a page): sessions used counted per row instead of for everyone
    state_of = auth_state_sql(
        a.status, a.end_date, a.sessions, auth_usage.used_sessions(on), on, expiring_until, ordinal=True
    )
    return Tracker(on, ranked, detail, expiring_until, where, state_of)


def _auth_row(
    r: Any, state: str, on: date, persons: dict[int, Any], uses: dict[int, list[Any]] | None, used: int
) -> AuthRow:
    return AuthRow(
        id=r.id,
        practice_id=r.practice_id,
        auth_number=r.auth_number,
        payer_id=r.payer_id,
        member_id=r.member_id,
        person_id=r.person_id,
        patient=_display_name(persons.get(r.person_id or -1)),
        codes=list(r.codes or []),
        sessions=r.sessions,
        used=used,
        left=None if r.sessions is None else max(r.sessions - used, 0),
        start_date=r.start_date,
        end_date=r.end_date,
        days_left=(r.end_date - on).days,
        status=r.status,
        state=state,
        warning_days=(r.expiring_until - on).days,
        claims=[u.to_dict() for u in (uses or {}).get(r.id, [])],
    )


def auth_rows(s: Session, tr: Tracker, ranked: Sequence[tuple[int, int]], claims: bool) -> list[AuthRow]:
    """The rows of a page (or a chunk), in the order of `ranked` ((id, state ordinal)): their columns,
    sessions used and claims read for these authorizations only."""
    ids = [i for i, _ in ranked]
    a = m.Authorization
    found = {r.id: r for r in s.execute(tr.detail.where(a.id.in_(ids)))} if ids else {}
    rows = [found[i] for i in ids]
    persons = _auth_persons(s, rows)
    uses = auth_usage.usage(s, rows, tr.on) if claims else None
    used: dict[int, int] = {}
    if ids:
        q = select(a.id, auth_usage.used_sessions(tr.on)).where(a.id.in_(ids))
        used.update((int(i), int(n)) for i, n in s.execute(q))
    return [
        _auth_row(r, AUTH_STATES[o], tr.on, persons, uses, used.get(r.id, 0))
        for r, (_, o) in zip(rows, ranked, strict=True)
    ]


def _auth_order(t: Any, f: AuthFilters) -> list[Any]:
    first = [_ordered(t.c[c], f.order == "desc") for c in AUTH_SORTS[f.sort]]
    return [*first, *(t.c[c] for c in _AUTH_ORDER)]


def list_authorizations(
    s: Session,
    user: m.User,
    policies: PolicyBook,
    *,
    practice: str | None = None,
    on: date | None = None,
    claims: bool = True,
) -> list[AuthRow]:
    """Authorizations on file in the practices covered with their state on `on` (default today), most
    urgent first (with the claims that used each unless `claims` is false). Not audited: callers
    showing them use `authorization_tracker` or `authorization_page`."""
    f = AuthFilters(practice=practice or "", on=on.isoformat() if on else "")
    return list(authorization_rows(s, user, policies, f, claims=claims))


@dataclass
class AuthPage:
    on: date
    rows: list[AuthRow]
    total: int  # authorizations matching the filters
    counts: dict[str, int]  # per state, over the filters other than state
    page: int
    pages: int


def authorization_page(
    s: Session, user: m.User, policies: PolicyBook, f: AuthFilters, *, audit: bool = True
) -> AuthPage:
    """One page (PER_PAGE rows) of the tracker, sorted and filtered, with the claims that used each
    authorization; counts per state from SQL. Audited as a read of the patients shown.

    One statement answers the counts and the page's IDs: the ranking is a materialized CTE that both
    read (computed once), so sessions used are counted once per request."""
    tr = tracker(s, user, policies, f)
    t = tr.ranked.cte("ranked").prefix_with("MATERIALIZED")
    # the page's IDs (a top-N sort), with their sort columns so that the whole statement can be
    # ordered: the counts first, then the page's rows in the page order
    keys = [*AUTH_SORTS[f.sort], *_AUTH_ORDER]
    shown = select(t.c.id, t.c.state_order, *(t.c[k].label(f"k{i}") for i, k in enumerate(keys)))
    if f.state:
        shown = shown.where(t.c.state_order == AUTH_STATES.index(f.state))
    page_q = shown.order_by(*_auth_order(t, f)).offset((f.page - 1) * PER_PAGE).limit(PER_PAGE).subquery()
    nulls = (null().label(f"k{i}") for i in range(len(keys)))
    both = union_all(
        select(literal(0).label("part"), t.c.state_order, func.count().label("n"), *nulls).group_by(
            t.c.state_order
        ),
        select(literal(1), page_q.c.state_order, page_q.c.id, *(page_q.c[f"k{i}"] for i in range(len(keys)))),
    )
    first = len(AUTH_SORTS[f.sort])
    both = both.order_by(
        literal_column("part"),
        *(_ordered(literal_column(f"k{i}"), f.order == "desc" and i < first) for i in range(len(keys))),
    )
    counts = dict.fromkeys(AUTH_STATES, 0)
    ranked: list[tuple[int, int]] = []
    for part, o, n, *_ in s.execute(both):
        if part == 0:
            counts[AUTH_STATES[o]] = int(n)
        else:
            ranked.append((int(n), int(o)))
    total = counts[f.state] if f.state else sum(counts.values())
    pages = max(1, -(-total // PER_PAGE))
    page = min(f.page, pages)
    if page != f.page:  # past the last page: the last one
        return authorization_page(s, user, policies, replace(f, page=page), audit=audit)
    rows = auth_rows(s, tr, ranked, True)
    if audit:
        _audit_people(
            s, user, "authorization_list", (r.person_id for r in rows), _blank(f.practice),
            authorization_ids=[r.id for r in rows], state=f.state or None, on=tr.on.isoformat(), page=page,
        )  # fmt: skip
    return AuthPage(tr.on, rows, total, counts, page, pages)


def authorization_rows(
    s: Session, user: m.User, policies: PolicyBook, f: AuthFilters, chunk: int = 2000, *, claims: bool = True
) -> Iterable[AuthRow]:
    """Every authorization of the filtered tracker in the page order (the CSV export: the caller
    audits what it sends): the ranking once, the rows `chunk` at a time."""
    tr = tracker(s, user, policies, f)
    t = tr.ranked.subquery()
    q = select(t.c.id, t.c.state_order).order_by(*_auth_order(t, f))
    if f.state:
        q = q.where(t.c.state_order == AUTH_STATES.index(f.state))
    ranked = [(int(i), int(o)) for i, o in s.execute(q)]
    for k in range(0, len(ranked), chunk):
        yield from auth_rows(s, tr, ranked[k : k + chunk], claims)


def authorization_tracker(
    s: Session,
    user: m.User,
    policies: PolicyBook,
    *,
    practice: str | None = None,
    state: str | None = None,
    on: date | None = None,
) -> tuple[list[AuthRow], dict[str, int]]:
    """The whole tracker (every row: for scripts and tests; the pages and the API read
    `authorization_page`): the authorizations in `state` (all when None) and the count in every state.
    Audited as a read of the patients listed (person IDs only)."""
    state = _choice(state, AUTH_STATES, "state")
    f = AuthFilters(practice=practice or "", on=on.isoformat() if on else "", state=state or "")
    rows = list(authorization_rows(s, user, policies, f))
    counts = authorization_page(s, user, policies, f, audit=False).counts
    _audit_people(
        s,
        user,
        "authorization_list",
        (r.person_id for r in rows),
        _blank(practice),
        authorization_ids=[r.id for r in rows],
        state=state,
        on=(on or services.today()).isoformat(),
    )
    return rows, counts


AUTH_CSV_HEADER = [
    "id", "state", "practice", "auth_number", "patient", "member_id", "payer", "codes", "sessions", "used",
    "left", "start_date", "end_date", "days_left", "status", "claims",
]  # fmt: skip


def auth_csv_row(r: AuthRow) -> list[Any]:
    return [
        r.id, r.state_label, r.practice_id, r.auth_number, r.patient, r.member_id, r.payer_id,
        " ".join(r.codes), r.sessions, r.used, r.left, r.start_date.isoformat(), r.end_date.isoformat(),
        r.days_left, r.status, " ".join(c["encounter_id"] for c in r.claims),
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Frequency watch


@dataclass
class FrequencyRow:
    person_id: int
    patient: str | None
    practice_id: str
    payer_id: str
    policy_id: str
    limit_id: str
    edit: str
    region: str | None
    used: int
    max: int
    left: int
    window_months: int
    next_payable: date
    last_session: date | None
    state: str  # over_limit (more paid than allowed) | at_limit | near_limit

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["next_payable"] = self.next_payable.isoformat()
        d["last_session"] = self.last_session.isoformat() if self.last_session else None
        return d

    def to_columns(self) -> dict[str, Any]:
        """As a standing_rows row (without its date); every field is a plain value (no copy needed)."""
        return dict(self.__dict__)

    @classmethod
    def of(cls, row: Any) -> FrequencyRow:
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class _Latest:
    practice_id: str
    payer_id: str


def _latest_encounters(
    s: Session, allowed: set[str] | None, on: date, persons: Iterable[int] | None = None
) -> dict[int, _Latest]:
    """Each person's latest encounter (on or before `on`) in the practices covered (its practice and
    payer only: the documents are not read); of the persons given, or of everyone."""
    q = select(
        m.Encounter.person_id,
        m.Encounter.date_of_service,
        m.Encounter.id,
        m.Encounter.practice_id,
        m.Encounter.payer_id,
    ).where(_within(m.Encounter.practice_id, allowed), m.Encounter.date_of_service <= on)
    found: dict[int, tuple[date, int, _Latest]] = {}
    parts = [None] if persons is None else list(chunks(sorted(set(persons))))
    for part in parts:
        for person_id, day, pk, practice_id, payer_id in s.execute(
            q if part is None else q.where(m.Encounter.person_id.in_(part))
        ):
            seen = found.get(person_id)
            if seen is None or (day, pk) > seen[:2]:
                found[person_id] = (day, pk, _Latest(practice_id, payer_id))
    return {pid: v[2] for pid, v in found.items()}


def _payer_model(s: Session, payer_id: str) -> PayerModel:
    row = s.get(m.Payer, payer_id)
    try:
        return PayerModel(id=payer_id, plan=row.plan if row else "commercial")  # type: ignore[arg-type]
    except ValidationError:
        return PayerModel(id=payer_id, plan="commercial")


def _patient(person: m.Person) -> Patient:
    return Patient(
        member_id=person.member_id, last_name=person.last_name, first_name=person.first_name, dob=person.dob
    )


def person_standing(
    s: Session,
    engine: Engine,
    person: m.Person,
    payer: PayerModel,
    on: date,
    practice_id: str,
    history: History | None = None,
) -> list[FrequencyRow]:
    """One patient's limits that are used up or one session short, over every stored service
    (`history`: the person's, fetched beforehand)."""
    history = history if history is not None else services.person_history(s, person, engine)
    policy = engine.policies.for_payer(payer)
    found = standing(history, _patient(person), policy, on)
    return watched(found, on, person.id, _display_name(person), practice_id, payer.id, policy.id)


def watched(
    found: Iterable[LimitStanding],
    on: date,
    person_id: int,
    patient: str | None,
    practice_id: str,
    payer_id: str,
    policy_id: str,
) -> list[FrequencyRow]:
    """The watch's rows of a patient's standings on `on` (`history.limits.standing` under the policy of
    the payer of their latest encounter at the practice): the limits used up or one session short."""
    out = []
    for st in found:
        if st.used == 0 or st.left > 1:
            continue
        out.append(
            FrequencyRow(
                person_id=person_id,
                patient=patient,
                practice_id=practice_id,
                payer_id=payer_id,
                policy_id=policy_id,
                limit_id=st.limit_id,
                edit=st.edit,
                region=st.region,
                used=st.used,
                max=st.max,
                left=st.left,
                window_months=st.window_months,
                next_payable=st.next_payable(on),
                last_session=st.session_dates[-1] if st.session_dates else None,
                state=standing_state(st.used, st.max),
            )
        )
    return out


WATCH_STATES = ("over_limit", "at_limit", "near_limit")
WATCH_SORTS = {  # sort key -> standing_rows columns (then the default order breaks ties)
    "standing": (),
    "next_payable": ("next_payable",),
    "patient": ("patient",),
    "practice": ("practice_id",),
    "payer": ("payer_id",),
    "limit": ("limit_id",),
    "last_session": ("last_session",),
    "used": ("used",),
}


@dataclass
class WatchFilters(ListFilters):
    sort: str = "standing"


_WATCH_ORDER = ("left", "next_payable", "practice_id", "patient", "limit_id", "region", "person_id", "id")


def watch_filters(params: dict[str, Any]) -> WatchFilters:
    return _list_filters(WatchFilters, params, WATCH_STATES, WATCH_SORTS)


@dataclass
class WatchPage:
    on: date
    rows: list[FrequencyRow]
    total: int  # rows (limits) matching the filters
    patients: int  # distinct patients among them
    states: dict[str, int]  # rows per standing (over the filters other than state)
    page: int
    pages: int


def _watch_where(s: Session, user: m.User, engine: Engine, f: WatchFilters) -> tuple[date, Any, Any]:
    allowed = scope_for(s, user, f.practice)
    on = _day_filter(f.on) or services.today()
    standings.ensure(s, engine, on)
    r = m.StandingRow
    base = standings.visible(on, allowed)
    if f.payer:
        base = and_(base, func.upper(r.payer_id).like(f"%{f.payer.upper()}%"))
    where = base if not f.state else and_(base, r.state == f.state)
    return on, base, where


def _ordered(column: Any, desc: bool = False) -> Any:
    """A sort term with NULLs first ascending, last descending, on both databases."""
    return column.desc().nulls_last() if desc else column.asc().nulls_first()


def _watch_order(f: WatchFilters) -> list[Any]:
    r = m.StandingRow.__table__.c
    first = [_ordered(r[c], f.order == "desc") for c in WATCH_SORTS[f.sort]]
    return [*first, *(_ordered(r[c]) for c in _WATCH_ORDER)]


WATCH_CSV_HEADER = [
    "person_id", "patient", "state", "practice", "payer", "policy", "limit", "edit", "region", "used",
    "max", "left", "window_months", "last_session", "next_payable",
]  # fmt: skip


def watch_csv_row(r: FrequencyRow) -> list[Any]:
    return [
        r.person_id, r.patient, r.state, r.practice_id, r.payer_id, r.policy_id, r.limit_id, r.edit,
        r.region, r.used, r.max, r.left, r.window_months,
        r.last_session.isoformat() if r.last_session else "", r.next_payable.isoformat(),
    ]  # fmt: skip


def frequency_page(
    s: Session, user: m.User, engine: Engine, f: WatchFilters, *, audit: bool = True
) -> WatchPage:
    """One page (PER_PAGE rows) of the frequency watch: patients seen in the practices covered who are
    at, over or one session short of a frequency limit of their payer's policy on `f.on` (default
    today), sorted and filtered; counts over every matching row, from SQL. Audited as a read of the
    patients shown (person IDs only)."""
    on, base, where = _watch_where(s, user, engine, f)
    total, patients, _ = standings.count_rows(s, where)
    states = dict.fromkeys(WATCH_STATES, 0)
    states.update(standings.count_rows(s, base)[2])
    pages = max(1, -(-total // PER_PAGE))
    page = min(f.page, pages)
    q = select(m.StandingRow).where(where).order_by(*_watch_order(f))
    rows = [FrequencyRow.of(x) for x in s.scalars(q.offset((page - 1) * PER_PAGE).limit(PER_PAGE))]
    if audit:
        _audit_people(
            s, user, "frequency_watch", (r.person_id for r in rows), _blank(f.practice), on=on.isoformat(),
            page=page,
        )  # fmt: skip
    return WatchPage(on, rows, total, patients, states, page, pages)


def frequency_rows(
    s: Session, user: m.User, engine: Engine, f: WatchFilters, chunk: int = 2000
) -> Iterable[FrequencyRow]:
    """Every row of the filtered watch in the page order, read `chunk` rows at a time (the CSV export:
    the caller audits what it sends)."""
    _, _, where = _watch_where(s, user, engine, f)
    q = select(m.StandingRow).where(where).order_by(*_watch_order(f))
    offset = 0
    while True:
        part = [FrequencyRow.of(x) for x in s.scalars(q.offset(offset).limit(chunk))]
        yield from part
        if len(part) < chunk:
            return
        offset += chunk


def frequency_watch(
    s: Session,
    user: m.User,
    engine: Engine,
    *,
    practice: str | None = None,
    on: date | None = None,
    audit: bool = True,
) -> list[FrequencyRow]:
    """Every row of the watch on `on` (default today) in the practices covered, most urgent first
    (the stored standings, ``store/standings.py``). Audited as a read of the patients listed."""
    f = WatchFilters(practice=practice or "", on=on.isoformat() if on else "")
    rows = list(frequency_rows(s, user, engine, f))
    if audit:
        _audit_people(
            s, user, "frequency_watch", (r.person_id for r in rows), _blank(practice),
            on=(on or services.today()).isoformat(),
        )  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------------------
# Denial queue


@dataclass
class DenialRow:
    id: int
    practice_id: str
    remittance_id: int
    payer: str | None
    payment_date: date | None
    patient_control_number: str
    encounter_pk: int | None
    code: str
    modifiers: list[str]
    date_of_service: date | None
    billed: float
    allowed: float | None
    paid: float
    denied: bool
    adjustments: list[dict[str, Any]]
    remarks: list[str]
    explanation: str | None
    next_action: str | None
    next_action_text: str | None
    preventing_edits: list[str]
    work_status: str
    work_note: str | None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("reasons")
        d["payment_date"] = self.payment_date.isoformat() if self.payment_date else None
        d["date_of_service"] = self.date_of_service.isoformat() if self.date_of_service else None
        return d


def in_denial_queue() -> Any:
    """Denied lines, and lines paid less than billed whose next action needs the biller (a contractual
    write-off or a patient balance alone is not a denial)."""
    return or_(
        m.RemitLine.denied.is_(True),
        and_(m.RemitLine.paid < m.RemitLine.billed - CENT, m.RemitLine.next_action.in_(QUEUE_ACTIONS)),
    )


def _denial_row(line: m.RemitLine) -> DenialRow:
    claim, rem = line.claim, line.claim.remittance
    adjs = [
        {
            "group": a.group_code,
            "reason": a.reason_code,
            "code": f"{a.group_code}-{a.reason_code}",
            "amount": a.amount,
            "quantity": a.quantity,
        }
        for a in sorted(line.adjustments, key=lambda a: a.id)
    ]
    return DenialRow(
        id=line.id,
        practice_id=line.practice_id,
        remittance_id=rem.id,
        payer=rem.payer_name,
        payment_date=rem.payment_date,
        patient_control_number=claim.patient_control_number,
        encounter_pk=claim.encounter_pk,
        code=line.code,
        modifiers=list(line.modifiers or []),
        date_of_service=line.date_of_service,
        billed=line.billed,
        allowed=line.allowed,
        paid=line.paid,
        denied=line.denied,
        adjustments=adjs,
        remarks=list(line.remarks or []),
        explanation=line.explanation,
        next_action=line.next_action,
        next_action_text=action_text(line.next_action) if line.next_action else None,
        preventing_edits=list(line.preventing_edits or []),
        work_status=line.work_status,
        work_note=line.work_note,
        reasons=[a["code"] for a in adjs],
    )


def _reason_filter(reason: str) -> Any:
    """`97` (any group) or `CO-97` (that group and reason)."""
    reason = reason.strip().upper()
    group, _, code = reason.rpartition("-")
    cond = m.RemitAdjustment.reason_code == code
    if group:
        cond = and_(cond, m.RemitAdjustment.group_code == group)
    return m.RemitLine.adjustments.any(cond)


def list_denials(
    s: Session,
    user: m.User,
    *,
    practice: str | None = None,
    reason: str | None = None,
    next_action: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[DenialRow]:
    """Remittance lines denied or reduced in the practices covered, newest payment first."""
    next_action = _choice(next_action, ACTIONS, "next_action")
    status = _choice(status, WORK_STATUSES, "status")
    allowed = scope_for(s, user, practice)
    q = (
        select(m.RemitLine)
        .join(m.RemitClaim, m.RemitLine.remit_claim_id == m.RemitClaim.id)
        .join(m.Remittance, m.RemitClaim.remittance_id == m.Remittance.id)
        .where(in_denial_queue(), _within(m.RemitLine.practice_id, allowed))
        .options(
            selectinload(m.RemitLine.adjustments),
            selectinload(m.RemitLine.claim).selectinload(m.RemitClaim.remittance),
        )
        .order_by(m.Remittance.payment_date.desc(), m.RemitLine.id)
        .limit(limit)
    )
    if _blank(reason):
        q = q.where(_reason_filter(reason or ""))
    if next_action:
        q = q.where(m.RemitLine.next_action == next_action)
    if status:
        q = q.where(m.RemitLine.work_status == status)
    return [_denial_row(line) for line in s.scalars(q)]


def denial_reasons(s: Session, user: m.User, practice: str | None = None) -> list[str]:
    """The group-reason codes (e.g. CO-97) on queue lines the user may see, for the filter."""
    allowed = scope_for(s, user, practice)
    q = (
        select(m.RemitAdjustment.group_code, m.RemitAdjustment.reason_code)
        .distinct()
        .join(m.RemitLine, m.RemitAdjustment.remit_line_id == m.RemitLine.id)
        .where(in_denial_queue(), _within(m.RemitLine.practice_id, allowed))
    )
    return sorted(f"{g}-{r}" for g, r in s.execute(q))


def get_denial(s: Session, user: m.User, line_id: int) -> DenialRow:
    return _denial_row(get_scoped(s, m.RemitLine, line_id, user))


def update_denial(
    s: Session, user: m.User, line_id: int, work_status: str | None, work_note: str | None = None
) -> DenialRow:
    """Move a denial line along (open, working, appealed, resubmitted, written off, resolved) and keep
    the biller's note. Audited (the note's text is not copied into the audit log)."""
    line = get_scoped(s, m.RemitLine, line_id, user)
    new_status = _choice(work_status, WORK_STATUSES, "work_status") or line.work_status
    before = line.work_status
    note_changed = work_note is not None and (work_note.strip() or None) != line.work_note
    line.work_status = new_status
    if work_note is not None:
        line.work_note = work_note.strip() or None
    services.audit(
        s,
        user.id,
        "update",
        "remit_line",
        line.id,
        line.practice_id,
        work_status_from=before,
        work_status_to=new_status,
        note_changed=note_changed,
    )
    s.flush()
    return _denial_row(line)


# ------------------------------------------------------------------------------------------------
# Imports


@dataclass
class JobView:
    id: int
    kind: str
    kind_label: str
    file_name: str
    practice_id: str | None
    status: str
    total: int
    done: int
    percent: int
    message: str | None
    created_at: datetime | None
    finished_at: datetime | None

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("created_at", "finished_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def _percent(status: str, done: int, total: int) -> int:
    if status == "done":
        return 100
    return max(0, min(100, int(100 * done / total))) if total else 0


def _job_view(job: m.ImportJob) -> JobView:
    percent = _percent(job.status, job.done, job.total)
    return JobView(
        id=job.id,
        kind=job.kind,
        kind_label=IMPORT_KINDS.get(job.kind, job.kind),
        file_name=job.file_name,
        practice_id=job.practice_id,
        status=job.status,
        total=job.total,
        done=job.done,
        percent=percent,
        message=job.message,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def submit_import(
    s: Session,
    user: m.User,
    jobs: JobRunner | None,
    *,
    kind: str,
    data: bytes,
    file_name: str,
    practice_id: str | None,
) -> int:
    """Hand an uploaded file to the job runner for a practice the user works; returns the job ID."""
    practice_id = _blank(practice_id)
    if practice_id is None:
        raise BadInput("choose the practice the file belongs to")
    if s.get(m.Practice, practice_id) is None or not can_see_practice(s, user, practice_id):
        raise NotFound  # checked first: another practice's upload is not found, whatever else is wrong
    if kind not in IMPORT_KINDS:
        raise BadInput(f"kind must be one of {', '.join(IMPORT_KINDS)} (got {kind!r})")
    if not data:
        raise BadInput("the file is empty")
    if jobs is None:
        raise RuntimeError("no import runner is configured")
    s.commit()  # end any read transaction before the runner writes (SQLite allows one writer)
    # the runner records the job (and audits its creation) in its own transaction
    return int(jobs.submit(kind, data, file_name, practice_id, user.id))


def get_import(s: Session, user: m.User, job_id: int, jobs: Any = None) -> JobView:
    """An import's progress; a job of a practice the user may not see is not found. The runner's live
    progress of a running job (kept outside the import's transaction) wins over the stored row."""
    s.expire_all()  # the runner writes from its own session
    view = _job_view(get_scoped(s, m.ImportJob, job_id, user))
    live = jobs.status(job_id) if jobs is not None and hasattr(jobs, "status") else None
    if live is not None and view.status in ("queued", "running"):
        view.status, view.done, view.total, view.message = live.status, live.done, live.total, live.message
        view.percent = _percent(view.status, view.done, view.total)
    return view


def list_imports(s: Session, user: m.User, *, practice: str | None = None, limit: int = 20) -> list[JobView]:
    allowed = scope_for(s, user, practice)
    q = (
        select(m.ImportJob)
        .where(_within(m.ImportJob.practice_id, allowed))
        .order_by(m.ImportJob.id.desc())
        .limit(limit)
    )
    return [_job_view(j) for j in s.scalars(q)]


# ------------------------------------------------------------------------------------------------
# Administration: users, roles, practice assignments (admin role only; the callers check the role)


@dataclass
class UserView:
    id: int
    email: str
    name: str
    role: str
    active: bool
    practices: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _assigned(s: Session, user_ids: Iterable[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    ids = list(user_ids)
    if not ids:
        return out
    q = select(m.UserPractice).where(m.UserPractice.user_id.in_(ids)).order_by(m.UserPractice.practice_id)
    for up in s.scalars(q):
        out.setdefault(up.user_id, []).append(up.practice_id)
    return out


def _user_view(u: m.User, practices: list[str]) -> UserView:
    return UserView(id=u.id, email=u.email, name=u.name, role=u.role, active=u.active, practices=practices)


def list_users(s: Session) -> list[UserView]:
    users = list(s.scalars(select(m.User).order_by(m.User.email)))
    assigned = _assigned(s, (u.id for u in users))
    return [_user_view(u, assigned.get(u.id, [])) for u in users]


def get_user(s: Session, user_id: int) -> UserView:
    u = s.get(m.User, user_id)
    if u is None:
        raise NotFound
    return _user_view(u, _assigned(s, [u.id]).get(u.id, []))


def _check_practices(s: Session, practices: Iterable[str]) -> list[str]:
    wanted = sorted({p.strip() for p in practices if p and p.strip()})
    known = set(s.scalars(select(m.Practice.id).where(m.Practice.id.in_(wanted)))) if wanted else set()
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise BadInput(f"unknown practice {unknown[0]!r}")
    return wanted


def _set_practices(s: Session, user_id: int, practices: list[str]) -> None:
    s.execute(delete(m.UserPractice).where(m.UserPractice.user_id == user_id))
    s.add_all(m.UserPractice(user_id=user_id, practice_id=p) for p in practices)


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"the password needs at least {MIN_PASSWORD} characters")
    return password


def create_user(
    s: Session,
    actor: m.User,
    *,
    email: str,
    name: str,
    password: str,
    role: str,
    practices: Iterable[str] = (),
) -> UserView:
    """A new user with an argon2-hashed password (audited without the password)."""
    from painrcm.web.security import hash_password

    email = email.strip().lower()
    if "@" not in email or len(email) > 200:
        raise BadInput("a valid email address is needed")
    if not name.strip():
        raise BadInput("a name is needed")
    role = _choice(role, ROLES, "role") or ""
    if not role:
        raise BadInput("a role is needed")
    wanted = _check_practices(s, practices)
    if s.scalars(select(m.User.id).where(func.lower(m.User.email) == email)).first() is not None:
        raise Conflict("a user with this email exists")
    user = m.User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(_check_password(password)),
        role=role,
        active=True,
    )
    s.add(user)
    s.flush()
    _set_practices(s, user.id, wanted)
    services.audit(s, actor.id, "create", "user", user.id, None, role=role, practices=wanted)
    s.flush()
    return _user_view(user, wanted)


def update_user(
    s: Session,
    actor: m.User,
    user_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
    practices: Iterable[str] | None = None,
    name: str | None = None,
    password: str | None = None,
) -> UserView:
    """Change a user's role, practices, name, password or active flag (audited: what changed, not the
    password). An admin cannot demote or deactivate themselves (no lock-out)."""
    user = s.get(m.User, user_id)
    if user is None:
        raise NotFound
    changes: dict[str, Any] = {}
    role = _choice(role, ROLES, "role")
    if user.id == actor.id and ((role and role != user.role) or active is False):
        raise BadInput("you cannot change your own role or deactivate yourself")
    if role and role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
    if name is not None and name.strip() and name.strip() != user.name:
        changes["name"] = True
        user.name = name.strip()
    if password:
        from painrcm.web.security import hash_password

        user.password_hash = hash_password(_check_password(password))
        changes["password"] = True
    current = _assigned(s, [user.id]).get(user.id, [])
    if practices is not None:
        wanted = _check_practices(s, practices)
        if wanted != current:
            changes["practices"] = [current, wanted]
            _set_practices(s, user.id, wanted)
            current = wanted
    if changes.get("password") or "role" in changes or changes.get("active", [None, None])[1] is False:
        # a password change or reset, a new role or a deactivation ends every session and token of the
        # user (deleted, so a later re-activation does not bring them back)
        s.execute(delete(m.WebSession).where(m.WebSession.user_id == user.id))
        s.execute(delete(m.ApiToken).where(m.ApiToken.user_id == user.id))
    if changes:
        services.audit(s, actor.id, "update", "user", user.id, None, **changes)
    s.flush()
    return _user_view(user, current)
