from __future__ import annotations

import importlib.util
import io
import logging
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painrcm.errors import InputError
from painrcm.model import Encounter, Line, Patient, Payer, Practice, Provider
from painrcm.x12.reader837 import format_diagnosis, read_837
from painrcm.x12.segments import tokenize
from painrcm.x12.writer837 import write_837

from .conftest import fixture_text

NOW = datetime(2026, 4, 1, 12, 0)
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = UPPER + "0123456789"
STATES = ["CA", "TX", "NV", "FL", "NY", "AZ"]
MODS = ["RT", "LT", "50", "25", "59", "XS", "XU", "KX", "26", "TC", "76"]


@st.composite
def encounters(draw: st.DrawFn, eid: str) -> Encounter:
    dos = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)))
    ndx = draw(st.integers(1, 12))
    dx = [
        draw(st.sampled_from(UPPER))
        + draw(st.text("0123456789", min_size=2, max_size=2))
        + draw(st.text(ALNUM, min_size=0, max_size=4))
        for _ in range(ndx)
    ]
    dx = [d if draw(st.booleans()) else format_diagnosis(d) for d in dx]
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        ptrs = draw(st.lists(st.integers(1, ndx), min_size=1, max_size=4, unique=True))
        lines.append(
            Line(
                code=draw(st.text(ALNUM, min_size=5, max_size=5)),
                modifiers=draw(st.lists(st.sampled_from(MODS), max_size=4)),
                units=draw(st.integers(1, 8)) / draw(st.sampled_from([1, 2])),
                diagnosis_pointers=ptrs,
                date_of_service=draw(st.none() | st.integers(0, 5).map(lambda n: dos + timedelta(days=n))),
                place_of_service=draw(st.none() | st.sampled_from(["11", "22", "24"])),
                authorization_number=draw(
                    st.none() | st.text(ALNUM + "-", min_size=1, max_size=12).filter(str.strip)
                ),
                charge=draw(st.none() | st.integers(0, 1_000_000).map(lambda c: c / 100)),
                control_number=draw(st.none() | st.text(ALNUM, min_size=1, max_size=20)),
            )
        )
    has_dob = draw(st.booleans())
    return Encounter(
        encounter_id=eid,
        practice=Practice(
            npi=draw(st.text("0123456789", min_size=10, max_size=10)),
            name=draw(st.none() | st.text(UPPER, min_size=1, max_size=20)),
            tax_id=draw(st.none() | st.text("0123456789", min_size=9, max_size=9)),
            kind=draw(st.sampled_from(["physician", "asc"])),
            state=draw(st.sampled_from(STATES)),
        ),
        rendering_provider=Provider(npi=draw(st.none() | st.text("0123456789", min_size=10, max_size=10))),
        patient=Patient(
            member_id=draw(st.text(ALNUM, min_size=2, max_size=15)),
            last_name=draw(st.text(UPPER, min_size=1, max_size=20)),
            first_name=draw(st.none() | st.text(UPPER, min_size=1, max_size=12)),
            dob=date(1950, 1, 1) + timedelta(days=draw(st.integers(0, 20000))) if has_dob else None,
            sex=draw(st.sampled_from(["F", "M", "U"])) if has_dob else None,
        ),
        payer=Payer(
            id=draw(st.text(ALNUM, min_size=2, max_size=10)),
            plan=draw(st.sampled_from(["medicare", "medicare_advantage", "medicaid", "commercial"])),
        ),
        date_of_service=dos,
        place_of_service=draw(st.sampled_from(["11", "19", "22", "24"])),
        diagnoses=dx,
        authorization_number=draw(st.none() | st.text(ALNUM, min_size=1, max_size=12)),
        lines=lines,
    )


@st.composite
def encounter_lists(draw: st.DrawFn) -> list[Encounter]:
    n = draw(st.integers(1, 4))
    return [draw(encounters(f"E-{i}-{draw(st.text(ALNUM, min_size=1, max_size=8))}")) for i in range(n)]


def assert_same(written: Encounter, read: Encounter) -> None:
    assert read.encounter_id == written.encounter_id
    assert read.diagnoses == [format_diagnosis(d) for d in written.diagnoses]
    assert read.payer.id == written.payer.id and read.payer.plan == written.payer.plan
    assert read.place_of_service == written.place_of_service
    assert read.authorization_number == written.authorization_number
    assert read.practice.npi == written.practice.npi and read.practice.kind == written.practice.kind
    assert read.practice.state == written.practice.state
    assert read.practice.tax_id == (written.practice.tax_id or "000000000")
    assert read.rendering_provider.npi == (written.rendering_provider.npi or written.practice.npi)
    wp, rp = written.patient, read.patient
    assert (rp.member_id, rp.last_name, rp.first_name, rp.dob, rp.sex) == (
        wp.member_id,
        wp.last_name,
        wp.first_name,
        wp.dob,
        wp.sex,
    )
    wlines, rlines = written.lines or [], read.lines or []
    assert len(rlines) == len(wlines)
    for w, r in zip(wlines, rlines, strict=True):
        assert (r.code, r.modifiers, r.units, r.diagnosis_pointers) == (
            w.code,
            w.modifiers,
            w.units,
            w.diagnosis_pointers,
        )
        assert r.date_of_service == (w.date_of_service or written.date_of_service)
        assert r.place_of_service == w.place_of_service
        assert r.authorization_number == w.authorization_number
        assert r.control_number == w.control_number
        assert r.charge == (w.charge or 0.0)
    assert read.date_of_service == min(r.date_of_service for r in rlines if r.date_of_service)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encounter_lists())
def test_round_trip(encs: list[Encounter]) -> None:
    text = write_837(encs, now=NOW)
    tok = tokenize(text, "w.837", strict=True)  # counts and control numbers exact
    assert len(tok.transactions) == 1
    result = read_837(text, "w.837", strict=True)
    assert not result.problems and not result.warnings
    assert len(result.claims) == len(encs)
    for w, r in zip(encs, result.claims, strict=True):
        assert_same(w, r)


def test_round_trip_of_read_claims() -> None:
    first = read_837(fixture_text("pain.837"), "pain.837").claims
    again = read_837(write_837(first, now=NOW), "again.837").claims
    for a, b in zip(first, again, strict=True):
        assert a.model_dump(exclude={"practice": {"name"}, "payer": {"name"}}) == b.model_dump(
            exclude={"practice": {"name"}, "payer": {"name"}}
        )


def test_writer_refuses_unwritable() -> None:
    enc = read_837(fixture_text("pain.837"), "pain.837").claims[0]
    with pytest.raises(InputError, match="no lines"):
        write_837([enc.model_copy(update={"lines": []})])
    with pytest.raises(InputError, match="diagnosis"):
        write_837([enc.model_copy(update={"diagnoses": []})])
    with pytest.raises(InputError, match="no encounters"):
        write_837([])


def test_writer_refuses_invalid_identifiers() -> None:
    enc = read_837(fixture_text("pain.837"), "pain.837").claims[0]
    with pytest.raises(InputError, match="2 to 80"):
        write_837([enc.model_copy(update={"payer": enc.payer.model_copy(update={"id": "X"})})])
    with pytest.raises(InputError, match="1 to 38"):
        write_837([enc.model_copy(update={"encounter_id": "E" * 39})])
    with pytest.raises(InputError, match="separators"):
        write_837([enc.model_copy(update={"encounter_id": "E*1"})])
    with pytest.raises(InputError, match="10-digit NPI"):
        write_837([enc.model_copy(update={"practice": enc.practice.model_copy(update={"npi": "123"})})])


def test_separators_in_values_are_cleaned() -> None:
    enc = read_837(fixture_text("pain.837"), "pain.837").claims[0]
    enc = enc.model_copy(update={"patient": enc.patient.model_copy(update={"last_name": "O*NEIL~X:Y"})})
    claims = read_837(write_837([enc]), "x.837").claims
    assert claims[0].patient.last_name == "O NEIL X Y"


def _pyx12_valid(text: str) -> tuple[bool, str]:
    pyx12_params = pytest.importorskip("pyx12.params")
    doc = pytest.importorskip("pyx12.x12n_document")
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    ack = io.StringIO()
    ok = doc.x12n_document(pyx12_params.params(), io.StringIO(text), ack, None)
    return bool(ok), ack.getvalue()


def test_pyx12_accepts_writer_output() -> None:
    pytest.importorskip("pyx12")
    claims = read_837(fixture_text("pain.837"), "pain.837").claims
    ok, ack = _pyx12_valid(write_837(claims, now=NOW))
    assert ok, ack


@settings(max_examples=5, deadline=None)
@given(encounter_lists())
def test_pyx12_accepts_generated_claims(encs: list[Encounter]) -> None:
    pytest.importorskip("pyx12")
    ok, ack = _pyx12_valid(write_837(encs, now=NOW))
    assert ok, ack


def test_pyx12_rejects_a_broken_file() -> None:
    pytest.importorskip("pyx12")
    ok, ack = _pyx12_valid(fixture_text("pain.837"))  # PCN-2 lacks SV107
    assert not ok and "IK3*SV1" in ack


def test_claims_of_one_billing_provider_share_its_level() -> None:
    claims = read_837(fixture_text("pain.837"), "pain.837").claims
    same = [claims[0], claims[0].model_copy(update={"encounter_id": "PCN-9"}), claims[1]]
    text = write_837(same, now=NOW)
    assert text.count("HL*") == 5  # billing provider once for the first two claims, again for the third
    assert text.count("NM1*85*") == 2
    back = read_837(text, "w.837", strict=True)
    assert [c.encounter_id for c in back.claims] == ["PCN-1", "PCN-9", "PCN-3"]
    if importlib.util.find_spec("pyx12") is not None:
        ok, ack = _pyx12_valid(text)
        assert ok, ack
