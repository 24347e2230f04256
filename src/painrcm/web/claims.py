"""Claims pages: the dashboard (/), the work queue (/claims, htmx-filtered table) and the claim page
with its actions (re-scrub, apply safe fixes, override with a reason). Same queries as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from painrcm.store import models as m
from painrcm.store import queries_claims as q
from painrcm.store.scope import NotFound
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.pages import render

router = APIRouter(include_in_schema=False)

DONE = {
    "scrubbed": "Scrubbed again.",
    "fixed": "Safe fixes applied and the claim scrubbed again.",
    "overridden": "Finding overridden.",
    "edited": "Claim saved as a new version and scrubbed again.",
    "submitted": "Claim marked as submitted.",
    "corrected": "Claim marked for correction: edit it, then submit and export the corrected 837P.",
    "voided": "Claim marked to void: submit it and export the void 837P.",
}


# --- charts (server-rendered SVG: geometry here, markup in claims_chart.html) ------------------
@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: int
    href: str | None = None
    tone: str = "info"  # error | warning | clean | info: the bar's colour by severity


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    label_width: int = 250
    bar_area: int = 290
    row: int = 26

    @property
    def width(self) -> int:
        return self.label_width + self.bar_area + 90

    @property
    def height(self) -> int:
        return max(1, len(self.bars)) * self.row + 4


def bar_chart(
    title: str,
    items: list[tuple[str, float, str, str | None]],
    bar_area: int = 290,
    tones: list[str] | None = None,
) -> Chart:
    """Horizontal bars scaled to the largest value; items are (label, value, text, link); `tones` colour
    each bar by severity."""
    top = max((v for _, v, _, _ in items), default=0) or 1
    bars = [
        Bar(
            label=label,
            value=v,
            text=text,
            y=i * 26 + 2,
            width=max(1 if v else 0, round(v / top * bar_area)),
            href=href,
            tone=tones[i] if tones else "info",
        )
        for i, (label, v, text, href) in enumerate(items)
    ]
    return Chart(title=title, bars=bars, bar_area=bar_area)


def _money(x: float) -> str:
    return f"${x:,.2f}"


def dashboard_charts(d: dict[str, Any], practice: str | None) -> list[Chart]:
    keep = {"practice": practice} if practice else {}
    status = [
        (st, float(n), str(n), "/claims?" + urlencode({**keep, "status": st}))
        for st, n in d["claims_by_status"].items()
    ]
    reasons = [
        (
            f"{r['reason_code']}: {r['label']}",
            float(r["amount"]),
            f"{r['lines']} · {_money(r['amount'])}",
            None,
        )
        for r in d["denials_by_reason"][:12]
    ]
    edits = [
        (
            f"{r['edit']} {r['title']}",
            float(r["findings"]),
            str(r["findings"]),
            "/claims?" + urlencode({**keep, "edit": r["edit"], "status": "any"}),
        )
        for r in d["findings_by_edit"][:15]
    ]
    return [
        bar_chart("Claims by scrub status", status, tones=[st for st, _, _, _ in status]),
        bar_chart("Denials by reason (denied amount)", reasons, tones=["error"] * len(reasons)),
        bar_chart(
            "Findings by edit (latest scrub, not overridden)",
            edits,
            tones=["error" if r["errors"] else "warning" for r in d["findings_by_edit"][:15]],
        ),
    ]


# --- pages -------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    practice: str | None = None,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    practice = (practice or "").strip() or None
    d = q.dashboard(s, auth.user, practice)
    return render(
        request,
        "dashboard.html",
        auth,
        nav="dashboard",
        d=d,
        practice=practice,
        practices=q.visible_practices(s, auth.user),
        charts=dashboard_charts(d, practice),
        money=_money,
    )


def _queue_context(s: Session, auth: Auth, params: dict[str, Any]) -> dict[str, Any]:
    filters = q.parse_filters(**params)
    result = q.claim_queue(s, auth.user, filters)
    keep = filters.params()
    keep.pop("page", None)

    def link(**changes: Any) -> str:
        return "?" + urlencode({**keep, **changes})

    return {"result": result, "f": filters, "link": link, "money": _money}


def _params(request: Request) -> dict[str, Any]:
    names = ("practice", "payer", "edit", "status", "work_status", "age", "sort", "order", "page", "per_page")
    return {k: request.query_params.get(k) for k in names}


@router.get("/claims", response_class=HTMLResponse)
def queue_page(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> HTMLResponse:
    ctx_extra = {
        "practices": q.visible_practices(s, auth.user),
        "payers": q.visible_payers(s, auth.user),
        "edits": q.visible_edits(s, auth.user),
        "statuses": q.STATUS_FILTERS,
        "work_statuses": q.WORK_STATUSES,
        "ages": list(q.AGE_BUCKETS),
        "sorts": q.SORTS,
    }
    try:
        ctx = _queue_context(s, auth, _params(request))
    except q.BadRequest as e:
        return render(
            request, "claims.html", auth, 400, nav="claims", error=str(e), f=q.QueueFilters(), **ctx_extra
        )
    return render(request, "claims.html", auth, nav="claims", **ctx, **ctx_extra)


@router.get("/claims/table", response_class=HTMLResponse)
def queue_table(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> HTMLResponse:
    """The queue's table alone (htmx swaps it in when a filter changes)."""
    try:
        ctx = _queue_context(s, auth, _params(request))
    except q.BadRequest as e:
        return render(request, "claims_table.html", auth, 400, error=str(e))
    return render(request, "claims_table.html", auth, **ctx)


def _claim_page(
    request: Request,
    auth: Auth,
    s: Session,
    claim_id: int,
    status_code: int = 200,
    flashes: list[str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    claim = q.read_claim(s, auth.user, claim_id, view="page")
    trail = q.claim_audit(s, auth.user, claim_id)
    return render(
        request,
        "claim.html",
        auth,
        status_code,
        nav="claims",
        c=claim,
        trail=trail,
        flashes=flashes or [],
        error=error,
        money=_money,
    )


@router.get("/claims/{claim_id:int}", response_class=HTMLResponse)
def claim_page(
    request: Request,
    claim_id: int,
    done: str | None = None,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    return _claim_page(request, auth, s, claim_id, flashes=[DONE[done]] if done in DONE else [])


def _back(s: Session, claim_id: int, done: str) -> RedirectResponse:
    """Commit before redirecting: the browser follows at once and must see the change."""
    s.commit()
    return RedirectResponse(f"/claims/{claim_id}?done={done}", status_code=303)


@router.post("/claims/{claim_id:int}/scrub")
def scrub_action(
    request: Request,
    claim_id: int,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    q.scrub_claim(s, auth.user, claim_id, request.app.state.engine)
    return _back(s, claim_id, "scrubbed")


@router.post("/claims/{claim_id:int}/fix")
def fix_action(
    request: Request,
    claim_id: int,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    try:
        q.fix_claim(s, auth.user, claim_id, request.app.state.engine)
    except q.Conflict as e:
        return _claim_page(request, auth, s, claim_id, 409, error=str(e))
    return _back(s, claim_id, "fixed")


@router.post("/claims/{claim_id:int}/findings/{finding_id:int}/override")
def override_action(
    request: Request,
    claim_id: int,
    finding_id: int,
    reason: str = Form(""),
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    row = q.get_claim(s, auth.user, claim_id)
    finding = s.get(m.Finding, finding_id)
    if finding is None or finding.run.encounter_pk != row.id:
        raise NotFound
    try:
        q.override_finding(s, auth.user, finding_id, reason)
    except q.BadRequest as e:
        return _claim_page(request, auth, s, claim_id, 400, error=str(e))
    except q.Conflict as e:
        return _claim_page(request, auth, s, claim_id, 409, error=str(e))
    return _back(s, claim_id, "overridden")
