"""Sides that differ (RULES.md section 1): the lines of one level-family session, billed and as
coded from the note, and the fix that rebuilds them from the note.

Transforaminal epidurals, facet joint injections and facet RFA report levels with a first-level
code and add-on codes, each with its own side. Whether RT and LT lines of one code are one
bilateral level or two levels on opposite sides can only be read from the note: with it, the
edits compare the billed lines with the coder's; without it, they report and offer no fix (a fix
never invents a bilateral level and never drops a documented level).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from painrcm.coder import CodedLine, coded_procedures
from painrcm.coder.levels import LEVEL_FAMILIES
from painrcm.codes.tables import CodeInfo
from painrcm.edits.base import ClaimContext, FixOp, remove, replace
from painrcm.errors import InputError
from painrcm.model import Line

LEVEL_FAMILY_NAMES = frozenset(f.value for f in LEVEL_FAMILIES)
SIDE_MODS = ("50", "RT", "LT")
_SIDE_SET = frozenset(SIDE_MODS)


class Billed(Protocol):
    """What the sides compare of a line, billed (`Line`) or coded from the note (`CodedLine`)."""

    @property
    def code(self) -> str: ...
    @property
    def modifiers(self) -> Sequence[str]: ...
    @property
    def units(self) -> float | None: ...


def level_family(info: CodeInfo | None) -> bool:
    return info is not None and info.family in LEVEL_FAMILY_NAMES and info.region is not None


def session_lines(ctx: ClaimContext, i: int) -> list[int]:
    """Indexes of the billed lines of line i's session: same level family, region and date."""
    info = ctx.infos[i]
    if not level_family(info):
        return [i]
    assert info is not None
    return list(_session(ctx, info, ctx.dates[i]))


def _session(ctx: ClaimContext, info: CodeInfo, day: date) -> list[int]:
    # the same for every line of the session: found once per claim (several edits ask); the callers
    # in this module only read it, `session_lines` hands out copies
    key = ("session_lines", info.family, info.region, day)
    found: list[int] | None = ctx.memo.get(key)
    if found is None:
        family, region, dates = info.family, info.region, ctx.dates
        found = ctx.memo[key] = [
            j
            for j, other in enumerate(ctx.infos)
            if other is not None and other.family == family and other.region == region and dates[j] == day
        ]
    return found


def note_lines(ctx: ClaimContext, i: int) -> list[CodedLine] | None:
    """The lines the coder makes from the note for line i's session (its family and region: codes,
    sides and units), or None when the note does not document that family or a fact the coder needs
    is missing."""
    found = _note(ctx, i)
    return None if found is None else list(found)


def _note(ctx: ClaimContext, i: int) -> list[CodedLine] | None:
    # `note_lines` without the copy, for the readers in this module
    info = ctx.infos[i]
    if not level_family(info) or ctx.dates[i] != ctx.encounter.date_of_service:
        return None
    assert info is not None
    # the same for every line of the family and region: coded once per claim (several edits ask)
    key = ("note_lines", info.family, info.region)
    memo = ctx.memo
    if key not in memo:
        memo[key] = _note_lines(ctx, info)
    found: list[CodedLine] | None = memo[key]
    return found


def _note_lines(ctx: ClaimContext, info: CodeInfo) -> list[CodedLine] | None:
    procs = [p for p in ctx.procedures if p.family == info.family]  # a StrEnum equals its value
    if not procs:
        return None
    try:
        coded = coded_procedures(ctx.encounter, procs, ctx.reference, ctx.policy)
    except (InputError, LookupError, StopIteration, ValueError):
        return None
    out = []
    for ln in coded:
        ci = ctx.reference.info(ln.code)
        if ci is not None and ci.family == info.family and ci.region == info.region:
            out.append(ln)
    return out or None


def same_lines(billed: Sequence[Billed], coded: Sequence[Billed]) -> bool:
    """Same codes, sides and units (other modifiers and pointers aside)."""
    if len(billed) != len(coded):
        return False  # a different number of lines is a different count of some key
    # each billed line takes one equal coded line (equal keys are interchangeable, so the first will do):
    # a session has a few lines, and the sides are only read for lines of the same code and units
    rest = list(coded)
    for b in billed:
        code, units, sides = b.code, b.units, None
        for k, c in enumerate(rest):
            if c.code == code and (c.units is units or c.units == units):
                if sides is None:
                    sides = _SIDE_SET.intersection(b.modifiers)
                if _SIDE_SET.intersection(c.modifiers) == sides:
                    del rest[k]
                    break
        else:
            return False
    return True


def matches_note(ctx: ClaimContext, i: int) -> bool:
    """Line i's session is billed exactly as the coder codes the note."""
    coded = _note(ctx, i)
    if coded is None:
        return False
    info = ctx.infos[i]
    assert info is not None  # note_lines answers for level-family lines only
    # the same for every line of the session (note_lines answers for the claim's date only)
    key = ("matches_note", info.family, info.region)
    found: bool | None = ctx.memo.get(key)
    if found is None:
        lines = ctx.lines
        billed = [lines[j] for j in _session(ctx, info, ctx.dates[i])]
        found = ctx.memo[key] = same_lines(billed, coded)
    return found


def side_units(lines: Sequence[Billed], code: str) -> tuple[float, float]:
    """(right, left) units of `code`: a 50 line (or RT and LT on one line) counts on both sides."""
    r = lt = 0.0
    for ln in lines:
        if ln.code != code:
            continue
        u = ln.units or 0
        mods = ln.modifiers
        right = "RT" in mods
        if "50" in mods or right == ("LT" in mods):  # 50, RT and LT, or no side at all
            r += u
            lt += u
        elif right:
            r += u
        else:
            lt += u
    return r, lt


def rebuild_ops(ctx: ClaimContext, i: int) -> tuple[tuple[FixOp, ...], list[Line]] | None:
    """Replace line i's whole session with the lines coded from the note, keeping the first billed
    line's pointers, other modifiers (KX, XS...), date, place and authorization. None without a note."""
    coded = note_lines(ctx, i)
    if coded is None:
        return None
    idx = session_lines(ctx, i)
    template = ctx.lines[idx[0]]
    keep = [m for m in template.modifiers if m not in SIDE_MODS]
    new: list[Line] = []
    for ln in coded:
        mods = [*ln.modifiers, *(m for m in keep if m not in ln.modifiers)]
        new.append(
            template.model_copy(deep=True, update={"code": ln.code, "modifiers": mods, "units": ln.units})
        )
    return (replace(idx[0], new), *(remove(j) for j in idx[1:])), new


def describe(lines: list[Line]) -> str:
    return " + ".join(
        f"{ln.code}{''.join('-' + m for m in ln.modifiers)} x {int(ln.units) if ln.units and float(ln.units).is_integer() else ln.units}"
        for ln in lines
    )


def session_day(ctx: ClaimContext, i: int) -> date:
    return ctx.line_dos(i)
