"""The work-list pages: authorization tracker, frequency watch, denial queue (with htmx status updates)
and uploads (with htmx progress polling). They call the same ``store.queries_work`` functions as the
JSON API (``api/work.py``)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from painrcm.remit.codes import ACTIONS
from painrcm.remit.explain import action_text
from painrcm.store import queries_work as q
from painrcm.store import services
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.export import csv_response
from painrcm.web.pages import render

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 50 * 1024 * 1024


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _day(text: str | None) -> tuple[date | None, str | None]:
    """A date filter from a form field: empty means today; a bad value is reported, not a 422 page."""
    text = (text or "").strip()
    if not text:
        return None, None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, f"Not a date (YYYY-MM-DD): {text}"


def _common(s: Session, auth: Auth) -> dict[str, Any]:
    return {"practices": q.visible_practices(s, auth.user)}


AUTH_COLUMNS = [  # (sort key or None, heading, numeric)
    (None, "State", False),
    ("practice", "Practice", False),
    ("number", "Authorization", False),
    (None, "Patient", False),
    ("payer", "Payer", False),
    (None, "Codes", False),
    ("sessions", "Sessions", True),
    (None, "Used", True),
    (None, "Left", True),
    ("end_date", "Window", False),
    (None, "Days left", True),
    (None, "Claims that used it", False),
]
WATCH_COLUMNS = [
    ("standing", "Standing", False),
    ("practice", "Practice", False),
    ("patient", "Patient", False),
    ("payer", "Payer / policy", False),
    ("limit", "Limit", False),
    (None, "Region", False),
    ("used", "Used", True),
    (None, "Max", True),
    (None, "Left", True),
    (None, "Window", False),
    ("last_session", "Last session", False),
    ("next_payable", "Next payable", False),
]


def _links(f: q.ListFilters) -> dict[str, Any]:
    return {
        "link": lambda **kw: "?" + urlencode(f.as_query(**kw)),
        "base_query": urlencode(f.as_query(page=1)),
    }


@router.get("/authorizations", response_class=HTMLResponse)
def authorizations_page(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> HTMLResponse:
    """The tracker, a page of 100 at a time (filters, sort and page in the URL)."""
    error, page = None, None
    try:
        f = q.auth_filters(dict(request.query_params))
        page = q.authorization_page(s, auth.user, request.app.state.engine.policies, f)
    except q.BadInput as e:
        f, error = q.AuthFilters(), str(e)
    return render(
        request,
        "authorizations.html",
        auth,
        400 if error else 200,
        nav="auths",
        page=page,
        states=q.AUTH_STATES,
        labels=q.AUTH_STATE_LABELS,
        columns=AUTH_COLUMNS,
        error=error,
        f=f,
        on=page.on if page else services.today(),
        **_links(f),
        **_common(s, auth),
    )


@router.get("/authorizations/export.csv")
def authorizations_export(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> Response:
    """Every authorization of the filtered tracker as CSV (read in chunks; audited with the IDs)."""
    f = q.auth_filters(dict(request.query_params))
    rows = list(q.authorization_rows(s, auth.user, request.app.state.engine.policies, f))
    services.audit(
        s, auth.user.id, "export", "authorization_list", None, f.practice or None,
        filters=f.as_query(page=1), rows=len(rows),
        person_ids=sorted({r.person_id for r in rows if r.person_id is not None}),
    )  # fmt: skip
    return csv_response("authorizations.csv", q.AUTH_CSV_HEADER, (q.auth_csv_row(r) for r in rows))


@router.get("/frequency", response_class=HTMLResponse)
def frequency_page(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> HTMLResponse:
    """The frequency watch, a page of 100 limits at a time (filters, sort and page in the URL)."""
    error, page = None, None
    try:
        f = q.watch_filters(dict(request.query_params))
        page = q.frequency_page(s, auth.user, request.app.state.engine, f)
    except q.BadInput as e:
        f, error = q.WatchFilters(), str(e)
    return render(
        request,
        "frequency.html",
        auth,
        400 if error else 200,
        nav="frequency",
        page=page,
        states=q.WATCH_STATES,
        columns=WATCH_COLUMNS,
        error=error,
        f=f,
        on=page.on if page else services.today(),
        **_links(f),
        **_common(s, auth),
    )


@router.get("/frequency/export.csv")
def frequency_export(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> Response:
    """Every limit of the filtered watch as CSV (read in chunks; audited with the person IDs)."""
    f = q.watch_filters(dict(request.query_params))
    rows = list(q.frequency_rows(s, auth.user, request.app.state.engine, f))
    services.audit(
        s, auth.user.id, "export", "frequency_watch", None, f.practice or None,
        filters=f.as_query(page=1), rows=len(rows), person_ids=sorted({r.person_id for r in rows}),
    )  # fmt: skip
    return csv_response("frequency-watch.csv", q.WATCH_CSV_HEADER, (q.watch_csv_row(r) for r in rows))


@router.get("/denials", response_class=HTMLResponse)
def denials_page(
    request: Request,
    practice: str = "",
    reason: str = "",
    next_action: str = "",
    status: str = "",
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    error = None
    rows: list[q.DenialRow] = []
    try:
        rows = q.list_denials(
            s, auth.user, practice=practice, reason=reason, next_action=next_action, status=status
        )
    except q.BadInput as e:
        error = str(e)
    return render(
        request,
        "denials.html",
        auth,
        400 if error else 200,
        nav="denials",
        rows=rows,
        error=error,
        reasons=q.denial_reasons(s, auth.user, practice),
        actions=[(a, action_text(a)) for a in ACTIONS],
        statuses=q.WORK_STATUSES,
        f={"practice": practice, "reason": reason, "next_action": next_action, "status": status},
        **_common(s, auth),
    )


@router.post("/denials/{line_id}", response_class=HTMLResponse)
def denial_update(
    request: Request,
    line_id: int,
    work_status: str = Form(...),
    work_note: str = Form(""),
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    """The queue row's status form: htmx swaps the returned row in place; without htmx, back to the queue."""
    try:
        row = q.update_denial(s, auth.user, line_id, work_status, work_note)
    except q.BadInput as e:
        row, error = q.get_denial(s, auth.user, line_id), str(e)
        return render(
            request,
            "work_denial_row.html",
            auth,
            200 if _is_htmx(request) else 400,
            r=row,
            statuses=q.WORK_STATUSES,
            error=error,
        )
    if not _is_htmx(request):
        return RedirectResponse("/denials", status_code=303)
    return render(request, "work_denial_row.html", auth, r=row, statuses=q.WORK_STATUSES, saved=True)


@router.get("/uploads", response_class=HTMLResponse)
def uploads_page(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> HTMLResponse:
    return _uploads(request, auth, s)


def _uploads(request: Request, auth: Auth, s: Session, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    return render(
        request,
        "uploads.html",
        auth,
        status_code,
        nav="uploads",
        kinds=q.IMPORT_KINDS,
        jobs=q.list_imports(s, auth.user),
        **_common(s, auth),
        **ctx,
    )


@router.post("/uploads", response_class=HTMLResponse)
async def upload(
    request: Request,
    file: UploadFile = File(...),
    kind: str = Form(...),
    practice_id: str = Form(...),
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    """The upload form: hands the file to the job runner, answers with the job's progress panel (htmx)
    or back to the uploads page."""
    data = await file.read(MAX_UPLOAD + 1)
    try:
        if len(data) > MAX_UPLOAD:
            raise q.BadInput(f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
        job_id = q.submit_import(
            s,
            auth.user,
            request.app.state.jobs,
            kind=kind,
            data=data,
            file_name=file.filename or "upload",
            practice_id=practice_id,
        )
    except (ValueError, RuntimeError) as e:
        if _is_htmx(request):
            return render(request, "work_upload_error.html", auth, error=str(e))
        return _uploads(request, auth, s, 400, error=str(e))
    if not _is_htmx(request):
        return RedirectResponse("/uploads", status_code=303)
    return render(
        request, "work_upload_job.html", auth, job=q.get_import(s, auth.user, job_id, request.app.state.jobs)
    )


@router.get("/uploads/jobs/{job_id}", response_class=HTMLResponse)
def upload_job(
    request: Request, job_id: int, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> HTMLResponse:
    """One import's progress panel; htmx polls it every second while the job is queued or running."""
    return render(
        request, "work_upload_job.html", auth, job=q.get_import(s, auth.user, job_id, request.app.state.jobs)
    )
