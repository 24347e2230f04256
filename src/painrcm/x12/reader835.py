"""835 (005010X221A1) reader: payments, claims, service lines, adjustments and remarks.

Unlike the 837P reader, an error anywhere in an 835 refuses the file: a remittance read in part would
drop money or denials, and every remittance line must be reported. Errors are located as
``segment N (ID)``. Tolerated (with a warning): SE/GE/IEA count mismatches (unless ``strict``),
composites written with another separator than ISA16 declares, and an SVC01 without a procedure code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from painrcm.errors import InputError
from painrcm.x12.remit_model import (
    Adjustment,
    ClaimRemark,
    ProviderAdjustment,
    RemitClaim,
    Remittance,
    ServiceLine,
)
from painrcm.x12.segments import (
    Tokens,
    check_group,
    constructor,
    describe_transaction,
    no_gc,
    tokenize,
    version_mismatch,
    wrong_transaction,
    x12_decimal,
    x12_money,
)

_NOT_835 = "an 835: painrcm reads 835 remittances (ST01 835, version 005010X221A1)"

_GROUPS = frozenset({"CO", "PR", "OA", "PI", "CR"})
_ALT_COMPONENT = (">", ":", "^", "|", "<", "\\")

# level -> segments allowed at that level (loop starters are handled separately)
_ALLOWED: dict[str, frozenset[str]] = {
    "hdr": frozenset({"BPR", "TRN", "CUR", "REF", "DTM"}),
    "payer": frozenset({"N2", "N3", "N4", "REF", "PER"}),
    "payee": frozenset({"N2", "N3", "N4", "REF", "RDM"}),
    "lx": frozenset({"TS3", "TS2"}),
    "claim": frozenset({"CAS", "NM1", "MIA", "MOA", "REF", "DTM", "PER", "AMT", "QTY"}),
    "line": frozenset({"DTM", "CAS", "REF", "AMT", "QTY", "LQ"}),
    "plb": frozenset(),
}


@dataclass(slots=True)
class Read835:
    remittances: list[Remittance] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)

    @property
    def claims(self) -> list[RemitClaim]:
        return [c for r in self.remittances for c in r.claims]


_new_line = constructor(ServiceLine)
_new_claim = constructor(RemitClaim)
_new_adjustment = constructor(Adjustment)


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
    def __init__(self, tok: Tokens) -> None:
        self.tok = tok
        self.comp = tok.delimiters.component
        self.out = Read835(warnings=list(tok.warnings))
        self.alt_warned: set[str] = set()

    def err(self, i: int, msg: str) -> InputError:
        return self.tok.error(i, msg)

    def warn(self, i: int, msg: str) -> None:
        self.out.warnings.append(self.err(i, msg))

    def split(self, i: int, value: str) -> list[str]:
        if self.comp in value:
            return value.split(self.comp)
        for alt in _ALT_COMPONENT:
            if alt != self.comp and alt in value:
                if alt not in self.alt_warned:
                    self.alt_warned.add(alt)
                    self.warn(
                        i,
                        f"composite {value!r} uses {alt!r} although ISA16 declares {self.comp!r}; read with {alt!r}",
                    )
                return value.split(alt)
        return [value]

    def number(self, i: int, seg: list[str], n: int, what: str, *, required: bool = True) -> float | None:
        """A quantity or rate (not money): a float."""
        v = _el(seg, n)
        if not v:
            if required:
                raise self.err(i, f"{seg[0]}{n:02d} ({what}) is required")
            return None
        f = x12_decimal(v)  # X12 grammar: not Python's ("1_000", "inf", non-ASCII digits)
        if f is None or not math.isfinite(f):
            raise self.err(i, f"{seg[0]}{n:02d} ({what}) {v!r} is not a number")
        return f

    def amount(self, i: int, seg: list[str], n: int, what: str, *, required: bool = True) -> Decimal | None:
        """Money: exact, as the X12 text writes it (Decimal; never a float)."""
        v = _el(seg, n)
        if not v:
            if required:
                raise self.err(i, f"{seg[0]}{n:02d} ({what}) is required")
            return None
        d = x12_money(v)  # X12 grammar: not Python's ("1_000", "inf", non-ASCII digits)
        if d is None:
            raise self.err(i, f"{seg[0]}{n:02d} ({what}) {v!r} is not a number")
        return d

    def date(self, i: int, seg: list[str], n: int) -> date:
        d = _d8(_el(seg, n))
        if d is None:
            raise self.err(i, f"{seg[0]}{n:02d} {_el(seg, n)!r} is not a valid CCYYMMDD date")
        return d

    def read(self) -> Read835:
        segs = self.tok.segments
        for tr in self.tok.transactions:
            if tr.type != "835" or not tr.version.startswith("005010X221"):
                raise self.err(
                    tr.start,
                    f"this is {describe_transaction(tr.type, tr.version)}, not {_NOT_835}",
                )
            gs_index = next(k for k in range(tr.start, -1, -1) if segs[k][0] == "GS")
            bad_group = check_group(tr.st, tr.gs, gs_index, self.tok.file)
            if bad_group is not None:
                raise bad_group
            msg = version_mismatch(tr.st, tr.gs)
            if msg:
                self.warn(tr.start, msg)
            self.out.remittances.append(self.transaction(segs, tr.start, tr.end, tr.st[2]))
        if not self.out.remittances:
            raise InputError(self.tok.file, None, "the file holds no 835 transaction set")
        return self.out

    def transaction(self, segs: list[list[str]], start: int, end: int, control: str) -> Remittance:
        level = "hdr"
        rem: dict[str, object] = {"segment": start + 1, "control_number": control}
        claims: list[RemitClaim] = []
        plbs: list[ProviderAdjustment] = []
        claim: dict[str, object] | None = None
        line: dict[str, object] | None = None
        seen_payer = seen_payee = False

        def close_line() -> None:
            nonlocal line
            if line is not None and claim is not None:
                claim["lines"].append(_new_line(**line))  # type: ignore[union-attr]
            line = None

        def close_claim() -> None:
            nonlocal claim
            close_line()
            if claim is not None:
                claims.append(_new_claim(**claim))  # type: ignore[arg-type]
            claim = None

        first = start + 1
        if first >= end - 1 or segs[first][0] != "BPR":
            raise self.err(min(first, end - 1), "BPR (financial information) must follow ST")
        line_ids, claim_ids = _ALLOWED["line"], _ALLOWED["claim"]
        for i in range(first, end - 1):
            seg = segs[i]
            sid = seg[0]
            # the segments of a service line or a claim (none of them starts a loop), read first
            if level == "line" and sid in line_ids:
                self.line_segment(i, seg, sid, line)  # type: ignore[arg-type]
                continue
            if level == "claim" and sid in claim_ids:
                self.claim_segment(i, seg, sid, claim)  # type: ignore[arg-type]
                continue
            if sid == "BPR":
                if i != first:
                    raise self.err(i, "only one BPR per transaction set, right after ST")
                rem["handling"] = _el(seg, 1)
                if not rem["handling"]:
                    raise self.err(i, "BPR01 (transaction handling code) is required")
                rem["payment"] = self.amount(i, seg, 2, "total payment")
                rem["credit_debit"] = _el(seg, 3) or None
                rem["method"] = _el(seg, 4) or None
                if _el(seg, 16):
                    rem["payment_date"] = _d8(_el(seg, 16))
                    if rem["payment_date"] is None:
                        self.warn(i, f"BPR16 payment date {_el(seg, 16)!r} is not a valid date; ignored")
                continue
            if sid == "N1":
                q = _el(seg, 1)
                if level in ("hdr", "payer") and q == "PR" and not seen_payer:
                    seen_payer, level = True, "payer"
                    rem["payer_name"] = _el(seg, 2) or None
                    rem["payer_id"] = _el(seg, 4) or None
                    continue
                if level == "payer" and q == "PE" and not seen_payee:
                    seen_payee, level = True, "payee"
                    rem["payee_name"] = _el(seg, 2) or None
                    rem["payee_id_qualifier"] = _el(seg, 3) or None
                    rem["payee_id"] = _el(seg, 4) or None
                    continue
                raise self.err(
                    i,
                    f"N1*{q} not expected here: the payer (N1*PR) then the payee (N1*PE) come once, "
                    "before the claims",
                )
            if sid == "LX":
                if level not in ("payee", "lx", "claim", "line"):
                    raise self.err(i, "LX (header number) must follow the payer and payee (N1*PR, N1*PE)")
                close_claim()
                level = "lx"
                continue
            if sid == "CLP":
                if level not in ("payee", "lx", "claim", "line"):
                    raise self.err(i, "CLP must follow the payer and payee (N1*PR, N1*PE)")
                close_claim()
                level = "claim"
                claim = self.clp(i, seg)
                continue
            if sid == "SVC":
                if level not in ("claim", "line"):
                    raise self.err(i, "SVC (service payment) must be inside a claim (CLP)")
                close_line()
                level = "line"
                line = self.svc(i, seg)
                continue
            if sid == "PLB":
                if level in ("hdr", "payer"):
                    raise self.err(i, "PLB must follow the payee (N1*PE) and the claims")
                close_claim()
                level = "plb"
                plbs.extend(self.plb(i, seg))
                continue
            if sid not in _ALLOWED[level]:
                where = {
                    "hdr": "the header",
                    "payer": "the payer loop",
                    "payee": "the payee loop",
                    "lx": "the header number loop",
                    "claim": "a claim (CLP)",
                    "line": "a service line (SVC)",
                    "plb": "the provider adjustments (PLB)",
                }[level]
                raise self.err(i, f"{sid} is not expected in {where}: misplaced or out of order")
            if level == "hdr":
                if sid == "TRN":
                    rem["trace_number"] = _el(seg, 2) or None
                elif sid == "DTM" and _el(seg, 1) == "405":
                    rem["production_date"] = self.date(i, seg, 2)
                continue
            if level == "payer":
                if sid == "REF" and _el(seg, 1) == "2U" and not rem.get("payer_id"):
                    rem["payer_id"] = _el(seg, 2) or None
                continue
            if level == "claim":
                assert claim is not None
                self.claim_segment(i, seg, sid, claim)
                continue
            if level == "line":
                assert line is not None
                self.line_segment(i, seg, sid, line)
        close_claim()
        if not seen_payer or not seen_payee:
            raise self.err(end - 1, "the payer (N1*PR) and payee (N1*PE) loops are required")
        if "trace_number" not in rem:
            raise self.err(end - 1, "TRN (reassociation trace number) is required")
        return Remittance(claims=claims, provider_adjustments=plbs, **rem)  # type: ignore[arg-type]

    # -- claim level --------------------------------------------------------------------------
    def clp(self, i: int, seg: list[str]) -> dict[str, object]:
        pcn = _el(seg, 1)
        if not pcn:
            raise self.err(i, "CLP01 (patient control number) is required")
        status = _el(seg, 2)
        if not status.isdigit():
            raise self.err(i, f"CLP02 claim status {status!r}: expected a status code such as 1, 2, 4 or 22")
        return {
            "segment": i + 1,
            "patient_control_number": pcn,
            "status": status,
            "billed": self.amount(i, seg, 3, "total claim charge"),
            "paid": self.amount(i, seg, 4, "claim payment"),
            "patient_responsibility": self.amount(i, seg, 5, "patient responsibility", required=False),
            "filing_indicator": _el(seg, 6) or None,
            "payer_claim_number": _el(seg, 7) or None,
            "facility_code": _el(seg, 8) or None,
            "frequency": _el(seg, 9) or None,
            "adjustments": [],
            "remarks": [],
            "lines": [],
        }

    def cas(self, i: int, seg: list[str]) -> list[Adjustment]:
        group = seg[1] if len(seg) > 1 else ""
        if group not in _GROUPS:
            raise self.err(i, f"CAS01 group code {group!r}: expected CO, PR, OA or PI")
        out: list[Adjustment] = []
        if len(seg) < 20:
            seg = seg + [""] * (20 - len(seg))
        for n in (2, 5, 8, 11, 14, 17):
            reason = seg[n]
            if not reason:
                if seg[n + 1] or seg[n + 2]:
                    raise self.err(i, f"CAS{n:02d} reason code missing for the amount in CAS{n + 1:02d}")
                continue
            v = seg[n + 1]
            if _plain(v):  # the usual form, as amount() reads it
                amount: Decimal | None = Decimal(v)
            else:
                amount = self.amount(i, seg, n + 1, "adjustment amount")
            qty = self.number(i, seg, n + 2, "adjustment quantity", required=False) if seg[n + 2] else None
            out.append(_new_adjustment(group=group, reason=reason, amount=amount, quantity=qty))
        if not out:
            raise self.err(i, "CAS needs at least one reason code and amount (CAS02, CAS03)")
        if len(seg) > 20:
            raise self.err(i, "CAS holds at most 6 adjustments (19 elements)")
        return out

    def claim_segment(self, i: int, seg: list[str], sid: str, claim: dict[str, object]) -> None:
        if sid == "CAS":
            claim["adjustments"].extend(self.cas(i, seg))  # type: ignore[attr-defined]
        elif sid == "NM1":
            q = _el(seg, 1)
            if q == "IL" or (q == "QC" and not claim.get("member_id")):
                claim["member_id"] = _el(seg, 9) or claim.get("member_id")
            elif q == "82":
                claim["rendering_npi"] = _el(seg, 9) or None
        elif sid == "MOA":
            claim["remarks"].append(
                ClaimRemark(  # type: ignore[attr-defined]
                    kind="MOA",
                    reimbursement_rate=self.number(i, seg, 1, "reimbursement rate", required=False),
                    payable_amount=self.amount(i, seg, 2, "HCPCS payable amount", required=False),
                    codes=[c for c in (_el(seg, n) for n in range(3, 8)) if c],
                )
            )
        elif sid == "MIA":
            claim["remarks"].append(
                ClaimRemark(  # type: ignore[attr-defined]
                    kind="MIA",
                    codes=[c for c in (_el(seg, n) for n in (5, 20, 21, 22, 23)) if c],
                )
            )
        elif sid == "DTM":
            q = _el(seg, 1)
            if q == "232":
                claim["statement_start"] = self.date(i, seg, 2)
            elif q == "233":
                claim["statement_end"] = self.date(i, seg, 2)

    # -- line level ---------------------------------------------------------------------------
    def svc(self, i: int, seg: list[str]) -> dict[str, object]:
        if len(seg) < 8:
            seg = seg + [""] * (8 - len(seg))
        parts = self.split(i, seg[1])
        if not parts[0]:
            raise self.err(i, "SVC01 (procedure code composite) is required")
        code = parts[1].upper() if len(parts) > 1 else ""
        if not code:
            self.warn(i, f"SVC01 {seg[1]!r} holds no procedure code; the line is kept without a code")
        submitted = self.split(i, seg[6]) if seg[6] else []
        # amounts in the usual form are read here; amount() reads (or refuses) the rest, in this order
        v = seg[5]
        units = float(v) if _plain(v) else self.number(i, seg, 5, "units paid", required=False)
        v = seg[7]
        original = (
            float(v) if _plain(v) else self.number(i, seg, 7, "original units of service", required=False)
        )
        v = seg[2]
        billed = Decimal(v) if _plain(v) else self.amount(i, seg, 2, "line charge")
        v = seg[3]
        paid = Decimal(v) if _plain(v) else self.amount(i, seg, 3, "line payment")
        return {
            "original_units": original,
            "segment": i + 1,
            "qualifier": parts[0],
            "code": code,
            "modifiers": [m.upper() for m in parts[2:6] if m],
            "billed": billed,
            "paid": paid,
            "revenue_code": seg[4] or None,
            "units": 1.0 if units is None else units,
            "submitted_code": submitted[1].upper() if len(submitted) > 1 and submitted[1] else None,
            "submitted_modifiers": [m.upper() for m in submitted[2:6] if m],
            "adjustments": [],
            "remarks": [],
        }

    def line_segment(self, i: int, seg: list[str], sid: str, line: dict[str, object]) -> None:
        if sid == "CAS":
            line["adjustments"].extend(self.cas(i, seg))  # type: ignore[attr-defined]
        elif sid == "REF":
            if len(seg) > 1 and seg[1] == "6R":
                line["control_number"] = (seg[2] if len(seg) > 2 else "") or None
        elif sid == "DTM":
            q = _el(seg, 1)
            if q in ("472", "150"):
                line["date_start"] = self.date(i, seg, 2)
            elif q == "151":
                line["date_end"] = self.date(i, seg, 2)
        elif sid == "AMT" and _el(seg, 1) == "B6":
            line["allowed"] = self.amount(i, seg, 2, "allowed amount")
        elif sid == "LQ" and _el(seg, 1) == "HE":
            code = _el(seg, 2)
            if not code:
                raise self.err(i, "LQ02 remark code is required")
            line["remarks"].append(code)  # type: ignore[attr-defined]

    def plb(self, i: int, seg: list[str]) -> list[ProviderAdjustment]:
        provider = _el(seg, 1)
        if not provider:
            raise self.err(i, "PLB01 (provider identifier) is required")
        period = self.date(i, seg, 2) if _el(seg, 2) else None
        out: list[ProviderAdjustment] = []
        for k in range(6):
            n = 3 + 2 * k
            ident = _el(seg, n)
            if not ident:
                continue
            parts = self.split(i, ident)
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
            raise self.err(i, "PLB needs at least one adjustment (PLB03 reason, PLB04 amount)")
        return out


def read_835(text: str, file: str, *, strict: bool = False) -> Read835:
    """Read an 835 file (any number of ISA/GS/ST envelopes). Raises InputError on any error."""
    with no_gc():
        try:
            tok = tokenize(text, file, strict=strict)
        except InputError as e:
            other = wrong_transaction(text, file, "835", "005010X221", _NOT_835)
            raise (other or e) from None
        reader = _Reader(tok)
        try:
            return reader.read()
        finally:
            reader.tok.segments = []  # free the segment lists before the collector is back on
