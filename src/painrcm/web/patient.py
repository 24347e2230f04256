"""The patient page (/patients/{id}) and its CSV export."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from painrcm.store import patient as patients
from painrcm.store import services
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.export import csv_response
from painrcm.web.pages import render

router = APIRouter(include_in_schema=False)


def _on(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text.strip() else None
    except ValueError:
        return None


@router.get("/patients/{person_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    person_id: int,
    on: str = "",
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    view = patients.patient_view(s, auth.user, request.app.state.engine, person_id, on=_on(on))
    return render(request, "patient.html", auth, nav="search", p=view)


@router.get("/patients/{person_id}/export.csv")
def patient_export(
    request: Request,
    person_id: int,
    on: str = "",
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    view = patients.patient_view(s, auth.user, request.app.state.engine, person_id, on=_on(on), audit=False)
    header, rows = patients.csv_rows(view)
    services.audit(
        s, auth.user.id, "export", "patient", person_id, None, rows=len(rows), person_ids=[person_id]
    )
    return csv_response(f"patient-{person_id}.csv", header, rows)
