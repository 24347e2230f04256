from collections.abc import Iterable
from typing import Any

from painrcm.edits._examples_history import line, visit
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import frequency_check
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
    "medications": ["triamcinolone 40 mg"],
}
_CLAIM = {"diagnoses": ["M47.816"], "procedures": [_FACET], "lines": [line("64493", "50")]}


def _past(eid: str, when: str) -> dict[str, Any]:
    return visit(eid, when, line("64493", "50"), procedures=[_FACET], diagnoses=["M47.816"])


EDIT = Edit(
    id="FRQ002",
    severity=Severity.ERROR,
    applies_when=("frequency:FRQ002",),
    title="Therapeutic facet injection sessions over the limit per region in the rolling window",
    what="Counts this patient's therapeutic facet joint injection sessions per spinal region, at every "
    "practice, in the payer's rolling window, this claim included, against the payer's limit (4 in 12 "
    "months by default). A session's purpose comes from its note; without a note, a facet line with KX is "
    "diagnostic, and a session of unknown purpose is not counted: when it could change the answer, this "
    "edit says it could not check.",
    why="Therapeutic facet injections are paid a limited number of times per region per year; the session "
    "over the limit is denied.",
    example=_CLAIM,
    fixed=_CLAIM,
    example_context={
        "history": [
            _past("H-1", "2025-05-01"),
            _past("H-2", "2025-08-01"),
            _past("H-3", "2025-11-01"),
            _past("H-4", "2026-01-15"),
        ]
    },
    fixed_context={
        "history": [_past("H-2", "2025-08-01"), _past("H-3", "2025-11-01"), _past("H-4", "2026-01-15")]
    },
    example_note="Four therapeutic lumbar facet sessions in the twelve months before 2026-03-02; this is the "
    "fifth. With three earlier sessions the claim is the fourth and last allowed (FRQ090 warns).",
    sources=["RULES.md section 6", "Noridian JF facet joint intervention Q&A"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return frequency_check(ctx, EDIT.id)
