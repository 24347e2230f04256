from collections.abc import Iterable

from painrcm.edits._examples_history import RFA_CLAIM, line, mbb, visit
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import frequency_check
from painrcm.model import Severity

EDIT = Edit(
    id="FRQ003",
    severity=Severity.ERROR,
    applies_when=("frequency:FRQ003",),
    title="Radiofrequency ablation sessions over the limit per region in the rolling window",
    what="Counts this patient's radiofrequency ablation sessions per spinal region, at every practice, in "
    "the payer's rolling window, this claim included, against the payer's limit (2 in 12 months by "
    "default; the left and right side on different dates are two sessions).",
    why="Payers pay facet nerve ablation at most twice a year per region; a third session is denied.",
    example=RFA_CLAIM,
    fixed=RFA_CLAIM,
    example_context={
        "history": [
            mbb("B-1", "2025-01-10", 85),
            mbb("B-2", "2025-01-30", 90),
            visit("R-1", "2025-04-01", line("64635", "LT"), line("64636", "LT"), diagnoses=["M47.816"]),
            visit("R-2", "2025-10-01", line("64635", "LT"), line("64636", "LT"), diagnoses=["M47.816"]),
        ]
    },
    fixed_context={
        "history": [
            mbb("B-1", "2025-01-10", 85),
            mbb("B-2", "2025-01-30", 90),
            visit("R-1", "2025-02-20", line("64635", "LT"), line("64636", "LT"), diagnoses=["M47.816"]),
            visit("R-2", "2025-08-01", line("64635", "LT"), line("64636", "LT"), diagnoses=["M47.816"]),
        ]
    },
    example_note="Two lumbar ablations in the twelve months before 2026-03-02: a third is over the limit.",
    sources=["RULES.md section 6"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return frequency_check(ctx, EDIT.id)
