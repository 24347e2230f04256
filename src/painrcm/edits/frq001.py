from collections.abc import Iterable

from painrcm.edits._examples_history import OTHER_PRACTICE, line, visit
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import frequency_check
from painrcm.model import Severity

EDIT = Edit(
    id="FRQ001",
    severity=Severity.ERROR,
    applies_when=("frequency:FRQ001",),
    title="Epidural sessions over the limit per spinal region in the rolling window",
    what="Counts this patient's epidural injection sessions (62320-62323, 64479-64484) in the same spinal "
    "region (cervical/thoracic or lumbar/sacral), at every practice, in the payer's rolling window, this "
    "claim included, against the payer's limit (4 in 12 months in both built-in policies).",
    why="Payers pay a limited number of epidural sessions per region per year. The session over the limit "
    "is denied even when every line on it is coded correctly, and sessions at another practice count too.",
    example={},
    fixed={},
    example_context={
        "history": [
            visit("H-1", "2025-04-10", line("64483", "RT")),
            visit("H-2", "2025-07-01", line("64483", "RT"), practice=OTHER_PRACTICE),
            visit("H-3", "2025-09-15", line("64483", "RT")),
            visit("H-4", "2025-12-01", line("62323")),
        ]
    },
    fixed_context={
        "history": [
            visit("H-1", "2025-03-02", line("64483", "RT")),
            visit("H-2", "2025-07-01", line("64483", "RT"), practice=OTHER_PRACTICE),
            visit("H-3", "2025-09-15", line("64483", "RT")),
            visit("H-4", "2025-12-01", line("64479", "RT")),
        ]
    },
    example_note="Four lumbar epidural sessions since 2025-04-10 (one at another practice): the 2026-03-02 "
    "session is the fifth. In the corrected history the first session was on 2025-03-02, exactly one year "
    "earlier, which is outside the window, and the cervical/thoracic session does not count against lumbar.",
    sources=[
        "RULES.md section 6 (per region, rolling 12 months, across practices)",
        "Medicare billing and coding article A58993",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return frequency_check(ctx, EDIT.id)
