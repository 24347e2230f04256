"""Claims slice queries: the dashboard, the claim work queue, the claim page and its actions.

The JSON API (``painrcm.api.claims``) and the pages (``painrcm.web.claims``) both call these; every
function takes the signed-in user and scopes through ``painrcm.store.scope`` (out of scope = NotFound).
Functions return plain dicts/lists (JSON-ready); the callers own the session and its commit.

Definitions (also shown on the dashboard):

- *scrubbed*: claims (not history rows) whose latest scrub ran; *clean-claim rate* = claims whose
  latest scrub was clean or warning-only / scrubbed claims.
- *dollars at risk*: total charges of claims whose latest scrub has errors (not overridden, not
  history) + billed amount of denied remittance lines still open (not resolved or written off).
- *denials by reason*: CARC reason codes on the adjustments of denied remittance lines.
- *findings by edit*: findings of each claim's latest scrub run that are not overridden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from painrcm.edits import CATALOGUE
from painrcm.inputs import encounter_from_obj
from painrcm.remit.codes import carc
from painrcm.scrub import Engine
from painrcm.store import claim_extras, counts, services, versions
from painrcm.store import models as m
from painrcm.store.boundaries import check_encounter
from painrcm.store.scope import NotFound, can_see_practice, get_scoped, practice_ids, restrict

NOT_WORKED = ("history",)  # earlier services stored as history: never claims to work
CLOSED_DENIAL = ("resolved", "written_off")
SCRUB_STATUSES = ("error", "warning", "clean", "unscrubbed")
STATUS_RANK = {"error": 0, "warning": 1, "unscrubbed": 2, "clean": 3}
# queue status filter: a scrub status, "problems" (error or warning: the default) or "any"
# "rejected": claims a 999/277CA acknowledgement rejected (store/imports_ack.py); "problems" has them too
STATUS_FILTERS = (*SCRUB_STATUSES, "problems", "any", "rejected")
WORK_STATUSES = counts.WORKED
# age = days since the date of service
AGE_BUCKETS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "91-180": (91, 180),
    "181+": (181, None),
}
SORTS = ("dos", "age", "charge", "status")
MAX_PER_PAGE = 200


class BadRequest(ValueError):
    """A filter or action the request cannot have (the API answers 422, pages 400)."""


class Conflict(ValueError):
    """The action does not apply to the claim as it stands (409)."""


# --- helpers -----------------------------------------------------------------------------------
def _money(x: float | None) -> float:
    return round(float(x or 0), 2)


def _iso(x: date | datetime | None) -> str | None:
    if x is None:
        return None
    if isinstance(x, datetime) and x.tzinfo is None:
        x = x.replace(tzinfo=UTC)
    return x.isoformat()


def _scope_practice(s: Session, user: m.User, practice: str | None) -> set[str] | None:
    """The practices a query covers: the one asked for (NotFound when out of scope) or all in scope."""
    if practice:
        if s.get(m.Practice, practice) is None or not can_see_practice(s, user, practice):
            raise NotFound
        return {practice}
    return practice_ids(s, user)


def _latest_runs() -> Any:
    """Subquery: the latest scrub run id per encounter."""
    return (
        select(m.ScrubRun.encounter_pk, func.max(m.ScrubRun.id).label("run_id"))
        .group_by(m.ScrubRun.encounter_pk)
        .subquery()
    )


def carc_label(code: str, limit: int = 60) -> str:
    """A short label for a CARC code (the first clause of painrcm's own explanation)."""
    info = carc(code)
    if info is None:
        return f"CARC {code}"
    text = info.explain.split(". ")[0].rstrip(".")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def edit_title(edit: str) -> str:
    e = CATALOGUE.get(edit)
    return e.title if e else edit


# --- dashboard ---------------------------------------------------------------------------------
def _claims_base(allowed: set[str] | None) -> Select[Any]:
    q = select(m.Encounter).where(counts.worked())
    return restrict(q, m.Encounter.practice_id, allowed)


def _by_practice(s: Session, allowed: set[str] | None) -> dict[str, dict[str, Any]]:
    """Per practice: claims per scrub status and per work status, claims with errors (count, charges)
    and open denied lines (count, billed), one grouped query each over the book (the dashboard's totals and its practice
    rows are sums of these)."""
    out: dict[str, dict[str, Any]] = {}

    def of(pid: str) -> dict[str, Any]:
        if pid not in out:
            out[pid] = {
                "status": dict.fromkeys(SCRUB_STATUSES, 0),
                "work": {},
                "risk": [0, 0.0],
                "denied": [0, 0.0],
            }
        return out[pid]

    e = m.Encounter
    at_risk = counts.with_errors()
    q = restrict(
        select(
            e.status,
            e.work_status,
            e.practice_id,
            func.count(),
            func.count(case((at_risk, 1))),
            func.sum(case((at_risk, e.total_charge))),
        ).where(counts.worked()),
        e.practice_id,
        allowed,
    ).group_by(e.status, e.work_status, e.practice_id)  # the order of ix_encounters_queue, which covers it
    for status, work, pid, n, risk, charge in s.execute(q):
        d = of(pid)
        d["status"][status] = d["status"].get(status, 0) + int(n)
        d["work"][work] = d["work"].get(work, 0) + int(n)
        d["risk"][0] += int(risk)
        d["risk"][1] += float(charge or 0)
    rl = m.RemitLine
    q = restrict(
        select(rl.practice_id, func.count(), func.sum(rl.billed)).where(
            rl.denied.is_(True), rl.work_status.not_in(CLOSED_DENIAL)
        ),
        rl.practice_id,
        allowed,
    ).group_by(rl.practice_id)
    for pid, n, billed in s.execute(q):
        of(pid)["denied"] = [int(n), float(billed or 0)]
    return out


def _work_counts(parts: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in parts:
        for st, n in p["work"].items():
            out[st] = out.get(st, 0) + n
    return out


def _denials_by_reason(s: Session, allowed: set[str] | None) -> list[dict[str, Any]]:
    q = restrict(
        select(
            m.RemitAdjustment.reason_code,
            func.count(func.distinct(m.RemitLine.id)),
            func.sum(m.RemitAdjustment.amount),
        )
        .join(m.RemitLine, m.RemitAdjustment.remit_line_id == m.RemitLine.id)
        .where(m.RemitLine.denied.is_(True)),
        m.RemitLine.practice_id,
        allowed,
    ).group_by(m.RemitAdjustment.reason_code)
    rows = [
        {"reason_code": code, "label": carc_label(code), "lines": int(n), "amount": _money(amt)}
        for code, n, amt in s.execute(q)
    ]
    return sorted(rows, key=lambda r: (-r["lines"], -r["amount"], r["reason_code"]))


def _findings_by_edit(s: Session, allowed: set[str] | None) -> list[dict[str, Any]]:
    # from the findings to their runs, keeping a run with no later run of its claim (its latest): the
    # work follows the findings, not every run of every claim
    later = aliased(m.ScrubRun)
    is_latest = ~exists().where(later.encounter_pk == m.ScrubRun.encounter_pk, later.id > m.ScrubRun.id)
    q = restrict(
        select(m.Finding.edit, m.Finding.severity, func.count(), func.count(func.distinct(m.Encounter.id)))
        .join(m.ScrubRun, m.Finding.run_id == m.ScrubRun.id)
        .join(m.Encounter, m.Encounter.id == m.ScrubRun.encounter_pk)
        .where(is_latest, counts.worked(), m.Finding.override_reason.is_(None)),
        m.Encounter.practice_id,
        allowed,
    ).group_by(m.Finding.edit, m.Finding.severity)
    out: dict[str, dict[str, Any]] = {}
    for edit, severity, n, claims in s.execute(q):
        row = out.setdefault(
            edit,
            {"edit": edit, "title": edit_title(edit), "findings": 0, "claims": 0, "errors": 0, "warnings": 0},
        )
        row["findings"] += int(n)
        row["claims"] += int(claims)
        if severity == "error":
            row["errors"] += int(n)
        elif severity == "warning":
            row["warnings"] += int(n)
    return sorted(out.values(), key=lambda r: (-r["findings"], r["edit"]))


def _rate(clean: int, scrubbed: int) -> float | None:
    return None if scrubbed == 0 else round(clean / scrubbed, 4)


def _summary(parts: list[dict[str, Any]]) -> dict[str, Any]:
    by_status = dict.fromkeys(SCRUB_STATUSES, 0)
    for p in parts:
        for st, n in p["status"].items():
            by_status[st] = by_status.get(st, 0) + n
    scrubbed = sum(n for st, n in by_status.items() if st != "unscrubbed")
    clean = by_status["clean"] + by_status["warning"]
    risk_claims = sum(p["risk"][0] for p in parts)
    risk_claims_amount = _money(sum(p["risk"][1] for p in parts))
    denied_lines = sum(p["denied"][0] for p in parts)
    denied_amount = _money(sum(p["denied"][1] for p in parts))
    return {
        "claims": sum(by_status.values()),
        "scrubbed": scrubbed,
        "clean": clean,
        "clean_claim_rate": _rate(clean, scrubbed),
        "claims_by_status": by_status,
        "dollars_at_risk": {
            "total": _money(risk_claims_amount + denied_amount),
            "claims_with_errors": risk_claims,
            "claims_amount": risk_claims_amount,
            "open_denied_lines": denied_lines,
            "denials_amount": denied_amount,
        },
    }


def dashboard(s: Session, user: m.User, practice: str | None = None) -> dict[str, Any]:
    """The dashboard for one practice, or for the whole book the user may see."""
    allowed = _scope_practice(s, user, practice)
    parts = _by_practice(s, allowed)
    out = {
        "practice": practice,
        **_summary(list(parts.values())),
        "claims_by_work_status": _work_counts(list(parts.values())),
        "denials_by_reason": _denials_by_reason(s, allowed),
        "findings_by_edit": _findings_by_edit(s, allowed),
    }
    out["practices"] = [
        {
            "id": p.id,
            "name": p.name,
            **{
                k: v
                for k, v in _summary([parts[p.id]] if p.id in parts else []).items()
                if k != "claims_by_status"
            },
        }
        for p in visible_practices(s, user)
        if allowed is None or p.id in allowed
    ]
    return out


def visible_practices(s: Session, user: m.User) -> list[m.Practice]:
    return list(
        s.scalars(restrict(select(m.Practice), m.Practice.id, practice_ids(s, user)).order_by(m.Practice.id))
    )


def visible_payers(s: Session, user: m.User) -> list[str]:
    q = restrict(select(m.Encounter.payer_id).distinct(), m.Encounter.practice_id, practice_ids(s, user))
    return sorted(s.scalars(q))


def visible_edits(s: Session, user: m.User) -> list[str]:
    latest = _latest_runs()
    q = restrict(
        select(m.Finding.edit)
        .distinct()
        .join(latest, m.Finding.run_id == latest.c.run_id)
        .join(m.Encounter, m.Encounter.id == latest.c.encounter_pk),
        m.Encounter.practice_id,
        practice_ids(s, user),
    )
    return sorted(s.scalars(q))


# --- work queue --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFilters:
    practice: str | None = None
    payer: str | None = None
    edit: str | None = None
    status: str = "problems"
    work_status: str | None = None
    age: str | None = None
    sort: str = "age"
    order: str = "desc"
    page: int = 1
    per_page: int = 50

    def params(self) -> dict[str, Any]:
        """The non-default filters (for links that keep them)."""
        base = QueueFilters()
        return {k: v for k, v in asdict(self).items() if v not in (None, "") and v != getattr(base, k)}


def _blank(x: str | None) -> str | None:
    x = (x or "").strip()
    return x or None


def _choice(name: str, value: str | None, allowed: Iterable[str], default: str | None) -> str | None:
    value = _blank(value)
    if value is None:
        return default
    if value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def parse_filters(
    practice: str | None = None,
    payer: str | None = None,
    edit: str | None = None,
    status: str | None = None,
    work_status: str | None = None,
    age: str | None = None,
    sort: str | None = None,
    order: str | None = None,
    page: int | str | None = None,
    per_page: int | str | None = None,
) -> QueueFilters:
    """Validate the queue's query parameters (empty means not given); BadRequest says what is wrong."""
    try:
        page_n = 1 if page in (None, "") else int(page)
        per_n = 50 if per_page in (None, "") else int(per_page)
    except ValueError as e:
        raise BadRequest("page and per_page must be whole numbers") from e
    if page_n < 1 or not 1 <= per_n <= MAX_PER_PAGE:
        raise BadRequest(f"page must be 1 or more and per_page 1 to {MAX_PER_PAGE}")
    return QueueFilters(
        practice=_blank(practice),
        payer=_blank(payer),
        edit=(_blank(edit) or "").upper() or None,
        status=_choice("status", status, STATUS_FILTERS, "problems") or "problems",
        work_status=_choice("work_status", work_status, WORK_STATUSES, None),
        age=_choice("age", age, AGE_BUCKETS, None),
        sort=_choice("sort", sort, SORTS, "age") or "age",
        order=_choice("order", order, ("asc", "desc"), "desc") or "desc",
        page=page_n,
        per_page=per_n,
    )


def _filtered(s: Session, user: m.User, f: QueueFilters) -> Select[Any]:
    q = _claims_base(_scope_practice(s, user, f.practice))
    if f.payer:
        q = q.where(m.Encounter.payer_id == f.payer)
    if f.status == "problems":
        q = q.where(or_(m.Encounter.status.in_(("error", "warning")), m.Encounter.ack_status == "rejected"))
    elif f.status == "rejected":
        q = q.where(m.Encounter.ack_status == "rejected")
    elif f.status != "any":
        q = q.where(m.Encounter.status == f.status)
    if f.work_status:
        q = q.where(m.Encounter.work_status == f.work_status)
    if f.age:
        lo, hi = AGE_BUCKETS[f.age]
        today = services.today()
        q = q.where(m.Encounter.date_of_service <= today - timedelta(days=lo))
        if hi is not None:
            q = q.where(m.Encounter.date_of_service >= today - timedelta(days=hi))
    if f.edit:
        latest = _latest_runs()
        hit = (
            select(latest.c.encounter_pk)
            .join(m.Finding, m.Finding.run_id == latest.c.run_id)
            .where(m.Finding.edit == f.edit)
        )
        q = q.where(m.Encounter.id.in_(hit))
    return q


def _ordered(q: Select[Any], f: QueueFilters) -> Select[Any]:
    rank = case(*((m.Encounter.status == st, r) for st, r in STATUS_RANK.items()), else_=9)
    desc = f.order == "desc"
    if f.sort == "age":  # older first when descending
        key = m.Encounter.date_of_service.asc() if desc else m.Encounter.date_of_service.desc()
    elif f.sort == "dos":
        key = m.Encounter.date_of_service.desc() if desc else m.Encounter.date_of_service.asc()
    elif f.sort == "charge":
        charge = func.coalesce(m.Encounter.total_charge, 0)
        key = charge.desc() if desc else charge.asc()
    else:  # status: most severe first when descending
        key = rank.asc() if desc else rank.desc()
    return q.order_by(key, m.Encounter.id.asc())


def _counts_by_run(s: Session, run_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {
        r: {"errors": 0, "warnings": 0, "overridden": 0, "edits": set()} for r in run_ids
    }
    if not run_ids:
        return out
    q = select(m.Finding.run_id, m.Finding.edit, m.Finding.severity, m.Finding.override_reason).where(
        m.Finding.run_id.in_(run_ids)
    )
    for run_id, edit, severity, reason in s.execute(q):
        row = out[run_id]
        row["edits"].add(edit)
        if reason is not None:
            row["overridden"] += 1
        elif severity == "error":
            row["errors"] += 1
        elif severity == "warning":
            row["warnings"] += 1
    return out


def claim_queue(s: Session, user: m.User, f: QueueFilters) -> dict[str, Any]:
    """One page of the work queue. Rows carry IDs, dates, amounts and findings: no patient details."""
    # the count and the page's IDs from the queue index (no document is read), then the page's rows
    q = _filtered(s, user, f).with_only_columns(m.Encounter.id)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    ids = list(s.scalars(_ordered(q, f).offset((f.page - 1) * f.per_page).limit(f.per_page)))
    found = {r.id: r for r in s.scalars(select(m.Encounter).where(m.Encounter.id.in_(ids)))} if ids else {}
    rows = [found[i] for i in ids]
    latest = (
        dict(
            s.execute(
                select(m.ScrubRun.encounter_pk, func.max(m.ScrubRun.id))
                .where(m.ScrubRun.encounter_pk.in_([r.id for r in rows]))
                .group_by(m.ScrubRun.encounter_pk)
            ).all()
        )
        if rows
        else {}
    )
    counts = _counts_by_run(s, list(latest.values()))
    today = services.today()
    items = []
    for r in rows:
        c = counts.get(latest.get(r.id, -1), {"errors": 0, "warnings": 0, "overridden": 0, "edits": set()})
        items.append(
            {
                "id": r.id,
                "encounter_id": r.encounter_id,
                "practice_id": r.practice_id,
                "payer_id": r.payer_id,
                "date_of_service": _iso(r.date_of_service),
                "age_days": (today - r.date_of_service).days,
                "total_charge": r.total_charge,
                "status": r.status,
                "work_status": r.work_status,
                "errors": c["errors"],
                "warnings": c["warnings"],
                "overridden": c["overridden"],
                "edits": sorted(c["edits"]),
                "ack_status": r.ack_status,
                "ack_reason": r.ack_reason,
            }
        )
    pages = max(1, -(-total // f.per_page))
    return {
        "items": items,
        "total": total,
        "page": f.page,
        "per_page": f.per_page,
        "pages": pages,
        "filters": asdict(f),
    }


# --- the claim ---------------------------------------------------------------------------------
def get_claim(s: Session, user: m.User, claim_id: int) -> m.Encounter:
    row = get_scoped(s, m.Encounter, claim_id, user)
    if row.work_status in NOT_WORKED:
        raise NotFound
    return row


def _line_dict(ln: m.ClaimLine) -> dict[str, Any]:
    return {
        "line": ln.line_no,
        "code": ln.code,
        "modifiers": list(ln.modifiers or []),
        "units": ln.units,
        "diagnosis_pointers": list(ln.diagnosis_pointers or []),
        "date_of_service": _iso(ln.date_of_service),
        "authorization_number": ln.authorization_number,
        "charge": ln.charge,
        "control_number": ln.control_number,
    }


def _comparable(lines: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            d.get("code"),
            tuple(d.get("modifiers") or []),
            float(d.get("units") or 0),
            tuple(d.get("diagnosis_pointers") or []),
        )
        for d in lines
    ]


def safe_fix(row: m.Encounter) -> list[dict[str, Any]] | None:
    """The latest run's corrected lines, when they differ from the claim's lines (else None)."""
    run = services.latest_run(row)
    if run is None or run.fixed_lines is None or run.status == "clean":
        return None
    if _comparable(run.fixed_lines) == _comparable(_line_dict(ln) for ln in row.lines):
        return None
    return [dict(d) for d in run.fixed_lines]


def _fix_preview(row: m.Encounter) -> list[dict[str, Any]] | None:
    """The corrected lines as the fix would store them (numbered, with the charges they keep)."""
    fixed = safe_fix(row)
    if fixed is None:
        return None
    return [{"line": i, **d} for i, d in enumerate(_carry_line_data(list(row.lines), fixed), 1)]


def _finding_dict(f: m.Finding) -> dict[str, Any]:
    edit = CATALOGUE.get(f.edit)
    return {
        "id": f.id,
        "edit": f.edit,
        "severity": f.severity,
        "line": f.line,
        "code": f.code,
        "message": f.message,
        "fix": f.fix,
        "title": edit.title if edit else None,
        "why": edit.why if edit else None,
        "override_reason": f.override_reason,
        "overridden_by": f.overridden_by,
        "overridden_at": _iso(f.overridden_at),
    }


def _run_dict(run: m.ScrubRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "run_at": _iso(run.run_at),
        "status": run.status,
        "policy_id": run.policy_id,
        "editions": dict(run.editions or {}),
        "not_checked": list(run.not_checked or []),
        "findings": [_finding_dict(f) for f in run.findings],
        "user_id": run.user_id,
    }


def claim_detail(s: Session, row: m.Encounter) -> dict[str, Any]:
    """The claim as its page shows it: patient, lines, latest findings, safe fix, earlier runs."""
    person = s.get(m.Person, row.person_id)
    run = services.latest_run(row)
    doc = row.document or {}
    return {
        "id": row.id,
        "encounter_id": row.encounter_id,
        "practice_id": row.practice_id,
        "practice_name": row.practice.name if row.practice else None,
        "payer_id": row.payer_id,
        "payer_plan": (doc.get("payer") or {}).get("plan"),
        "date_of_service": _iso(row.date_of_service),
        "place_of_service": row.place_of_service,
        "rendering_npi": row.rendering_npi,
        "diagnoses": list(doc.get("diagnoses") or []),
        "total_charge": row.total_charge,
        "status": row.status,
        "work_status": row.work_status,
        "source": row.source,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "patient": None
        if person is None
        else {
            "person_id": person.id,
            "chart_id": (doc.get("patient") or {}).get("id"),
            "last_name": person.last_name,
            "first_name": person.first_name,
            "dob": _iso(person.dob),
            "member_id": person.member_id,
        },
        "lines": [_line_dict(ln) for ln in row.lines],
        "latest_run": None if run is None else _run_dict(run),
        "fixed_lines": _fix_preview(row),
        "runs": [
            {"id": r.id, "run_at": _iso(r.run_at), "status": r.status, "findings": len(r.findings)}
            for r in row.scrub_runs
        ],
        "ack_status": row.ack_status,
        "ack_reason": row.ack_reason,
        "acknowledgements": _acks(s, row),
        **claim_extras.extras(s, row),  # versions, authorizations, remittances (issue 9)
    }


def _acks(s: Session, row: m.Encounter) -> list[dict[str, Any]]:
    """The claim's 999/277CA acknowledgements, newest first."""
    q = select(m.ClaimAck).where(m.ClaimAck.encounter_pk == row.id).order_by(m.ClaimAck.id.desc())
    return [
        {
            "kind": a.kind,
            "outcome": a.outcome,
            "codes": list(a.codes or []),
            "explanation": a.explanation,
            "next_action": a.next_action,
            "preventing_edits": list(a.preventing_edits or []),
            "payer_claim_number": a.payer_claim_number,
            "ack_date": _iso(a.ack_date),
            "received_at": _iso(a.received_at),
        }
        for a in s.scalars(q)
    ]


def read_claim(s: Session, user: m.User, claim_id: int, view: str = "claim") -> dict[str, Any]:
    """A read of a patient record: scoped, and audited."""
    row = get_claim(s, user, claim_id)
    services.audit(s, user.id, "read", "claim", row.id, row.practice_id, view=view)
    return claim_detail(s, row)


def _carry_overrides(previous: m.ScrubRun | None, run: m.ScrubRun) -> int:
    """Keep the biller's overrides on a re-scrub: same edit, line and code as an overridden finding."""
    if previous is None:
        return 0
    kept = {(f.edit, f.line, f.code): f for f in previous.findings if f.override_reason is not None}
    n = 0
    for f in run.findings:
        old = kept.get((f.edit, f.line, f.code))
        if old is not None:
            f.override_reason, f.overridden_by, f.overridden_at = (
                old.override_reason,
                old.overridden_by,
                old.overridden_at,
            )
            n += 1
    return n


def _settle_work_status(row: m.Encounter, run: m.ScrubRun) -> None:
    counts.settle(row, run)  # the effective status: overridden findings no longer count
    errors = [f for f in run.findings if f.severity == "error"]
    open_errors = [f for f in errors if f.override_reason is None]
    if errors and not open_errors:
        row.work_status = "overridden"
    elif row.work_status == "overridden":
        row.work_status = "open"


def rescrub(s: Session, row: m.Encounter, engine: Engine, user: m.User) -> m.ScrubRun:
    previous = services.latest_run(row)
    run = services.scrub_row(s, row, engine, user.id)
    s.refresh(row, ["scrub_runs"])
    kept = _carry_overrides(previous, run)
    _settle_work_status(row, run)
    s.flush()
    services.audit(
        s,
        user.id,
        "scrub",
        "claim",
        row.id,
        row.practice_id,
        run_id=run.id,
        status=run.status,
        findings=len(run.findings),
        overrides_kept=kept,
    )
    return run


def scrub_claim(s: Session, user: m.User, claim_id: int, engine: Engine) -> dict[str, Any]:
    row = get_claim(s, user, claim_id)
    rescrub(s, row, engine, user)
    return claim_detail(s, row)


def _carry_line_data(old: list[m.ClaimLine], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fixed lines keep what the engine does not change (charge, authorization, control number, line
    date and place), taken from the original line with the same code."""
    pool = list(old)
    out = []
    for d in new:
        match = next((ln for ln in pool if ln.code == d.get("code")), None)
        d = {k: v for k, v in d.items() if k != "line"}
        if match is not None:
            pool.remove(match)
            for key in ("charge", "authorization_number", "control_number"):
                value = getattr(match, key)
                if value is not None and d.get(key) is None:
                    d[key] = value
            if match.date_of_service is not None and d.get("date_of_service") is None:
                d["date_of_service"] = match.date_of_service.isoformat()
        out.append(d)
    return out


def _contract_lines(lines: Iterable[m.ClaimLine]) -> list[dict[str, Any]]:
    return [
        {
            "line": ln.line_no,
            "code": ln.code,
            "modifiers": list(ln.modifiers or []),
            "units": ln.units,
            "diagnosis_pointers": list(ln.diagnosis_pointers or []),
        }
        for ln in lines
    ]


def _detach_remit_lines(s: Session, row: m.Encounter) -> list[tuple[m.RemitLine, str, tuple[str, ...]]]:
    """Remittance lines linked to the claim's lines (an 835 about it): unlink them before the lines
    are replaced, remembering the code and modifiers they were linked to."""
    by_id = {ln.id: ln for ln in row.lines}
    if not by_id:
        return []
    out = []
    for rl in s.scalars(select(m.RemitLine).where(m.RemitLine.claim_line_id.in_(by_id))):
        old = by_id[rl.claim_line_id]
        out.append((rl, old.code, tuple(old.modifiers or [])))
        rl.claim_line_id = None
    s.flush()
    return out


def _relink_remit_lines(row: m.Encounter, linked: list[tuple[m.RemitLine, str, tuple[str, ...]]]) -> None:
    """Link them again to the corrected line with the same code (and modifiers if still there)."""
    for rl, code, mods in linked:
        same = [ln for ln in row.lines if ln.code == code]
        exact = [ln for ln in same if tuple(ln.modifiers or []) == mods]
        target = (exact or same or [None])[0]
        rl.claim_line_id = target.id if target is not None else None


def fix_claim(s: Session, user: m.User, claim_id: int, engine: Engine) -> dict[str, Any]:
    """Apply the latest run's safe fix (Conflict when there is none), re-scrub, audit before/after."""
    row = get_claim(s, user, claim_id)
    fixed = safe_fix(row)
    if fixed is None:
        raise Conflict(
            "this claim has no safe automatic fix; re-scrub it or override the finding with a reason"
        )
    before_run = services.latest_run(row)
    before = _contract_lines(row.lines)
    before_doc = dict(row.document)
    linked = _detach_remit_lines(s, row)
    services.apply_fixed_lines(s, row, _carry_line_data(list(row.lines), fixed))
    row.total_charge = sum((ln.charge or 0) for ln in row.lines) or None
    s.flush()
    _relink_remit_lines(row, linked)
    after = _contract_lines(row.lines)
    version = versions.record(
        s,
        row,
        kind="fix",
        before=before_doc,
        user_id=user.id,
        reason=f"safe fix from scrub run {before_run.id if before_run else '?'}",
        source="app",
    )
    services.audit(
        s,
        user.id,
        "fix",
        "claim",
        row.id,
        row.practice_id,
        before=before,
        after=after,
        from_run=before_run.id if before_run else None,
        version=version.number,
        changes=version.diff,
    )
    rescrub(s, row, engine, user)
    return claim_detail(s, row)


def override_finding(s: Session, user: m.User, finding_id: int, reason: str) -> dict[str, Any]:
    """Override one finding of a claim's latest run; the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise BadRequest("an override needs a reason")
    finding = s.get(m.Finding, finding_id)
    if finding is None:
        raise NotFound
    row = get_claim(s, user, finding.run.encounter_pk)
    run = services.latest_run(row)
    if run is None or finding.run_id != run.id:
        raise Conflict("only findings of the claim's latest scrub can be overridden")
    if finding.override_reason is not None:
        raise Conflict("this finding is already overridden")
    before_status = row.status
    finding.override_reason = reason[:2000]
    finding.overridden_by = user.id
    finding.overridden_at = datetime.now(UTC)
    _settle_work_status(row, run)
    s.flush()
    services.audit(
        s,
        user.id,
        "override",
        "claim",
        row.id,
        row.practice_id,
        finding_id=finding.id,
        edit=finding.edit,
        line=finding.line,
        run_id=run.id,
        work_status=row.work_status,
        reason=finding.override_reason,
        before={"status": before_status},
        after={"status": row.status},
    )
    return claim_detail(s, row)


def claim_audit(s: Session, user: m.User, claim_id: int) -> list[dict[str, Any]]:
    """The claim's audit trail, oldest first, with who did it (the user's name and role)."""
    row = get_claim(s, user, claim_id)
    q = (
        select(m.AuditEntry, m.User)
        .outerjoin(m.User, m.User.id == m.AuditEntry.user_id)
        .where(m.AuditEntry.object_type == "claim", m.AuditEntry.object_id == str(row.id))
        .order_by(m.AuditEntry.id)
    )
    return [
        {
            "id": e.id,
            "at": _iso(e.at),
            "user_id": e.user_id,
            "user": u.name if u else None,
            "role": u.role if u else None,
            "action": e.action,
            "label": versions.ACTION_LABELS.get(e.action, e.action),
            "detail": dict(e.detail or {}),
            "changes": [versions.describe(c) for c in (e.detail or {}).get("changes") or []],
        }
        for e, u in s.execute(q)
    ]


def create_claim(
    s: Session,
    user: m.User,
    body: Any,
    engine: Engine,
    practice: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a claim from an encounter JSON body for a practice in scope, then scrub it.
    Returns the claim and whether it was new. Raises InputError for a bad body (with its place)."""
    enc = encounter_from_obj(body, "request body")
    check_encounter(enc, "request body")
    pid = practice or enc.practice.id
    if not pid:
        raise BadRequest("say which practice: ?practice=ID or practice.id in the body")
    if enc.practice.id and enc.practice.id != pid:
        raise BadRequest(f"practice.id in the body ({enc.practice.id}) is not the practice asked for")
    if s.get(m.Practice, pid) is None or not can_see_practice(s, user, pid):
        raise NotFound
    if not enc.practice.id:
        enc = enc.model_copy(update={"practice": enc.practice.model_copy(update={"id": pid})})
    existed = s.scalars(
        select(m.Encounter.id).where(
            m.Encounter.practice_id == pid, m.Encounter.encounter_id == enc.encounter_id
        )
    ).first()
    row, changed = services.save_encounter(s, enc, source="api", practice_id=pid, user_id=user.id)
    if row.work_status in NOT_WORKED:
        raise Conflict("this encounter is stored as history, not as a claim to work")
    services.audit(
        s,
        user.id,
        "create" if existed is None else ("update" if changed else "read"),
        "claim",
        row.id,
        pid,
        lines=_contract_lines(row.lines),
    )
    if changed or not row.scrub_runs:
        rescrub(s, row, engine, user)
    return claim_detail(s, row), existed is None
