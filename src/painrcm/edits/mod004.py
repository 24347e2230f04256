"""MOD004: a one-sided procedure billed without RT, LT or 50."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, add_modifier
from painrcm.edits.mod001 import SIDE_WORD, convention, documented_side, indicator, setting, split_op
from painrcm.edits.sides import describe, level_family, rebuild_ops
from painrcm.model import Severity

EDIT = Edit(
    id="MOD004",
    severity=Severity.ERROR,
    applies_when=("sideless",),
    title="One-sided procedure without RT, LT or 50",
    what="Finds lines for procedures done on a side (transforaminal epidurals, facet injections and medial "
    "branch blocks, radiofrequency ablation, SI joint injections, peripheral nerve blocks) that carry none "
    "of RT, LT or 50. The automatic fix adds the side the procedure note documents: RT or LT, or for both "
    "sides 50 or separate RT and LT lines, as the payer wants.",
    why="Without a side the payer cannot tell whether this is the right side, the left side or both, nor "
    "match it against earlier and later claims: the line is returned as invalid (CO-4 / N519) or denied "
    "as a duplicate of a later claim for the other side.",
    example={"lines": [{"code": "64483", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}]},
    fixed={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}]},
    example_note="A right L5 transforaminal epidural billed as 64483 with no side; the note documents the "
    "right side, so the fix adds RT.",
    sources=[
        "RULES.md section 3 (one-sided procedures always carry RT or LT)",
        "EDITS.md MOD004",
        "code table: one_sided",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    missing = [
        i
        for i, line, info in ctx.indexed()
        if info is not None and info.one_sided and not line.has("RT", "LT", "50")
    ]
    for i in missing:
        line = ctx.lines[i]
        ctx.claim("side", i)
        msg = (
            f"Line {i + 1} ({line.code}) is a one-sided procedure but carries no RT, LT or 50; the payer "
            "cannot tell which side was treated and will return the line as invalid."
        )
        side = documented_side(ctx, i)
        ops: tuple[FixOp, ...] | None = None
        rebuilt = rebuild_ops(ctx, i) if side is None and level_family(ctx.info(i)) else None
        if rebuilt is not None:
            # the note documents different levels on each side: the session's lines come from the note
            ops, new_lines = rebuilt
            fix = f"Bill {describe(new_lines)} (coded from the note) in place of the session's lines."
        elif side in SIDE_WORD:
            fix = f"Add {SIDE_WORD[side]} to line {i + 1}: the note documents the {side} side."
            ops = (add_modifier(i, SIDE_WORD[side]),)
        elif side == "bilateral":
            ind = indicator(ctx.reference, line.code)
            conv = convention(ctx, i)
            # Two side-less lines of the same code and date for a bilateral procedure are its two sides.
            twins = [j for j in missing if ctx.lines[j].code == line.code and ctx.same_day(i, j)]
            if ind != 1:
                fix = (
                    f"The note documents both sides, but {line.code} is not priced as a bilateral procedure; "
                    f"check with the payer how to report line {i + 1}."
                )
            elif conv == "modifier_50":
                fix = (
                    f"Add 50 to line {i + 1}: the note documents both sides, and {setting(ctx, i)} wants 50."
                )
                ops = (add_modifier(i, "50"),) if len(twins) == 1 else None
            elif len(twins) == 1:
                fix = (
                    f"Replace line {i + 1} with {line.code}-RT and {line.code}-LT: the note documents both "
                    f"sides, and {setting(ctx, i)} wants two lines."
                )
                ops = (split_op(ctx, i),)
            elif len(twins) == 2:
                mod = "RT" if i == twins[0] else "LT"
                fix = f"Add {mod} to line {i + 1}: the note documents both sides, billed here as two lines."
                ops = (add_modifier(i, mod),)
            else:
                fix = f"Add RT or LT to each {line.code} line as the note documents."
            if len(twins) > 1 and conv == "modifier_50" and ind == 1:
                fix = f"Bill {line.code} once with 50 (lines {', '.join(str(j + 1) for j in twins)})."
        elif not ctx.documented:
            fix = f"Add RT or LT (or 50 for both sides) to line {i + 1} as the procedure note documents."
        else:
            fix = (
                f"Add RT or LT (or 50 for both sides) to line {i + 1}; the documented procedures do not say "
                "which side this line is."
            )
        yield Hit(msg, line=i, fix=fix, ops=ops)
