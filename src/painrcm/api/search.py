"""Search and the patient as JSON (``painrcm.web.search`` and ``painrcm.web.patient`` are the pages)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from painrcm.store import patient as patients
from painrcm.store.search import search as run_search
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/api", tags=["search"])


@router.get("/search")
def search(
    q: str = "", auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """Patients by name, member ID or date of birth; claims by ID; authorizations by number; grouped by
    kind, within the caller's practices (audited as a read of the patients shown)."""
    return run_search(s, auth.user, q).to_dict()


@router.get("/patients/{person_id}")
def patient(
    request: Request,
    person_id: int,
    on: date | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """One patient across the caller's practices: identity and matched records (records in practices the
    caller does not work are counted, not shown), services, frequency-limit standing with next payable
    dates, authorizations with sessions left, claims and remittances."""
    return patients.patient_view(s, auth.user, request.app.state.engine, person_id, on=on).to_dict()
