from collections.abc import Iterator
from typing import Any

from painrcm.edits._examples_history import line, visit
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.frequency import history_services
from painrcm.model import Severity

_IMPLANT = {
    "diagnoses": ["G89.4", "M96.1"],
    "procedures": [{"family": "spinal_cord_stimulator", "stage": "implant", "leads": 2}],
    "lines": [line("63685"), {"code": "63650", "modifiers": [], "units": 2, "diagnosis_pointers": [1, 2]}],
}


def _trial(relief: float | None) -> dict[str, Any]:
    proc = {"family": "spinal_cord_stimulator", "stage": "trial", "leads": 2}
    if relief is not None:
        proc["relief_percent"] = relief
    return visit(
        "T-1",
        "2026-01-20",
        {"code": "63650", "modifiers": [], "units": 2, "diagnosis_pointers": [1]},
        procedures=[proc],
        diagnoses=["G89.4", "M96.1"],
    )


EDIT = Edit(
    id="NEC005",
    severity=Severity.ERROR,
    applies_when=("stages", "proc:spinal_cord_stimulator"),
    title="Permanent spinal cord stimulator without a successful trial",
    what="For a permanent stimulator implant (63685, or a documented implant stage), looks in history for a "
    "stimulator trial with documented relief at or above the payer's threshold (50% by default). A trial "
    "without documented relief is reported as not checked.",
    why="Coverage of a permanent stimulator depends on a trial that relieved the pain; without one the "
    "implant, one of the largest claims a pain practice sends, is denied.",
    example=_IMPLANT,
    fixed=_IMPLANT,
    example_context={"history": [_trial(30)]},
    fixed_context={"history": [_trial(70)]},
    example_note="The trial gave 30% relief; the payer wants at least 50%.",
    sources=["RULES.md section 8", "NCD 160.7 (electrical nerve stimulators: trial and screening)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    # a generator line (stages: implant, never trial) is read as the permanent implant
    implant_line = next(
        (
            i
            for i, _, info in ctx.indexed()
            if info and "implant" in info.stages and "trial" not in info.stages
        ),
        None,
    )
    documented = any(
        p.family.value == "spinal_cord_stimulator" and p.stage == "implant" for p in ctx.procedures
    )
    if implant_line is None and not documented:
        return
    scs = [p for p in ctx.procedures if p.family.value == "spinal_cord_stimulator"]
    if scs and all(p.stage in ("replacement", "revision", "removal") for p in scs):
        return  # a generator (battery) replacement needs no trial (RULES.md section 2)
    if not scs and implant_line is not None:
        earlier = [
            h
            for h in history_services(ctx, None, ctx.dos, "spinal_cord_stimulator")
            if h.family == "spinal_cord_stimulator"
            and h.date < ctx.dos
            and ctx.lines[implant_line].code in h.codes
        ]
        if earlier:
            return  # a generator placed before: this one replaces it
    threshold = ctx.policy.relief.scs_trial_percent
    trials = [
        h
        for h in history_services(ctx, None, ctx.dos, "spinal_cord_stimulator")
        if h.family == "spinal_cord_stimulator"
        and h.date < ctx.dos
        and (h.stage == "trial" or (h.stage is None and all(_may_be_trial(ctx, c) for c in h.codes)))
    ]
    if any((t.relief_percent or 0) >= threshold for t in trials):
        return
    unknown = [t for t in trials if t.relief_percent is None]
    if unknown:
        yield Skip(f"the trial on {unknown[-1].date.isoformat()} has no documented relief")
        return
    best = max((t.relief_percent or 0 for t in trials), default=None)
    yield Hit(
        "A permanent stimulator needs an earlier trial with at least "
        f"{threshold:g}% relief; "
        + ("history holds no trial." if best is None else f"the best trial gave {best:g}%."),
        line=implant_line,
        fix="Hold the claim until a successful trial is documented (add the trial's record if it was done "
        "elsewhere).",
    )


def _may_be_trial(ctx: ClaimContext, code: str) -> bool:
    info = ctx.reference.info(code)
    return info is not None and "trial" in info.stages
