from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from painrcm.codes.tables import CodeInfo, Reference
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove, replace
from painrcm.model import Line, Severity

EDIT = Edit(
    id="ADD002",
    severity=Severity.ERROR,
    title="First-level code repeated for extra levels instead of its add-on code",
    what="Finds a first-level code that has add-on codes for further levels (64479, 64483, 64490, 64493, "
    "64633, 64635, 22510, 22511, 22513, 22514) billed twice on the same side and date, or with more than "
    "one unit, to report more levels.",
    why="Each of these codes describes the first level only; further levels have their own add-on code "
    "(64484 for each added transforaminal level, 64494 then 64495 for the second and third facet level, "
    "and so on). A second unit or line of the first-level code is denied as a duplicate or over the "
    "per-day unit limit, and the extra levels go unpaid.",
    example={
        "procedures": [
            {
                "family": "epidural_transforaminal",
                "region": "lumbar",
                "levels": ["L4", "L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["dexamethasone 10 mg"],
            }
        ],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 2, "diagnosis_pointers": [1, 2]}],
    },
    fixed={
        "procedures": [
            {
                "family": "epidural_transforaminal",
                "region": "lumbar",
                "levels": ["L4", "L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["dexamethasone 10 mg"],
            }
        ],
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "64484", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    },
    example_note="Right L4 and L5 transforaminal injections billed as 64483 x 2; the second level is the "
    "add-on 64484.",
    sources=[
        "RULES.md section 2 (codes by procedure: first level and add-on codes)",
        "CMS MUE table (64483, 64493: 1 unit per day)",
    ],
)


# --- helpers shared by the ADD edits --------------------------------------------------------------
def whole_units(line: Line) -> int | None:
    """The line's units as a whole number >= 1, or None when COD006 owns the problem."""
    u = line.units
    if u is None or u < 1 or not float(u).is_integer():
        return None
    return int(u)


def side_key(line: Line) -> str | None:
    """bilateral (50, or RT and LT on one line), right, left, or None (no side given)."""
    mods = line.modifiers
    if "50" in mods or ("RT" in mods and "LT" in mods):
        return "bilateral"
    if "RT" in mods:
        return "right"
    if "LT" in mods:
        return "left"
    return None


def side_set(line: Line) -> frozenset[str]:
    """The sides a line covers; a line without a side is counted on both (its side is unknown)."""
    key = side_key(line)
    if key == "right":
        return frozenset({"R"})
    if key == "left":
        return frozenset({"L"})
    return frozenset({"R", "L"})


SIDE_WORD = {"bilateral": "both sides", "right": "the right side", "left": "the left side", None: "no side"}


def addons_of(ref: Reference, primary: str) -> dict[object, CodeInfo]:
    """The add-on codes of a first-level code, by level (2, 3 or "each")."""
    return dict(ref.addons_by_primary.get(primary, {}))


def has_addons(ref: Reference, info: CodeInfo | None) -> bool:
    return info is not None and info.level == 1 and bool(addons_of(ref, info.code))


def level_lines(ref: Reference, template: Line, levels: int) -> list[Line] | None:
    """First-level line plus the add-on lines for `levels` levels, copying the template's modifiers,
    pointers, date and place. None when the code table lacks the add-on needed."""
    addons = addons_of(ref, template.code)
    out = [template.model_copy(update={"units": 1}, deep=True)]
    if levels <= 1:
        return out
    if "each" in addons:
        out.append(template.model_copy(update={"code": addons["each"].code, "units": levels - 1}, deep=True))
        return out
    if 2 not in addons:
        return None
    out.append(template.model_copy(update={"code": addons[2].code, "units": 1}, deep=True))
    if levels >= 3:
        if 3 not in addons:
            return None
        # the third-and-further code is reported once, whatever the number of further levels
        out.append(template.model_copy(update={"code": addons[3].code, "units": 1}, deep=True))
    return out


def describe(lines: list[Line]) -> str:
    parts = []
    for ln in lines:
        mods = "-" + "-".join(ln.modifiers) if ln.modifiers else ""
        units = whole_units(ln)
        parts.append(f"{ln.code}{mods} x {units if units is not None else ln.units}")
    return " + ".join(parts)


# --- the check ------------------------------------------------------------------------------------
@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    ref = ctx.reference
    groups: dict[tuple[str, date, str | None], list[int]] = defaultdict(list)
    for i, line, info in ctx.indexed():
        if not has_addons(ref, info) or ctx.claimed("units", i) or whole_units(line) is None:
            continue
        groups[(line.code, ctx.line_dos(i), side_key(line))].append(i)

    for (code, day, side), idx in groups.items():
        total = sum(whole_units(ctx.lines[i]) or 0 for i in idx)
        if total <= 1:
            continue
        for i in idx:
            ctx.claim("units", i)
        first = ctx.lines[idx[0]]
        # Add-on lines already billed for this code, side and date make the level count a judgement call.
        addon_codes = {c.code for c in addons_of(ref, code).values()}
        existing_addons = [
            j
            for j, ln in enumerate(ctx.lines)
            if ln.code in addon_codes and ctx.line_dos(j) == day and side_key(ln) == side
        ]
        new_lines = None if existing_addons else level_lines(ref, first, total)
        ops: tuple[FixOp, ...] | None = None
        if new_lines is not None:
            ops = (replace(idx[0], new_lines), *(remove(j) for j in idx[1:]))
        where = SIDE_WORD[side]
        if len(idx) == 1:
            billed = f"with {total} units"
            at = idx[0]
        else:
            billed = f"on lines {', '.join(str(j + 1) for j in idx)} ({total} units in all)"
            at = idx[1]
        if new_lines is not None:
            fix = (
                f"Bill {describe(new_lines)} in place of "
                f"{'line ' + str(idx[0] + 1) if len(idx) == 1 else 'lines ' + ', '.join(str(j + 1) for j in idx)}."
            )
        else:
            fix = (
                f"Bill {code} once (1 unit) for the first level on {where} and report the further levels "
                "with the add-on code, counting the add-on lines already billed."
            )
        yield Hit(
            f"{code} is billed {billed} for {where} on {day.isoformat()}. {code} covers the first level "
            "only; the extra levels must be billed with the add-on code, so the repeated units will be "
            "denied.",
            line=at,
            fix=fix,
            ops=ops,
        )
