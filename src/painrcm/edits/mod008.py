"""MOD008: modifier 59 where the payer wants the more specific XE/XS/XP/XU."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, add_modifier, remove_modifier
from painrcm.model import Severity

_X_MEANING = {
    "XE": "a separate encounter",
    "XS": "a separate structure or organ",
    "XP": "a separate practitioner",
    "XU": "an unusual non-overlapping service",
}
_COMMERCIAL = {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"}
_FACET = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "levels": ["L4-L5"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
}
_TPI = {
    "family": "trigger_point",
    "muscles": ["right trapezius", "left trapezius", "right levator scapulae"],
    "medications": ["lidocaine 1% 3 mL"],
}

EDIT = Edit(
    id="MOD008",
    severity=Severity.WARNING,
    applies_when=("mod:59",),
    title="Modifier 59 where the payer wants a specific X modifier",
    what="Finds modifier 59 on lines for a payer whose policy asks for the more specific distinct-service "
    "modifiers (XE separate encounter, XS separate structure, XP separate practitioner, XU unusual "
    "non-overlapping service) instead of 59.",
    why="59 is the most audited modifier: it unlocks NCCI bundling without saying why. Payers that prefer the "
    "X modifiers may deny the 59 line or send it for review; the X modifier that states the reason (for "
    "different body sites, XS) is paid without the question.",
    example={
        "payer": _COMMERCIAL,
        "diagnoses": ["M47.816", "M79.18"],
        "procedures": [_FACET, _TPI],
        "authorization_number": "PA-77122",
        "lines": [
            {"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [2]},
            {"code": "64493", "modifiers": ["RT", "59"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "payer": _COMMERCIAL,
        "diagnoses": ["M47.816", "M79.18"],
        "procedures": [_FACET, _TPI],
        "authorization_number": "PA-77122",
        "lines": [
            {"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [2]},
            {"code": "64493", "modifiers": ["RT", "XS"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    example_note="Trigger points in the neck and shoulders and a right L4-L5 facet injection on the same day: "
    "the facet line (column 2 of the NCCI pair with 20553) needs a distinct-service modifier, and this "
    "commercial payer wants XS (separate site) rather than 59.",
    sources=[
        "RULES.md section 3 (the commercial default prefers XS over 59)",
        "CMS MLN1783722 (X{EPSU} modifiers)",
        "payer policy: distinct_modifier",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    pref = ctx.policy.distinct_modifier
    if not pref.warn_on_59:
        return
    for i, line in enumerate(ctx.lines):
        if "59" not in line.modifiers:
            continue
        ops: tuple[FixOp, ...] | None = None
        has_x = [m for m in line.modifiers if m in _X_MEANING]
        if has_x:
            fix = f"Remove 59 from line {i + 1}: {has_x[0]} already says why the service is distinct."
            ops = (remove_modifier(i, "59"),)
        elif pref.preferred in _X_MEANING:
            fix = (
                f"Replace 59 with {pref.preferred} on line {i + 1} if the service was {_X_MEANING[pref.preferred]}; "
                "otherwise use the X modifier that fits (XE, XS, XP or XU)."
            )
            ops = (remove_modifier(i, "59"), add_modifier(i, pref.preferred))
        else:
            fix = f"Replace 59 on line {i + 1} with the X modifier that fits (XE, XS, XP or XU)."
        yield Hit(
            f"Line {i + 1} ({line.code}) uses modifier 59; this payer wants the specific X modifier "
            f"({pref.preferred} preferred) and may deny or review a 59 line.",
            line=i,
            fix=fix,
            ops=ops,
        )
