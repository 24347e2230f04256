"""Remittances on the claim (issue 9): the expected amount of each remitted line and its
underpayment, uploaded fee schedules, and the one edit that would have prevented a denied line.

Expected amount of a line, first that applies:
1. the fee schedule uploaded for the claim's practice and payer (``FeeScheduleRow``);
2. for a Medicare claim, the national amount (total RVU x conversion factor, ``remit/national.py``),
   labelled as national (not locality-adjusted);
3. none (the page says so).
The facility / non-facility rate, units, bilateral and multiple-procedure rules are those of
``remit.underpay.check_underpayment`` (the same code as ``painrcm era --fee-schedule``).

"Prevented by": an 835 reason names a family of edits (CO-97: every bundling edit); the line gets the
single edit that fired on the claim for that line (or its code) in the claim's scrub runs, latest
first, overridden or not. When none fired, an authorization family (CO-197 and the like) is narrowed
by checking the line against the authorization on file (no number: AUT001, not on file: AUT002, outside
the window or not approved: AUT003, code not covered: AUT004, other provider: AUT005, sessions used
up: AUT006); otherwise the family stays, shown as the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session

from painrcm.errors import InputError
from painrcm.remit import national
from painrcm.remit.explain import EraReport, ExplainedClaim, ExplainedLine
from painrcm.remit.underpay import FeeSchedule, Rate, check_underpayment, parse_fee_schedule, to_money
from painrcm.store import auth_usage
from painrcm.store import models as m


# --- prevented by --------------------------------------------------------------------------------
def narrow_prevented_by(family: Sequence[str], claim_line: m.ClaimLine | None) -> list[str]:
    """The edit of `family` that fired on the claim line (by line number, else by code), latest scrub
    run first; the family unchanged when none did (or the line is not matched to a claim line)."""
    family = list(family)
    if claim_line is None or len(family) <= 1:
        return family
    enc = claim_line.encounter
    for run in reversed(enc.scrub_runs if enc is not None else []):
        on_line = [f.edit for f in run.findings if f.edit in family and f.line == claim_line.line_no]
        on_code = [f.edit for f in run.findings if f.edit in family and f.code == claim_line.code]
        hit = on_line or on_code
        if hit:
            return [hit[0]]
    if enc is not None and all(e.startswith("AUT") for e in family):
        which = _auth_edit(claim_line, enc)
        if which in family:
            return [which]
    return family


def _auth_edit(claim_line: m.ClaimLine, enc: m.Encounter) -> str | None:
    """The authorization edit whose check matches the line as stored, when none fired."""
    s = object_session(enc)
    if s is None:
        return None
    number = auth_usage.norm(claim_line.authorization_number) or auth_usage.norm(
        (enc.document or {}).get("authorization_number")
    )
    if not number:
        return "AUT001"  # no authorization number on the line or the claim
    on_file = [
        a for a, _ in auth_usage.authorizations_for_claim(s, enc) if auth_usage.norm(a.auth_number) == number
    ]
    if not on_file:
        return "AUT002"
    a = on_file[0]
    day = claim_line.date_of_service or enc.date_of_service
    if not a.start_date <= day <= a.end_date or a.status.strip().lower() != "approved":
        return "AUT003"
    if a.codes and claim_line.code not in a.codes:
        return "AUT004"
    if a.rendering_npi and enc.rendering_npi and a.rendering_npi != enc.rendering_npi:
        return "AUT005"
    if a.sessions is not None:
        used = auth_usage.usage(s, [a], day).get(a.id, [])
        if auth_usage.sessions(used) > a.sessions:
            return "AUT006"
    return None


# --- fee schedules -------------------------------------------------------------------------------
def uploaded_schedule(s: Session, practice_id: str, payer_id: str) -> FeeSchedule | None:
    rows = s.scalars(
        select(m.FeeScheduleRow).where(
            m.FeeScheduleRow.practice_id == practice_id, m.FeeScheduleRow.payer_id == payer_id
        )
    ).all()
    if not rows:
        return None
    return FeeSchedule({(r.code, r.modifier): Rate(r.facility_rate, r.nonfacility_rate) for r in rows})


def store_schedule(
    s: Session, practice_id: str, payer_id: str, schedule: FeeSchedule, source: str, user_id: int | None
) -> int:
    """Replace the practice's schedule for the payer; returns the number of rows stored."""
    s.execute(
        delete(m.FeeScheduleRow).where(
            m.FeeScheduleRow.practice_id == practice_id, m.FeeScheduleRow.payer_id == payer_id
        )
    )
    for (code, modifier), rate in sorted(schedule.rates.items()):
        s.add(
            m.FeeScheduleRow(
                practice_id=practice_id,
                payer_id=payer_id,
                code=code,
                modifier=modifier[:2],
                facility_rate=float(rate.facility),  # Float columns: exact Decimals become floats here
                nonfacility_rate=float(rate.nonfacility),
                source=source[:300],
                uploaded_by=user_id,
            )
        )
    s.flush()
    return len(schedule.rates)


def upload_schedule(
    s: Session, practice_id: str, payer_id: str, data: bytes, file_name: str, user_id: int | None
) -> int:
    """Read and store an uploaded fee schedule CSV (InputError naming the file and place when bad)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(file_name, f"byte {e.start}", "UTF-8 text") from e
    payer_id = payer_id.strip()
    if not payer_id:
        raise InputError(file_name, None, "a payer ID for the fee schedule")
    schedule = parse_fee_schedule(text, file_name)
    if not schedule.rates:
        raise InputError(file_name, None, "at least one fee schedule row")
    return store_schedule(s, practice_id, payer_id, schedule, file_name, user_id)


def list_schedules(s: Session, practice_ids: set[str] | None) -> list[dict[str, Any]]:
    q = select(m.FeeScheduleRow.practice_id, m.FeeScheduleRow.payer_id, m.FeeScheduleRow.source)
    if practice_ids is not None:
        q = q.where(m.FeeScheduleRow.practice_id.in_(sorted(practice_ids)))
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for pid, payer, source in s.execute(q):
        row = seen.setdefault(
            (pid, payer), {"practice_id": pid, "payer_id": payer, "source": source, "rows": 0}
        )
        row["rows"] += 1
    return [seen[k] for k in sorted(seen)]


# --- expected amounts ----------------------------------------------------------------------------
def _schedule_for(s: Session, row: m.Encounter) -> tuple[FeeSchedule, Any, str] | None:
    _, indicators = national.national_schedule()
    uploaded = uploaded_schedule(s, row.practice_id, row.payer_id)
    if uploaded is not None:
        return uploaded, indicators, f"fee schedule uploaded for {row.practice_id} / {row.payer_id}"
    plan = ((row.document or {}).get("payer") or {}).get("plan")
    if plan == "medicare":
        schedule, indicators = national.national_schedule()
        return schedule, indicators, national.LABEL
    return None


def expected_amounts(
    s: Session, row: m.Encounter, claims: Sequence[m.RemitClaim]
) -> dict[int, dict[str, Any]]:
    """Remit line ID -> expected amount, basis, underpayment and the next action that follows."""
    found = _schedule_for(s, row)
    if found is None:
        return {}
    schedule, indicators, source = found
    out: dict[int, dict[str, Any]] = {}
    for rc in claims:
        lines = sorted(rc.lines, key=lambda x: x.id)
        explained = [
            ExplainedLine.model_construct(
                segment=rl.id,
                code=rl.code,
                modifiers=list(rl.modifiers or []),
                date_of_service=rl.date_of_service,
                units=rl.units,
                allowed=to_money(rl.allowed if rl.allowed is not None else rl.paid),
                paid=to_money(rl.paid),
                billed=to_money(rl.billed),
                next_action=rl.next_action or "no_action",
                next_action_detail="",
                match=None,
                underpayment=None,
                remarks=[],
                adjustments=[],
            )
            for rl in lines
        ]
        claim = ExplainedClaim.model_construct(
            patient_control_number=rc.patient_control_number,
            reversal=rc.status_code == "22",
            lines=explained,
            remarks=[],
        )
        report = EraReport.model_construct(claims=[claim], flags=[])
        check_underpayment(report, schedule, indicators, default_pos=row.place_of_service)
        for rl, ln in zip(lines, explained, strict=True):
            up = ln.underpayment
            if up is None:
                continue
            barred = any(r == "MA130" for r in rl.remarks or [])
            out[rl.id] = {
                "amount": float(up.expected_allowed),  # JSON and templates: a number
                "basis": f"{source}: {up.basis}",
                "source": source,
                "underpaid": up.flagged,
                "shortfall": float(up.shortfall),
                "next_action": ln.next_action,
                "next_action_text": "appeal the underpayment"
                if up.flagged and ln.next_action == "appeal" and not barred
                else None,
            }
    return out
