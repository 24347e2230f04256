"""What an edit is: a stable ID, a severity, its documentation and examples, and a check.

An edit module defines one ``EDIT = Edit(...)`` and decorates its check function with
``@EDIT.check``. The check reads a `ClaimContext` and yields `Hit`s (problems) or `Skip`s (what it
could not check and why). The scrubber turns hits into findings, in catalogue order.

"One problem, one finding" (EDITS.md): a specific edit *claims* what it explained with
``ctx.claim(key)``; a general edit asks ``ctx.claimed(key)`` and stays quiet. Keys in use:

- ``("pair", i, j)``: the NCCI pair of lines i and j (BUN001-004, BUN010 over BUN006/BUN007)
- ``("units", i)``: line i's units (ADD002, MOD009 over ADD004; MOD009 over ADD002)
- ``("side", i)``: line i's side modifiers (MOD001-004, MOD007 over NEC009)
- ``("muscles", i)``: trigger-point code choice (BUN003 over NEC008)
- ``("coverage", i)``: imaging coverage of line i (BUN002 over NEC011)

Line indexes are 0-based inside the engine and 1-based in findings.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from painrcm.codes.tables import CodeInfo, PtpRow, Reference, RegionGroup, strip_dot
from painrcm.history import History, Past, Service, services_of
from painrcm.model import Encounter, Line, Procedure, Severity
from painrcm.spine import code_family, procedure_regions

if TYPE_CHECKING:
    from painrcm.history.auths import AuthLog
    from painrcm.policy.schema import Policy  # an annotation only: `explain` never builds policies


# --- fixes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixOp:
    """A change to the claim's lines, addressed by original line index."""

    kind: str  # remove | replace | units | add_modifier | remove_modifier | code
    index: int
    value: Any = None


def remove(i: int) -> FixOp:
    return FixOp("remove", i)


def replace(i: int, lines: list[Line]) -> FixOp:
    return FixOp("replace", i, tuple(lines))


def set_units(i: int, units: float) -> FixOp:
    return FixOp("units", i, units)


def add_modifier(i: int, mod: str) -> FixOp:
    return FixOp("add_modifier", i, mod)


def remove_modifier(i: int, mod: str) -> FixOp:
    return FixOp("remove_modifier", i, mod)


def set_code(i: int, code: str) -> FixOp:
    return FixOp("code", i, code)


def apply_fixes(lines: list[Line], ops: Iterable[FixOp]) -> list[Line]:
    slots: list[list[Line] | None] = [[ln.model_copy(deep=True)] for ln in lines]
    for op in ops:
        slot = slots[op.index]
        if slot is None:
            continue
        if op.kind == "remove":
            slots[op.index] = None
        elif op.kind == "replace":
            slots[op.index] = [ln.model_copy(deep=True) for ln in op.value]
        else:
            for ln in slot:
                if op.kind == "units":
                    ln.units = op.value
                elif op.kind == "add_modifier" and op.value not in ln.modifiers:
                    ln.modifiers = _order_modifiers([*ln.modifiers, op.value])
                elif op.kind == "remove_modifier":
                    ln.modifiers = [m for m in ln.modifiers if m != op.value]
                elif op.kind == "code":
                    ln.code = op.value
    return [ln for slot in slots if slot for ln in slot]


_PRICING_FIRST = ("50", "RT", "LT", "25")


def _order_modifiers(mods: list[str]) -> list[str]:
    first = [m for m in _PRICING_FIRST if m in mods]
    return first + [m for m in mods if m not in first]


# --- what a check yields ----------------------------------------------------------------------
@dataclass(frozen=True)
class Hit:
    message: str
    line: int | None = None  # 0-based index, None for the claim
    fix: str | None = None  # what to do, in words
    ops: tuple[FixOp, ...] | None = None  # the safe automatic fix, if there is one
    code: str | None = None
    severity: Severity | None = None  # overrides the edit's default (rare)


@dataclass(frozen=True)
class Skip:
    reason: str


Outcome = Hit | Skip
Check = Callable[["ClaimContext"], Iterable[Outcome]]


@dataclass
class Edit:
    id: str
    severity: Severity
    title: str
    what: str
    why: str
    example: dict[str, Any]
    fixed: dict[str, Any]
    sources: list[str]
    example_note: str = ""
    # for examples needing more than the claim: {"history": [...], "auths": [...]}
    example_context: dict[str, Any] = field(default_factory=dict)
    fixed_context: dict[str, Any] = field(default_factory=dict)
    # The claims the check can yield anything on (a hit, a not_checked entry or a fix): at least one
    # entry must hold, an entry being a claim feature or features joined by "+" (all of them), e.g.
    # ("mod:50", "mod:RT+mod:LT"). Empty: every claim. Vocabulary in `painrcm.edits.applies`.
    applies_when: tuple[str, ...] = ()
    fn: Check | None = None

    def check(self, fn: Check) -> Check:
        self.fn = fn
        return fn

    def run(self, ctx: ClaimContext) -> Iterable[Outcome]:
        if self.fn is None:
            raise RuntimeError(f"{self.id} has no check")
        return self.fn(ctx)

    @property
    def family(self) -> str:
        return self.id[:3]


# --- the claim as the edits see it ------------------------------------------------------------
if TYPE_CHECKING:
    _once = functools.cached_property
else:

    class _once:
        """A per-claim answer computed on first use and kept in the context's __dict__: what
        functools.cached_property does, without the lock it takes on every first use in Python 3.11
        (a context belongs to one claim in one thread)."""

        def __init__(self, fn: Callable[[Any], Any]) -> None:
            self.fn = fn
            self.name = fn.__name__
            self.__doc__ = fn.__doc__

        def __set_name__(self, owner: type, name: str) -> None:
            self.name = name

        def __get__(self, obj: Any, owner: type | None = None) -> Any:
            if obj is None:
                return self
            value = obj.__dict__[self.name] = self.fn(obj)
            return value


@dataclass
class ClaimContext:
    encounter: Encounter
    lines: list[Line]
    reference: Reference
    policy: Policy
    history: History | None = None  # when a history source was given
    auths: AuthLog | None = None  # when --auths was given
    claims_: set[tuple[Any, ...]] = field(default_factory=set)
    # per-claim answers shared by several edits (e.g. frequency windows), keyed by their helper
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def dos(self) -> date:
        return self.encounter.date_of_service

    @property
    def documented(self) -> bool:
        return bool(self.encounter.procedures)

    @property
    def procedures(self) -> list[Procedure]:
        return self.encounter.procedures

    @_once
    def own_services(self) -> list[Service]:
        """This claim's sessions as history records them (the history edits compare them with the past)."""
        facts = list(zip(self.procedure_families, self.procedure_region_groups, strict=True))
        return services_of(self.encounter, self.reference, self.lines, self.infos, facts)

    @_once
    def past(self) -> Past:
        """The patient's earlier services up to the date of service (this claim's own encounter
        excluded), oldest first: asked of the history once per claim, then every window is a
        binary search over it (`past_services`, `Past.sessions`)."""
        assert self.history is not None
        return self.history.past(
            self.encounter.patient,
            end=self.encounter.date_of_service,
            exclude_encounter=self.encounter.encounter_id,
        )

    def past_services(self, start: date | None, end: date | None, family: str | None = None) -> list[Service]:
        """The patient's earlier services with start < date <= end (of `family` only, when given),
        oldest first."""
        if end is None or end > self.encounter.date_of_service:
            assert self.history is not None
            found = self.history.services(
                self.encounter.patient,
                start=start,
                end=end,
                exclude_encounter=self.encounter.encounter_id,
            )
            return [s for s in found if family is None or s.family == family]
        return self.past.services(start, end, family)

    @_once
    def procedure_families(self) -> list[str]:
        """Each documented procedure's code-table family (`spine.code_family`): the edits that compare
        billed lines with the note (NEC009, NEC010, BUN006, MOD001) read it, worked out once per claim."""
        return [code_family(p) for p in self.encounter.procedures]

    @_once
    def procedure_region_groups(self) -> list[frozenset[RegionGroup] | None]:
        """Each documented procedure's region groups (`spine.procedure_regions`, None when the note does
        not say), worked out once per claim for the edits that compare billed lines with the note."""
        return [
            None if (r := procedure_regions(p)) is None else frozenset(r) for p in self.encounter.procedures
        ]

    @_once
    def infos(self) -> list[CodeInfo | None]:
        """Each line's code-table entry, looked up once per claim."""
        info = self.reference.codes.get
        return [info(ln.code) for ln in self.lines]

    @_once
    def diagnoses(self) -> list[str]:
        """The claim's diagnoses without dots."""
        return [strip_dot(d) for d in self.encounter.diagnoses]

    @_once
    def dates(self) -> list[date]:
        """Each line's date of service (the claim's when the line has none)."""
        dos = self.encounter.date_of_service
        return [ln.date_of_service or dos for ln in self.lines]

    def line_dos(self, i: int) -> date:
        return self.dates[i]

    def line_pos(self, i: int) -> str:
        return self.lines[i].place_of_service or self.encounter.place_of_service

    def info(self, i: int) -> CodeInfo | None:
        return self.infos[i]

    @_once
    def _indexed(self) -> list[tuple[int, Line, CodeInfo | None]]:
        return list(zip(range(len(self.lines)), self.lines, self.infos, strict=True))

    def indexed(self) -> Iterator[tuple[int, Line, CodeInfo | None]]:
        return iter(self._indexed)

    def same_day(self, i: int, j: int) -> bool:
        return self.line_dos(i) == self.line_dos(j)

    @_once
    def same_day_ptp(self) -> list[tuple[int, int, PtpRow]]:
        """Every (i, j, row): lines i != j on the same date whose codes form an NCCI pair (i's code in
        column 1), ordered by i then j. Looked up once per pair of distinct codes of a date, so the
        work grows with the lines and the pairs found, not with the square of the lines."""
        by_day: dict[date, dict[str, list[int]]] = {}
        for i, ln in enumerate(self.lines):
            by_day.setdefault(self.line_dos(i), {}).setdefault(ln.code, []).append(i)
        out: list[tuple[int, int, PtpRow]] = []
        ncci = self.reference.ncci
        rows_for = ncci.rows_for
        for dos, codes in by_day.items():
            for first, firsts in codes.items():
                for second, seconds in codes.items():
                    rows = rows_for(first, second)  # `Ncci.pair` in two steps: most pairs have no rows
                    if rows and (row := ncci.active_row(rows, dos)) is not None:
                        out.extend((i, j, row) for i in firsts for j in seconds if i != j)
        out.sort(key=lambda t: (t[0], t[1]))
        return out

    def line_diagnoses(self, i: int) -> list[str]:
        """The line's diagnoses (no dots) by its pointers; all claim diagnoses if it has none."""
        dx = self.diagnoses
        ptrs = self.lines[i].diagnosis_pointers
        if not ptrs:
            return list(dx)
        return [dx[p - 1] for p in ptrs if 1 <= p <= len(dx)]

    def claim(self, *key: Any) -> None:
        self.claims_.add(key)

    def claimed(self, *key: Any) -> bool:
        return key in self.claims_

    def side_of(self, i: int) -> str | None:
        return self.sides[i]

    @_once
    def sides(self) -> list[str | None]:
        """Each line's side by its modifiers: bilateral (50, or RT and LT), right, left or None."""
        return [side_by_modifiers(ln.modifiers) for ln in self.lines]


def side_by_modifiers(mods: list[str]) -> str | None:
    """bilateral (50, or RT and LT on one line), right, left, or None (no side given)."""
    if "50" in mods or ("RT" in mods and "LT" in mods):
        return "bilateral"
    if "RT" in mods:
        return "right"
    if "LT" in mods:
        return "left"
    return None


def line_no(i: int) -> int:
    return i + 1
