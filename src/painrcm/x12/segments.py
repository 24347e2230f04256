"""X12 tokenizer and envelope checker.

The interchange header ISA is fixed width (106 characters including the segment terminator):
the element separator is its 4th character, the repetition separator is ISA11 (5010), the
component separator is ISA16 and the segment terminator is the character right after ISA16.
Line breaks after segment terminators are tolerated (they are removed before splitting).

Segments are numbered 1-based across the whole file (the first ISA is segment 1); every error
names the segment as ``segment N (ID)``.

Envelope rules checked here:
- ISA width, separator positions, distinct separators, ISA13 nine digits;
- ISA/IEA, GS/GE and ST/SE nesting;
- control numbers: ISA13 = IEA02, GS06 = GE02, ST02 = SE02 (a mismatch refuses the file);
- counts: SE01 = segments from ST to SE inclusive, GE01 = transaction sets in the group,
  IEA01 = groups in the interchange. Count mismatches are common in files real trading
  partners exchange (several published sample files get SE01 wrong), so by default they are
  reported as warnings; ``strict=True`` refuses the file instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel

from painrcm.errors import InputError
from painrcm.gcpause import no_gc  # noqa: F401 (re-exported: older readers, bench --ref, import it here)

ISA_LENGTH = 106
# Index of the element separator before each of ISA01..ISA16 in the fixed-width ISA.
_ISA_SEP_POSITIONS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_ISA_NAMES = tuple(f"ISA{i:02d}" for i in range(1, 17))
ENVELOPE_IDS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(slots=True)
class Transaction:
    """One ST..SE transaction set: ``segments[start:end]`` holds ST..SE inclusive."""

    start: int
    end: int
    st: list[str]
    gs: list[str]
    isa: list[str]

    @property
    def type(self) -> str:
        return self.st[1] if len(self.st) > 1 else ""

    @property
    def version(self) -> str:
        """The implementation guide: ST03, else GS08."""
        if len(self.st) > 3 and self.st[3]:
            return self.st[3]
        return self.gs[8] if len(self.gs) > 8 else ""


@dataclass(slots=True)
class Tokens:
    file: str
    delimiters: Delimiters
    segments: list[list[str]]
    transactions: list[Transaction] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)

    def place(self, index: int) -> str:
        """Location of the segment at 0-based ``index``."""
        seg = self.segments[index]
        return f"segment {index + 1} ({seg[0] if seg and seg[0] else '?'})"

    def error(self, index: int, expected: str) -> InputError:
        return InputError(self.file, self.place(index), expected)


def _printable(ch: str) -> str:
    return repr(ch) if not ch.isprintable() or ch.isspace() else f"'{ch}'"


# The information separators FS, GS, RS and US (0x1C-0x1F) are valid X12 delimiters (real ERAs use
# them) although Python counts them as whitespace.
CONTROL_SEPARATORS = frozenset("\x1c\x1d\x1e\x1f")


def _bad_separator(ch: str) -> bool:
    if ch in CONTROL_SEPARATORS:
        return False
    return ch.isalnum() or ch.isspace()


def read_delimiters(text: str, file: str) -> Delimiters:
    """Check the fixed-width ISA at the start of ``text`` and return its separators."""
    if not text.startswith("ISA"):
        head = text[:20].split("\n", 1)[0]
        raise InputError(file, "segment 1", f"an X12 interchange must start with ISA; found {head[:20]!r}")
    if len(text) < ISA_LENGTH:
        raise InputError(
            file,
            "segment 1 (ISA)",
            f"ISA is fixed width ({ISA_LENGTH} characters); the file ends after {len(text)}",
        )
    sep = text[3]
    if _bad_separator(sep):
        raise InputError(
            file,
            "segment 1 (ISA)",
            f"element separator {_printable(sep)} must not be a letter, digit or space",
        )
    for k, pos in enumerate(_ISA_SEP_POSITIONS):
        if text[pos] != sep:
            prev = _ISA_NAMES[k - 1]
            width = pos - _ISA_SEP_POSITIONS[k - 1] - 1
            raise InputError(
                file,
                "segment 1 (ISA)",
                f"ISA is fixed width ({ISA_LENGTH} characters): {prev} must be exactly {width} characters, "
                f"so the element separator {_printable(sep)} was expected at character {pos + 1}, "
                f"found {_printable(text[pos])}",
            )
    body = text[: ISA_LENGTH - 2]  # up to ISA15; ISA16 is checked below
    if body.count(sep) != 16:
        raise InputError(file, "segment 1 (ISA)", "ISA must have exactly 16 elements of fixed width")
    component = text[104]
    terminator = text[105]
    repetition: str | None = text[82]
    if repetition is not None and (_bad_separator(repetition)):
        repetition = None  # 4010-style ISA11 ("U"): no repetition separator
    if _bad_separator(component) or component == sep:
        raise InputError(
            file,
            "segment 1 (ISA)",
            f"ISA16 component separator {_printable(component)} is not a valid separator",
        )
    if (terminator.isalnum() or terminator == " " or terminator in (sep, component)) and (
        terminator not in CONTROL_SEPARATORS
    ):
        raise InputError(
            file,
            "segment 1 (ISA)",
            f"segment terminator (character {ISA_LENGTH}) {_printable(terminator)} is not a valid separator",
        )
    if repetition is not None and repetition in (sep, component, terminator):
        raise InputError(
            file,
            "segment 1 (ISA)",
            f"ISA11 repetition separator {_printable(repetition)} clashes with another separator",
        )
    if not text[90:99].isdigit():
        raise InputError(
            file, "segment 1 (ISA)", f"ISA13 control number must be 9 digits, found {text[90:99]!r}"
        )
    return Delimiters(element=sep, component=component, repetition=repetition, segment=terminator)


def split_segments(text: str, file: str) -> tuple[Delimiters, list[list[str]]]:
    """Split ``text`` into segments (lists of elements, element 0 the segment ID)."""
    delims, raw = raw_segments(text, file)
    sep = delims.element
    return delims, [s.split(sep) for s in raw]


def raw_segments(text: str, file: str) -> tuple[Delimiters, list[str]]:
    """Check the ISA and split ``text`` on the segment terminator only (segments as strings)."""
    delims, text, _end, blank, _breaks = _prepared(text, file)
    raw = text.split(delims.segment)
    if blank:
        del raw[-blank:]
    return delims, raw


# Characters of text split at a time by ``segment_chunks``: a reader that looks at each segment right
# after it is made finds it still in the processor's cache (on a large file, reading the segments of
# one whole-file split again costs about twice as much).
CHUNK = 16384


def segment_chunks(text: str, file: str) -> tuple[Delimiters, Iterator[list[str]]]:
    """``raw_segments`` a part at a time: the lists, one after the other, hold the same segments.
    The ISA is checked at once. Line breaks after a terminator other than CR or LF are dropped a part
    at a time (no copy of the whole file)."""
    delims, text, end, _blank, breaks = _prepared(text, file, in_parts=True)
    return delims, _chunks(text, delims.segment, end, breaks)


def _chunks(text: str, term: str, end: int, breaks: str) -> Iterator[list[str]]:
    # a part ends at a terminator: dropping the line breaks (never a terminator here) in each part
    # drops them from the whole
    start = 0
    cr = "\r" in breaks
    while True:
        cut = text.find(term, start + CHUNK, end) if start + CHUNK < end else -1
        part = text[start:end] if cut < 0 else text[start:cut]
        if breaks:
            if cr:
                part = part.replace("\r", "")
            part = part.replace("\n", "")
        yield part.split(term)
        if cut < 0:
            return
        start = cut + 1


def _prepared(text: str, file: str, *, in_parts: bool = False) -> tuple[Delimiters, str, int, int, str]:
    """The delimiters, the text without line breaks between segments, where its last segment ends
    and how many blank pieces follow (trailing whitespace after the last terminator is no segment).
    ``in_parts``: line breaks after a terminator other than CR or LF are left in the text, and named
    in the last value ("\n" or "\r\n"), for the caller to drop (``_chunks``)."""
    text = text.lstrip("\ufeff \t\r\n")
    delims = read_delimiters(text, file)
    term = delims.segment
    breaks = ""
    # Line breaks between segments are not data: with a CR, LF or CR+LF terminator (or any other
    # terminator followed by line breaks) the other line-break character is dropped.
    if term != "\n" and term != "\r":
        if "\n" in text or "\r" in text:
            if in_parts:
                breaks = "\r\n" if "\r" in text else "\n"
            else:
                text = text.replace("\r", "").replace("\n", "")
    elif term == "\n":
        if "\r" in text:
            text = text.replace("\r", "")
    elif "\n" in text:  # CR terminator, CR+LF line ends
        text = text.replace("\n", "")
    # Trailing whitespace after the last terminator: the pieces after the last one that is not blank
    # (the first piece starts with ISA).
    end = len(text)
    blank = 0
    while (k := text.rfind(term, 0, end)) >= 0 and not text[k + 1 : end].strip():
        end = k
        blank += 1
    return delims, text, end, blank, breaks


# Envelope counts (SE01, GE01, IEA01): the message when the count is wrong, else None (Envelope).
def se_count_problem(seg: list[str], n: int) -> str | None:
    if seg[1] != str(n) and seg[1].lstrip("0") != str(n):
        return f"SE01 says {seg[1]!r} segments but the transaction set has {n} (ST through SE)"
    return None


def ge_count_problem(seg: list[str], sets: int) -> str | None:
    if seg[1].lstrip("0") != str(sets) and not (sets == 0 and seg[1].strip("0") == ""):
        return f"GE01 says {seg[1]!r} transaction sets but the group has {sets}"
    return None


def iea_count_problem(seg: list[str], groups: int) -> str | None:
    if seg[1].lstrip("0") != str(groups):
        return f"IEA01 says {seg[1]!r} functional groups but the interchange has {groups}"
    return None


# GS01 functional identifier code of each transaction set (ST01).
GS01_BY_ST01 = {
    "837": "HC",
    "835": "HP",
    "999": "FA",
    "997": "FA",
    "270": "HS",
    "271": "HB",
    "276": "HR",
    "277": "HN",
    "278": "HI",
    "834": "BE",
    "820": "RA",
}
_NAMES = {
    "835": "an 835 remittance advice",
    "999": "a 999 implementation acknowledgment",
    "997": "a 997 functional acknowledgment",
    "270": "a 270 eligibility inquiry",
    "271": "a 271 eligibility response",
    "276": "a 276 claim status request",
    "278": "a 278 authorization request or response",
    "834": "an 834 benefit enrollment",
    "820": "an 820 premium payment",
}
_837_KINDS = {
    "X222": "837P professional claim",
    "X223": "837I institutional claim",
    "X224": "837D dental claim",
}
_4010_837 = {"X098": "X222", "X096": "X223", "X097": "X224"}


def check_group(st: list[str], gs: list[str], gs_index: int, file: str) -> InputError | None:
    """GS01 must be the functional group of the transaction set (an 837 under HC, an 835 under HP)."""
    expected = GS01_BY_ST01.get(st[1])
    if expected is not None and gs[1] != expected:
        return InputError(
            file,
            f"segment {gs_index + 1} (GS)",
            f"GS01 functional identifier {gs[1]!r} does not fit transaction set {st[1]} "
            f"(expected {expected!r} for an {st[1]})",
        )
    return None


def version_mismatch(st: list[str], gs: list[str]) -> str | None:
    """ST03 (the guide of this transaction set) and GS08 (of its group) should name the same guide."""
    st03 = st[3] if len(st) > 3 else ""
    gs08 = gs[8] if len(gs) > 8 else ""
    if st03 and gs08 and st03 != gs08:
        return f"ST03 {st03!r} and GS08 {gs08!r} name different implementation guides; read as {st03!r}"
    return None


def wrong_transaction(text: str, file: str, st01: str, guide: str, wanted: str) -> InputError | None:
    """The first transaction set that is not ``st01`` under implementation guide ``guide``, as the
    one-line error a reader gives (even when the file has other faults: that it is, say, an 837I
    matters more to the user than a malformed segment further on). None when there is none."""
    try:
        delims, raw = raw_segments(text, file)
    except InputError:
        return None
    sep = delims.element
    gs: list[str] = []
    for i, seg in enumerate(raw):
        if seg.startswith("GS" + sep):
            gs = seg.split(sep)
        elif seg.startswith("ST" + sep):
            st = seg.split(sep)
            version = st[3] if len(st) > 3 and st[3] else (gs[8] if len(gs) > 8 else "")
            if len(st) < 2 or not st[1] or (st[1] == st01 and not version):
                continue  # nothing to name: the envelope checks say what is wrong
            if st[1] != st01 or not version.startswith(guide):
                return InputError(
                    file,
                    f"segment {i + 1} (ST)",
                    f"this is {describe_transaction(st[1], version)}, not {wanted}",
                )
    return None


def describe_transaction(st01: str, version: str) -> str:
    """A transaction set in plain words, e.g. ``an 837I institutional claim (version 005010X223A2)``."""
    v = f"version {version!r}" if version else "no version"
    if st01 == "837":
        guide = version[6:10] if len(version) >= 10 else ""
        release = "4010 " if version.startswith("004010") else ""
        kind = _837_KINDS.get(_4010_837.get(guide, guide))
        if kind:
            return f"{'a' if release else 'an'} {release}{kind} ({v})"
        return f"an 837 claim of an unknown kind ({v})"
    if st01 == "277":
        kind = "277CA claim acknowledgment" if "X214" in version else "277 claim status response"
        return f"a {'4010 ' if version.startswith('004010') else ''}{kind} ({v})"
    name = _NAMES.get(st01)
    if name:
        return f"{'a 4010 ' + name.split(' ', 1)[1] if version.startswith('004010') else name} ({v})"
    return f"transaction set {st01!r} ({v})"


ISA_ELEMENTS = (
    "ISA must have exactly 16 elements: a separator (the segment terminator?) appears inside the ISA"
)


def duplicate_isa13(control: str, first: int) -> str:
    return (
        f"ISA13 interchange control number {control!r} repeats the interchange at segment {first + 1}: "
        "the same interchange sent twice? (each interchange needs its own control number)"
    )


def later_isa_ok(seg: list[str], delims: Delimiters) -> bool:
    """A later interchange in the same file must be a fixed-width ISA with the same separators."""
    return len(seg) == 17 and seg[16] == delims.component and len(delims.element.join(seg)) == ISA_LENGTH - 1


def valid_segment_id(sid: str) -> bool:
    return 2 <= len(sid) <= 3 and sid.isalnum() and sid.isupper() and sid[0].isalpha() and sid.isascii()


class Envelope:
    """The envelope rules, checked one segment at a time in file order: segment IDs, ISA/IEA, GS/GE
    and ST/SE nesting, control numbers and counts. ``tokenize`` and the 835 reader's single pass feed
    their segments through it; the 837P reader its envelope segments (ISA, GS, ST, SE, GE, IEA and one
    nested in a transaction set). Errors are raised (InputError, located); count problems and a
    repeated interchange are appended to ``warnings`` (count problems refuse the file if ``strict``)."""

    __slots__ = (
        "delims",
        "file",
        "groups",
        "gs",
        "gs_index",
        "isa",
        "isa_index",
        "isa_seen",
        "repeated",
        "sets",
        "st",
        "st_index",
        "strict",
        "transactions",
        "warnings",
    )

    def __init__(
        self,
        file: str,
        delims: Delimiters,
        *,
        strict: bool = False,
        warnings: list[InputError] | None = None,
        transactions: list[Transaction] | None = None,
    ) -> None:
        self.file = file
        self.delims = delims
        self.strict = strict
        self.warnings: list[InputError] = [] if warnings is None else warnings
        self.transactions: list[Transaction] = [] if transactions is None else transactions
        self.isa: list[str] | None = None
        self.isa_index = 0
        self.isa_seen: dict[str, int] = {}
        self.repeated: set[str] = set()
        self.gs: list[str] | None = None
        self.gs_index = 0
        self.st: list[str] | None = None  # the open transaction set's ST, else None
        self.st_index = -1
        self.groups = 0
        self.sets = 0

    def error(self, index: int, sid: str, expected: str) -> InputError:
        return InputError(self.file, f"segment {index + 1} ({sid or '?'})", expected)

    def check_id(self, index: int, sid: str) -> None:
        """Refuse a segment ID that is not 2-3 upper-case letters or digits."""
        if valid_segment_id(sid):
            return
        if not sid:
            raise InputError(
                self.file,
                f"segment {index + 1}",
                "segment has no segment ID (empty or starts with the element separator)",
            )
        raise InputError(
            self.file,
            f"segment {index + 1} ({sid[:10]})",
            f"invalid segment ID {sid[:10]!r}: expected 2-3 upper-case letters or digits",
        )

    def outside(self, index: int, sid: str) -> InputError:
        """The error for a segment other than an envelope segment while no transaction set is open."""
        return self.error(index, sid, "segment outside a transaction set: ST expected first")

    def count_problem(self, index: int, sid: str, msg: str | None) -> None:
        if msg:
            err = self.error(index, sid, msg)
            if self.strict:
                raise err
            self.warnings.append(err)

    def segment(self, i: int, seg: list[str]) -> None:
        """Check one envelope segment (its ID is in ENVELOPE_IDS) at 0-based index ``i``."""
        sid = seg[0]
        st = self.st
        if st is not None:
            if sid != "SE":
                raise self.error(
                    i,
                    sid,
                    f"{sid} inside transaction set {st[2]!r} (segment {self.st_index + 1}): SE expected first",
                )
            if len(seg) < 3:
                raise self.error(i, sid, "SE needs SE01 (segment count) and SE02 (control number)")
            if seg[2] != st[2]:
                raise self.error(
                    i,
                    sid,
                    f"SE02 control number {seg[2]!r} does not match ST02 {st[2]!r} (segment {self.st_index + 1})",
                )
            self.count_problem(i, sid, se_count_problem(seg, i - self.st_index + 1))
            assert self.gs is not None and self.isa is not None
            self.transactions.append(Transaction(self.st_index, i + 1, st, self.gs, self.isa))
            self.st = None
            self.sets += 1
            return
        gs = self.gs
        isa = self.isa
        if sid == "ST":
            if gs is None:
                raise self.error(i, sid, "ST outside a functional group: GS expected first")
            if len(seg) < 3 or not seg[1] or not seg[2]:
                raise self.error(i, sid, "ST needs ST01 (transaction type) and ST02 (control number)")
            self.st = seg
            self.st_index = i
        elif sid == "GS":
            if isa is None:
                raise self.error(i, sid, "GS outside an interchange: ISA expected first")
            if gs is not None:
                raise self.error(i, sid, f"GS inside group {gs[6]!r}: GE expected first")
            if len(seg) < 9 or not seg[6]:
                raise self.error(
                    i, sid, "GS needs 8 elements including GS06 (group control number) and GS08 (version)"
                )
            self.gs = seg
            self.gs_index = i
            self.sets = 0
        elif sid == "GE":
            if gs is None:
                raise self.error(i, sid, "GE without a matching GS")
            if len(seg) < 3:
                raise self.error(
                    i, sid, "GE needs GE01 (number of transaction sets) and GE02 (control number)"
                )
            if seg[2] != gs[6]:
                raise self.error(
                    i,
                    sid,
                    f"GE02 control number {seg[2]!r} does not match GS06 {gs[6]!r} (segment {self.gs_index + 1})",
                )
            self.count_problem(i, sid, ge_count_problem(seg, self.sets))
            self.gs = None
            self.groups += 1
        elif sid == "ISA":
            if isa is not None:
                raise self.error(i, sid, "ISA inside an open interchange: IEA expected first")
            # A later interchange in the same file must use the same separators.
            if i > 0 and not later_isa_ok(seg, self.delims):
                raise self.error(
                    i,
                    sid,
                    "every interchange in a file must be a fixed-width ISA with the same separators as the first",
                )
            if len(seg) != 17:
                raise self.error(i, sid, ISA_ELEMENTS)
            self.isa = seg
            self.isa_index = i
            self.groups = 0
            first = self.isa_seen.setdefault(seg[13], i)
            if first != i and seg[13] not in self.repeated:
                self.repeated.add(seg[13])
                self.warnings.append(self.error(i, sid, duplicate_isa13(seg[13], first)))
        elif sid == "IEA":
            if isa is None:
                raise self.error(i, sid, "IEA without a matching ISA")
            if gs is not None:
                raise self.error(
                    i,
                    sid,
                    f"IEA while group {gs[6]!r} (segment {self.gs_index + 1}) is open: GE expected first",
                )
            if len(seg) < 3:
                raise self.error(i, sid, "IEA needs IEA01 (number of groups) and IEA02 (control number)")
            if seg[2] != isa[13]:
                raise self.error(
                    i,
                    sid,
                    f"IEA02 control number {seg[2]!r} does not match ISA13 {isa[13]!r} (segment {self.isa_index + 1})",
                )
            self.count_problem(i, sid, iea_count_problem(seg, self.groups))
            self.isa = None
        else:  # SE
            raise self.error(i, sid, "SE without a matching ST")

    def end(self, last: int, sid: str) -> None:
        """At the end of the file (``last``: index of the last segment, ``sid`` its ID): every envelope
        must be closed."""
        if self.st is not None:
            raise self.error(
                last,
                sid,
                f"file ends inside transaction set {self.st[2]!r} (segment {self.st_index + 1}): "
                "SE, GE and IEA expected",
            )
        if self.gs is not None:
            raise self.error(
                last,
                sid,
                f"file ends inside functional group {self.gs[6]!r} (segment {self.gs_index + 1}): "
                "GE and IEA expected",
            )
        if self.isa is not None:
            raise self.error(
                last,
                sid,
                f"file ends inside interchange {self.isa[13]!r} (segment {self.isa_index + 1}): IEA expected",
            )


def tokenize(text: str, file: str, *, strict: bool = False) -> Tokens:
    """Tokenize and check envelopes. Raises InputError for a broken envelope or segment ID."""
    delims, segments = split_segments(text, file)
    tok = Tokens(file=file, delimiters=delims, segments=segments)
    env = Envelope(file, delims, strict=strict, warnings=tok.warnings, transactions=tok.transactions)
    envelope = env.segment
    ok_ids: set[str] = set()
    for i, seg in enumerate(segments):
        sid = seg[0]
        if sid not in ok_ids:
            env.check_id(i, sid)
            ok_ids.add(sid)
        if sid in ENVELOPE_IDS:
            envelope(i, seg)
        elif env.st is None:
            raise env.outside(i, sid)
    if segments:
        env.end(len(segments) - 1, segments[-1][0])
    return tok


# X12 numbers as the HIPAA implementation guides (005010X222A1, X221A1 appendix B) write them: R
# (decimal) is an optional minus sign and digits with at most one decimal point; N0 is an optional
# minus sign and digits. No plus sign, no triad separators, and no exponent (X12.6 allows a base-10
# exponent; the HIPAA guides do not use it). ASCII only: Python's float() and int() also take
# "1_000", " 12 ", "+5", "1e5", "inf", "nan" and non-ASCII digits, none of which is X12 here.
_R = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def x12_decimal(value: str) -> float | None:
    """The value of an X12 R element, or None when it is not one."""
    v = value[1:] if value[:1] == "-" else value
    if v.isascii() and v.replace(".", "", 1).isdigit():  # the usual forms: 135, 135.5, -2.25
        return float(value)
    if _R.fullmatch(value) is None:
        return None
    return float(value)


def x12_money(value: str) -> Decimal | None:
    """The exact value of an X12 R element (an amount), or None when it is not one. Finite only:
    a value too large for a float (``1E400``) is refused, as ``x12_decimal`` refuses it."""
    v = value[1:] if value[:1] == "-" else value
    if v.isascii() and v.replace(".", "", 1).isdigit():  # the usual forms: 135, 135.50, -2.25
        if len(v) <= 300:  # below 10**300: finite as a float
            return Decimal(value)
    elif _R.fullmatch(value) is None:
        return None
    d = Decimal(value)
    return d if abs(float(d)) != float("inf") else None


# Read models are made from values a reader has already checked, without pydantic's second validation
# (``model_construct`` is slower than validating): a new object and BaseModel's slots set directly
# (what object.__setattr__ finds, without the look-up). Both readers build their models with these.
new_model = object.__new__
set_model_dict = BaseModel.__dict__["__dict__"].__set__
set_model_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
set_model_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
set_model_private = BaseModel.__dict__["__pydantic_private__"].__set__


def ascii_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def components(value: str, delims: Delimiters) -> list[str]:
    return value.split(delims.component)
