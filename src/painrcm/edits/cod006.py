from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.claim_facts import unreadable
from painrcm.model import Severity

EDIT = Edit(
    id="COD006",
    severity=Severity.ERROR,
    applies_when=("odd_units",),
    title="Units missing, zero or not a whole number",
    what="Checks that every line gives its units (days or units of service) as a whole number of at least 1.",
    why="A line with no units, zero units or a fraction (such as 1.5) cannot be priced: the payer rejects "
    "it. Drug units are whole billing units of the HCPCS descriptor (e.g. 4 units of J3301 for 40 mg).",
    example={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 0, "diagnosis_pointers": [1, 2]}]},
    fixed={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}]},
    example_note="Units were left at 0; one transforaminal level was done.",
    sources=["ASC X12 837P 005010X222A1 SV104 (service unit count)", "CMS-1500 item 24G"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    unread = {n.line for n in unreadable(ctx.encounter, "SV104")}
    for i, line in enumerate(ctx.lines):
        u = line.units
        if u is None and i + 1 in unread:
            yield Skip(f"line {i + 1}'s units (SV104) are not an X12 number (CLM006), so they are unknown")
            continue
        if u is None:
            problem = "gives no units"
        elif u <= 0:
            problem = f"gives {u:g} units"
        elif not float(u).is_integer():
            problem = f"gives {u:g} units, which is not a whole number"
        else:
            continue
        yield Hit(
            f"Line {i + 1} ({line.code}) {problem}; the payer cannot price the line and will reject it.",
            line=i,
            fix=f"Enter the whole number of units documented for {line.code} on line {i + 1}.",
        )
