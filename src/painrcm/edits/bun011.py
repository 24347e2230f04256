"""BUN011: an E/M visit inside an earlier procedure's global period (010/090), without 24, 25, 57 or 79."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, Skip, add_modifier
from painrcm.edits.frequency import history_services
from painrcm.model import Severity

_BYPASS = ("24", "25", "57", "79")
_DAYS = {"010": 10, "090": 90}
_KYPHO = {
    "encounter_id": "EX-KYPHO",
    "date_of_service": "2026-02-25",
    "diagnoses": ["M80.08XA"],
    "procedures": [{"family": "vertebral_augmentation", "kind": "kyphoplasty", "levels": ["L1"]}],
    "lines": [{"code": "22514", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
}

EDIT = Edit(
    id="BUN011",
    severity=Severity.ERROR,
    applies_when=("kind:em",),
    title="Visit inside a procedure's global period",
    what="Finds an E/M visit by the same practice within the global period after an earlier procedure with a "
    "010 or 090 global (the days come from the fee-schedule file: 22510-22515 and 63650/63685 are 010, 63655 "
    "is 090), when the visit carries none of 24 (unrelated problem), 25, 57 (decision for surgery) or 79. "
    "Needs the patient's history; without it the edit is not checked.",
    why="The global surgical package pays for the usual follow-up visits after the procedure. A visit inside "
    "the period without a modifier saying why it is separate is denied as included (CO-97), and a pattern "
    "of them looks like unbundling on audit.",
    example={
        "procedures": [],
        "diagnoses": ["M54.16"],
        "evaluation": {"code": "99213"},
        "lines": [{"code": "99213", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "procedures": [],
        "diagnoses": ["M54.16"],
        "evaluation": {"code": "99213", "unrelated_to_procedure": True},
        "lines": [{"code": "99213", "modifiers": ["24"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_context={"history": [_KYPHO]},
    fixed_context={"history": [_KYPHO]},
    example_note="A kyphoplasty (22514, 010 global) on 2026-02-25, then an office visit on 2026-03-02 for a new, "
    "unrelated radicular complaint: the visit needs modifier 24, or it is paid as part of the kyphoplasty.",
    sources=[
        "RULES.md section 4 (global period after the procedure)",
        "CMS Claims Processing Manual ch. 12 section 40 (global surgery)",
        "CMS physician fee schedule global days",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    visits = [
        i
        for i, line, info in ctx.indexed()
        if info is not None and info.kind == "em" and not line.has(*_BYPASS)
    ]
    if not visits:
        return
    practice = ctx.encounter.practice.id
    earliest = min(ctx.line_dos(i) for i in visits) - timedelta(days=90)
    past = [s for s in history_services(ctx, earliest, ctx.dos) if s.date < ctx.dos]
    unknown_practice = False
    for i in visits:
        day = ctx.line_dos(i)
        npi = ctx.encounter.rendering_provider.npi
        for s in past:
            if practice is not None and s.practice_id is not None:
                same = s.practice_id == practice
            elif npi and s.rendering_npi:
                same = s.rendering_npi == npi  # claims-only history (837P): the same physician
            else:
                unknown_practice = unknown_practice or bool(s.codes)
                continue
            if not same or s.date >= day:
                continue
            hit = next(
                (
                    (code, days)
                    for code in s.codes
                    if (days := _DAYS.get(ctx.reference.global_days(code) or ""))
                    and (day - s.date).days <= days
                ),
                None,
            )
            if hit is None:
                continue
            code, days = hit
            ev = ctx.encounter.evaluation
            ops: tuple[FixOp, ...] | None = None
            fix = (
                "If the visit was for a problem unrelated to the procedure, document it and add 24; otherwise "
                "the visit is part of the procedure's global package and is not billed."
            )
            if ev is not None and ev.unrelated_to_procedure:
                ops = (add_modifier(i, "24"),)
                fix = f"The note documents an unrelated problem: add 24 to line {i + 1}."
            yield Hit(
                f"Line {i + 1}: {ctx.lines[i].code} on {day.isoformat()} falls in the {days}-day global period of "
                f"{code} done on {s.date.isoformat()} by the same practice, and carries none of 24, 25, 57 or 79; "
                "it will be denied as part of the global surgical package.",
                line=i,
                fix=fix,
                ops=ops,
            )
            break
    if unknown_practice:
        yield Skip(
            "a history record or this claim has no practice id: visits inside another's global period were not checked"
        )
