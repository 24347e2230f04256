from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, remove
from painrcm.model import Family, Severity

# Families whose procedures are injections of a steroid and/or local anaesthetic.
INJECTION_FAMILIES = frozenset(
    {
        Family.EPIDURAL_INTERLAMINAR.value,
        Family.EPIDURAL_TRANSFORAMINAL.value,
        Family.FACET_JOINT.value,
        Family.SACROILIAC_JOINT.value,
        Family.TRIGGER_POINT.value,
        Family.PERIPHERAL_NERVE_BLOCK.value,
    }
)

EDIT = Edit(
    id="BUN008",
    severity=Severity.WARNING,
    applies_when=("kind:drug+lines:2",),
    title="Injected drug billed separately for a payer that includes it",
    what="Finds a drug J-code (steroid or anaesthetic) billed on the same date as an injection procedure "
    "(epidural, facet, SI joint, trigger point or peripheral nerve block) for a payer whose policy treats "
    "the drug as part of the injection.",
    why="Some payers pay one amount for the injection that already covers the steroid and anaesthetic. "
    "The separate drug line is denied, or paid and later recouped on audit.",
    example={
        "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
        "authorization_number": "PA-55012",
        "drugs": [{"code": "J1100", "units": 10}],
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "J1100", "modifiers": [], "units": 10, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
        "authorization_number": "PA-55012",
        "drugs": [{"code": "J1100", "units": 10}],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="Dexamethasone 10 mg for a transforaminal injection, billed to a commercial plan whose "
    "policy includes the drug in the injection.",
    sources=[
        "RULES.md section 4 (drugs: commercial default warns)",
        "painrcm commercial policy (drugs.included_with_injection)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    drugs_policy = ctx.policy.drugs
    if not drugs_policy.included_with_injection:
        return
    for i, line, info in ctx.indexed():
        if info is None or info.kind != "drug":
            continue
        # At a facility the facility bills the drug: POS001 says so more precisely.
        if ctx.encounter.practice.kind == "physician" and ctx.line_pos(i) in drugs_policy.facility_pos:
            continue
        injections = [
            j
            for j, _, oinfo in ctx.indexed()
            if oinfo is not None
            and oinfo.kind == "procedure"
            and oinfo.family in INJECTION_FAMILIES
            and ctx.same_day(i, j)
        ]
        if not injections:
            continue
        j = injections[0]
        yield Hit(
            f"Drug {line.code} (line {i + 1}) is billed with injection {ctx.lines[j].code} (line {j + 1}); this "
            f"payer's policy ({ctx.policy.name}) includes the injected drug in the procedure, so the drug line "
            "will not be paid separately.",
            line=i,
            fix=f"Remove line {i + 1} ({line.code}).",
            ops=(remove(i),),
        )
