"""MOD007: RT and LT lines of one bilateral code where the payer wants one line with 50."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove, replace, side_by_modifiers
from painrcm.edits.mod001 import convention, indicator, merge_pointers, setting, with_side
from painrcm.edits.sides import describe, level_family, matches_note, note_lines, rebuild_ops, side_units
from painrcm.model import Line, Severity

_FACET = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "levels": ["L4-L5", "L5-S1"],
    "laterality": "bilateral",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
}

EDIT = Edit(
    id="MOD007",
    severity=Severity.ERROR,
    applies_when=("mod:RT+mod:LT+repeat_code",),
    title="RT and LT lines where the payer wants one line with modifier 50",
    what="Finds a bilateral procedure (fee-schedule bilateral indicator 1) billed as a right (RT) line and a left "
    "(LT) line on the same date where the payer's policy for this setting reports both sides as one line "
    "with modifier 50 and 1 unit (Medicare professional claims in every place of service; the commercial "
    "default outside POS 24), for a level done on both sides. When the note documents different levels on "
    "each side (right L4, left L5), RT and LT lines of one code are primary plus add-on, not a 50 merge: "
    "MOD007 stays quiet when the lines are as coded from the note, and its fix rebuilds the session from "
    "the note (without a note it offers none: a fix never invents a bilateral level).",
    why="The payer prices a bilateral procedure once, at 150%, from the 50 line. Two side lines look like the "
    "same service twice: the second is denied as a duplicate (CO-18) or both are cut back, and the "
    "claim must be corrected and resubmitted.",
    example={
        "procedures": [_FACET],
        "diagnoses": ["M47.816"],
        "lines": [
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64493", "modifiers": ["LT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64494", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "procedures": [_FACET],
        "diagnoses": ["M47.816"],
        "lines": [
            {"code": "64493", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64494", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    example_note="Bilateral L4-L5 and L5-S1 facet injections in the office for a Medicare patient. The first "
    "level was billed as 64493-RT and 64493-LT; Medicare wants 64493-50, 1 unit.",
    sources=[
        "RULES.md section 3 (Medicare professional claims: 50 in every place of service)",
        "CMS physician fee schedule bilateral surgery indicator 1",
        "EDITS.md MOD007",
    ],
)


_SIDE_MODIFIER: dict[str | None, str] = {"right": "RT", "left": "LT"}


def _one_side(line: Line) -> str | None:
    """RT or LT when the line is billed for one side only (not 50, not both, not none)."""
    return _SIDE_MODIFIER.get(side_by_modifiers(line.modifiers))


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    groups: dict[tuple[str, object], dict[str, list[int]]] = {}
    for i, line in enumerate(ctx.lines):
        side = _one_side(line)
        if side is None:
            continue
        groups.setdefault((line.code, ctx.line_dos(i)), {"RT": [], "LT": []})[side].append(i)
    for (code, _), g in groups.items():
        if not g["RT"] or not g["LT"]:
            continue
        idx = sorted(g["RT"] + g["LT"])
        if indicator(ctx.reference, code) != 1:
            continue  # not a bilateral procedure (MOD002), or unknown (MOD002 says so)
        if any(convention(ctx, i) != "modifier_50" for i in idx):
            continue
        if any(ctx.claimed("side", i) for i in idx):
            continue  # ADD002: the first-level code repeated for a level on the other side
        first = idx[0]
        coded = note_lines(ctx, first)
        if coded is not None:
            if matches_note(ctx, first):
                continue  # different levels on each side, billed as coded from the note
            c_right, _ = side_units([ln for ln in coded if "50" in ln.modifiers], code)
            if not c_right:
                continue  # the note has no level of this code on both sides: not a 50 merge
        for i in idx:
            ctx.claim("side", i)
        listed = ", ".join(str(i + 1) for i in idx)
        ops: tuple[FixOp, ...] | None = None
        rebuilt = rebuild_ops(ctx, first)
        if not level_family(ctx.info(first)) and len(g["RT"]) == 1 and len(g["LT"]) == 1:
            # a code without levels (SI joint, a nerve): RT and LT are the same site on both sides
            pointers: list[int] | None = None
            for i in idx:
                pointers = merge_pointers(pointers, ctx.lines[i].diagnosis_pointers)
            merged = with_side(ctx.lines[first], "50", 1)
            merged.diagnosis_pointers = pointers
            ops = (replace(first, [merged]), *(remove(i) for i in idx[1:]))
            fix = f"Merge lines {listed} into one line {code}-50, 1 unit."
        elif rebuilt is not None:
            ops, new_lines = rebuilt
            fix = f"Bill {describe(new_lines)} (coded from the note) in place of the session's lines."
        else:
            fix = (
                f"Merge the RT and LT lines of {code} into one {code}-50 line, 1 unit, for each level done on "
                "both sides; a level done on one side only keeps its RT or LT (the note decides, so there is "
                "no automatic fix without it)."
            )
        yield Hit(
            f"{code} is billed as separate RT and LT lines (lines {listed}), but {setting(ctx, first)} wants a "
            "bilateral procedure on one line with modifier 50 and 1 unit; the second side will be denied as a "
            "duplicate.",
            line=first,
            fix=fix,
            ops=ops,
        )
