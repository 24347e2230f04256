"""MOD011: a diagnostic facet injection / medial branch block line without KX, for a payer that wants it."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip, add_modifier
from painrcm.edits.mod001 import matching_procedures
from painrcm.model import Severity

_MBB = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "medial_branch",
    "purpose": "diagnostic",
    "levels": ["L3", "L4"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5% 0.5 mL per nerve"],
    "relief_percent": 85,
}

EDIT = Edit(
    id="MOD011",
    severity=Severity.ERROR,
    applies_when=("family:facet_joint",),
    title="Diagnostic facet injection or medial branch block without KX",
    what="For a payer whose policy requires it (Medicare), checks that every facet joint injection or medial "
    "branch block line (64490-64495) for a procedure the note documents as diagnostic carries modifier KX. "
    "Whether a line is diagnostic comes from the documented procedure's purpose; without it the check is "
    "listed as not checked.",
    why="Medicare's facet LCD pays a diagnostic block only when KX attests that the coverage requirements "
    "(pain duration, failed conservative care, imaging, the limits on blocks) are documented. Without KX "
    "the line is denied (CO-50 / CO-167).",
    example={
        "procedures": [_MBB],
        "diagnoses": ["M47.816"],
        "lines": [{"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "procedures": [_MBB],
        "diagnoses": ["M47.816"],
        "lines": [{"code": "64493", "modifiers": ["RT", "KX"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A first diagnostic right L4-L5 medial branch block (L3 and L4 medial branches) for a Medicare "
    "patient, billed without KX.",
    sources=[
        "RULES.md section 3 (KX on every diagnostic facet line, Medicare)",
        "Noridian JF facet joint interventions Q&A",
        "payer policy: kx_on_diagnostic_facet",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    if not ctx.policy.kx_on_diagnostic_facet:
        return
    for i, line, info in ctx.indexed():
        if info is None or info.family != "facet_joint" or "KX" in line.modifiers:
            continue
        procs = matching_procedures(ctx, info)
        if not procs:
            why = (
                "no procedures are documented"
                if not ctx.documented
                else "no matching facet procedure is documented"
            )
            yield Skip(
                f"{why}, so whether line {i + 1} ({line.code}) is a diagnostic block that needs KX is unknown"
            )
            continue
        purposes = {p.purpose for p in procs}
        if None in purposes:
            yield Skip(
                f"the documented facet procedure has no purpose (diagnostic or therapeutic), so whether "
                f"line {i + 1} ({line.code}) needs KX is unknown"
            )
            continue
        if len(purposes) > 1:
            yield Skip(
                f"both diagnostic and therapeutic facet procedures are documented for this region, so "
                f"whether line {i + 1} ({line.code}) needs KX is unknown"
            )
            continue
        if purposes != {"diagnostic"}:
            continue
        yield Hit(
            f"Line {i + 1} ({line.code}) is a diagnostic facet injection / medial branch block without modifier KX; "
            "this payer pays diagnostic blocks only with KX and will deny the line.",
            line=i,
            fix=f"Add KX to line {i + 1} (the record documents the coverage requirements).",
            ops=(add_modifier(i, "KX"),),
        )
