from collections.abc import Iterator
from datetime import timedelta

from painrcm.edits.authorization import COMMERCIAL_CLAIM, EXAMPLE_AUTH, claim_numbers, record_for, used_dates
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="AUT090",
    severity=Severity.WARNING,
    applies_when=("auth_number",),
    title="Authorization expires soon and still has sessions",
    what="Warns when the authorization ends within the payer's warning window (14 days by default) of the "
    "date of service while sessions remain, so the next session can be booked or extended in time.",
    why="Sessions left on an expired authorization are lost; the next service after the end date is denied.",
    example=COMMERCIAL_CLAIM,
    fixed=COMMERCIAL_CLAIM,
    example_context={"auths": [{**EXAMPLE_AUTH, "end_date": "2026-03-10"}]},
    fixed_context={"auths": [EXAMPLE_AUTH]},
    example_note="The authorization ends on 2026-03-10, eight days after the service, with one session left.",
    sources=["RULES.md section 7 (warn 14 days before expiry)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    window = timedelta(days=ctx.policy.authorization.expiry_warning_days)
    for number, idxs in claim_numbers(ctx):
        a = record_for(ctx, number)
        if a is None or a.status != "approved" or not a.start_date <= ctx.dos <= a.end_date:
            continue
        left = None if a.sessions is None else a.sessions - len(used_dates(ctx, number))
        if a.end_date - ctx.dos <= window and (left is None or left > 0):
            yield Hit(
                f"Authorization {number} ends on {a.end_date.isoformat()}"
                + ("" if left is None else f" with {left} session(s) left")
                + ".",
                line=idxs[0] if idxs else None,
                fix="Book the remaining sessions before the end date or ask the payer for an extension.",
            )
