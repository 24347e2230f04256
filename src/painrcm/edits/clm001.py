from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.claim_facts import unreadable
from painrcm.model import Severity

EDIT = Edit(
    id="CLM001",
    severity=Severity.ERROR,
    applies_when=("total_charge", "unreadable_number"),
    title="Claim total differs from the sum of the line charges",
    what="Compares the claim's total charge (837P CLM02) with the sum of its line charges (SV102). Runs "
    "when the claim gives a total and every line a charge.",
    why="Payers and clearinghouses reject a claim whose total does not equal the sum of its lines before "
    "anyone looks at the services: the claim comes back unpaid and has to be sent again.",
    example={
        "total_charge": 1000,
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 900},
            {"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 300},
        ],
    },
    fixed={
        "total_charge": 1200,
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 900},
            {"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 300},
        ],
    },
    example_note="Two levels billed at 900 and 300 under a total of 1000: the total must be 1200.",
    sources=["ASC X12 005010X222A1, CLM02 (total claim charge amount: the sum of the service line charges)"],
)


def _cents(x: float) -> int:
    return round(x * 100)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    total = ctx.encounter.total_charge
    if total is None:
        if unreadable(ctx.encounter, "CLM02"):
            yield Skip("the claim total (CLM02) is not an X12 number (CLM006), so it is unknown")
        return
    charges = [ln.charge for ln in ctx.lines]
    if any(c is None for c in charges):
        if unreadable(ctx.encounter, "SV102"):
            yield Skip("a line charge (SV102) is not an X12 number (CLM006), so the lines' sum is unknown")
        else:
            yield Skip("not every line has a charge, so the lines' sum is unknown")
        return
    lines_sum = sum(_cents(c) for c in charges if c is not None)
    if _cents(total) != lines_sum:
        yield Hit(
            f"The claim total {total:.2f} (CLM02) is not the sum of the line charges "
            f"{lines_sum / 100:.2f}; the claim will be rejected before it is priced.",
            fix=f"Set the claim total to {lines_sum / 100:.2f}, or correct the line charges.",
        )
