"""MOD007: RT and LT lines of one bilateral code where the payer wants one line with 50."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove, replace
from painrcm.edits.mod001 import convention, indicator, merge_pointers, setting, with_side
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
    title="RT and LT lines where the payer wants one line with modifier 50",
    what="Finds a bilateral procedure (fee-schedule bilateral indicator 1) billed as a right (RT) line and a left "
    "(LT) line on the same date where the payer's policy for this setting reports both sides as one line "
    "with modifier 50 and 1 unit (Medicare professional claims in every place of service; the commercial "
    "default outside POS 24).",
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


def _one_side(line: Line) -> str | None:
    if "50" in line.modifiers or ("RT" in line.modifiers) == ("LT" in line.modifiers):
        return None
    return "RT" if "RT" in line.modifiers else "LT"


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
        for i in idx:
            ctx.claim("side", i)
        first = idx[0]
        info = ctx.info(first)
        listed = ", ".join(str(i + 1) for i in idx)
        pointers: list[int] | None = None
        for i in idx:
            pointers = merge_pointers(pointers, ctx.lines[i].diagnosis_pointers)
        rt_units = sum(ctx.lines[i].units or 0 for i in g["RT"])
        lt_units = sum(ctx.lines[i].units or 0 for i in g["LT"])
        merged = with_side(ctx.lines[first], "50", 1)
        merged.diagnosis_pointers = pointers
        ops: tuple[FixOp, ...] | None = None
        if info is not None and info.level == "each":
            # each additional level: one 50 line (1 unit) per level done on both sides
            if rt_units == lt_units and float(rt_units).is_integer() and rt_units >= 1:
                n = int(rt_units)
                ops = (replace(first, [merged] * n), *(remove(i) for i in idx[1:]))
                fix = f"Replace lines {listed} with {n} line(s) of {code}-50, 1 unit each (one per level)."
            else:
                fix = f"Bill the levels done on both sides as {code}-50, 1 unit per level, and the rest per side."
        elif len(g["RT"]) == 1 and len(g["LT"]) == 1:
            ops = (replace(first, [merged]), *(remove(i) for i in idx[1:]))
            fix = f"Merge lines {listed} into one line {code}-50, 1 unit."
        else:
            fix = f"Bill {code} once with 50 and 1 unit for the session instead of lines {listed}."
        yield Hit(
            f"{code} is billed as separate RT and LT lines (lines {listed}), but {setting(ctx, first)} wants a "
            "bilateral procedure on one line with modifier 50 and 1 unit; the second side will be denied as a "
            "duplicate.",
            line=first,
            fix=fix,
            ops=ops,
        )
