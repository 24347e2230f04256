from collections.abc import Iterator

from painrcm.edits._examples_history import line, visit
from painrcm.edits.authorization import COMMERCIAL_CLAIM, EXAMPLE_AUTH, claim_numbers, record_for, used_dates
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

_PAYER = COMMERCIAL_CLAIM["payer"]

EDIT = Edit(
    id="AUT006",
    severity=Severity.ERROR,
    applies_when=("auth_number",),
    title="Authorization's approved sessions are used up",
    what="Counts the dates of service that used the authorization (earlier claims in history and this one) "
    "against the number of sessions it approved.",
    why="Once the approved sessions are used, further services under the same number are unauthorized.",
    example=COMMERCIAL_CLAIM,
    fixed=COMMERCIAL_CLAIM,
    example_context={
        "auths": [EXAMPLE_AUTH],
        "history": [
            visit("H-1", "2026-01-10", line("64483", "RT"), payer=_PAYER, authorization_number="PA-7001"),
            visit("H-2", "2026-02-07", line("64483", "RT"), payer=_PAYER, authorization_number="PA-7001"),
        ],
    },
    fixed_context={
        "auths": [EXAMPLE_AUTH],
        "history": [
            visit("H-1", "2026-01-10", line("64483", "RT"), payer=_PAYER, authorization_number="PA-7001")
        ],
    },
    example_note="PA-7001 approved two sessions, used on 2026-01-10 and 2026-02-07.",
    sources=["RULES.md section 7 (sessions count dates of service, this claim included)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for number, idxs in claim_numbers(ctx):
        a = record_for(ctx, number)
        if a is None or a.sessions is None:
            continue
        dates = sorted(used_dates(ctx, number))
        if len(dates) > a.sessions:
            yield Hit(
                f"Authorization {number} approved {a.sessions} session(s); this is session {len(dates)} "
                f"({', '.join(d.isoformat() for d in dates)}).",
                line=idxs[0] if idxs else None,
                fix="Request more sessions from the payer before billing.",
            )
