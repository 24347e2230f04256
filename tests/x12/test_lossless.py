"""Claims read from an 837P are written back with everything the file held: read -> write -> read is
the identity on every field, and the only differences in the written segments are the corrections
(issue 11, item 1)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painrcm.errors import InputError
from painrcm.model import Encounter, Line
from painrcm.x12.reader837 import Read837, read_837
from painrcm.x12.segments import raw_segments
from painrcm.x12.writer837 import write_837

from .conftest import SAMPLES, fixture_text
from .test_writer837 import encounters as generated_encounters


def _body(text: str) -> list[str]:
    """The segments between the first HL and SE of each transaction set, with ``* : ^`` separators
    and HL numbers left out (they are renumbered)."""
    d, raw = raw_segments(text, "x")
    table = {d.element: "*", d.component: ":"}
    if d.repetition:
        table[d.repetition] = "^"
    trans = str.maketrans(table)
    out: list[str] = []
    inside = False
    for s in raw:
        els = s.split(d.element)
        if els[0] == "HL":
            inside = True
            out.append(f"HL level {els[3]}")
        elif els[0] in ("SE", "GE", "IEA", "ISA", "GS", "ST"):
            inside = False
        elif inside:
            out.append(s.translate(trans))
    return out


def _dump(r: Read837) -> list[dict[str, object]]:
    return [c.model_dump(mode="json") for c in r.claims]


def _real_837() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(
        p
        for p in SAMPLES.rglob("*")
        if p.is_file() and p.suffix != ".835" and p.name not in ("LICENSE", "README.md")
    )


def test_every_real_837p_sample_round_trips_without_a_difference() -> None:
    files = _real_837()
    if not files:
        pytest.skip(f"shared X12 samples not found at {SAMPLES}")
    checked = 0
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        try:
            first = read_837(text, f.name)
        except InputError:
            continue  # not an 837P, or refused: the reader tests cover those
        if first.problems:
            continue
        out = write_837(first.claims, sources=first.sources)
        again = read_837(out, "written.837")
        assert not again.problems, [p.render() for p in again.problems]
        assert _dump(again) == _dump(first), f.name
        assert _body(out) == _body(text), f.name
        checked += 1
    assert checked >= 20


def test_dependents_cob_minutes_and_icd9_are_kept() -> None:
    files = {p.name: p for p in _real_837()}
    if "demo.cob.example3.C.837" not in files:
        pytest.skip("linuxforhealth samples not found")
    for name in ("demo.cob.example3.C.837", "x12_valid.txt", "demo.autoaccident.837"):
        if name not in files:
            continue
        text = files[name].read_text(encoding="utf-8")
        first = read_837(text, name)
        out = write_837(first.claims, sources=first.sources)
        body = _body(out)
        for seg in _body(text):  # SBR, 2320/2330 COB, NM1*DN referring, DTP*439 accident, HI*BK ...
            assert seg in body


def _fix(enc: Encounter, drop: int | None, mods: list[str] | None, units: float | None) -> Encounter:
    lines = [ln.model_copy() for ln in enc.lines or []]
    if mods is not None:
        lines[0] = lines[0].model_copy(update={"modifiers": mods})
    if units is not None:
        lines[0] = lines[0].model_copy(update={"units": units})
    if drop is not None and len(lines) > 1:
        del lines[drop % len(lines)]
    return enc.model_copy(update={"lines": lines})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    drop=st.none() | st.integers(0, 5),
    mods=st.none() | st.lists(st.sampled_from(["RT", "LT", "59", "XS", "50"]), max_size=3),
    units=st.none() | st.integers(1, 4).map(float),
)
def test_generated_claims_round_trip_and_only_the_fixes_change(
    data: st.DataObject, drop: int | None, mods: list[str] | None, units: float | None
) -> None:
    encs = [data.draw(generated_encounters(f"G-{i}")) for i in range(data.draw(st.integers(1, 3)))]
    first = read_837(write_837(encs), "gen.837")
    assert not first.problems
    # no correction: written back identical
    again = read_837(write_837(first.claims, sources=first.sources), "again.837")
    assert _dump(again) == _dump(first)
    # a correction of the lines: exactly that changes
    fixed = [_fix(c, drop, mods, units) for c in first.claims]
    third = read_837(write_837(fixed, sources=first.sources), "fixed.837")
    assert not third.problems
    for want, got, before in zip(fixed, third.claims, first.claims, strict=True):
        skip = {"lines", "date_of_service", "total_charge"}
        w = want.model_dump(mode="json", exclude=skip)
        g = got.model_dump(mode="json", exclude=skip)
        assert w == g
        if want.lines == before.lines:
            assert got.total_charge == before.total_charge  # CLM02 kept as read
        else:
            assert got.total_charge == pytest.approx(sum(ln.charge or 0 for ln in want.lines or []))
        assert [ln.model_dump(mode="json") for ln in want.lines or []] == [
            ln.model_dump(mode="json") for ln in got.lines or []
        ]


def test_a_change_the_source_cannot_carry_is_refused_with_its_place() -> None:
    first = read_837(fixture_text("pain.837"), "pain.837")
    changed = first.claims[0].model_copy(update={"diagnoses": ["M54.5"]})
    with pytest.raises(InputError) as ei:
        write_837([changed, *first.claims[1:]], sources=first.sources)
    assert ei.value.place == "encounter 'PCN-1'" and "diagnoses" in ei.value.expected
    lines = list(first.claims[0].lines or [])
    lines[0] = lines[0].model_copy(update={"place_of_service": "19"})
    moved = first.claims[0].model_copy(update={"lines": lines})
    with pytest.raises(InputError) as ei:
        write_837([moved], sources=first.sources[:1])
    assert ei.value.place == "encounter 'PCN-1': line 1" and "place_of_service" in ei.value.expected


def test_removed_line_updates_clm02_and_lx_and_keeps_the_rest() -> None:
    text = fixture_text("pain.837")
    first = read_837(text, "pain.837")
    enc = first.claims[0]
    lines = list(enc.lines or [])
    fixed = enc.model_copy(update={"lines": [lines[0], lines[1]]})  # 77003 removed
    out = write_837([fixed], sources=first.sources[:1])
    again = read_837(out, "o.837").claims[0]
    assert [ln.code for ln in again.lines or []] == ["64483", "64484"]
    clm = next(s for s in out.split("~\n") if s.startswith("CLM*PCN-1*"))
    assert clm.split("*")[2] == "1200"  # 900 + 300
    assert "LX*3" not in out and "77003" not in out
    # the patient level, the facility and the rendering provider are still there
    body = _body(out)
    assert "NM1*QC*1*DOE*JANE" in " ".join(body) and any(s.startswith("NM1*77*") for s in body)


def test_claims_without_a_source_mix_with_claims_that_have_one() -> None:
    first = read_837(fixture_text("pain.837"), "pain.837")
    plain = Encounter.model_validate(first.claims[1].model_dump(by_alias=True))
    plain = plain.model_copy(update={"encounter_id": "JSON-1"})
    out = write_837([first.claims[0], plain], sources=[first.sources[0], None])
    again = read_837(out, "mixed.837")
    assert [c.encounter_id for c in again.claims] == ["PCN-1", "JSON-1"] and not again.problems


def test_scrub_fix_x12_writes_from_the_source(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from painrcm.cli import app

    src = tmp_path / "in.837"
    src.write_text(fixture_text("pain.837"), encoding="utf-8")
    out = tmp_path / "out.837"
    r = CliRunner().invoke(app, ["scrub", str(src), "--fix", "--x12", str(out)])
    assert r.exit_code in (1, 2), r.output
    written = out.read_text(encoding="utf-8")
    read_back = read_837(written, "out.837")
    original = read_837(fixture_text("pain.837"), "in.837")
    assert _dump(read_back) == _dump(original)
    assert "NM1*QC*1*DOE*JANE" in written  # the dependent stays a dependent
    assert "SBR*P**GRP1******16" in written


def test_line_dates_ranges_keep_their_form() -> None:
    text = fixture_text("pain.837")
    assert "RD8" in text
    first = read_837(text, "pain.837")
    out = write_837(first.claims, sources=first.sources)
    assert "RD8" in out
    assert date(2026, 3, 1) + timedelta(days=0) == first.claims[0].date_of_service
    _ = Line  # the models are the ones the reader builds
