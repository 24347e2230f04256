"""The reference data the engine reasons over, as plain immutable values.

Nothing here reads a file: `painrcm.codes.loader` builds these from the packaged data and from
whatever the user imported. The coder and the edits receive a `Reference` and ask it questions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from painrcm.codes.csvindex import CsvIndex

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
    guidance: str | None = None  # fluoroscopy_ct | ultrasound: the imaging an imaging-inclusive code means
    joint: str | None = None
    sympathetic: str | None = None
    genicular: str | None = None
    pump_service: str | None = None
    by_physician: bool | None = None

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


def _iso(value: str | None) -> date | None:
    v = (value or "").strip()
    if not v or v in ("*", "9999-12-31", "99991231"):
        return None
    if len(v) == 8 and v.isdigit():
        return date(int(v[:4]), int(v[4:6]), int(v[6:]))
    return date.fromisoformat(v)


def _ptp_row(r: dict[str, str]) -> PtpRow:
    return PtpRow(
        column1=r["column1"],
        column2=r["column2"],
        modifier_indicator=r["modifier_indicator"],
        effective=_iso(r.get("effective_date")),
        deletion=_iso(r.get("deletion_date")),
        rationale=r.get("rationale") or "",
    )


@dataclass(frozen=True, eq=False)
class Ncci:
    """NCCI procedure-to-procedure edits, keyed "column1,column2"; a pair is parsed when first asked."""

    edition: str
    index: CsvIndex
    effective: date | None = None  # first day of the quarter the edition is for

    @functools.cached_property
    def _memo(self) -> dict[tuple[str, str], tuple[PtpRow, ...]]:
        return {}

    def rows_for(self, column1: str, column2: str) -> tuple[PtpRow, ...]:
        """Every row of the pair (none for most pairs of codes)."""
        key = (column1, column2)
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = tuple(_ptp_row(r) for r in self.index.rows(f"{column1},{column2}"))
        return got

    def pair(self, column1: str, column2: str, dos: date) -> PtpRow | None:
        """The active edit with `column1` paid and `column2` denied on `dos`, if any.
        Several rows may exist for a pair (a deleted one and its replacement): the active one wins."""
        return self.active_row(self.rows_for(column1, column2), dos)

    @staticmethod
    def active_row(rows: tuple[PtpRow, ...], dos: date) -> PtpRow | None:
        """The active edit on `dos` among a pair's `rows_for`, if any."""
        for row in rows:
            if row.active_on(dos) and row.modifier_indicator != "9":
                return row
        return None

    @functools.cached_property
    def codes(self) -> frozenset[str]:
        """Every code that appears in a pair (computed once: COD001 asks per line)."""
        return frozenset(c for key in self.index for c in key.split(","))

    @functools.cached_property
    def rows(self) -> dict[tuple[str, str], tuple[PtpRow, ...]]:
        """Every pair's rows (parses the whole table: for exports and tests, not per claim)."""
        out: dict[tuple[str, str], tuple[PtpRow, ...]] = {}
        for key in self.index:
            c1, _, c2 = key.partition(",")
            out[(c1, c2)] = self.rows_for(c1, c2)
        return out


@dataclass(frozen=True)
class MueEntry:
    code: str
    max_units: int
    adjudication: str  # MAI: 1 line, 2 date of service (policy), 3 date of service (clinical)


@dataclass(frozen=True, eq=False)
class Mue:
    """Practitioner MUEs by code; a code's row is parsed when first asked."""

    edition: str
    index: CsvIndex
    effective: date | None = None

    @functools.cached_property
    def _memo(self) -> dict[str, MueEntry | None]:
        return {}

    def get(self, code: str) -> MueEntry | None:
        if code in self._memo:
            return self._memo[code]
        entry = None
        for r in self.index.rows(code):
            if (r.get("mue_service_type") or "Practitioner") != "Practitioner":
                continue
            entry = MueEntry(code, int(float(r["mue_uos"])), (r.get("mue_mai") or "")[:1])
        self._memo[code] = entry
        return entry

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None

    @functools.cached_property
    def practitioner(self) -> dict[str, MueEntry]:
        """Every entry (parses the whole table: for exports and tests, not per claim)."""
        return {c: e for c in self.index if (e := self.get(c)) is not None}


# CMS physician fee schedule status codes (RVU file, "STATUS CODE"), in our own words.
FEE_STATUS = {
    "A": "active: paid under the fee schedule",
    "B": "bundled: never paid separately (payment is in another service)",
    "C": "carrier priced: the Medicare contractor sets the amount",
    "D": "deleted code",
    "E": "excluded from the physician fee schedule by regulation",
    "F": "deleted code, no grace period",
    "G": "not valid for Medicare: another code replaces it",
    "H": "deleted modifier for this code",
    "I": "not valid for Medicare: another code is used instead",
    "J": "anesthesia service",
    "M": "measurement code, no payment",
    "N": "non-covered service",
    "P": "bundled or excluded",
    "R": "restricted coverage: paid only in special cases",
    "T": "paid only when no other paid service is billed that day",
    "X": "statutory exclusion: not a benefit under the fee schedule",
}
_CENT = Decimal("0.01")


def _decimal(value: str | None) -> Decimal | None:
    v = (value or "").strip()
    if not v:
        return None
    try:
        return Decimal(v)
    except ArithmeticError:
        return None


def _indicator(v: str | None) -> int | None:
    v = (v or "").strip().rstrip("*")
    return int(v) if v.isdigit() else None


@dataclass(frozen=True)
class FeeIndicators:
    """One row of the physician fee schedule (RVU file): indicators, relative values, conversion factor.

    Relative values and the conversion factor are `None` when the loaded file does not carry them
    (an older import kept only the indicators)."""

    code: str
    status: str
    global_days: str
    mult_proc: str
    bilateral: int | None
    modifier: str = ""
    pctc: str = ""
    assistant: str = ""
    co_surgery: str = ""
    team_surgery: str = ""
    work_rvu: Decimal | None = None
    pe_rvu_nonfacility: Decimal | None = None
    pe_rvu_facility: Decimal | None = None
    mp_rvu: Decimal | None = None
    total_rvu_nonfacility: Decimal | None = None
    total_rvu_facility: Decimal | None = None
    conversion_factor: Decimal | None = None
    nonfacility_pe_na: bool = False  # "NA": the non-facility PE does not apply (facility only)
    facility_pe_na: bool = False

    @property
    def status_meaning(self) -> str:
        return FEE_STATUS.get(self.status, f"status {self.status!r}")

    @property
    def payable(self) -> bool:
        """Whether Medicare pays the code under the fee schedule at all (A, C, R, T)."""
        return self.status in ("A", "C", "R", "T")

    def total_rvu(self, facility: bool) -> Decimal | None:
        return self.total_rvu_facility if facility else self.total_rvu_nonfacility

    def national_amount(self, facility: bool) -> Decimal | None:
        """Total RVU x conversion factor, to the cent (no locality adjustment, no bilateral or
        multiple-procedure reduction: those depend on the claim)."""
        total = self.total_rvu(facility)
        if total is None or self.conversion_factor is None:
            return None
        return (total * self.conversion_factor).quantize(_CENT, rounding=ROUND_HALF_UP)


def _fee_row(code: str, r: dict[str, str]) -> FeeIndicators:
    work, pe_nf, pe_f, mp = (
        _decimal(r.get(k)) for k in ("work_rvu", "pe_rvu_nonfac", "pe_rvu_fac", "mp_rvu")
    )
    total_nf, total_f = _decimal(r.get("total_rvu_nonfac")), _decimal(r.get("total_rvu_fac"))
    if work is not None and mp is not None:  # a file without the totals: they are the sums
        if total_nf is None and pe_nf is not None:
            total_nf = work + pe_nf + mp
        if total_f is None and pe_f is not None:
            total_f = work + pe_f + mp
    return FeeIndicators(
        code=code,
        status=(r.get("status") or "").upper(),
        global_days=(r.get("global_days") or "").upper(),
        mult_proc=(r.get("mult_proc") or "").rstrip("*"),
        bilateral=_indicator(r.get("bilat_surg")),
        modifier=(r.get("modifier") or "").upper(),
        pctc=r.get("pctc") or "",
        assistant=(r.get("asst_surg") or "").rstrip("*"),
        co_surgery=(r.get("co_surg") or "").rstrip("*"),
        team_surgery=(r.get("team_surg") or "").rstrip("*"),
        work_rvu=work,
        pe_rvu_nonfacility=pe_nf,
        pe_rvu_facility=pe_f,
        mp_rvu=mp,
        total_rvu_nonfacility=total_nf,
        total_rvu_facility=total_f,
        conversion_factor=_decimal(r.get("conv_factor")),
        nonfacility_pe_na=(r.get("nonfac_na_ind") or "").upper() == "NA",
        facility_pe_na=(r.get("fac_na_ind") or "").upper() == "NA",
    )


@dataclass(frozen=True, eq=False)
class Mpfs:
    """Physician fee schedule rows by code; a code's rows are parsed when first asked.

    `get(code)` is the code's global row (no modifier); `row(code, "26")` a modifier row."""

    edition: str
    index: CsvIndex
    effective: date | None = None  # the first day of the fee-schedule release

    @functools.cached_property
    def _memo(self) -> dict[str, dict[str, FeeIndicators]]:
        return {}

    def _rows(self, code: str) -> dict[str, FeeIndicators]:
        got = self._memo.get(code)
        if got is None:
            got = {}
            for r in self.index.rows(code):
                row = _fee_row(code, r)
                got.setdefault(row.modifier, row)
            self._memo[code] = got
        return got

    def get(self, code: str) -> FeeIndicators | None:
        return self._rows(code).get("")

    def row(self, code: str, modifier: str = "") -> FeeIndicators | None:
        return self._rows(code).get(modifier.upper())

    def __contains__(self, code: object) -> bool:
        """Whether the file has any row for the code (some codes only have 26/TC rows)."""
        return isinstance(code, str) and code in self.index

    @functools.cached_property
    def rows(self) -> dict[str, FeeIndicators]:
        """Every code's global row (parses the whole table: for exports and tests, not per claim)."""
        return {c: r for c in self.index if (r := self.get(c)) is not None}


class _Leaves(AbstractSet[str]):
    """The billable (leaf) codes of a code set, answered per code: a code is billable when no longer
    code continues it. Iterating computes them all once (only when suggesting codes)."""

    _ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def __init__(self, all_codes: frozenset[str]) -> None:
        self._all = all_codes
        self._known: dict[str, bool] = {}  # answers so far (at most one per code of the set)

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str) or code not in self._all:
            return False
        leaf = self._known.get(code)
        if leaf is None:
            leaf = self._known[code] = not any(code + ch in self._all for ch in self._ALNUM)
        return leaf

    @functools.cached_property
    def _sorted(self) -> tuple[str, ...]:
        codes = sorted(self._all)
        return tuple(c for c, nxt in zip(codes, [*codes[1:], ""], strict=True) if not nxt.startswith(c))

    def __iter__(self) -> Iterator[str]:
        return iter(self._sorted)

    def __len__(self) -> int:
        return len(self._sorted)


class Icd10Set:
    """The ICD-10-CM codes of one fiscal year, without dots; read on the first question."""

    def __init__(self, fiscal_year: int, source: str, codes: Callable[[], Iterable[str]]) -> None:
        self.fiscal_year = fiscal_year
        self.source = source
        self._codes = codes

    @functools.cached_property
    def all_codes(self) -> frozenset[str]:
        return frozenset(self._codes())

    @functools.cached_property
    def billable(self) -> AbstractSet[str]:
        return _Leaves(self.all_codes)

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
        leaves = s.billable
        kids = sorted(c for c in s.all_codes if c.startswith(base) and c != base and c in leaves)
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

    @functools.cached_property
    def code_for_memo(self) -> dict[tuple[object, ...], str]:
        """The coder's answers so far (`painrcm.coder.base.code_for`): the same facts, the same code."""
        return {}

    @functools.cached_property
    def codes_by_family(self) -> dict[str | None, list[CodeInfo]]:
        """The code table's entries per family, in table order (the coder picks codes by family)."""
        out: dict[str | None, list[CodeInfo]] = {}
        for c in self.codes.values():
            out.setdefault(c.family, []).append(c)
        return out

    def known(self, code: str, dos: date) -> bool:
        """A code painrcm's table knows on `dos`, or any code in the loaded CMS files (a fee-schedule
        code without pain-specific rules is a valid code, never an unknown one)."""
        info = self.codes.get(code)
        if info is not None:
            return info.valid_on(dos)
        return code in self.mpfs or code in self.mue or code in self.ncci.codes

    def fee(self, code: str, modifier: str = "") -> FeeIndicators | None:
        """The fee-schedule row of a code (its global row, or the row of a pricing modifier such as
        26 or TC): status, global days, indicators, RVUs and conversion factor."""
        return self.mpfs.row(code, modifier) if modifier else self.mpfs.get(code)

    def cms_tables(self) -> str:
        """The CMS tables loaded, for messages: "NCCI ...; MUE ...; MPFS ..."."""
        return f"{self.ncci.edition}; {self.mue.edition}; {self.mpfs.edition}"

    @functools.cached_property
    def _bilateral_memo(self) -> dict[str, int | None]:
        return {}

    def bilateral_indicator(self, code: str) -> int | None:
        """The code's bilateral-surgery indicator (several edits ask it of every line): worked out once
        per code."""
        memo = self._bilateral_memo
        if code in memo:
            return memo[code]
        if len(memo) > 100_000:
            memo.clear()  # a long-running server fed endless made-up codes stays bounded
        found = memo[code] = self._bilateral_indicator(code)
        return found

    def _bilateral_indicator(self, code: str) -> int | None:
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

    def edition_dates(self) -> dict[str, date | None]:
        """The first date each CMS table's edition applies to (None when not known)."""
        return {"ncci_ptp": self.ncci.effective, "mue": self.mue.effective, "mpfs": self.mpfs.effective}

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
