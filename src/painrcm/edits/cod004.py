from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="COD004",
    severity=Severity.ERROR,
    applies_when=("unknown_pos", "line_pos"),
    title="Place-of-service code unknown",
    what="Checks the claim's place of service, and any place of service given on a single line, against "
    "the CMS place-of-service code set.",
    why="The place of service decides which fee (facility or non-facility) the payer applies and whether a "
    "drug or supply belongs on this claim; an unknown code makes the claim unprocessable and it is "
    "rejected.",
    example={"place_of_service": "88"},
    fixed={"place_of_service": "11"},
    example_note="88 is not a place-of-service code; the injection was done in the office (11).",
    sources=["CMS place-of-service code set", "ASC X12 837P CLM05-1 and SV105"],
)


def normalized_pos(pos: str) -> str:
    """A place-of-service code as the table writes it (a single digit gets its leading zero)."""
    pos = pos.strip()
    return pos.zfill(2) if pos.isdigit() and len(pos) == 1 else pos


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    places = ctx.reference.places
    claim_pos = normalized_pos(ctx.encounter.place_of_service)
    if claim_pos not in places:
        yield Hit(
            f"Place of service {ctx.encounter.place_of_service!r} is not a CMS place-of-service code; the "
            "payer cannot price the claim and will reject it.",
            line=None,
            fix="Enter the two-digit code of where the service was done (e.g. 11 office, 22 hospital "
            "outpatient, 24 ambulatory surgical center).",
        )
    for i, line in enumerate(ctx.lines):
        if line.place_of_service is None:
            continue
        pos = normalized_pos(line.place_of_service)
        if pos in places or pos == claim_pos:
            continue  # the claim-level finding already covers a repeated unknown code
        yield Hit(
            f"Line {i + 1} ({line.code}) gives place of service {line.place_of_service!r}, which is not a "
            "CMS place-of-service code; the line will be rejected.",
            line=i,
            fix=f"Correct the place of service on line {i + 1}.",
        )
