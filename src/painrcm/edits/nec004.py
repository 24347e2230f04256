"""NEC004: only non-specific pain diagnoses on a procedure line (a warning beside NEC003)."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.edits.nec003 import checked_lines, dx_list, matches, prefixes_of
from painrcm.model import Severity

EDIT = Edit(
    id="NEC004",
    severity=Severity.WARNING,
    applies_when=("covered",),
    title="Only non-specific pain diagnoses on a procedure line",
    what="For the procedure families with a covered-diagnosis list (epidurals, facet joints and RFA, SI joint, "
    "trigger points), warns when every diagnosis the line points to is a non-specific pain code such as "
    "low back pain M54.50, dorsalgia M54.9, other chronic pain G89.29 or chronic pain syndrome G89.4.",
    why="A symptom code says where it hurts, not why. Payers and auditors expect the specific condition "
    "that justifies an injection (radiculopathy, spondylosis, disc disorder); a line supported by pain "
    "codes alone is a medical-necessity denial or an audit finding waiting to happen. This stands beside "
    "NEC003, which says whether the payer's list is met at all.",
    example={
        "diagnoses": ["M54.50", "G89.29"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    fixed={
        "diagnoses": ["M54.16", "M54.50"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="A right L5 transforaminal epidural supported only by low back pain and chronic pain codes. "
    "The note documents a right L5 radiculopathy: the corrected claim points the line to M54.16 first.",
    sources=["RULES.md section 8 (non-specific diagnoses)", "payer policy: diagnoses.nonspecific"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    nonspecific = ctx.policy.diagnoses.nonspecific
    if not nonspecific:
        return
    wanted = prefixes_of(nonspecific)
    for i, _family, dx in checked_lines(ctx):
        if not dx or not all(matches(d, wanted) for d in dx):
            continue
        line = ctx.lines[i]
        yield Hit(
            f"Line {i + 1}: {line.code} points only to non-specific pain diagnoses ({dx_list(dx)}); payers "
            "expect the specific condition the procedure treats, so the line is at risk of a "
            "medical-necessity denial or audit.",
            line=i,
            fix="Point the line to the specific diagnosis the note documents (for example the radiculopathy, "
            "spondylosis or disc disorder) ahead of the pain codes.",
        )
