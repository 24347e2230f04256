"""MOD005: modifier 50 on an add-on code where the payer bills add-ons per side on separate lines.

Exactly one edit reports a bilateral line that should be two lines: MOD005 the add-ons of a payer whose
file says ``bilateral.addons: per_side_lines`` while its primaries take 50; MOD003 everything else
(primaries, and add-ons that follow a primary billed as RT/LT lines, as on an ASC facility claim).
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
_PAYER_FILE = {"base": "commercial", "payer_ids": ["ACME-HEALTH"], "bilateral": {"addons": "per_side_lines"}}

EDIT = Edit(
    id="MOD005",
    severity=Severity.ERROR,
    applies_when=("mod:50", "mod:RT+mod:LT"),
    title="Modifier 50 on an add-on code the payer wants billed per side",
    what="Finds add-on codes (64480, 64484, 64491/64492, 64494/64495, 64634, 64636) billed with modifier 50 (or "
    "with RT and LT on one line) for a payer whose policy takes the primary code with 50 but wants every "
    "add-on as a right line and a left line (a payer file with `bilateral.addons: per_side_lines`). Where "
    "the primary itself must be RT and LT lines (ASC facility claims, the commercial default at POS 24), "
    "a 50 on the add-on is MOD003.",
    why="Some payers price each side of an add-on level separately even when they accept 50 on the first "
    "level; an add-on with 50 is then denied or paid for one side only.",
    example={
        "payer": _COMMERCIAL,
        "procedures": [_TFESI],
        "authorization_number": "PA-77121",
        "lines": [
            {"code": "64483", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64484", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    fixed={
        "payer": _COMMERCIAL,
        "procedures": [_TFESI],
        "authorization_number": "PA-77121",
        "lines": [
            {"code": "64483", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64484", "modifiers": ["LT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    example_context={"policy": _PAYER_FILE},
    example_note="Bilateral L4 and L5 transforaminal injections in the office for a payer whose file bills "
    "add-ons per side: 64483-50 is right, but 64484 must be an RT line and an LT line.",
    sources=[
        "RULES.md section 3 (add-ons follow their primary; addon_bilateral: per_side_lines)",
        "EDITS.md MOD005",
        "payer policy: bilateral.addons",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    yield from split_hits(ctx, addons=True, edit_id="MOD005")
