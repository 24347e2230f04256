"""MOD009: modifier 50 with units other than 1."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.add002 import has_addons
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, replace, set_units
from painrcm.edits.sides import describe, rebuild_ops
from painrcm.model import Severity

_FACET = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "levels": ["L4-L5"],
    "laterality": "bilateral",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
}

EDIT = Edit(
    id="MOD009",
    severity=Severity.ERROR,
    applies_when=("mod:50",),
    title="Modifier 50 with units other than 1",
    what="Finds lines with the bilateral modifier 50 whose units are not 1. For an 'each additional level' "
    "add-on (64480, 64484, 64634, 64636) billed 50 with several units, the fix bills one 50 line of 1 unit "
    "per level instead.",
    why="A 50 line is one bilateral procedure: the payer pays 150% of one unit. Two units on a 50 line read "
    "as four sides and are denied or cut back to one unit (CO-151 / MUE), often losing the level that was "
    "really done.",
    example={
        "procedures": [_FACET],
        "diagnoses": ["M47.816"],
        "lines": [{"code": "64493", "modifiers": ["50"], "units": 2, "diagnosis_pointers": [1]}],
    },
    fixed={
        "procedures": [_FACET],
        "diagnoses": ["M47.816"],
        "lines": [{"code": "64493", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A bilateral L4-L5 facet injection billed 64493-50 x 2 (one unit per side). With 50, one unit "
    "covers both sides.",
    sources=[
        "RULES.md section 3 (indicator 1: one line, modifier 50, 1 unit)",
        "CMS Claims Processing Manual ch. 12 section 40.7 (bilateral surgery)",
        "EDITS.md MOD009",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for i, line, info in ctx.indexed():
        if "50" not in line.modifiers:
            continue
        units = line.units
        if units is None or units <= 0 or units == 1:
            continue  # missing or zero units are COD006's
        ctx.claim("units", i)
        ops: tuple[FixOp, ...]
        if info is not None and info.level == "each" and float(units).is_integer():
            n = int(units)
            one = line.model_copy(deep=True, update={"units": 1})
            ops = (replace(i, [one] * n),)
            fix = (
                f"Bill {line.code}-50 on {n} lines of 1 unit each (one per additional level done on both sides) "
                f"instead of line {i + 1}."
            )
        elif has_addons(ctx.reference, info):
            # extra units of a first-level code are further levels: setting 1 unit would drop them
            rebuilt = rebuild_ops(ctx, i)
            if rebuilt is not None:
                ops, new_lines = rebuilt
                fix = f"Bill {describe(new_lines)} (coded from the note) in place of the session's lines."
            else:
                fix = (
                    f"Bill {line.code}-50 x 1 for the first level and the further levels with the add-on code, "
                    "as the note documents them (no automatic fix: a level would be lost)."
                )
                yield Hit(
                    f"Line {i + 1} ({line.code}) has modifier 50 with {units:g} units; a bilateral 50 line is "
                    "always 1 unit, and further levels are billed with the add-on code.",
                    line=i,
                    fix=fix,
                )
                continue
        else:
            ops = (set_units(i, 1),)
            fix = f"Set line {i + 1}'s units to 1: with 50, one unit covers both sides."
        yield Hit(
            f"Line {i + 1} ({line.code}) has modifier 50 with {units:g} units; a bilateral 50 line is always 1 unit, "
            "so the payer will deny it or cut it back.",
            line=i,
            fix=fix,
            ops=ops,
        )
