"""NEC011: a code the payer does not cover (Medicare: epidurals without imaging guidance, 62320/62322)."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="NEC011",
    severity=Severity.ERROR,
    applies_when=("not_covered",),
    title="Code not covered by the payer (Medicare: epidural without imaging guidance)",
    what="Flags lines whose code the payer's policy lists as not covered. For Medicare these are the "
    "interlaminar/caudal epidural codes without imaging guidance, 62320 and 62322.",
    why="Medicare's epidural coverage policy pays for epidural steroid injections only when they are done "
    "under fluoroscopic or CT guidance. An epidural done blind is not covered: the line is denied, and the "
    "patient can be billed only with a valid advance beneficiary notice (ABN, modifier GA).",
    example={
        "diagnoses": ["M54.17"],
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "sacral",
                "approach": "caudal",
                "levels": ["caudal"],
                "imaging": "none",
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [{"code": "62322", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "diagnoses": ["M54.17"],
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "sacral",
                "approach": "caudal",
                "levels": ["caudal"],
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [{"code": "62323", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A caudal epidural done without imaging (62322) for a Medicare patient is not covered. "
    "There is no code change that makes it payable: the corrected claim is the same injection done under "
    "fluoroscopy, billed 62323.",
    sources=[
        "RULES.md section 2 (Medicare does not cover 62320/62322)",
        "payer policy: not_covered",
        "Medicare billing and coding article A58993 (epidural steroid injections)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    not_covered = set(ctx.policy.not_covered)
    if not not_covered:
        return
    for i, line in enumerate(ctx.lines):
        if line.code not in not_covered or ctx.claimed("coverage", i):
            continue
        info = ctx.info(i)
        label = f" ({info.label.lower()})" if info is not None else ""
        twin = info.with_imaging if info is not None else None
        fix = f"If imaging guidance was used, document it and bill {twin} instead. " if twin else ""
        fix += (
            "If not, the service is not payable: the patient may be billed only with a signed advance "
            "notice of non-coverage (for Medicare an ABN, modifier GA)."
        )
        yield Hit(
            f"Line {i + 1}: {line.code}{label} is not covered under {ctx.policy.name}; the line will be denied.",
            line=i,
            fix=fix,
        )
