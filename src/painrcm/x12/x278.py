"""X12 278 health care services review (005010X217): write requests, read requests and responses.

``write_278_request(request) -> str`` writes one ``AuthRequest`` (painrcm.auth_request_model) or a
list of them as one interchange. Hierarchy written (HL levels): 20 the payer (2000A NM1*X3), 21 the
requester (2000B NM1*1P), 22 the subscriber (2000C NM1*IL, DMG), 23 a dependent patient when there is
one (2000D NM1*QC), EV the patient event (2000E: TRN, UM, DTP*AAH, HI, MSG, NM1*SJ), SS one per service
(2000F: UM, DTP*472, SV1, HSD).

``read_278(text, file)`` checks envelopes like the other readers (x12.segments.tokenize), requires
ST 278 under 005010X217 (any other transaction is refused naming it), and reads each transaction
set as a request (BHT02 13) or a response (BHT02 11): HCR decisions with certification numbers,
dates (DTP*007 effective, 036 expiration, 472 service, AAH event), sessions (HSD*VS), units and the
servicing provider, plus AAA rejections. A broken file raises InputError naming the segment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import ValidationError

from painrcm.auth_request_model import (
    CERTIFICATION_TYPES,
    DECISIONS,
    AuthDecision,
    AuthParty,
    AuthPerson,
    AuthRequest,
    AuthResponse,
    AuthService,
)
from painrcm.errors import InputError
from painrcm.x12.reader_ack import describe_transaction, one_line
from painrcm.x12.segments import Tokens, Transaction, tokenize

VERSION = "005010X217"
# TRN03 of the request trace: 10 characters, "9" + an identifier the requester assigns.
ORIGINATOR = "9PAINRCM00"
_ELEMENT, _COMPONENT, _REPETITION, _TERMINATOR = "*", ":", "^", "~"
_FORBIDDEN = str.maketrans({c: " " for c in "*:^~\r\n\t"})
_CERT_BY_CODE = {v: k for k, v in CERTIFICATION_TYPES.items()}


# --- writing ------------------------------------------------------------------------------------


def _clean(value: object) -> str:
    return " ".join(str(value).translate(_FORBIDDEN).split())


def _num(v: float) -> str:
    text = f"{round(float(v), 3):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def _period(a: date | None, b: date | None) -> tuple[str, str] | None:
    if a is None and b is None:
        return None
    a = a or b
    b = b or a
    assert a is not None and b is not None
    return ("D8", _d8(a)) if a == b else ("RD8", f"{_d8(a)}-{_d8(b)}")


class _Out:
    def __init__(self) -> None:
        self.segments: list[str] = []

    def add(self, *elements: object) -> None:
        parts = [str(e) for e in elements]
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        self.segments.append(_ELEMENT.join(parts))


def _name(p: AuthParty | AuthPerson) -> tuple[str, str, str]:
    """(entity type, last or organization name, first name)."""
    if isinstance(p, AuthParty) and p.name and not p.last_name:
        return "2", _clean(p.name)[:60], ""
    return "1", _clean(p.last_name or "")[:60], _clean(p.first_name or "")[:35]


def _person(out: _Out, code: str, p: AuthPerson) -> None:
    _, last, first = _name(p)
    if p.member_id:
        out.add("NM1", code, "1", last, first, "", "", "", "MI", _clean(p.member_id)[:80])
    else:
        out.add("NM1", code, "1", last, first)
    if p.dob is not None:
        out.add("DMG", "D8", _d8(p.dob), p.sex or "")


def _provider(out: _Out, code: str, p: AuthParty) -> None:
    kind, last, first = _name(p)
    out.add("NM1", code, kind, last, first, "", "", "", "XX", p.npi or "")


def _write_request(out: _Out, r: AuthRequest, hl: int) -> int:
    hl += 1
    top = hl
    out.add("HL", hl, "", "20", "1")
    out.add(
        "NM1",
        "X3",
        "2",
        _clean(r.payer.name or r.payer.id or "")[:60],
        "",
        "",
        "",
        "",
        "PI",
        _clean(r.payer.id),
    )
    hl += 1
    req_hl = hl
    out.add("HL", hl, top, "21", "1")
    _provider(out, "1P", r.requester)
    if r.requester.phone:
        out.add("PER", "IC", _clean(r.requester.contact_name or ""), "TE", r.requester.phone)
    hl += 1
    sub_hl = hl
    out.add("HL", hl, req_hl, "22", "1")
    _person(out, "IL", r.subscriber)
    parent = sub_hl
    if r.patient is not None:
        hl += 1
        out.add("HL", hl, sub_hl, "23", "1")
        _person(out, "QC", r.patient)
        out.add("INS", "N", r.patient.relationship or "19")
        parent = hl
    hl += 1
    ev_hl = hl
    out.add("HL", hl, parent, "EV", "1")
    out.add("TRN", "1", r.request_id, ORIGINATOR)  # validated: no separators
    um04 = f"{r.place_of_service}{_COMPONENT}B"
    cert = CERTIFICATION_TYPES[r.certification_type]
    out.add("UM", r.request_category, cert, r.service_type, um04, "", "U" if r.urgent else "E")
    per = _period(r.event_from, r.event_to)
    if per:
        out.add("DTP", "AAH", *per)
    dx = [
        f"{'ABK' if i == 0 else 'ABF'}{_COMPONENT}{_clean(c).replace('.', '').upper()}"
        for i, c in enumerate(r.diagnoses)
    ]
    out.add("HI", *dx)
    for note in r.notes:
        out.add("MSG", _clean(note)[:264])
    if r.servicing_provider is not None:
        _provider(out, "SJ", r.servicing_provider)
    for s in r.services:
        hl += 1
        out.add("HL", hl, ev_hl, "SS", "0")
        out.add("UM", r.request_category, cert, r.service_type)
        per = _period(s.from_date, s.to_date)
        if per:
            out.add("DTP", "472", *per)
        proc = _COMPONENT.join(["HC", s.code, *[_clean(m).upper() for m in s.modifiers]])
        out.add(
            "SV1", proc, _num(s.charge), "UN" if s.units is not None else "", _num(s.units) if s.units else ""
        )
        if s.sessions is not None:
            out.add("HSD", "VS", s.sessions)
    return hl


def write_278_request(
    request: AuthRequest | Iterable[AuthRequest],
    *,
    sender_id: str = "PAINRCM",
    receiver_id: str = "RECEIVER",
    control_number: int = 1,
    usage: str = "T",
    now: datetime | None = None,
) -> str:
    """One 278 request interchange (one transaction set per request). ``usage``: ISA15 T or P."""
    reqs = [request] if isinstance(request, AuthRequest) else list(request)
    if not reqs:
        raise InputError(None, None, "at least one authorization request")
    if not 0 < control_number < 1_000_000_000:
        raise ValueError("control_number must be between 1 and 999999999")
    if usage not in ("T", "P"):
        raise ValueError("usage must be T or P")
    now = now or datetime.now()
    sender = _clean(sender_id)[:15] or "PAINRCM"
    receiver = _clean(receiver_id)[:15] or "RECEIVER"
    ctrl = f"{control_number:09d}"
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*{now:%y%m%d}*{now:%H%M}*{_REPETITION}*"
        f"00501*{ctrl}*0*{usage}*{_COMPONENT}"
    )
    segments = [
        isa,
        f"GS*HI*{sender}*{receiver}*{now:%Y%m%d}*{now:%H%M}*{control_number}*X*{VERSION}",
    ]
    for n, r in enumerate(reqs, 1):
        st_ctrl = f"{n:04d}"
        body = _Out()
        body.add("ST", "278", st_ctrl, VERSION)
        body.add("BHT", "0007", "13", r.request_id, f"{now:%Y%m%d}", f"{now:%H%M}")
        _write_request(body, r, 0)
        body.add("SE", len(body.segments) + 1, st_ctrl)
        segments += body.segments
    segments += [f"GE*{len(reqs)}*{control_number}", f"IEA*1*{ctrl}"]
    return (_TERMINATOR + "\n").join(segments) + _TERMINATOR + "\n"


# --- reading ------------------------------------------------------------------------------------


@dataclass
class Read278:
    requests: list[AuthRequest] = field(default_factory=list)
    responses: list[AuthResponse] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)


def _el(seg: list[str], n: int) -> str:
    return seg[n].strip() if len(seg) > n else ""


@dataclass
class _Level:
    code: str
    index: int
    party: AuthParty | None = None
    person: AuthPerson | None = None


@dataclass
class _Event:
    index: int
    request_id: str | None = None
    payer_trace: str | None = None
    um: list[str] = field(default_factory=list)
    hcr: list[str] | None = None
    hcr_index: int | None = None
    dates: dict[str, tuple[date, date]] = field(default_factory=dict)
    diagnoses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    servicing: AuthParty | None = None
    rejections: list[str] = field(default_factory=list)
    reference: str | None = None
    services: list[_Service] = field(default_factory=list)


@dataclass
class _Service:
    index: int
    hcr: list[str] | None = None
    hcr_index: int | None = None
    dates: dict[str, tuple[date, date]] = field(default_factory=dict)
    code: str | None = None
    modifiers: list[str] = field(default_factory=list)
    charge: float = 0
    units: float | None = None
    sessions: int | None = None
    servicing: AuthParty | None = None
    rejections: list[str] = field(default_factory=list)
    reference: str | None = None


class _Reader:
    def __init__(self, tok: Tokens) -> None:
        self.tok = tok
        self.comp = tok.delimiters.component

    def err(self, i: int, msg: str) -> InputError:
        return self.tok.error(i, msg)

    def day(self, i: int, v: str) -> date:
        try:
            return date(int(v[:4]), int(v[4:6]), int(v[6:8]))
        except ValueError:
            raise self.err(i, f"a date CCYYMMDD (got {v!r})") from None

    def period(self, i: int, seg: list[str]) -> tuple[date, date]:
        fmt, v = _el(seg, 2), _el(seg, 3)
        if fmt == "D8" and len(v) == 8 and v.isdigit():
            d = self.day(i, v)
            return d, d
        if fmt == "RD8" and len(v) == 17 and v[8] == "-" and v[:8].isdigit() and v[9:].isdigit():
            a, b = self.day(i, v[:8]), self.day(i, v[9:])
            if b < a:
                raise self.err(i, f"a date range whose end is not before its start (got {v!r})")
            return a, b
        raise self.err(i, f"DTP03 as D8 CCYYMMDD or RD8 CCYYMMDD-CCYYMMDD (got {fmt!r} {v!r})")

    def number(self, i: int, v: str, what: str) -> float:
        try:
            x = float(v)
        except ValueError:
            raise self.err(i, f"{what} as a number (got {v!r})") from None
        if x < 0 or not v.replace(".", "", 1).replace("-", "", 1).isdigit():
            raise self.err(i, f"{what} as a non-negative X12 number (got {v!r})")
        return x

    def party(self, i: int, seg: list[str]) -> AuthParty:
        kind, last, first, qual, ident = _el(seg, 2), _el(seg, 3), _el(seg, 4), _el(seg, 8), _el(seg, 9)
        npi = ident if qual == "XX" else None
        if npi is not None and not (len(npi) == 10 and npi.isdigit()):
            raise self.err(i, f"NM109 an NPI of 10 digits after NM108 XX (got {ident!r})")
        if kind == "2":
            return AuthParty(name=last or None, npi=npi, id=ident if qual == "PI" else None)
        return AuthParty(last_name=last or None, first_name=first or None, npi=npi)

    def read(self, tx: Transaction) -> AuthRequest | AuthResponse:
        segs = self.tok.segments
        i = tx.start + 1
        if i >= tx.end - 1 or segs[i][0] != "BHT":
            raise self.err(min(i, tx.end - 1), "BHT right after ST")
        bht = segs[i]
        purpose = _el(bht, 2)
        if purpose not in ("11", "13"):
            raise self.err(i, f"BHT02 11 (response) or 13 (request) (got {purpose!r})")
        bht_date = self.day(i, _el(bht, 4)) if len(_el(bht, 4)) == 8 and _el(bht, 4).isdigit() else None
        levels: dict[str, _Level] = {}
        ids: dict[str, str] = {}
        events: list[_Event] = []
        ev: _Event | None = None
        sv: _Service | None = None
        cur: _Level | None = None
        top_rejections: list[str] = []
        i += 1
        while i < tx.end - 1:
            seg = segs[i]
            sid = seg[0]
            if sid == "HL":
                hid, parent, code = _el(seg, 1), _el(seg, 2), _el(seg, 3)
                if not hid or code not in ("20", "21", "22", "23", "EV", "SS"):
                    raise self.err(i, f"HL with HL01 and HL03 20, 21, 22, 23, EV or SS (got {code!r})")
                if parent and parent not in ids:
                    raise self.err(i, f"HL02 parent {parent!r} to be an earlier HL01")
                ids[hid] = code
                cur, sv = None, None
                if code == "EV":
                    ev = _Event(index=i)
                    events.append(ev)
                elif code == "SS":
                    if ev is None:
                        raise self.err(i, "a service level (SS) under a patient event level (EV)")
                    sv = _Service(index=i)
                    ev.services.append(sv)
                else:
                    cur = _Level(code, i)
                    levels[code] = cur
                    ev = None
            elif sid == "NM1":
                code = _el(seg, 1)
                if cur is not None and cur.code in ("20", "21"):
                    cur.party = self.party(i, seg)
                elif cur is not None and cur.code in ("22", "23"):
                    cur.person = AuthPerson(
                        last_name=_el(seg, 3) or None,
                        first_name=_el(seg, 4) or None,
                        member_id=(_el(seg, 9) or None) if _el(seg, 8) == "MI" else None,
                    )
                elif code in ("SJ", "FA", "71", "72") and (sv or ev):
                    p = self.party(i, seg)
                    if code == "SJ":
                        if sv is not None:
                            sv.servicing = p
                        elif ev is not None:
                            ev.servicing = p
            elif sid == "DMG" and cur is not None and cur.person is not None:
                d = _el(seg, 2)
                if d:
                    cur.person.dob = self.day(i, d)
                sex = _el(seg, 3)
                if sex in ("F", "M", "U"):
                    cur.person.sex = sex  # type: ignore[assignment]
            elif sid == "INS" and cur is not None and cur.person is not None:
                cur.person.relationship = _el(seg, 2) or None
            elif sid == "PER" and cur is not None and cur.party is not None:
                cur.party.contact_name = _el(seg, 2) or None
                phone = _el(seg, 4)
                cur.party.phone = phone if phone.isdigit() and 10 <= len(phone) <= 15 else None
            elif sid == "TRN" and ev is not None and sv is None:
                # A request carries the requester's trace (TRN01 1); a response echoes it as TRN01 2
                # and adds the payer's own as TRN01 1.
                kind, value = _el(seg, 1), _el(seg, 2) or None
                if purpose == "13" or kind == "2":
                    ev.request_id = ev.request_id or value
                else:
                    ev.payer_trace = ev.payer_trace or value
            elif sid == "UM":
                if ev is None:
                    raise self.err(i, "UM inside a patient event (EV) or service (SS) level")
                if not _el(seg, 1):
                    raise self.err(i, "UM01 (request category code)")
                if sv is None:
                    ev.um = seg
            elif sid == "HCR":
                if ev is None:
                    raise self.err(i, "HCR inside a patient event (EV) or service (SS) level")
                code = _el(seg, 1)
                if code not in DECISIONS:
                    raise self.err(i, f"HCR01 action code A1, A2, A3, A4, A6, C, CT or NA (got {code!r})")
                if sv is not None:
                    sv.hcr, sv.hcr_index = seg, i
                else:
                    ev.hcr, ev.hcr_index = seg, i
            elif sid == "DTP" and ev is not None:
                q = _el(seg, 1)
                if q in ("AAH", "472", "007", "036", "102"):
                    (sv.dates if sv is not None else ev.dates)[q] = self.period(i, seg)
            elif sid == "HI" and ev is not None and sv is None:
                for n in range(1, 13):
                    v = _el(seg, n)
                    if not v:
                        continue
                    parts = v.split(self.comp)
                    if len(parts) < 2 or parts[0] not in ("ABK", "ABF", "BK", "BF") or not parts[1]:
                        raise self.err(i, f"HI{n:02d} as ABK or ABF with a diagnosis code (got {v!r})")
                    code = parts[1].upper()
                    ev.diagnoses.append(code[:3] + "." + code[3:] if len(code) > 3 else code)
            elif sid == "MSG" and ev is not None and sv is None:
                if _el(seg, 1):
                    ev.notes.append(_el(seg, 1))
            elif sid in ("SV1", "SV2", "SV3") and sv is not None:
                parts = _el(seg, 1).split(self.comp)
                if len(parts) < 2 or not parts[1]:
                    raise self.err(i, f"{sid}01 as HC:code[:modifiers] (got {_el(seg, 1)!r})")
                sv.code = parts[1].upper()
                sv.modifiers = [m for m in parts[2:6] if m]
                if _el(seg, 2):
                    sv.charge = self.number(i, _el(seg, 2), f"{sid}02 (charge)")
                if _el(seg, 4):
                    sv.units = self.number(i, _el(seg, 4), f"{sid}04 (units)") or None
            elif sid == "HSD" and sv is not None:
                if _el(seg, 1) == "VS" and _el(seg, 2):
                    q = self.number(i, _el(seg, 2), "HSD02 (number of visits)")
                    if q != int(q):
                        raise self.err(i, f"HSD02 as a whole number of visits (got {_el(seg, 2)!r})")
                    sv.sessions = int(q)
            elif sid == "REF" and ev is not None and _el(seg, 1) in ("BB", "NT"):
                # Authorization number (BB) / administrative reference (NT): used when HCR02 is empty.
                target = sv if sv is not None else ev
                target.reference = target.reference or _el(seg, 2) or None
            elif sid == "AAA":
                reason = _el(seg, 3)
                if _el(seg, 1) == "N" and reason:
                    if sv is not None:
                        sv.rejections.append(reason)
                    elif ev is not None:
                        ev.rejections.append(reason)
                    else:
                        top_rejections.append(reason)
            # Other segments (N3, N4, PRV, REF, CL1, CR*, PWK...) carry nothing painrcm keeps.
            i += 1
        if "20" not in levels or levels["20"].party is None:
            raise self.err(tx.start, "a payer level (HL 20 with NM1*X3)")
        if "22" not in levels or levels["22"].person is None:
            raise self.err(tx.start, "a subscriber level (HL 22 with NM1*IL)")
        if not events and not top_rejections:
            raise self.err(tx.start, "a patient event level (HL EV)")
        payer = levels["20"].party
        requester = levels["21"].party if "21" in levels else None
        subscriber = levels["22"].person
        assert subscriber is not None and payer is not None
        patient = levels["23"].person if "23" in levels else None
        if purpose == "13":
            return self.request(tx, events, payer, requester, subscriber, patient)
        return self.response(events, payer, requester, subscriber, patient, bht_date, top_rejections)

    def request(
        self,
        tx: Transaction,
        events: list[_Event],
        payer: AuthParty,
        requester: AuthParty | None,
        subscriber: AuthPerson,
        patient: AuthPerson | None,
    ) -> AuthRequest:
        if len(events) != 1:
            raise self.err(tx.start, "exactly one patient event (HL EV) in a request transaction set")
        ev = events[0]
        um = ev.um
        if not um:
            raise self.err(ev.index, "UM (the review requested) in the patient event")
        facility = _el(um, 4).split(self.comp)[0] if _el(um, 4) else "11"
        ev_dates = ev.dates.get("AAH")
        try:
            return AuthRequest(
                request_id=ev.request_id or "",
                certification_type=_CERT_BY_CODE.get(_el(um, 2), "initial"),  # type: ignore[arg-type]
                request_category=_el(um, 1),  # type: ignore[arg-type]
                service_type=_el(um, 3) or "2",
                place_of_service=facility,
                urgent=_el(um, 6) == "U",
                payer=payer,
                requester=requester or AuthParty(),
                servicing_provider=ev.servicing,
                subscriber=subscriber,
                patient=patient,
                diagnoses=ev.diagnoses,
                event_from=ev_dates[0] if ev_dates else None,
                event_to=ev_dates[1] if ev_dates else None,
                services=[
                    AuthService(
                        code=s.code or "",
                        modifiers=s.modifiers,
                        units=s.units,
                        sessions=s.sessions,
                        from_date=s.dates["472"][0] if "472" in s.dates else None,
                        to_date=s.dates["472"][1] if "472" in s.dates else None,
                        charge=s.charge,
                    )
                    for s in ev.services
                ],
                notes=ev.notes,
            )
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "request"
            raise self.err(ev.index, f"a complete authorization request ({where}: {first['msg']})") from None

    def response(
        self,
        events: list[_Event],
        payer: AuthParty,
        requester: AuthParty | None,
        subscriber: AuthPerson,
        patient: AuthPerson | None,
        bht_date: date | None,
        top_rejections: list[str],
    ) -> AuthResponse:
        decisions: list[AuthDecision] = []
        request_id = payer_trace = None
        servicing = None
        for ev in events:
            request_id = request_id or ev.request_id
            payer_trace = payer_trace or ev.payer_trace
            servicing = servicing or ev.servicing
            own = [s for s in ev.services if s.hcr is not None]
            if ev.hcr is None and not own:
                if ev.rejections:
                    continue  # the request was refused before review (AAA): no decision to record
                raise self.err(ev.index, "an HCR decision in the patient event or its services (a response)")
            if own:
                for s in own:
                    assert s.hcr is not None
                    decisions.append(self.decision("service", s.hcr, s.hcr_index, [s], s.dates, ev, s))
            else:
                assert ev.hcr is not None
                decisions.append(
                    self.decision("event", ev.hcr, ev.hcr_index, ev.services, ev.dates, ev, None)
                )
        return AuthResponse(
            request_id=request_id,
            payer_trace=payer_trace,
            payer=payer,
            requester=requester,
            servicing_provider=servicing,
            subscriber=subscriber,
            patient=patient,
            response_date=bht_date,
            decisions=decisions,
            rejections=top_rejections + [r for ev in events for r in ev.rejections],
        )

    def decision(
        self,
        level: str,
        hcr: list[str],
        index: int | None,
        services: list[_Service],
        dates: dict[str, tuple[date, date]],
        ev: _Event,
        sv: _Service | None,
    ) -> AuthDecision:
        def pick(q: str) -> tuple[date, date] | None:
            return dates.get(q) or ev.dates.get(q)

        eff, exp = pick("007"), pick("036")
        start = end = None
        if eff:
            start, end = eff
        if exp:
            end = exp[1]
            start = start or exp[0]
        if start is None:
            svc = pick("472") or pick("AAH")
            if svc:
                start, end = svc
        sessions = [s.sessions for s in services if s.sessions is not None]
        units = [s.units for s in services if s.units is not None]
        provider = (sv.servicing if sv else None) or ev.servicing
        return AuthDecision(
            level=level,  # type: ignore[arg-type]
            decision=DECISIONS[_el(hcr, 1)],  # type: ignore[arg-type]
            action_code=_el(hcr, 1),
            certification_number=_el(hcr, 2) or (sv.reference if sv else None) or ev.reference,
            reason_code=_el(hcr, 3) or None,
            codes=list(dict.fromkeys(s.code for s in services if s.code)),
            units=sum(units) if units else None,
            sessions=sum(sessions) if sessions else None,
            start_date=start,
            end_date=end,
            servicing_npi=provider.npi if provider else None,
            rejections=(sv.rejections if sv else ev.rejections),
            segment=(index + 1) if index is not None else None,
        )


def read_278(text: str, file: str, *, strict: bool = False) -> Read278:
    """Read a 278 request or response file (see the module docstring)."""
    try:
        return _read_278(text, file, strict=strict)
    except InputError as e:
        raise one_line(e) from None


def _read_278(text: str, file: str, *, strict: bool) -> Read278:
    tok = tokenize(text.lstrip("\ufeff"), file, strict=strict)
    out = Read278(warnings=[one_line(w) for w in tok.warnings])
    reader = _Reader(tok)
    for tx in tok.transactions:
        if tx.type != "278" or not tx.version.startswith(VERSION):
            raise reader.err(
                tx.start,
                f"a 278 authorization transaction (005010X217); this is {describe_transaction(tx.type, tx.version)}",
            )
        try:
            got = reader.read(tx)
        except ValidationError as e:  # a last guard: a value the model refuses, located at the set
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise reader.err(
                tx.start, f"valid values in this transaction set ({where}: {first['msg']})"
            ) from None
        if isinstance(got, AuthRequest):
            out.requests.append(got)
        else:
            out.responses.append(got)
    if not out.requests and not out.responses:
        raise InputError(file, None, "at least one 278 transaction set")
    return out
