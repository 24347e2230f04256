"""837P (005010X222A1/A2) reader: X12 claims -> painrcm Encounters (CONTRACTS.md section 2a).

One implementation, one pass: the file is split a part at a time (segments.segment_chunks) and every
segment is looked up by its first characters in the table of the loop and position the reader is at
(painrcm.x12.loops837; a segment the table lacks is misplaced or out of order); the envelope
(ISA/GS/ST/SE/GE/IEA, segment IDs) is checked on the way by segments.Envelope, the rules tokenize and
the 835 reader use. Errors are located as ``segment N (ID)`` (N counts from the first ISA, 1-based).
- A broken envelope, an unreadable header (BHT, 1000A, 1000B) or a transaction set that is not an
  837P refuses the whole file (InputError is raised). When several things are wrong, an envelope
  error anywhere in the file wins over a header error (the envelope is checked first).
- An error inside a claim (2300 and below) makes that claim a problem; the other claims are read.
- An error in a billing provider, subscriber or patient level makes every claim under it a problem.
- A file from which no claim at all can be read is refused (the first problem is raised).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from painrcm.errors import InputError
from painrcm.gcpause import no_gc
from painrcm.model import (
    ENCOUNTER_SCHEMA,
    X12_DECIMAL_FORM,
    Documentation,
    Encounter,
    Line,
    Patient,
    Payer,
    Practice,
    Provider,
    UnreadableNumber,
)
from painrcm.x12.loops837 import FAMILY_OF, LOOP_INFO, LOOP_NAMES, LOOP_SEGMENTS, NM1_START
from painrcm.x12.segments import (
    Delimiters,
    Envelope,
    ascii_digits,
    check_group,
    describe_transaction,
    new_model,
    raw_segments,
    segment_chunks,
    set_model_dict,
    set_model_extra,
    set_model_fields,
    set_model_private,
    tokenize,
    version_mismatch,
    x12_decimal,
)

ASC_TAXONOMY = "261QA1903X"
_NOT_837P = "an 837P: painrcm reads 837P professional claims (ST01 837, version 005010X222A1)"
PLAN_BY_SBR09 = {"MB": "medicare", "MC": "medicaid", "16": "medicare_advantage"}
_DX_QUALIFIERS = {"ABK": True, "BK": True, "ABF": False, "BF": False}  # True: principal
_SEX = {"F": "F", "M": "M", "U": "U"}
_PROC_QUALIFIERS = {"HC", "ER", "IV", "WK"}
_ALT_COMPONENT = (">", ":", "^", "|", "<", "\\")
_STATES_OK = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
        "AA",
        "AE",
        "AP",
    ]
)


@dataclass(slots=True)
class Source837:
    """Where a claim was read from, so that a corrected claim can be written back with everything the
    file held (painrcm.x12.writer837): the file's segments (shared by its claims, without
    terminators) and, as (first, end) segment indexes, the claim's billing provider, subscriber and
    patient levels (each HL with its own loops, up to the next HL or CLM), the claim (CLM up to the
    next HL, CLM or SE) and the LX index of each service line, in the order of Encounter.lines.
    ``header`` holds the indexes of ISA, GS, ST and the first HL of the transaction set."""

    segments: list[str]
    delimiters: Delimiters
    header: tuple[int, int, int, int]
    billing: tuple[int, int]
    subscriber: tuple[int, int]
    patient: tuple[int, int] | None
    claim: tuple[int, int]
    lines: tuple[int, ...]
    encounter: Encounter  # the claim as read: the writer compares the corrected claim with it


# Where a claim was read from, kept per claim while the file is read (a Source837 is made of it when
# asked for): the header indexes; the first and end index of its billing provider, subscriber and
# patient levels (-1, -1: no patient level) and of the claim; its LX indexes; the claim as read. Kept
# instead of the claim and its levels, which are then freed as the reading goes on.
_SourceRow = tuple[tuple[int, int, int, int], int, int, int, int, int, int, int, int, list[int], Encounter]


@dataclass(slots=True)
class Read837:
    """What an 837P file held: the readable claims, the claims that could not be read, and notes.
    ``sources[k]`` tells where ``claims[k]`` was read from."""

    claims: list[Encounter] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)
    # what each claim was read from (_SourceRow), made into Source837 objects when first asked for
    source_rows: list[_SourceRow] = field(default_factory=list)
    # the file as read: its segments are split again when first asked for (keeping every segment of a
    # large file while it is read would cost a third of the memory the read leaves behind)
    text: str = field(default="", repr=False)
    file: str = ""
    delimiters: Delimiters | None = None
    _segments: list[str] | None = field(default=None, repr=False)
    _sources: list[Source837] | None = None

    @property
    def segments(self) -> list[str]:
        """The file's segments without terminators (segments.raw_segments: the segments the reader
        read, the claims' source indexes count in this list)."""
        if self._segments is None:
            self._segments = raw_segments(self.text, self.file)[1] if self.text else []
        return self._segments

    @property
    def sources(self) -> list[Source837]:
        if self._sources is None:
            segments, delimiters = self.segments, self.delimiters
            assert delimiters is not None or not self.source_rows
            self._sources = [
                Source837(
                    segments,
                    delimiters,  # type: ignore[arg-type]
                    header,
                    (bp, bp_end),
                    (sub, sub_end),
                    None if pat < 0 else (pat, pat_end),
                    (clm, end),
                    tuple(lx),
                    encounter,
                )
                for header, bp, bp_end, sub, sub_end, pat, pat_end, clm, end, lx, encounter in self.source_rows
            ]
        return self._sources


def format_diagnosis(code: str) -> str:
    """ICD code with a dot after the third character (``M5416`` -> ``M54.16``)."""
    c = code.replace(".", "").strip().upper()
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def parse_d8(value: str) -> date | None:
    if len(value) != 8 or not (value.isascii() and value.isdigit()):
        return None
    try:
        # eight ASCII digits: ISO 8601's basic form CCYYMMDD, which date.fromisoformat reads (Python
        # 3.11+) as date(CCYY, MM, DD) would, a third of the time
        return date.fromisoformat(value)
    except ValueError:
        return None


def _num(value: str) -> float | None:
    """An X12 R (decimal) element: ``1_000``, `` 12``, ``+5``, ``1E5``, ``inf`` or ``١٢`` are not numbers
    here (segments.x12_decimal). An amount or quantity that is not one keeps its claim: the value is
    left unknown and recorded (``_Reader.unreadable``) for CLM006."""
    f = x12_decimal(value)
    return f if f is not None and math.isfinite(f) else None


class _Fail(Exception):
    """A located error inside the transaction; ``loop``: the loop it belongs to (default: the current)."""

    def __init__(self, msg: str, loop: str | None = None) -> None:
        self.msg = msg
        self.loop = loop


class _Level:
    """A billing provider, subscriber or patient level (HL). Class attributes are the defaults (one
    level is made per subscriber, often per claim: only what differs is set on the instance; there is no
    __init__: the reader makes a level with ``_Level()`` and sets ``hl_index``)."""

    error: InputError | None = None
    reported = False
    loops = 0  # bits: 1 = 2010BA, 2 = 2010BB, 4 = 2010CA
    npi: str | None = None
    name: str | None = None
    state: str | None = None
    tax_id: str | None = None
    kind = "physician"
    n3 = False
    n4 = False
    aa_index = -1
    plan = "commercial"
    member_id: str | None = None
    last: str | None = None
    first: str | None = None
    sex: str | None = None
    dob: date | None = None
    payer_id: str | None = None
    payer_name: str | None = None
    payer_by_plan: dict[str, Payer]  # of the NM1*PR record (2010BB), read before any claim is built
    sbr = False
    relationship = ""  # SBR02: 18 = the subscriber is the patient
    hl01 = ""
    end = -1  # index of the segment after the level's own segments (its next HL or CLM)
    practices: dict[str | None, Practice] | None = None
    payer: Payer | None = None
    patient: Patient | None = None

    hl_index: int  # of the HL segment (set by the reader)


class _Claim:
    """A claim being read. No __init__ (no frame per claim): the reader makes it with ``_Claim()`` (which
    costs less than ``object.__new__(_Claim)``, and mypyc can compile) and sets the attributes without a
    class default: index, bp, sub, pat, dates, diagnoses, lines, lx."""

    id = ""
    referring: tuple[str | None, str | None] | None = None  # 2310A NPI and name (the first one)
    total: float | None = None  # CLM02
    error: InputError | None = None
    pos = ""
    auth: str | None = None
    rendering_npi: str | None = None
    rendering_name: str | None = None
    facility_state: str | None = None
    fac_n3 = False
    fac_n4 = False
    fac_index = -1
    hi = False
    numbers: list[UnreadableNumber] | None = None  # amounts/quantities that are not X12 numbers

    index: int  # of the CLM segment
    bp: _Level
    sub: _Level
    pat: _Level | None
    dates: list[date]  # claim-level service dates (DTP*472)
    diagnoses: list[str]
    # per service line read: the values of its Line model, by field name in field order (the model's
    # __dict__ as it will be), made when its SV1 is read; and per LX its index (the SV1 of a line is
    # the next segment: nothing else may come between, so only the last LX of a claim can lack its
    # SV1, and then len(lines) < len(lx))
    lines: list[dict[str, Any]]
    lx: list[int]


# -- tables ---------------------------------------------------------------------------------------
# Per loop and position: segment ID (and separator) -> (code, the next table). Codes below 20 are
# segments of the loop (0: kept for order only, 1-16: the reader keeps data from it); 20 and up start
# a loop, end the claim or belong to the envelope. Segments missing from a table are misplaced or out
# of order.
_BHT, _PRV, _BP_N3, _BP_N4, _BP_REF, _SBR, _SUB_DMG, _PAT_DMG = 1, 2, 3, 4, 5, 6, 7, 8
# (the claim's DTP and its lines' DTP, REF and SV1 last: the reader tells them apart from the rest first)
_HI, _CLM_REF, _FAC_N3, _FAC_N4, _CLM_DTP, _LINE_DTP, _LINE_REF, _SV1 = 9, 10, 11, 12, 13, 14, 15, 16
_NM1, _LX, _SBR2320, _SUBLOOP, _HL, _CLM, _SE = 20, 21, 22, 23, 24, 25, 26
_ISA, _GS, _ST, _GE, _IEA, _INSIDE = 30, 31, 32, 33, 34, 35

_DATA: dict[tuple[str, str], int] = {
    ("HDR", "BHT"): _BHT,
    ("2000A", "PRV"): _PRV,
    ("2010AA", "N3"): _BP_N3,
    ("2010AA", "N4"): _BP_N4,
    ("2010AA", "REF"): _BP_REF,
    ("2000B", "SBR"): _SBR,
    ("2010BA", "DMG"): _SUB_DMG,
    ("2010CA", "DMG"): _PAT_DMG,
    ("2300", "HI"): _HI,
    ("2300", "REF"): _CLM_REF,
    ("2300", "DTP"): _CLM_DTP,
    ("2310C", "N3"): _FAC_N3,
    ("2310C", "N4"): _FAC_N4,
    ("2400", "DTP"): _LINE_DTP,
    ("2400", "REF"): _LINE_REF,
}
_CLAIM_FAMILIES = frozenset({"claim", "cob", "line"})
_UNREAD = object()
_CLM_FAMILIES = frozenset({"B", "C", "claim", "cob", "line"})  # the loops a CLM may follow
_SUBLOOPS = {"LIN": "2410", "SVD": "2430", "LQ": "2440"}
# A table entry: (code, the table after the segment). A segment of the loop (code below 20) leads to
# the table of its position: the segments at that position or later (a segment missing from it is
# misplaced or out of order, ``_Reader.misplaced`` says which), so the order is checked by the look-up
# itself. Other entries lead nowhere (None): the reader picks the next table.
_Table = dict[str, tuple[int, Any]]
# Inside a transaction set, a nested envelope segment is an envelope error.
_INSIDE_ENTRIES: _Table = {sid: (_INSIDE, None) for sid in ("ISA", "GS", "ST", "GE", "IEA")}
_ENV_TABLE: _Table = {
    "ISA": (_ISA, None),
    "GS": (_GS, None),
    "ST": (_ST, None),
    "GE": (_GE, None),
    "IEA": (_IEA, None),
    "SE": (_SE, None),
}
# While a bad claim or level is skipped, only what ends it matters.
_SKIP_TABLE: _Table = {"HL": (_HL, None), "CLM": (_CLM, None), "SE": (_SE, None), **_INSIDE_ENTRIES}


def _starters(fam: str) -> _Table:
    out: _Table = {"NM1": (_NM1, None), "HL": (_HL, None), "CLM": (_CLM, None), "SE": (_SE, None)}
    if fam in _CLAIM_FAMILIES:
        out["LX"] = (_LX, None)
    if fam in ("claim", "cob"):
        out["SBR"] = (_SBR2320, None)
    if fam == "line":
        out.update({sid: (_SUBLOOP, None) for sid in _SUBLOOPS})
    return out


class _Loop:
    __slots__ = ("at", "close", "fam", "keep", "maxrep", "name", "nm1", "order", "table")

    def __init__(self, name: str, sep: str) -> None:
        self.name = name
        self.fam, self.order, self.maxrep = LOOP_INFO[name]
        starters = _starters(self.fam)
        members = {
            sid: (pos, _DATA.get((name, sid), 0))
            for sid, pos in LOOP_SEGMENTS[name].items()
            if sid not in starters and sid not in _ENV_TABLE and not (name == "2400" and sid == "SV1")
        }
        # position -> the table once a segment at that position was read (0: the loop's start)
        self.at: dict[int, _Table] = {p: {} for p in {0, 2, *(pos for pos, _code in members.values())}}
        for at, table in self.at.items():
            table.update((sid, (code, self.at[pos])) for sid, (pos, code) in members.items() if pos >= at)
            table.update(starters)
            table.update(_INSIDE_ENTRIES)
            keyed = _keyed(table, sep)
            table.clear()
            table.update(keyed)
        self.table = self.at[0]
        self.nm1: dict[str, _Loop] = {}  # NM101 -> the loop it starts (set by _Tables)
        self.keep = _NM1_KEEP.get(name, 0)
        self.close = {"2010AA": 1, "2310C": 2}.get(name, 0)  # loops whose end is checked


def _key(sid: str, sep: str) -> str:
    """Tables are looked up with a segment's ID and the element separator after it, the segment's
    first four characters (three-character IDs) or three (two-character IDs): no split needed. A
    two-character ID found by its first three characters is also entered under its first four
    (``LX*1``), which name the same ID, so that the next such segment is found at the first look-up
    (at most _MEMO_LIMIT entries per table)."""
    return sid + sep


_MEMO_LIMIT = 400


def _keyed(table: _Table, sep: str) -> _Table:
    return {_key(sid, sep): v for sid, v in table.items()}


class _Tables:
    """Every table for one element separator."""

    def __init__(self, sep: str) -> None:
        # The reader keeps only the current family's last loop order and count: exact because no two
        # loops of a family share an order and an NM1 never opens a loop of another family.
        seen: set[tuple[str, int]] = set()
        for fam, order, _max in LOOP_INFO.values():
            assert (fam, order) not in seen, f"two loops of family {fam} share order {order}"
            seen.add((fam, order))
        for fam, starts in NM1_START.items():
            assert all(FAMILY_OF[t] == fam for t in starts.values()), fam
        self.loops = {name: _Loop(name, sep) for name in LOOP_SEGMENTS}
        for loop in self.loops.values():
            loop.nm1 = {q: self.loops[t] for q, t in NM1_START.get(loop.fam, {}).items()}
        self.env = _keyed(_ENV_TABLE, sep)
        self.skip = _keyed(_SKIP_TABLE, sep)
        # Right after LX only SV1 may come (or the end of the claim, which then reports the missing SV1).
        after_lx: _Table = {"SV1": (_SV1, self.loops["2400"].at[2]), "NM1": (_NM1, None), **_SKIP_TABLE}
        self.after_lx = _keyed(after_lx, sep)


_TABLES: dict[str, _Tables] = {}


def _tables(sep: str) -> _Tables:
    t = _TABLES.get(sep)
    if t is None:
        t = _TABLES[sep] = _Tables(sep)
    return t


_BY_ORDER = {(info[0], info[1]): name for name, info in LOOP_INFO.items()}
_KNOWN_IDS = frozenset(sid for members in LOOP_SEGMENTS.values() for sid in members) | frozenset(_ENV_TABLE)
# The NM1 loops the reader keeps data from (_Loop.keep); 0: kept for order only
_K_2010BA, _K_2010BB, _K_2310B, _K_2310A, _K_2010CA, _K_2010AA, _K_2310C, _K_1000A, _K_1000B = range(1, 10)
_NM1_KEEP = {
    "2010BA": _K_2010BA,
    "2010BB": _K_2010BB,
    "2310B": _K_2310B,
    "2310A": _K_2310A,
    "2010CA": _K_2010CA,
    "2010AA": _K_2010AA,
    "2310C": _K_2310C,
    "1000A": _K_1000A,
    "1000B": _K_1000B,
}
# An NM1 as the reader uses it: NM101, whether NM102 is 1 or 2, NM103, NM104 and NM109 stripped
# (None when blank), the provider's name ("NM104 NM103", rendering and referring providers only), the
# elements (at least 10), and for a payer (2010BB) its Payer model by plan (made by build)
_Nm1Record = tuple[
    str, bool, "str | None", "str | None", "str | None", "str | None", list[str], "dict[str, Payer] | None"
]


_NAMED = frozenset({"82", "DN", "P3"})  # NM101 of the rendering (2310B) and referring (2310A) providers


def _nm1_record(seg: list[str]) -> _Nm1Record:
    if len(seg) < 10:
        seg = seg + [""] * (10 - len(seg))
    first, last = seg[4].strip(), seg[3].strip()
    named = seg[1] in _NAMED  # a provider whose name is kept as "NM104 NM103"
    return (
        seg[1],
        seg[2] in ("1", "2"),
        last or None,
        first or None,
        seg[9].strip() or None,
        (f"{first} {last}" if first and last else first or last or None) if named else None,
        seg,
        {} if seg[1] == "PR" else None,
    )


class _Reader:
    def __init__(self, text: str, file: str, strict: bool) -> None:
        self.text = text
        self.file = file
        self.strict = strict
        self.claims: list[Encounter] = []
        self.sources: list[_SourceRow] = []
        self.header = (0, 0, 0, 0)
        self.problems: list[InputError] = []
        self.warnings: list[InputError] = []
        self.env_warnings: list[InputError] = []
        self.bad: list[_Level] = []
        self.alt_warned: set[str] = set()
        self.hi_warned = False
        self.ptr_warned = False
        self.hl_warned = False
        self.comp = ":"
        self.sep = "*"
        self.alts: tuple[str, ...] = ()
        self.providers: dict[tuple[str | None, str | None], Provider] = {}
        self.payers: dict[tuple[str, str, str | None], Payer] = {}
        self.documentation = _make(
            _DOCUMENTATION, {"conservative_care_weeks": None, "indication": None, "psych_evaluation": None}
        )

    # -- errors -------------------------------------------------------------------------------
    def err(self, i: int, sid: str, msg: str) -> InputError:
        return InputError(self.file, f"segment {i + 1} ({sid or '?'})", msg)

    def fatal(self, e: InputError) -> InputError:
        """An error that refuses the file. The envelope is checked first: an envelope error anywhere
        in the file is the one reported."""
        tokenize(self.text, self.file, strict=self.strict)
        return e

    def warn(self, i: int, sid: str, msg: str) -> None:
        self.warnings.append(self.err(i, sid, msg))

    def split(self, i: int, sid: str, value: str) -> list[str]:
        """Split a composite element. Some senders use another separator than the ISA16 they declare
        (e.g. ``HC>99213`` with ISA16 ``:``); when the declared one is absent and a usual alternative is
        present, the alternative is used and a warning is recorded once per file."""
        comp = self.comp
        if comp in value:
            return value.split(comp)
        for alt in self.alts:
            if alt in value:
                if alt not in self.alt_warned:
                    self.alt_warned.add(alt)
                    self.warn(
                        i,
                        sid,
                        f"composite {value!r} uses {alt!r} although ISA16 declares {comp!r}; read with {alt!r}",
                    )
                return value.split(alt)
        return [value]

    # -- the pass -----------------------------------------------------------------------------
    def read(self) -> Read837:
        delims, chunks = segment_chunks(self.text, self.file)
        self.sep = delims.element
        self.comp = delims.component
        self.alts = tuple(a for a in _ALT_COMPONENT if a != delims.component)
        self.run(chunks, delims)
        if not self.claims:
            if self.problems:
                first = self.problems[0]
                more = len(self.problems) - 1
                suffix = f" ({more} more problem{'s' if more != 1 else ''} in this file)" if more else ""
                raise InputError(first.file, first.place, f"no claim could be read: {first.expected}{suffix}")
            raise InputError(self.file, None, "the 837P holds no claim (CLM)")
        return Read837(
            claims=self.claims,
            problems=self.problems,
            warnings=self.env_warnings + self.warnings,
            source_rows=self.sources,
            text=self.text,
            file=self.file,
            delimiters=self.delims,
        )

    def run(self, chunks: Iterator[list[str]], delims: Delimiters) -> None:
        # the file's segments, a part at a time (each read while it is still in the processor's cache,
        # and not kept: Read837.segments splits the file again when asked for them)
        self.delims = delims
        sep = self.sep
        tables = _tables(sep)
        loops = tables.loops
        env_table, skip_table, after_lx = tables.env, tables.skip, tables.after_lx
        ok_ids = set(_KNOWN_IDS)
        # Segments whose reading depends on their text only are read once per distinct text.
        sv1_cache: dict[str, tuple[dict[str, Any], tuple[str, ...], tuple[int, ...], bool]] = {}
        dtp_cache: dict[str, Any] = {}  # date, None or _UNREAD
        hi_cache: dict[str, tuple[str, ...]] = {}
        sbr_cache: dict[str, tuple[str, str]] = {}
        nm1_cache: dict[str, _Nm1Record] = {}
        clm05: dict[str, str] = {}
        totals: dict[str, float] = {}  # CLM02 of ASCII digits only -> its value
        ref6r, refg1 = f"REF{sep}6R{sep}", f"REF{sep}G1{sep}"
        # the envelope (ISA/GS/ST/SE/GE/IEA and segment IDs) by the rules tokenize and the 835 reader
        # use (one implementation of them): its segments are few, a claim's segments never reach it
        env = Envelope(self.file, delims, strict=self.strict, warnings=self.env_warnings)
        envelope = env.segment
        hl_ids: dict[str, int] = {}  # HL01 -> segment index, in this transaction set
        # the indexes of the HLs not yet entered in hl_ids (entered when it is consulted): HLs numbered
        # as expected, so that their HL01s are the numbers before hl_next
        hl_at: list[int] = []
        hl_next = 1
        table = env_table
        loop = loops["HDR"]
        cur_order = cur_count = 0
        skip = 0  # 1: the rest of a bad claim, 2: the rest of a bad level
        hdr_bht = hdr_a = hdr_b = False
        bp: _Level | None = None
        sub: _Level | None = None
        pat: _Level | None = None
        claim: _Claim | None = None
        # the current service line's values (see _Claim.lines)
        line: dict[str, Any] = {}
        sexes = _SEX
        fromisoformat = date.fromisoformat
        # a segment's first four characters, the look-up key (see _key): ``s[head]`` with a slice made
        # once (``s[:4]`` builds a slice object per segment on Python 3.11)
        head = slice(4)
        after_qualifier = slice(7, None)  # REF*6R*: REF02 onwards
        loop_2400 = loops["2400"]
        loop_2000b = loops["2000B"]
        loop_2300 = loops["2300"]
        clm_fams = _CLM_FAMILIES
        seg: list[str] = []
        first = 0  # the index of the part's first segment
        part: list[str] = []
        for part in chunks:
            for i, s in enumerate(part, first):
                try:
                    try:
                        code, nxt = table[s[head]]
                    except KeyError:
                        ent = table.get(s[:3])
                        if ent is not None and len(table) < _MEMO_LIMIT:
                            # a two-character ID: remember its first four characters too (see _key)
                            table[s[:4]] = ent
                        if ent is None:
                            sid = s.split(sep, 1)[0]
                            if sid not in ok_ids:
                                env.check_id(i, sid)
                                ok_ids.add(sid)
                            if sid == s:  # a segment without elements
                                ent = table.get(_key(sid, sep))
                            if ent is None:
                                if skip:
                                    continue
                                if env.st is None:
                                    raise env.outside(i, sid) from None
                                raise _Fail(self.misplaced(loop, sid, table is after_lx)) from None
                        code, nxt = ent
                    if code < 20:
                        table = nxt
                        if code > 12:  # SV1, LINE_REF, LINE_DTP, CLM_DTP: most segments of a claim
                            if code == 16:  # SV1
                                got = sv1_cache.get(s)
                                if got is None:
                                    got = sv1_cache[s] = self.sv1(i, s.split(sep))
                                # the Line model's values (see _Claim.lines): a copy of the SV1's, with lists
                                # of its own
                                values, mods, ptrs, unreadable = got
                                line = values.copy()
                                line["modifiers"] = [*mods]
                                line["diagnosis_pointers"] = [*ptrs]
                                claim.lines.append(line)  # type: ignore[union-attr]
                                if unreadable:  # SV102/SV104 not X12 numbers (CLM006)
                                    self.unreadable(i, s.split(sep), claim)  # type: ignore[arg-type]
                            elif code == 15:  # LINE_REF
                                if s.startswith(ref6r):
                                    v = s[after_qualifier]
                                    line["control_number"] = (
                                        v.split(sep, 1)[0] if sep in v else v
                                    ).strip() or None
                                elif s.startswith(refg1):
                                    v = s[after_qualifier]
                                    line["authorization_number"] = (
                                        v.split(sep, 1)[0] if sep in v else v
                                    ).strip() or None
                                else:
                                    seg = s.split(sep)
                                    if len(seg) < 3 and len(seg) > 1 and seg[1] in ("6R", "G1"):
                                        line[
                                            "control_number" if seg[1] == "6R" else "authorization_number"
                                        ] = None
                            else:  # LINE_DTP, CLM_DTP
                                d = dtp_cache.get(s, _UNREAD)
                                if d is _UNREAD:
                                    seg = s.split(sep)
                                    d = self.dtp(i, seg) if len(seg) > 1 and seg[1] == "472" else None
                                    dtp_cache[s] = d
                                if d is not None:
                                    if code == 14:  # LINE_DTP (else CLM_DTP)
                                        line["date_of_service"] = d
                                    else:
                                        claim.dates.append(d)  # type: ignore[union-attr]
                        elif code == 0:
                            continue
                        elif code == 9:  # HI
                            assert claim is not None
                            if not claim.diagnoses and (dx := hi_cache.get(s)) is not None:
                                claim.diagnoses = list(dx)
                                claim.hi = True
                            else:
                                fresh = not claim.diagnoses
                                self.hi(i, s.split(sep), claim)
                                if fresh and claim.diagnoses:
                                    hi_cache[s] = tuple(claim.diagnoses)
                        elif code == 10:  # CLM_REF
                            seg = s.split(sep)
                            if len(seg) > 1 and seg[1] == "G1":
                                claim.auth = (seg[2] if len(seg) > 2 else "").strip() or None  # type: ignore[union-attr]
                        elif code == 6:  # SBR
                            sbr = sbr_cache.get(s)
                            if sbr is None:
                                seg = s.split(sep)
                                sbr = sbr_cache[s] = (
                                    PLAN_BY_SBR09.get(seg[9] if len(seg) > 9 else "", "commercial"),
                                    seg[2] if len(seg) > 2 else "",
                                )
                            sub.sbr = True  # type: ignore[union-attr]
                            sub.plan, sub.relationship = sbr  # type: ignore[union-attr]
                        elif code == 7 or code == 8:  # SUB_DMG, PAT_DMG
                            seg = s.split(sep)
                            who = sub if code == 7 else pat
                            # the usual D8, valid date (as parse_d8 reads it) and sex in line; anything
                            # else is told by dmg()
                            d = None
                            if len(seg) > 3 and seg[1] == "D8" and seg[3] in sexes:
                                v = seg[2]
                                if len(v) == 8 and v.isdigit() and v.isascii():
                                    try:
                                        d = fromisoformat(v)
                                    except ValueError:
                                        pass
                            if d is not None:
                                who.dob = d  # type: ignore[union-attr]
                                who.sex = seg[3]  # type: ignore[union-attr]
                            else:
                                self.dmg(seg, who)  # type: ignore[arg-type]
                        elif code == 3:  # BP_N3
                            bp.n3 = True  # type: ignore[union-attr]
                        elif code == 4:  # BP_N4
                            assert bp is not None
                            bp.n4 = True
                            state = self.n4_state(
                                i, s.split(sep), "billing provider", "practice state left unknown"
                            )
                            if state is not None:
                                bp.state = state
                        elif code == 5:  # BP_REF
                            assert bp is not None
                            seg = s.split(sep)
                            if (seg[1] if len(seg) > 1 else "") in ("EI", "SY"):
                                if bp.tax_id is not None:
                                    raise _Fail(
                                        "billing provider loop 2010AA may hold only one tax identification REF "
                                        "(EI or SY)"
                                    )
                                bp.tax_id = (seg[2] if len(seg) > 2 else "").strip() or None
                        elif code == 2:  # PRV
                            seg = s.split(sep)
                            if (seg[1] if len(seg) > 1 else "") == "BI" and (
                                seg[3] if len(seg) > 3 else ""
                            ) == ASC_TAXONOMY:
                                bp.kind = "asc"  # type: ignore[union-attr]
                        elif code == 11:  # FAC_N3
                            claim.fac_n3 = True  # type: ignore[union-attr]
                        elif code == 12:  # FAC_N4
                            assert claim is not None
                            claim.fac_n4 = True
                            state = self.n4_state(
                                i, s.split(sep), "service facility", "the billing provider's state is used"
                            )
                            if state is not None:
                                claim.facility_state = state
                        elif code == 1:  # BHT
                            hdr_bht = True
                        continue

                    if code == 21:  # LX
                        if loop.close:
                            self.close(loop, bp, claim)
                        loop = loop_2400
                        cur_order = 0
                        cur_count = 1
                        table = after_lx
                        claim.lx.append(i)  # type: ignore[union-attr]
                        continue
                    if code == 20:  # NM1
                        rec = nm1_cache.get(s)
                        if rec is None:
                            rec = _nm1_record(s.split(sep))
                            if rec[0] not in ("IL", "QC"):  # people's names: seldom repeated, not kept
                                nm1_cache[s] = rec
                        q = rec[0]
                        new = loop.nm1.get(q)
                        if new is None:
                            raise _Fail(
                                f"NM1*{q} is not expected in loop {loop.name} ({LOOP_NAMES[loop.name]})"
                            )
                        if not rec[1]:
                            raise _Fail("NM102 (entity type: 1 person, 2 organization) is required")
                        if table is after_lx:
                            raise _Fail("SV1 (professional service) must follow LX")
                        if loop.close:
                            self.close(loop, bp, claim)
                        order = new.order
                        if order > cur_order:
                            cur_order = order
                            cur_count = 1
                        elif order < cur_order:
                            raise _Fail(self.out_of_order(new, cur_order), new.name)
                        else:
                            cur_count += 1
                            if cur_count > new.maxrep:
                                raise _Fail(self.repeated(new), new.name)
                        loop = new
                        table = new.table
                        keep = new.keep
                        if keep:  # (most frequent first)
                            if keep == _K_2010BA:
                                assert sub is not None
                                sub.loops |= 1
                                sub.last = rec[2]
                                sub.first = rec[3]
                                sub.member_id = rec[4]
                                if not rec[2]:
                                    raise _Fail("subscriber NM103 (last name) is required")
                                if not rec[4]:
                                    raise _Fail("subscriber NM109 (member ID) is required")
                            elif keep == _K_2010BB:
                                assert sub is not None
                                sub.loops |= 2
                                sub.payer_id = rec[4]
                                sub.payer_name = rec[2]
                                sub.payer_by_plan = rec[7]  # type: ignore[assignment]  # NM1*PR: a dict
                                if not rec[4]:
                                    raise _Fail("payer NM109 (payer identifier) is required")
                            elif keep == _K_2310B:
                                assert claim is not None
                                claim.rendering_npi = rec[4]
                                claim.rendering_name = rec[5]
                            elif keep == _K_2310A:
                                assert claim is not None
                                if claim.referring is None or q == "DN":  # DN (referring) over P3 (PCP)
                                    claim.referring = (rec[4], rec[5])
                            elif keep == _K_2010CA:
                                assert pat is not None
                                pat.loops |= 4
                                pat.last = rec[2]
                                pat.first = rec[3]
                                if not rec[2]:
                                    raise _Fail("patient NM103 (last name) is required")
                            elif keep == _K_2010AA:
                                assert bp is not None
                                bp.aa_index = i
                                bp.name = rec[2]
                                bp.npi = rec[4]
                                if not rec[4]:
                                    raise _Fail("billing provider NM109 (NPI) is required")
                            elif keep == _K_2310C:
                                claim.fac_index = i  # type: ignore[union-attr]
                            else:  # 1000A, 1000B
                                if keep == _K_1000A:
                                    hdr_a = True
                                else:
                                    hdr_b = True
                                seg = rec[6]
                                if not seg[3] or not seg[9]:
                                    raise self.fatal(
                                        self.err(
                                            i,
                                            "NM1",
                                            f"NM1*{seg[1]} needs NM103 (name) and NM109 (identifier)",
                                        )
                                    )
                        continue
                    seg = s.split(sep)
                    sid = seg[0]
                    if code == 22 or code == 23:  # SBR2320, SUBLOOP
                        if loop.close:
                            self.close(loop, bp, claim)
                        if code == 22:  # SBR2320
                            loop = loops["2320"]
                            cur_order = 0
                            cur_count = 1
                        else:
                            new = loops[_SUBLOOPS[sid]]
                            order = new.order
                            if order < cur_order:
                                raise _Fail(self.out_of_order(new, cur_order), new.name)
                            if order == cur_order:
                                cur_count += 1
                                if cur_count > new.maxrep:
                                    raise _Fail(self.repeated(new), new.name)
                            else:
                                cur_order = order
                                cur_count = 1
                            loop = new
                        table = loop.table
                        continue
                    if code == 25:  # CLM
                        if skip == 2:
                            self.orphan(seg, bp, sub, pat)
                            continue
                        skip = 0
                        if claim is not None:
                            self.finish(claim, i)
                            claim = None
                        if loop.fam not in clm_fams or sub is None:
                            raise _Fail("CLM must follow a subscriber (HL*22) or patient (HL*23) level")
                        if loop.close == 1:
                            self.close(loop, bp, None)
                        assert bp is not None
                        if bp.end < 0:
                            bp.end = i
                        if sub.end < 0:
                            sub.end = i
                        if pat is not None and pat.end < 0:
                            pat.end = i
                        claim = _Claim()
                        claim.index = i
                        claim.bp, claim.sub, claim.pat = bp, sub, pat
                        claim.dates, claim.diagnoses, claim.lines, claim.lx = [], [], [], []
                        loop = loop_2300
                        table = loop.table
                        cur_order = 0
                        cur_count = 1
                        # CLM01 set, CLM02 digits and a CLM05 seen before: nothing to check again
                        c5 = seg[5] if len(seg) > 5 else ""
                        cpos = clm05.get(c5)
                        claim.id = seg[1].strip() if len(seg) > 1 else ""
                        total = totals.get(seg[2]) if len(seg) > 2 else None
                        if cpos is None or not claim.id or total is None:
                            cpos = clm05[c5] = self.clm(i, seg, claim)
                            total = _num(seg[2])
                            if total is None:
                                self.unreadable(i, seg, claim)
                            elif seg[2].isascii() and seg[2].isdigit():
                                totals[seg[2]] = total
                        claim.total = total
                        claim.pos = cpos
                        continue
                    if code == 24:  # HL
                        skip = 0
                        if loop.fam == "hdr":
                            if not (hdr_bht and hdr_a and hdr_b):
                                raise self.fatal(self.missing_header(i, hdr_bht, hdr_a, hdr_b))
                            self.header = (env.isa_index, env.gs_index, env.st_index, i)
                        if claim is not None:
                            self.finish(claim, i)
                            claim = None
                        if loop.close == 1:
                            self.close(loop, bp, None)
                        if bp is not None and bp.end < 0:
                            bp.end = i
                        if sub is not None and sub.end < 0:
                            sub.end = i
                        if pat is not None and pat.end < 0:
                            pat.end = i
                        level = seg[3] if len(seg) > 3 else ""
                        if level == "22":
                            if bp is None:
                                raise _Fail(
                                    "subscriber level HL*22 before any billing provider level HL*20", "2000A"
                                )
                            sub = _Level()
                            sub.hl_index = i
                            pat = None
                            loop = loop_2000b
                            parent, level_now = bp, sub
                        elif level == "23":
                            if sub is None:
                                raise _Fail(
                                    "patient level HL*23 before any subscriber level HL*22",
                                    "2000A" if bp is not None else "HDR",
                                )
                            pat = _Level()
                            pat.hl_index = i
                            loop = loops["2000C"]
                            parent, level_now = sub, pat
                        elif level == "20":
                            bp = _Level()
                            bp.hl_index = i
                            sub = pat = None
                            loop = loops["2000A"]
                            parent, level_now = None, bp
                        else:
                            if loop.name == "HDR" or bp is None:
                                raise self.fatal(
                                    self.err(
                                        i, sid, f"HL03 level code {level!r}: expected 20 (billing provider)"
                                    )
                                )
                            raise _Fail(f"HL03 level code {level!r}: expected 20, 22 or 23")
                        table = loop.table
                        cur_order = 0
                        cur_count = 1
                        hl01 = seg[1] if len(seg) > 1 else ""
                        # the usual case (next number, parent right, not under a self subscriber) in line
                        problem = None
                        if (
                            hl01 != str(hl_next)
                            or (seg[2] if len(seg) > 2 else "") != ("" if parent is None else parent.hl01)
                            or (level == "23" and parent.relationship == "18")  # type: ignore[union-attr]
                        ):
                            if hl_at:
                                self.enter_hls(hl_ids, hl_at, hl_next)
                            problem = self.hl_numbers(i, seg, hl_ids, hl_next, parent)
                            hl_ids.setdefault(hl01, i)
                            if hl01.isdigit() and hl01.isascii() and len(hl01) <= 9:
                                hl_next = int(hl01) + 1
                        elif len(hl01) <= 9:  # hl01 is str(hl_next)
                            hl_at.append(i)
                            hl_next += 1
                        else:
                            if hl_at:
                                self.enter_hls(hl_ids, hl_at, hl_next)
                            hl_ids.setdefault(hl01, i)
                        level_now.hl01 = hl01
                        if problem:
                            raise _Fail(problem)
                        continue
                    if code == 26:  # SE
                        envelope(i, seg)
                        if claim is not None:
                            self.finish(claim, i)
                            claim = None
                        if loop.close == 1:
                            self.close(loop, bp, None)
                        skip = 0
                        for ctx in self.bad:
                            if not ctx.reported and ctx.error is not None:
                                self.problems.append(ctx.error)
                        self.bad = []
                        table = env_table
                        continue
                    envelope(i, seg)  # ISA, GS, ST, GE, IEA (one inside a transaction set is refused)
                    if code == 32:  # ST
                        self.check_transaction(i, seg, env.gs, env.gs_index)  # type: ignore[arg-type]
                        hl_ids = {}
                        hl_at = []
                        hl_next = 1
                        self.hl_warned = False
                        loop = loops["HDR"]
                        table = loop.table
                        cur_order = cur_count = 0
                        hdr_bht = hdr_a = hdr_b = False
                        bp = sub = pat = None
                        claim = None
                        skip = 0
                except _Fail as f:
                    sid = s.split(sep, 1)[0]
                    if f.loop is not None:
                        loop = loops[f.loop]
                    fam = loop.fam
                    e = self.err(i, sid, f.msg)
                    if fam == "hdr":
                        raise self.fatal(e) from None
                    if fam in _CLAIM_FAMILIES and claim is not None:
                        if claim.error is None:
                            claim.error = e
                        skip = 1
                    else:
                        bctx = bp if fam == "A" or fam in _CLAIM_FAMILIES else sub if fam == "B" else pat
                        if bctx is None:
                            raise self.fatal(e) from None
                        if bctx.error is None:
                            bctx.error = e
                            self.bad.append(bctx)
                        skip = 2
                    table = skip_table
            first += len(part)
        lastseg = first - 1
        sid = part[-1].split(sep, 1)[0] if part else ""
        env.end(lastseg, sid)

    # -- checks on the way ----------------------------------------------------------------------
    def check_transaction(self, i: int, st: list[str], gs: list[str], gs_index: int) -> None:
        version = st[3] if len(st) > 3 and st[3] else (gs[8] if len(gs) > 8 else "")
        if st[1] != "837" or not version.startswith("005010X222"):
            # raised at once: that the file is, say, an 837I matters more than its other faults
            raise self.err(i, "ST", f"this is {describe_transaction(st[1], version)}, not {_NOT_837P}")
        bad_group = check_group(st, gs, gs_index, self.file)
        if bad_group is not None:
            raise self.fatal(bad_group)
        msg = version_mismatch(st, gs)
        if msg:
            self.env_warnings.append(self.err(i, "ST", msg))

    @staticmethod
    def enter_hls(seen: dict[str, int], hl_at: list[int], hl_next: int) -> None:
        """Enter the HLs at ``hl_at`` (segment indexes, in file order) in ``seen`` (HL01 -> the index
        of its first HL). They are kept as indexes while the numbers are as expected (the HL01 of each
        is the number after the one before it, the last one's is ``hl_next - 1``) and entered when a
        number is not."""
        for number, j in enumerate(hl_at, hl_next - len(hl_at)):
            seen.setdefault(str(number), j)
        hl_at.clear()

    def hl_numbers(
        self, i: int, seg: list[str], seen: dict[str, int], expected: int, parent: _Level | None
    ) -> str | None:
        """HL01 counts 1, 2, 3... in a transaction set and HL02 names the level above. Published sample
        files get the numbers wrong without any other fault (a repeated HL01, a parent that does not
        exist), so a wrong number is a warning (one per transaction set). A subscriber who is the
        patient (SBR02 18) with a patient level below is an error: the payer cannot tell who was seen."""
        hl01 = seg[1] if len(seg) > 1 else ""
        hl02 = seg[2] if len(seg) > 2 else ""
        level = seg[3] if len(seg) > 3 else ""
        if level == "23" and parent is not None and parent.relationship == "18":
            return (
                "patient level HL*23 under a subscriber who is the patient (SBR02 18): either the "
                "subscriber is the patient (no HL*23) or SBR02 is blank and the patient has this level"
            )
        if self.hl_warned:
            return None
        note = None
        if not ascii_digits(hl01) or len(hl01) > 9:
            note = (
                f"HL01 hierarchical ID {hl01!r} must be a number (1 for the first HL of the transaction set)"
            )
        elif hl01 in seen:
            note = f"HL01 hierarchical ID {hl01!r} is already used by the HL at segment {seen[hl01] + 1}"
        elif int(hl01) != expected:
            first = " (the first HL of a transaction set is 1)" if expected == 1 else ""
            note = f"HL01 {hl01!r}: hierarchical IDs count 1, 2, 3...; expected {expected}{first}"
        elif parent is None:
            if hl02 and hl02 not in seen:
                note = f"HL02 parent {hl02!r} is not an earlier HL01 of this transaction set"
        elif hl02 != parent.hl01:
            above = "subscriber level HL*22" if level == "23" else "billing provider level HL*20"
            note = f"HL02 parent {hl02!r}: expected {parent.hl01!r}, the {above} above it"
        if note:
            self.hl_warned = True
            self.warn(
                i, "HL", note + " (read by position; further numbering notes of this transaction set omitted)"
            )
        return None

    @staticmethod
    def misplaced(loop: _Loop, sid: str, after_lx: bool) -> str:
        name = loop.name
        if after_lx:
            return "SV1 (professional service) must follow LX"
        if name == "2400" and sid == "SV1":
            return "only one SV1 per service line (LX)"
        if LOOP_SEGMENTS[name].get(sid) is None:
            return f"{sid} is not expected in loop {name} ({LOOP_NAMES[name]}): misplaced or out of order"
        return f"{sid} is out of order in loop {name} ({LOOP_NAMES[name]})"

    @staticmethod
    def out_of_order(new: _Loop, cur_order: int) -> str:
        prev = _BY_ORDER[(new.fam, cur_order)]
        return (
            f"loop {new.name} ({LOOP_NAMES[new.name]}) is out of order: it must come before loop {prev} "
            f"({LOOP_NAMES[prev]})"
        )

    @staticmethod
    def repeated(new: _Loop) -> str:
        times = "once" if new.maxrep == 1 else f"{new.maxrep} times"
        return f"loop {new.name} ({LOOP_NAMES[new.name]}) may appear only {times} here"

    def missing_header(self, i: int, bht: bool, a: bool, b: bool) -> InputError:
        missing = [
            what
            for ok, what in (
                (bht, "BHT (beginning of hierarchical transaction)"),
                (a, "loop 1000A (NM1*41 submitter)"),
                (b, "loop 1000B (NM1*40 receiver)"),
            )
            if not ok
        ]
        return self.err(i, "HL", "missing " + ", ".join(missing) + " before the first HL")

    def close(self, loop: _Loop, bp: _Level | None, claim: _Claim | None) -> None:
        """The current loop ends: the billing provider and service facility loops need an address."""
        if loop.close == 1:
            if bp is not None and bp.error is None and not (bp.n3 and bp.n4):
                missing = "N3 (address)" if not bp.n3 else "N4 (city, state, ZIP)"
                self.level_error(bp, bp.aa_index, "NM1", f"billing provider loop 2010AA has no {missing}")
        elif claim is not None and claim.error is None and not (claim.fac_n3 and claim.fac_n4):
            missing = "N3 (address)" if not claim.fac_n3 else "N4 (city, state, ZIP)"
            claim.error = self.err(claim.fac_index, "NM1", f"service facility loop 2310C has no {missing}")

    def level_error(self, ctx: _Level, i: int, sid: str, msg: str) -> None:
        if ctx.error is None:
            ctx.error = self.err(i, sid, msg)
            self.bad.append(ctx)

    def orphan(self, seg: list[str], *levels: _Level | None) -> None:
        """A CLM under a billing provider, subscriber or patient level that could not be read."""
        for ctx in levels:
            if ctx is not None and ctx.error is not None:
                ctx.reported = True
                e = ctx.error
                clm01 = seg[1] if len(seg) > 1 else ""
                self.problems.append(InputError(e.file, e.place, f"claim {clm01!r}: {e.expected}"))
                return

    # -- segments with data -------------------------------------------------------------------
    def clm(self, i: int, seg: list[str], claim: _Claim) -> str:
        """Check CLM01, CLM02 and CLM05; the place of service."""
        if len(seg) < 6:
            seg = seg + [""] * (6 - len(seg))
        claim.id = seg[1].strip()
        if not claim.id:
            raise _Fail("CLM01 (patient control number) is required")
        if not seg[2]:
            raise _Fail("CLM02 total charge is required")
        c5 = self.split(i, "CLM", seg[5])
        comp = self.comp
        if not c5[0]:
            raise _Fail(
                f"CLM05-1 place of service is required (CLM05 e.g. 11{comp}B{comp}1), found {seg[5]!r}"
            )
        if not (len(c5[0]) == 2 and ascii_digits(c5[0])):
            raise _Fail(f"CLM05-1 place of service {c5[0]!r}: expected a two-digit CMS code")
        return c5[0]

    def dmg(self, seg: list[str], ctx: _Level) -> None:
        if len(seg) < 4:
            seg = seg + [""] * (4 - len(seg))
        if seg[1] != "D8":
            raise _Fail(f"DMG01 must be D8, found {seg[1]!r}")
        d = parse_d8(seg[2])
        if d is None:
            raise _Fail(f"DMG02 date of birth {seg[2]!r} is not a valid CCYYMMDD date")
        ctx.dob = d
        sex = seg[3]
        if sex:
            if sex not in _SEX:
                raise _Fail(f"DMG03 sex {sex!r}: expected F, M or U")
            ctx.sex = sex

    def dtp(self, i: int, seg: list[str]) -> date:
        if len(seg) < 4:
            seg = seg + [""] * (4 - len(seg))
        fmt = seg[2]
        value = seg[3]
        if fmt == "D8":
            d = parse_d8(value)
        elif fmt == "RD8":
            a, _, b = value.partition("-")
            d = parse_d8(a)
            end = parse_d8(b)
            if d is not None and (end is None or end < d):
                d = None
        else:
            raise _Fail(f"DTP02 date format {fmt!r}: expected D8 or RD8")
        if d is None:
            raise _Fail(
                f"DTP03 {value!r} is not a valid {'CCYYMMDD' if fmt == 'D8' else 'CCYYMMDD-CCYYMMDD'} date"
            )
        return d

    def hi(self, i: int, seg: list[str], claim: _Claim) -> None:
        n = 0
        dx = claim.diagnoses
        while n + 1 < len(seg):
            n += 1
            el = seg[n]
            if not el:
                continue
            parts = self.split(i, "HI", el)
            if (
                len(parts) == 1
                and parts[0] in _DX_QUALIFIERS
                and n + 1 < len(seg)
                and seg[n + 1]
                and seg[n + 1] not in _DX_QUALIFIERS
                and len(self.split(i, "HI", seg[n + 1])) == 1
            ):
                # Qualifier and code written as two elements (HI*BK*8901): read them as one composite.
                if not self.hi_warned:
                    self.hi_warned = True
                    self.warn(
                        i,
                        "HI",
                        f"HI writes qualifier and code as separate elements ({el}{self.sep}{seg[n + 1]}); "
                        f"read as {el}{self.comp}{seg[n + 1]}",
                    )
                parts = [el, seg[n + 1]]
                n += 1
            q = parts[0]
            principal = _DX_QUALIFIERS.get(q)
            if principal is None:
                if n == 1 and not dx:
                    raise _Fail(f"HI01-1 {q!r}: the first diagnosis must be ABK (ICD-10-CM principal) or BK")
                return  # another HI type (condition, anesthesia ...): not diagnoses
            if len(parts) < 2 or not parts[1]:
                raise _Fail(f"HI{n:02d} diagnosis code is missing after qualifier {q}")
            if principal != (not dx):
                if principal:
                    raise _Fail(f"HI{n:02d} {q}: only the first diagnosis may be the principal (ABK/BK)")
                raise _Fail(f"HI{n:02d} {q}: the first diagnosis must be the principal (ABK/BK)")
            code = parts[1].replace(".", "").upper()
            if not code.isalnum() or not 3 <= len(code) <= 7:
                raise _Fail(f"HI{n:02d} diagnosis code {parts[1]!r} is not an ICD-10-CM code")
            dx.append(format_diagnosis(code))
            claim.hi = True
        if len(dx) > 12:
            raise _Fail("an 837P claim may hold at most 12 diagnoses")

    def sv1(self, i: int, seg: list[str]) -> tuple[dict[str, Any], tuple[str, ...], tuple[int, ...], bool]:
        """SV1 read: (the Line model's values but its lists, modifiers, pointers, whether SV102 or SV104
        is not an X12 number)."""
        comp = self.comp
        if len(seg) < 8:
            seg = seg + [""] * (8 - len(seg))
        c1 = self.split(i, "SV1", seg[1])
        if c1[0] not in _PROC_QUALIFIERS or len(c1) < 2 or not c1[1]:
            raise _Fail(f"SV101 must be HC{comp}procedure code[{comp}modifier...], found {seg[1]!r}")
        code = c1[1].strip().upper()
        if not code.isalnum():
            raise _Fail(f"SV101-2 procedure code {c1[1]!r} is not a CPT/HCPCS code")
        mods = tuple(m.strip().upper() for m in c1[2:6] if m.strip())
        for m in mods:
            if len(m) != 2 or not m.isalnum():
                raise _Fail(f"SV101 modifier {m!r}: expected two letters or digits")
        charge = _num(seg[2])  # None: not an X12 number, recorded for CLM006 (``unreadable``)
        if not seg[2]:
            raise _Fail("SV102 line charge is required")
        if seg[3] not in ("UN", "MJ"):
            raise _Fail(f"SV103 unit basis {seg[3]!r}: expected UN (units) or MJ (minutes)")
        units = _num(seg[4])
        if not seg[4]:
            raise _Fail("SV104 service unit count is required")
        if units is not None and units < 0:
            raise _Fail(f"SV104 service unit count {seg[4]!r} is negative")
        pos = seg[5]
        if pos and not (len(pos) == 2 and ascii_digits(pos)):
            raise _Fail(f"SV105 place of service {pos!r}: expected a two-digit CMS code")
        if not seg[7]:
            raise _Fail("SV107 diagnosis code pointer is required")
        ptrs: list[int] = []
        for p in self.split(i, "SV1", seg[7]):
            if not p:
                continue
            if ascii_digits(p):
                k = int(p) if len(p) <= 4 else 0  # thousands of digits: out of range, not a traceback
            else:
                f = _num(p) if len(p) <= 20 else None
                if f is None or not f.is_integer():
                    raise _Fail(f"SV107 diagnosis pointer {p[:20]!r}: expected a number from 1 to 12")
                k = int(f)
                if not self.ptr_warned and 1 <= k <= 12:
                    self.ptr_warned = True
                    self.warn(i, "SV1", f"SV107 diagnosis pointer {p!r} written as a decimal; read as {k}")
            if not 1 <= k <= 12:
                raise _Fail(f"SV107 diagnosis pointer {p[:20]!r}: expected a number from 1 to 12")
            ptrs.append(k)
        if not ptrs or len(ptrs) > 4:
            raise _Fail("SV107 must hold 1 to 4 diagnosis pointers")
        values = {  # by field name in field order (_FIELDS[Line]); the lists are made per line
            "code": code,
            "modifiers": None,
            "units": units,
            "diagnosis_pointers": None,
            "date_of_service": None,
            "place_of_service": pos or None,
            "authorization_number": None,
            "charge": charge,
            "control_number": None,
        }
        return values, mods, tuple(ptrs), charge is None or units is None

    def n4_state(self, i: int, seg: list[str], whose: str, otherwise: str) -> str | None:
        """An N4's state (N402) when it is a US state code; else a warning saying what is done instead."""
        state = seg[2] if len(seg) > 2 else ""
        if state in _STATES_OK:
            return state
        self.warn(i, "N4", f"{whose} state {state!r} is not a US state code; {otherwise}")
        return None

    def unreadable(self, i: int, seg: list[str], claim: _Claim) -> None:
        """Record the amounts/quantities of a CLM or SV1 that are not X12 numbers (CLM006): the claim
        is kept with those values unknown, never a guessed value."""
        sid = seg[0]
        if sid == "CLM":
            where, line = [("CLM02", 2)], None
        else:
            where, line = [("SV102", 2), ("SV104", 4)], len(claim.lines)
        for element, k in where:
            found = seg[k] if len(seg) > k else ""
            if found and _num(found) is None:
                if claim.numbers is None:
                    claim.numbers = []
                claim.numbers.append(
                    UnreadableNumber.model_construct(  # as written: " 135" keeps its space
                        place=f"segment {i + 1} ({sid})",
                        element=element,
                        found=found if len(found) <= 40 else found[:40] + "...",
                        expected=X12_DECIMAL_FORM,
                        line=line,
                    )
                )

    # -- the end of a claim -------------------------------------------------------------------
    def finish(self, claim: _Claim, end: int) -> None:
        """The claim ends at segment ``end``: its Encounter, or the problem that stops it."""
        bp, sub, pat = claim.bp, claim.sub, claim.pat
        err = claim.error
        if bp.error is not None or sub.error is not None or (pat is not None and pat.error is not None):
            for ctx in (bp, sub, pat):
                if ctx is not None and ctx.error is not None:
                    ctx.reported = True
                    err = ctx.error
                    break
        elif err is None:
            # what claim_required checks, in line for the usual complete claim
            if (
                bp.aa_index >= 0
                and (sub.loops & 3) == 3
                and sub.sbr
                and (pat is None or pat.loops & 4)
                and claim.hi
                and claim.lx
                and (enc := self.build(claim, bp, sub, pat)) is not None
            ):
                self.claims.append(enc)
                self.sources.append(
                    (
                        self.header,
                        bp.hl_index,
                        bp.end,
                        sub.hl_index,
                        sub.end,
                        -1 if pat is None else pat.hl_index,
                        -1 if pat is None else pat.end,
                        claim.index,
                        end,
                        claim.lx,
                        enc,
                    )
                )
                return
            err = self.claim_required(claim)
            assert err is not None
        assert err is not None
        self.problems.append(InputError(err.file, err.place, f"claim {claim.id!r}: {err.expected}"))

    def claim_required(self, claim: _Claim) -> InputError | None:
        bp, sub, pat = claim.bp, claim.sub, claim.pat
        missing: tuple[_Level, str] | None = None
        if bp.aa_index < 0:
            missing = (bp, "billing provider loop 2010AA (NM1*85) is missing")
        elif not sub.loops & 1:
            missing = (sub, "subscriber name loop 2010BA (NM1*IL) is missing")
        elif not sub.loops & 2:
            missing = (sub, "payer name loop 2010BB (NM1*PR) is missing")
        elif not sub.sbr:
            missing = (sub, "SBR (subscriber information) is missing")
        elif pat is not None and not pat.loops & 4:
            missing = (pat, "patient name loop 2010CA (NM1*QC) is missing")
        if missing is not None:
            ctx, msg = missing
            self.level_error(ctx, ctx.hl_index, "HL", msg)
            ctx.reported = True
            return ctx.error
        if not claim.hi:
            return self.err(claim.index, "CLM", "HI (diagnoses, ABK principal) is required in loop 2300")
        if not claim.lx:
            return self.err(claim.index, "CLM", "the claim has no service line (LX/SV1)")
        lines = claim.lines
        for k, lx in enumerate(claim.lx):
            if k >= len(lines):
                return self.err(lx, "LX", "SV1 (professional service) must follow LX")
            if lines[k]["date_of_service"] is None and not claim.dates:
                # the SV1 of a line is the segment right after its LX (nothing else may come between)
                return self.err(lx + 1, "SV1", "DTP*472 (service date) is required for every service line")
        return None

    def build(self, claim: _Claim, bp: _Level, sub: _Level, pat: _Level | None) -> Encounter | None:
        """The Encounter for a claim that passed every check. Values are already normalised and
        validated (codes upper-case, dates parsed, states checked), so the models are built without a
        second validation (``_make``); the tests check that every model built this way validates
        unchanged. Practice, provider, payer, patient and documentation models are shared by the claims
        that have the same (nothing in painrcm changes a model in place). None when a service line
        has no SV1 or no service date (claim_required says which)."""
        values = claim.lines
        if len(values) != len(claim.lx):
            return None
        dates = claim.dates
        dos = min(dates) if dates else None
        new, set_dict, set_fields, set_extra, set_private = (
            _new,
            _SET_DICT,
            _SET_FIELDS,
            _SET_EXTRA,
            _SET_PRIVATE,
        )
        line_fields, line_later = _LINE[1], _LINE_LATER
        lines = []
        for v in values:
            d = v["date_of_service"]
            if d is None:
                if not dates:
                    return None
            elif dos is None or d < dos:
                dos = d
            if line_later:
                _fill(v, line_later)
            m = new(Line)
            set_dict(m, v)
            set_fields(m, line_fields)
            set_extra(m, None)
            set_private(m, None)
            lines.append(m)
        state = claim.facility_state or bp.state
        practices = bp.practices
        if practices is None:
            practices = bp.practices = {}
        practice = practices.get(state)
        if practice is None:
            practice = practices[state] = _make(
                _PRACTICE,
                {
                    "id": None,
                    "name": bp.name,
                    "npi": bp.npi,
                    "tax_id": bp.tax_id,
                    "kind": bp.kind,
                    "state": state,
                },
            )
        providers = self.providers
        key = (claim.rendering_npi or bp.npi, claim.rendering_name or bp.name)
        provider = providers.get(key)
        if provider is None:
            provider = providers[key] = _make(_PROVIDER, {"npi": key[0], "name": key[1]})
        payer = sub.payer
        if payer is None:
            # the payer of the subscriber's NM1*PR under its plan (SBR09), shared by the claims with
            # the same payer ID, plan and name
            by_plan = sub.payer_by_plan
            payer = by_plan.get(sub.plan)
            if payer is None:
                pkey = (sub.payer_id or "", sub.plan, sub.payer_name)
                payer = self.payers.get(pkey)
                if payer is None:
                    payer = self.payers[pkey] = _make(
                        _PAYER, {"id": pkey[0], "plan": pkey[1], "state": None, "name": pkey[2]}
                    )
                by_plan[sub.plan] = payer
            sub.payer = payer
        who = sub if pat is None else pat
        patient = who.patient
        if patient is None:
            patient_values = {
                "id": None,
                "member_id": sub.member_id,
                "last_name": who.last,
                "first_name": who.first,
                "dob": who.dob,
                "sex": who.sex,
            }
            if _PATIENT_LATER:
                _fill(patient_values, _PATIENT_LATER)
            who.patient = patient = new(Patient)
            set_dict(patient, patient_values)
            set_fields(patient, _PATIENT[1])
            set_extra(patient, None)
            set_private(patient, None)
        # the Encounter's values: a copy of the template (every field in field order, the constant
        # ones set), then the claim's own (cheaper than a 19-key dict display)
        ev = _ENCOUNTER_VALUES.copy()
        ev["encounter_id"] = claim.id
        ev["practice"] = practice
        ev["rendering_provider"] = provider
        ev["patient"] = patient
        ev["payer"] = payer
        ev["date_of_service"] = dos
        ev["place_of_service"] = claim.pos
        ev["diagnoses"] = claim.diagnoses
        ev["procedures"] = []
        ev["drugs"] = []
        ev["documentation"] = self.documentation
        ev["authorization_number"] = claim.auth
        ev["lines"] = lines
        ev["total_charge"] = claim.total
        if claim.referring is not None:
            referring = providers.get(claim.referring)
            if referring is None:
                referring = providers[claim.referring] = _make(
                    _PROVIDER, {"npi": claim.referring[0], "name": claim.referring[1]}
                )
            ev["referring_provider"] = referring
        ev["unreadable_numbers"] = claim.numbers
        if _ENCOUNTER_LATER:
            _fill(ev, _ENCOUNTER_LATER)
        enc = new(Encounter)
        set_dict(enc, ev)
        set_fields(enc, _ENCOUNTER[1])
        set_extra(enc, None)
        set_private(enc, None)
        return enc


# Models are built from values the reader has validated, every field given in field order (the
# tests check the lists below against the models, so a field added to a model is not forgotten).
_FIELDS: dict[type[Any], list[str]] = {
    Line: [
        "code",
        "modifiers",
        "units",
        "diagnosis_pointers",
        "date_of_service",
        "place_of_service",
        "authorization_number",
        "charge",
        "control_number",
    ],
    Encounter: [
        "schema_",
        "encounter_id",
        "practice",
        "rendering_provider",
        "patient",
        "payer",
        "date_of_service",
        "place_of_service",
        "diagnoses",
        "evaluation",
        "procedures",
        "drugs",
        "documentation",
        "authorization_number",
        "lines",
        "total_charge",
        "referring_provider",
        "unreadable_numbers",
        "claim_id_also_at",
    ],
    Practice: ["id", "name", "npi", "tax_id", "kind", "state"],
    Provider: ["npi", "name"],
    Patient: ["id", "member_id", "last_name", "first_name", "dob", "sex"],
    Payer: ["id", "plan", "state", "name"],
    Documentation: ["conservative_care_weeks", "indication", "psych_evaluation"],
}
# (class, its fields set): every field listed above is given, so the set is the same for all
# instances and is shared (pydantic only ever adds names to it, and every name is already in it).
_LINE, _ENCOUNTER, _PRACTICE, _PROVIDER, _PATIENT, _PAYER, _DOCUMENTATION = (
    (cls, set(_FIELDS[cls])) for cls in (Line, Encounter, Practice, Provider, Patient, Payer, Documentation)
)


def _later_fields(cls: type[Any]) -> list[tuple[str, Any, Any]]:
    """(name, default factory, default) of the fields a model gained after the lists above were
    written: the reader gives them their defaults. A field without a default is a programming error."""
    out = []
    for name, info in cls.model_fields.items():
        if name not in _FIELDS[cls]:
            if info.is_required():  # pragma: no cover
                raise RuntimeError(f"painrcm.x12.reader837: {cls.__name__}.{name} needs a value")
            out.append((name, info.default_factory, info.default))
    return out


_LATER = {cls: _later_fields(cls) for cls in _FIELDS}
_LINE_LATER, _PATIENT_LATER, _ENCOUNTER_LATER = _LATER[Line], _LATER[Patient], _LATER[Encounter]


def _fill(values: dict[str, Any], later: list[tuple[str, Any, Any]]) -> None:
    for name, factory, default in later:
        values[name] = factory() if factory is not None else default


# Every Encounter field in field order; build copies it and sets the claim's values (schema_, and
# the fields the reader never sets, keep these; lists are made anew per claim).
_ENCOUNTER_VALUES: dict[str, Any] = dict.fromkeys(_FIELDS[Encounter])
_ENCOUNTER_VALUES["schema_"] = ENCOUNTER_SCHEMA


# BaseModel's slot setters (segments.py): models made from checked values, no second validation
_new = new_model
_SET_DICT = set_model_dict
_SET_FIELDS = set_model_fields
_SET_EXTRA = set_model_extra
_SET_PRIVATE = set_model_private


def _make(kind: tuple[type[Any], set[str]], values: dict[str, Any]) -> Any:
    later = _LATER[kind[0]]
    if later:
        _fill(values, later)
    m = _new(kind[0])
    _SET_DICT(m, values)
    _SET_FIELDS(m, kind[1])
    _SET_EXTRA(m, None)
    _SET_PRIVATE(m, None)
    return m


def read_837(text: str, file: str, *, strict: bool = False) -> Read837:
    """Read an 837P interchange. ``strict=True`` refuses SE/GE/IEA count mismatches instead of warning."""
    with no_gc():
        return _Reader(text, file, strict).read()
