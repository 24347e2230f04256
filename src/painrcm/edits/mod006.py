"""MOD006: the same code twice on one date, same side, without a repeat or distinct-service modifier."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.codes.tables import REPEAT_MODIFIERS, CodeInfo
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, remove
from painrcm.model import Severity

_SIDE_TEXT = {
    "right": "right side (RT)",
    "left": "left side (LT)",
    "bilateral": "both sides (50)",
    None: "no side",
}

_SI = {
    "family": "sacroiliac_joint",
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["triamcinolone 40 mg", "ropivacaine 0.2% 2 mL"],
}

EDIT = Edit(
    id="MOD006",
    severity=Severity.ERROR,
    applies_when=("repeat_code",),
    title="Duplicate line: same code, same date, same side",
    what="Finds a code billed on two or more lines with the same date of service and the same side (RT, LT, 50 "
    "or none) where no line carries a repeat modifier (76, 77) or a distinct-service modifier (59, XE, XS, "
    "XP, XU). Codes that report extra levels through an add-on code (a first-level code repeated is ADD002) "
    "and the add-on level codes themselves are left to the ADD edits.",
    why="Payers read two identical lines as the same service billed twice: the second line is denied as a "
    "duplicate (CO-18), and repeated duplicates look like double billing in an audit.",
    example={
        "procedures": [_SI],
        "diagnoses": ["M46.1", "M53.3"],
        "lines": [
            {"code": "27096", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "27096", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    fixed={
        "procedures": [_SI],
        "diagnoses": ["M46.1", "M53.3"],
        "lines": [{"code": "27096", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="One right SI joint injection, entered twice (once from the charge ticket, once from the "
    "procedure log).",
    sources=["EDITS.md MOD006", "CMS Claims Processing Manual ch. 12 (modifiers 76/77, 59 and X{EPSU})"],
)


def _level_code(ctx: ClaimContext, info: CodeInfo | None) -> bool:
    """Codes whose repeats are level counts (ADD002, ADD004, ADD005 decide): a primary that has an add-on
    for further levels, and the add-on codes."""
    if info is None:
        return False
    if info.is_addon:
        return True
    return info.code in ctx.reference.addon_primaries


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    groups: dict[tuple[str, object, str | None], list[int]] = {}
    for i, line, info in ctx.indexed():
        if line.has(*REPEAT_MODIFIERS) or _level_code(ctx, info):
            continue
        if ctx.claimed("side", i):
            continue  # a side problem (MOD001-MOD004) is what is wrong with this line
        groups.setdefault((line.code, ctx.line_dos(i), ctx.side_of(i)), []).append(i)
    for (code, dos, side), idx in groups.items():
        if len(idx) < 2:
            continue
        if any(ctx.claimed("pair", a, b) for a in idx for b in idx if a < b):
            continue  # a bundling edit (e.g. BUN010) already explains these lines
        first, rest = idx[0], idx[1:]
        listed = ", ".join(str(i + 1) for i in idx)
        is_drug = (info := ctx.info(first)) is not None and info.kind == "drug"
        same = all(
            ctx.lines[j].units == ctx.lines[first].units
            and sorted(ctx.lines[j].modifiers) == sorted(ctx.lines[first].modifiers)
            for j in rest
        )
        removable = False
        if is_drug:
            fix = (
                f"Bill {code} once with the total units given (or delete the duplicate entry): "
                f"merge lines {listed}."
            )
        elif same:
            fix = f"Merge lines {listed} into one: keep line {first + 1} and remove the rest."
            removable = True
        else:
            fix = (
                f"Merge lines {listed} into one line, or add 76/77 or a distinct-service modifier if the "
                "service really was repeated."
            )
        for j in rest:
            yield Hit(
                f"Line {j + 1} ({code}) repeats line {first + 1}: same code, same date ({dos}) and "
                f"{_SIDE_TEXT.get(side, side)}, with no 76/77 or distinct-service modifier; the payer will "
                "deny it as a duplicate.",
                line=j,
                fix=fix,
                ops=(remove(j),) if removable else None,
            )
