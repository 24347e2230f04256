"""MOD002: modifier 50 (or an RT+LT pair of lines) on a code that is not a bilateral procedure."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, Skip, remove, remove_modifier, replace
from painrcm.edits.mod001 import NOT_BILATERAL, indicator, merge_pointers, with_side
from painrcm.model import Severity

EDIT = Edit(
    id="MOD002",
    severity=Severity.ERROR,
    applies_when=("mod:50", "mod:RT+mod:LT"),
    title="Bilateral billing on a code that is not a bilateral procedure",
    what="Finds modifier 50, or the same code billed on a right (RT) and a left (LT) line, on a code whose "
    "fee-schedule bilateral indicator says it is not a bilateral procedure (indicator 0, 2 or 9): the "
    "interlaminar/caudal epidurals 62320-62323, trigger points 20552/20553, E/M visits, imaging guidance, "
    "drug tests and others.",
    why="For these codes one unit already covers the whole service, wherever the needle goes. Modifier 50 "
    "(or a second line for the other side) asks for 150% or double payment of a service that has no sides: "
    "the line is denied (CO-4) or paid once and the rest flagged as an overpayment.",
    example={
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "lumbar",
                "approach": "interlaminar",
                "levels": ["L5-S1"],
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [{"code": "62323", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    fixed={
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "lumbar",
                "approach": "interlaminar",
                "levels": ["L5-S1"],
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [{"code": "62323", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="A lumbar interlaminar epidural under fluoroscopy, billed 62323-50 because the patient has "
    "pain on both sides. 62323 has bilateral indicator 9: one line, no 50.",
    sources=[
        "RULES.md section 3 (bilateral indicator 0/9: no modifier 50)",
        "CMS physician fee schedule bilateral surgery indicators",
        "EDITS.md MOD002",
    ],
)


def _unknown(code: str, where: str) -> Skip:
    return Skip(
        f"the fee-schedule bilateral indicator of {code} is unknown, so {where} could not be checked "
        "(import the current CMS fee-schedule file)"
    )


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    # 50, or RT and LT together, on one line
    for i, line in enumerate(ctx.lines):
        both = "RT" in line.modifiers and "LT" in line.modifiers
        if "50" not in line.modifiers and not both:
            continue
        ind = indicator(ctx.reference, line.code)
        if ind is None:
            yield _unknown(line.code, f"modifier 50 / RT+LT on line {i + 1}")
            continue
        if ind not in NOT_BILATERAL:
            continue
        ctx.claim("side", i)
        mods = [m for m in ("50", "RT", "LT") if m in line.modifiers and (m == "50" or both)]
        shown = " and ".join(mods)
        yield Hit(
            f"Line {i + 1} ({line.code}) carries {shown}, but {line.code} is not a bilateral procedure "
            f"(fee-schedule bilateral indicator {ind}): one line without side modifiers covers the service, "
            "and the bilateral claim will be denied.",
            line=i,
            fix=f"Remove {shown} from line {i + 1}.",
            ops=tuple(remove_modifier(i, m) for m in mods),
        )

    # the same code on an RT line and an LT line of the same date
    groups: dict[tuple[str, object], dict[str, list[int]]] = {}
    for i, line in enumerate(ctx.lines):
        if "50" in line.modifiers:
            continue
        has_rt, has_lt = "RT" in line.modifiers, "LT" in line.modifiers
        if has_rt == has_lt:
            continue
        g = groups.setdefault((line.code, ctx.line_dos(i)), {"RT": [], "LT": []})
        g["RT" if has_rt else "LT"].append(i)
    for (code, _), g in groups.items():
        if not g["RT"] or not g["LT"]:
            continue
        idx = sorted(g["RT"] + g["LT"])
        listed = ", ".join(str(i + 1) for i in idx)
        ind = indicator(ctx.reference, code)
        if ind is None:
            yield _unknown(code, f"the RT and LT lines {listed}")
            continue
        if ind not in NOT_BILATERAL:
            continue
        for i in idx:
            ctx.claim("side", i)
        first = idx[0]
        ops: tuple[FixOp, ...] | None = None
        if len(g["RT"]) == 1 and len(g["LT"]) == 1:
            other = idx[1]
            merged = with_side(ctx.lines[first], None)
            merged.diagnosis_pointers = merge_pointers(
                ctx.lines[first].diagnosis_pointers, ctx.lines[other].diagnosis_pointers
            )
            ops = (replace(first, [merged]), remove(other))
            fix = f"Merge lines {listed} into one {code} line without RT or LT."
        else:
            fix = f"Bill {code} once for the session, without RT or LT, and remove the other lines."
        yield Hit(
            f"{code} is billed on a right (RT) and a left (LT) line (lines {listed}), but it is not a bilateral "
            f"procedure (fee-schedule bilateral indicator {ind}): one line covers both sides, and the second "
            "line will be denied.",
            line=first,
            fix=fix,
            ops=ops,
        )
