from collections.abc import Iterable
from typing import Any

from painrcm.edits._examples_history import line, visit
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import frequency_check
from painrcm.model import Severity

_TPI = {
    "family": "trigger_point",
    "muscles": ["upper trapezius", "levator scapulae", "rhomboid major"],
    "medications": ["lidocaine 1%"],
}
_CLAIM = {"diagnoses": ["M79.18"], "procedures": [_TPI], "lines": [line("20553")]}


def _past(eid: str, when: str) -> dict[str, Any]:
    return visit(eid, when, line("20553"), diagnoses=["M79.18"])


EDIT = Edit(
    id="FRQ004",
    severity=Severity.ERROR,
    applies_when=("frequency:FRQ004",),
    title="Trigger-point injection sessions over the limit in the rolling window",
    what="Counts this patient's trigger-point injection sessions (20552/20553), at every practice, in the "
    "payer's rolling window, this claim included, against the payer's limit (Medicare: 3 in 12 months; the "
    "commercial default has none).",
    why="Medicare's trigger-point policy pays three sessions a year; the fourth is denied as not medically "
    "necessary.",
    example=_CLAIM,
    fixed=_CLAIM,
    example_context={
        "history": [_past("H-1", "2025-06-01"), _past("H-2", "2025-09-01"), _past("H-3", "2025-12-01")]
    },
    fixed_context={"history": [_past("H-2", "2025-09-01"), _past("H-3", "2025-12-01")]},
    example_note="Three trigger-point sessions since June 2025: a fourth on 2026-03-02 is over the limit.",
    sources=["RULES.md section 6", "LCD L36859 (trigger points: 3 per 12 months)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return frequency_check(ctx, EDIT.id)
