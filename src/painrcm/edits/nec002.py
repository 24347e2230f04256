"""NEC002: interventional procedure without enough documented conservative care."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.words import a_family
from painrcm.model import Severity

EDIT = Edit(
    id="NEC002",
    severity=Severity.ERROR,
    applies_when=("conservative",),
    title="Interventional procedure without enough documented conservative care",
    what="For epidural injections, facet joint injections and medial branch blocks, radiofrequency ablation "
    "and spinal cord stimulation (the families the payer's policy names), checks that the documentation "
    "shows at least the payer's minimum weeks of conservative care (physical therapy, medication, home "
    "exercise) before the procedure. One finding per procedure family.",
    why="Payers cover spinal injections, ablation and stimulators only after conservative treatment has "
    "failed for a minimum time (Medicare: 4 weeks before an epidural, 6 before facet, RFA or SCS; "
    "commercial default: 6). A claim whose record does not show it is denied as not medically necessary, "
    "and is a common target of post-payment audits.",
    example={
        "documentation": {
            "conservative_care_weeks": 2,
            "indication": "right L5 radiculopathy",
            "psych_evaluation": True,
        }
    },
    fixed={
        "documentation": {
            "conservative_care_weeks": 8,
            "indication": "right L5 radiculopathy",
            "psych_evaluation": True,
        }
    },
    example_note="A right L5 transforaminal epidural (64483) for a Medicare patient after only two weeks of "
    "physical therapy; Medicare wants at least four. The corrected record documents eight weeks of "
    "physical therapy and NSAIDs before the injection.",
    sources=[
        "RULES.md section 8 (conservative care weeks)",
        "EDITS.md NEC002",
        "payer policy: conservative_care_weeks",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    required = ctx.policy.conservative_care_weeks
    first_line: dict[str, int] = {}
    codes: dict[str, list[str]] = {}
    scs_stages = {p.stage for p in ctx.procedures if p.family == "spinal_cord_stimulator"}
    hardware_only = bool(scs_stages) and scs_stages <= {"replacement", "revision", "removal"}
    for i, line, info in ctx.indexed():
        if info is None or info.kind != "procedure" or info.family not in required:
            continue
        if info.stages and (not {"trial", "implant"} & set(info.stages) or hardware_only):
            continue  # revising or replacing hardware is not starting a therapy: no conservative care owed
        first_line.setdefault(info.family, i)
        if line.code not in codes.setdefault(info.family, []):
            codes[info.family].append(line.code)
    if not first_line:
        return
    weeks = ctx.encounter.documentation.conservative_care_weeks
    if weeks is None:
        fams = ", ".join(sorted(first_line))
        yield Skip(
            f"documentation.conservative_care_weeks is not given: cannot check the conservative care "
            f"required before {fams}"
        )
        return
    for family, i in first_line.items():
        need = required[family]
        if weeks >= need:
            continue
        billed = ", ".join(codes[family])
        yield Hit(
            f"Line {i + 1}: {billed} is {a_family(family)}, which "
            f"{ctx.policy.name} covers only after at least {_fmt(need)} weeks of conservative care; the "
            f"documentation shows {_fmt(weeks)} weeks. It will be denied as not medically necessary.",
            line=i,
            fix=f"If the patient had at least {_fmt(need)} weeks of conservative care (therapy, medication, "
            "home exercise), document it in the record before submitting; otherwise the procedure does not "
            "meet the payer's coverage criteria.",
        )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
