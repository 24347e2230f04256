"""Write corrected 837P claims back from the X12 they were read from (``write_837(..., sources=...)``).

A claim read from an 837P carries more than an Encounter holds: the subscriber/patient hierarchy and
relationship, SBR values, names and addresses of every loop, referring, supervising and facility
providers, accident and other dates, coordination-of-benefits loops, minutes (SV103 ``MJ``), code-list
qualifiers, line-level notes. So a claim with a source (painrcm.x12.reader837.Source837) is written
from its own segments, and only what the corrected Encounter changed is written anew:

- service lines are matched to the lines read (unchanged, or the same line with another code,
  modifiers, units, charge or pointers: its SV1 is rewritten in place, every other element and every
  other segment of the line is kept); lines the correction removed are left out, lines it added are
  written as the model writer writes them; LX is renumbered;
- CLM02 becomes the sum of the line charges when the lines changed (kept as read otherwise);
- HL numbers are renumbered (HL02 points at the new parent number); levels shared by consecutive
  claims are written once; SE01, GE01 and IEA01 are counted again.

What the source cannot carry is refused with a located message rather than dropped: a claim-level
field of the Encounter that differs from what was read (say a diagnosis or the payer), a changed line
date, place of service, authorization or control number, or a segment holding a character this writer
uses as a separator.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

from painrcm.errors import InputError
from painrcm.model import Encounter, Line
from painrcm.x12.reader837 import Source837
from painrcm.x12.writer837 import _clean, _Out, _write_claim

ELEMENT, COMPONENT, REPETITION, TERMINATOR = "*", ":", "^", "~"
_SEPARATORS = (ELEMENT, COMPONENT, REPETITION, TERMINATOR)
# Claim-level fields that the written source must agree with.
_CLAIM_FIELDS = (
    "encounter_id",
    "practice",
    "rendering_provider",
    "patient",
    "payer",
    "date_of_service",
    "place_of_service",
    "diagnoses",
    "authorization_number",
    "referring_provider",
)
# Line fields a correction may change in place (in SV1); any other changed field is refused.
_SV1_FIELDS = ("code", "modifiers", "units", "charge", "diagnosis_pointers")
_KEPT_LINE_FIELDS = ("date_of_service", "place_of_service", "authorization_number", "control_number")


class _Text:
    """Segments of one source file re-written with this writer's separators."""

    def __init__(self, src: Source837) -> None:
        d = src.delimiters
        self.segments = src.segments
        self.element = d.element
        self.component = d.component
        self.repetition = d.repetition
        self.same = d.element == ELEMENT and d.component == COMPONENT and d.repetition in (None, REPETITION)
        table = {d.element: ELEMENT, d.component: COMPONENT}
        if d.repetition is not None:
            table[d.repetition] = REPETITION
        self.table = str.maketrans(table)
        self.own = {d.element, d.component, d.repetition}

    def segment(self, index: int, where: str) -> str:
        s = self.segments[index]
        for ch in _SEPARATORS:
            if ch in s and ch not in self.own:
                sid = s.split(self.element, 1)[0]
                raise InputError(
                    None,
                    f"{where}: source segment {index + 1} ({sid})",
                    f"holds {ch!r}, a separator of the written file ({ELEMENT} {COMPONENT} {REPETITION} "
                    f"{TERMINATOR}); correct the source file or write the claim without its source",
                )
        return s if self.same else s.translate(self.table)

    def elements(self, index: int, where: str) -> list[str]:
        return self.segment(index, where).split(ELEMENT)


def _amount(value: float | Decimal | None) -> str:
    v = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    text = format(v, "f").rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _quantity(value: float | None) -> str:
    v = Decimal(str(1 if value is None else value)).quantize(Decimal("0.001"))
    return format(v, "f").rstrip("0").rstrip(".") or "0"


def _same_line(a: Line, b: Line, fields: Sequence[str]) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def _match(fixed: list[Line], read: list[Line]) -> list[int | None]:
    """For each corrected line, the index of the line read it stands for (None: a new line)."""
    used: set[int] = set()
    out: list[int | None] = []
    keys = (
        lambda a, b: a == b,
        lambda a, b: a.code == b.code and _same_line(a, b, _KEPT_LINE_FIELDS + ("charge",)),
        lambda a, b: _same_line(a, b, _KEPT_LINE_FIELDS + ("charge",)),
        lambda a, b: a.code == b.code and a.date_of_service == b.date_of_service,
    )
    for ln in fixed:
        found = None
        for same in keys:
            found = next((k for k, r in enumerate(read) if k not in used and same(ln, r)), None)
            if found is not None:
                break
        if found is not None:
            used.add(found)
        out.append(found)
    return out


def _sv1(els: list[str], old: Line, new: Line, where: str) -> str:
    """The SV1 elements of ``old`` with what ``new`` changed."""
    els = els + [""] * (8 - len(els))
    if new.code != old.code or new.modifiers != old.modifiers:
        parts = els[1].split(COMPONENT)
        composite = [parts[0] or "HC", new.code, *new.modifiers[:4]]
        if len(parts) > 6:  # SV101-7 description, kept in its place
            composite += [""] * (6 - len(composite)) + parts[6:]
        els[1] = COMPONENT.join(composite)
    if new.charge != old.charge:
        els[2] = _amount(new.charge)
    if new.units != old.units:
        els[4] = _quantity(new.units)
    if new.diagnosis_pointers != old.diagnosis_pointers:
        ptrs = [str(p) for p in (new.diagnosis_pointers or [1])][:4]
        els[7] = COMPONENT.join(ptrs)
    while len(els) > 1 and els[-1] == "":
        els.pop()
    return ELEMENT.join(els)


class _Body:
    def __init__(self) -> None:
        self.segments: list[str] = []
        self.hl = 0
        self.keys: list[object] = [None, None, None]  # billing provider, subscriber, patient written last
        self.parents = [0, 0, 0]

    def add(self, segment: str) -> None:
        self.segments.append(segment)

    def level(self, depth: int, key: object, text: _Text, span: tuple[int, int], where: str) -> None:
        """Write a billing provider (0), subscriber (1) or patient (2) level unless the claim before
        shares it; its HL gets the next number and points at its parent's."""
        if self.keys[depth] == key:
            return
        self.keys[depth] = key
        for k in range(depth + 1, 3):
            self.keys[k] = None
        first, end = span
        hl = text.elements(first, where)
        hl = hl + [""] * (5 - len(hl))
        self.hl += 1
        self.parents[depth] = self.hl
        parent = "" if depth == 0 else str(self.parents[depth - 1])
        self.add(ELEMENT.join([hl[0], str(self.hl), parent, hl[3], hl[4]]).rstrip(ELEMENT))
        for i in range(first + 1, end):
            self.add(text.segment(i, where))


def _check_claim(enc: Encounter, read: Encounter, where: str) -> None:
    for name in _CLAIM_FIELDS:
        if getattr(enc, name) != getattr(read, name):
            raise InputError(
                None,
                where,
                f"{name} differs from the claim read from X12; a claim with an X12 source is written from "
                "its segments, which would not carry this change (write it without its source)",
            )


def write_claim(
    body: _Body,
    enc: Encounter,
    src: Source837,
    texts: dict[int, _Text],
    frequency: tuple[str, str | None] = ("1", None),
) -> None:
    """One claim from its own segments. ``frequency``: (CLM05-3, payer claim number) of a corrected (7)
    or voided (8) claim; CLM05-3 is set and the claim's REF*F8 replaced (kept as read for "1")."""
    where = f"encounter {enc.encounter_id!r}"
    read = src.encounter
    _check_claim(enc, read, where)
    text = texts.setdefault(id(src.segments), _Text(src))
    ident = id(src.segments)
    body.level(0, (ident, src.billing), text, src.billing, where)
    body.level(1, (ident, src.subscriber), text, src.subscriber, where)
    if src.patient is not None:
        body.level(2, (ident, src.patient), text, src.patient, where)
    first, end = src.claim
    starts = list(src.lines)
    read_lines = list(read.lines or [])
    fixed = list(enc.lines or [])
    if not fixed:
        raise InputError(None, where, "has no lines to bill")
    matches = _match(fixed, read_lines)
    changed = matches != list(range(len(read_lines))) or any(
        m is not None and fixed[k].charge != read_lines[m].charge for k, m in enumerate(matches)
    )
    clm = text.elements(first, where)
    if changed:
        total = Decimal(0)
        for ln in fixed:
            try:
                total += Decimal(str(ln.charge or 0))
            except InvalidOperation:  # pragma: no cover - charges are floats
                raise InputError(None, where, f"line charge {ln.charge!r} is not a number") from None
        clm = clm + [""] * (3 - len(clm))
        clm[2] = _amount(total)
    code, payer_number = frequency
    corrected = code in ("7", "8")
    if corrected:
        clm = clm + [""] * (6 - len(clm))
        parts = clm[5].split(COMPONENT) + [""] * (3 - len(clm[5].split(COMPONENT)))
        parts[2] = code
        clm[5] = COMPONENT.join(parts)
    body.add(ELEMENT.join(clm))
    f8_written = False
    for i in range(first + 1, starts[0] if starts else end):
        seg = text.segment(i, where)
        if corrected and seg.startswith(f"REF{ELEMENT}F8{ELEMENT}"):
            continue  # replaced by the payer's number below
        if corrected and payer_number and not f8_written and seg.startswith(f"HI{ELEMENT}"):
            body.add(f"REF{ELEMENT}F8{ELEMENT}{_clean(payer_number)}")  # 2300 REF comes before HI
            f8_written = True
        body.add(seg)
    bounds = [*starts, end]
    for n, (ln, m) in enumerate(zip(fixed, matches, strict=True), 1):
        if m is None:
            _new_line(body, enc, ln, n)
            continue
        old = read_lines[m]
        for f in _KEPT_LINE_FIELDS:
            if getattr(ln, f) != getattr(old, f):
                raise InputError(
                    None,
                    f"{where}: line {n}",
                    f"{f} differs from the line read from X12; only code, modifiers, units, charge and "
                    "pointers are rewritten in a line read from X12",
                )
        lx = text.elements(bounds[m], where)
        body.add(ELEMENT.join([lx[0], str(n), *lx[2:]]) if changed else ELEMENT.join(lx))
        for i in range(bounds[m] + 1, bounds[m + 1]):
            seg = text.segment(i, where)
            if seg.startswith("SV1" + ELEMENT) and not _same_line(ln, old, _SV1_FIELDS):
                seg = _sv1(seg.split(ELEMENT), old, ln, f"{where}: line {n}")
            body.add(seg)


def _new_line(body: _Body, enc: Encounter, ln: Line, n: int) -> None:
    body.add(f"LX{ELEMENT}{n}")
    proc = COMPONENT.join([ln.code, *ln.modifiers[:4]])
    ptrs = COMPONENT.join(str(p) for p in (ln.diagnosis_pointers or [1])[:4])
    els = [
        "SV1",
        f"HC{COMPONENT}{proc}",
        _amount(ln.charge),
        "UN",
        _quantity(ln.units),
        ln.place_of_service or "",
        "",
        ptrs,
    ]
    body.add(ELEMENT.join(els))
    dos = ln.date_of_service or enc.date_of_service
    body.add(f"DTP{ELEMENT}472{ELEMENT}D8{ELEMENT}{dos:%Y%m%d}")
    if ln.control_number:
        body.add(f"REF{ELEMENT}6R{ELEMENT}{ln.control_number}")
    if ln.authorization_number:
        body.add(f"REF{ELEMENT}G1{ELEMENT}{ln.authorization_number}")


def write_from_sources(
    encounters: Sequence[Encounter],
    sources: Sequence[Source837 | None],
    *,
    control_number: int,
    now: datetime,
    newline: bool,
    frequencies: dict[str, tuple[str, str | None]] | None = None,
) -> str:
    """One interchange with every claim written from its source (see the module docstring). The
    envelope and header (ISA sender/receiver, usage, GS sender/receiver, BHT, 1000A, 1000B) are the
    first source's; control numbers are ``control_number``."""
    first = next(src for src in sources if src is not None)
    texts: dict[int, _Text] = {}
    head = texts.setdefault(id(first.segments), _Text(first))
    isa_i, gs_i, st_i, hl_i = first.header
    where = "interchange header"
    isa = first.segments[isa_i].split(first.delimiters.element)
    ctrl = f"{control_number:09d}"
    isa_out = [
        *isa[:9],
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        REPETITION,
        isa[12],
        ctrl,
        isa[14],
        isa[15],
        COMPONENT,
    ]
    gs = head.elements(gs_i, where)
    gs_out = [*gs[:4], now.strftime("%Y%m%d"), now.strftime("%H%M"), str(control_number), *gs[7:]]
    st = head.elements(st_i, where)
    st_ctrl = f"{control_number % 10000:04d}"
    body = _Body()
    body.add(ELEMENT.join(["ST", "837", st_ctrl, *st[3:4]]))
    for i in range(st_i + 1, hl_i):
        body.add(head.segment(i, where))
    for enc, src in zip(encounters, sources, strict=True):
        freq = (frequencies or {}).get(enc.encounter_id, ("1", None))
        if src is not None:
            write_claim(body, enc, src, texts, freq)
            continue
        # a claim without a source (encounter JSON): written as the model writer writes it
        out = _Out()
        body.hl, _bp = _write_claim(out, enc, body.hl, 0, freq)
        body.segments.extend(out.segments)
        body.keys = [None, None, None]
    body.add(f"SE{ELEMENT}{len(body.segments) + 1}{ELEMENT}{st_ctrl}")
    segments = [
        ELEMENT.join(isa_out),
        ELEMENT.join(gs_out),
        *body.segments,
        f"GE{ELEMENT}1{ELEMENT}{control_number}",
        f"IEA{ELEMENT}1{ELEMENT}{ctrl}",
    ]
    sep = TERMINATOR + ("\n" if newline else "")
    return sep.join(segments) + sep
