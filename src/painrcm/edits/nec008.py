"""NEC008: trigger-point code does not match the documented muscle count."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.codes.tables import CodeInfo
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip, set_code
from painrcm.model import Family, Severity


def _fits(info: CodeInfo, count: int) -> bool:
    return (info.muscles_min or 0) <= count <= (info.muscles_max if info.muscles_max is not None else 10**6)


EDIT = Edit(
    id="NEC008",
    severity=Severity.ERROR,
    applies_when=("family:trigger_point",),
    title="Trigger-point code does not match the documented muscle count",
    what="Compares each trigger-point injection line with the number of muscles the note documents: 20552 "
    "is one or two muscles, 20553 three or more (however many injections each muscle received).",
    why="The two codes are paid differently and are chosen by muscle count alone. Billing 20553 for two "
    "muscles is upcoding (denied, and recovered on audit); billing 20552 for four muscles leaves money "
    "unpaid.",
    example={
        "diagnoses": ["M79.18"],
        "procedures": [
            {
                "family": "trigger_point",
                "muscles": ["upper trapezius", "levator scapulae", "rhomboid major"],
                "medications": ["lidocaine 1% 6 mL"],
            }
        ],
        "lines": [{"code": "20552", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "diagnoses": ["M79.18"],
        "procedures": [
            {
                "family": "trigger_point",
                "muscles": ["upper trapezius", "levator scapulae", "rhomboid major"],
                "medications": ["lidocaine 1% 6 mL"],
            }
        ],
        "lines": [{"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="Trigger points were injected in three muscles, but the one-or-two-muscle code 20552 was "
    "billed. The fix swaps it for 20553.",
    sources=["RULES.md section 2 (trigger points: 20552 1-2 muscles, 20553 3 or more)", "CPT 20552/20553"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    tp_lines = [
        i
        for i, _ln, info in ctx.indexed()
        if info is not None and info.family == "trigger_point" and ctx.line_dos(i) == ctx.dos
    ]
    if not tp_lines:
        return
    if not ctx.documented:
        yield Skip("no documented procedures: the muscle count behind the trigger-point code is unknown")
        return
    documented = [p for p in ctx.procedures if p.family == Family.TRIGGER_POINT]
    if not documented:
        return  # the note documents no trigger-point injection at all: NEC009's contradiction
    if any(not p.muscles for p in documented):
        yield Skip("the trigger-point note does not list the muscles injected: the muscle count is unknown")
        return
    muscles = {m.strip().lower() for p in documented for m in (p.muscles or []) if m.strip()}
    count = len(muscles)
    right = [c for c in ctx.reference.codes.values() if c.family == "trigger_point" and _fits(c, count)]
    for i in tp_lines:
        if ctx.claimed("muscles", i):
            continue
        info = ctx.info(i)
        assert info is not None
        if _fits(info, count):
            continue
        line = ctx.lines[i]
        noun = "muscle" if count == 1 else "muscles"
        if len(right) == 1:
            good = right[0].code
            yield Hit(
                f"Line {i + 1}: {line.code} is billed, but the note documents {count} {noun} injected, which "
                f"is {good}; the line will be denied or recovered as miscoded.",
                line=i,
                fix=f"Change line {i + 1} from {line.code} to {good}.",
                ops=(set_code(i, good),),
            )
        else:
            yield Hit(
                f"Line {i + 1}: {line.code} does not match the {count} {noun} the note documents.",
                line=i,
                fix="Code the trigger-point injection from the documented muscle count.",
            )
