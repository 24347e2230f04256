"""Working a claim from upload to paid (issue 9): edit it, submit it, mark it for correction or void
after a denial, export its 837P, see its versions. The API (``api/claim_work.py``) and the pages
(``web/claim_work.py``) call these; callers own the session and its commit.

Every change records a claim version (``store/versions.py``) and an audit entry with the before, the
after, the reason, who and when; every save of an edit re-scrubs the claim.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from painrcm.inputs import encounter_from_obj
from painrcm.scrub import Engine
from painrcm.store import counts, services, versions
from painrcm.store import models as m
from painrcm.store import queries_claims as q
from painrcm.store.service_rows import refresh_services
from painrcm.x12.writer837 import write_837

EDITABLE = ("lines", "diagnoses", "authorization_number", "place_of_service")
LINE_FIELDS = (
    "code",
    "modifiers",
    "units",
    "diagnosis_pointers",
    "authorization_number",
    "charge",
    "date_of_service",
    "place_of_service",
    "control_number",
)
FREQUENCIES = {"7": "correction", "8": "void"}
BadRequest, Conflict = q.BadRequest, q.Conflict


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise BadRequest(f"{what} needs a reason")
    return reason[:2000]


def _clean_line(d: Any, n: int) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise BadRequest(f"lines[{n}] must be an object with a code")
    unknown = sorted(set(d) - set(LINE_FIELDS) - {"line"})
    if unknown:
        raise BadRequest(
            f"lines[{n}]: unknown field(s) {', '.join(unknown)} (editable: {', '.join(LINE_FIELDS)})"
        )
    out = {k: v for k, v in d.items() if k in LINE_FIELDS and v not in (None, "")}
    if not out.get("code"):
        raise BadRequest(f"lines[{n}] needs a code")
    return out


def _apply(s: Session, row: m.Encounter, doc: dict[str, Any]) -> None:
    """Store an edited document as the claim (remittance links survive the change of lines)."""
    enc = encounter_from_obj(doc, "edit")
    linked = versions.detach_remits(s, row)
    row.document = enc.model_dump(mode="json", by_alias=True, exclude_none=True)
    row.place_of_service = enc.place_of_service
    row.date_of_service = enc.date_of_service
    row.lines = services._lines(enc)
    row.total_charge = sum((ln.charge or 0) for ln in enc.lines or []) or None
    s.flush()
    versions.relink_remits(row, linked)
    refresh_services(s, [row.id])


def _lines_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    keep = ("code", "modifiers", "units", "diagnosis_pointers", "authorization_number", "charge")
    return [{k: ln.get(k) for k in keep if k in ln} for ln in doc.get("lines") or []]


def edit_claim(
    s: Session, user: m.User, claim_id: int, changes: dict[str, Any], reason: str | None, engine: Engine
) -> dict[str, Any]:
    """Change the claim's lines (codes, modifiers, units, diagnosis pointers, charges, line
    authorization), diagnoses, claim-level authorization number or place of service; then re-scrub.
    BadRequest for a missing reason or an unknown field, Conflict when nothing changes or the claim was
    submitted (mark it for correction first), InputError (with its place) for an invalid claim."""
    reason = _reason(reason, "an edit")
    row = q.get_claim(s, user, claim_id)
    if row.work_status == "submitted":
        raise Conflict("this claim was submitted: mark it for correction (or void) before editing it")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)} (editable: {', '.join(EDITABLE)})")
    before = dict(row.document)
    doc = dict(before)
    if "lines" in changes:
        lines = changes["lines"]
        if not isinstance(lines, list) or not lines:
            raise BadRequest("lines must be a non-empty list")
        doc["lines"] = [_clean_line(d, n) for n, d in enumerate(lines)]
    if "diagnoses" in changes:
        dx = changes["diagnoses"]
        if isinstance(dx, str):
            dx = [x for x in dx.replace(";", ",").replace(" ", ",").split(",") if x]
        if not isinstance(dx, list):
            raise BadRequest("diagnoses must be a list of ICD-10-CM codes")
        doc["diagnoses"] = dx
    if "authorization_number" in changes:
        number = (changes["authorization_number"] or "").strip() or None
        if number is None:
            doc.pop("authorization_number", None)
        else:
            doc["authorization_number"] = number
    if "place_of_service" in changes:
        doc["place_of_service"] = str(changes["place_of_service"] or "").strip()
    normalized = encounter_from_obj(doc, "edit").model_dump(mode="json", by_alias=True, exclude_none=True)
    if normalized == before:
        raise Conflict("nothing changed")
    _apply(s, row, normalized)
    version = versions.record(
        s, row, kind="edit", before=before, user_id=user.id, reason=reason, source="app"
    )
    services.audit(
        s,
        user.id,
        "edit",
        "claim",
        row.id,
        row.practice_id,
        reason=reason,
        version=version.number,
        changes=version.diff,
        before=_lines_of(before),
        after=_lines_of(row.document),
    )
    q.rescrub(s, row, engine, user)
    return q.claim_detail(s, row)


def submit_claim(s: Session, user: m.User, claim_id: int, note: str | None = None) -> dict[str, Any]:
    """Mark the claim as sent to the payer. Conflict while it has errors nobody overrode, or before it
    was scrubbed, or when it was already submitted."""
    row = q.get_claim(s, user, claim_id)
    run = services.latest_run(row)
    if row.work_status == "submitted":
        raise Conflict("this claim was already submitted")
    if run is None:
        raise Conflict("scrub the claim before submitting it")
    if counts.effective_status(run) == "error":
        raise Conflict("this claim still has errors: fix them or override them with a reason")
    version = versions.current(s, row.id) or versions.ensure_baseline(s, row)
    before = row.work_status
    row.work_status = "submitted"
    # denials this corrected claim answers are now resubmitted
    resubmitted = []
    if version.frequency_code in ("7", "8"):
        for rl in _open_denials(s, row):
            rl.work_status = "resubmitted"
            resubmitted.append(rl.id)
    s.flush()
    services.audit(
        s,
        user.id,
        "submit",
        "claim",
        row.id,
        row.practice_id,
        before={"work_status": before},
        after={"work_status": "submitted"},
        version=version.number,
        frequency_code=version.frequency_code,
        payer_claim_number=version.payer_claim_number,
        remit_lines_resubmitted=resubmitted,
        reason=(note or "").strip() or None,
    )
    return q.claim_detail(s, row)


def _open_denials(s: Session, row: m.Encounter) -> list[m.RemitLine]:
    return list(
        s.scalars(
            select(m.RemitLine)
            .join(m.RemitClaim, m.RemitLine.remit_claim_id == m.RemitClaim.id)
            .where(
                m.RemitClaim.encounter_pk == row.id,
                m.RemitLine.denied.is_(True),
                m.RemitLine.work_status.not_in(("resolved", "written_off", "resubmitted")),
            )
            .order_by(m.RemitLine.id)
        )
    )


def mark_correction(
    s: Session,
    user: m.User,
    claim_id: int,
    reason: str | None,
    frequency: str = "7",
    remit_line_id: int | None = None,
) -> dict[str, Any]:
    """Mark a submitted (or remitted) claim for a corrected claim (frequency 7, replacement) or a void
    (8). The payer's claim control number comes from the 835 (CLP07) of the denial when given, else
    from the latest 835 of the claim. The claim goes back to work (edit it, then submit it again)."""
    reason = _reason(reason, "a correction")
    if frequency not in FREQUENCIES:
        raise BadRequest("frequency must be 7 (replacement) or 8 (void)")
    row = q.get_claim(s, user, claim_id)
    number = None
    if remit_line_id is not None:
        rl = s.get(m.RemitLine, remit_line_id)
        if rl is None or rl.claim.encounter_pk != row.id:
            raise BadRequest("that remittance line is not about this claim")
        number = rl.claim.payer_claim_number
        rl.work_status = "working"
        rl.work_note = rl.work_note or f"corrected claim ({FREQUENCIES[frequency]}) being prepared"
    number = number or versions.payer_claim_number(s, row.id)
    if row.work_status != "submitted" and number is None:
        raise Conflict("only a submitted claim can be corrected or voided (this one was not sent)")
    before_status = row.work_status
    version = versions.record(
        s,
        row,
        kind=FREQUENCIES[frequency],
        before=dict(row.document),
        user_id=user.id,
        reason=reason,
        source="app",
        frequency_code=frequency,
        payer_claim_number=number,
    )
    row.work_status = "open"
    s.flush()
    services.audit(
        s,
        user.id,
        "correct" if frequency == "7" else "void",
        "claim",
        row.id,
        row.practice_id,
        reason=reason,
        version=version.number,
        frequency_code=frequency,
        payer_claim_number=number,
        remit_line_id=remit_line_id,
        before={"work_status": before_status},
        after={"work_status": row.work_status},
    )
    return q.claim_detail(s, row)


def export_837(s: Session, user: m.User, claim_id: int, production: bool = False) -> str:
    """The claim's current version as an 837P (CLM05-3 and REF*F8 for a corrected or voided claim).
    A production file refuses placeholder data (InputError naming what is missing)."""
    row = q.get_claim(s, user, claim_id)
    version = versions.current(s, row.id)
    enc = services.to_model(row)
    freq = version.frequency_code if version else "1"
    ref = version.payer_claim_number if version else None
    text = write_837(
        [enc],
        usage="P" if production else "T",
        frequencies={enc.encounter_id: (freq, ref)},
        now=datetime.now(UTC),
    )
    services.audit(
        s,
        user.id,
        "export",
        "claim",
        row.id,
        row.practice_id,
        format="837P",
        production=production,
        version=version.number if version else 1,
        frequency_code=freq,
        payer_claim_number=ref,
    )
    return text


def claim_versions(s: Session, user: m.User, claim_id: int) -> list[dict[str, Any]]:
    row = q.get_claim(s, user, claim_id)
    services.audit(s, user.id, "read", "claim", row.id, row.practice_id, view="versions")
    return versions.list_versions(s, row)


def compare_versions(
    s: Session, user: m.User, claim_id: int, a: int, b: int | None = None
) -> list[dict[str, Any]]:
    row = q.get_claim(s, user, claim_id)
    if b is None:
        latest = versions.current(s, row.id)
        b = latest.number if latest else 1
    services.audit(s, user.id, "read", "claim", row.id, row.practice_id, view=f"versions {a} and {b}")
    try:
        diff = versions.compare(s, row, a, b)
    except LookupError as e:
        raise BadRequest(str(e)) from e
    return [{**d, "text": versions.describe(d)} for d in diff]
