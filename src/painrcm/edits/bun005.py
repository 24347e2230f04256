from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.model import Severity

EDIT = Edit(
    id="BUN005",
    severity=Severity.WARNING,
    applies_when=("kind:em+mod:25",),
    title="Modifier 25 without a documented separately identifiable visit",
    what="Finds a visit line (99202-99215) carrying modifier 25 when the encounter documents that the "
    "evaluation was not separately identifiable from the procedure (evaluation.separately_identifiable is "
    "false).",
    why="Modifier 25 tells the payer the visit was significant work beyond the routine pre-procedure "
    "assessment. When the note does not support that, the visit is paid on a claim that an audit will take "
    "back (with interest); modifier 25 on procedure days is a standing audit target.",
    example={
        "evaluation": {"code": "99213", "separately_identifiable": False},
        "lines": [
            {"code": "99213", "modifiers": ["25"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    fixed={
        "evaluation": {"code": "99213", "separately_identifiable": False},
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="The visit was only the pre-injection check; it is part of the injection and is not billed.",
    sources=[
        "RULES.md section 4 (same-day E/M)",
        "Medicare Claims Processing Manual ch. 12, section 30.6.6 (modifier 25)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    ev = ctx.encounter.evaluation
    for i, line, info in ctx.indexed():
        if info is None or info.kind != "em" or "25" not in line.modifiers:
            continue
        if ctx.line_dos(i) != ctx.dos:
            yield Skip(
                f"line {i + 1} ({line.code}) is dated {ctx.line_dos(i).isoformat()}, a date the "
                "encounter's evaluation does not document"
            )
            continue
        if ev is None or ev.separately_identifiable is None:
            yield Skip(
                f"line {i + 1} ({line.code}-25): the encounter does not say whether the evaluation was "
                "separately identifiable (evaluation.separately_identifiable)"
            )
            continue
        if ev.separately_identifiable is False:
            yield Hit(
                f"Visit {line.code} (line {i + 1}) carries modifier 25, but the encounter documents no "
                "evaluation beyond the pre-procedure assessment; the visit is at risk of denial or recoupment "
                "on review.",
                line=i,
                fix=f"Remove line {i + 1} ({line.code}) unless the note is amended to document a significant, "
                "separately identifiable evaluation.",
            )
