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
from dataclasses import dataclass
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


@dataclass(slots=True, eq=False)
class Session:
    """One level-family session of the claim: its billed lines (same level family, region and date, in
    claim order), the lines the coder makes from the note for it, and whether they are the same."""

    lines: list[int]
    # the coder's lines for the session's family and region (codes, sides and units): None when the session
    # is not on the claim's date, the note does not document that family or a fact the coder needs is missing
    coded: list[CodedLine] | None
    matches: bool  # billed exactly as the coder codes the note (`same_lines`; False without coded lines)


@dataclass(slots=True, eq=False)
class Sessions:
    """The claim's level-family sessions, in the order of their first lines, and each line's session
    (None for a line of no level family): what every edit comparing a billed session with the note reads
    (NEC009, ADD002, ADD005, MOD007), worked out once per claim."""

    all: list[Session]
    of_line: list[Session | None]


def sessions(ctx: ClaimContext) -> Sessions:
    """The claim's `Sessions` (made on first use, then kept in the claim's context)."""
    found: Sessions | None = ctx.memo.get(sessions)
    if found is None:
        found = ctx.memo[sessions] = _sessions(ctx)
    return found


def _sessions(ctx: ClaimContext) -> Sessions:
    of_line: list[Session | None] = [None] * len(ctx.lines)
    by_key: dict[tuple[str | None, str | None, date], list[int]] = {}
    dates = ctx.dates
    for j, info in enumerate(ctx.infos):
        if level_family(info):
            assert info is not None
            by_key.setdefault((info.family, info.region, dates[j]), []).append(j)
    out: list[Session] = []
    if not by_key:
        return Sessions(out, of_line)
    lines, dos = ctx.lines, ctx.encounter.date_of_service
    coded_by: dict[tuple[str | None, str | None], list[CodedLine] | None] = {}
    for (family, region, day), idx in by_key.items():
        coded = None
        if day == dos:
            key = (family, region)
            if key not in coded_by:
                coded_by[key] = _note_lines(ctx, ctx.infos[idx[0]])  # type: ignore[arg-type]
            coded = coded_by[key]
        session = Session(idx, coded, coded is not None and same_lines([lines[j] for j in idx], coded))
        out.append(session)
        for j in idx:
            of_line[j] = session
    return Sessions(out, of_line)


def session_lines(ctx: ClaimContext, i: int) -> list[int]:
    """Indexes of the billed lines of line i's session: same level family, region and date."""
    session = sessions(ctx).of_line[i]
    return [i] if session is None else list(session.lines)


def note_lines(ctx: ClaimContext, i: int) -> list[CodedLine] | None:
    """The lines the coder makes from the note for line i's session (its family and region: codes,
    sides and units), or None when the note does not document that family or a fact the coder needs
    is missing."""
    session = sessions(ctx).of_line[i]
    return None if session is None or session.coded is None else list(session.coded)


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
    session = sessions(ctx).of_line[i]
    return session is not None and session.matches


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
