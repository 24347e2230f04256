"""835 (005010X221A1) reader: payments, claims, service lines, adjustments and remarks.

Unlike the 837P reader, an error anywhere in an 835 refuses the file: a remittance read in part would
drop money or denials, and every remittance line must be reported. Errors are located as
``segment N (ID)``. Tolerated (with a warning): SE/GE/IEA count mismatches (unless ``strict``),
composites written with another separator than ISA16 declares, and an SVC01 without a procedure code.

One pass over the segments: each segment is split, its envelope checked (``segments.Envelope``, the
rules ``tokenize`` applies) and read into the remittance models as it comes; no list of all segments
is kept. The envelope is checked first: when the reading refuses a segment, the envelope of the whole
file is checked (``tokenize``) and an envelope error anywhere in the file is the one reported, as if
the envelopes had been read before the content. The models are built from values this reader has
already checked and typed (no second validation by pydantic): money is an exact ``Decimal`` read from
the X12 text, quantities are floats, dates are ``date``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from painrcm.errors import InputError
from painrcm.gcpause import no_gc
from painrcm.x12.remit_model import (
    Adjustment,
    ClaimRemark,
    ProviderAdjustment,
    RemitClaim,
    Remittance,
    ServiceLine,
)
from painrcm.x12.segments import (
    ENVELOPE_IDS,
    Envelope,
    check_group,
    describe_transaction,
    new_model,
    raw_segments,
    set_model_dict,
    set_model_extra,
    set_model_fields,
    set_model_private,
    tokenize,
    version_mismatch,
    wrong_transaction,
    x12_decimal,
    x12_money,
)

_NOT_835 = "an 835: painrcm reads 835 remittances (ST01 835, version 005010X221A1)"

_GROUPS = frozenset({"CO", "PR", "OA", "PI", "CR"})
_ALT_COMPONENT = (">", ":", "^", "|", "<", "\\")

# Where the reader is in a transaction set: outside one, right after ST (BPR expected), the header,
# the payer loop (1000A), the payee loop (1000B), a header number (LX), a claim (CLP), a service line
# (SVC), the provider adjustments (PLB).
_NONE, _START, _HDR, _PAYER, _PAYEE, _LX, _CLAIM, _LINE, _PLB = range(9)

# level -> segments allowed at that level (loop starters are handled separately)
_ALLOWED: dict[int, frozenset[str]] = {
    _START: frozenset(),
    _HDR: frozenset({"BPR", "TRN", "CUR", "REF", "DTM"}),
    _PAYER: frozenset({"N2", "N3", "N4", "REF", "PER"}),
    _PAYEE: frozenset({"N2", "N3", "N4", "REF", "RDM"}),
    _LX: frozenset({"TS3", "TS2"}),
    _CLAIM: frozenset({"CAS", "NM1", "MIA", "MOA", "REF", "DTM", "PER", "AMT", "QTY"}),
    _LINE: frozenset({"DTM", "CAS", "REF", "AMT", "QTY", "LQ"}),
    _PLB: frozenset(),
}
_WHERE = {
    _HDR: "the header",
    _PAYER: "the payer loop",
    _PAYEE: "the payee loop",
    _LX: "the header number loop",
    _CLAIM: "a claim (CLP)",
    _LINE: "a service line (SVC)",
    _PLB: "the provider adjustments (PLB)",
}
_AFTER_PAYEE = frozenset({_PAYEE, _LX, _CLAIM, _LINE})

# Models are made from checked values without pydantic's second validation: the object, its field
# values (every field, in declaration order) and the names of the fields the file gave (pydantic's
# ``model_fields_set``: what a validated model would record for the same values).
_new = new_model
_set_dict = set_model_dict
_set_fields = set_model_fields
_set_extra = set_model_extra
_set_private = set_model_private
# Every field of an Adjustment is given: all adjustments share one set of given fields.
_ALL_ADJUSTMENT_FIELDS = set(Adjustment.model_fields)
# A service line's fields given by its SVC; the others (by bit) come from its DTM, REF*6R and AMT*B6.
_LINE_GIVEN = frozenset(ServiceLine.model_fields) - {"date_start", "date_end", "control_number", "allowed"}
_LINE_BITS = (("date_start", 1), ("date_end", 2), ("control_number", 4), ("allowed", 8))
# (the models are frozen: lines with the same given fields share one set)
_LINE_FIELDS = tuple(
    set(_LINE_GIVEN | {name for name, bit in _LINE_BITS if mask & bit}) for mask in range(16)
)
_CLAIM_OPTIONAL = ("member_id", "rendering_npi", "statement_start", "statement_end")
_CLAIM_GIVEN = frozenset(RemitClaim.model_fields) - set(_CLAIM_OPTIONAL)
# A claim's given fields: those of its CLP and those its NM1 and DTM segments gave (by bit: member ID,
# rendering NPI, statement start, statement end); a shared set per case.
_CLAIM_FIELDS = tuple(
    set(_CLAIM_GIVEN | {name for k, name in enumerate(_CLAIM_OPTIONAL) if mask >> k & 1})
    for mask in range(16)
)
_MEMBER_ID, _RENDERING_NPI, _STATEMENT_START, _STATEMENT_END = 1, 2, 4, 8


def _model(cls: type[BaseModel], values: dict[str, Any], given: set[str]) -> Any:
    m = _new(cls)
    _set_dict(m, values)
    _set_fields(m, given)
    _set_extra(m, None)
    _set_private(m, None)
    return m


def _adjustment(values: dict[str, Any]) -> Adjustment:
    m = _new(Adjustment)
    _set_dict(m, values.copy())
    _set_fields(m, _ALL_ADJUSTMENT_FIELDS)
    _set_extra(m, None)
    _set_private(m, None)
    return m  # type: ignore[no-any-return]


# What a segment of a service line does (the first item of its reading; the second is the value):
# one adjustment (its field values), several (a tuple of them), a new line (SVC: the line's field
# values, modifiers, submitted modifiers), the line's start or end date, control number (REF*6R),
# allowed amount (AMT*B6), a remark code (LQ*HE), nothing (other qualifiers, QTY).
_ADJUSTMENT, _ADJUSTMENTS, _SVC, _START_DATE, _END_DATE, _CONTROL, _ALLOWED_AMOUNT, _REMARK, _NOTHING = range(
    9
)
_DO_NOTHING = (_NOTHING, None)
_CONTROL_NUMBER = "control_number"


@dataclass(slots=True)
class Read835:
    remittances: list[Remittance] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)

    @property
    def claims(self) -> list[RemitClaim]:
        return [c for r in self.remittances for c in r.claims]


class _Refusal(InputError):
    """An error the reading found (not the envelope): reported unless the envelope has one."""


def _plain(v: str) -> bool:
    """Digits with at most one decimal point: an X12 R value read without further checks."""
    return bool(v) and v.isascii() and v.replace(".", "", 1).isdigit()


def _el(seg: list[str], n: int) -> str:
    return seg[n] if len(seg) > n else ""


def _d8(value: str) -> date | None:
    if len(value) != 8 or not (value.isascii() and value.isdigit()):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


class _Reader:
    def __init__(self, file: str, strict: bool) -> None:
        self.file = file
        self.strict = strict
        self.comp = ":"
        self.warnings: list[InputError] = []
        self.alt_warned: set[str] = set()
        # values already read, by their text (the same amounts and dates recur all through a file)
        self.plain: dict[str, Decimal] = {}  # amounts in the usual form (digits, one decimal point)
        self.money: dict[str, Decimal] = {}  # amounts read by x12_money
        self.floats: dict[str, float] = {}  # units in the usual form
        self.dates: dict[str, date] = {}  # valid CCYYMMDD dates

    def err(self, i: int, seg: list[str], msg: str) -> _Refusal:
        return _Refusal(self.file, f"segment {i + 1} ({seg[0] or '?'})", msg)

    def warn(self, i: int, seg: list[str], msg: str) -> None:
        self.warnings.append(InputError(self.file, f"segment {i + 1} ({seg[0] or '?'})", msg))

    def split(self, i: int, seg: list[str], value: str) -> list[str]:
        if self.comp in value:
            return value.split(self.comp)
        for alt in _ALT_COMPONENT:
            if alt != self.comp and alt in value:
                if alt not in self.alt_warned:
                    self.alt_warned.add(alt)
                    self.warn(
                        i,
                        seg,
                        f"composite {value!r} uses {alt!r} although ISA16 declares {self.comp!r}; read with {alt!r}",
                    )
                return value.split(alt)
        return [value]

    def number(self, i: int, seg: list[str], n: int, what: str, *, required: bool = True) -> float | None:
        """A quantity or rate (not money): a float."""
        v = _el(seg, n)
        if not v:
            if required:
                raise self.err(i, seg, f"{seg[0]}{n:02d} ({what}) is required")
            return None
        f = x12_decimal(v)  # X12 grammar: not Python's ("1_000", "inf", non-ASCII digits)
        if f is None or not math.isfinite(f):
            raise self.err(i, seg, f"{seg[0]}{n:02d} ({what}) {v!r} is not a number")
        return f

    def amount(self, i: int, seg: list[str], n: int, what: str, *, required: bool = True) -> Decimal | None:
        """Money: exact, as the X12 text writes it (Decimal; never a float)."""
        v = seg[n] if len(seg) > n else ""
        d = self.money.get(v)
        if d is not None:
            return d
        if not v:
            if required:
                raise self.err(i, seg, f"{seg[0]}{n:02d} ({what}) is required")
            return None
        d = x12_money(v)  # X12 grammar: not Python's ("1_000", "inf", non-ASCII digits)
        if d is None:
            raise self.err(i, seg, f"{seg[0]}{n:02d} ({what}) {v!r} is not a number")
        self.money[v] = d
        return d

    def plain_amount(self, i: int, seg: list[str], n: int, what: str) -> Decimal:
        """An amount in the usual form read as it is written (no range check: CAS and SVC amounts);
        any other form is read (or refused) by ``amount``."""
        v = seg[n]
        d = self.plain.get(v)
        if d is None:
            if _plain(v):
                d = self.plain[v] = Decimal(v)
            else:
                d = self.amount(i, seg, n, what)
                assert d is not None
        return d

    def date(self, i: int, seg: list[str], n: int) -> date:
        v = seg[n] if len(seg) > n else ""
        d = self.dates.get(v)
        if d is None:
            d = _d8(v)
            if d is None:
                raise self.err(i, seg, f"{seg[0]}{n:02d} {v!r} is not a valid CCYYMMDD date")
            self.dates[v] = d
        return d

    def read(self, text: str) -> Read835:
        delims, raw = raw_segments(text, self.file)
        self.comp = delims.component
        sep = delims.element
        env = Envelope(self.file, delims, strict=self.strict)
        envelope = env.segment
        remittances: list[Remittance] = []
        ok_ids: set[str] = set()
        line_ids, claim_ids = _ALLOWED[_LINE], _ALLOWED[_CLAIM]
        # What a segment of a service line does, by its text (the same adjustments, dates, amounts
        # and procedures recur all through a file): (kind, value); an SVC's entry also serves a
        # claim (seen_svc). Only readings without an error or a warning are kept.
        seen_line: dict[str, tuple[int, Any]] = {}
        seen_svc: dict[str, tuple[int, Any]] = {}
        level = _NONE
        # the transaction set being read
        rem: dict[str, Any] = {}
        claims: list[RemitClaim] = []
        plbs: list[ProviderAdjustment] = []
        seen_payer = seen_payee = False
        # the claim being read (its field values, and the optional fields its segments gave)
        claim: dict[str, Any] | None = None
        claim_bits = 0
        lines: list[ServiceLine] = []
        # the service line being read (field values, the bits of _LINE_BITS given, its lists)
        line: dict[str, Any] | None = None
        line_bits = 0
        line_adjs: list[Adjustment] = []
        line_remarks: list[str] = []
        i = -1
        seg: list[str] = []
        ref6r = f"REF{sep}6R{sep}"
        n6r = len(ref6r)
        for i, s in enumerate(raw):
            if level == _LINE:
                act = seen_line.get(s)
                if act is None and s.startswith(ref6r):  # the line's control number, unique to the line
                    v = s[n6r:]
                    line[_CONTROL_NUMBER] = (v.split(sep, 1)[0] if sep in v else v) or None  # type: ignore[index]
                    line_bits |= 4
                    continue
            elif level == _CLAIM:
                act = seen_svc.get(s)
            else:
                act = None
            if act is None:
                seg = s.split(sep)
                sid = seg[0]
                if sid not in ok_ids:
                    env.check_id(i, sid)
                    ok_ids.add(sid)
                if level == _LINE and sid in line_ids:
                    act = self.line_segment(i, seg, sid)
                    if act[0] != _CONTROL:  # a line's own control number: read, not kept
                        seen_line[s] = act
                elif sid == "SVC":
                    if level != _CLAIM and level != _LINE:
                        if level == _NONE:
                            raise env.outside(i, sid)
                        if level == _START:
                            raise self.err(i, seg, "BPR (financial information) must follow ST")
                        raise self.err(i, seg, "SVC (service payment) must be inside a claim (CLP)")
                    warned = len(self.warnings)
                    act = (_SVC, self.svc(i, seg))
                    if len(self.warnings) == warned:  # a line read with a warning is read again
                        seen_line[s] = seen_svc[s] = act
            if act is not None:
                kind, value = act
                if kind == _ADJUSTMENT:
                    m = _new(Adjustment)
                    _set_dict(m, value.copy())
                    _set_fields(m, _ALL_ADJUSTMENT_FIELDS)
                    _set_extra(m, None)
                    _set_private(m, None)
                    line_adjs.append(m)
                elif kind == _SVC:
                    assert line is not None or level == _CLAIM
                    if line is not None:
                        m = _new(ServiceLine)
                        _set_dict(m, line)
                        _set_fields(m, _LINE_FIELDS[line_bits])
                        _set_extra(m, None)
                        _set_private(m, None)
                        lines.append(m)
                    level = _LINE
                    line = value[0].copy()
                    line["segment"] = i + 1
                    line["modifiers"] = [*value[1]]
                    line["submitted_modifiers"] = [*value[2]]
                    line["adjustments"] = line_adjs = []
                    line["remarks"] = line_remarks = []
                    line_bits = 0
                elif kind == _NOTHING:
                    pass
                else:
                    assert line is not None
                    if kind == _START_DATE:
                        line["date_start"] = value
                        line_bits |= 1
                    elif kind == _CONTROL:
                        line["control_number"] = value
                        line_bits |= 4
                    elif kind == _ALLOWED_AMOUNT:
                        line["allowed"] = value
                        line_bits |= 8
                    elif kind == _ADJUSTMENTS:
                        line_adjs.extend(_adjustment(v) for v in value)
                    elif kind == _REMARK:
                        line_remarks.append(value)
                    else:  # _END_DATE
                        line["date_end"] = value
                        line_bits |= 2
                continue
            if level == _CLAIM and sid in claim_ids:
                assert claim is not None
                claim_bits |= self.claim_segment(i, seg, sid, claim)
                continue
            if sid in ENVELOPE_IDS:
                envelope(i, seg)
                if sid == "ST":
                    self.start(i, seg, env)
                    level = _START
                    rem = {"segment": i + 1, "control_number": seg[2]}
                    claims = []
                    plbs = []
                    seen_payer = seen_payee = False
                    claim = line = None
                elif sid == "SE":
                    if level == _START:
                        raise self.err(i, seg, "BPR (financial information) must follow ST")
                    if claim is not None:
                        claims.append(self.finish_claim(claim, claim_bits, lines, line, line_bits))
                        claim = line = None
                    if not seen_payer or not seen_payee:
                        raise self.err(i, seg, "the payer (N1*PR) and payee (N1*PE) loops are required")
                    if "trace_number" not in rem:
                        raise self.err(i, seg, "TRN (reassociation trace number) is required")
                    remittances.append(Remittance(claims=claims, provider_adjustments=plbs, **rem))
                    level = _NONE
                continue
            if level == _NONE:
                raise env.outside(i, sid)
            if level == _START:
                if sid != "BPR":
                    raise self.err(i, seg, "BPR (financial information) must follow ST")
                self.bpr(i, seg, rem)
                level = _HDR
                continue
            if sid == "BPR":
                raise self.err(i, seg, "only one BPR per transaction set, right after ST")
            if sid == "CLP":
                if level not in _AFTER_PAYEE:
                    raise self.err(i, seg, "CLP must follow the payer and payee (N1*PR, N1*PE)")
                if claim is not None:
                    claims.append(self.finish_claim(claim, claim_bits, lines, line, line_bits))
                    line = None
                level = _CLAIM
                claim = self.clp(i, seg)
                claim_bits = 0
                lines = claim["lines"]
                continue
            if sid == "N1":
                q = _el(seg, 1)
                if (level == _HDR or level == _PAYER) and q == "PR" and not seen_payer:
                    seen_payer, level = True, _PAYER
                    rem["payer_name"] = _el(seg, 2) or None
                    rem["payer_id"] = _el(seg, 4) or None
                    continue
                if level == _PAYER and q == "PE" and not seen_payee:
                    seen_payee, level = True, _PAYEE
                    rem["payee_name"] = _el(seg, 2) or None
                    rem["payee_id_qualifier"] = _el(seg, 3) or None
                    rem["payee_id"] = _el(seg, 4) or None
                    continue
                raise self.err(
                    i,
                    seg,
                    f"N1*{q} not expected here: the payer (N1*PR) then the payee (N1*PE) come once, "
                    "before the claims",
                )
            if sid == "LX":
                if level not in _AFTER_PAYEE:
                    raise self.err(
                        i, seg, "LX (header number) must follow the payer and payee (N1*PR, N1*PE)"
                    )
                if claim is not None:
                    claims.append(self.finish_claim(claim, claim_bits, lines, line, line_bits))
                    claim = line = None
                level = _LX
                continue
            if sid == "PLB":
                if level == _HDR or level == _PAYER:
                    raise self.err(i, seg, "PLB must follow the payee (N1*PE) and the claims")
                if claim is not None:
                    claims.append(self.finish_claim(claim, claim_bits, lines, line, line_bits))
                    claim = line = None
                level = _PLB
                plbs.extend(self.plb(i, seg))
                continue
            if sid not in _ALLOWED[level]:
                raise self.err(i, seg, f"{sid} is not expected in {_WHERE[level]}: misplaced or out of order")
            if level == _HDR:
                if sid == "TRN":
                    rem["trace_number"] = _el(seg, 2) or None
                elif sid == "DTM" and _el(seg, 1) == "405":
                    rem["production_date"] = self.date(i, seg, 2)
            elif level == _PAYER and sid == "REF" and _el(seg, 1) == "2U" and not rem.get("payer_id"):
                rem["payer_id"] = _el(seg, 2) or None
        env.end(i, raw[-1].split(sep, 1)[0] if raw else "")
        if not remittances:
            raise InputError(self.file, None, "the file holds no 835 transaction set")
        return Read835(remittances=remittances, warnings=env.warnings + self.warnings)

    def start(self, i: int, st: list[str], env: Envelope) -> None:
        """ST: an 835 under GS01 HP; a different guide in GS08 is a warning."""
        gs = env.gs
        assert gs is not None
        version = st[3] if len(st) > 3 and st[3] else (gs[8] if len(gs) > 8 else "")
        if st[1] != "835" or not version.startswith("005010X221"):
            raise self.err(i, st, f"this is {describe_transaction(st[1], version)}, not {_NOT_835}")
        bad_group = check_group(st, gs, env.gs_index, self.file)
        if bad_group is not None:
            raise _Refusal(bad_group.file, bad_group.place, bad_group.expected)
        msg = version_mismatch(st, gs)
        if msg:
            self.warn(i, st, msg)

    def bpr(self, i: int, seg: list[str], rem: dict[str, Any]) -> None:
        rem["handling"] = _el(seg, 1)
        if not rem["handling"]:
            raise self.err(i, seg, "BPR01 (transaction handling code) is required")
        rem["payment"] = self.amount(i, seg, 2, "total payment")
        rem["credit_debit"] = _el(seg, 3) or None
        rem["method"] = _el(seg, 4) or None
        if _el(seg, 16):
            rem["payment_date"] = _d8(_el(seg, 16))
            if rem["payment_date"] is None:
                self.warn(i, seg, f"BPR16 payment date {_el(seg, 16)!r} is not a valid date; ignored")

    # -- claim level --------------------------------------------------------------------------
    def clp(self, i: int, seg: list[str]) -> dict[str, Any]:
        n = len(seg)
        pcn = seg[1] if n > 1 else ""
        if not pcn:
            raise self.err(i, seg, "CLP01 (patient control number) is required")
        status = seg[2] if n > 2 else ""
        if not status.isdigit():
            raise self.err(
                i, seg, f"CLP02 claim status {status!r}: expected a status code such as 1, 2, 4 or 22"
            )
        # amounts: read by amount() (once per distinct text), in this order
        money = self.money
        billed = money.get(seg[3]) if n > 3 else None
        if billed is None:
            billed = self.amount(i, seg, 3, "total claim charge")
        paid = money.get(seg[4]) if n > 4 else None
        if paid is None:
            paid = self.amount(i, seg, 4, "claim payment")
        responsibility = money.get(seg[5]) if n > 5 else None
        if responsibility is None:
            responsibility = self.amount(i, seg, 5, "patient responsibility", required=False)
        return {
            "segment": i + 1,
            "patient_control_number": pcn,
            "status": status,
            "billed": billed,
            "paid": paid,
            "patient_responsibility": responsibility,
            "filing_indicator": (seg[6] if n > 6 else "") or None,
            "payer_claim_number": (seg[7] if n > 7 else "") or None,
            "facility_code": (seg[8] if n > 8 else "") or None,
            "frequency": (seg[9] if n > 9 else "") or None,
            "member_id": None,
            "rendering_npi": None,
            "statement_start": None,
            "statement_end": None,
            "adjustments": [],
            "remarks": [],
            "lines": [],
        }

    def finish_claim(
        self,
        claim: dict[str, Any],
        claim_bits: int,
        lines: list[ServiceLine],
        line: dict[str, Any] | None,
        line_bits: int,
    ) -> RemitClaim:
        if line is not None:
            lines.append(_model(ServiceLine, line, _LINE_FIELDS[line_bits]))
        return _model(RemitClaim, claim, _CLAIM_FIELDS[claim_bits])  # type: ignore[no-any-return]

    def cas(self, i: int, seg: list[str]) -> list[dict[str, Any]]:
        """The field values of a CAS's adjustments."""
        group = seg[1] if len(seg) > 1 else ""
        if group not in _GROUPS:
            raise self.err(i, seg, f"CAS01 group code {group!r}: expected CO, PR, OA or PI")
        out: list[dict[str, Any]] = []
        if len(seg) < 20:
            seg = seg + [""] * (20 - len(seg))
        for n in (2, 5, 8, 11, 14, 17):
            reason = seg[n]
            if not reason:
                if seg[n + 1] or seg[n + 2]:
                    raise self.err(i, seg, f"CAS{n:02d} reason code missing for the amount in CAS{n + 1:02d}")
                continue
            amount = self.plain_amount(i, seg, n + 1, "adjustment amount")
            qty = self.number(i, seg, n + 2, "adjustment quantity", required=False) if seg[n + 2] else None
            out.append({"group": group, "reason": reason, "amount": amount, "quantity": qty})
        if not out:
            raise self.err(i, seg, "CAS needs at least one reason code and amount (CAS02, CAS03)")
        if len(seg) > 20:
            raise self.err(i, seg, "CAS holds at most 6 adjustments (19 elements)")
        return out

    def claim_segment(self, i: int, seg: list[str], sid: str, claim: dict[str, Any]) -> int:
        """Read a segment of a claim; returns the bits of the optional fields it gave."""
        if sid == "CAS":
            claim["adjustments"].extend(_adjustment(v) for v in self.cas(i, seg))
        elif sid == "NM1":
            q = _el(seg, 1)
            if q == "IL" or (q == "QC" and not claim["member_id"]):
                claim["member_id"] = _el(seg, 9) or claim["member_id"]
                return _MEMBER_ID
            elif q == "82":
                claim["rendering_npi"] = _el(seg, 9) or None
                return _RENDERING_NPI
        elif sid == "MOA":
            claim["remarks"].append(
                ClaimRemark(
                    kind="MOA",
                    reimbursement_rate=self.number(i, seg, 1, "reimbursement rate", required=False),
                    payable_amount=self.amount(i, seg, 2, "HCPCS payable amount", required=False),
                    codes=[c for c in (_el(seg, n) for n in range(3, 8)) if c],
                )
            )
        elif sid == "MIA":
            claim["remarks"].append(
                ClaimRemark(
                    kind="MIA",
                    codes=[c for c in (_el(seg, n) for n in (5, 20, 21, 22, 23)) if c],
                )
            )
        elif sid == "DTM":
            q = _el(seg, 1)
            if q == "232":
                claim["statement_start"] = self.date(i, seg, 2)
                return _STATEMENT_START
            elif q == "233":
                claim["statement_end"] = self.date(i, seg, 2)
                return _STATEMENT_END
        return 0

    # -- line level ---------------------------------------------------------------------------
    def line_segment(self, i: int, seg: list[str], sid: str) -> tuple[int, Any]:
        """What a segment of a service line (other than SVC) does: (kind, value)."""
        if sid == "CAS":
            adjustments = self.cas(i, seg)
            if len(adjustments) == 1:
                return (_ADJUSTMENT, adjustments[0])
            return (_ADJUSTMENTS, tuple(adjustments))
        q = seg[1] if len(seg) > 1 else ""
        if sid == "REF":
            if q == "6R":
                return (_CONTROL, (seg[2] if len(seg) > 2 else "") or None)
        elif sid == "DTM":
            if q in ("472", "150"):
                return (_START_DATE, self.date(i, seg, 2))
            if q == "151":
                return (_END_DATE, self.date(i, seg, 2))
        elif sid == "AMT":
            if q == "B6":
                return (_ALLOWED_AMOUNT, self.amount(i, seg, 2, "allowed amount"))
        elif sid == "LQ" and q == "HE":
            code = _el(seg, 2)
            if not code:
                raise self.err(i, seg, "LQ02 remark code is required")
            return (_REMARK, code)
        return _DO_NOTHING

    def svc(self, i: int, seg: list[str]) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
        """What an SVC says: the line's field values (segment, the lists and what the line's other
        segments give to be filled in), its modifiers and its submitted modifiers."""
        if len(seg) < 8:
            seg = seg + [""] * (8 - len(seg))
        parts = self.split(i, seg, seg[1])
        if not parts[0]:
            raise self.err(i, seg, "SVC01 (procedure code composite) is required")
        code = parts[1].upper() if len(parts) > 1 else ""
        if not code:
            self.warn(i, seg, f"SVC01 {seg[1]!r} holds no procedure code; the line is kept without a code")
        submitted = self.split(i, seg, seg[6]) if seg[6] else []
        # amounts in the usual form are read here; amount() reads (or refuses) the rest, in this order
        floats = self.floats
        v = seg[5]
        units = floats.get(v)
        if units is None:
            if _plain(v):
                units = floats[v] = float(v)
            else:
                units = self.number(i, seg, 5, "units paid", required=False)
        v = seg[7]
        original = floats.get(v)
        if original is None:
            if _plain(v):
                original = floats[v] = float(v)
            else:
                original = self.number(i, seg, 7, "original units of service", required=False)
        billed = self.plain_amount(i, seg, 2, "line charge")
        paid = self.plain_amount(i, seg, 3, "line payment")
        values = {
            "segment": i + 1,
            "qualifier": parts[0],
            "code": code,
            "modifiers": None,
            "billed": billed,
            "paid": paid,
            "revenue_code": seg[4] or None,
            "units": 1.0 if units is None else units,
            "submitted_code": submitted[1].upper() if len(submitted) > 1 and submitted[1] else None,
            "submitted_modifiers": None,
            "date_start": None,
            "date_end": None,
            "adjustments": None,
            "control_number": None,
            "allowed": None,
            "remarks": None,
            "original_units": original,
        }
        return (
            values,
            tuple(m.upper() for m in parts[2:6] if m),
            tuple(m.upper() for m in submitted[2:6] if m),
        )

    def plb(self, i: int, seg: list[str]) -> list[ProviderAdjustment]:
        provider = _el(seg, 1)
        if not provider:
            raise self.err(i, seg, "PLB01 (provider identifier) is required")
        period = self.date(i, seg, 2) if _el(seg, 2) else None
        out: list[ProviderAdjustment] = []
        for k in range(6):
            n = 3 + 2 * k
            ident = _el(seg, n)
            if not ident:
                continue
            parts = self.split(i, seg, ident)
            amount = self.amount(i, seg, n + 1, "provider adjustment amount")
            assert amount is not None
            out.append(
                ProviderAdjustment(
                    segment=i + 1,
                    provider_id=provider,
                    fiscal_period_end=period,
                    reason=parts[0],
                    reference=parts[1] if len(parts) > 1 and parts[1] else None,
                    amount=amount,
                )
            )
        if not out:
            raise self.err(i, seg, "PLB needs at least one adjustment (PLB03 reason, PLB04 amount)")
        return out


def read_835(text: str, file: str, *, strict: bool = False) -> Read835:
    """Read an 835 file (any number of ISA/GS/ST envelopes). Raises InputError on any error."""
    with no_gc():
        try:
            return _Reader(file, strict).read(text)
        except _Refusal as e:
            refused = InputError(e.file, e.place, e.expected)
        except InputError as e:  # the envelope
            raise (wrong_transaction(text, file, "835", "005010X221", _NOT_835) or e) from None
        # The envelope comes first: an envelope error anywhere in the file is the one reported.
        try:
            tokenize(text, file, strict=strict)
        except InputError as e:
            raise (wrong_transaction(text, file, "835", "005010X221", _NOT_835) or e) from None
        raise refused
