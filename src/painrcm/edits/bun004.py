from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, add_modifier, remove
from painrcm.model import Severity

# Global periods that make a same-day E/M part of the procedure unless it is separately identifiable.
_GLOBALS = ("000", "010", "090")

EDIT = Edit(
    id="BUN004",
    severity=Severity.ERROR,
    applies_when=("kind:em+lines:2",),
    title="E/M visit on a procedure day without modifier 25",
    what="Finds an office or outpatient visit (99202-99215, new or established patient) billed on the same "
    "date as a procedure that has a 0, 10 or 90-day global period, when the visit line carries no modifier 25 "
    "(or 57, the decision for a major surgery with a 90-day global). When the note says the visit is where "
    "the decision for a 090-global procedure was made (`evaluation.decision_for_surgery`), the fix adds 57, "
    "never removes the payable visit.",
    why="Every procedure's payment already includes the short assessment before it. A visit on the same day "
    "is paid only when it was significant and separately identifiable and says so with modifier 25; without "
    "it the payer denies the visit as part of the procedure (NCCI edits pair every injection code with the "
    "E/M codes).",
    example={
        "evaluation": {"code": "99214", "separately_identifiable": True},
        "lines": [
            {"code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    fixed={
        "evaluation": {"code": "99214", "separately_identifiable": True},
        "lines": [
            {"code": "99214", "modifiers": ["25"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    example_note="The physician evaluated a worsening problem beyond the pre-injection check (documented as "
    "separately identifiable), then did the injection: the visit needs 25.",
    sources=[
        "RULES.md section 4 (same-day E/M)",
        "Medicare Claims Processing Manual ch. 12, sections 30.6.6 and 40 (global surgery)",
        "NCCI PTP v30.1 (injection codes / 99211-99215)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    ref = ctx.reference
    for i, line, info in ctx.indexed():
        if info is None or info.kind != "em" or "25" in line.modifiers:
            continue
        procs = [
            (j, g)
            for j, other, oinfo in ctx.indexed()
            if j != i
            and ctx.same_day(i, j)
            and (oinfo is None or oinfo.kind != "em")
            and (g := ref.global_days(other.code) or "") in _GLOBALS
        ]
        if not procs:
            continue
        # 57 (decision for surgery) answers the rule when a procedure that day has a 90-day global.
        if "57" in line.modifiers and any(g == "090" for _, g in procs):
            continue
        for j, other, _ in ctx.indexed():
            if j == i or not ctx.same_day(i, j):
                continue
            oinfo = ctx.info(j)
            if oinfo is not None and oinfo.kind == "em":
                continue
            if ref.ncci.pair(other.code, line.code, ctx.line_dos(i)) or ref.ncci.pair(
                line.code, other.code, ctx.line_dos(i)
            ):
                ctx.claim("pair", min(i, j), max(i, j))
        j0 = procs[0][0]
        message = (
            f"Visit {line.code} (line {i + 1}) is billed on the same date as procedure {ctx.lines[j0].code} "
            f"(line {j0 + 1}, {int(procs[0][1])}-day global period) without modifier 25 (or 57 for the decision for a "
            "090-global procedure); the visit will be denied as "
            "included in the procedure."
        )
        ev = ctx.encounter.evaluation
        documented = ev is not None and ctx.line_dos(i) == ctx.dos
        if documented and ev is not None and ev.decision_for_surgery and any(g == "090" for _, g in procs):
            yield Hit(
                message + " The note documents that the decision for this 090-global procedure was made at "
                "the visit: that visit takes modifier 57, not 25.",
                line=i,
                fix=f"Add modifier 57 to line {i + 1} ({line.code}).",
                ops=(add_modifier(i, "57"),),
            )
        elif documented and ev is not None and ev.separately_identifiable is True:
            yield Hit(
                message + " The note documents a separately identifiable evaluation.",
                line=i,
                fix=f"Add modifier 25 to line {i + 1} ({line.code}).",
                ops=(add_modifier(i, "25"),),
            )
        elif documented and ev is not None and ev.separately_identifiable is False:
            yield Hit(
                message + " The note documents no evaluation beyond the pre-procedure assessment, so the "
                "visit is not billable.",
                line=i,
                fix=f"Remove line {i + 1} ({line.code}).",
                ops=(remove(i),),
            )
        else:
            yield Hit(
                message + " The note does not say whether the evaluation was separately identifiable.",
                line=i,
                fix=f"Add 25 to line {i + 1} if the note supports a significant, separately identifiable "
                f"evaluation; otherwise remove line {i + 1}.",
            )
