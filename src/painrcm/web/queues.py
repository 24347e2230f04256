"""The work queues as pages (/queues/{claims|denials|authorizations|underpayments}): dense sortable
tables, filters kept in the URL (a saved filter is a bookmark), assignment, bulk status, CSV export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from painrcm.labels import words
from painrcm.store import queries_claims as qc
from painrcm.store import queries_work as qw
from painrcm.store import queues, services
from painrcm.store.queues.core import AGES, CSV_HEADER, DUES, SORTS, csv_row
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.export import csv_response
from painrcm.web.pages import render

router = APIRouter(include_in_schema=False)
COLUMNS = [  # (sort key or None, heading, numeric)
    ("due", "Due", False),
    ("practice", "Practice", False),
    (None, "Reference", False),
    ("patient", "Patient", False),
    ("payer", "Payer", False),
    (None, "Codes", False),
    ("dos", "Service", False),
    ("age", "Age", True),
    ("amount", "Amount", True),
    (None, "Detail", False),
    ("status", "Status", False),
    ("assignee", "Assignee", False),
]


@router.get("/queues", include_in_schema=False)
def queues_home(auth: Auth = Depends(page_auth)) -> RedirectResponse:
    return RedirectResponse("/queues/claims", status_code=303)


def _filter_options(s: Session, auth: Auth, kind: str) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "practices": qw.visible_practices(s, auth.user),
        "users": queues.assignable_users(s, auth.user),
        "statuses": queues.STATUSES[kind],
        "ages": list(AGES),
        "dues": DUES,
        "sorts": SORTS,
    }
    if kind == "claims":
        opts["edits"] = qc.visible_edits(s, auth.user)
    if kind in ("denials", "underpayments"):
        opts["reasons"] = qw.denial_reasons(s, auth.user) if kind == "denials" else []
    return opts


def queue_page(
    request: Request, kind: str, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> HTMLResponse:
    error = None
    try:
        f = queues.parse_filters(kind, dict(request.query_params))
        page = queues.list_queue(s, auth.user, kind, f, request.app.state.engine.policies)
    except queues.BadFilter as e:
        f, page, error = queues.QueueFilters(), None, str(e)
    done = request.query_params.get("done")
    return render(
        request,
        "queue.html",
        auth,
        400 if error else 200,
        nav="queues",
        kind=kind,
        kinds=queues.KINDS,
        f=f,
        page=page,
        error=error,
        columns=COLUMNS,
        link=lambda **kw: "?" + urlencode(f.as_query(**kw)),
        base_query=urlencode(f.as_query()),
        flashes=[done] if done else [],
        words=words,
        **_filter_options(s, auth, kind),
    )


def queue_export(
    request: Request, kind: str, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> Response:
    f = queues.parse_filters(kind, dict(request.query_params))
    page = queues.list_queue(
        s, auth.user, kind, f, request.app.state.engine.policies, all_rows=True, audit=False
    )
    services.audit(
        s,
        auth.user.id,
        "export",
        f"{kind}_queue",
        None,
        f.practice or None,
        filters=f.as_query(page=1),
        rows=len(page.rows),
        person_ids=sorted({r.person_id for r in page.rows if r.person_id is not None}),
    )
    return csv_response(f"{kind}-queue.csv", CSV_HEADER, (csv_row(r) for r in page.rows))


MAX_BACK = 2000


def queue_bulk(
    request: Request,
    kind: str,
    action: str = Form(...),
    ids: list[int] = Form(default_factory=list),
    assignee: str = Form(""),
    status: str = Form(""),
    back: str = Form(""),
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    """The queue's bulk form: assign the ticked rows to a user, or move them to a status."""
    try:
        if action == "assign":
            who = None if assignee in ("", "none") else (auth.user.id if assignee == "me" else int(assignee))
            n = queues.assign(s, auth.user, kind, ids, who)
            msg = f"{n} row{'' if n == 1 else 's'} assigned."
        elif action == "status":
            n = queues.set_status(s, auth.user, kind, ids, status)
            msg = f"{n} row{'' if n == 1 else 's'} moved to {words(status)}."
        else:
            raise queues.BadFilter("action must be assign or status")
    except (queues.BadFilter, ValueError) as e:
        s.rollback()
        msg = f"Nothing changed: {e}"
    # the redirect echoes the filters and the message: bounded, so a hostile form cannot make a Location
    # header browsers and proxies refuse (a queue's filters fit easily in MAX_BACK characters)
    query = back if back and len(back) <= MAX_BACK and not back.startswith(("/", "http")) else ""
    sep = "&" if query else ""
    msg = msg if len(msg) <= 300 else msg[:297] + "..."
    return RedirectResponse(f"/queues/{kind}?{query}{sep}{urlencode({'done': msg})}", status_code=303)


def _routes(kind: str) -> None:
    """One concrete path per queue (so the permission matrix walks each one like any other list)."""

    def page(
        request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
    ) -> HTMLResponse:
        return queue_page(request, kind, auth, s)

    def export(
        request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
    ) -> Response:
        return queue_export(request, kind, auth, s)

    def bulk(
        request: Request,
        action: str = Form(...),
        ids: list[int] = Form(default_factory=list),
        assignee: str = Form(""),
        status: str = Form(""),
        back: str = Form(""),
        auth: Auth = Depends(page_auth),
        s: Session = Depends(db, scope="function"),
    ) -> Response:
        return queue_bulk(request, kind, action, ids, assignee, status, back, auth, s)

    router.add_api_route(f"/queues/{kind}", page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"/queues/{kind}/export.csv", export, methods=["GET"])
    router.add_api_route(f"/queues/{kind}/bulk", bulk, methods=["POST"])


for _kind in queues.KINDS:
    _routes(_kind)
