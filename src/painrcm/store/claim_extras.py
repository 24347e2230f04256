"""What the claim page adds about the claim's life (issue 9): its versions, the authorizations its
lines rely on (with window, sessions used and left, AUT findings) and its remittances line by line.
``queries_claims.claim_detail`` merges ``extras`` into the claim it returns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from painrcm.remit.codes import carc, rarc
from painrcm.remit.explain import action_text
from painrcm.store import auth_usage, remits_on_claim, services, versions
from painrcm.store import models as m

WARNING_DAYS = 14  # the tracker's default; the tracker itself uses each payer policy's figure


def _state(s: Session, a: m.Authorization, used: int) -> str:
    from painrcm.store.queries_work import auth_state

    return auth_state(s, a.status, a.end_date, a.sessions, used, services.today(), WARNING_DAYS)


def authorizations(s: Session, row: m.Encounter) -> dict[str, Any]:
    found = auth_usage.authorizations_for_claim(s, row)
    uses = auth_usage.usage(s, [a for a, _ in found], None)
    today = services.today()
    out = []
    for a, lines in found:
        claims = uses.get(a.id, [])
        used = auth_usage.sessions([u for u in claims if u.date_of_service <= today])
        out.append(
            {
                "id": a.id,
                "auth_number": a.auth_number,
                "payer_id": a.payer_id,
                "codes": list(a.codes or []),
                "start_date": a.start_date.isoformat(),
                "end_date": a.end_date.isoformat(),
                "covers_service": a.start_date <= row.date_of_service <= a.end_date,
                "sessions": a.sessions,
                "used": used,
                "left": None if a.sessions is None else max(a.sessions - used, 0),
                "status": a.status,
                "state": _state(s, a, used),
                "lines": lines,
                "claims": [u.to_dict() for u in claims],
            }
        )
    run = services.latest_run(row)
    aut = [
        {
            "edit": f.edit,
            "severity": f.severity,
            "line": f.line,
            "message": f.message,
            "overridden": bool(f.override_reason),
        }
        for f in (run.findings if run else [])
        if f.edit.startswith("AUT")
    ]
    return {"on_file": out, "unmatched_numbers": auth_usage.unmatched_numbers(s, row), "findings": aut}


def _label(info: Any, code: str) -> str:
    return info.explain if info is not None else f"{code}: not in painrcm's table"


def remittances(s: Session, row: m.Encounter) -> list[dict[str, Any]]:
    claims = s.scalars(
        select(m.RemitClaim)
        .where(m.RemitClaim.encounter_pk == row.id)
        .options(
            selectinload(m.RemitClaim.remittance),
            selectinload(m.RemitClaim.lines).selectinload(m.RemitLine.adjustments),
        )
        .order_by(m.RemitClaim.id)
    ).all()
    line_no = {ln.id: ln.line_no for ln in row.lines}
    expected = remits_on_claim.expected_amounts(s, row, claims)
    out = []
    for c in claims:
        rem = c.remittance
        lines = []
        for rl in sorted(c.lines, key=lambda x: x.id):
            lines.append(
                {
                    "id": rl.id,
                    "line": line_no.get(rl.claim_line_id or -1),
                    "code": rl.code,
                    "modifiers": list(rl.modifiers or []),
                    "billed": rl.billed,
                    "allowed": rl.allowed,
                    "paid": rl.paid,
                    "denied": rl.denied,
                    "adjustments": [
                        {
                            "group": a.group_code,
                            "reason": a.reason_code,
                            "amount": a.amount,
                            "text": _label(carc(a.reason_code), a.reason_code),
                        }
                        for a in rl.adjustments
                    ],
                    "remarks": [{"code": r, "text": _label(rarc(r), r)} for r in rl.remarks or []],
                    "explanation": rl.explanation,
                    "next_action": rl.next_action,
                    "next_action_text": (expected.get(rl.id) or {}).get("next_action_text")
                    or (action_text(rl.next_action) if rl.next_action else None),
                    "expected": expected.get(rl.id),
                    "prevented_by": list(rl.preventing_edits or []),
                    "work_status": rl.work_status,
                    "work_note": rl.work_note,
                }
            )
        out.append(
            {
                "id": c.id,
                "payer_claim_number": c.payer_claim_number,
                "status_code": c.status_code,
                "billed": c.billed,
                "paid": c.paid,
                "patient_responsibility": c.patient_responsibility,
                "payer_name": rem.payer_name if rem else None,
                "payment_date": rem.payment_date.isoformat() if rem and rem.payment_date else None,
                "trace_number": rem.trace_number if rem else None,
                "lines": lines,
            }
        )
    return out


def extras(s: Session, row: m.Encounter) -> dict[str, Any]:
    current = versions.current(s, row.id)
    return {
        "versions": versions.list_versions(s, row),
        "claim_authorization": (row.document or {}).get("authorization_number"),
        "frequency_code": current.frequency_code if current else "1",
        "payer_claim_number": current.payer_claim_number if current else None,
        "authorizations": authorizations(s, row),
        "remittances": remittances(s, row),
    }
