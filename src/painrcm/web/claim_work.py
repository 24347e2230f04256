"""Claim work pages (issue 9): the edit form, submit, mark for correction or void, the 837P download
and the diff between two versions. The same queries as the API (``store/claim_work.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from painrcm.errors import InputError
from painrcm.store import audit_view, remits_on_claim, services
from painrcm.store import claim_work as w
from painrcm.store import models as m
from painrcm.store.scope import NotFound, can_see_practice, practice_ids
from painrcm.web.claims import _back, _claim_page
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.pages import render

router = APIRouter(include_in_schema=False)


def _split(text: str) -> list[str]:
    return [x for x in text.replace(";", ",").replace(" ", ",").split(",") if x.strip()]


def _number(text: str, what: str) -> float | None:
    text = text.strip().lstrip("$").replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError as e:
        raise w.BadRequest(f"{what} must be a number (got {text!r})") from e


def _lines_from_form(form: Any) -> list[dict[str, Any]]:
    """Rows line-N-code, -modifiers, -units, -pointers, -auth, -charge; a row with no code (or ticked
    remove) is dropped."""
    numbers = sorted(
        {int(k.split("-")[1]) for k in form if k.startswith("line-") and k.split("-")[1].isdigit()}
    )
    out = []
    for n in numbers:

        def get(field: str, n: int = n) -> str:
            return str(form.get(f"line-{n}-{field}") or "").strip()

        if not get("code") or get("remove"):
            continue
        pointers = []
        for p in _split(get("pointers")):
            if not p.isdigit():
                raise w.BadRequest(f"line {n}: diagnosis pointers are numbers 1 to 12 (got {p!r})")
            pointers.append(int(p))
        line: dict[str, Any] = {
            "code": get("code").upper(),
            "modifiers": [x.upper() for x in _split(get("modifiers"))],
            "units": _number(get("units"), f"line {n} units") or 1,
            "diagnosis_pointers": pointers,
        }
        charge = _number(get("charge"), f"line {n} charge")
        if charge is not None:
            line["charge"] = charge
        for key, field in (
            ("authorization_number", "auth"),
            ("date_of_service", "dos"),
            ("control_number", "control"),
            ("place_of_service", "pos"),
        ):
            if get(field):
                line[key] = get(field)
        out.append(line)
    return out


@router.post("/claims/{claim_id:int}/edit")
async def edit_action(
    request: Request,
    claim_id: int,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    form = await request.form()
    try:
        changes: dict[str, Any] = {
            "lines": _lines_from_form(form),
            "diagnoses": [x.upper() for x in _split(str(form.get("diagnoses") or ""))],
            "authorization_number": str(form.get("authorization_number") or ""),
            "place_of_service": str(form.get("place_of_service") or ""),
        }
        w.edit_claim(s, auth.user, claim_id, changes, str(form.get("reason") or ""), request.app.state.engine)
    except (w.BadRequest, InputError) as e:
        msg = e.render() if isinstance(e, InputError) else str(e)
        return _claim_page(request, auth, s, claim_id, 400, error=msg)
    except w.Conflict as e:
        return _claim_page(request, auth, s, claim_id, 409, error=str(e))
    return _back(s, claim_id, "edited")


@router.post("/claims/{claim_id:int}/submit")
async def submit_action(
    request: Request,
    claim_id: int,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    form = await request.form()
    try:
        w.submit_claim(s, auth.user, claim_id, str(form.get("note") or ""))
    except w.Conflict as e:
        return _claim_page(request, auth, s, claim_id, 409, error=str(e))
    return _back(s, claim_id, "submitted")


@router.post("/claims/{claim_id:int}/correct")
async def correct_action(
    request: Request,
    claim_id: int,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    form = await request.form()
    frequency = str(form.get("frequency") or "7")
    remit = str(form.get("remit_line_id") or "").strip()
    try:
        w.mark_correction(
            s,
            auth.user,
            claim_id,
            str(form.get("reason") or ""),
            frequency,
            int(remit) if remit.isdigit() else None,
        )
    except w.BadRequest as e:
        return _claim_page(request, auth, s, claim_id, 400, error=str(e))
    except w.Conflict as e:
        return _claim_page(request, auth, s, claim_id, 409, error=str(e))
    return _back(s, claim_id, "voided" if frequency == "8" else "corrected")


@router.get("/claims/{claim_id:int}/837")
def export_837(
    request: Request,
    claim_id: int,
    production: bool = False,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    try:
        text = w.export_837(s, auth.user, claim_id, production)
    except InputError as e:
        return _claim_page(request, auth, s, claim_id, 422, error=e.render())
    s.commit()
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="claim-{claim_id}.837"'},
    )


@router.get("/claims/{claim_id:int}/versions/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    claim_id: int,
    a: int = 1,
    b: int = 2,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    try:
        diff = w.compare_versions(s, auth.user, claim_id, a, b)
    except w.BadRequest as e:
        return _claim_page(request, auth, s, claim_id, 400, error=str(e))
    return render(request, "claim_compare.html", auth, nav="claims", claim_id=claim_id, a=a, b=b, diff=diff)


@router.get("/fee-schedules", response_class=HTMLResponse)
def fee_schedules_page(
    request: Request,
    done: str | None = None,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    return _fee_page(request, auth, s, flash="Fee schedule stored." if done else None)


def _fee_page(
    request: Request,
    auth: Auth,
    s: Session,
    status: int = 200,
    flash: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    allowed = practice_ids(s, auth.user)
    practices = [
        p for p in s.scalars(select(m.Practice).order_by(m.Practice.id)) if allowed is None or p.id in allowed
    ]
    return render(
        request,
        "fee_schedules.html",
        auth,
        status,
        nav="uploads",
        schedules=remits_on_claim.list_schedules(s, allowed),
        practices=practices,
        flashes=[flash] if flash else [],
        error=error,
    )


@router.post("/fee-schedules")
async def upload_fee_schedule(
    request: Request, auth: Auth = Depends(page_auth), s: Session = Depends(db, scope="function")
) -> Response:
    form = await request.form()
    practice_id = str(form.get("practice_id") or "")
    payer_id = str(form.get("payer_id") or "")
    upload = form.get("file")
    if s.get(m.Practice, practice_id) is None or not can_see_practice(s, auth.user, practice_id):
        raise NotFound
    if upload is None or isinstance(upload, str):
        return _fee_page(request, auth, s, 400, error="choose a fee schedule CSV file")
    data = await upload.read(5 * 1024 * 1024 + 1)
    name = upload.filename or "fee-schedule.csv"
    try:
        if len(data) > 5 * 1024 * 1024:
            raise InputError(name, None, "a file of at most 5 MB")
        rows = remits_on_claim.upload_schedule(s, practice_id, payer_id, data, name, auth.user.id)
    except InputError as e:
        return _fee_page(request, auth, s, 400, error=e.render())
    services.audit(s, auth.user.id, "upload", "fee_schedule", payer_id, practice_id, file=name, rows=rows)
    s.commit()
    return RedirectResponse("/fee-schedules?done=1", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user_id: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    page: int = 1,
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> HTMLResponse:
    if auth.user.role != "admin":
        return render(request, "admin.html", auth, 403, nav="admin", forbidden=True)
    uid = int(user_id) if user_id and user_id.isdigit() else None
    try:
        log = audit_view.search(
            s,
            auth.user,
            user_id=uid,
            action=action or None,
            object_type=object_type or None,
            object_id=object_id or None,
            page=max(page, 1),
        )
    except audit_view.BadFilter as e:
        return render(request, "admin.html", auth, 400, nav="admin", forbidden=True, error=str(e))
    f = {
        "user_id": uid,
        "action": action or "",
        "object_type": object_type or "",
        "object_id": object_id or "",
    }
    return render(request, "audit_log.html", auth, nav="admin", log=log, f=f)
