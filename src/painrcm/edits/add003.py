from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from painrcm.codes.tables import RegionGroup
from painrcm.edits.add002 import side_set, whole_units
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Line, Severity

_FACET = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
}

EDIT = Edit(
    id="ADD003",
    severity=Severity.ERROR,
    # one line of one unit is one level, within any limit of one or more
    applies_when=("session_levels+lines:2", "session_levels+units:2", "no_levels"),
    title="More levels in one session than the payer allows",
    what="Counts the levels billed in one session (one date of service) for each spinal region and "
    "compares them with the payer's per-session limit: interlaminar epidurals (one per session), "
    "transforaminal epidurals, facet joint injections and radiofrequency ablation. Both sides of one "
    "level count once; for facet codes the third-level code stands for at least three levels.",
    why="Payers cap how many levels they pay for in one session (Medicare: one interlaminar epidural, two "
    "transforaminal levels, two facet levels, two RFA levels; the commercial default allows three facet "
    "levels). Levels over the cap are denied as not medically necessary, and Medicare pays a third facet "
    "level only on appeal.",
    example={
        "diagnoses": ["M47.816"],
        "procedures": [{**_FACET, "levels": ["L3-L4", "L4-L5", "L5-S1"]}],
        "lines": [
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64494", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64495", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["M47.816"],
        "procedures": [{**_FACET, "levels": ["L4-L5", "L5-S1"]}],
        "lines": [
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64494", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    example_note="Three right lumbar facet levels in one session for a Medicare patient, whose policy "
    "allows two; the corrected claim is a session planned within the limit.",
    sources=[
        "RULES.md section 5 (limits per session)",
        "Noridian JF facet joint intervention Q&A (two levels; 64492/64495 on appeal)",
        "Medicare billing and coding article A58993 (epidurals)",
    ],
)

FAMILY_WORD = {
    "epidural_interlaminar": "interlaminar/caudal epidural",
    "epidural_transforaminal": "transforaminal epidural",
    "facet_joint": "facet joint",
    "radiofrequency_ablation": "radiofrequency ablation",
}
REGION_WORD = {"cervical_thoracic": "cervical/thoracic", "lumbar_sacral": "lumbar/sacral", None: ""}


def _units(line: Line, level: object = None) -> int:
    """Levels a line stands for. An "each additional level" add-on counts its units even with 50 (they
    are levels); any other line with 50 stands for one level whatever its units (MOD009's problem)."""
    u = whole_units(line)
    if u is None:
        return 1  # COD006 owns a bad unit count; the line still stands for one level
    if "50" in line.modifiers and u != 1 and level != "each":
        return 1
    return u


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    limits = ctx.policy.session_levels
    ref = ctx.reference
    leveled = ref.leveled_families
    groups: dict[tuple[str, RegionGroup | None, date], list[int]] = defaultdict(list)
    for i, _line, info in ctx.indexed():
        if info is None or info.family not in limits:
            continue
        region = info.region if info.family in leveled else None
        groups[(info.family, region, ctx.line_dos(i))].append(i)

    for (family, region, day), idx in groups.items():
        limit = limits[family]
        if family not in leveled:
            levels = sum(_units(ctx.lines[i]) for i in idx)
        else:
            per_side = []
            for side in ("R", "L"):
                on = [i for i in idx if side in side_set(ctx.lines[i])]
                counted = 0
                second = third = 0
                for i in on:
                    lvl = ref.codes[ctx.lines[i].code].level
                    if lvl == 3:
                        third = 1  # reported once, whatever the number of further levels
                    elif lvl == 2:
                        second += _units(ctx.lines[i])
                    else:
                        counted += _units(ctx.lines[i], lvl)
                n = counted + second + third
                if third and second:
                    n = max(n, 3)  # the third-level code stands for at least the third level
                per_side.append(n)
            levels = max(per_side)
        if levels <= limit:
            continue
        what = FAMILY_WORD.get(family, family.replace("_", " "))
        unit = "injection" if family not in leveled else "level"
        region_word = f"{REGION_WORD[region]} " if region else ""
        lines_word = ", ".join(f"{i + 1} ({ctx.lines[i].code})" for i in idx)
        yield Hit(
            f"{levels} {region_word}{what} {unit}s are billed on {day.isoformat()} "
            f"(line{'s' if len(idx) > 1 else ''} {lines_word}); {ctx.policy.name} pays at most {limit} "
            f"per session, so the {unit}s over the limit will be denied.",
            line=idx[-1],
            fix=f"Bill no more than {limit} {unit}{'s' if limit != 1 else ''} for this session, or hold the "
            "claim for the payer's exception/appeal process if the note documents why more were needed.",
        )
