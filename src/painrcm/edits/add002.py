from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from painrcm.codes.tables import CodeInfo, Reference
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, side_by_modifiers
from painrcm.edits.sides import describe as describe_lines
from painrcm.edits.sides import matches_note, note_lines, rebuild_ops, side_units
from painrcm.model import Line, Severity

_FACET = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
}
_FACET_BOTH = {**_FACET, "levels": ["L4-L5"], "laterality": "bilateral"}
_FACET_RIGHT = {**_FACET, "levels": ["L5-S1"], "laterality": "right"}

EDIT = Edit(
    id="ADD002",
    severity=Severity.ERROR,
    applies_when=("first_level",),
    title="First-level code repeated for extra levels instead of its add-on code",
    what="Finds a first-level code that has add-on codes for further levels (64479, 64483, 64490, 64493, "
    "64633, 64635, 0213T, 0216T, 0228T, 0230T, 22510, 22511, 22513, 22514) billed twice on the same side and "
    "date, with more than one unit, as a 50 line plus an RT or LT line, or (when the note documents different "
    "levels on each side) as RT and LT lines for levels that are not the same level. The fix rebuilds the "
    "session's lines from the note; without a note there is none.",
    why="Each of these codes describes the first level only; further levels have their own add-on code "
    "(64484 for each added transforaminal level, 64494 then 64495 for the second and third facet level, "
    "and so on). A second unit or line of the first-level code is denied as a duplicate or over the "
    "per-day unit limit, and the extra levels go unpaid.",
    example={
        "diagnoses": ["M47.816"],
        "procedures": [_FACET_BOTH, _FACET_RIGHT],
        "lines": [
            {"code": "64493", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["M47.816"],
        "procedures": [_FACET_BOTH, _FACET_RIGHT],
        "lines": [
            {"code": "64493", "modifiers": ["50"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64494", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    example_note="Bilateral L4-L5 and right L5-S1 facet injections (the sides differ) billed 64493-50 + 64493-RT: "
    "the first-level code is repeated and breaks its MUE of 1. The right-only level is the second level, "
    "64494-RT. Without the note there is no automatic fix: a fix never invents a bilateral level or drops a "
    "documented one.",
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
    return side_by_modifiers(line.modifiers)


_RIGHT, _LEFT, _BOTH = frozenset({"R"}), frozenset({"L"}), frozenset({"R", "L"})


def side_set(line: Line) -> frozenset[str]:
    """The sides a line covers; a line without a side is counted on both (its side is unknown)."""
    key = side_key(line)
    if key == "right":
        return _RIGHT
    if key == "left":
        return _LEFT
    return _BOTH


SIDE_WORD = {"bilateral": "both sides", "right": "the right side", "left": "the left side", None: "no side"}


def addons_of(ref: Reference, primary: str) -> dict[object, CodeInfo]:
    """The add-on codes of a first-level code, by level (2, 3 or "each")."""
    return dict(ref.addons_by_primary.get(primary, {}))


def has_addons(ref: Reference, info: CodeInfo | None) -> bool:
    return info is not None and info.level == 1 and bool(ref.addons_by_primary.get(info.code))


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
    groups: dict[tuple[str, date], list[int]] = defaultdict(list)
    for i, line, info in ctx.indexed():
        if not has_addons(ref, info) or ctx.claimed("units", i) or whole_units(line) is None:
            continue
        groups[(line.code, ctx.line_dos(i))].append(i)

    for (code, day), idx in groups.items():
        lines = [ctx.lines[i] for i in idx]
        right, left = side_units(lines, code)
        repeated = right > 1 or left > 1
        other_side = False
        if not repeated and right == 1 and left == 1 and len(idx) > 1:
            # RT and LT lines of the primary: one bilateral level (RT/LT convention, or MOD007's merge),
            # or two levels on opposite sides, which the note tells apart.
            coded = note_lines(ctx, idx[0])
            if coded is not None and not matches_note(ctx, idx[0]):
                c_right, c_left = side_units(coded, code)
                # the note has levels on both sides, but no first level done on both: the second side's
                # level is an add-on (a side the note does not document at all is NEC009's)
                both_sides = {s for ln in coded for s in ("RT", "LT", "50") if s in ln.modifiers}
                covers_both = "50" in both_sides or {"RT", "LT"} <= both_sides
                other_side = (c_right, c_left) != (1, 1) and covers_both
        if not repeated and not other_side:
            continue
        if repeated and matches_note(ctx, idx[0]):
            continue  # coded from the note as it is (cannot happen for a first-level code, kept for safety)
        for i in idx:
            ctx.claim("units", i)
            ctx.claim("side", i)
        rebuilt = rebuild_ops(ctx, idx[0])
        ops: tuple[FixOp, ...] | None = None
        listed = ", ".join(str(j + 1) for j in idx)
        if rebuilt is not None:
            ops, new_lines = rebuilt
            fix = f"Bill {describe_lines(new_lines)} (coded from the note) in place of the {code} session's lines."
        else:
            fix = (
                f"Bill {code} once per side for the first level (one 50 line, or one RT and one LT line, "
                "when that level was done on both sides) and report every further level with the add-on "
                "code and its own side; the note must say which levels were done on which side."
            )
        if other_side:
            msg = (
                f"{code} is billed on lines {listed} for the right and the left side on {day.isoformat()}, "
                f"but the note documents different levels on each side: {code} covers the first level only, "
                "and the other side's level is an additional level, billed with the add-on code."
            )
        elif len(idx) == 1:
            msg = (
                f"{code} is billed with {total_words(right, left)} on {day.isoformat()}. {code} covers the first "
                "level only; the extra levels must be billed with the add-on code, so the repeated units will "
                "be denied (MUE 1 a day)."
            )
        else:
            msg = (
                f"{code} is billed on lines {listed} ({total_words(right, left)}) on {day.isoformat()}: the "
                f"first-level code is repeated (a 50 line and an RT or LT line, or two lines of one side). "
                f"{code} covers the first level only and its MUE is 1 a day; further levels are the add-on code."
            )
        yield Hit(msg, line=idx[1] if len(idx) > 1 else idx[0], fix=fix, ops=ops)


def total_words(right: float, left: float) -> str:
    return f"{right:g} unit(s) on the right and {left:g} on the left"
