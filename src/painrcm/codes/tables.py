"""The reference data the engine reasons over, as plain immutable values.

Nothing here reads a file: `painrcm.codes.loader` builds these from the packaged data and from
whatever the user imported. The coder and the edits receive a `Reference` and ask it questions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

RegionGroup = Literal["cervical_thoracic", "lumbar_sacral"]
DISTINCT_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"})
SIDE_MODIFIERS = frozenset({"RT", "LT"})
# repeat-procedure and distinct-service modifiers: a second line of the same code is not a duplicate
REPEAT_MODIFIERS = frozenset({"76", "77"}) | DISTINCT_MODIFIERS


@dataclass(frozen=True)
class CodeInfo:
    code: str
    label: str
    kind: str  # em | procedure | imaging | drug | drug_test | other
    family: str | None = None
    region: RegionGroup | None = None
    imaging: str | None = None  # included | without | separate
    with_imaging: str | None = None
    without_imaging: str | None = None
    addon_of: tuple[str, ...] = ()
    level: int | str | None = None  # 1, 2, 3 or "each"
    one_sided: bool = False
    bilateral_indicator: int | None = None
    global_days: str | None = None
    em_type: str | None = None
    test: str | None = None
    method: str | None = None
    classes_min: int | None = None
    classes_max: int | None = None
    muscles_min: int | None = None
    muscles_max: int | None = None
    nerve: str | None = None
    augmentation: str | None = None
    modality: str | None = None
    spinal: bool = False
    needle_guidance: bool = False
    part: str | None = None
    stages: tuple[str, ...] = ()
    effective_from: date | None = None
    effective_to: date | None = None

    @property
    def is_addon(self) -> bool:
        return bool(self.addon_of)

    def valid_on(self, dos: date) -> bool:
        if self.effective_from and dos < self.effective_from:
            return False
        return not (self.effective_to and dos > self.effective_to)


@dataclass(frozen=True)
class PtpRow:
    column1: str
    column2: str
    modifier_indicator: str  # "0", "1" or "9"
    effective: date | None
    deletion: date | None
    rationale: str

    def active_on(self, dos: date) -> bool:
        if self.effective and dos < self.effective:
            return False
        return self.deletion is None or self.deletion >= dos


@dataclass(frozen=True)
class Ncci:
    edition: str
    rows: dict[tuple[str, str], tuple[PtpRow, ...]]

    def pair(self, column1: str, column2: str, dos: date) -> PtpRow | None:
        """The active edit with `column1` paid and `column2` denied on `dos`, if any.
        Several rows may exist for a pair (a deleted one and its replacement): the active one wins."""
        for row in self.rows.get((column1, column2), ()):
            if row.active_on(dos) and row.modifier_indicator != "9":
                return row
        return None

    @functools.cached_property
    def codes(self) -> frozenset[str]:
        """Every code that appears in a pair (computed once: COD001 asks per line)."""
        return frozenset(c for pair in self.rows for c in pair)


@dataclass(frozen=True)
class MueEntry:
    code: str
    max_units: int
    adjudication: str  # MAI: 1 line, 2 date of service (policy), 3 date of service (clinical)


@dataclass(frozen=True)
class Mue:
    edition: str
    practitioner: dict[str, MueEntry]

    def get(self, code: str) -> MueEntry | None:
        return self.practitioner.get(code)


@dataclass(frozen=True)
class FeeIndicators:
    code: str
    status: str
    global_days: str
    mult_proc: str
    bilateral: int | None


@dataclass(frozen=True)
class Mpfs:
    edition: str
    rows: dict[str, FeeIndicators]

    def get(self, code: str) -> FeeIndicators | None:
        return self.rows.get(code)


@dataclass(frozen=True)
class Icd10Set:
    """The billable (leaf) ICD-10-CM codes of one fiscal year, without dots."""

    fiscal_year: int
    source: str
    billable: frozenset[str]
    all_codes: frozenset[str]

    @property
    def start(self) -> date:
        return date(self.fiscal_year - 1, 10, 1)

    @property
    def end(self) -> date:
        return date(self.fiscal_year, 9, 30)


def fiscal_year_of(dos: date) -> int:
    """ICD-10-CM fiscal years start on October 1: 2025-10-01 is in FY2026."""
    return dos.year + 1 if dos.month >= 10 else dos.year


def strip_dot(dx: str) -> str:
    return dx.replace(".", "").strip().upper()


def with_dot(dx: str) -> str:
    d = strip_dot(dx)
    return d if len(d) <= 3 else f"{d[:3]}.{d[3:]}"


@dataclass(frozen=True)
class Icd10:
    sets: dict[int, Icd10Set]

    def set_for(self, dos: date) -> Icd10Set | None:
        return self.sets.get(fiscal_year_of(dos))

    def loaded_years(self) -> list[int]:
        return sorted(self.sets)

    def children(self, dx: str, dos: date, limit: int = 6) -> list[str]:
        s = self.set_for(dos)
        if s is None:
            return []
        base = strip_dot(dx)
        kids = sorted(c for c in s.billable if c.startswith(base) and c != base)
        return [with_dot(c) for c in kids[:limit]]

    @property
    def edition(self) -> str:
        return ", ".join(f"FY{y} ({self.sets[y].source})" for y in self.loaded_years())


@dataclass(frozen=True)
class Reference:
    """Everything the engine knows that is not payer policy."""

    codes: dict[str, CodeInfo]
    codes_edition: str
    modifiers: dict[str, str]
    places: dict[str, dict[str, object]]
    ncci: Ncci
    mue: Mue
    mpfs: Mpfs
    icd10: Icd10
    extra_editions: dict[str, str] = field(default_factory=dict)

    def info(self, code: str) -> CodeInfo | None:
        return self.codes.get(code)

    def known(self, code: str, dos: date) -> bool:
        info = self.codes.get(code)
        if info is not None:
            return info.valid_on(dos)
        return code in self.mpfs.rows or code in self.mue.practitioner or code in self.ncci.codes

    def bilateral_indicator(self, code: str) -> int | None:
        row = self.mpfs.get(code)
        info = self.codes.get(code)
        if row is not None and row.bilateral is not None:
            # A code the physician fee schedule excludes (status E, indicator 9: G0260, an ASC
            # facility code) keeps the indicator painrcm's table states for it.
            if row.bilateral == 9 and info is not None and info.bilateral_indicator is not None:
                return info.bilateral_indicator
            return row.bilateral
        if info is None:
            return None
        if info.bilateral_indicator is not None:
            return info.bilateral_indicator
        if info.kind in ("em", "imaging"):
            return 0
        if info.kind in ("drug", "drug_test"):
            return 9
        return None

    def global_days(self, code: str) -> str | None:
        row = self.mpfs.get(code)
        if row is not None:
            return row.global_days
        info = self.codes.get(code)
        return info.global_days if info else None

    def editions(self) -> dict[str, str]:
        out = {
            "codes": self.codes_edition,
            "ncci_ptp": self.ncci.edition,
            "mue": self.mue.edition,
            "mpfs": self.mpfs.edition,
            "icd10cm": self.icd10.edition,
        }
        out.update(self.extra_editions)
        return out

    # --- facts derived from the code table, computed once per Reference (not per claim) -------
    @functools.cached_property
    def addon_primaries(self) -> frozenset[str]:
        """Codes some add-on code extends (their repeats are level counts)."""
        return frozenset(p for c in self.codes.values() for p in c.addon_of)

    @functools.cached_property
    def addons_by_primary(self) -> dict[str, dict[object, CodeInfo]]:
        """Each first-level code's add-on codes by level (2, 3 or "each"); read-only."""
        return {
            primary: {
                c.level: c for c in self.codes.values() if primary in c.addon_of and c.level is not None
            }
            for primary in self.addon_primaries
        }

    @functools.cached_property
    def leveled_families(self) -> frozenset[str]:
        """Families with level codes (a code table entry with a level)."""
        return frozenset(c.family for c in self.codes.values() if c.family and c.level is not None)

    @functools.cached_property
    def level_addon_pairs(self) -> tuple[tuple[CodeInfo, CodeInfo], ...]:
        """(second-level, third-level) add-on pairs that share a first-level code."""
        codes = list(self.codes.values())
        pairs = []
        for c2 in codes:
            if c2.level != 2 or not c2.addon_of:
                continue
            for c3 in codes:
                if c3.level == 3 and set(c3.addon_of) & set(c2.addon_of):
                    pairs.append((c2, c3))
        return tuple(pairs)

    @functools.cached_property
    def editions_(self) -> dict[str, str]:
        """`editions()` computed once (every claim result carries a copy)."""
        return self.editions()
