"""Claims API: the dashboard, the work queue, a claim with its findings, safe fixes, overrides and
audit trail. Everything is practice-scoped (another practice's claim answers 404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from painrcm.errors import InputError
from painrcm.store import queries_claims as q
from painrcm.store import services
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/api", tags=["claims"])


class OverrideRequest(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000, description="why the finding does not apply")


def _guard(fn: Any, *args: Any, **kw: Any) -> Any:
    """Run a query; BadRequest answers 422 and Conflict 409 (NotFound is the app's 404)."""
    try:
        return fn(*args, **kw)
    except q.BadRequest as e:
        raise HTTPException(422, str(e)) from e
    except q.Conflict as e:
        raise HTTPException(409, str(e)) from e
    except InputError as e:
        raise HTTPException(422, e.render()) from e


@router.get("/dashboard")
def dashboard(
    practice: str | None = None, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """Clean-claim rate, claims by status, denials by reason, dollars at risk and findings by edit,
    for one practice (`?practice=`) or the whole book in scope."""
    return q.dashboard(s, auth.user, practice or None)


@router.get("/claims")
def claims(
    practice: str | None = None,
    payer: str | None = None,
    edit: str | None = None,
    status: str | None = None,
    work_status: str | None = None,
    age: str | None = None,
    sort: str | None = None,
    order: str | None = None,
    page: int = 1,
    per_page: int = 50,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """The claim work queue. status: error | warning | clean | unscrubbed | problems (default: error or
    warning) | any | rejected (by a 999/277CA; problems includes these too); age: 0-30 | 31-60 |
    61-90 | 91-180 | 181+ (days since the date of service); sort: age (default) | dos | charge | status;
    order: desc (default) | asc."""
    filters = _guard(
        q.parse_filters, practice, payer, edit, status, work_status, age, sort, order, page, per_page
    )
    return q.claim_queue(s, auth.user, filters)


@router.post("/claims", status_code=201)
def create_claim(
    response: Response,
    request: Request,
    body: dict[str, Any] = Body(..., description="an encounter (painrcm.encounter/1)"),
    practice: str | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Store a claim from an encounter JSON body for a practice in scope, and scrub it. 201 when new,
    200 when the practice already had this encounter ID."""
    detail, created = _guard(q.create_claim, s, auth.user, body, request.app.state.engine, practice)
    s.commit()  # a change is stored before the response starts (a client may act on it at once)
    if not created:
        response.status_code = 200
    return detail


@router.get("/claims/{claim_id}")
def claim(
    claim_id: int, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """The claim with its lines, latest findings (with why), safe fix, not-checked list and editions."""
    return q.read_claim(s, auth.user, claim_id)


@router.post("/claims/{claim_id}/scrub")
def scrub(
    claim_id: int,
    request: Request,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Scrub the claim again against everything the database knows of the patient."""
    detail = q.scrub_claim(s, auth.user, claim_id, request.app.state.engine)
    s.commit()
    return detail


@router.post("/claims/{claim_id}/fix")
def fix(
    claim_id: int,
    request: Request,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Apply the latest scrub's safe fix to the claim's lines, then re-scrub (409 when there is none)."""
    detail = _guard(q.fix_claim, s, auth.user, claim_id, request.app.state.engine)
    s.commit()
    return detail


@router.post("/findings/{finding_id}/override")
def override(
    finding_id: int,
    body: OverrideRequest,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Override a finding of the claim's latest scrub, with a reason (required); returns the claim."""
    detail = _guard(q.override_finding, s, auth.user, finding_id, body.reason)
    s.commit()
    return detail


@router.get("/claims/{claim_id}/audit")
def audit_trail(
    claim_id: int, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> list[dict[str, Any]]:
    """Who did what to this claim, and when (reading the trail is itself recorded)."""
    row = q.get_claim(s, auth.user, claim_id)
    trail = q.claim_audit(s, auth.user, claim_id)
    services.audit(s, auth.user.id, "read", "claim", row.id, row.practice_id, view="audit")
    return trail
