from collections.abc import Iterator

from painrcm.codes.tables import PtpRow
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, remove
from painrcm.model import Severity

EDIT = Edit(
    id="BUN007",
    severity=Severity.ERROR,
    applies_when=("lines:2",),
    title="NCCI pair that is never billable together",
    what="Finds two codes on the same date that form a CMS NCCI procedure-to-procedure pair whose modifier "
    "indicator is 0: the column-2 code is never paid with the column-1 code, whatever modifiers it carries. "
    "Example: an SI-joint nerve ablation 64625 with a lumbar facet injection 64493.",
    why="For these pairs CMS allows no exception: 59 or an X modifier does not help, and adding one to get "
    "paid is a compliance problem. The column-2 line is denied every time.",
    example={
        "diagnoses": ["M46.1", "M47.816"],
        "procedures": [],
        "lines": [
            {"code": "64625", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64493", "modifiers": ["RT", "XS"], "units": 1, "diagnosis_pointers": [2]},
        ],
    },
    fixed={
        "diagnoses": ["M46.1", "M47.816"],
        "procedures": [],
        "lines": [{"code": "64625", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="The facet injection line is denied with the SI-joint ablation even with XS; it is removed.",
    sources=[
        "RULES.md section 4 (NCCI pairs; modifier indicator 0)",
        "NCCI PTP v30.1 (64625/64493, indicator 0)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    found: dict[int, list[tuple[int, PtpRow]]] = {}
    for i, j, row in ctx.same_day_ptp:
        if row.modifier_indicator == "0" and not ctx.claimed("pair", min(i, j), max(i, j)):
            found.setdefault(j, []).append((i, row))
    for j, pairs in sorted(found.items()):
        line = ctx.lines[j]
        with_ = ", ".join(f"{ctx.lines[i].code} (line {i + 1})" for i, _ in pairs)
        yield Hit(
            f"{line.code} (line {j + 1}) is never payable on the same date as {with_} (NCCI edit, modifier "
            f"indicator 0: {pairs[0][1].rationale.lower()}); no modifier bypasses it and the line will be denied.",
            line=j,
            fix=f"Remove line {j + 1} ({line.code}).",
            ops=(remove(j),),
        )
