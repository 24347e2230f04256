"""Readers accept every valid way of writing an interchange and say in one line why they refuse one
(issue 11: terminators, control-character separators, byte-order mark, envelope identity, HL numbers,
repeated interchanges, other transactions)."""

from __future__ import annotations

import pytest

from painrcm.errors import InputError
from painrcm.x12.reader835 import read_835
from painrcm.x12.reader837 import read_837
from painrcm.x12.segments import tokenize

from .conftest import fixture_text

PAIN = fixture_text("pain.837")
DENIALS = fixture_text("denials.835")


def _resep(text: str, element: str = "*", component: str = ":", terminator: str = "~\n") -> str:
    """Re-write a fixture (``*``, ``:``, ``~`` + newline) with other delimiters."""
    segs = [s for s in text.split("~\n") if s]
    out = []
    for s in segs:
        if s.startswith("ISA"):
            s = s[:-1] + component  # ISA16
            out.append(s.replace("*", element))
        else:
            out.append(s.replace(":", component).replace("*", element))
    return terminator.join(out) + terminator


def _ids(text: str) -> list[str]:
    return [c.encounter_id for c in read_837(text, "t.837").claims]


@pytest.mark.parametrize("terminator", ["~", "~\n", "~\r\n", "\n", "\r", "\r\n"])
def test_837_reads_with_any_line_end_or_terminator(terminator: str) -> None:
    text = _resep(PAIN, terminator=terminator)
    assert _ids(text) == ["PCN-1", "PCN-3"]


@pytest.mark.parametrize("terminator", ["~\r\n", "\r", "\r\n", "\n"])
def test_835_reads_with_any_line_end_or_terminator(terminator: str) -> None:
    text = _resep(DENIALS, terminator=terminator)
    assert len(read_835(text, "t.835").claims) == len(read_835(DENIALS, "d.835").claims)


def test_control_character_separators() -> None:
    """0x1C-0x1F as element, component and segment separators (as real ERAs use them)."""
    text = _resep(PAIN, element="\x1d", component="\x1f", terminator="\x1c")
    assert _ids(text) == ["PCN-1", "PCN-3"]
    era = _resep(DENIALS, element="\x1d", component="\x1f", terminator="\x1e")
    assert read_835(era, "t.835").claims


def test_byte_order_mark() -> None:
    assert _ids("\ufeff" + PAIN) == ["PCN-1", "PCN-3"]
    assert read_835("\ufeff" + DENIALS, "d.835").claims


def test_messages_are_one_line_with_control_characters_escaped() -> None:
    text = PAIN.replace("~\nGS*", "~\n\x01GS*", 1)
    with pytest.raises(InputError) as ei:
        read_837(text, "t.837")
    line = ei.value.render()
    assert "\n" not in line and "\x01" not in line and "\\x01" in line


def test_gs01_must_fit_the_transaction() -> None:
    with pytest.raises(InputError) as ei:
        read_837(PAIN.replace("GS*HC*", "GS*HP*", 1), "t.837")
    assert ei.value.place == "segment 2 (GS)" and "GS01" in ei.value.expected and "'HC'" in ei.value.expected
    with pytest.raises(InputError, match="GS01"):
        read_835(DENIALS.replace("GS*HP*", "GS*HC*", 1), "d.835")


def test_gs08_and_st03_naming_different_guides_is_a_note() -> None:
    gs = next(s for s in PAIN.split("~\n") if s.startswith("GS*"))
    text = PAIN.replace(gs, gs.rsplit("*", 1)[0] + "*005010X222A2", 1)
    result = read_837(text, "t.837")
    assert [c.encounter_id for c in result.claims] == ["PCN-1", "PCN-3"]
    assert any("GS08" in w.expected and "ST03" in w.expected for w in result.warnings)


def test_hl_numbering_is_noted() -> None:
    text = PAIN.replace("HL*4*1*22*0", "HL*9*1*22*0", 1)
    result = read_837(text, "t.837")
    assert [c.encounter_id for c in result.claims] == ["PCN-1", "PCN-3"]
    notes = [w for w in result.warnings if "HL01" in w.expected]
    assert len(notes) == 1 and notes[0].place is not None and notes[0].place.endswith("(HL)")
    parent = read_837(PAIN.replace("HL*3*2*23*0", "HL*3*1*23*0", 1), "t.837")
    assert any("HL02 parent '1'" in w.expected for w in parent.warnings)


def test_subscriber_who_is_the_patient_has_no_patient_level() -> None:
    text = PAIN.replace("SBR*P**GRP1******16", "SBR*P*18*GRP1******16", 1)
    result = read_837(text, "t.837")
    assert "PCN-1" not in [c.encounter_id for c in result.claims]
    bad = [p for p in result.problems if "PCN-1" in p.expected]
    assert bad and bad[0].place == "segment 18 (HL)" and "SBR02 18" in bad[0].expected


def test_repeated_interchange_is_noted() -> None:
    twice = PAIN + PAIN
    result = read_837(twice, "t.837")
    assert len(result.claims) == 4
    notes = [w for w in result.warnings if "ISA13" in w.expected]
    assert len(notes) == 1 and "repeats the interchange at segment 1" in notes[0].expected
    era = read_835(DENIALS + DENIALS, "d.835")
    assert any("ISA13" in w.expected for w in era.warnings)


@pytest.mark.parametrize(
    ("st", "gs08", "words"),
    [
        ("ST*837*0001*005010X223A2", "005010X223A2", "837I institutional claim"),
        ("ST*837*0001*005010X224A2", "005010X224A2", "837D dental claim"),
        ("ST*837*0001*004010X098A1", "004010X098A1", "4010 837P professional claim"),
        ("ST*270*0001*005010X279A1", "005010X279A1", "270 eligibility inquiry"),
        ("ST*271*0001*005010X279A1", "005010X279A1", "271 eligibility response"),
        ("ST*276*0001*005010X212", "005010X212", "276 claim status request"),
        ("ST*277*0001*005010X212", "005010X212", "277 claim status response"),
        ("ST*278*0001*005010X217", "005010X217", "278 authorization"),
        ("ST*834*0001*005010X220A1", "005010X220A1", "834 benefit enrollment"),
        ("ST*835*0001*005010X221A1", "005010X221A1", "835 remittance"),
    ],
)
def test_other_transactions_are_named_in_one_line(st: str, gs08: str, words: str) -> None:
    st_old = next(s for s in PAIN.split("~\n") if s.startswith("ST*"))
    gs_old = next(s for s in PAIN.split("~\n") if s.startswith("GS*"))
    gs_new = gs_old.rsplit("*", 1)[0] + "*" + gs08
    text = PAIN.replace(st_old, st, 1).replace(gs_old, gs_new, 1)
    with pytest.raises(InputError) as ei:
        read_837(text, "t.837")
    msg = ei.value.render()
    assert words in msg and gs08 in msg and "837P" in msg and "\n" not in msg
    assert ei.value.place == "segment 3 (ST)"


def test_835_reader_names_an_837() -> None:
    with pytest.raises(InputError, match="837P professional claim") as ei:
        read_835(PAIN, "p.837")
    assert "not an 835" in ei.value.expected


def test_commands_read_bom_and_crlf_files_and_show_the_readers_notes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from painrcm.cli import app

    runner = CliRunner()
    # a UTF-8 byte-order mark, CR+LF line ends and a count the reader notes (SE01 off by one)
    se = next(s for s in PAIN.split("~\n") if s.startswith("SE*"))
    count = int(se.split("*")[1])
    text = PAIN.replace(se, f"SE*{count + 1}*" + se.split("*")[2], 1).replace("~\n", "~\r\n")
    f = tmp_path / "claims.837"
    f.write_bytes(b"\xef\xbb\xbf" + text.encode())
    r = runner.invoke(app, ["scrub", str(f), "--json"])
    assert r.exit_code in (0, 1, 2), r.output
    doc = json.loads(r.stdout)
    assert doc["schema"] == "painrcm.scrub/1" and {c["claim_id"] for c in doc["claims"]} == {"PCN-1", "PCN-3"}
    assert any("SE01" in w for w in doc["warnings"])
    assert "note:" in r.stderr and "SE01" in r.stderr
    out = tmp_path / "out.837"
    r = runner.invoke(app, ["export837", str(f), "--out", str(out)])
    # PCN-2 cannot be read, so export837 refuses the file: one located line, the notes dropped
    # (tests/x12/test_cli_x12.py shows them when the file is written)
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and "SE01" not in r.stderr
    era = tmp_path / "era.835"
    era.write_bytes(b"\xef\xbb\xbf" + DENIALS.replace("~\n", "~\r\n").encode())
    r = runner.invoke(app, ["era", str(era), "--claims", str(f), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert any("SE01" in w for w in doc["warnings"])


def test_other_transaction_is_named_even_when_the_file_has_other_faults() -> None:
    st_old = next(s for s in PAIN.split("~\n") if s.startswith("ST*"))
    gs_old = next(s for s in PAIN.split("~\n") if s.startswith("GS*"))
    text = (
        PAIN.replace(st_old, "ST*837*0001*005010X223A2", 1)
        .replace(gs_old, gs_old.rsplit("*", 1)[0] + "*005010X223A2", 1)
        .replace("~\nCLM*PCN-3", "~\n OI*X~\nCLM*PCN-3", 1)  # a malformed segment further on
    )
    for read in (read_837, read_835):
        with pytest.raises(InputError) as ei:
            read(text, "i.837")
        assert ei.value.place == "segment 3 (ST)" and "837I institutional claim" in ei.value.expected


def test_terminator_inside_the_isa_is_a_located_error() -> None:
    """Found by the fuzz test: ISA02 holding the segment terminator split the ISA short (a traceback)."""
    for text, read in ((PAIN, read_837), (DENIALS, read_835)):
        broken = "ISA*~0" + text[6:]
        with pytest.raises(InputError) as ei:
            read(broken, "t")
        assert ei.value.place == "segment 1 (ISA)" and "16 elements" in ei.value.expected


def _envelope_faults() -> list[tuple[str, str]]:
    """The 837P fixture, twice over in one file (two interchanges), with one envelope fault each: an
    envelope segment dropped, repeated or moved into the transaction set, a control number or a
    count changed."""
    one = [s for s in PAIN.split("~\n") if s]
    two = [s.replace("000000001", "000000002") if s.startswith(("ISA", "IEA")) else s for s in one]
    segs = one + two
    out = []
    for k, s in enumerate(segs):
        sid = s.split("*", 1)[0]
        if sid not in ("ISA", "GS", "ST", "SE", "GE", "IEA"):
            continue
        out.append((f"drop {k}", segs[:k] + segs[k + 1 :]))
        out.append((f"repeat {k}", segs[: k + 1] + segs[k:]))
        out.append((f"inside {k}", segs[:5] + [s] + segs[5:]))
        elements = s.split("*")
        for e in (1, 2, 6, 13):
            # (ST01 and GS01 name the transaction: the reader's own checks, not the envelope's)
            if e < len(elements) and not (sid in ("ST", "GS") and e == 1) and not (sid == "ISA" and e != 13):
                changed = "*".join(elements[:e] + ["0" + elements[e] + "9"] + elements[e + 1 :])
                out.append((f"element {k}.{e}", segs[:k] + [changed] + segs[k + 1 :]))
    return [(name, "~\n".join(s) + "~\n") for name, s in out]


@pytest.mark.parametrize("strict", [False, True])
def test_837_reader_and_tokenizer_say_the_same_of_an_envelope(strict: bool) -> None:
    """The 837P reader checks the envelope with the tokenizer's rules (segments.Envelope), not a copy
    of its own: on every envelope fault it refuses with the tokenizer's message, or notes the
    tokenizer's warnings."""
    faults = _envelope_faults()
    assert len(faults) > 50
    for name, text in faults:
        try:
            expected = [(w.place, w.expected) for w in tokenize(text, "t.837", strict=strict).warnings]
        except InputError as e:
            with pytest.raises(InputError) as ei:
                read_837(text, "t.837", strict=strict)
            assert (ei.value.place, ei.value.expected) == (e.place, e.expected), name
            continue
        try:
            read = read_837(text, "t.837", strict=strict)
        except InputError as e:  # not an envelope fault for the 837P reader (a header, a claim)
            assert not e.expected.startswith(("SE", "GE", "IEA", "ISA", "GS", "ST")), name
            continue
        warnings = [(w.place, w.expected) for w in read.warnings]
        assert [w for w in warnings if w in expected] == expected, name
