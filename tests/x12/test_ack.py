"""`painrcm ack`: 999, 277CA and TA1 files read, explained in plain words and matched to what was sent."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from painrcm.ack.codes import ack_codes
from painrcm.ack.explain import explain_ack_file
from painrcm.cli_ack import register
from painrcm.errors import InputError
from painrcm.inputs import read_encounters
from painrcm.x12.reader_ack import read_ack
from painrcm.x12.submitted import index_submitted
from painrcm.x12.writer837 import write_837

from .ackgen import ClaimResult, SetResult, make_277ca, make_999
from .conftest import SAMPLES

DATA = Path(__file__).resolve().parent / "data"
DEMO = Path(__file__).resolve().parents[2] / "src" / "painrcm" / "demo" / "data" / "claims"
runner = CliRunner()


def app() -> typer.Typer:
    a = typer.Typer(pretty_exceptions_enable=False)

    @a.callback()
    def _root() -> None:
        pass

    register(a)
    return a


def data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# --- reading ------------------------------------------------------------------------------------


def test_999_with_rejected_set_reads_every_error() -> None:
    ack = read_ack(data("999-rejected.x12"), "999-rejected.x12")
    (fa,) = ack.functional_acks
    assert (fa.group_control, fa.status, fa.received, fa.accepted) == ("42", "P", 3, 2)
    ok, bad, noted = fa.sets
    assert ok.status == "A" and not ok.errors
    assert bad.status == "R" and bad.codes == ["5"]
    nm1, sv1 = bad.errors
    assert (nm1.segment_id, nm1.position, nm1.loop, nm1.claim_id) == ("NM1", 19, "2010AA", "E-2002")
    assert nm1.elements[0].reference == "67" and nm1.elements[0].value == "123456789"
    assert sv1.elements[0].position == "1:2" and sv1.claim_id is None
    assert noted.status == "E" and noted.errors[0].code is None


def test_277ca_reads_levels_claims_and_lines() -> None:
    ack = read_ack(data("277ca-mixed.x12"), "277ca-mixed.x12")
    (ca,) = ack.claim_acks
    assert ca.payer_name == "SYNTHETIC PAYER"
    batch, provider = ca.levels
    assert (batch.trace, batch.accepted_count, batch.rejected_count) == ("PAINRCM1", 2, 3)
    assert provider.entity_id == "1245319599"
    ids = [c.patient_control_number for c in ca.claims]
    assert ids == ["E-1001", "E-1002", "E-1003", "E-1004", "E-1005"]
    first = ca.claims[0]
    assert first.payer_claim_number == "PCN2026001"
    assert [s.category for s in first.reports[0].statuses] == ["A1", "A2"]
    third = ca.claims[2]
    assert third.lines[0].procedure == "64483" and third.lines[0].line_control_number == "1"
    assert third.lines[0].reports[0].statuses[0].code == "454"


def test_ta1_only_interchange() -> None:
    ack = read_ack(data("ta1-rejected.x12"), "ta1.x12")
    (t,) = ack.interchange_acks
    assert (t.control_number, t.status, t.note_code, t.segment) == ("000000123", "R", "022", 2)
    assert ack.warnings == []


# --- explaining ---------------------------------------------------------------------------------


def test_277ca_outcomes_and_own_words() -> None:
    rep = explain_ack_file(read_ack(data("277ca-mixed.x12"), "f"))
    by_id = {c.patient_control_number: c for c in rep.claims()}
    assert rep.outcome == "rejected"
    assert by_id["E-1001"].outcome == "accepted" and by_id["E-1001"].prevented_by == []
    npi = by_id["E-1002"]
    assert npi.outcome == "rejected" and "NPI" in npi.explanation and "rendering provider" in npi.explanation
    assert "new claim (frequency 1)" in npi.next_action
    assert by_id["E-1003"].prevented_by == ["COD001"]  # the line's invalid procedure code
    assert "member ID" in by_id["E-1004"].explanation
    pended = by_id["E-1005"]
    assert pended.outcome == "pended" and "not in painrcm's table" in pended.explanation


@pytest.mark.parametrize(
    "category", ["A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "E0", "E1", "E2", "E3", "E4"]
)
def test_every_required_category_has_own_words(category: str) -> None:
    cat = ack_codes().categories[category]
    assert cat.explain and cat.outcome in ("accepted", "rejected", "pended")


def test_category_outcomes() -> None:
    cats = ack_codes().categories
    assert {c for c, v in cats.items() if v.outcome == "rejected"} >= {
        "A3",
        "A6",
        "A7",
        "A8",
        "E0",
        "E3",
        "E4",
    }
    assert {cats[c].outcome for c in ("A0", "A1", "A2")} == {"accepted"}
    assert all(v.outcome == "pended" for c, v in cats.items() if c[0] in "PR")


def test_code_table_names_only_existing_edits() -> None:
    from painrcm.edits import CATALOGUE

    codes = ack_codes()
    named = {e for s in codes.statuses.values() for e in s.prevented_by}
    named |= {e for v in codes.segment_edits.values() for e in v}
    assert named and named <= set(CATALOGUE)


def test_999_explained_with_edits_and_claims() -> None:
    rep = explain_ack_file(read_ack(data("999-group-rejected.x12"), "f"))
    (g,) = rep.groups
    assert g.outcome == "rejected" and "rejected" in g.explanation
    (s,) = g.sets
    hi = s.errors[0]
    assert hi.prevented_by == ["COD002"] and "not a valid code" in hi.explanation
    assert "segment ID is not recognized" in s.errors[1].explanation


def test_999_e_set_is_accepted() -> None:
    rep = explain_ack_file(read_ack(data("999-rejected.x12"), "f"))
    assert [s.outcome for s in rep.groups[0].sets] == ["accepted", "rejected", "accepted"]
    assert rep.groups[0].sets[1].rejected_claims == ["E-2002"]


# --- refusing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "place", "expected"),
    [
        (lambda t: t.replace("AK9*P*3*3*2~\n", ""), "(SE)", "AK9"),
        (lambda t: t.replace("AK1*HC*42*005010X222A1", "AK1*HC"), "(AK1)", "AK102"),
        (lambda t: t.replace("IK5*R*5~\n", "", 1), "", "IK5"),
        (lambda t: t.replace("IK4*1:2*234*7*6448X", "IK4"), "(IK4)", "IK401"),
    ],
)
def test_broken_999_refused_with_place(mutate, place: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as e:
        read_ack(mutate(data("999-rejected.x12")), "bad.999")
    msg = e.value.render()
    assert msg.startswith("bad.999: segment ") and place in msg and expected in msg and "\n" not in msg


def test_broken_277ca_refused_with_place() -> None:
    text = data("277ca-mixed.x12").replace("STC*A6:33:IL*20261130*U*300~\n", "")
    with pytest.raises(InputError, match=r"segment \d+ \(HL\): an STC status for claim 'E-1004'"):
        read_ack(text, "bad.277")
    text = data("277ca-mixed.x12").replace("TRN*2*E-1002", "TRN*2*")
    with pytest.raises(InputError, match=r"\(TRN\): TRN02"):
        read_ack(text, "bad.277")


def test_other_transactions_refused_naming_them() -> None:
    encs = read_encounters(DEMO / "04-77003-with-tfesi.json")[0]
    with pytest.raises(InputError) as e:
        read_ack(write_837(encs), "claims.837")
    assert "this is an 837P professional claim (version 005010X222A1)" in e.value.render()
    status = data("277ca-mixed.x12").replace("005010X214", "005010X212")
    with pytest.raises(InputError, match="277 claim status response"):
        read_ack(status, "x.277")
    x278 = (
        data("999-accepted.x12")
        .replace("ST*999*0001*005010X231A1", "ST*278*0001*005010X217")
        .replace("GS*FA", "GS*HI")
    )
    with pytest.raises(InputError, match="278 prior-authorization"):
        read_ack(x278, "x.278")


# --- matching a generated round trip ------------------------------------------------------------


def _submitted(tmp_path: Path) -> tuple[Path, list[str]]:
    encs = []
    for name in ("04-77003-with-tfesi.json", "05-modifier-50-on-interlaminar.json", "06-em-without-25.json"):
        encs += read_encounters(DEMO / name)[0]
    encs = [e for e in encs if e.lines]
    path = tmp_path / "sent.837"
    path.write_text(write_837(encs, control_number=4242, now=datetime(2026, 11, 30, 8, 0)), encoding="utf-8")
    return path, [e.encounter_id for e in encs]


def test_generated_999_and_277ca_match_the_written_837(tmp_path: Path) -> None:
    sent, ids = _submitted(tmp_path)
    (sub,) = index_submitted(sent.read_text(), str(sent))
    assert sub.interchange_control == "000004242" and sub.groups[0].control_number == "4242"
    st = sub.groups[0].sets[0]
    assert [c.claim_id for c in st.claims] == ids
    # An error inside the second claim's segments, located only by position (no CTX).
    pos = st.claims[1].position + 3
    ack999 = make_999(
        "4242",
        [
            SetResult(
                st.control_number, "R", ("5",), [("SV1", pos, "2400", "8", [("1:2", "234", "7", "X")], None)]
            )
        ],
    )
    rep = explain_ack_file(read_ack(ack999, "a.999"), [sub])
    g = rep.groups[0]
    assert g.matched and g.submitted_file == str(sent) and g.sets[0].matched
    assert g.sets[0].errors[0].claim_id == ids[1] and g.sets[0].rejected_claims == [ids[1]]
    assert g.sets[0].claims == ids

    ca = make_277ca(
        [
            ClaimResult(ids[0], ["A2:20:PR"]),
            ClaimResult(ids[1], ["A7:562:82"], action="U"),
            ClaimResult("NOPE", ["A1:19"]),
        ],
        batch=st.reference or "",
    )
    rep = explain_ack_file(read_ack(ca, "a.277"), [sub])
    cs = rep.claims()
    assert [c.matched for c in cs] == [True, True, False]
    assert rep.claim_acks[0].levels[0].submitted_file == str(sent)


def test_cli_human_json_and_exit_codes(tmp_path: Path) -> None:
    sent, ids = _submitted(tmp_path)
    (tmp_path / "ok.999").write_text(make_999("4242", [SetResult("4242")]), encoding="utf-8")
    r = runner.invoke(app(), ["ack", str(tmp_path / "ok.999"), "--claims", str(sent)])
    assert r.exit_code == 0, r.output
    assert "accepted" in r.stdout and f"matches submitted functional group in {sent}" in r.stdout

    (tmp_path / "rej.277").write_text(
        make_277ca([ClaimResult(ids[0], ["A7:562:82"], action="U")]), encoding="utf-8"
    )
    r = runner.invoke(app(), ["ack", str(tmp_path / "rej.277"), "--claims", str(sent), "--json"])
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert doc["schema"] == "painrcm.ack/1"
    claim = doc["files"][0]["claim_acks"][0]["claims"][0]
    assert claim["outcome"] == "rejected" and claim["matched"] is True and "NPI" in claim["explanation"]

    r = runner.invoke(app(), ["ack", str(sent)])
    assert r.exit_code == 2 and r.stdout == ""
    assert "837P professional claim" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# --- real files written elsewhere ---------------------------------------------------------------


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/x12-samples is not present")
def test_real_999_samples() -> None:
    rej = SAMPLES / "imsweb" / "x12_999_rejected.txt"
    rep = explain_ack_file(read_ack(rej.read_text(), str(rej)))
    assert rep.outcome == "rejected" and rep.groups[0].sets[0].errors[0].segment_id == "NM"
    ok = SAMPLES / "imsweb" / "x12_999_accepted.txt"
    rep = explain_ack_file(read_ack(ok.read_text(), str(ok)))
    # Its IEA02 differs from ISA13: read, with a located warning.
    assert rep.outcome == "accepted" and "IEA02" in rep.warnings[0]


def test_provider_level_rejection_rejects_the_file() -> None:
    text = make_277ca([], provider_status="A3:24:85*20261130*U*150")
    rep = explain_ack_file(read_ack(text, "p.277"))
    _batch, provider = rep.claim_acks[0].levels
    assert provider.outcome == "rejected" and "enrollment" in " ".join(
        s.explanation for s in provider.statuses
    )
    assert rep.outcome == "rejected" and rep.claims() == []


def test_trailer_numbers_equal_as_numbers_are_read_with_a_warning() -> None:
    text = data("277ca-mixed.x12").replace("SE*", "SE*", 1)
    se = next(line for line in text.splitlines() if line.startswith("SE*"))
    text = text.replace(se, se.replace("*0001~", "*00001~"))
    ack = read_ack(text, "t.277")
    assert len(ack.claim_acks[0].claims) == 5
    assert any("SE02 control number '00001' does not match ST02 '0001'" in w for w in ack.warnings)
    with pytest.raises(InputError, match="SE02 control number '0002'"):
        read_ack(text.replace(se.replace("*0001~", "*00001~"), se.replace("*0001~", "*0002~")), "t.277")


def test_claim_explanation_says_each_sentence_once() -> None:
    rep = explain_ack_file(read_ack(data("277ca-mixed.x12"), "f"))
    e1003 = next(c for c in rep.claims() if c.patient_control_number == "E-1003")
    assert e1003.explanation.count("a value on it is not valid") == 1


def test_999_with_ta1_crlf_and_situational_context() -> None:
    ack = read_ack(data("999-ta1-context.x12"), "c.999")
    (ta1,) = ack.interchange_acks
    assert (ta1.control_number, ta1.status, ta1.segment) == ("000004242", "A", 2)
    (fa,) = ack.functional_acks
    ref, sv1 = fa.sets[0].errors
    assert ref.context == ["SITUATIONAL TRIGGER", "CLM01:DEMO-1004"] and ref.claim_id == "DEMO-1004"
    assert sv1.elements[0].reference == "" and sv1.elements[0].code == "I12"
    rep = explain_ack_file(read_ack(data("999-ta1-context.x12"), "c.999"))
    assert rep.interchanges[0].outcome == "accepted" and rep.outcome == "rejected"
    assert "required segment is missing" in rep.groups[0].sets[0].errors[0].explanation


def test_broken_file_place_counts_the_ta1() -> None:
    text = data("999-ta1-context.x12").replace("GE*1*910", "GE*1*911")
    with pytest.raises(InputError, match=r"segment 15 \(GE\): GE02 control number '911'"):
        read_ack(text, "c.999")


def test_rejections_for_a_malformed_amount_or_a_duplicate_name_clm006_and_clm007() -> None:
    """Issue 11: a 999 element error in CLM02/SV102/SV104 (e.g. 1_000) is what CLM006 catches, and a
    payer's duplicate-claim status what CLM007 catches when the repeat is in the same file."""
    codes = ack_codes()
    for key in ("CLM-02", "SV1-02", "SV1-04"):
        assert "CLM006" in codes.segment_edits[key]
    for status in ("54", "78"):
        assert "CLM007" in codes.statuses[status].prevented_by
