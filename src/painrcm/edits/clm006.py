from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.edits.claim_facts import still_unreadable
from painrcm.model import X12_DECIMAL_FORM, Severity

EDIT = Edit(
    id="CLM006",
    severity=Severity.ERROR,
    applies_when=("unreadable_number",),
    title="Amount or quantity that is not an X12 number",
    what="Reports each amount or quantity of an 837P claim (CLM02 total charge, SV102 line charge, SV104 "
    "units) written in a form X12 does not allow: a digit separator (1_000, 1,000), a plus sign (+5), an "
    "exponent (1E5), spaces, words (inf, nan) or non-ASCII digits. The claim is still read and scrubbed; "
    "the value is left unknown (never guessed), so the edits that need it list it under not checked. "
    "Envelope and control elements (ISA, GS, ST, SE, GE, IEA) hold no claim data and stay the reader's "
    "file-level checks.",
    why="The clearinghouse's or payer's syntax check (the 999 acknowledgement) rejects the claim, or the "
    "whole transaction set, before anyone prices it; a looser reader may instead take 1_000 as 1000 or "
    "1E5 as 100000 and pay or report a value nobody billed.",
    example={
        "unreadable_numbers": [
            {
                "place": "segment 23 (CLM)",
                "element": "CLM02",
                "found": "1_000",
                "expected": X12_DECIMAL_FORM,
                "line": None,
            }
        ],
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 1000}
        ],
    },
    fixed={
        "total_charge": 1000,
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 1000}
        ],
    },
    example_note="The billing system wrote the total charge CLM02 as 1_000 (a programming language's digit "
    "separator): painrcm reads the claim with its total unknown and reports where and what is expected; "
    "written as 1000 the claim passes.",
    sources=[
        "ASC X12 005010X222A1, appendix B (data element types: R decimal, N0 numeric; no triad separators, no plus sign)",
        "ASC X12 005010X231A1 (999): IK4 element errors reject the transaction set",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for n in still_unreadable(ctx.encounter):
        what = {"CLM02": "claim total charge", "SV102": "line charge", "SV104": "units"}.get(
            n.element, "value"
        )
        on = "" if n.line is None else f"line {n.line}, "
        yield Hit(
            f"{n.place}, {on}{n.element} ({what}) holds {n.found!r}, which is not an X12 number: expected "
            f"{n.expected}. The payer's syntax check rejects the claim; painrcm left the {what} unknown.",
            line=None if n.line is None else n.line - 1,
            fix=f"Write {n.element} as plain digits (e.g. 1000 or 1000.50) in the billing system and send "
            "the claim again.",
        )
