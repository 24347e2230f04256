from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

MAX_POINTERS = 4  # the 837P service line (SV107) holds four diagnosis pointers

EDIT = Edit(
    id="COD005",
    severity=Severity.ERROR,
    applies_when=("odd_pointers",),
    title="Diagnosis pointer missing or pointing past the diagnosis list",
    what="Checks that every line points to at least one diagnosis, to at most four, and only to diagnoses "
    "that exist on the claim (pointer 1 is the first diagnosis).",
    why="The payer judges medical necessity line by line from the diagnoses the line points to. A line "
    "with no pointer, or one pointing to a diagnosis the claim does not have, is rejected as incomplete.",
    example={
        "diagnoses": ["M54.16"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    fixed={
        "diagnoses": ["M54.16", "M51.16"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="The line points to diagnosis 2, but the disc displacement M51.16 was left off the claim.",
    sources=["ASC X12 837P 005010X222A1 SV107 (diagnosis code pointers)", "CMS-1500 item 24E"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    n = len(ctx.encounter.diagnoses)
    for i, line in enumerate(ctx.lines):
        ptrs = line.diagnosis_pointers or []
        if not ptrs:
            yield Hit(
                f"Line {i + 1} ({line.code}) points to no diagnosis; the payer cannot tell why it was done "
                "and will reject the line.",
                line=i,
                fix=f"Point line {i + 1} to the diagnosis that supports {line.code}.",
            )
            continue
        bad = [p for p in ptrs if not 1 <= p <= n]
        if bad:
            listed = ", ".join(str(p) for p in bad)
            have = f"only {n} diagnos{'is' if n == 1 else 'es'}" if n else "no diagnoses"
            yield Hit(
                f"Line {i + 1} ({line.code}) points to diagnosis {listed}, but the claim has {have}; "
                "the line will be rejected.",
                line=i,
                fix=f"Add the missing diagnosis to the claim or correct the pointers on line {i + 1}.",
            )
        if len(ptrs) > MAX_POINTERS:
            yield Hit(
                f"Line {i + 1} ({line.code}) has {len(ptrs)} diagnosis pointers; a claim line holds at most "
                f"{MAX_POINTERS}.",
                line=i,
                fix=f"Keep the {MAX_POINTERS} diagnoses that best support {line.code}, the main one first.",
            )
