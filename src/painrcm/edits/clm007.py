from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="CLM007",
    severity=Severity.ERROR,
    applies_when=("claim_id_reused",),
    title="Claim ID used by another claim in the same file",
    what="Finds claims whose claim ID (837P CLM01, the patient control number; `encounter_id` in encounter "
    "JSON) is also used by another claim of the same billing provider in the same file, and names where "
    "the others are. One rule decides it (painrcm.claim_ids) for the command line and the workspace: "
    "`painrcm scrub` scrubs every claim and flags each of them; the workspace, which keeps one claim "
    "per ID and practice, refuses the import with one line naming CLM007 and the places, so that "
    "neither claim silently replaces the other.",
    why="The claim ID is how the payer, the clearinghouse's claim acknowledgement (277CA) and the "
    "remittance (835 CLP01) point back at a claim. Two claims under one ID cannot be told apart: the "
    "later one is rejected as a duplicate or replaces the first, and the payment or denial cannot be "
    "matched to the right service.",
    example={"encounter_id": "EX-1", "claim_id_also_at": ["segment 41 (CLM)"]},
    fixed={"encounter_id": "EX-1"},
    example_note="The billing system gave the same patient control number EX-1 to two claims of one "
    "file (segments 22 and 41). Each claim flags the other; the fix gives the second claim its own ID "
    "(or drops it when it is the same claim sent twice).",
    sources=[
        "ASC X12 005010X222A1, CLM01 (patient control number: the submitter's unique claim identifier)",
        "ASC X12 005010X221A1, CLP01 and 005010X214 (277CA), which return it",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    places = ctx.encounter.claim_id_also_at
    if not places:
        return
    others = "another claim" if len(places) == 1 else "other claims"
    yield Hit(
        f"Claim ID {ctx.encounter.encounter_id!r} (CLM01) is also used by {others} of the same billing "
        f"provider in this file, at {', '.join(places)}: the payer cannot tell them apart and rejects one "
        "as a duplicate (or one replaces the other).",
        fix="Give each claim its own claim ID (patient control number); if it is the same claim sent "
        "twice, remove the copy.",
    )
