from collections.abc import Iterable

from painrcm.edits._examples_history import line, visit
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import last_session_warning
from painrcm.model import Severity

EDIT = Edit(
    id="FRQ090",
    severity=Severity.WARNING,
    applies_when=("frequency",),
    title="This session is the last one the payer allows in the window",
    what="For every frequency limit of the payer, warns when this claim reaches the limit exactly, and gives "
    "the date the next session becomes payable: the oldest counted session's date plus one window.",
    why="The claim itself will be paid, but the next one booked before that date will be denied; the "
    "scheduler needs the date now.",
    example={},
    fixed={},
    example_context={
        "history": [
            visit("H-1", "2025-07-01", line("64483", "RT")),
            visit("H-2", "2025-09-15", line("64483", "RT")),
            visit("H-3", "2025-12-01", line("64483", "RT")),
        ]
    },
    fixed_context={
        "history": [
            visit("H-2", "2025-09-15", line("64483", "RT")),
            visit("H-3", "2025-12-01", line("64483", "RT")),
        ]
    },
    example_note="Three lumbar epidural sessions since 2025-07-01: this fourth one is the last; the next is "
    "payable from 2026-07-01.",
    sources=["RULES.md section 6", "EDITS.md FRQ090"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return last_session_warning(ctx)
