"""Reader for acknowledgements: 999 (005010X231A1), 277CA (005010X214) and TA1.

``read_ack(text, file)`` checks the envelopes with ``x12.segments.tokenize`` (the same rules as the
837P and 835 readers; a TA1 between ISA and GS is allowed) and returns an ``AckFile``
(x12/ack_model.py). Any other transaction (an 837, 835, 270/271, 276/277 status, 278, 834, a 4010
997...) refuses the file with one line naming the transaction and version found; a broken
acknowledgement refuses the file with the segment number and what was expected.
"""

from __future__ import annotations

import re
from datetime import date

from painrcm.errors import InputError
from painrcm.x12.ack_model import (
    AckFile,
    ClaimAck,
    ClaimAckSet,
    ClaimStatus,
    ElementError,
    FunctionalAck,
    InterchangeAck,
    LevelStatus,
    LineAck,
    SegmentError,
    SetAck,
    StatusReport,
)
from painrcm.x12.segments import Tokens, Transaction, raw_segments, tokenize

V999 = "005010X231A1"
V277CA = "005010X214"

# What other transactions are, for the refusal message (type, implementation guide prefix).
_KNOWN: tuple[tuple[str, str, str], ...] = (
    ("837", "005010X222", "an 837P professional claim"),
    ("837", "005010X223", "an 837I institutional claim"),
    ("837", "005010X224", "an 837D dental claim"),
    ("835", "005010X221", "an 835 remittance"),
    ("270", "", "a 270 eligibility inquiry"),
    ("271", "", "a 271 eligibility response"),
    ("276", "", "a 276 claim status request"),
    ("277", "005010X212", "a 277 claim status response (not a 277CA acknowledgement)"),
    ("277", "005010X228", "a 277RFI request for additional information (not a 277CA)"),
    ("278", "", "a 278 prior-authorization transaction"),
    ("834", "", "an 834 enrollment file"),
    ("820", "", "an 820 premium payment"),
    ("997", "", "a 997 functional acknowledgement (the 4010-era predecessor of the 999)"),
)


def describe_transaction(kind: str, version: str) -> str:
    """A short name for a transaction set found where another was expected."""
    if version.startswith("004"):
        return f"a 4010-era {kind} file (version {version or 'not given'})"
    for k, prefix, name in _KNOWN:
        if k == kind and version.startswith(prefix):
            return f"{name} (version {version or 'not given'})"
    return f"a {kind or '?'} transaction set (version {version or 'not given'})"


def _el(seg: list[str], n: int) -> str:
    return seg[n].strip() if len(seg) > n else ""


def _d8(value: str) -> date | None:
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


_PLACE = re.compile(r"^segment (\d+)")


def _prepare(text: str, file: str) -> tuple[str, list[tuple[int, list[str]]], list[int], list[str]]:
    """Before the envelope check: remove TA1 segments (tokenize wants GS after ISA), and accept with
    a warning an IEA02 that differs from its ISA13, or an SE02/GE02 that equals its ST02/GS06 as a
    number but not as written (published acknowledgements have these trailer mistakes). Returns the text to tokenize, the TA1s with
    their 0-based index in the file, the original index of each remaining segment (empty when
    nothing was removed) and the warnings."""
    delims, raw = raw_segments(text, file)
    sep = delims.element
    kept: list[str] = []
    where: list[int] = []
    ta1: list[tuple[int, list[str]]] = []
    warnings: list[str] = []
    opened: dict[str, str] = {}  # ISA/GS/ST -> its control number, while open
    closer = {"IEA": ("ISA", 13), "GE": ("GS", 6), "SE": ("ST", 2)}
    changed = False
    for i, s in enumerate(raw):
        body = s.lstrip("\r\n")
        sid = body.split(sep, 1)[0]
        if sid == "TA1":
            ta1.append((i, body.split(sep)))
            changed = True
            continue
        parts = body.split(sep)
        if sid == "ISA" and len(parts) > 13:
            opened["ISA"] = parts[13]
        elif sid == "GS" and len(parts) > 6:
            opened["GS"] = parts[6]
        elif sid == "ST" and len(parts) > 2:
            opened["ST"] = parts[2]
        elif sid in closer and closer[sid][0] in opened:
            head, pos = closer[sid]
            want = opened.pop(head)
            got = parts[2] if len(parts) > 2 else ""
            if got != want and got.isdigit() and want.isdigit() and (sid == "IEA" or int(got) == int(want)):
                # Trailer mistakes in published acknowledgements (IEA02 not ISA13, SE02 00002 for ST02
                # 0002): read with a warning; they change nothing of what the acknowledgement says.
                warnings.append(
                    f"{file}: segment {i + 1} ({sid}): {sid}02 control number {got!r} does not match "
                    f"{head}{pos:02d} {want!r}; read as the end of {head} {want}"
                )
                parts[2] = want
                s = sep.join(parts)
                changed = True
        kept.append(s)
        where.append(i)
    if not changed:
        return text, [], [], []
    term = delims.segment
    return term.join(kept) + term, ta1, where if ta1 else [], warnings


class _Reader:
    def __init__(self, tok: Tokens, where: list[int]) -> None:
        self.tok = tok
        self.comp = tok.delimiters.component
        self.where = where  # original 0-based index of each tokenized segment (TA1s removed)

    def num(self, i: int) -> int:
        return (self.where[i] if self.where else i) + 1

    def err(self, i: int, msg: str) -> InputError:
        seg = self.tok.segments[i]
        return InputError(self.tok.file, f"segment {self.num(i)} ({seg[0]})", msg)

    def parts(self, value: str) -> list[str]:
        return value.split(self.comp)

    # --- 999 -------------------------------------------------------------------------------------

    def read_999(self, tx: Transaction) -> FunctionalAck:
        segs = self.tok.segments
        i = tx.start + 1
        if i >= tx.end - 1 or segs[i][0] != "AK1":
            raise self.err(min(i, tx.end - 1), "AK1 (the functional group acknowledged) right after ST")
        ak1 = segs[i]
        if not _el(ak1, 1) or not _el(ak1, 2):
            raise self.err(i, "AK1 needs AK101 (functional identifier code) and AK102 (group control number)")
        ack = FunctionalAck(
            interchange_control=_el(tx.isa, 13),
            sender_id=_el(tx.isa, 6),
            receiver_id=_el(tx.isa, 8),
            group_code=_el(ak1, 1),
            group_control=_el(ak1, 2),
            version=_el(ak1, 3) or None,
            status="",
            segment=self.num(i),
        )
        current: SetAck | None = None
        seg_err: SegmentError | None = None
        i += 1
        while i < tx.end - 1:
            seg = segs[i]
            sid = seg[0]
            if sid == "AK2":
                if current is not None:
                    raise self.err(i, f"IK5 closing the AK2 of set {current.control_number!r} first")
                if not _el(seg, 1) or not _el(seg, 2):
                    raise self.err(i, "AK2 needs AK201 (transaction set code) and AK202 (control number)")
                current = SetAck(
                    transaction_type=_el(seg, 1),
                    control_number=_el(seg, 2),
                    version=_el(seg, 3) or None,
                    status="",
                    segment=self.num(i),
                )
                seg_err = None
            elif sid == "IK3":
                if current is None:
                    raise self.err(i, "IK3 inside an AK2 loop (AK2 expected first)")
                if not _el(seg, 1):
                    raise self.err(i, "IK3 needs IK301 (the segment ID in error)")
                pos = _el(seg, 2)
                if pos and not pos.isdigit():
                    raise self.err(i, f"IK302 segment position as a number (got {pos!r})")
                seg_err = SegmentError(
                    segment_id=_el(seg, 1),
                    position=int(pos) if pos else None,
                    loop=_el(seg, 3) or None,
                    code=_el(seg, 4) or None,
                    segment=self.num(i),
                )
                current.errors.append(seg_err)
            elif sid == "IK4":
                if seg_err is None:
                    raise self.err(i, "IK4 after an IK3 (the segment its element belongs to)")
                if not _el(seg, 1) or not _el(seg, 3):
                    raise self.err(i, "IK4 needs IK401 (element position) and IK403 (error code)")
                seg_err.elements.append(
                    ElementError(
                        position=":".join(p for p in self.parts(_el(seg, 1)) if p),
                        reference=_el(seg, 2),
                        code=_el(seg, 3),
                        value=_el(seg, 4) or None,
                        segment=self.num(i),
                    )
                )
            elif sid == "CTX":
                if seg_err is None:
                    raise self.err(i, "CTX after an IK3 (the segment it gives the context of)")
                ctx = self.parts(_el(seg, 1))
                seg_err.context.append(":".join(ctx))
                if ctx and ctx[0].upper() == "CLM01" and len(ctx) > 1 and ctx[1]:
                    seg_err.claim_id = ctx[1]
            elif sid == "IK5":
                if current is None:
                    raise self.err(i, "IK5 closing an AK2 loop (AK2 expected first)")
                if not _el(seg, 1):
                    raise self.err(i, "IK5 needs IK501 (the set's acknowledgement code)")
                current.status = _el(seg, 1)
                current.codes = [c for c in (_el(seg, n) for n in range(2, 7)) if c]
                ack.sets.append(current)
                current, seg_err = None, None
            elif sid == "AK9":
                if current is not None:
                    raise self.err(i, f"IK5 closing the AK2 of set {current.control_number!r} before AK9")
                if not _el(seg, 1):
                    raise self.err(i, "AK9 needs AK901 (the group's acknowledgement code)")
                ack.status = _el(seg, 1)

                def count(n: int, seg: list[str] = seg, i: int = i) -> int | None:
                    v = _el(seg, n)
                    if not v:
                        return None
                    if not v.isdigit():
                        raise self.err(i, f"AK90{n} as a whole number (got {v!r})")
                    return int(v)

                ack.included, ack.received, ack.accepted = count(2), count(3), count(4)
                ack.codes = [c for c in (_el(seg, n) for n in range(5, 10)) if c]
            else:
                raise self.err(i, "a 999 segment (AK2, IK3, IK4, CTX, IK5, AK9)")
            i += 1
        if current is not None:
            raise self.err(tx.end - 1, f"IK5 closing the AK2 of set {current.control_number!r}")
        if not ack.status:
            raise self.err(tx.end - 1, "AK9 (the group's acknowledgement) before SE")
        return ack

    # --- 277CA -----------------------------------------------------------------------------------

    def stc(self, i: int, seg: list[str]) -> StatusReport:
        statuses: list[ClaimStatus] = []
        for n in (1, 10, 11):
            v = _el(seg, n)
            if not v:
                continue
            p = self.parts(v)
            if not p[0]:
                raise self.err(i, f"STC{n:02d}-1 (claim status category code)")
            statuses.append(
                ClaimStatus(
                    category=p[0].upper(),
                    code=(p[1] if len(p) > 1 and p[1] else None),
                    entity=(p[2] if len(p) > 2 and p[2] else None),
                    code_list=(p[3] if len(p) > 3 and p[3] else None),
                )
            )
        if not statuses:
            raise self.err(i, "STC01 (claim status category and status code)")
        when = _el(seg, 2)
        return StatusReport(
            statuses=statuses,
            date=_d8(when) if when else None,
            action=_el(seg, 3) or None,
            amount=_el(seg, 4) or None,
            free_text=_el(seg, 12) or None,
            segment=self.num(i),
        )

    def read_277(self, tx: Transaction) -> ClaimAckSet:
        segs = self.tok.segments
        i = tx.start + 1
        if i >= tx.end - 1 or segs[i][0] != "BHT":
            raise self.err(min(i, tx.end - 1), "BHT right after ST")
        bht = segs[i]
        out = ClaimAckSet(
            interchange_control=_el(tx.isa, 13),
            sender_id=_el(tx.isa, 6),
            receiver_id=_el(tx.isa, 8),
            group_control=_el(tx.gs, 6),
            control_number=_el(tx.st, 2),
            reference=_el(bht, 3) or None,
            created=_d8(_el(bht, 4)),
            segment=self.num(tx.start),
        )
        level = ""  # 20, 21, 19, PT (or DP)
        hl_ids: set[str] = set()
        cur_level: LevelStatus | None = None
        claim: ClaimAck | None = None
        line: LineAck | None = None
        provider_id: str | None = None
        pending_member: str | None = None
        i += 1
        while i < tx.end - 1:
            seg = segs[i]
            sid = seg[0]
            if sid == "HL":
                hl_id, parent, code = _el(seg, 1), _el(seg, 2), _el(seg, 3)
                if not hl_id or not code:
                    raise self.err(i, "HL needs HL01 (ID) and HL03 (level code)")
                if parent and parent not in hl_ids:
                    raise self.err(i, f"HL02 parent {parent!r} to be an earlier HL01")
                if code not in ("20", "21", "19", "22", "23", "PT", "DP"):
                    raise self.err(i, f"HL03 level 20, 21, 19 or PT in a 277CA (got {code!r})")
                self._close(claim, i)
                hl_ids.add(hl_id)
                level, claim, line, cur_level, pending_member = code, None, None, None, None
                if code in ("21", "19"):
                    cur_level = LevelStatus(
                        level="receiver" if code == "21" else "provider", segment=self.num(i)
                    )
                    out.levels.append(cur_level)
            elif not level:
                raise self.err(i, "HL (the information source level) before other segments")
            elif sid == "NM1":
                if level == "20" and _el(seg, 1) in ("PR", "AY"):
                    out.payer_name = _el(seg, 3) or None
                elif cur_level is not None:
                    cur_level.entity_id = _el(seg, 9) or None
                    if level == "19":
                        provider_id = cur_level.entity_id
                elif level in ("PT", "DP", "22", "23"):
                    pending_member = _el(seg, 9) or pending_member
            elif sid == "TRN":
                if level in ("PT", "DP", "22", "23"):
                    if claim is not None:
                        self._close(claim, i)
                    if not _el(seg, 2):
                        raise self.err(i, "TRN02 (the claim's patient control number, CLM01)")
                    claim = ClaimAck(
                        patient_control_number=_el(seg, 2),
                        member_id=pending_member,
                        billing_provider_id=provider_id,
                        segment=self.num(i),
                    )
                    out.claims.append(claim)
                    line = None
                elif cur_level is not None:
                    cur_level.trace = _el(seg, 2) or None
            elif sid == "STC":
                report = self.stc(i, seg)
                if line is not None:
                    line.reports.append(report)
                elif claim is not None:
                    claim.reports.append(report)
                elif cur_level is not None:
                    cur_level.reports.append(report)
                else:
                    raise self.err(i, "STC inside a receiver, provider or claim level (TRN first)")
            elif sid == "QTY" and cur_level is not None:
                v = _el(seg, 2)
                n = int(v) if v.isdigit() else None
                if _el(seg, 1) == "90":
                    cur_level.accepted_count = n
                elif _el(seg, 1) == "AA":
                    cur_level.rejected_count = n
            elif sid == "AMT" and cur_level is not None:
                if _el(seg, 1) == "YU":
                    cur_level.accepted_amount = _el(seg, 2) or None
                elif _el(seg, 1) == "YY":
                    cur_level.rejected_amount = _el(seg, 2) or None
            elif sid == "REF":
                q, v = _el(seg, 1), _el(seg, 2) or None
                if line is not None:
                    if q == "FJ":
                        line.line_control_number = v
                elif claim is not None:
                    if q == "1K":
                        claim.payer_claim_number = v
                    elif q == "D9":
                        claim.clearinghouse_trace = v
            elif sid == "DTP":
                fmt, v = _el(seg, 2), _el(seg, 3)
                first = _d8(v[:8]) if fmt in ("D8", "RD8") else None
                last = _d8(v[9:17]) if fmt == "RD8" and len(v) >= 17 else first
                if v and fmt in ("D8", "RD8") and first is None:
                    raise self.err(i, f"DTP03 as CCYYMMDD or CCYYMMDD-CCYYMMDD (got {v!r})")
                if line is not None:
                    line.service_date = first
                elif claim is not None:
                    claim.service_from, claim.service_to = first, last
            elif sid == "SVC":
                if claim is None:
                    raise self.err(i, "SVC (a service line) inside a claim level (TRN first)")
                p = self.parts(_el(seg, 1))
                line = LineAck(
                    procedure=p[1] if len(p) > 1 and p[1] else None,
                    modifiers=[x for x in p[2:6] if x],
                    charge=_el(seg, 2) or None,
                    units=_el(seg, 7) or None,
                    segment=self.num(i),
                )
                claim.lines.append(line)
            # Other segments (PER, N3, N4...) carry nothing painrcm uses.
            i += 1
        self._close(claim, tx.end - 1)
        return out

    def _close(self, claim: ClaimAck | None, i: int) -> None:
        if claim is not None and not claim.reports:
            raise self.err(
                i, f"an STC status for claim {claim.patient_control_number!r} (segment {claim.segment})"
            )


def one_line(err: InputError) -> InputError:
    """The error with control characters escaped (a message is always one line)."""

    def esc(v: str | None) -> str | None:
        if v is None or v.isprintable():
            return v
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in v)

    err.file, err.place, err.expected = esc(err.file), esc(err.place), esc(err.expected) or ""
    err.args = (err.render(),)
    return err


def read_ack(text: str, file: str, *, strict: bool = False) -> AckFile:
    """Read a 999, 277CA or TA1 file. Raises InputError with the place for a broken file or another
    transaction type."""
    try:
        return _read_ack(text, file, strict=strict)
    except InputError as e:
        raise one_line(e) from None


def _read_ack(text: str, file: str, *, strict: bool) -> AckFile:
    stripped, ta1s, where, pre_warnings = _prepare(text, file)
    try:
        tok = tokenize(stripped, file, strict=strict)
    except InputError as e:
        if where and e.place:
            m = _PLACE.match(e.place)
            if m and 0 < int(m.group(1)) <= len(where):
                e.place = f"segment {where[int(m.group(1)) - 1] + 1}{e.place[m.end() :]}"
                e.args = (e.render(),)
        raise
    out = AckFile(
        file=file,
        # a TA1-only interchange has no group: IEA01 0 is right (segments.py warns about it)
        warnings=pre_warnings
        + [one_line(w).render() for w in tok.warnings if "says '0' functional groups" not in w.render()],
    )
    reader = _Reader(tok, where)
    for idx, seg in ta1s:
        if not _el(seg, 1) or not _el(seg, 4):
            raise InputError(
                file, f"segment {idx + 1} (TA1)", "TA1 needs TA101 (control number) and TA104 (status)"
            )
        out.interchange_acks.append(
            InterchangeAck(
                control_number=_el(seg, 1),
                date=_el(seg, 2) or None,
                status=_el(seg, 4),
                note_code=_el(seg, 5),
                segment=idx + 1,
            )
        )
    for tx in tok.transactions:
        kind, version = tx.type, tx.version
        if kind == "999" and (version.startswith("005010X231") or not version):
            out.functional_acks.append(reader.read_999(tx))
        elif kind == "277" and version.startswith(V277CA):
            out.claim_acks.append(reader.read_277(tx))
        else:
            raise reader.err(
                tx.start,
                f"a 999 (005010X231A1) or 277CA (005010X214) acknowledgement; this is "
                f"{describe_transaction(kind, version)}",
            )
    if not out.functional_acks and not out.claim_acks and not out.interchange_acks:
        raise InputError(file, None, "at least one 999, 277CA or TA1 acknowledgement")
    return out
