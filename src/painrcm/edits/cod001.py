from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="COD001",
    severity=Severity.ERROR,
    applies_when=("kind:?", "dated"),
    title="Procedure or HCPCS code unknown on the date of service",
    what="Checks every line's code against painrcm's code table and the loaded CMS files "
    "(NCCI, MUE and the full physician fee schedule), as of the line's date of service. A code the fee "
    "schedule knows but painrcm's pain table does not is a valid code without pain-specific rules.",
    why="A code the payer's system does not know for that date is rejected before anyone reads the claim: "
    "a typo, a retired code or a code from next year's book all come back unpaid.",
    example={"lines": [{"code": "64438", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}]},
    fixed={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}]},
    example_note="64438 is not a code; the note documents a lumbar transforaminal injection (64483).",
    sources=["RULES.md section 2", "CMS NCCI, MUE and MPFS files (code lists)", "EDITS.md COD001"],
)


def _validity(ctx: ClaimContext, code: str) -> str:
    info = ctx.reference.info(code)
    if info is None:
        return ""
    start = info.effective_from.isoformat() if info.effective_from else "its introduction"
    end = info.effective_to.isoformat() if info.effective_to else "today"
    return f" (painrcm's code table has it from {start} to {end})"


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for i, line in enumerate(ctx.lines):
        dos = ctx.line_dos(i)
        if not ctx.reference.known(line.code, dos):
            yield Hit(
                f"{line.code} is not a procedure/HCPCS code on {dos.isoformat()}{_validity(ctx, line.code)} "
                f"in painrcm's code table or the loaded CMS tables ({ctx.reference.cms_tables()}).",
                line=i,
                fix="Check the code against the procedure note. If the note supports it, the loaded tables "
                "may predate the code: import CMS's current files (`painrcm data import mpfs`, `mue`, `ptp`; "
                "`painrcm data show` lists what is loaded).",
            )
