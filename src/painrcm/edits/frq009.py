from collections.abc import Iterable
from typing import Any

from painrcm.edits._examples_history import line, visit
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import frequency_check
from painrcm.model import Severity


def _si(purpose: str) -> dict[str, Any]:
    return {
        "family": "sacroiliac_joint",
        "laterality": "left",
        "imaging": "fluoroscopy",
        "images_stored": True,
        "medications": ["bupivacaine 0.5%"],
        "purpose": purpose,
    }


_CLAIM = {"diagnoses": ["M46.1"], "procedures": [_si("diagnostic")], "lines": [line("27096", "LT")]}


def _past(eid: str, when: str) -> dict[str, Any]:
    return visit(eid, when, line("27096", "LT"), procedures=[_si("diagnostic")], diagnoses=["M46.1"])


EDIT = Edit(
    id="FRQ009",
    severity=Severity.ERROR,
    applies_when=("frequency:FRQ009",),
    title="SI joint injection sessions over the limit in the rolling window",
    what="Counts this patient's sacroiliac joint injection sessions, diagnostic and therapeutic separately, "
    "at every practice, in the payer's rolling window, this claim included, against the payer's limits "
    "(Medicare: 2 diagnostic and 4 therapeutic in 12 months; none in the commercial default). A session "
    "whose purpose is unknown is not counted; when it could change the answer the edit says so.",
    why="Medicare pays two diagnostic SI joint injections a year to confirm the joint as the pain source, "
    "and a limited number of therapeutic ones; sessions over those counts are denied.",
    example=_CLAIM,
    fixed=_CLAIM,
    example_context={"history": [_past("H-1", "2025-10-01"), _past("H-2", "2026-01-05")]},
    fixed_context={"history": [_past("H-1", "2025-02-01")]},
    example_note="Two diagnostic SI joint injections in the window already; a third diagnostic one is denied.",
    sources=["RULES.md section 6"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return frequency_check(ctx, EDIT.id)
