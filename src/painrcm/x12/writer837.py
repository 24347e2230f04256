"""837P (005010X222A1) writer: painrcm Encounters -> one X12 interchange.

Layout: one ISA/GS/ST; a billing provider level (HL 20) for each run of consecutive encounters of
the same billing provider (NPI, name, tax id, kind, state), and per encounter one subscriber level
(HL 22, the subscriber is the patient: SBR02 = 18) with one claim (2300) and its service lines.

The encounter does not carry everything the guide requires. These synthetic but valid values are
written where it lacks them (documented in docs/x12.md):

| where | value when missing |
| --- | --- |
| submitter / receiver (1000A/1000B) | names ``PAINRCM SUBMITTER`` / ``PAINRCM RECEIVER``, ids = sender_id / receiver_id |
| submitter contact PER | ``PAINRCM`` telephone ``8005550100`` |
| billing provider name / NPI | ``BILLING PROVIDER`` / ``1234567893`` (check digit valid, not a real provider) |
| billing provider address N3/N4 | ``1 UNKNOWN ST``, ``UNKNOWN``, practice.state or ``TX``, ZIP ``000000000`` |
| billing provider tax id REF*EI | ``000000000`` |
| subscriber address N3/N4 | same placeholder address as the billing provider |
| subscriber name / member id | ``UNKNOWN`` / ``UNKNOWN`` |
| payer name | payer.id |
| line charge SV102 | ``0`` (claim total CLM02 is the sum of line charges) |
| diagnosis pointers SV107 | ``1`` (the first diagnosis) when the line has none; only the first four are written |
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from painrcm.errors import InputError
from painrcm.model import Encounter, Line

if TYPE_CHECKING:
    from painrcm.x12.reader837 import Source837

PLACEHOLDER_NPI = "1234567893"
PLACEHOLDER_TAX_ID = "000000000"
PLACEHOLDER_STATE = "TX"
PLACEHOLDER_ZIP = "000000000"
SBR09_BY_PLAN = {"medicare": "MB", "medicaid": "MC", "medicare_advantage": "16", "commercial": "CI"}
ASC_TAXONOMY = "261QA1903X"

_ELEMENT = "*"
_COMPONENT = ":"
_REPETITION = "^"
_TERMINATOR = "~"
_FORBIDDEN = str.maketrans({c: " " for c in "*:^~\r\n\t"})


def _clean(value: object) -> str:
    """X12-safe text: separators and control characters become spaces."""
    return " ".join(str(value).translate(_FORBIDDEN).split())


def _amount(value: float | None) -> str:
    v = round(float(value or 0.0), 2)
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _quantity(value: float | None) -> str:
    v = round(float(1 if value is None else value), 3)
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def _dx(code: str) -> str:
    return code.replace(".", "").strip().upper()


class _Out:
    def __init__(self) -> None:
        self.segments: list[str] = []

    def add(self, *elements: object) -> None:
        parts = [str(e) for e in elements]
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        self.segments.append(_ELEMENT.join(parts))


def write_837(
    encounters: Iterable[Encounter],
    *,
    sender_id: str = "PAINRCM",
    receiver_id: str = "RECEIVER",
    submitter_name: str = "PAINRCM SUBMITTER",
    receiver_name: str = "PAINRCM RECEIVER",
    control_number: int = 1,
    usage: str = "T",
    now: datetime | None = None,
    newline: bool = True,
    frequencies: Mapping[str, tuple[str, str | None]] | None = None,
    sources: Sequence[Source837 | None] | None = None,
) -> str:
    """Write ``encounters`` as one 5010 837P interchange. ``usage``: ISA15, T (test) or P (production).

    ``frequencies``: encounter ID -> (claim frequency code, payer claim control number) for corrected
    (7) and voided (8) claims: CLM05-3 and REF*F8 (default 1, original, without REF*F8).

    ``sources``: for each encounter, where it was read from (``Read837.sources``) or None. Claims with
    a source are written from their own segments with only the corrections applied (painrcm.x12.
    rewrite837: nothing the file held is lost or invented; the envelope, header and usage are then the
    first source's). Claims without one are written from the model with the placeholders below.

    Raises InputError when an encounter cannot be written (no lines, no diagnoses, too many diagnoses,
    or a change its X12 source cannot carry), and, for a production file, when it would carry
    placeholder data (naming what is missing).
    """
    encs = list(encounters)
    if not encs:
        raise InputError(None, None, "no encounters to write")
    freqs = dict(frequencies or {})
    for eid, (code, ref) in freqs.items():
        if code not in ("1", "7", "8"):
            raise InputError(None, f"encounter {eid!r}", f"claim frequency code 1, 7 or 8 (got {code!r})")
        if code in ("7", "8") and usage == "P" and not ref:
            raise InputError(
                None,
                f"encounter {eid!r}",
                "the payer's claim control number (835 CLP07) for a corrected or voided claim (REF*F8)",
            )
    if usage == "P":
        _refuse_placeholders(encs)
    if not 0 < control_number < 1_000_000_000:
        raise ValueError("control_number must be between 1 and 999999999")
    if usage not in ("T", "P"):
        raise ValueError("usage must be T or P")
    now = now or datetime.now()
    if sources is not None and any(src is not None for src in sources):
        from painrcm.x12.rewrite837 import write_from_sources

        if len(sources) != len(encs):
            raise ValueError("sources must give one entry (or None) per encounter")
        return write_from_sources(
            encs, sources, control_number=control_number, now=now, newline=newline, frequencies=freqs
        )
    yymmdd, ccyymmdd, hhmm = now.strftime("%y%m%d"), now.strftime("%Y%m%d"), now.strftime("%H%M")
    sender = _clean(sender_id)[:15] or "PAINRCM"
    receiver = _clean(receiver_id)[:15] or "RECEIVER"
    ctrl = f"{control_number:09d}"
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*{yymmdd}*{hhmm}*{_REPETITION}*00501*"
        f"{ctrl}*0*{usage}*{_COMPONENT}"
    )
    st_ctrl = f"{control_number % 10000:04d}"
    body = _Out()
    body.add("ST", "837", st_ctrl, "005010X222A1")
    body.add("BHT", "0019", "00", _clean(f"PAINRCM{control_number}")[:30], ccyymmdd, hhmm, "CH")
    body.add("NM1", "41", "2", _clean(submitter_name)[:60], "", "", "", "", "46", sender)
    body.add("PER", "IC", "PAINRCM", "TE", "8005550100")
    body.add("NM1", "40", "2", _clean(receiver_name)[:60], "", "", "", "", "46", receiver)
    hl = 0
    bp_hl = 0
    last_key: tuple[object, ...] | None = None
    for enc in encs:
        key = _billing_key(enc)
        # Consecutive claims of the same billing provider share one billing provider level (HL 20).
        hl, bp_hl = _write_claim(
            body, enc, hl, bp_hl if key == last_key else 0, freqs.get(enc.encounter_id, ("1", None))
        )
        last_key = key
    body.add("SE", str(len(body.segments) + 1), st_ctrl)
    segments = [
        isa,
        f"GS*HC*{sender}*{receiver}*{ccyymmdd}*{hhmm}*{control_number}*X*005010X222A1",
        *body.segments,
        f"GE*1*{control_number}",
        f"IEA*1*{ctrl}",
    ]
    sep = _TERMINATOR + ("\n" if newline else "")
    return sep.join(segments) + sep


def _check_id(where: str, what: str, value: str, low: int, high: int) -> None:
    clean = _clean(value)
    if clean != value.strip():
        raise InputError(None, where, f"{what} {value!r} contains X12 separators (* : ^ ~) or line breaks")
    if not low <= len(clean) <= high:
        raise InputError(None, where, f"{what} {value!r} must be {low} to {high} characters for an 837P")


def _billing_key(enc: Encounter) -> tuple[object, ...]:
    pr = enc.practice
    return (pr.npi, pr.name, pr.tax_id, pr.kind, pr.state)


def _refuse_placeholders(encs: list[Encounter]) -> None:
    """A production file must not carry the placeholders of the table above: name what is missing."""
    for enc in encs:
        missing = []
        pr, pt = enc.practice, enc.patient
        for what, value in (
            ("practice name", pr.name),
            ("practice NPI", pr.npi),
            ("practice tax ID", pr.tax_id),
            ("patient last name", pt.last_name),
            ("patient first name", pt.first_name),
            ("patient member ID", pt.member_id),
            ("payer name", enc.payer.name),
        ):
            if not value:
                missing.append(what)
        no_charge = [str(n) for n, ln in enumerate(enc.lines or [], 1) if not ln.charge]
        if no_charge:
            missing.append(f"charges of line(s) {', '.join(no_charge)}")
        if not getattr(pr, "address", None):
            missing.append("billing provider address")
        if not getattr(pt, "address", None):
            missing.append("patient address")
        if missing:
            raise InputError(
                None,
                f"encounter {enc.encounter_id!r}",
                "real data for a production 837P (--production); missing: " + "; ".join(missing),
            )


def _write_claim(
    out: _Out, enc: Encounter, hl: int, bp_hl: int, frequency: tuple[str, str | None] = ("1", None)
) -> tuple[int, int]:
    """Write one claim (and its billing provider level unless ``bp_hl`` names one already written);
    return the last HL number used and the billing provider's HL number."""
    where = f"encounter {enc.encounter_id!r}"
    lines: list[Line] = list(enc.lines or [])
    if not lines:
        raise InputError(None, where, "has no lines to bill: code it first")
    dx = [_dx(d) for d in enc.diagnoses if _dx(d)]
    if not dx:
        raise InputError(None, where, "needs at least one diagnosis for an 837P (HI)")
    if len(dx) > 12:
        raise InputError(None, where, f"has {len(dx)} diagnoses; an 837P claim holds at most 12")
    for n, ln in enumerate(lines, 1):  # an 837P holds decimal numbers only (no inf or nan)
        for what, value in (("charge", ln.charge), ("units", ln.units)):
            if value is not None and not (math.isfinite(value) and abs(value) < 1e10):
                raise InputError(None, f"{where}, line {n}", f"a finite {what} (got {value!r})")
    pr = enc.practice
    _check_id(where, "encounter_id (CLM01)", enc.encounter_id, 1, 38)
    if pt_id := enc.patient.member_id:
        _check_id(where, "patient.member_id", pt_id, 2, 80)
    _check_id(where, "payer.id", enc.payer.id, 2, 80)
    for what, npi in (("practice.npi", pr.npi), ("rendering_provider.npi", enc.rendering_provider.npi)):
        if npi is not None and not (len(npi) == 10 and npi.isdigit()):
            raise InputError(None, where, f"{what} {npi!r} must be a 10-digit NPI")
    if pr.tax_id is not None and not 9 <= len(_clean(pr.tax_id)) <= 30:
        raise InputError(None, where, f"practice.tax_id {pr.tax_id!r} must be 9 to 30 characters")
    for n, ln in enumerate(lines, 1):
        for what, value in (
            ("control_number", ln.control_number),
            ("authorization_number", ln.authorization_number),
        ):
            if value is not None:
                _check_id(where, f"lines[{n - 1}].{what}", value, 1, 50)
    if enc.authorization_number is not None:
        _check_id(where, "authorization_number", enc.authorization_number, 1, 50)
    state = pr.state or PLACEHOLDER_STATE
    if not bp_hl:
        # 2000A billing provider
        hl += 1
        bp_hl = hl
        out.add("HL", bp_hl, "", "20", "1")
        if pr.kind == "asc":
            out.add("PRV", "BI", "PXC", ASC_TAXONOMY)
        out.add(
            "NM1",
            "85",
            "2",
            _clean(pr.name or "BILLING PROVIDER")[:60],
            "",
            "",
            "",
            "",
            "XX",
            _clean(pr.npi or PLACEHOLDER_NPI),
        )
        out.add("N3", "1 UNKNOWN ST")
        out.add("N4", "UNKNOWN", state, PLACEHOLDER_ZIP)
        out.add("REF", "EI", _clean(pr.tax_id or PLACEHOLDER_TAX_ID))
    # 2000B subscriber (= patient)
    hl += 1
    out.add("HL", hl, bp_hl, "22", "0")
    out.add("SBR", "P", "18", "", "", "", "", "", "", SBR09_BY_PLAN[enc.payer.plan])
    pt = enc.patient
    out.add(
        "NM1",
        "IL",
        "1",
        _clean(pt.last_name or "UNKNOWN")[:60],
        _clean(pt.first_name or "")[:35],
        "",
        "",
        "",
        "MI",
        _clean(pt.member_id or "UNKNOWN"),
    )
    out.add("N3", "1 UNKNOWN ST")
    out.add("N4", "UNKNOWN", state, PLACEHOLDER_ZIP)
    if pt.dob is not None:
        out.add("DMG", "D8", _d8(pt.dob), pt.sex if pt.sex in ("F", "M", "U") else "U")
    payer_id = _clean(enc.payer.id) or "UNKNOWN"
    out.add("NM1", "PR", "2", _clean(enc.payer.name or payer_id)[:60], "", "", "", "", "PI", payer_id)
    # 2300 claim
    total = sum(float(ln.charge or 0.0) for ln in lines)
    pos = enc.place_of_service
    out.add(
        "CLM",
        _clean(enc.encounter_id),
        _amount(total),
        "",
        "",
        f"{pos}{_COMPONENT}B{_COMPONENT}{frequency[0]}",
        "Y",
        "A",
        "Y",
        "Y",
    )
    if enc.authorization_number:
        out.add("REF", "G1", _clean(enc.authorization_number))
    if frequency[0] in ("7", "8") and frequency[1]:
        out.add("REF", "F8", _clean(frequency[1]))
    out.add("HI", *[f"{'ABK' if n == 0 else 'ABF'}{_COMPONENT}{code}" for n, code in enumerate(dx)])
    ref = enc.referring_provider
    if ref is not None and (ref.npi or ref.name):
        # 2310A referring provider (person); NM109 only with an NPI
        # the reader names a person "NM104 NM103": the last word is NM103 (last name)
        rest, _, last = _clean(ref.name or "REFERRING PROVIDER").rpartition(" ")
        out.add(
            "NM1",
            "DN",
            "1",
            last[:60],
            rest[:35],
            "",
            "",
            "",
            "XX" if ref.npi else "",
            _clean(ref.npi or ""),
        )
    rp = enc.rendering_provider
    if rp.npi:
        out.add(
            "NM1",
            "82",
            "1",
            _clean(rp.name or "RENDERING PROVIDER")[:60],
            "",
            "",
            "",
            "",
            "XX",
            _clean(rp.npi),
        )
    # 2400 lines
    for n, ln in enumerate(lines, 1):
        out.add("LX", n)
        proc = _COMPONENT.join([ln.code, *ln.modifiers[:4]])
        ptrs = [p for p in (ln.diagnosis_pointers or [1]) if 1 <= p <= len(dx)][:4] or [1]
        out.add(
            "SV1",
            f"HC{_COMPONENT}{proc}",
            _amount(ln.charge),
            "UN",
            _quantity(ln.units),
            ln.place_of_service or "",
            "",
            _COMPONENT.join(str(p) for p in ptrs),
        )
        out.add("DTP", "472", "D8", _d8(ln.date_of_service or enc.date_of_service))
        if ln.control_number:
            out.add("REF", "6R", _clean(ln.control_number))
        if ln.authorization_number:
            out.add("REF", "G1", _clean(ln.authorization_number))
    return hl, bp_hl
