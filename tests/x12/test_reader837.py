from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from painrcm.errors import InputError
from painrcm.model import Encounter
from painrcm.x12.reader837 import format_diagnosis, parse_d8, read_837

from .conftest import BROKEN_837, NOT_837P, VALID_837, fixture_text, linuxforhealth, sample


@pytest.mark.parametrize("rel", VALID_837 + linuxforhealth("837"))
def test_valid_samples_are_read(rel: str) -> None:
    text, name = sample(rel)
    result = read_837(text, name)
    assert result.claims, f"{rel}: no claim read"
    assert not result.problems, [p.render() for p in result.problems]
    for enc in result.claims:
        assert enc.encounter_id and enc.lines and enc.diagnoses
        assert enc.procedures == []
        for w in result.warnings:
            assert w.place and w.place.startswith("segment ")


def test_many_claims_and_envelopes() -> None:
    text, name = sample("imsweb/x12_many_claims.txt")
    assert len(read_837(text, name).claims) == 820
    text, name = sample("imsweb/x12_multiple_isa.txt")
    assert len(read_837(text, name).claims) == 4
    text, name = sample("imsweb/x12_multiple_gs.txt")
    assert len(read_837(text, name).claims) == 6


def test_imsweb_valid_content() -> None:
    text, name = sample("imsweb/x12_valid.txt")
    claims = read_837(text, name).claims
    assert [c.encounter_id for c in claims] == ["A37YH556", "A37YH667"]
    first = claims[0]
    assert first.diagnoses == ["890.1", "872.00", "555.9"]
    assert first.lines is not None
    assert first.lines[0].code == "99211" and first.lines[0].modifiers == ["25"]
    assert first.lines[0].date_of_service == date(2005, 3, 14)
    assert first.payer.id == "11122333" and first.payer.plan == "commercial"
    assert first.patient.member_id == "123456" and first.patient.last_name == "DOE"


@pytest.mark.parametrize("rel", BROKEN_837)
def test_broken_samples_are_refused_with_location(rel: str) -> None:
    text, name = sample(rel)
    try:
        result = read_837(text, name)
    except InputError as e:
        assert e.file == name
        assert e.place is not None and e.place.startswith("segment "), e.render()
        return
    assert result.problems, f"{rel} was read without any problem"
    for p in result.problems:
        assert p.place is not None and p.place.startswith("segment ") and "(" in p.place


@pytest.mark.parametrize("rel", NOT_837P)
def test_other_transactions_are_refused(rel: str) -> None:
    text, name = sample(rel)
    with pytest.raises(InputError) as ei:
        read_837(text, name)
    assert ei.value.place is not None and ei.value.place.startswith("segment ")


def test_specific_broken_messages() -> None:
    cases = {
        "imsweb/x12_bad_first_line.txt": ("segment 1 (ISA)", "fixed width"),
        "imsweb/x12_bad_segment_identifier.txt": ("segment 6", "segment ID"),
        "imsweb/x12_missing_elements.txt": ("segment 7 (NM1)", "NM102"),
        "imsweb/x12_segments_out_of_order.txt": ("segment 12 (N4)", "out of order"),
        "imsweb/x12_loop_errors1_exceeds_max_1_parent.txt": ("segment 15 (NM1)", "2010AA"),
        "imsweb/x12_loop_errors3_missing_loops.txt": ("segment 8 (HL)", "2010AA"),
        "imsweb/x12_no_isa_line.txt": ("segment 1", "ISA"),
    }
    for rel, (place, words) in cases.items():
        text, name = sample(rel)
        with pytest.raises(InputError) as ei:
            read_837(text, name)
        assert ei.value.place == place, (rel, ei.value.render())
        assert words in ei.value.expected, (rel, ei.value.render())


def test_one_bad_claim_among_many() -> None:
    text, name = sample("imsweb/x12_missing_required_loops_mult_repeats.txt")
    result = read_837(text, name)
    assert len(result.claims) == 3 and len(result.problems) == 2
    assert result.problems[0].place == "segment 33 (SV1)"
    assert "A37YH667" in result.problems[0].expected


def test_mapping_of_synthetic_claim() -> None:
    result = read_837(fixture_text("pain.837"), "pain.837")
    assert [c.encounter_id for c in result.claims] == ["PCN-1", "PCN-3"]
    assert len(result.problems) == 1
    bad = result.problems[0]
    assert bad.place == "segment 50 (SV1)" and "PCN-2" in bad.expected and "SV107" in bad.expected
    assert result.warnings == []

    one = result.claims[0]
    assert one.practice.npi == "1245319599" and one.practice.kind == "asc"
    assert one.practice.state == "NV"  # 2310C service facility overrides the billing provider's CA
    assert one.practice.tax_id == "741234567"
    assert one.rendering_provider.npi == "1679576722"
    assert one.patient.last_name == "DOE" and one.patient.first_name == "JANE"  # the patient loop 2010CA
    assert (
        one.patient.member_id == "MEM123" and one.patient.dob == date(1956, 4, 2) and one.patient.sex == "F"
    )
    assert one.payer.id == "MAPLAN01" and one.payer.plan == "medicare_advantage"
    assert one.place_of_service == "24"
    assert one.diagnoses == ["M54.16", "M51.16"]
    assert one.authorization_number == "AUTH-1"
    assert one.date_of_service == date(2026, 3, 1)  # earliest line date (RD8 range start)
    assert one.procedures == []
    lines = one.lines or []
    assert [(ln.code, ln.modifiers) for ln in lines] == [
        ("64483", ["RT"]),
        ("64484", ["RT", "XS"]),
        ("77003", []),
    ]
    assert [ln.units for ln in lines] == [1, 1, 2]
    assert [ln.diagnosis_pointers for ln in lines] == [[1, 2], [1, 2], [1]]
    assert [ln.charge for ln in lines] == [900, 300, 50]
    assert lines[0].control_number == "L-1" and lines[1].control_number is None
    assert lines[1].authorization_number == "AUTH-LINE" and lines[0].authorization_number is None
    assert lines[1].place_of_service == "22" and lines[0].place_of_service is None
    assert lines[1].date_of_service == date(2026, 3, 1)

    three = result.claims[1]
    assert three.practice.state == "CA" and three.payer.plan == "medicaid"
    assert three.rendering_provider.npi == "1245319599"  # no 2310B: the billing provider
    assert three.patient.last_name == "BROWN" and three.patient.dob == date(
        1970, 7, 7
    )  # subscriber is patient
    assert three.diagnoses == ["M54.5", "M47.816"]
    assert (three.lines or [])[0].diagnosis_pointers == [2, 1]


def test_plan_mapping() -> None:
    text = fixture_text("pain.837")
    for sbr09, plan in (
        ("MB", "medicare"),
        ("MC", "medicaid"),
        ("16", "medicare_advantage"),
        ("CI", "commercial"),
        ("BL", "commercial"),
        ("", "commercial"),
    ):
        t = text.replace("SBR*P*18*******MC", f"SBR*P*18*******{sbr09}".rstrip("*"))
        claims = read_837(t, "p.837").claims
        assert claims[-1].payer.plan == plan


@pytest.mark.parametrize(
    ("old", "new", "place", "words"),
    [
        ("CLM*PCN-3*135***11:B:1", "CLM*PCN-3*135***:B:1", "(CLM)", "CLM05"),
        ("HI*ABK:M545*ABF:M47816", "HI*ABF:M545", "(HI)", "principal"),
        # an empty SV102 (abc is read with the charge unknown, for CLM006)
        ("SV1*HC:20552*135*UN*1***2:1", "SV1*HC:20552**UN*1***2:1", "(SV1)", "SV102"),
        ("SV1*HC:20552*135*UN*1***2:1", "SV1*HC:20552:ABC*135*UN*1***2:1", "(SV1)", "modifier"),
        ("DTP*472*D8*20260306", "DTP*472*D8*20260231", "(DTP)", "not a valid"),
        ("DTP*472*D8*20260306", "DTP*472*RD9*20260306", "(DTP)", "D8 or RD8"),
        ("DMG*D8*19700707*M", "DMG*D8*19700707*Q", "(DMG)", "DMG03"),
        ("LX*1~\nSV1*HC:20552", "LX*1~\nNTE*ADD*X~\nSV1*HC:20552", "(NTE)", "SV1"),
        ("DTP*472*D8*20260306~\n", "", "(SV1)", "DTP*472"),
        ("NM1*PR*2*STATE MEDICAID*****PI*MCDTX~\n", "", "(HL)", "2010BB"),
    ],
)
def test_claim_level_errors_are_problems(old: str, new: str, place: str, words: str) -> None:
    text = fixture_text("pain.837")
    assert old in text
    result = read_837(text.replace(old, new, 1), "p.837")
    assert [c.encounter_id for c in result.claims] == ["PCN-1"]
    msgs = [p for p in result.problems if "PCN-3" in p.expected]
    assert len(msgs) == 1, [p.render() for p in result.problems]
    assert msgs[0].place is not None and msgs[0].place.endswith(place) and words in msgs[0].expected, msgs[
        0
    ].render()


def test_header_error_refuses_file() -> None:
    text = fixture_text("pain.837").replace("NM1*40*2*CLEARINGHOUSE*****46*RECV01~\n", "")
    with pytest.raises(InputError, match="1000B"):
        read_837(text, "p.837")


def test_wrong_version_refused() -> None:
    text = fixture_text("pain.837").replace("005010X222A1", "005010X223A2")
    with pytest.raises(InputError, match="837P") as ei:
        read_837(text, "p.837")
    assert ei.value.place == "segment 3 (ST)"


def test_format_diagnosis() -> None:
    assert format_diagnosis("M5416") == "M54.16"
    assert format_diagnosis("m54.16") == "M54.16"
    assert format_diagnosis("G89") == "G89"


def test_d8_dates_read_as_calendar_dates() -> None:
    """DMG02/DTP03 D8 values: eight ASCII digits making a real date (CCYYMMDD), else not a date. The
    reader parses them with date.fromisoformat; its answers are date(CCYY, MM, DD)'s."""

    def by_parts(v: str) -> date | None:
        try:
            return date(int(v[:4]), int(v[4:6]), int(v[6:8]))
        except ValueError:
            return None

    for year in ("0000", "0001", "1899", "1900", "2000", "2024", "2025", "2100", "9999"):
        for month in range(14):
            for day in (0, 1, 9, 10, 28, 29, 30, 31, 32, 99):
                v = f"{year}{month:02d}{day:02d}"
                assert parse_d8(v) == by_parts(v), v
    assert parse_d8("20240229") == date(2024, 2, 29)
    assert parse_d8("20230229") is None
    # ISO forms that are not D8: week dates, separators, other lengths, non-ASCII digits, signs
    for v in (
        "2024W011",
        "2024-1-1",
        "2024-01-01",
        "240101",
        "202401011",
        "２０２４０１０１",
        "+2024011",
        " 2024010",
    ):
        assert parse_d8(v) is None, v


@pytest.mark.parametrize("rel", ["imsweb/x12_complex.txt", "linuxforhealth/demo.cob.example3.C.837"])
def test_constructed_models_validate_unchanged(rel: str) -> None:
    text, name = sample(rel)
    for enc in read_837(text, name).claims:
        again = Encounter.model_validate(enc.model_dump(by_alias=True))
        assert again == enc


def test_constructed_models_of_fixture_validate() -> None:
    for enc in read_837(fixture_text("pain.837"), "pain.837").claims:
        assert Encounter.model_validate_json(enc.model_dump_json(by_alias=True)) == enc


def test_written_file_reads_back_with_shared_models_that_validate() -> None:
    """The reader shares practice/provider/payer models between claims and builds models without a
    second validation: each claim must still validate unchanged and keep its own lines."""
    from painrcm.edits.examples import example_encounter
    from painrcm.x12.writer837 import write_837

    encs = [
        example_encounter(
            {
                "encounter_id": f"SH-{i}",
                "lines": [
                    {
                        "code": "64483",
                        "modifiers": ["RT"],
                        "units": 1,
                        "diagnosis_pointers": [1],
                        "charge": 900.0,
                    },
                    {
                        "code": "64484",
                        "modifiers": ["RT"],
                        "units": 1,
                        "diagnosis_pointers": [1],
                        "charge": 300.0,
                    },
                ],
            }
        )
        for i in range(30)
    ]
    result = read_837(write_837(encs), "w.837")
    assert [c.encounter_id for c in result.claims] == [f"SH-{i}" for i in range(30)]
    assert not result.problems and not result.warnings
    first, second = result.claims[0], result.claims[1]
    assert first.lines is not None and second.lines is not None
    assert first.lines[0].modifiers is not second.lines[0].modifiers  # lists are never shared
    for enc in result.claims:
        assert Encounter.model_validate(enc.model_dump(by_alias=True)) == enc


def test_three_letter_segment_ids_are_not_prefixes() -> None:
    """Segments are looked up by their first characters: ``NM1X`` is not an NM1."""
    text = fixture_text("pain.837").replace("NM1*PR*2*", "NM1X*PR*2*", 1)
    with pytest.raises(InputError, match="invalid segment ID 'NM1X'"):
        read_837(text, "p.837")


def test_clm_without_elements_is_a_located_problem() -> None:
    # "CLM" with no element at all raised an IndexError (a traceback) instead of a claim problem
    text = fixture_text("pain.837").replace("CLM*PCN-3*135***11:B:1*Y*A*Y*Y~", "CLM~", 1)
    result = read_837(text, "p.837")
    assert [c.encounter_id for c in result.claims] == ["PCN-1"]
    assert ("segment 57 (CLM)", "claim '': CLM01 (patient control number) is required") in [
        (p.place, p.expected) for p in result.problems
    ]


def _models(m: object) -> list[Any]:
    from pydantic import BaseModel

    out: list[Any] = []
    if isinstance(m, BaseModel):
        out.append(m)
        for v in m.__dict__.values():
            out += _models(v)
    elif isinstance(m, list):
        for v in m:
            out += _models(v)
    return out


def test_models_are_built_as_validation_builds_them() -> None:
    """The reader builds models without validating them again: each must be what validation builds
    from the same values, down to the order of its fields and the fields it counts as set."""
    text = fixture_text("pain.837")
    for enc in read_837(text, "pain.837").claims:
        again = Encounter.model_validate(enc.model_dump(by_alias=True))
        assert again == enc
        for built, validated in zip(_models(enc), _models(again), strict=True):
            assert type(built) is type(validated)
            assert list(built.__dict__) == list(validated.__dict__) == list(type(built).model_fields)
            assert built.__pydantic_fields_set__ == validated.__pydantic_fields_set__
            assert built.__pydantic_extra__ is None and validated.__pydantic_extra__ is None


def test_order_within_a_loop_is_checked_by_position() -> None:
    """A segment after one of a later position in the same loop is out of order (the claim is a
    problem, located at it); segments of the same position may repeat (REF*6R and REF*G1 in a line)."""
    text = fixture_text("pain.837")
    moved = text.replace(
        "REF*G1*AUTH-1~\nHI*ABK:M5416*ABF:M51.16~", "HI*ABK:M5416*ABF:M51.16~\nREF*G1*AUTH-1~"
    )
    result = read_837(moved, "p.837")
    assert "PCN-1" not in [c.encounter_id for c in result.claims]
    assert ("segment 26 (REF)", "claim 'PCN-1': REF is out of order in loop 2300 (claim information)") in [
        (p.place, p.expected) for p in result.problems
    ]
    both = text.replace("REF*6R*L-1~", "REF*6R*L-1~\nREF*G1*AUTH-L1~", 1)
    line = read_837(both, "p.837").claims[0].lines[0]  # type: ignore[index]
    assert (line.control_number, line.authorization_number) == ("L-1", "AUTH-L1")


def test_one_payer_segment_under_two_plans() -> None:
    """The payer (2010BB) is shared by claims through its NM1*PR, per plan (SBR09): the same NM1*PR
    under a Medicare Advantage and a Medicaid subscriber gives two payers, each with its own plan."""
    text = fixture_text("pain.837").replace(
        "NM1*PR*2*STATE MEDICAID*****PI*MCDTX", "NM1*PR*2*MA PLAN*****PI*MAPLAN01"
    )
    claims = read_837(text, "p.837").claims
    assert [(c.encounter_id, c.payer.id, c.payer.name, c.payer.plan) for c in claims] == [
        ("PCN-1", "MAPLAN01", "MA PLAN", "medicare_advantage"),
        ("PCN-3", "MAPLAN01", "MA PLAN", "medicaid"),
    ]
    for enc in claims:
        assert Encounter.model_validate(enc.model_dump(by_alias=True)) == enc


def test_submitter_name_of_spaces_is_read_as_given() -> None:
    """1000A/1000B need NM103 and NM109 as written: a name of spaces is a name (the reader does not
    strip them there), an empty one refuses the file."""
    text = fixture_text("pain.837")
    submitter = next(ln for ln in text.split("~") if ln.strip().startswith("NM1*41*")).strip()
    parts = submitter.split("*")
    parts[3] = "   "
    assert read_837(text.replace(submitter, "*".join(parts), 1), "p.837").claims
    parts[3] = ""
    with pytest.raises(InputError, match=r"NM1\*41 needs NM103 \(name\) and NM109"):
        read_837(text.replace(submitter, "*".join(parts), 1), "p.837")


def test_repeated_hl01_names_the_first_hl_with_that_number() -> None:
    """HL numbers read as expected are kept as segment indexes and entered when a number is not: a
    repeated HL01 still names the first HL that used it."""
    text = fixture_text("pain.837").replace("HL*5*1*22*0~", "HL*3*1*22*0~")
    result = read_837(text, "p.837")
    assert ("segment 52 (HL)", "segment 18") == next(
        (w.place, w.expected.split("already used by the HL at ")[1][:10])
        for w in result.warnings
        if "already used" in w.expected
    )


@pytest.mark.parametrize("rel", VALID_837 + linuxforhealth("837"))
def test_segments_are_split_again_when_asked_for(rel: str) -> None:
    """The reader keeps no segment list while it reads: Read837.segments splits the file again when
    first asked for. They are the segments the claims' source indexes count in (the segment at each
    claim's index is its CLM, at each service line's its LX), one list shared by every source."""
    from painrcm.x12.segments import raw_segments

    text, name = sample(rel)
    result = read_837(text, name)
    segments = result.segments
    assert segments == raw_segments(text, name)[1]
    assert result.segments is segments
    sep = result.delimiters.element if result.delimiters else "*"
    for src in result.sources:
        assert src.segments is segments
        assert segments[src.claim[0]].split(sep, 1)[0] == "CLM"
        assert all(segments[k].split(sep, 1)[0] == "LX" for k in src.lines)
        for first, _end in (src.billing, src.subscriber, *([src.patient] if src.patient else [])):
            assert segments[first].split(sep, 1)[0] == "HL"


def test_hl_numbers_after_an_unremarked_parent_still_name_the_first_hl() -> None:
    """HLs numbered as expected are kept as indexes whose HL01s are counted from the last number
    entered: after a billing provider HL whose HL02 names an earlier HL (no note, numbers entered),
    a repeated HL01 further on still names the first HL that used it."""
    from painrcm.edits.examples import example_encounter
    from painrcm.x12.writer837 import write_837

    encs = []
    for i in range(4):
        enc = example_encounter({"encounter_id": f"HLN-{i}"})
        encs.append(
            enc.model_copy(update={"practice": enc.practice.model_copy(update={"npi": f"12453195{i}9"})})
        )
    text = write_837(encs)
    segs = text.replace("\n", "").split("~")
    hls = [(k, s) for k, s in enumerate(segs) if s.startswith("HL*")]
    second_bp = next(k for k, s in hls[1:] if s.split("*")[3] == "20")
    segs[second_bp] = segs[second_bp].replace("**20*", "*1*20*", 1)  # an earlier HL01: no note
    later = [(k, s) for k, s in hls if k > second_bp]
    first_k, first = later[0]
    repeat_k, repeat = later[-1]
    number = first.split("*")[1]
    segs[repeat_k] = "HL*" + number + "*" + "*".join(repeat.split("*")[2:])
    result = read_837("~\n".join(segs), "hl.837")
    notes = [(w.place, w.expected) for w in result.warnings if w.place and w.place.endswith("(HL)")]
    assert notes and notes[0][0] == f"segment {repeat_k + 1} (HL)"
    assert (
        f"HL01 hierarchical ID {number!r} is already used by the HL at segment {first_k + 1}" in notes[0][1]
    )
