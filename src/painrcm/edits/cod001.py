from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="COD001",
    severity=Severity.ERROR,
    title="Procedure or HCPCS code unknown on the date of service",
    what="Checks every line's code against painrcm's code table and the loaded CMS files "
    "(NCCI, MUE, fee-schedule indicators), as of the line's date of service.",
    why="A code the payer's system does not know for that date is rejected before anyone reads the claim: "
    "a typo, a retired code or a code from next year's book all come back unpaid.",
    example={"lines": [{"code": "64438", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}]},
    fixed={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}]},
    example_note="64438 is not a code; the note documents a lumbar transforaminal injection (64483).",
    sources=["RULES.md section 2", "CMS NCCI, MUE and MPFS files (code lists)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for i, line in enumerate(ctx.lines):
        if not ctx.reference.known(line.code, ctx.line_dos(i)):
            yield Hit(
                f"{line.code} is not a valid procedure/HCPCS code on {ctx.line_dos(i).isoformat()} "
                "in painrcm's code table or the loaded CMS files.",
                line=i,
                fix="Correct the code from the procedure note.",
            )
