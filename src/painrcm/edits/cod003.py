from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

MAX_MODIFIERS = 4  # the 837P service line (SV101-3 to SV101-6) holds four

EDIT = Edit(
    id="COD003",
    severity=Severity.ERROR,
    applies_when=("mod:?", "many_modifiers"),
    title="Unknown modifier, or more than four modifiers on a line",
    what="Checks every modifier on every line against painrcm's modifier list, and that no line carries "
    "more than four modifiers.",
    why="A modifier the payer does not recognise (a typo such as 'RI' for RT, or a made-up code) makes the "
    "line unprocessable, and the claim form has room for only four modifiers per line: extra ones are "
    "dropped or the claim is rejected at the clearinghouse.",
    example={"lines": [{"code": "64483", "modifiers": ["RI"], "units": 1, "diagnosis_pointers": [1, 2]}]},
    fixed={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}]},
    example_note="'RI' is a typo for RT (right side), which the note documents.",
    sources=[
        "painrcm modifier list (codes/data/modifiers.yaml)",
        "ASC X12 837P 005010X222A1 SV101 (four procedure modifiers)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    known = ctx.reference.modifiers
    for i, line in enumerate(ctx.lines):
        unknown = [m for m in line.modifiers if m not in known]
        if unknown:
            names = ", ".join(repr(m) if not m else m for m in unknown)
            word = "modifier" if len(unknown) == 1 else "modifiers"
            yield Hit(
                f"Line {i + 1} ({line.code}) carries unknown {word} {names}; the payer cannot process "
                "the line and will reject it.",
                line=i,
                fix=f"Correct or remove {names} on line {i + 1}.",
            )
        if len(line.modifiers) > MAX_MODIFIERS:
            yield Hit(
                f"Line {i + 1} ({line.code}) carries {len(line.modifiers)} modifiers "
                f"({', '.join(line.modifiers)}); a claim line holds at most {MAX_MODIFIERS}, so the line "
                "will be rejected or the extra modifiers lost.",
                line=i,
                fix=f"Keep the {MAX_MODIFIERS} modifiers that matter for payment (pricing modifiers such as "
                "50, RT/LT first) and remove the rest.",
            )
