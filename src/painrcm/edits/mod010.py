"""MOD010: modifier 25 on a code that is not an E/M visit."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip, remove_modifier
from painrcm.model import Severity

EDIT = Edit(
    id="MOD010",
    severity=Severity.ERROR,
    applies_when=("mod:25",),
    title="Modifier 25 on a code that is not an E/M visit",
    what="Finds modifier 25 on any line whose code is not an evaluation and management (E/M) visit.",
    why="Modifier 25 says 'this visit was separate from the procedure done the same day'; it only has a meaning "
    "on the E/M line. On a procedure, drug or imaging line it is an invalid modifier for the code and the "
    "line is rejected (CO-4).",
    example={
        "evaluation": {"code": "99214", "separately_identifiable": True},
        "lines": [
            {"code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64483", "modifiers": ["RT", "25"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    fixed={
        "evaluation": {"code": "99214", "separately_identifiable": True},
        "lines": [
            {"code": "99214", "modifiers": ["25"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    example_note="A separately documented visit and a right L5 transforaminal epidural on the same day; the 25 "
    "was put on the injection instead of the visit. (Moving 25 to the E/M is BUN004's fix.)",
    sources=["RULES.md section 3 (modifier 25 belongs on E/M codes only)", "EDITS.md MOD010"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for i, line, info in ctx.indexed():
        if "25" not in line.modifiers:
            continue
        if info is None:
            yield Skip(
                f"{line.code} (line {i + 1}) is not in painrcm's code table, so whether it is an E/M visit "
                "that may carry 25 is unknown"
            )
            continue
        if info.kind == "em":
            continue
        yield Hit(
            f"Line {i + 1} ({line.code}) carries modifier 25, which belongs only on an E/M visit; the payer will "
            "reject the line for an invalid modifier.",
            line=i,
            fix=f"Remove 25 from line {i + 1}.",
            ops=(remove_modifier(i, "25"),),
        )
