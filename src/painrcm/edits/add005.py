from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from painrcm.codes.tables import CodeInfo
from painrcm.edits.add002 import SIDE_WORD, side_key, side_set, whole_units
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove, replace, set_code
from painrcm.edits.sides import matches_note
from painrcm.model import Severity

_FACET_THERAPEUTIC = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "levels": ["L4-L5", "L5-S1"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
}

EDIT = Edit(
    id="ADD005",
    severity=Severity.ERROR,
    applies_when=("addon",),
    title="Second-level and third-level facet add-on codes swapped",
    what="For facet joint injections and medial branch blocks, checks that the second level is billed with "
    "the second-level add-on (64491 neck/upper back, 64494 low back) and the third and further levels "
    "with the third-level add-on (64492, 64495): it finds the third-level code billed with no "
    "second-level code (only two levels billed), and the second-level code billed twice or with 2 units "
    "where the third-level code belongs.",
    why="The facet add-ons are level-specific and allow one unit a day each. A third-level code with no "
    "second level, or a second-level code repeated for the third level, does not match the levels "
    "billed: the line is denied and the level it stands for goes unpaid.",
    example={
        "diagnoses": ["M47.816"],
        "procedures": [_FACET_THERAPEUTIC],
        "lines": [
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64495", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["M47.816"],
        "procedures": [_FACET_THERAPEUTIC],
        "lines": [
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64494", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    example_note="Right L4-L5 and L5-S1 facet injections are two levels: the second is 64494, not 64495.",
    sources=[
        "RULES.md section 2 (facet codes: second level, third and any further level)",
        "CMS MUE table (64491, 64492, 64494, 64495: 1 unit per day)",
    ],
)


def _facet_addon_pairs(ctx: ClaimContext) -> list[tuple[CodeInfo, CodeInfo]]:
    """(second-level, third-level) add-on pairs that share a first-level code."""
    return list(ctx.reference.level_addon_pairs)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    billed = {ln.code for ln in ctx.lines}
    for c2, c3 in _facet_addon_pairs(ctx):
        if c2.code not in billed and c3.code not in billed:
            continue  # both checks below start from a line of c3 or of c2
        primaries = set(c2.addon_of)

        def on(code_set: set[str], day: date, sides: frozenset[str]) -> list[int]:
            return [
                j
                for j, ln in enumerate(ctx.lines)
                if ln.code in code_set and ctx.line_dos(j) == day and side_set(ln) & sides
            ]

        # third-level code where only two levels are billed: first level present, second level absent
        for i, line in enumerate(ctx.lines):
            if line.code != c3.code:
                continue
            day, sides = ctx.line_dos(i), side_set(line)
            if on({c2.code}, day, sides) or not on(primaries, day, sides):
                continue
            if matches_note(ctx, i):
                continue  # billed as coded from the note (sides that differ): the levels are right
            yield Hit(
                f"{c3.code} (third and further facet levels) is billed on line {i + 1} for "
                f"{SIDE_WORD[side_key(line)]} on {day.isoformat()}, but no second level ({c2.code}) is "
                f"billed: with the first level that is two levels, and the second level is {c2.code}. "
                f"{c3.code} will be denied.",
                line=i,
                fix=f"Change line {i + 1} from {c3.code} to {c2.code}.",
                ops=(set_code(i, c2.code),),
            )

        # second-level code repeated (or 2+ units) where the third-level code belongs
        groups: dict[tuple[date, str | None], list[int]] = defaultdict(list)
        for i, line in enumerate(ctx.lines):
            if line.code == c2.code and not ctx.claimed("units", i) and whole_units(line) is not None:
                groups[(ctx.line_dos(i), side_key(line))].append(i)
        for (day, side), idx in groups.items():
            total = sum(whole_units(ctx.lines[i]) or 0 for i in idx)
            # the note is read only for a repeat (a session's lines share one date, so one answer)
            if total <= 1 or matches_note(ctx, idx[0]):
                continue
            sides = frozenset().union(*(side_set(ctx.lines[i]) for i in idx))
            if on({c3.code}, day, sides):
                continue  # the third level is billed: the extra units are ADD004's unit problem
            for i in idx:
                ctx.claim("units", i)
            first = ctx.lines[idx[0]]
            ops: tuple[FixOp, ...]
            if len(idx) == 2 and total == 2:
                ops = (set_code(idx[1], c3.code),)
                fix = f"Change line {idx[1] + 1} from {c2.code} to {c3.code}."
                where = f"on lines {idx[0] + 1} and {idx[1] + 1}"
                at = idx[1]
            else:
                new = [
                    first.model_copy(update={"units": 1}, deep=True),
                    first.model_copy(update={"code": c3.code, "units": 1}, deep=True),
                ]
                ops = (replace(idx[0], new), *(remove(j) for j in idx[1:]))
                fix = (
                    f"Bill {c2.code} x 1 for the second level and {c3.code} x 1 for the third and any "
                    "further levels."
                )
                where = (
                    f"with {total} units on line {idx[0] + 1}"
                    if len(idx) == 1
                    else f"on lines {', '.join(str(j + 1) for j in idx)}"
                )
                at = idx[-1]
            yield Hit(
                f"{c2.code} (second facet level) is billed {where} for {SIDE_WORD[side]} on "
                f"{day.isoformat()}. It covers the second level only, once a day; the third and any "
                f"further levels are {c3.code}, so the repeated {c2.code} will be denied.",
                line=at,
                fix=fix,
                ops=ops,
            )
