from collections.abc import Iterator

from painrcm.edits.authorization import COMMERCIAL_CLAIM, EXAMPLE_AUTH, claim_numbers, record_for
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="AUT003",
    severity=Severity.ERROR,
    applies_when=("auth_number",),
    title="Date of service outside the authorization, or authorization not approved",
    what="Checks the authorization's validity window (start and end dates, inclusive) against the date of "
    "service, and that its status is approved (not pending or denied).",
    why="An authorization is good only for its dates and only once approved; services outside it are "
    "denied as unauthorized.",
    example=COMMERCIAL_CLAIM,
    fixed=COMMERCIAL_CLAIM,
    example_context={"auths": [{**EXAMPLE_AUTH, "start_date": "2025-11-01", "end_date": "2026-02-28"}]},
    fixed_context={"auths": [EXAMPLE_AUTH]},
    example_note="The authorization ended on 2026-02-28, two days before the service.",
    sources=["RULES.md section 7"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for number, idxs in claim_numbers(ctx):
        a = record_for(ctx, number)
        if a is None:
            continue
        line = idxs[0] if idxs else None
        if a.status != "approved":
            yield Hit(
                f"Authorization {number} is {a.status}, not approved.",
                line=line,
                fix="Wait for the approval (pending) or appeal/obtain a new authorization (denied).",
            )
        elif not a.start_date <= ctx.dos <= a.end_date:
            yield Hit(
                f"The date of service {ctx.dos.isoformat()} is outside authorization {number}'s window "
                f"{a.start_date.isoformat()} to {a.end_date.isoformat()}.",
                line=line,
                fix="Obtain an extension or a new authorization covering the date of service.",
            )
