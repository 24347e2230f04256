from collections.abc import Iterator

from painrcm.edits.authorization import (
    COMMERCIAL_CLAIM,
    EXAMPLE_AUTH,
    claim_numbers,
    covers,
    needs_authorization,
    record_for,
)
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

_TWO_LEVELS = {
    **COMMERCIAL_CLAIM,
    "procedures": [
        {
            "family": "epidural_transforaminal",
            "region": "lumbar",
            "levels": ["L4", "L5"],
            "laterality": "right",
            "imaging": "fluoroscopy",
            "images_stored": True,
            "medications": ["dexamethasone 10 mg"],
        }
    ],
    "lines": [
        {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
        {"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
    ],
}

EDIT = Edit(
    id="AUT004",
    severity=Severity.ERROR,
    applies_when=("auth_number",),
    title="Authorization does not cover this code",
    what="Checks that every billed code the payer requires authorization for is among the authorization's "
    "codes. An authorization listing a primary code also covers that code's add-ons.",
    why="Payers authorize specific services; a different procedure done under the same number is unauthorized.",
    example={
        **COMMERCIAL_CLAIM,
        "diagnoses": ["M47.816"],
        "procedures": [
            {
                "family": "facet_joint",
                "region": "lumbar",
                "target": "intraarticular",
                "purpose": "therapeutic",
                "levels": ["L4-L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["bupivacaine"],
            }
        ],
        "lines": [{"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed=_TWO_LEVELS,
    example_context={"auths": [EXAMPLE_AUTH]},
    example_note="The authorization is for a transforaminal epidural (64483); a facet injection was billed. "
    "In the corrected claim the add-on 64484 is covered by its primary 64483.",
    sources=["RULES.md section 7 (a primary covers its add-ons)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for number, idxs in claim_numbers(ctx):
        a = record_for(ctx, number)
        if a is None:
            continue
        for i in idxs:
            code = ctx.lines[i].code
            if needs_authorization(ctx, code) and not covers(ctx, a, code):
                yield Hit(
                    f"Authorization {number} covers {', '.join(a.codes)}, not {code}.",
                    line=i,
                    fix=f"Ask the payer to add {code} to the authorization, or obtain one for it.",
                )
