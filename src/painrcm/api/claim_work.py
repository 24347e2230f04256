"""Claim work API (issue 9): edit a claim, submit it, mark it for correction or void, export its
837P, read its versions and the diff between two. Practice-scoped like every claim route (another
practice's claim answers 404); a missing reason or unknown field answers 422, a change that does not
apply to the claim as it stands 409."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from painrcm.errors import InputError
from painrcm.store import audit_view, remits_on_claim, services
from painrcm.store import claim_work as w
from painrcm.store import models as m
from painrcm.store.scope import NotFound, can_see_practice, practice_ids
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/api", tags=["claims"])


class EditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., max_length=2000, description="why the claim is changed (required)")
    lines: list[dict[str, Any]] | None = Field(
        default=None,
        description="the claim's lines, each with code, modifiers, units, diagnosis_pointers, charge, "
        "authorization_number (and optional date_of_service, place_of_service, control_number)",
    )
    diagnoses: list[str] | None = None
    authorization_number: str | None = Field(
        default=None, description="claim level (837P 2300 REF*G1); '' removes it"
    )
    place_of_service: str | None = None


class SubmitRequest(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class CorrectRequest(BaseModel):
    reason: str = Field(..., max_length=2000)
    frequency: Literal["7", "8"] = Field(default="7", description="7 replacement (corrected claim), 8 void")
    remit_line_id: int | None = Field(default=None, description="the denied 835 line this answers")


def _guard(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except w.BadRequest as e:
        raise HTTPException(422, str(e)) from e
    except w.Conflict as e:
        raise HTTPException(409, str(e)) from e
    except InputError as e:
        raise HTTPException(422, e.render()) from e


@router.patch("/claims/{claim_id}")
def edit(
    claim_id: int,
    body: EditRequest,
    request: Request,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Edit the claim (only the fields given change), record a version with the reason, re-scrub."""
    changes = body.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    detail = _guard(w.edit_claim, s, auth.user, claim_id, changes, reason, request.app.state.engine)
    s.commit()
    return detail


@router.post("/claims/{claim_id}/submit")
def submit(
    claim_id: int,
    body: SubmitRequest | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Mark the claim as sent (409 while it has errors nobody overrode)."""
    detail = _guard(w.submit_claim, s, auth.user, claim_id, body.note if body else None)
    s.commit()
    return detail


@router.post("/claims/{claim_id}/correct")
def correct(
    claim_id: int,
    body: CorrectRequest,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Mark a submitted claim for a corrected claim (7) or a void (8), with a reason."""
    detail = _guard(
        w.mark_correction, s, auth.user, claim_id, body.reason, body.frequency, body.remit_line_id
    )
    s.commit()
    return detail


@router.get("/claims/{claim_id}/837", response_class=PlainTextResponse)
def export(
    claim_id: int,
    production: bool = False,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> PlainTextResponse:
    """The claim's current version as an 837P (test file unless ?production=true, which refuses
    placeholder data with 422 naming what is missing)."""
    text = _guard(w.export_837, s, auth.user, claim_id, production)
    s.commit()
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


@router.get("/claims/{claim_id}/versions")
def claim_versions(
    claim_id: int, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> list[dict[str, Any]]:
    """The claim's versions, oldest first: who, when, why, frequency code and the diff from the one before."""
    return w.claim_versions(s, auth.user, claim_id)


@router.get("/claims/{claim_id}/versions/compare")
def compare(
    claim_id: int,
    a: int = 1,
    b: int | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> list[dict[str, Any]]:
    """The diff between versions `a` (default 1) and `b` (default the latest), from a to b."""
    return _guard(w.compare_versions, s, auth.user, claim_id, a, b)  # type: ignore[no-any-return]


@router.get("/fee-schedules")
def fee_schedules(
    auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """The fee schedules uploaded for the caller's practices (practice, payer, source, rows)."""
    return {"fee_schedules": remits_on_claim.list_schedules(s, practice_ids(s, auth.user))}


@router.post("/fee-schedules", status_code=201)
async def upload_fee_schedule(
    file: UploadFile = File(...),
    practice_id: str = Form(...),
    payer_id: str = Form(...),
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Upload a fee schedule CSV (code, modifier, facility_rate, nonfacility_rate) for a practice and
    payer; it replaces the one before. Expected amounts and underpayments on claims use it."""
    if s.get(m.Practice, practice_id) is None or not can_see_practice(s, auth.user, practice_id):
        raise NotFound
    data = await file.read(5 * 1024 * 1024 + 1)
    if len(data) > 5 * 1024 * 1024:
        raise HTTPException(413, "the file is larger than 5 MB")
    name = file.filename or "fee-schedule.csv"
    rows = _guard(remits_on_claim.upload_schedule, s, practice_id, payer_id, data, name, auth.user.id)
    services.audit(s, auth.user.id, "upload", "fee_schedule", payer_id, practice_id, file=name, rows=rows)
    s.commit()
    return {"practice_id": practice_id, "payer_id": payer_id.strip(), "rows": rows}


@router.get("/admin/audit")
def audit_log(
    user_id: int | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    practice: str | None = None,
    page: int = 1,
    per_page: int = 100,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """The audit log, newest first, filterable by user, action, object and practice (admin only)."""
    if auth.user.role != "admin":
        raise HTTPException(403, "the audit log is for administrators")
    try:
        out = audit_view.search(
            s,
            auth.user,
            user_id=user_id,
            action=action or None,
            object_type=object_type or None,
            object_id=object_id or None,
            practice=practice or None,
            page=page,
            per_page=per_page,
        )
    except audit_view.BadFilter as e:
        raise HTTPException(422, str(e)) from e
    s.commit()
    return out
