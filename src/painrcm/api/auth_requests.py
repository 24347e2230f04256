"""Prior-authorization requests as JSON: build one from a planned encounter, list them with what each is
waiting for and its alerts, record the payer's answer. Practice-scoped and audited like every read."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from painrcm.errors import InputError
from painrcm.model import Encounter
from painrcm.store import auth_requests as ar
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/api", tags=["authorization requests"])


class Decision(BaseModel):
    status: Literal["approved", "pended", "denied"]
    auth_number: str | None = Field(default=None, min_length=1, max_length=80)
    start_date: date | None = None
    end_date: date | None = None
    sessions: int | None = Field(default=None, ge=0, le=1000)
    codes: list[str] | None = Field(default=None, max_length=50)
    note: str | None = Field(default=None, max_length=2000)


@router.get("/auth-requests")
def list_requests(
    practice: str | None = None,
    state: str | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Requests with their state (requested, pended, approved, denied, expired), what each waits for,
    the payer's due date and alerts (a planned service without an approved authorization, or one that
    expires first), most urgent first; `counts` per state."""
    try:
        rows, counts = ar.list_requests(s, auth.user, practice=practice or None, state=state or None)
    except ar.BadDecision as e:
        raise HTTPException(422, str(e)) from e
    s.commit()
    return {"requests": [r.to_dict() for r in rows], "counts": counts}


@router.post("/auth-requests", status_code=201)
def create_request(
    request: Request,
    body: dict[str, Any] = Body(
        ..., description="the planned encounter (painrcm.encounter/1, lines optional)"
    ),
    practice: str | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Build the request from the note and everything the workspace knows of the patient."""
    try:
        enc = Encounter.model_validate(body)
        row, packet, _ = ar.submit_request(s, auth.user, enc, request.app.state.engine, practice=practice)
    except ValidationError as e:
        first = e.errors()[0]
        where = "$." + ".".join(str(p) for p in first.get("loc", ()))
        raise HTTPException(422, f"{where}: {first.get('msg')}") from e
    except InputError as e:
        raise HTTPException(422, e.render()) from e
    s.commit()
    return {**ar.request_detail(s, auth.user, row.id), "request": packet.as_dict()}


@router.get("/auth-requests/{pk}")
def get_request(
    pk: int, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    detail = ar.request_detail(s, auth.user, pk)
    s.commit()
    return detail


@router.post("/auth-requests/{pk}/decision")
def decide(
    pk: int, body: Decision, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """Record the payer's answer by hand (a phone call, a portal): an approval becomes an authorization."""
    detail = ar.request_detail(s, auth.user, pk)  # scoped: 404 outside the user's practices
    try:
        ar.record_decision(
            s,
            auth.user,
            detail["request_id"],
            status=body.status,
            auth_number=body.auth_number,
            start=body.start_date,
            end=body.end_date,
            sessions=body.sessions,
            codes=body.codes,
            note=body.note,
            practice=detail["practice_id"],
            source="page",
        )
    except ar.BadDecision as e:
        raise HTTPException(422, str(e)) from e
    s.commit()
    return ar.request_detail(s, auth.user, pk)
