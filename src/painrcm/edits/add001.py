from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="ADD001",
    severity=Severity.ERROR,
    applies_when=("addon",),
    title="Add-on code without its primary code",
    what="Checks that every add-on code (64480, 64484, 64491/64492, 64494/64495, 64634, 64636, 22512, "
    "22515) has one of its primary codes on the same claim and date.",
    why="An add-on code describes extra work on top of a primary procedure; billed alone it has nothing "
    "to attach to and is denied.",
    example={
        "lines": [{"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
        "procedures": [],
    },
    fixed={
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
        "procedures": [],
    },
    example_note="Two transforaminal levels were done but only the add-on was billed.",
    sources=["RULES.md section 2", "EDITS.md ADD001 (the add-on/primary list)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for i, line, info in ctx.indexed():
        if info is None or not info.addon_of:
            continue
        has_primary = any(
            other.code in info.addon_of and ctx.same_day(i, j) for j, other in enumerate(ctx.lines) if j != i
        )
        if not has_primary:
            primaries = " or ".join(info.addon_of)
            yield Hit(
                f"Add-on {line.code} is billed without its primary code {primaries} on the same date.",
                line=i,
                fix=f"Bill {primaries} for the first level, or remove {line.code}.",
            )
