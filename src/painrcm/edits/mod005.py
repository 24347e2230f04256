"""MOD005: modifier 50 on an add-on code where the payer bills add-ons per side on separate lines.

Exactly one edit reports a bilateral line that should be two lines: MOD003 the primary codes, MOD005
every add-on code whose add-on convention is RT/LT lines (a payer file with
``bilateral.addons: per_side_lines``, or an add-on following a primary billed as RT/LT lines).
"""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.mod003 import split_hits
from painrcm.model import Severity

_TFESI = {
    "family": "epidural_transforaminal",
    "region": "lumbar",
    "levels": ["L4", "L5"],
    "laterality": "bilateral",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["dexamethasone 10 mg"],
}
_COMMERCIAL = {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"}

EDIT = Edit(
    id="MOD005",
    severity=Severity.ERROR,
    title="Modifier 50 on an add-on code the payer wants billed per side",
    what="Finds add-on codes (64480, 64484, 64491/64492, 64494/64495, 64634, 64636) billed with modifier 50 (or "
    "with RT and LT on one line) where the payer's policy reports add-ons as a right line and a left line: "
    "payers whose policy says add-ons are billed per side, and settings where the primary code itself is "
    "billed as RT and LT lines (ASC facility claims, the commercial default at POS 24).",
    why="An add-on is priced with its primary. When the payer takes the primary as an RT line and an LT line, "
    "an add-on with 50 has no matching primary line to attach to and is denied or paid for one side only.",
    example={
        "payer": _COMMERCIAL,
        "place_of_service": "24",
        "procedures": [_TFESI],
        "authorization_number": "PA-77121",
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64483", "modifiers": ["LT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64484", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    fixed={
        "payer": _COMMERCIAL,
        "place_of_service": "24",
        "procedures": [_TFESI],
        "authorization_number": "PA-77121",
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64483", "modifiers": ["LT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64484", "modifiers": ["LT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    example_note="Bilateral L4 and L5 transforaminal injections at a surgery center (POS 24) for a commercial "
    "plan. The primary was correctly split into RT and LT lines, but the add-on 64484 was billed with 50.",
    sources=[
        "RULES.md section 3 (add-ons follow their primary; addon_bilateral: per_side_lines)",
        "EDITS.md MOD005",
        "payer policy: bilateral.addons",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    yield from split_hits(ctx, addons=True, edit_id="MOD005")
