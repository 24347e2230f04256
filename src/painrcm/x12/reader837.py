"""837P (005010X222A1/A2) reader: X12 claims -> painrcm Encounters (CONTRACTS.md section 2a).

Errors are located as ``segment N (ID)`` (N counts from the first ISA, 1-based).
- A broken envelope, an unreadable header (BHT, 1000A, 1000B) or a transaction set that is not an
  837P refuses the whole file (InputError is raised).
- An error inside a claim (2300 and below) makes that claim a problem; the other claims are read.
- An error in a billing provider, subscriber or patient level makes every claim under it a problem.
- A file from which no claim at all can be read is refused (the first problem is raised).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from painrcm.errors import InputError
from painrcm.model import ENCOUNTER_SCHEMA, Documentation, Encounter, Line, Patient, Payer, Practice, Provider
from painrcm.x12.loops837 import FAMILY_OF, LOOP_INFO, LOOP_NAMES, LOOP_SEGMENTS, NM1_START
from painrcm.x12.segments import (
    ENVELOPE_IDS,
    Delimiters,
    Tokens,
    ge_count_problem,
    iea_count_problem,
    later_isa_ok,
    no_gc,
    raw_segments,
    se_count_problem,
    tokenize,
)

ASC_TAXONOMY = "261QA1903X"
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
class Read837:
    """What an 837P file held: the readable claims, the claims that could not be read, and notes."""

    claims: list[Encounter] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)


def format_diagnosis(code: str) -> str:
    """ICD code with a dot after the third character (``M5416`` -> ``M54.16``)."""
    c = code.replace(".", "").strip().upper()
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def parse_d8(value: str) -> date | None:
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def _num(value: str) -> float | None:
    try:
        f = float(value)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _el(seg: list[str], n: int) -> str:
    return seg[n] if len(seg) > n else ""


class _Ctx:
    """A billing provider, subscriber or patient level (HL)."""

    __slots__ = (
        "aa_index",
        "dob",
        "error",
        "first",
        "hl_index",
        "kind",
        "last",
        "loops",
        "member_id",
        "n3",
        "n4",
        "name",
        "npi",
        "payer_id",
        "payer_name",
        "plan",
        "reported",
        "sbr",
        "sex",
        "state",
        "state_index",
        "tax_id",
    )

    def __init__(self, hl_index: int) -> None:
        self.hl_index = hl_index
        self.error: InputError | None = None
        self.reported = False
        self.loops: set[str] = set()
        self.npi = self.name = self.state = self.tax_id = None  # type: str | None
        self.state_index = -1
        self.kind = "physician"
        self.n3 = self.n4 = False
        self.aa_index = -1
        self.plan = "commercial"
        self.member_id = self.last = self.first = self.sex = None  # type: str | None
        self.dob: date | None = None
        self.payer_id = self.payer_name = None  # type: str | None
        self.sbr = False


class _Claim:
    __slots__ = (
        "auth",
        "bp",
        "dates",
        "diagnoses",
        "error",
        "fac_index",
        "fac_n3",
        "fac_n4",
        "facility_state",
        "hi",
        "id",
        "index",
        "line",
        "lines",
        "pat",
        "pos",
        "rendering_name",
        "rendering_npi",
        "sub",
    )

    def __init__(self, index: int, bp: _Ctx, sub: _Ctx | None, pat: _Ctx | None) -> None:
        self.index = index
        self.id = ""
        self.error: InputError | None = None
        self.pos = ""
        self.auth: str | None = None
        self.dates: list[date] = []
        self.diagnoses: list[str] = []
        self.lines: list[dict[str, object]] = []
        self.rendering_npi: str | None = None
        self.rendering_name: str | None = None
        self.facility_state: str | None = None
        self.fac_n3 = self.fac_n4 = False
        self.fac_index = -1
        self.bp, self.sub, self.pat = bp, sub, pat
        self.hi = False
        self.line: dict[str, object] | None = None


_M = TypeVar("_M", bound=BaseModel)


def _constructor(cls: type[_M]) -> Callable[..., _M]:
    """A faster ``cls.model_construct`` for values that are already validated and normalised: it sets
    the instance dict directly (what model_construct does, without its per-field alias handling).
    Fields the caller does not pass get their defaults, so fields added to the model later stay safe."""
    defaults: list[tuple[str, bool, Any]] = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            defaults.append((name, True, info.default_factory))
        elif not info.is_required():
            defaults.append((name, False, info.default))
    required = [n for n, info in cls.model_fields.items() if info.is_required()]
    new = cls.__new__
    setattr_ = object.__setattr__

    nfields = len(cls.model_fields)

    def make(**values: Any) -> _M:
        if len(values) != nfields:
            for name, is_factory, default in defaults:
                if name not in values:
                    values[name] = default() if is_factory else default
            for name in required:
                if name not in values:  # pragma: no cover - a programming error, caught by the tests
                    raise TypeError(f"{cls.__name__}: missing {name}")
        m = new(cls)
        setattr_(m, "__dict__", values)
        setattr_(m, "__pydantic_fields_set__", set(values))
        setattr_(m, "__pydantic_extra__", None)
        setattr_(m, "__pydantic_private__", None)
        return m

    return make


_new_line = _constructor(Line)
_new_encounter = _constructor(Encounter)
_new_practice = _constructor(Practice)
_new_provider = _constructor(Provider)
_new_patient = _constructor(Patient)
_new_payer = _constructor(Payer)
_new_documentation = _constructor(Documentation)

_SKIP_NONE, _SKIP_CLAIM, _SKIP_HL = 0, 1, 2
_AFTER_LX = "2400@LX"
_EMPTY: dict[str, tuple[int, Any]] = {}
_Handler = Callable[[int, list[str]], None]
# Segments that start (or may start) a loop, by family of the current loop: never on the fast path.
_STARTERS: dict[str, frozenset[str]] = {
    "hdr": frozenset({"NM1", "HL"}),
    "A": frozenset({"NM1", "HL", "CLM"}),
    "B": frozenset({"NM1", "HL", "CLM"}),
    "C": frozenset({"NM1", "HL", "CLM"}),
    "claim": frozenset({"NM1", "HL", "CLM", "LX", "SBR"}),
    "cob": frozenset({"NM1", "HL", "CLM", "LX", "SBR"}),
    "line": frozenset({"NM1", "HL", "CLM", "LX", "SBR", "LIN", "SVD", "LQ"}),
}


# The segments whose data the reader keeps, by loop: the handler of the full reader (``_Reader``) and
# the code of the same step in the single-pass reader (``_read_fast``).
_DATA_SEGMENTS: dict[tuple[str, str], tuple[str, int]] = {
    ("HDR", "BHT"): ("h_bht", 1),
    ("2000A", "PRV"): ("h_prv", 2),
    ("2010AA", "N3"): ("h_bp_n3", 3),
    ("2010AA", "N4"): ("h_bp_n4", 4),
    ("2010AA", "REF"): ("h_bp_ref", 5),
    ("2000B", "SBR"): ("h_sbr", 6),
    ("2010BA", "DMG"): ("h_sub_dmg", 7),
    ("2010CA", "DMG"): ("h_pat_dmg", 8),
    ("2300", "HI"): ("h_hi", 9),
    ("2300", "REF"): ("h_clm_ref", 10),
    ("2300", "DTP"): ("h_clm_dtp", 11),
    ("2310C", "N3"): ("h_fac_n3", 12),
    ("2310C", "N4"): ("h_fac_n4", 13),
    ("2400", "DTP"): ("h_line_dtp", 14),
    ("2400", "REF"): ("h_line_ref", 15),
}


class _Reader:
    def __init__(self, tok: Tokens) -> None:
        self.tok = tok
        self.file = tok.file
        self.comp = tok.delimiters.component
        self.out = Read837(warnings=list(tok.warnings))
        self.alt_warned: set[str] = set()
        self.hi_warned = False
        self.ptr_warned = False
        self.dirty = False
        self.build_tables()

    def build_tables(self) -> None:
        """Per loop: segment ID -> (position, data handler or None), for the segments that stay in the
        loop (loop starters such as HL, CLM, NM1, LX take the slow path). The hot loop only looks here."""
        handlers: dict[tuple[str, str], _Handler] = {
            key: getattr(self, name) for key, (name, _code) in _DATA_SEGMENTS.items()
        }
        tables: dict[str, dict[str, tuple[int, _Handler | None]]] = {}
        for loop, members in LOOP_SEGMENTS.items():
            starters = _STARTERS[FAMILY_OF[loop]]
            tables[loop] = {
                sid: (pos, handlers.get((loop, sid)))
                for sid, pos in members.items()
                if sid not in starters and not (loop == "2400" and sid == "SV1")
            }
        tables[_AFTER_LX] = {"SV1": (2, self.h_sv1)}  # right after LX only SV1 may come
        self.tables = tables
        self.fast = tables["HDR"]

    def release(self) -> None:
        """Drop the tokens and the handler tables (they hold bound methods: a reference cycle)."""
        self.tables = {}
        self.fast = {}
        self.tok.segments = []

    # -- composites ---------------------------------------------------------------------------
    def split(self, i: int, value: str) -> list[str]:
        """Split a composite element. Some senders use another separator than the ISA16 they declare
        (e.g. ``HC>99213`` with ISA16 ``:``); when the declared one is absent and a usual alternative is
        present, the alternative is used and a warning is recorded once per file."""
        comp = self.comp
        if comp in value:
            return value.split(comp)
        for alt in _ALT_COMPONENT:
            if alt in value and alt != comp:
                if alt not in self.alt_warned:
                    self.alt_warned.add(alt)
                    self.warn(
                        i,
                        f"composite {value!r} uses {alt!r} although ISA16 declares {comp!r}; read with {alt!r}",
                    )
                return value.split(alt)
        return [value]

    # -- errors -------------------------------------------------------------------------------
    def err(self, i: int, msg: str) -> InputError:
        return self.tok.error(i, msg)

    def fail(self, i: int, msg: str) -> None:
        """Record an error at segment index ``i`` against the unit the current loop belongs to."""
        fam = FAMILY_OF[self.loop]
        e = self.err(i, msg)
        self.dirty = True
        self.fast = _EMPTY
        if fam == "hdr":
            raise e
        if fam in ("claim", "cob", "line") and self.claim is not None:
            if self.claim.error is None:
                self.claim.error = e
            self.skip = _SKIP_CLAIM
            return
        ctx = self.bp if fam in ("A", "claim", "cob", "line") else self.sub if fam == "B" else self.pat
        if ctx is None:
            raise e
        if ctx.error is None:
            ctx.error = e
            self.bad_ctx.append(ctx)
        self.skip = _SKIP_HL

    def ctx_fail(self, ctx: _Ctx, i: int, msg: str) -> None:
        if ctx.error is None:
            ctx.error = self.err(i, msg)
            self.bad_ctx.append(ctx)

    def warn(self, i: int, msg: str) -> None:
        self.out.warnings.append(self.err(i, msg))

    # -- loop bookkeeping ---------------------------------------------------------------------
    def reset_families(self, *fams: str) -> None:
        for f in fams:
            self.fam_order[f] = -1
            self.fam_counts[f] = {}

    def start_loop(self, loop: str, i: int) -> bool:
        self.close_loop()
        fam, order, maxrep = LOOP_INFO[loop]
        last = self.fam_order[fam]
        counts = self.fam_counts[fam]
        if order < last:
            prev = next(k for k, v in LOOP_INFO.items() if v[0] == fam and v[1] == last)
            self.loop = loop
            self.fail(
                i,
                f"loop {loop} ({LOOP_NAMES[loop]}) is out of order: it must come before loop {prev} "
                f"({LOOP_NAMES[prev]})",
            )
            return False
        n = counts.get(loop, 0) + 1
        if n > maxrep:
            self.loop = loop
            times = "once" if maxrep == 1 else f"{maxrep} times"
            self.fail(i, f"loop {loop} ({LOOP_NAMES[loop]}) may appear only {times} here")
            return False
        counts[loop] = n
        self.fam_order[fam] = order
        self.set_loop(loop)
        return True

    def set_loop(self, loop: str, table: str | None = None) -> None:
        self.loop = loop
        self.fast = self.tables[table or loop]
        self.pos = 1
        self.dirty = True

    def close_loop(self) -> None:
        loop = self.loop
        if loop == "2010AA" and self.bp is not None and self.bp.error is None:
            if not (self.bp.n3 and self.bp.n4):
                missing = "N3 (address)" if not self.bp.n3 else "N4 (city, state, ZIP)"
                self.ctx_fail(self.bp, self.bp.aa_index, f"billing provider loop 2010AA has no {missing}")
        elif (
            loop == "2310C"
            and self.claim is not None
            and self.claim.error is None
            and not (self.claim.fac_n3 and self.claim.fac_n4)
        ):
            missing = "N3 (address)" if not self.claim.fac_n3 else "N4 (city, state, ZIP)"
            self.claim.error = self.err(self.claim.fac_index, f"service facility loop 2310C has no {missing}")

    # -- main ---------------------------------------------------------------------------------
    def read(self) -> Read837:
        segs = self.tok.segments
        for tr in self.tok.transactions:
            if tr.type != "837" or not tr.version.startswith("005010X222"):
                raise self.err(
                    tr.start,
                    f"expected an 837P claim transaction (ST01 837, version 005010X222A1); found ST01 "
                    f"{tr.type!r}, version {tr.version!r}",
                )
            self.read_transaction(segs, tr.start, tr.end)
        out = self.out
        if not out.claims:
            if out.problems:
                first = out.problems[0]
                more = len(out.problems) - 1
                suffix = f" ({more} more problem{'s' if more != 1 else ''} in this file)" if more else ""
                raise InputError(first.file, first.place, f"no claim could be read: {first.expected}{suffix}")
            raise InputError(self.file, None, "the 837P holds no claim (CLM)")
        return out

    def read_transaction(self, segs: list[list[str]], start: int, end: int) -> None:
        self.fam_order: dict[str, int] = {}
        self.fam_counts: dict[str, dict[str, int]] = {}
        self.reset_families("hdr", "A", "B", "C", "claim", "cob", "line")
        self.fam_order["hdr"] = 0
        self.bp: _Ctx | None = None
        self.sub: _Ctx | None = None
        self.pat: _Ctx | None = None
        self.claim: _Claim | None = None
        self.bad_ctx: list[_Ctx] = []
        self.skip = _SKIP_NONE
        self.hdr = {"BHT": False, "1000A": False, "1000B": False}
        self.set_loop("HDR")
        self.pos = 0
        fast = self.fast
        pos_now = 0
        self.dirty = False
        slow = self.slow
        for i in range(start + 1, end - 1):
            seg = segs[i]
            ent = fast.get(seg[0])  # while skipping, ``fast`` is empty
            if ent is not None:
                if ent[0] >= pos_now:
                    # fast path: a segment of the current loop, in order
                    pos_now = ent[0]
                    h = ent[1]
                    if h is not None:
                        h(i, seg)
                        if self.dirty:
                            self.dirty = False
                            fast = self.fast
                            pos_now = self.pos
                    continue
            elif self.skip:
                sid = seg[0]
                if sid == "HL":
                    self.skip = _SKIP_NONE
                elif sid == "CLM":
                    if self.skip == _SKIP_CLAIM:
                        self.skip = _SKIP_NONE
                    else:
                        self.orphan_claim(i, seg)
                        continue
                else:
                    continue
            self.pos = pos_now
            slow(i, seg, seg[0])
            self.dirty = False
            fast = self.fast
            pos_now = self.pos
        self.finish_claim()
        if self.skip == _SKIP_NONE:
            self.close_loop()
        self.skip = _SKIP_NONE
        for ctx in self.bad_ctx:
            if not ctx.reported and ctx.error is not None:
                self.out.problems.append(ctx.error)

    def slow(self, i: int, seg: list[str], sid: str) -> None:
        """Loop starters, and segments the fast path refused (misplaced, out of order, repeated)."""
        fam = FAMILY_OF[self.loop]
        if sid == "HL":
            if fam == "hdr":
                missing = [k for k, v in self.hdr.items() if not v]
                if missing:
                    what = {
                        "BHT": "BHT (beginning of hierarchical transaction)",
                        "1000A": "loop 1000A (NM1*41 submitter)",
                        "1000B": "loop 1000B (NM1*40 receiver)",
                    }
                    raise self.err(
                        i, "missing " + ", ".join(what[m] for m in missing) + " before the first HL"
                    )
            self.finish_claim()
            self.hl(i, seg)
            return
        if sid == "CLM":
            self.finish_claim()
            if fam not in ("B", "C", "claim", "cob", "line") or self.sub is None:
                self.fail(i, "CLM must follow a subscriber (HL*22) or patient (HL*23) level")
                return
            self.close_loop()
            self.reset_families("claim", "cob", "line")
            assert self.bp is not None
            self.claim = _Claim(i, self.bp, self.sub, self.pat)
            self.set_loop("2300")
            self.fam_order["claim"] = 0
            self.fam_counts["claim"]["2300"] = 1
            self.clm(i, seg)
            return
        in_claim = fam == "claim" or fam == "cob" or fam == "line"
        if sid == "NM1":
            q = _el(seg, 1)
            loop = NM1_START.get(fam, {}).get(q)
            if loop is None:
                self.fail(i, f"NM1*{q} is not expected in loop {self.loop} ({LOOP_NAMES[self.loop]})")
                return
            if len(seg) < 3 or seg[2] not in ("1", "2"):
                self.fail(i, "NM102 (entity type: 1 person, 2 organization) is required")
                return
            if in_claim:
                self.line_done_check(i)
                if self.skip:
                    return
            if self.start_loop(loop, i):
                self.nm1_data(loop, i, seg)
            return
        if sid == "LX" and in_claim:
            self.line_done_check(i)
            if self.skip:
                return
            self.close_loop()
            self.reset_families("line")
            if self.start_loop("2400", i):
                assert self.claim is not None
                self.claim.line = {"lx_index": i}
                self.claim.lines.append(self.claim.line)
                self.fast = self.tables[_AFTER_LX]
            return
        if sid == "SBR" and (fam == "claim" or fam == "cob"):
            self.close_loop()
            self.reset_families("cob")
            self.start_loop("2320", i)
            return
        if fam == "line" and sid in ("LIN", "SVD", "LQ"):
            self.line_done_check(i)
            if not self.skip:
                self.start_loop({"LIN": "2410", "SVD": "2430", "LQ": "2440"}[sid], i)
            return
        loop = self.loop
        if loop == "2400":
            if self.fast is self.tables[_AFTER_LX]:
                self.fail(i, "SV1 (professional service) must follow LX")
                return
            if sid == "SV1":
                self.fail(i, "only one SV1 per service line (LX)")
                return
        pos = LOOP_SEGMENTS[loop].get(sid)
        if pos is None:
            self.fail(
                i, f"{sid} is not expected in loop {loop} ({LOOP_NAMES[loop]}): misplaced or out of order"
            )
        else:
            self.fail(i, f"{sid} is out of order in loop {loop} ({LOOP_NAMES[loop]})")

    def nm1_data(self, loop: str, i: int, seg: list[str]) -> None:
        """What the reader keeps from the NM1 that opened ``loop``."""
        if loop == "1000A" or loop == "1000B":
            self.hdr[loop] = True
            if not _el(seg, 3) or not _el(seg, 9):
                raise self.err(i, f"NM1*{seg[1]} needs NM103 (name) and NM109 (identifier)")
        elif loop == "2010AA":
            bp = self.bp
            assert bp is not None
            bp.aa_index = i
            bp.name = _el(seg, 3).strip() or None
            bp.npi = _el(seg, 9).strip() or None
            if not bp.npi:
                self.fail(i, "billing provider NM109 (NPI) is required")
        elif loop == "2010BA":
            sub = self.sub
            assert sub is not None
            sub.loops.add("2010BA")
            sub.last = _el(seg, 3).strip() or None
            sub.first = _el(seg, 4).strip() or None
            sub.member_id = _el(seg, 9).strip() or None
            if not sub.last:
                self.fail(i, "subscriber NM103 (last name) is required")
            elif not sub.member_id:
                self.fail(i, "subscriber NM109 (member ID) is required")
        elif loop == "2010BB":
            sub = self.sub
            assert sub is not None
            sub.loops.add("2010BB")
            sub.payer_id = _el(seg, 9).strip() or None
            sub.payer_name = _el(seg, 3).strip() or None
            if not sub.payer_id:
                self.fail(i, "payer NM109 (payer identifier) is required")
        elif loop == "2010CA":
            pat = self.pat
            assert pat is not None
            pat.loops.add("2010CA")
            pat.last = _el(seg, 3).strip() or None
            pat.first = _el(seg, 4).strip() or None
            if not pat.last:
                self.fail(i, "patient NM103 (last name) is required")
        elif loop == "2310B":
            claim = self.claim
            assert claim is not None
            claim.rendering_npi = _el(seg, 9).strip() or None
            claim.rendering_name = (
                " ".join(p.strip() for p in (_el(seg, 4), _el(seg, 3)) if p.strip()) or None
            )
        elif loop == "2310C":
            assert self.claim is not None
            self.claim.fac_index = i

    # -- fast-path data handlers --------------------------------------------------------------
    def h_bht(self, i: int, seg: list[str]) -> None:
        self.hdr["BHT"] = True

    def h_prv(self, i: int, seg: list[str]) -> None:
        if _el(seg, 1) == "BI" and _el(seg, 3) == ASC_TAXONOMY:
            assert self.bp is not None
            self.bp.kind = "asc"

    def h_bp_n3(self, i: int, seg: list[str]) -> None:
        assert self.bp is not None
        self.bp.n3 = True

    def h_bp_n4(self, i: int, seg: list[str]) -> None:
        bp = self.bp
        assert bp is not None
        bp.n4 = True
        st = _el(seg, 2)
        if st in _STATES_OK:
            bp.state = st
        else:
            self.warn(i, f"billing provider state {st!r} is not a US state code; practice state left unknown")

    def h_bp_ref(self, i: int, seg: list[str]) -> None:
        bp = self.bp
        assert bp is not None
        if _el(seg, 1) in ("EI", "SY"):
            if bp.tax_id is not None:
                self.fail(
                    i, "billing provider loop 2010AA may hold only one tax identification REF (EI or SY)"
                )
                return
            bp.tax_id = _el(seg, 2).strip() or None

    def h_sbr(self, i: int, seg: list[str]) -> None:
        sub = self.sub
        assert sub is not None
        sub.sbr = True
        sub.plan = PLAN_BY_SBR09.get(_el(seg, 9), "commercial")

    def h_sub_dmg(self, i: int, seg: list[str]) -> None:
        assert self.sub is not None
        self.dmg(i, seg, self.sub)

    def h_pat_dmg(self, i: int, seg: list[str]) -> None:
        assert self.pat is not None
        self.dmg(i, seg, self.pat)

    def h_hi(self, i: int, seg: list[str]) -> None:
        assert self.claim is not None
        self.hi(i, seg, self.claim, self.comp)

    def h_clm_ref(self, i: int, seg: list[str]) -> None:
        if _el(seg, 1) == "G1":
            assert self.claim is not None
            self.claim.auth = _el(seg, 2).strip() or None

    def h_clm_dtp(self, i: int, seg: list[str]) -> None:
        if _el(seg, 1) == "472":
            d = self.dtp_date(i, seg)
            if d is not None:
                assert self.claim is not None
                self.claim.dates.append(d)

    def h_fac_n3(self, i: int, seg: list[str]) -> None:
        assert self.claim is not None
        self.claim.fac_n3 = True

    def h_fac_n4(self, i: int, seg: list[str]) -> None:
        claim = self.claim
        assert claim is not None
        claim.fac_n4 = True
        st = _el(seg, 2)
        if st in _STATES_OK:
            claim.facility_state = st
        else:
            self.warn(
                i,
                f"service facility state {st!r} is not a US state code; the billing provider's state is used",
            )

    def h_sv1(self, i: int, seg: list[str]) -> None:
        claim = self.claim
        assert claim is not None and claim.line is not None
        self.sv1(i, seg, claim.line)
        if not self.skip:
            self.fast = self.tables["2400"]
            self.pos = 2
            self.dirty = True

    def h_line_dtp(self, i: int, seg: list[str]) -> None:
        if len(seg) > 1 and seg[1] == "472":
            d = self.dtp_date(i, seg)
            if d is not None:
                self.claim.line["date"] = d  # type: ignore[union-attr,index]

    def h_line_ref(self, i: int, seg: list[str]) -> None:
        q = seg[1] if len(seg) > 1 else ""
        if q == "6R":
            self.claim.line["control"] = _el(seg, 2).strip() or None  # type: ignore[union-attr,index]
        elif q == "G1":
            self.claim.line["auth"] = _el(seg, 2).strip() or None  # type: ignore[union-attr,index]

    # -- hierarchical levels ------------------------------------------------------------------
    def hl(self, i: int, seg: list[str]) -> None:
        level = _el(seg, 3)
        self.close_loop()
        if level == "20":
            self.reset_families("A", "B", "C", "claim", "cob", "line")
            self.bp = _Ctx(i)
            self.sub = self.pat = None
            self.set_loop("2000A")
        elif level == "22":
            if self.bp is None:
                self.set_loop("2000A")
                self.fail(i, "subscriber level HL*22 before any billing provider level HL*20")
                return
            self.reset_families("B", "C", "claim", "cob", "line")
            self.sub = _Ctx(i)
            self.pat = None
            self.set_loop("2000B")
        elif level == "23":
            if self.sub is None:
                self.set_loop("2000A" if self.bp is not None else "HDR")
                self.fail(i, "patient level HL*23 before any subscriber level HL*22")
                return
            self.reset_families("C", "claim", "cob", "line")
            self.pat = _Ctx(i)
            self.set_loop("2000C")
        else:
            if self.loop == "HDR" or self.bp is None:
                raise self.err(i, f"HL03 level code {level!r}: expected 20 (billing provider)")
            self.fail(i, f"HL03 level code {level!r}: expected 20, 22 or 23")
            return
        self.fam_order[FAMILY_OF[self.loop]] = 0

    def orphan_claim(self, i: int, seg: list[str]) -> None:
        """A CLM under a billing provider, subscriber or patient level that could not be read."""
        for ctx in (self.bp, self.sub, self.pat):
            if ctx is not None and ctx.error is not None:
                ctx.reported = True
                e = ctx.error
                self.out.problems.append(InputError(e.file, e.place, f"claim {_el(seg, 1)!r}: {e.expected}"))
                return

    def dmg(self, i: int, seg: list[str], ctx: _Ctx) -> None:
        if _el(seg, 1) != "D8":
            self.fail(i, f"DMG01 must be D8, found {_el(seg, 1)!r}")
            return
        d = parse_d8(_el(seg, 2))
        if d is None:
            self.fail(i, f"DMG02 date of birth {_el(seg, 2)!r} is not a valid CCYYMMDD date")
            return
        ctx.dob = d
        sex = _el(seg, 3)
        if sex:
            if sex not in _SEX:
                self.fail(i, f"DMG03 sex {sex!r}: expected F, M or U")
                return
            ctx.sex = sex

    # -- claim --------------------------------------------------------------------------------
    def clm(self, i: int, seg: list[str]) -> None:
        claim = self.claim
        assert claim is not None
        claim.id = _el(seg, 1).strip()
        if not claim.id:
            self.fail(i, "CLM01 (patient control number) is required")
            return
        if _num(_el(seg, 2)) is None:
            self.fail(i, f"CLM02 total charge {_el(seg, 2)!r} is not a number")
            return
        c5 = self.split(i, _el(seg, 5))
        if not c5[0]:
            self.fail(
                i,
                f"CLM05-1 place of service is required (CLM05 e.g. 11{self.comp}B{self.comp}1), "
                f"found {_el(seg, 5)!r}",
            )
            return
        if not (len(c5[0]) == 2 and c5[0].isdigit()):
            self.fail(i, f"CLM05-1 place of service {c5[0]!r}: expected a two-digit CMS code")
            return
        claim.pos = c5[0]

    def hi(self, i: int, seg: list[str], claim: _Claim, comp: str) -> None:
        n = 0
        while n + 1 < len(seg):
            n += 1
            el = seg[n]
            if not el:
                continue
            parts = self.split(i, el)
            if (
                len(parts) == 1
                and parts[0] in _DX_QUALIFIERS
                and n + 1 < len(seg)
                and seg[n + 1]
                and seg[n + 1] not in _DX_QUALIFIERS
                and len(self.split(i, seg[n + 1])) == 1
            ):
                # Qualifier and code written as two elements (HI*BK*8901): read them as one composite.
                if not self.hi_warned:
                    self.hi_warned = True
                    self.warn(
                        i,
                        f"HI writes qualifier and code as separate elements ({el}{self.tok.delimiters.element}"
                        f"{seg[n + 1]}); read as {el}{comp}{seg[n + 1]}",
                    )
                parts = [el, seg[n + 1]]
                n += 1
            q = parts[0]
            principal = _DX_QUALIFIERS.get(q)
            if principal is None:
                if n == 1 and not claim.diagnoses:
                    self.fail(i, f"HI01-1 {q!r}: the first diagnosis must be ABK (ICD-10-CM principal) or BK")
                    return
                return  # another HI type (condition, anesthesia ...): not diagnoses
            if len(parts) < 2 or not parts[1]:
                self.fail(i, f"HI{n:02d} diagnosis code is missing after qualifier {q}")
                return
            if principal != (not claim.diagnoses):
                if principal:
                    self.fail(i, f"HI{n:02d} {q}: only the first diagnosis may be the principal (ABK/BK)")
                else:
                    self.fail(i, f"HI{n:02d} {q}: the first diagnosis must be the principal (ABK/BK)")
                return
            code = parts[1].replace(".", "").upper()
            if not code.isalnum() or not 3 <= len(code) <= 7:
                self.fail(i, f"HI{n:02d} diagnosis code {parts[1]!r} is not an ICD-10-CM code")
                return
            claim.diagnoses.append(format_diagnosis(code))
            claim.hi = True
        if len(claim.diagnoses) > 12:
            self.fail(i, "an 837P claim may hold at most 12 diagnoses")

    def sv1(self, i: int, seg: list[str], line: dict[str, object]) -> None:
        comp = self.comp
        if len(seg) < 8:
            seg = seg + [""] * (8 - len(seg))
        c1 = self.split(i, seg[1])
        if c1[0] not in _PROC_QUALIFIERS or len(c1) < 2 or not c1[1]:
            self.fail(i, f"SV101 must be HC{comp}procedure code[{comp}modifier...], found {seg[1]!r}")
            return
        code = c1[1].strip().upper()
        if not code.isalnum():
            self.fail(i, f"SV101-2 procedure code {c1[1]!r} is not a CPT/HCPCS code")
            return
        mods = [m.strip().upper() for m in c1[2:6] if m.strip()]
        for m in mods:
            if len(m) != 2 or not m.isalnum():
                self.fail(i, f"SV101 modifier {m!r}: expected two letters or digits")
                return
        charge = _num(seg[2])
        if charge is None:
            self.fail(i, f"SV102 line charge {seg[2]!r} is not a number")
            return
        unit_type = seg[3]
        if unit_type not in ("UN", "MJ"):
            self.fail(i, f"SV103 unit basis {unit_type!r}: expected UN (units) or MJ (minutes)")
            return
        units = _num(seg[4])
        if units is None or units < 0:
            self.fail(i, f"SV104 service unit count {seg[4]!r} is not a number")
            return
        pos = seg[5]
        if pos and not (len(pos) == 2 and pos.isdigit()):
            self.fail(i, f"SV105 place of service {pos!r}: expected a two-digit CMS code")
            return
        ptrs_raw = seg[7]
        if not ptrs_raw:
            self.fail(i, "SV107 diagnosis code pointer is required")
            return
        ptrs: list[int] = []
        for p in self.split(i, ptrs_raw):
            if not p:
                continue
            if not (p.isascii() and p.isdigit()):
                f = _num(p) if p.isascii() else None  # float() would read other scripts' digits too
                if f is None or not f.is_integer():
                    self.fail(i, f"SV107 diagnosis pointer {p!r}: expected a number from 1 to 12")
                    return
                if not self.ptr_warned:
                    self.ptr_warned = True
                    self.warn(i, f"SV107 diagnosis pointer {p!r} written as a decimal; read as {int(f)}")
                p = str(int(f))
            if len(p) > 4 or not 1 <= int(p) <= 12:  # int() of thousands of digits raises
                self.fail(i, f"SV107 diagnosis pointer {p[:12]!r}: expected a number from 1 to 12")
                return
            ptrs.append(int(p))
        if not ptrs or len(ptrs) > 4:
            self.fail(i, "SV107 must hold 1 to 4 diagnosis pointers")
            return
        line["SV1"] = i
        line["code"] = code
        line["modifiers"] = mods
        line["charge"] = charge
        line["units"] = units
        line["pos"] = pos or None
        line["pointers"] = ptrs

    def dtp_date(self, i: int, seg: list[str]) -> date | None:
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
            self.fail(i, f"DTP02 date format {fmt!r}: expected D8 or RD8")
            return None
        if d is None:
            self.fail(
                i, f"DTP03 {value!r} is not a valid {'CCYYMMDD' if fmt == 'D8' else 'CCYYMMDD-CCYYMMDD'} date"
            )
        return d

    def line_done_check(self, i: int) -> None:
        """Called before a new loop in the claim: the current service line must be complete."""
        claim = self.claim
        if claim is None or claim.line is None or self.loop != "2400":
            return
        if "SV1" not in claim.line:
            self.fail(i, "SV1 (professional service) must follow LX")

    def finish_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = None
        if self.skip != _SKIP_CLAIM:
            self.close_loop()
        err = None
        for ctx in (claim.bp, claim.sub, claim.pat):
            if ctx is not None and ctx.error is not None:
                ctx.reported = True
                err = ctx.error
                break
        if err is None:
            err = claim.error or self.claim_required(claim)
        if err is not None:
            self.out.problems.append(InputError(err.file, err.place, f"claim {claim.id!r}: {err.expected}"))
            return
        self.out.claims.append(self.build(claim))

    def claim_required(self, claim: _Claim) -> InputError | None:
        bp, sub, pat = claim.bp, claim.sub, claim.pat
        if bp.aa_index < 0:
            self.ctx_fail(bp, bp.hl_index, "billing provider loop 2010AA (NM1*85) is missing")
            bp.reported = True
            return bp.error
        if sub is not None:
            for loop, what in (
                ("2010BA", "subscriber name loop 2010BA (NM1*IL)"),
                ("2010BB", "payer name loop 2010BB (NM1*PR)"),
            ):
                if loop not in sub.loops:
                    self.ctx_fail(sub, sub.hl_index, f"{what} is missing")
                    sub.reported = True
                    return sub.error
            if not sub.sbr:
                self.ctx_fail(sub, sub.hl_index, "SBR (subscriber information) is missing")
                sub.reported = True
                return sub.error
        if pat is not None and "2010CA" not in pat.loops:
            self.ctx_fail(pat, pat.hl_index, "patient name loop 2010CA (NM1*QC) is missing")
            pat.reported = True
            return pat.error
        if not claim.hi:
            return self.err(claim.index, "HI (diagnoses, ABK principal) is required in loop 2300")
        if not claim.lines:
            return self.err(claim.index, "the claim has no service line (LX/SV1)")
        for ln in claim.lines:
            if "SV1" not in ln:
                return self.err(int(ln["lx_index"]), "SV1 (professional service) must follow LX")  # type: ignore[call-overload]
            if "date" not in ln and not claim.dates:
                return self.err(int(ln["SV1"]), "DTP*472 (service date) is required for every service line")  # type: ignore[call-overload]
        return None

    def build(self, claim: _Claim) -> Encounter:
        """The Encounter for a claim that passed every check. Values are already normalised and
        validated here (codes upper-case, dates parsed, states checked), so the models are built without
        a second validation (``_constructor``): it keeps the reader fast on large files. The tests check
        that every model built this way validates unchanged."""
        bp, sub, pat = claim.bp, claim.sub, claim.pat
        assert sub is not None
        who = pat if pat is not None else sub
        lines: list[Line] = []
        dates = list(claim.dates)
        construct = _new_line
        for ln in claim.lines:
            d = ln.get("date")
            if d is not None:
                dates.append(d)  # type: ignore[arg-type]
            lines.append(
                construct(
                    code=ln["code"],
                    modifiers=ln["modifiers"],
                    units=ln["units"],
                    diagnosis_pointers=ln["pointers"],
                    date_of_service=d,
                    place_of_service=ln["pos"],
                    authorization_number=ln.get("auth"),
                    charge=ln["charge"],
                    control_number=ln.get("control"),
                )
            )
        return _new_encounter(
            schema_=ENCOUNTER_SCHEMA,
            encounter_id=claim.id,
            practice=_new_practice(
                id=None,
                name=bp.name,
                npi=bp.npi,
                tax_id=bp.tax_id,
                kind=bp.kind,
                state=claim.facility_state or bp.state,
            ),
            rendering_provider=_new_provider(
                npi=claim.rendering_npi or bp.npi, name=claim.rendering_name or bp.name
            ),
            patient=_new_patient(
                id=None,
                member_id=sub.member_id,
                last_name=who.last,
                first_name=who.first,
                dob=who.dob,
                sex=who.sex,
            ),
            payer=_new_payer(id=sub.payer_id or "", plan=sub.plan, state=None, name=sub.payer_name),
            date_of_service=min(dates),
            place_of_service=claim.pos,
            diagnoses=claim.diagnoses,
            evaluation=None,
            procedures=[],
            drugs=[],
            documentation=_new_documentation(
                conservative_care_weeks=None, indication=None, psych_evaluation=None
            ),
            authorization_number=claim.auth,
            lines=lines,
        )


# -- single pass ----------------------------------------------------------------------------------
# ``_read_fast`` reads a file in one pass over the segments, with the loop state in local variables
# and integer codes instead of handler calls: it splits every segment once, checks the envelopes as
# ``tokenize`` does, follows the loops with the same tables (LOOP_SEGMENTS, LOOP_INFO, NM1_START,
# _STARTERS) and builds the Encounters directly. It only handles what reads cleanly: at the first
# thing the full reader would report (an error, a problem, a reader warning) or that it does not
# model, it gives up (``_Bail``) and ``read_837`` reads the file again with ``tokenize`` + ``_Reader``,
# which therefore decides every message. Envelope count warnings (SE01/GE01/IEA01) are the only
# notes it produces itself, with the messages ``tokenize`` uses.


class _Bail(Exception):
    pass


# Codes 1-16: segments of the current loop (1-15: _DATA_SEGMENTS, 16: the SV1 right after LX, 0: kept
# for order only). 20 and up: segments that start a loop or end the claim or the transaction.
_F_SV1 = 16
_F_NM1, _F_LX, _F_SBR, _F_SUBLOOP, _F_HL, _F_CLM, _F_SE = 20, 21, 22, 23, 24, 25, 26
_F_ISA, _F_GS, _F_ST, _F_GE, _F_IEA = 30, 31, 32, 33, 34
_ENV_TABLE: dict[str, tuple[int, int]] = {
    "ISA": (0, _F_ISA),
    "GS": (0, _F_GS),
    "ST": (0, _F_ST),
    "GE": (0, _F_GE),
    "IEA": (0, _F_IEA),
}
_SUBLOOPS = {"LIN": "2410", "SVD": "2430", "LQ": "2440"}
# Loops whose end is checked (close_loop): 1 billing provider 2010AA, 2 service facility 2310C.
_CLOSE = {"2010AA": 1, "2310C": 2}
# What the reader keeps from the NM1 that opens a loop (nm1_data).
_NM1_DATA = {
    "1000A": 1,
    "1000B": 2,
    "2010AA": 3,
    "2010BA": 4,
    "2010BB": 5,
    "2010CA": 6,
    "2310B": 7,
    "2310C": 8,
}
_CLAIM_FAMILIES = ("claim", "cob", "line")
_EMPTY_MAP: dict[str, str] = {}


class _Loop:
    """A loop for the single pass: its segment table and where it sits in its family."""

    __slots__ = ("close", "fam", "maxrep", "name", "nm1", "nm1_data", "order", "table")

    def __init__(self, name: str, table: dict[str, tuple[int, int]]) -> None:
        self.name = name
        self.table = table
        self.fam, self.order, self.maxrep = LOOP_INFO[name]
        self.close = _CLOSE.get(name, 0)
        self.nm1 = NM1_START.get(self.fam, _EMPTY_MAP)
        self.nm1_data = _NM1_DATA.get(name, 0)


def _fast_loops() -> dict[str, _Loop]:
    # The family bookkeeping keeps only the last loop's order and count: that is exact when no two
    # loops of a family share an order (checked here; otherwise the single pass is not used).
    seen: set[tuple[str, int]] = set()
    for fam, order, _max in LOOP_INFO.values():
        if (fam, order) in seen:
            return {}
        seen.add((fam, order))
    for fam, starts in NM1_START.items():
        if any(FAMILY_OF[target] != fam for target in starts.values()):
            return {}  # an NM1 opening a loop of another family: not modelled by the single pass
    loops: dict[str, _Loop] = {}
    for name, members in LOOP_SEGMENTS.items():
        fam = FAMILY_OF[name]
        starters = _STARTERS[fam]
        table = {
            sid: (pos, _DATA_SEGMENTS.get((name, sid), ("", 0))[1])
            for sid, pos in members.items()
            if sid not in starters and sid not in ENVELOPE_IDS and not (name == "2400" and sid == "SV1")
        }
        table["NM1"] = (0, _F_NM1)
        table["HL"] = (0, _F_HL)
        table["SE"] = (0, _F_SE)
        if fam in ("B", "C", *_CLAIM_FAMILIES):
            table["CLM"] = (0, _F_CLM)
        if fam in _CLAIM_FAMILIES:
            table["LX"] = (0, _F_LX)
        if fam in ("claim", "cob"):
            table["SBR"] = (0, _F_SBR)
        if fam == "line":
            for sid in _SUBLOOPS:
                table[sid] = (0, _F_SUBLOOP)
        loops[name] = _Loop(name, table)
    return loops


_LOOPS = _fast_loops()
_AFTER_LX_TABLE: dict[str, tuple[int, int]] = {"SV1": (2, _F_SV1)}

_new = object.__new__
_set = object.__setattr__
_FIELDS = {
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
    ],
    Practice: ["id", "name", "npi", "tax_id", "kind", "state"],
    Provider: ["npi", "name"],
    Patient: ["id", "member_id", "last_name", "first_name", "dob", "sex"],
    Payer: ["id", "plan", "state", "name"],
    Documentation: ["conservative_care_weeks", "indication", "psych_evaluation"],
}
# The single pass builds the models with every field given, in field order (what ``_constructor``
# does for the full reader); if a model gains a field, the full reader is used until this is updated.
_FAST_OK = bool(_LOOPS) and all(list(cls.model_fields) == names for cls, names in _FIELDS.items())


def _composite(value: str, comp: str, alts: tuple[str, ...]) -> list[str]:
    """``_Reader.split`` without its warning: a composite written with another separator gives up."""
    if comp in value:
        return value.split(comp)
    for alt in alts:
        if alt in value:
            raise _Bail
    return [value]


def _d8(value: str, cache: dict[str, date]) -> date:
    d = cache.get(value)
    if d is None:
        d = parse_d8(value)
        if d is None:
            raise _Bail
        cache[value] = d
    return d


def _dtp(seg: list[str], cache: dict[str, date]) -> date:
    """``_Reader.dtp_date`` for a date that reads."""
    if len(seg) < 4:
        raise _Bail  # DTP03 empty: not a date
    fmt = seg[2]
    value = seg[3]
    if fmt == "D8":
        return _d8(value, cache)
    if fmt == "RD8":
        a, _, b = value.partition("-")
        d = parse_d8(a)
        end = parse_d8(b)
        if d is None or end is None or end < d:
            raise _Bail
        return d
    raise _Bail


def _dmg(seg: list[str], cache: dict[str, date]) -> tuple[date, str]:
    """``_Reader.dmg`` for a DMG that reads: date of birth and sex ('' when DMG03 is empty)."""
    if len(seg) < 3 or seg[1] != "D8":
        raise _Bail
    d = _d8(seg[2], cache)
    sex = seg[3] if len(seg) > 3 else ""
    if sex and sex not in _SEX:
        raise _Bail
    return d, sex


def _hi(seg: list[str], comp: str, alts: tuple[str, ...], dx: list[str]) -> None:
    """``_Reader.hi`` for an HI that reads: appends the diagnoses to ``dx``."""
    n = 0
    last = len(seg) - 1
    while n < last:
        n += 1
        el = seg[n]
        if not el:
            continue
        parts = _composite(el, comp, alts)
        if (
            len(parts) == 1
            and parts[0] in _DX_QUALIFIERS
            and n < last
            and seg[n + 1]
            and seg[n + 1] not in _DX_QUALIFIERS
            and len(_composite(seg[n + 1], comp, alts)) == 1
        ):
            raise _Bail  # qualifier and code as two elements: the full reader warns
        q = parts[0]
        principal = _DX_QUALIFIERS.get(q)
        if principal is None:
            if n == 1 and not dx:
                raise _Bail
            return
        if len(parts) < 2 or not parts[1] or principal != (not dx):
            raise _Bail
        code = parts[1].replace(".", "").upper()
        if not code.isalnum() or not 3 <= len(code) <= 7:
            raise _Bail
        dx.append(format_diagnosis(code))
    if len(dx) > 12:
        raise _Bail


def _read_fast(text: str, file: str, strict: bool) -> Read837 | None:
    """Read ``text`` in one pass; None when the full reader must read it (see above)."""
    delims, raw = raw_segments(text, file)  # its errors are the ones tokenize would raise first
    try:
        return _single_pass(raw, delims, file, strict)
    except Exception:  # noqa: BLE001 - _Bail, or anything unexpected: the full reader decides
        return None


def _single_pass(raw: list[str], delims: Delimiters, file: str, strict: bool) -> Read837:
    sep = delims.element
    comp = delims.component
    alts = tuple(a for a in _ALT_COMPONENT if a != comp)
    loops = _LOOPS
    after_lx = _AFTER_LX_TABLE
    states = _STATES_OK
    # Parsed values by their text, for values that repeat from claim to claim (immutable results only:
    # the lists a model holds are made fresh for each line).
    d8cache: dict[str, date] = {}
    sv101: dict[str, tuple[str, tuple[str, ...]]] = {}
    sv107: dict[str, tuple[int, ...]] = {}
    float_ = float
    isfinite = math.isfinite
    claims: list[Encounter] = []
    warnings: list[InputError] = []
    new, set_ = _new, _set
    L_, E_, PR_, PV_, PA_, PY_, DOC_ = Line, Encounter, Practice, Provider, Patient, Payer, Documentation
    # every field is given (checked by _FAST_OK), so each model's fields-set is all of its fields
    fs_line, fs_enc, fs_practice, fs_provider, fs_patient, fs_payer, fs_doc = (
        set(_FIELDS[cls]) for cls in (L_, E_, PR_, PV_, PA_, PY_, DOC_)
    )

    # envelope
    isa: list[str] | None = None
    gs: list[str] | None = None
    st: list[str] | None = None
    st_index = groups = sets = 0
    # loop state
    table = _ENV_TABLE
    loop = loops["HDR"]
    pos = cur_order = cur_count = 0
    close = 0
    hdr_bht = hdr_a = hdr_b = False
    # billing provider, subscriber, patient levels
    bp = sub = pat = False
    bp_name = bp_npi = bp_tax = bp_state = None
    bp_kind = "physician"
    bp_n3 = bp_n4 = bp_aa = False
    sub_member = sub_last = sub_first = sub_sex = sub_payer_id = sub_payer_name = None
    sub_dob: date | None = None
    sub_plan = "commercial"
    sub_sbr = sub_ba = sub_bb = False
    pat_last = pat_first = pat_sex = None
    pat_dob: date | None = None
    pat_ca = False
    # claim
    in_claim = False
    c_id = c_pos = ""
    c_auth = c_rnpi = c_rname = c_fstate = None
    c_fn3 = c_fn4 = False
    c_dates: list[date] = []
    c_dx: list[str] = []
    c_lines: list[list[Any]] = []
    line: list[Any] = []

    for i, s in enumerate(raw):
        seg = s.split(sep)
        ent = table.get(seg[0])
        if ent is None:
            raise _Bail
        code = ent[1]
        if code < 20:
            p = ent[0]
            if p < pos:
                raise _Bail
            pos = p
            if code == 0:
                continue
            if code == 15:  # REF in 2400
                q = seg[1] if len(seg) > 1 else ""
                if q == "6R":
                    line[8] = (seg[2] if len(seg) > 2 else "").strip() or None
                elif q == "G1":
                    line[6] = (seg[2] if len(seg) > 2 else "").strip() or None
            elif code == 14:  # DTP in 2400
                if len(seg) > 1 and seg[1] == "472":
                    d = d8cache.get(seg[3]) if len(seg) > 3 and seg[2] == "D8" else None
                    line[4] = d if d is not None else _dtp(seg, d8cache)
            elif code == _F_SV1:
                if len(seg) < 8:
                    seg = seg + [""] * (8 - len(seg))
                proc = sv101.get(seg[1])
                if proc is None:
                    c1 = _composite(seg[1], comp, alts)
                    if c1[0] not in _PROC_QUALIFIERS or len(c1) < 2 or not c1[1]:
                        raise _Bail
                    pcode = c1[1].strip().upper()
                    if not pcode.isalnum():
                        raise _Bail
                    mods_t = tuple(m.strip().upper() for m in c1[2:6] if m.strip())
                    for m in mods_t:
                        if len(m) != 2 or not m.isalnum():
                            raise _Bail
                    proc = sv101[seg[1]] = (pcode, mods_t)
                pcode = proc[0]
                mods = list(proc[1])
                try:
                    charge = float_(seg[2])
                    units = float_(seg[4])
                except ValueError:
                    raise _Bail from None
                if not isfinite(charge) or not isfinite(units) or units < 0 or seg[3] not in ("UN", "MJ"):
                    raise _Bail
                lpos = seg[5]
                if lpos and not (len(lpos) == 2 and lpos.isdigit()):
                    raise _Bail
                ptrs_t = sv107.get(seg[7])
                if ptrs_t is None:
                    ptrs_raw = seg[7]
                    if not ptrs_raw:
                        raise _Bail
                    ptrs_l = []
                    for ptr in _composite(ptrs_raw, comp, alts):
                        if not ptr:
                            continue
                        if not (ptr.isascii() and ptr.isdigit()) or len(ptr) > 4:
                            raise _Bail
                        k = int(ptr)
                        if not 1 <= k <= 12:
                            raise _Bail
                        ptrs_l.append(k)
                    if not ptrs_l or len(ptrs_l) > 4:
                        raise _Bail
                    ptrs_t = sv107[ptrs_raw] = tuple(ptrs_l)
                ptrs = list(ptrs_t)
                # code, modifiers, units, pointers, date, place of service, authorization, charge, control
                line = [pcode, mods, units, ptrs, None, lpos or None, None, charge, None]
                c_lines.append(line)
                table = loop.table
                pos = 2
            elif code == 10:  # REF in 2300
                if len(seg) > 1 and seg[1] == "G1":
                    c_auth = (seg[2] if len(seg) > 2 else "").strip() or None
            elif code == 11:  # DTP in 2300
                if len(seg) > 1 and seg[1] == "472":
                    c_dates.append(_dtp(seg, d8cache))
            elif code == 9:  # HI
                _hi(seg, comp, alts, c_dx)
            elif code == 7:  # DMG in 2010BA
                sub_dob, sex = _dmg(seg, d8cache)
                if sex:
                    sub_sex = sex
            elif code == 8:  # DMG in 2010CA
                pat_dob, sex = _dmg(seg, d8cache)
                if sex:
                    pat_sex = sex
            elif code == 6:  # SBR in 2000B
                sub_sbr = True
                sub_plan = PLAN_BY_SBR09.get(seg[9] if len(seg) > 9 else "", "commercial")
            elif code == 3:
                bp_n3 = True
            elif code == 4:
                bp_n4 = True
                state = seg[2] if len(seg) > 2 else ""
                if state not in states:
                    raise _Bail
                bp_state = state
            elif code == 5:
                if (seg[1] if len(seg) > 1 else "") in ("EI", "SY"):
                    if bp_tax is not None:
                        raise _Bail
                    bp_tax = (seg[2] if len(seg) > 2 else "").strip() or None
            elif code == 2:
                if (seg[1] if len(seg) > 1 else "") == "BI" and (
                    seg[3] if len(seg) > 3 else ""
                ) == ASC_TAXONOMY:
                    bp_kind = "asc"
            elif code == 12:
                c_fn3 = True
            elif code == 13:
                c_fn4 = True
                state = seg[2] if len(seg) > 2 else ""
                if state not in states:
                    raise _Bail
                c_fstate = state
            elif code == 1:
                hdr_bht = True
            else:  # pragma: no cover - every code is handled above
                raise _Bail
            continue

        if code < 30:
            # the current loop ends (close_loop)
            if close == 1:
                if not (bp_n3 and bp_n4):
                    raise _Bail
            elif close == 2 and not (c_fn3 and c_fn4):
                raise _Bail
        if code == _F_NM1:
            q = seg[1] if len(seg) > 1 else ""
            target = loop.nm1.get(q)
            if target is None or len(seg) < 3 or seg[2] not in ("1", "2"):
                raise _Bail
            new_loop = loops[target]
            order = new_loop.order
            if order < cur_order:
                raise _Bail
            if order == cur_order:
                cur_count += 1
                if cur_count > new_loop.maxrep:
                    raise _Bail
            else:
                cur_order = order
                cur_count = 1
            loop = new_loop
            table = loop.table
            pos = 1
            close = loop.close
            what = loop.nm1_data
            if what:
                if len(seg) < 10:
                    seg = seg + [""] * (10 - len(seg))
                if what == 4:
                    sub_ba = True
                    sub_last = seg[3].strip() or None
                    sub_first = seg[4].strip() or None
                    sub_member = seg[9].strip() or None
                    if not sub_last or not sub_member:
                        raise _Bail
                elif what == 7:
                    c_rnpi = seg[9].strip() or None
                    c_rname = " ".join(v.strip() for v in (seg[4], seg[3]) if v.strip()) or None
                elif what == 5:
                    sub_bb = True
                    sub_payer_id = seg[9].strip() or None
                    sub_payer_name = seg[3].strip() or None
                    if not sub_payer_id:
                        raise _Bail
                elif what == 6:
                    pat_ca = True
                    pat_last = seg[3].strip() or None
                    pat_first = seg[4].strip() or None
                    if not pat_last:
                        raise _Bail
                elif what == 3:
                    bp_aa = True
                    bp_name = seg[3].strip() or None
                    bp_npi = seg[9].strip() or None
                    if not bp_npi:
                        raise _Bail
                elif what == 8:
                    pass  # 2310C: its N3 and N4 are checked when it ends
                else:  # 1000A, 1000B
                    if not seg[3] or not seg[9]:
                        raise _Bail
                    if what == 1:
                        hdr_a = True
                    else:
                        hdr_b = True
            continue
        if code == _F_LX:
            loop = loops["2400"]
            cur_order = 0
            cur_count = 1
            table = after_lx
            pos = 1
            close = 0
            continue
        if code == _F_SBR or code == _F_SUBLOOP:
            new_loop = loops["2320" if code == _F_SBR else _SUBLOOPS[seg[0]]]
            order = new_loop.order
            if code == _F_SBR:
                cur_order = 0
                cur_count = 1
            elif order < cur_order:
                raise _Bail
            elif order == cur_order:
                cur_count += 1
                if cur_count > new_loop.maxrep:
                    raise _Bail
            else:
                cur_order = order
                cur_count = 1
            loop = new_loop
            table = loop.table
            pos = 1
            close = 0
            continue

        if code < 30:  # HL, CLM, SE: the claim ends (finish_claim)
            if code == _F_HL and loop.fam == "hdr" and not (hdr_bht and hdr_a and hdr_b):
                raise _Bail
            if in_claim:
                in_claim = False
                if (
                    not bp_aa
                    or not (sub_ba and sub_bb and sub_sbr)
                    or (pat and not pat_ca)
                    or not c_dx
                    or not c_lines
                ):
                    raise _Bail
                dates = list(c_dates)
                lines = []
                for ln in c_lines:
                    d = ln[4]
                    if d is not None:
                        dates.append(d)
                    elif not c_dates:
                        raise _Bail
                    m = new(L_)
                    vals = {
                        "code": ln[0],
                        "modifiers": ln[1],
                        "units": ln[2],
                        "diagnosis_pointers": ln[3],
                        "date_of_service": d,
                        "place_of_service": ln[5],
                        "authorization_number": ln[6],
                        "charge": ln[7],
                        "control_number": ln[8],
                    }
                    set_(m, "__dict__", vals)
                    set_(m, "__pydantic_fields_set__", fs_line.copy())
                    set_(m, "__pydantic_extra__", None)
                    set_(m, "__pydantic_private__", None)
                    lines.append(m)
                practice = new(PR_)
                vals = {
                    "id": None,
                    "name": bp_name,
                    "npi": bp_npi,
                    "tax_id": bp_tax,
                    "kind": bp_kind,
                    "state": c_fstate or bp_state,
                }
                set_(practice, "__dict__", vals)
                set_(practice, "__pydantic_fields_set__", fs_practice.copy())
                set_(practice, "__pydantic_extra__", None)
                set_(practice, "__pydantic_private__", None)
                provider = new(PV_)
                vals = {"npi": c_rnpi or bp_npi, "name": c_rname or bp_name}
                set_(provider, "__dict__", vals)
                set_(provider, "__pydantic_fields_set__", fs_provider.copy())
                set_(provider, "__pydantic_extra__", None)
                set_(provider, "__pydantic_private__", None)
                patient = new(PA_)
                if pat:
                    vals = {
                        "id": None,
                        "member_id": sub_member,
                        "last_name": pat_last,
                        "first_name": pat_first,
                        "dob": pat_dob,
                        "sex": pat_sex,
                    }
                else:
                    vals = {
                        "id": None,
                        "member_id": sub_member,
                        "last_name": sub_last,
                        "first_name": sub_first,
                        "dob": sub_dob,
                        "sex": sub_sex,
                    }
                set_(patient, "__dict__", vals)
                set_(patient, "__pydantic_fields_set__", fs_patient.copy())
                set_(patient, "__pydantic_extra__", None)
                set_(patient, "__pydantic_private__", None)
                payer = new(PY_)
                vals = {"id": sub_payer_id or "", "plan": sub_plan, "state": None, "name": sub_payer_name}
                set_(payer, "__dict__", vals)
                set_(payer, "__pydantic_fields_set__", fs_payer.copy())
                set_(payer, "__pydantic_extra__", None)
                set_(payer, "__pydantic_private__", None)
                doc = new(DOC_)
                vals = {"conservative_care_weeks": None, "indication": None, "psych_evaluation": None}
                set_(doc, "__dict__", vals)
                set_(doc, "__pydantic_fields_set__", fs_doc.copy())
                set_(doc, "__pydantic_extra__", None)
                set_(doc, "__pydantic_private__", None)
                enc = new(E_)
                vals = {
                    "schema_": ENCOUNTER_SCHEMA,
                    "encounter_id": c_id,
                    "practice": practice,
                    "rendering_provider": provider,
                    "patient": patient,
                    "payer": payer,
                    "date_of_service": min(dates),
                    "place_of_service": c_pos,
                    "diagnoses": c_dx,
                    "evaluation": None,
                    "procedures": [],
                    "drugs": [],
                    "documentation": doc,
                    "authorization_number": c_auth,
                    "lines": lines,
                }
                set_(enc, "__dict__", vals)
                set_(enc, "__pydantic_fields_set__", fs_enc.copy())
                set_(enc, "__pydantic_extra__", None)
                set_(enc, "__pydantic_private__", None)
                claims.append(enc)
        if code == _F_HL:
            level = seg[3] if len(seg) > 3 else ""
            if level == "22":
                if not bp:
                    raise _Bail
                sub = True
                pat = False
                sub_member = sub_last = sub_first = sub_sex = sub_payer_id = sub_payer_name = None
                sub_dob = None
                sub_plan = "commercial"
                sub_sbr = sub_ba = sub_bb = False
                loop = loops["2000B"]
            elif level == "23":
                if not sub:
                    raise _Bail
                pat = True
                pat_last = pat_first = pat_sex = None
                pat_dob = None
                pat_ca = False
                loop = loops["2000C"]
            elif level == "20":
                bp = True
                sub = pat = False
                bp_name = bp_npi = bp_tax = bp_state = None
                bp_kind = "physician"
                bp_n3 = bp_n4 = bp_aa = False
                loop = loops["2000A"]
            else:
                raise _Bail
            table = loop.table
            pos = 1
            close = 0
            cur_order = cur_count = 0
        elif code == _F_CLM:
            in_claim = True
            loop = loops["2300"]
            table = loop.table
            pos = 1
            close = 0
            cur_order = 0
            cur_count = 1
            c_auth = c_rnpi = c_rname = c_fstate = None
            c_fn3 = c_fn4 = False
            c_dates = []
            c_dx = []
            c_lines = []
            c_id = (seg[1] if len(seg) > 1 else "").strip()
            if not c_id:
                raise _Bail
            try:
                total = float_(seg[2] if len(seg) > 2 else "")
            except ValueError:
                raise _Bail from None
            if not isfinite(total):
                raise _Bail
            c5 = _composite(seg[5] if len(seg) > 5 else "", comp, alts)
            c_pos = c5[0]
            if not (len(c_pos) == 2 and c_pos.isdigit()):
                raise _Bail
        elif code == _F_SE:
            if len(seg) < 3 or st is None or seg[2] != st[2]:
                raise _Bail
            msg = se_count_problem(seg, i - st_index + 1)
            if msg:
                if strict:
                    raise _Bail
                warnings.append(InputError(file, f"segment {i + 1} (SE)", msg))
            st = None
            sets += 1
            table = _ENV_TABLE
        elif code == _F_ST:
            if gs is None or len(seg) < 3 or not seg[1] or not seg[2]:
                raise _Bail
            version = seg[3] if len(seg) > 3 and seg[3] else (gs[8] if len(gs) > 8 else "")
            if seg[1] != "837" or not version.startswith("005010X222"):
                raise _Bail
            st = seg
            st_index = i
            loop = loops["HDR"]
            table = loop.table
            pos = cur_order = cur_count = 0
            close = 0
            hdr_bht = hdr_a = hdr_b = False
            bp = sub = pat = False
        elif code == _F_GS:
            if isa is None or gs is not None or len(seg) < 9 or not seg[6]:
                raise _Bail
            gs = seg
            sets = 0
        elif code == _F_GE:
            if gs is None or len(seg) < 3 or seg[2] != gs[6]:
                raise _Bail
            msg = ge_count_problem(seg, sets)
            if msg:
                if strict:
                    raise _Bail
                warnings.append(InputError(file, f"segment {i + 1} (GE)", msg))
            gs = None
            groups += 1
        elif code == _F_ISA:
            if isa is not None or (i > 0 and not later_isa_ok(seg, delims)):
                raise _Bail
            isa = seg
            groups = 0
        elif code == _F_IEA:
            if isa is None or gs is not None or len(seg) < 3 or seg[2] != isa[13]:
                raise _Bail
            msg = iea_count_problem(seg, groups)
            if msg:
                if strict:
                    raise _Bail
                warnings.append(InputError(file, f"segment {i + 1} (IEA)", msg))
            isa = None
        else:  # pragma: no cover
            raise _Bail
    if isa is not None or gs is not None or st is not None or not claims:
        raise _Bail
    return Read837(claims=claims, warnings=warnings)


def read_837(text: str, file: str, *, strict: bool = False) -> Read837:
    """Read an 837P interchange. ``strict=True`` refuses SE/GE/IEA count mismatches instead of warning."""
    with no_gc():
        if _FAST_OK:
            fast = _read_fast(text, file, strict)
            if fast is not None:
                return fast
        reader = _Reader(tokenize(text, file, strict=strict))
        try:
            return reader.read()
        finally:
            reader.release()  # free the segment lists before the collector is back on
