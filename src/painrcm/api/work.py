"""The work lists as JSON: authorization tracker, frequency watch, denial queue, imports.

The pages (``painrcm.web.work``) call the same functions in ``painrcm.store.queries_work``. Everything
is scoped to the caller's practices; another practice's object, or a filter naming it, answers 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from painrcm.store import queries_work as q
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/api", tags=["work"])
MAX_UPLOAD = 50 * 1024 * 1024

WorkStatus = Literal["open", "working", "appealed", "resubmitted", "written_off", "resolved"]
ImportKind = Literal["encounters", "x12_837", "x12_835", "auths", "x12_ack", "x12_278"]


class DenialUpdate(BaseModel):
    work_status: WorkStatus | None = Field(default=None, description="where the biller is with this line")
    work_note: str | None = Field(
        default=None, max_length=4000, description="the biller's note; empty clears it"
    )


def bad_input(e: ValueError) -> HTTPException:
    return HTTPException(409 if isinstance(e, q.Conflict) else 400, str(e))


def _params(request: Request) -> dict[str, Any]:
    return dict(request.query_params)


@router.get("/authorizations")
def authorizations(
    request: Request,
    practice: str | None = None,
    state: str | None = None,
    on: date | None = None,
    payer: str | None = None,
    sort: str = "urgency",
    order: str = "asc",
    page: int = 1,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Authorizations on file with their state on `on` (default today): expiring (within the payer
    policy's warning days, 14 by default), used_up, pending, denied, active, expired; 100 a page
    (`page`), sorted by `sort` (urgency, end_date, practice, number, payer, sessions) and `order`.
    `counts`: per state over the other filters; `total`: the authorizations matching."""
    try:
        f = q.auth_filters(_params(request))
        p = q.authorization_page(s, auth.user, request.app.state.engine.policies, f)
    except ValueError as e:
        raise bad_input(e) from None
    return {
        "on": p.on.isoformat(),
        "counts": p.counts,
        "total": p.total,
        "page": p.page,
        "pages": p.pages,
        "authorizations": [r.to_dict() for r in p.rows],
    }


@router.get("/frequency")
def frequency(
    request: Request,
    practice: str | None = None,
    on: date | None = None,
    state: str | None = None,
    payer: str | None = None,
    sort: str = "standing",
    order: str = "asc",
    page: int = 1,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Patients at a frequency limit of their payer's policy, over it or one session short of it, with
    sessions used and left and the next payable date; 100 limits a page (`page`), filtered by `state`
    (over_limit, at_limit, near_limit) and `payer`, sorted by `sort` (standing, next_payable, patient,
    practice, payer, limit, last_session, used). `patients`, `total` and `states` count every
    matching row."""
    try:
        f = q.watch_filters(_params(request))
        p = q.frequency_page(s, auth.user, request.app.state.engine, f)
    except ValueError as e:
        raise bad_input(e) from None
    return {
        "on": p.on.isoformat(),
        "patients": p.patients,
        "total": p.total,
        "states": p.states,
        "page": p.page,
        "pages": p.pages,
        "limits": [r.to_dict() for r in p.rows],
    }


@router.get("/denials")
def denials(
    practice: str | None = None,
    reason: str | None = None,
    next_action: str | None = None,
    status: str | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Remittance lines denied or reduced (line level) with the explanation and next action.
    `reason` is a CARC (`97`) or group-reason (`CO-97`)."""
    try:
        rows = q.list_denials(
            s, auth.user, practice=practice, reason=reason, next_action=next_action, status=status
        )
    except ValueError as e:
        raise bad_input(e) from None
    return {"denials": [r.to_dict() for r in rows]}


@router.get("/denials/{line_id}")
def denial(
    line_id: int, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    return q.get_denial(s, auth.user, line_id).to_dict()


@router.patch("/denials/{line_id}")
def update_denial(
    line_id: int,
    body: DenialUpdate,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Set the line's work status and note (audited)."""
    try:
        return q.update_denial(s, auth.user, line_id, body.work_status, body.work_note).to_dict()
    except ValueError as e:
        raise bad_input(e) from None


@router.get("/imports")
def imports(
    practice: str | None = None, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """The latest imports of the caller's practices."""
    return {"imports": [j.to_dict() for j in q.list_imports(s, auth.user, practice=practice)]}


@router.post("/imports", status_code=202)
async def create_import(
    request: Request,
    file: UploadFile = File(...),
    kind: ImportKind = Form(...),
    practice_id: str = Form(...),
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Upload a file (multipart: file, kind, practice_id) for a background import; poll
    GET /api/imports/{id} for its progress."""
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    try:
        job_id = q.submit_import(
            s,
            auth.user,
            request.app.state.jobs,
            kind=kind,
            data=data,
            file_name=file.filename or "upload",
            practice_id=practice_id,
        )
    except ValueError as e:
        raise bad_input(e) from None
    except RuntimeError as e:
        raise HTTPException(503, str(e)) from None
    return q.get_import(s, auth.user, job_id, request.app.state.jobs).to_dict()


@router.get("/imports/{job_id}")
def import_status(
    request: Request, job_id: int, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """An import's status (queued, running, done, failed), progress and message (where a bad file
    went wrong)."""
    return q.get_import(s, auth.user, job_id, request.app.state.jobs).to_dict()
