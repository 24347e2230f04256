"""MOD003: modifier 50 on a primary code where the payer/setting wants two lines, RT and LT.

Add-on codes under an RT/LT convention are MOD005's (exactly one edit reports a line): MOD003 takes
the primary (non-add-on) codes.
"""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.mod001 import convention, indicator, per_side_units, setting, split_op
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
_COMMERCIAL = {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"}

EDIT = Edit(
    id="MOD003",
    severity=Severity.ERROR,
    applies_when=("mod:50", "mod:RT+mod:LT"),
    title="Modifier 50 where the payer or setting requires separate RT and LT lines",
    what="Finds a bilateral procedure billed on one line with modifier 50 (or with RT and LT on the same line) "
    "where the payer's policy for this setting reports both sides as two lines, one RT and one LT, 1 unit "
    "each: ambulatory surgical center facility claims, and the commercial default at POS 24. Add-on codes "
    "are checked by MOD005.",
    why="Payers that price each side of a bilateral procedure separately cannot read modifier 50: the claim is "
    "rejected, or only one side is paid. The same session must be rebilled as a right line and a left line.",
    example={
        "payer": _COMMERCIAL,
        "place_of_service": "24",
        "diagnoses": ["M47.816"],
        "procedures": [_FACET],
        "authorization_number": "PA-77120",
        "lines": [{"code": "64493", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "payer": _COMMERCIAL,
        "place_of_service": "24",
        "diagnoses": ["M47.816"],
        "procedures": [_FACET],
        "authorization_number": "PA-77120",
        "lines": [
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64493", "modifiers": ["LT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    example_note="A bilateral L4-L5 facet injection at a surgery center (POS 24) for a commercial plan, billed "
    "64493-50. The commercial default wants 64493-RT and 64493-LT at POS 24.",
    sources=[
        "RULES.md section 3 (ASC facility claims; commercial default at POS 24)",
        "EDITS.md MOD003",
        "payer policy: bilateral.by_practice_kind / by_place_of_service",
    ],
)


def split_hits(ctx: ClaimContext, *, addons: bool, edit_id: str) -> Iterator[Outcome]:
    """Bilateral lines (50, or RT and LT on one line) that this payer wants as RT and LT lines.
    `addons=True` (MOD005) picks the add-ons that need their own lines only because the payer bills
    add-ons per side while its primaries take 50; everything else (primaries, and add-ons that simply
    follow an RT/LT primary, as on an ASC facility claim) is MOD003's."""
    primary_conv = ctx.policy.convention(ctx.encounter.practice.kind, ctx.encounter.place_of_service)
    for i, line, info in ctx.indexed():
        is_addon = info is not None and info.is_addon
        addon_rule = (
            is_addon and ctx.policy.bilateral.addons == "per_side_lines" and primary_conv == "modifier_50"
        )
        if addon_rule != addons:
            continue
        has50 = "50" in line.modifiers
        both = "RT" in line.modifiers and "LT" in line.modifiers
        if not has50 and not both:
            continue
        if has50 and ("RT" in line.modifiers or "LT" in line.modifiers):
            continue  # MOD001
        if ctx.claimed("side", i):
            continue
        if convention(ctx, i) != "rt_lt_lines":
            continue
        ind = indicator(ctx.reference, line.code)
        if ind is None:
            yield Skip(
                f"the fee-schedule bilateral indicator of {line.code} is unknown, so {edit_id} could not tell "
                f"how line {i + 1} should report both sides"
            )
            continue
        if ind != 1:
            continue  # not a bilateral procedure: MOD002
        ctx.claim("side", i)
        shown = "modifier 50" if has50 else "RT and LT on one line"
        units = per_side_units(ctx, i)
        unit_word = "1 unit each" if units == 1 else f"{units:g} units each"
        why = (
            "add-on codes are billed per side on separate lines"
            if addons and ctx.policy.bilateral.addons == "per_side_lines"
            else "both sides are billed as two lines, RT and LT"
        )
        yield Hit(
            f"Line {i + 1} ({line.code}) reports both sides with {shown}, but for {setting(ctx, i)} {why}; "
            "the payer will reject the line or pay one side only.",
            line=i,
            fix=f"Replace line {i + 1} with {line.code}-RT and {line.code}-LT, {unit_word}, without 50.",
            ops=(split_op(ctx, i),),
        )


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    yield from split_hits(ctx, addons=False, edit_id="MOD003")
