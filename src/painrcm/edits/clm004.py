from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="CLM004",
    severity=Severity.ERROR,
    applies_when=("late_dob", "dob+line_dates"),
    title="Date of birth after the date of service",
    what="Compares the patient's date of birth with the claim's and the lines' dates of service.",
    why="A patient cannot be treated before being born: the payer's eligibility match fails and the claim "
    "is rejected; usually the date of birth or the service date has a typo.",
    example={"patient": {"member_id": "1EG4TE5MK73", "last_name": "Doe", "dob": "2056-04-02", "sex": "F"}},
    fixed={"patient": {"member_id": "1EG4TE5MK73", "last_name": "Doe", "dob": "1956-04-02", "sex": "F"}},
    example_note="The birth year was typed as 2056 instead of 1956.",
    sources=["ASC X12 005010X222A1, DMG02 (date of birth) and DTP*472 (service date)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    enc = ctx.encounter
    dob = enc.patient.dob
    if dob is None:
        return
    first = min([enc.date_of_service] + [ln.date_of_service for ln in ctx.lines if ln.date_of_service])
    if dob > first:
        yield Hit(
            f"The patient's date of birth {dob.isoformat()} is after the date of service {first.isoformat()}.",
            fix="Correct the date of birth (or the date of service).",
        )
