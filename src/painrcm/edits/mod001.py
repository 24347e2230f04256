"""MOD001: modifier 50 together with RT or LT on the same line.

This module also holds the small side helpers the other MOD edits share (bilateral indicator,
the line's side convention, the documented side, splitting a line into RT and LT lines).
"""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.codes.tables import CodeInfo, Reference
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove_modifier, replace
from painrcm.model import Line, Procedure, Severity

SIDE_WORD = {"right": "RT", "left": "LT"}
NOT_BILATERAL = frozenset({0, 2, 9})  # fee-schedule indicators under which 50 is not payable


# --- shared helpers (used by MOD002-MOD011) ----------------------------------------------------
def indicator(ref: Reference, code: str) -> int | None:
    """The bilateral indicator of `code`.

    The fee-schedule file wins, except where it says 9 (not applicable: e.g. G0260, a status-E code paid
    on ASC facility claims outside the physician fee schedule) and painrcm's code table states the
    indicator explicitly."""
    value = ref.bilateral_indicator(code)
    info = ref.info(code)
    if value == 9 and info is not None and info.bilateral_indicator is not None:
        return info.bilateral_indicator
    return value


def convention(ctx: ClaimContext, i: int) -> str:
    """How this payer wants line i's code reported when both sides were done: modifier_50 or rt_lt_lines."""
    info = ctx.info(i)
    kind = ctx.encounter.practice.kind
    pos = ctx.line_pos(i)
    if info is not None and info.is_addon:
        return ctx.policy.addon_convention(kind, pos)
    return ctx.policy.convention(kind, pos)


def setting(ctx: ClaimContext, i: int) -> str:
    """Words for the payer and setting of line i, for messages."""
    who = "Medicare" if ctx.encounter.payer.plan == "medicare" else f"Payer {ctx.encounter.payer.id}"
    where = (
        "ASC facility claim" if ctx.encounter.practice.kind == "asc" else f"claim at POS {ctx.line_pos(i)}"
    )
    return f"{who} ({where})"


def matching_procedures(ctx: ClaimContext, info: CodeInfo | None) -> list[Procedure]:
    """Documented procedures that line's code can describe: same family, region and nerve when known."""
    if info is None or info.family is None:
        return []
    out = []
    for proc, family, regions in zip(
        ctx.procedures, ctx.procedure_families, ctx.procedure_region_groups, strict=True
    ):
        if family != info.family:
            continue
        if info.region is not None and regions and info.region not in regions:
            continue
        if info.nerve is not None and proc.nerve is not None and proc.nerve != info.nerve:
            continue
        out.append(proc)
    return out


def documented_side(ctx: ClaimContext, i: int) -> str | None:
    """right, left or bilateral when the note documents one side for line i's procedure; else None."""
    procs = matching_procedures(ctx, ctx.info(i))
    if not procs:
        return None
    sides = {p.laterality for p in procs}
    if None in sides:
        return None
    if len(sides) == 1:
        return sides.pop()
    # A left and a right procedure that are otherwise the same are one bilateral procedure.
    if sides == {"left", "right"} and len(procs) == 2:
        a, b = (p.model_dump(exclude={"laterality"}) for p in procs)
        if a == b:
            return "bilateral"
    return None


def per_side_units(ctx: ClaimContext, i: int) -> float:
    """Units each side line keeps when a bilateral line is split: the levels for an 'each additional
    level' add-on, else 1."""
    info = ctx.info(i)
    units = ctx.lines[i].units
    if info is not None and info.level == "each" and units and float(units).is_integer() and units > 0:
        return units
    return 1


def others(line: Line) -> list[str]:
    return [m for m in line.modifiers if m not in ("50", "RT", "LT")]


def with_side(line: Line, side: str | None, units: float | None = None) -> Line:
    """A copy of `line` with `side` (RT, LT, 50 or None) as its only side modifier."""
    mods = ([side] if side else []) + others(line)
    update: dict[str, object] = {"modifiers": mods}
    if units is not None:
        update["units"] = units
    return line.model_copy(deep=True, update=update)


def split_op(ctx: ClaimContext, i: int) -> FixOp:
    line = ctx.lines[i]
    units = per_side_units(ctx, i)
    return replace(i, [with_side(line, "RT", units), with_side(line, "LT", units)])


def merge_pointers(a: list[int] | None, b: list[int] | None) -> list[int] | None:
    """Both lines' diagnosis pointers, in order, without repeats (at most four)."""
    if not a and not b:
        return a
    out: list[int] = []
    for p in [*(a or []), *(b or [])]:
        if p not in out:
            out.append(p)
    return out[:4]


def sides_on(line: Line) -> list[str]:
    return [m for m in ("RT", "LT") if m in line.modifiers]


# --- the edit ----------------------------------------------------------------------------------
EDIT = Edit(
    id="MOD001",
    severity=Severity.ERROR,
    applies_when=("mod:50",),
    title="Modifier 50 together with RT or LT on the same line",
    what="Finds lines that carry the bilateral modifier 50 and also a side modifier (RT or LT).",
    why="Modifier 50 already says 'both sides'. A line that also says 'right' or 'left' contradicts itself: "
    "payers reject it as an invalid modifier combination (CO-4) or pay it as one side only.",
    example={
        "procedures": [
            {
                "family": "facet_joint",
                "region": "lumbar",
                "target": "intraarticular",
                "purpose": "therapeutic",
                "levels": ["L4-L5"],
                "laterality": "bilateral",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["bupivacaine 0.5%"],
            }
        ],
        "diagnoses": ["M47.816"],
        "lines": [{"code": "64493", "modifiers": ["50", "RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "procedures": [
            {
                "family": "facet_joint",
                "region": "lumbar",
                "target": "intraarticular",
                "purpose": "therapeutic",
                "levels": ["L4-L5"],
                "laterality": "bilateral",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["bupivacaine 0.5%"],
            }
        ],
        "diagnoses": ["M47.816"],
        "lines": [{"code": "64493", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A bilateral L4-L5 facet injection in the office for a Medicare patient, billed 64493-50-RT. "
    "Medicare wants one line with 50 only; an ASC facility claim would instead need two lines, RT and LT.",
    sources=[
        "RULES.md section 3 (50 and RT/LT never share a line)",
        "EDITS.md MOD001",
        "payer policy: bilateral convention",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for i, line in enumerate(ctx.lines):
        if "50" not in line.modifiers:
            continue
        sides = sides_on(line)
        if not sides:
            continue
        ctx.claim("side", i)
        side_text = " and ".join(sides)
        msg = (
            f"Line {i + 1} ({line.code}) carries modifier 50 (both sides) together with {side_text}; "
            "a line cannot be bilateral and one-sided at once, so the payer will reject it."
        )
        documented = documented_side(ctx, i)
        ops: tuple[FixOp, ...]
        if documented in SIDE_WORD:
            keep = SIDE_WORD[documented]
            fix = f"The note documents the {documented} side only: bill line {i + 1} with {keep} and without 50."
            if keep in sides:
                ops = (remove_modifier(i, "50"), *(remove_modifier(i, s) for s in sides if s != keep))
            else:
                ops = (replace(i, [with_side(line, keep)]),)
        elif indicator(ctx.reference, line.code) in NOT_BILATERAL:
            # MOD002 removes the 50 from a code that is not a bilateral procedure; here only the sides go.
            fix = f"Remove {side_text} from line {i + 1}."
            ops = tuple(remove_modifier(i, s) for s in sides)
        elif convention(ctx, i) == "rt_lt_lines":
            fix = (
                f"{setting(ctx, i)} wants both sides as two lines: replace line {i + 1} "
                f"with {line.code}-RT and {line.code}-LT, without 50."
            )
            ops = (split_op(ctx, i),)
        else:
            fix = f"{setting(ctx, i)} wants both sides on one line with 50: remove {side_text} from line {i + 1}."
            ops = tuple(remove_modifier(i, s) for s in sides)
        yield Hit(msg, line=i, fix=fix, ops=ops)
