from __future__ import annotations

import pytest

from painrcm.errors import InputError
from painrcm.x12 import segments
from painrcm.x12.segments import read_delimiters, tokenize

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260401*1200*^*00501*000000001*0*T*:~"


def envelope(
    body: list[str],
    *,
    se_count: int | None = None,
    st="0001",
    se="0001",
    gs="1",
    ge="1",
    iea="000000001",
    isa: str = ISA,
) -> str:
    n = len(body) + 2 if se_count is None else se_count
    segs = [
        isa.rstrip("~"),
        "GS*HC*S*R*20260401*1200*" + gs + "*X*005010X222A1",
        f"ST*837*{st}*005010X222A1",
        *body,
        f"SE*{n}*{se}",
        f"GE*1*{ge}",
        f"IEA*1*{iea}",
    ]
    return "~".join(segs) + "~"


def test_isa_delimiters() -> None:
    d = read_delimiters(ISA, "f")
    assert (d.element, d.component, d.repetition, d.segment) == ("*", ":", "^", "~")


def test_isa_other_separators_and_newlines() -> None:
    text = envelope(["BHT*0019"]).replace("*", "|").replace(":", ">").replace("~", "'\r\n")
    tok = tokenize(text, "f")
    assert tok.delimiters.element == "|" and tok.delimiters.segment == "'"
    assert [s[0] for s in tok.segments] == ["ISA", "GS", "ST", "BHT", "SE", "GE", "IEA"]
    assert len(tok.transactions) == 1 and tok.transactions[0].type == "837"


def test_newline_as_terminator() -> None:
    text = envelope(["BHT*0019"]).replace("~", "\n")
    tok = tokenize(text, "f")
    assert tok.delimiters.segment == "\n" and len(tok.segments) == 7


@pytest.mark.parametrize(
    ("text", "place", "words"),
    [
        ("GS*HC~", "segment 1", "must start with ISA"),
        (ISA[:50], "segment 1 (ISA)", "fixed width"),
        (ISA.replace("*00*          *00", "*00*         *00", 1) + "x", "segment 1 (ISA)", "ISA02"),
        (ISA.replace(":~", "*~"), "segment 1 (ISA)", "component separator"),
        (ISA.replace("000000001", "00000000A"), "segment 1 (ISA)", "ISA13"),
    ],
)
def test_isa_errors(text: str, place: str, words: str) -> None:
    with pytest.raises(InputError) as ei:
        tokenize(text, "bad.837")
    assert ei.value.file == "bad.837" and ei.value.place == place and words in ei.value.expected


def test_control_number_mismatches_are_refused() -> None:
    for kwargs, where in (({"se": "0002"}, "(SE)"), ({"ge": "2"}, "(GE)"), ({"iea": "000000002"}, "(IEA)")):
        with pytest.raises(InputError) as ei:
            tokenize(envelope(["BHT*0019"], **kwargs), "f")
        assert ei.value.place is not None and ei.value.place.endswith(where)
        assert "control number" in ei.value.expected


def test_se_count_mismatch_warns_or_refuses_when_strict() -> None:
    text = envelope(["BHT*0019"], se_count=9)
    tok = tokenize(text, "f")
    assert len(tok.warnings) == 1 and tok.warnings[0].place == "segment 5 (SE)"
    assert "SE01" in tok.warnings[0].expected
    with pytest.raises(InputError, match="SE01"):
        tokenize(text, "f", strict=True)


def test_nesting_errors() -> None:
    text = envelope(["BHT*0019"])
    with pytest.raises(InputError, match="IEA expected"):
        tokenize(text.rsplit("IEA", 1)[0], "f")
    with pytest.raises(InputError, match="SE expected first"):
        tokenize(text.replace("BHT*0019~", "BHT*0019~GE*1*1~"), "f")
    with pytest.raises(InputError) as ei:
        tokenize(text.replace("BHT*0019", "bh*0019"), "f")
    assert ei.value.place == "segment 4 (bh)"
    with pytest.raises(InputError) as ei:
        tokenize(text.replace("BHT*0019~", "BHT*0019~~"), "f")
    assert ei.value.place == "segment 5"


def test_two_interchanges() -> None:
    one = envelope(["BHT*0019"])
    two = envelope(["BHT*0019"]).replace("000000001", "000000002")
    tok = tokenize(one + "\n" + two, "f")
    assert len(tok.transactions) == 2
    assert tok.transactions[1].start == 9


@pytest.mark.parametrize(
    "text",
    [
        envelope(["BHT*0019*00*1*20260401*1200*CH", "NM1*41*2*S*****46*S"]),
        envelope(["BHT*0019", "REF*6R*X"]).replace("~", "~\n"),
        envelope(["BHT*0019", "REF*6R*X"]).replace("~", "~\r\n") + "  \n~ ~\n\t",
        envelope(["BHT*0019", " ", "", "REF*6R*X"]) + "~~   ~",
        # line breaks inside segments and around terminators (dropped a part at a time)
        envelope(["BHT*0019", "REF*6\nR*X\r", "N3*A\r\nB", "\n", "N4*\r"]).replace("~", "\n~\r\n"),
        envelope(["BHT*0019", "REF*6\nR*X", "\n\n", "N3*A"]) + "\n\n~\n",
        envelope(["BHT*0019", "REF*6R*X"]).replace("~", "\n").replace(ISA[:-1] + "\n", ISA[:-1] + "\n", 1),
    ],
)
@pytest.mark.parametrize("chunk", [1, 7, 64, 16384])
def test_segment_chunks_hold_the_segments_of_raw_segments(
    text: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 837P reader splits a file a part at a time: the parts, one after the other, are the
    segments of one whole split (line breaks dropped, trailing blanks after the last terminator too)."""
    monkeypatch.setattr(segments, "CHUNK", chunk)
    delims, chunks = segments.segment_chunks(text, "f")
    parts = list(chunks)
    assert (delims, [s for part in parts for s in part]) == segments.raw_segments(text, "f")
    # the rule: line breaks between segments dropped, one split, blank pieces at the end dropped
    term = delims.segment
    flat = text.lstrip("\ufeff \t\r\n")
    flat = flat.replace("\r", "") if term == "\n" else flat.replace("\r", "").replace("\n", "")
    whole = flat.split(term)
    while not whole[-1].strip():
        whole.pop()
    assert [s for part in parts for s in part] == whole
    if chunk < 64:
        assert len(parts) > 1
