"""The prior-authorization requests page: every request with its state, what it waits for, the payer's
due date and alerts, and a form to record the payer's answer. Same functions as the JSON API
(``api/auth_requests.py``): ``store.auth_requests``."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from painrcm.store import auth_requests as ar
from painrcm.store import queries_work as q
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.pages import render
from painrcm.web.work import _day

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, auth: Auth, s: Session, practice: str, state: str, error: str | None
) -> HTMLResponse:
    rows: list[ar.RequestRow] = []
    counts = dict.fromkeys(ar.STATES, 0)
    try:
        rows, counts = ar.list_requests(s, auth.user, practice=practice or None, state=state or None)
    except ar.BadDecision as e:
        error = str(e)
    s.commit()
    return render(
        request,
        "auth_requests.html",
        auth,
        400 if error else 200,
        nav="auths",
        rows=rows,
        counts=counts,
        states=ar.STATES,
        labels=ar.STATE_LABELS,
        decisions=ar.DECISIONS,
        error=error,
        f={"practice": practice, "state": state},
        practices=q.visible_practices(s, auth.user),
    )


@router.get("/auth-requests", response_class=HTMLResponse)
def requests_page(
    request: Request,
    practice: str = "",
    state: str = "",
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    return _page(request, auth, s, practice, state, None)


@router.post("/auth-requests/{pk}/decision", response_class=HTMLResponse)
def decision_form(
    request: Request,
    pk: int,
    status: str = Form(...),
    auth_number: str = Form(""),
    start_date: str = Form(""),
    end_date: str = Form(""),
    sessions: str = Form(""),
    note: str = Form(""),
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    detail = ar.request_detail(s, auth.user, pk)  # 404 outside the user's practices
    try:
        ar.record_decision(
            s,
            auth.user,
            detail["request_id"],
            status=status,
            auth_number=auth_number.strip() or None,
            start=_date(start_date, "start date"),
            end=_date(end_date, "end date"),
            sessions=_int(sessions),
            note=note.strip() or None,
            practice=detail["practice_id"],
            source="page",
        )
    except ar.BadDecision as e:
        s.rollback()
        return _page(request, auth, s, "", "", f"{detail['request_id']}: {e}")
    s.commit()
    return RedirectResponse("/auth-requests", status_code=303)


def _date(text: str, what: str) -> date | None:
    day, error = _day(text)  # the work pages' date field reading
    if error:
        raise ar.BadDecision(f"the {what}: {error}")
    return day


def _int(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise ar.BadDecision(f"sessions must be a whole number, got {text!r}")
    return int(text)
