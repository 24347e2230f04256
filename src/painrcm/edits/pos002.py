"""POS002: the SI joint injection code must fit the claim type (G0260 vs 27096)."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, set_code
from painrcm.model import Severity

_SI = {
    "family": "sacroiliac_joint",
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["triamcinolone 40 mg"],
}

_ASC = {"id": "P09", "name": "Mesa Surgery Center", "npi": "1245319599", "kind": "asc", "state": "CA"}

EDIT = Edit(
    id="POS002",
    severity=Severity.ERROR,
    applies_when=("asc_sub", "code:G0260"),
    title="SI joint injection code does not fit the claim type",
    what="Checks the SI joint injection code against the claim type, by the payer's `asc_code_substitutions`: "
    "on a Medicare ASC facility claim the injection is G0260 and 27096 is wrong; G0260 on any other claim "
    "(a professional claim, another payer) is wrong, where 27096 belongs.",
    why="Medicare pays the surgery center's facility fee for an SI joint injection under G0260; 27096 on that "
    "claim is not payable to an ASC. G0260 is not on the physician fee schedule, so on a professional claim "
    "or for a payer that does not use it, it is rejected.",
    example={
        "practice": _ASC,
        "place_of_service": "24",
        "diagnoses": ["M46.1"],
        "procedures": [_SI],
        "lines": [{"code": "27096", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "practice": _ASC,
        "place_of_service": "24",
        "diagnoses": ["M46.1"],
        "procedures": [_SI],
        "lines": [{"code": "G0260", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A Medicare ASC facility claim for a right SI joint injection billed 27096: the ASC code is G0260.",
    sources=[
        "RULES.md sections 3 and 4 (SI code by claim type)",
        "NGS FAQ on SI joint injections in the ASC",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    subs = ctx.policy.asc_code_substitutions
    asc = ctx.encounter.practice.kind == "asc"
    facility_codes = {v: k for k, v in subs.items()} if asc else {}
    # every facility-only code any built-in rule knows (G0260), wrong outside its claim type
    known_facility = {"G0260": "27096"} | {v: k for k, v in subs.items()}
    for i, line in enumerate(ctx.lines):
        if asc and line.code in subs:
            right = subs[line.code]
            yield Hit(
                f"Line {i + 1}: {line.code} is billed on an ASC facility claim, where {ctx.policy.name} wants "
                f"{right}; the line will be denied.",
                line=i,
                fix=f"Change line {i + 1} from {line.code} to {right}.",
                ops=(set_code(i, right),),
            )
        elif line.code in known_facility and line.code not in facility_codes:
            right = known_facility[line.code]
            where = "a professional claim" if not asc else f"an ASC facility claim for {ctx.policy.name}"
            yield Hit(
                f"Line {i + 1}: {line.code} is the Medicare ASC facility code for this injection, but this is "
                f"{where}; the code there is {right}. The line will be rejected.",
                line=i,
                fix=f"Change line {i + 1} from {line.code} to {right}.",
                ops=(set_code(i, right),),
            )
