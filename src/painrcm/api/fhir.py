"""The FHIR R4 front door (docs/fhir.md): `Claim/$validate`, `Claim/$submit` for prior authorization,
and a payer's `ClaimResponse`. Same sign-in, practice scoping and audit as the rest of the API; answers
are FHIR resources (`application/fhir+json`), errors an `OperationOutcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from painrcm.errors import InputError
from painrcm.fhir import mapping as fm
from painrcm.store import auth_requests as ar
from painrcm.store.scope import NotFound, can_see_practice
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


def _answer(resource: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(resource, status_code=status, media_type=FHIR_JSON)


def _problem(code: str, text: str, status: int, expression: str | None = None) -> JSONResponse:
    return _answer(fm.error_outcome(fm.FhirError(expression or "$", text, code)), status)


def _out_of_scope(s: Session, auth: Auth, practice: str | None) -> JSONResponse | None:
    """A `?practice=` outside the caller's practices is not found, before the body is even read."""
    if practice and not can_see_practice(s, auth.user, practice):
        return _problem("not-found", "no practice of yours has that ID", 404)
    return None


NO_PRACTICE = "no practice of yours matches the Claim's provider (or ?practice=)"


def _answered(work: Callable[[], JSONResponse], not_found: str, where: str) -> JSONResponse:
    """Run an endpoint's work; what it cannot take is a located OperationOutcome, never a 500."""
    try:
        return work()
    except fm.FhirError as e:
        return _answer(fm.error_outcome(e), 422)
    except InputError as e:
        return _problem("invalid", e.render(), 422, where)
    except ar.BadDecision as e:
        return _problem("business-rule", str(e), 422, where)
    except NotFound:
        return _problem("not-found", not_found, 404, None if where == "Claim" else f"{where}.request")


@router.post("/Claim/$validate")
def validate(
    request: Request,
    body: Any = Body(..., description="a FHIR Claim, a Parameters with `resource`, or a Bundle"),
    practice: str | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> JSONResponse:
    """Scrub a professional Claim against the workspace (the patient's history and authorizations at
    every practice) without storing it: an OperationOutcome with one issue per finding (edit ID in
    `details.coding`, line as `Claim.item[n]`, the fix in `diagnostics`) and the edits not checked."""
    if (refused := _out_of_scope(s, auth, practice)) is not None:
        return refused

    def work() -> JSONResponse:
        enc = fm.claim_to_encounter(fm.parse(body), practice_id=practice)
        result = ar.validate_claim(s, auth.user, enc, request.app.state.engine, practice)
        s.commit()
        return _answer(fm.outcome_for(result))

    return _answered(work, NO_PRACTICE, "Claim")


@router.post("/Claim/$submit")
def submit(
    request: Request,
    body: Any = Body(..., description="a PAS-style Bundle (or a Claim) with use = preauthorization"),
    practice: str | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> JSONResponse:
    """Record a prior-authorization request and answer a pended ClaimResponse listing the evidence it
    still needs (one processNote per gap). The same request identifier again refreshes the evidence."""
    if (refused := _out_of_scope(s, auth, practice)) is not None:
        return refused

    def work() -> JSONResponse:
        parsed = fm.parse(body, want_use="preauthorization")
        enc = fm.claim_to_encounter(parsed, practice_id=practice)
        row, packet, created = ar.submit_request(
            s, auth.user, enc, request.app.state.engine, practice=practice, source="fhir"
        )
        s.commit()
        return _answer(
            fm.claim_response_for(parsed, packet, str(row.id), row.status), 201 if created else 200
        )

    return _answered(work, NO_PRACTICE, "Claim")


@router.post("/ClaimResponse")
def claim_response(
    body: Any = Body(..., description="the payer's ClaimResponse to a prior-authorization request"),
    practice: str | None = None,
    auth: Auth = Depends(api_auth),
    s: Session = Depends(db, scope="function"),
) -> JSONResponse:
    """Apply a payer's answer (approved, pended, denied; certification number, window, sessions) to the
    request it names in `request.identifier`; an approval becomes an authorization on file."""
    if (refused := _out_of_scope(s, auth, practice)) is not None:
        return refused

    def work() -> JSONResponse:
        d = fm.decision_from_response(body)
        assert d.request_id is not None
        row = ar.record_decision(
            s,
            auth.user,
            d.request_id,
            status=d.status,
            auth_number=d.auth_number,
            start=d.start,
            end=d.end,
            sessions=d.sessions,
            codes=d.codes or None,
            note=d.disposition,
            practice=practice,
            source="fhir",
        )
        s.commit()
        text = f"request {row.request_id} is now {row.status}"
        if row.auth_number:
            text += f" (authorization {row.auth_number})"
        info = {"severity": "information", "code": "informational", "details": {"text": text}}
        return _answer({"resourceType": "OperationOutcome", "issue": [info]})

    return _answered(work, "no request of yours has that identifier", "ClaimResponse")
