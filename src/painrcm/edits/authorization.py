"""What the authorization-log edits share: which numbers the claim carries, and the matching record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from painrcm.edits.base import ClaimContext
from painrcm.history.auths import Authorization

EXAMPLE_AUTH = {
    "auth_number": "PA-7001",
    "payer_id": "ACME-HEALTH",
    "member_id": "1EG4TE5MK73",
    "codes": "64483",
    "sessions": 2,
    "start_date": "2026-01-01",
    "end_date": "2026-06-30",
    "rendering_npi": "",
    "status": "approved",
}
COMMERCIAL_CLAIM = {
    "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
    "authorization_number": "PA-7001",
}


def claim_numbers(ctx: ClaimContext) -> Iterator[tuple[str, list[int]]]:
    """Each authorization number on the claim with the lines it applies to (line-level numbers
    override the claim's for their line)."""
    by_number: dict[str, list[int]] = {}
    for i, ln in enumerate(ctx.lines):
        number = ln.authorization_number or ctx.encounter.authorization_number
        if number:
            by_number.setdefault(number, []).append(i)
    if not by_number and ctx.encounter.authorization_number:
        by_number[ctx.encounter.authorization_number] = []
    yield from by_number.items()


def record_for(ctx: ClaimContext, number: str) -> Authorization | None:
    """The log's record of this number for this patient and payer (None when there is none)."""
    # a claim with an authorization number reaches the AUT edits only with a log (scrub.py)
    assert ctx.auths is not None
    for a in ctx.auths.find(number):
        if (
            a.member_matches(ctx.encounter.patient.member_id)
            and a.payer_id.strip().upper() == ctx.encounter.payer.id.strip().upper()
        ):
            return a
    return None


def covers(ctx: ClaimContext, auth: Authorization, code: str) -> bool:
    """An authorization that lists a primary code covers its add-on codes (RULES.md section 7)."""
    if code in auth.codes:
        return True
    info = ctx.reference.info(code)
    return info is not None and any(p in auth.codes for p in info.addon_of)


def needs_authorization(ctx: ClaimContext, code: str) -> bool:
    return any(code in rule.codes for rule in ctx.policy.authorization.rules)


def used_dates(ctx: ClaimContext, number: str) -> set[date]:
    """Dates of service of earlier claims (history) that used this authorization, plus this claim's.
    Later claims do not count against an earlier one (RULES.md section 7)."""
    dates = {ctx.dos}
    if ctx.history is not None:
        norm = "".join(number.split()).upper()
        for s in ctx.past_services(None, ctx.dos):
            if s.authorization_number and "".join(s.authorization_number.split()).upper() == norm:
                dates.add(s.date)
    return dates
