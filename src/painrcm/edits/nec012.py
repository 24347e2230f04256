"""NEC012: Medicare does not cover ultrasound-guided facet or transforaminal injections (Category III)."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

_US_FACET = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "levels": ["L4-L5"],
    "laterality": "right",
    "imaging": "ultrasound",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
}

EDIT = Edit(
    id="NEC012",
    severity=Severity.ERROR,
    applies_when=("not_covered_us",),
    title="Ultrasound-guided facet or transforaminal injection not covered",
    what="Finds the Category III codes for ultrasound-guided facet joint injections and medial branch blocks "
    "(0213T-0218T) and transforaminal epidurals (0228T-0231T) on a claim for a payer whose policy does not "
    "cover them (Medicare: `not_covered_ultrasound` in the payer file).",
    why="Medicare's facet joint and epidural LCDs cover these injections only under fluoroscopy or CT. The "
    "Category III codes are the honest codes for ultrasound-guided work, and they are denied as not "
    "reasonable and necessary; billing 64493/64483 instead misrepresents the service (NEC010).",
    example={
        "diagnoses": ["M47.816"],
        "procedures": [_US_FACET],
        "lines": [{"code": "0216T", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "diagnoses": ["M47.816"],
        "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
        "procedures": [_US_FACET],
        "lines": [{"code": "0216T", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A right L4-L5 facet injection under ultrasound is 0216T. Medicare will not pay it; the "
    "commercial default covers it.",
    sources=[
        "RULES.md section 2 (imaging modality) and section 8",
        "CPT Category III codes 0213T-0218T, 0228T-0231T",
        "Medicare facet joint interventions and epidural steroid injection LCDs",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    not_covered = set(ctx.policy.not_covered_ultrasound)
    for i, line in enumerate(ctx.lines):
        if line.code not in not_covered:
            continue
        yield Hit(
            f"Line {i + 1}: {line.code} (an ultrasound-guided injection) is not covered under "
            f"{ctx.policy.name}: its LCDs cover facet and transforaminal injections only under fluoroscopy "
            "or CT. The line will be denied.",
            line=i,
            fix="Do not rebill it as 64490-64495/64479-64484 (that misrepresents the service). Bill the "
            "patient only with a signed advance notice (ABN, modifier GA), or plan the next injection "
            "under fluoroscopy or CT.",
        )
