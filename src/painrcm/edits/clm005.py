from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.claim_facts import unreadable
from painrcm.model import Severity

EDIT = Edit(
    id="CLM005",
    severity=Severity.ERROR,
    applies_when=("total_charge", "line_charge", "unreadable_number"),
    title="Negative charge on a line or the claim",
    what="Finds a negative line charge (SV102) or claim total (CLM02).",
    why="A professional claim bills what the services cost: a negative amount is rejected by the payer's "
    "front end (refunds and corrections go on a corrected or void claim, not as negative lines).",
    example={
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": -900}
        ]
    },
    fixed={
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 900}
        ]
    },
    example_note="A minus sign slipped into the line charge.",
    sources=["ASC X12 005010X222A1, CLM02 and SV102 (monetary amounts of the services billed)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for element in ("CLM02", "SV102"):
        for n in unreadable(ctx.encounter, element):
            where = "the claim total" if n.line is None else f"line {n.line}'s charge"
            yield Skip(f"{where} ({element}) is not an X12 number (CLM006), so its sign is unknown")
    total = ctx.encounter.total_charge
    if total is not None and total < 0:
        yield Hit(f"The claim total {total:.2f} is negative.", fix="Correct the claim total.")
    for i, ln in enumerate(ctx.lines):
        if ln.charge is not None and ln.charge < 0:
            yield Hit(
                f"Line {i + 1} ({ln.code}) has a negative charge {ln.charge:.2f}.",
                line=i,
                code=ln.code,
                fix=f"Correct the charge of line {i + 1}.",
            )
