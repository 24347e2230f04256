"""NEC006: spinal cord stimulator trial or implant without a documented psychological evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.model import Family, Severity

EDIT = Edit(
    id="NEC006",
    severity=Severity.ERROR,
    applies_when=("stages",),
    title="Spinal cord stimulator trial or implant without a psychological evaluation",
    what="For spinal cord stimulator lead placement (63650, 63655) and generator implantation (63685), "
    "checks that the documentation records a psychological evaluation, when the payer requires one for "
    "that stage (trial, implant). The stage comes from the documented procedure; without a note it is "
    "the stages the code table gives the code (63650/63655 a trial or an implant: the evaluation is needed "
    "either way; 63685 a first implant or a generator replacement: not checked until the note says which).",
    why="Medicare (NCD 160.7) and most commercial payers cover a stimulator trial or implant only after a "
    "psychological screening has cleared the patient. Without it in the record the trial, and later the "
    "implant, are denied as not medically necessary, and the denial is hard to overturn on appeal.",
    example={
        "diagnoses": ["M96.1", "G89.4"],
        "procedures": [
            {
                "family": "spinal_cord_stimulator",
                "stage": "trial",
                "leads": 2,
                "lead_type": "percutaneous",
                "relief_percent": 60,
            }
        ],
        "documentation": {
            "conservative_care_weeks": 26,
            "indication": "post-laminectomy syndrome with refractory leg pain",
            "psych_evaluation": False,
        },
        "lines": [{"code": "63650", "modifiers": [], "units": 2, "diagnosis_pointers": [1, 2]}],
    },
    fixed={
        "diagnoses": ["M96.1", "G89.4"],
        "procedures": [
            {
                "family": "spinal_cord_stimulator",
                "stage": "trial",
                "leads": 2,
                "lead_type": "percutaneous",
                "relief_percent": 60,
            }
        ],
        "documentation": {
            "conservative_care_weeks": 26,
            "indication": "post-laminectomy syndrome with refractory leg pain",
            "psych_evaluation": True,
        },
        "lines": [{"code": "63650", "modifiers": [], "units": 2, "diagnosis_pointers": [1, 2]}],
    },
    example_note="A two-lead percutaneous stimulator trial for post-laminectomy syndrome; the record says no "
    "psychological evaluation was done. The corrected record documents the pre-trial psychological "
    "clearance.",
    sources=[
        "RULES.md section 8 (SCS psychological evaluation)",
        "CMS NCD 160.7 (electrical nerve stimulators)",
        "payer policy: psych_evaluation_required",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    required = set(ctx.policy.psych_evaluation_required)
    if not required:
        return
    documented = {
        p.stage for p in ctx.procedures if p.family == Family.SPINAL_CORD_STIMULATOR and p.stage is not None
    }
    affected: list[int] = []
    unsure: list[int] = []
    for i, line, info in ctx.indexed():
        if info is None or not (set(info.stages) & {"trial", "implant"}):
            continue
        stages = _stages(info.stages, documented)
        if stages <= required:
            affected.append(i)
        elif stages & required:
            unsure.append(i)
    if not affected and not unsure:
        return
    psych = ctx.encounter.documentation.psych_evaluation
    if psych is True:
        return
    if psych is None:
        yield Skip(
            "documentation.psych_evaluation is not given: cannot check the psychological evaluation "
            "a spinal cord stimulator trial or implant requires"
        )
        return
    if not affected:
        codes = ", ".join(ctx.lines[i].code for i in unsure)
        yield Skip(
            f"the stage (trial or implant) of {codes} is not documented, and this payer requires a "
            f"psychological evaluation only for: {', '.join(sorted(required))}"
        )
        return
    where = ", ".join(f"line {i + 1} ({ctx.lines[i].code})" for i in affected)
    billed: set[str] = set().union(
        *(_stages(info.stages, documented) for i in affected if (info := ctx.info(i)) is not None)
    )
    stage_words = " or ".join(sorted(billed & required, reverse=True))
    yield Hit(
        f"{where[0].upper()}{where[1:]}: spinal cord stimulator {stage_words} billed, but the record says no psychological "
        "evaluation was done; the payer requires one before a stimulator trial or implant, so this will be "
        "denied as not medically necessary.",
        line=affected[0],
        fix="If a psychological evaluation cleared the patient before the procedure, add it to the record; "
        "otherwise the procedure does not meet coverage.",
    )


def _stages(code_stages: tuple[str, ...], documented: AbstractSet[str]) -> frozenset[str]:
    """The stages a billed SCS line stands for: the documented stage(s) when they fit the code, else the
    stages the code table gives the code."""
    own = frozenset(code_stages)
    return frozenset(own & documented) or own
