from collections.abc import Iterable

from painrcm.edits._examples_history import MBB_CLAIM, mbb
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import frequency_check
from painrcm.model import Severity

EDIT = Edit(
    id="FRQ008",
    severity=Severity.ERROR,
    applies_when=("frequency:FRQ008",),
    title="Diagnostic facet injection or medial branch block sessions over the limit per region",
    what="Counts this patient's diagnostic facet joint injection and medial branch block sessions per "
    "spinal region, at every practice, in the payer's rolling window, this claim included, against the "
    "payer's limit (4 in 12 months by default). Purpose comes from the note, or KX on a claim without one.",
    why="Diagnostic blocks exist to decide whether a patient is a candidate for radiofrequency ablation; "
    "payers stop paying for them after a few sessions a year per region.",
    example=MBB_CLAIM,
    fixed=MBB_CLAIM,
    example_context={
        "history": [
            mbb("H-1", "2025-04-01", 40),
            mbb("H-2", "2025-06-01", 45),
            mbb("H-3", "2025-09-01", 50),
            mbb("H-4", "2025-12-01", 60),
        ]
    },
    fixed_context={"history": [mbb("H-3", "2025-09-01", 50), mbb("H-4", "2025-12-01", 60)]},
    example_note="Four diagnostic lumbar block sessions in the window already: this fifth one is denied.",
    sources=["RULES.md section 6 and section 10", "Noridian JF facet joint intervention Q&A"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return frequency_check(ctx, EDIT.id)
