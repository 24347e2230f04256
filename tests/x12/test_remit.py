from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from painrcm.errors import InputError
from painrcm.model import Encounter, Line, Patient, Payer
from painrcm.remit.codes import ACTIONS, code_table
from painrcm.remit.explain import explain_remittance
from painrcm.remit.underpay import (
    FeeSchedule,
    Rate,
    check_underpayment,
    demo_fee_schedule,
    parse_fee_schedule,
    parse_indicators,
)
from painrcm.x12.reader835 import read_835

from .conftest import fixture_text, linuxforhealth, sample

REQUIRED_CARC = (
    "4 5 11 16 18 22 27 29 45 50 96 97 109 119 146 151 167 170 181 182 197 198 204 222 234 236 242 252 288"
)
REQUIRED_RARC = "N4 N20 N56 N115 N130 N180 N290 N362 M25 M51 M76 M80 MA130"
EDIT_ID = re.compile(r"^(COD|ADD|BUN|MOD|FRQ|AUT|NEC|POS)\d{3}$")


@pytest.mark.parametrize("rel", linuxforhealth("835"))
def test_valid_835_samples_are_read(rel: str) -> None:
    text, name = sample(rel)
    read = read_835(text, name)
    assert read.remittances and read.claims
    report = explain_remittance(read.remittances[0])
    assert report.reconciliation.balanced, report.reconciliation
    for claim in report.claims:
        assert claim.next_action in ACTIONS


def test_medicare_part_a_plb_reconciles() -> None:
    text, name = sample("linuxforhealth/medicare-part-a.835")
    rem = read_835(text, name).remittances[0]
    assert rem.payment == 150000.0
    assert [p.amount for p in rem.provider_adjustments] == [Decimal("-1.27")]
    assert rem.claims[1].remarks[0].kind == "MOA" and rem.claims[1].remarks[0].codes == ["MA02"]
    rep = explain_remittance(rem)
    assert rep.reconciliation.expected_payment == 150000.0 and rep.reconciliation.balanced


@pytest.mark.parametrize(
    "rel", ["imsweb/x12_valid.txt", "imsweb/x12_bad_first_line.txt", "imsweb/x12_no_isa_line.txt"]
)
def test_non_835_refused(rel: str) -> None:
    text, name = sample(rel)
    with pytest.raises(InputError) as ei:
        read_835(text, name)
    assert ei.value.place is not None and ei.value.place.startswith("segment ")


def test_denials_fixture_read() -> None:
    read = read_835(fixture_text("denials.835"), "denials.835")
    rem = read.remittances[0]
    assert rem.payment == 335.0 and rem.payer_id == "DEMO01" and rem.trace_number == "EFT0001"
    assert rem.payment_date == date(2026, 4, 1)
    c1 = rem.claims[0]
    assert (c1.patient_control_number, c1.status, c1.billed, c1.paid, c1.patient_responsibility) == (
        "E-2001",
        "1",
        1400,
        400,
        50,
    )
    assert c1.payer_claim_number == "PCN0001"
    assert [(ln.code, ln.modifiers, ln.billed, ln.paid, ln.units) for ln in c1.lines] == [
        ("64483", ["RT"], 900, 300, 1),
        ("64484", ["RT"], 300, 100, 1),
        ("77003", [], 200, 0, 1),
    ]
    assert c1.lines[0].control_number == "E-2001-1" and c1.lines[0].allowed == 350
    assert [(a.group, a.reason, a.amount) for a in c1.lines[0].adjustments] == [
        ("CO", "45", 550),
        ("PR", "2", 50),
    ]
    assert c1.lines[2].remarks == ["M80"] and c1.lines[2].date_start == date(2026, 3, 2)
    assert rem.claims[1].remarks[0].codes == ["MA130"]
    assert rem.claims[2].is_reversal
    assert rem.provider_adjustments[0].reason == "WO" and rem.provider_adjustments[0].reference == "PCN0555"


def test_cas_with_several_triplets() -> None:
    text, name = sample("linuxforhealth/secondary-payment.835")
    line = read_835(text, name).claims[1].lines[1]
    assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [
        ("PR", "1", 150),
        ("PR", "2", 70),
        ("CO", "42", 85),
    ]


@pytest.mark.parametrize(
    ("old", "new", "place", "words"),
    [
        ("CAS*CO*97*200", "CAS*XX*97*200", "(CAS)", "group code"),
        ("CAS*CO*97*200", "CAS*CO*97*abc", "(CAS)", "not a number"),
        ("CLP*E-2002*4*800", "CLP**4*800", "(CLP)", "CLP01"),
        ("SVC*HC:64493:LT*500*0", "SVC*HC:64493:LT*five*0", "(SVC)", "SVC02"),
        ("DTM*472*20260303", "DTM*472*20261303", "(DTM)", "date"),
        ("N1*PE*MESA SPINE AND PAIN*XX*1245319599~\n", "", "(LX)", "payee"),
        ("LX*1~\n", "LX*1~\nAMT*B6*1~\n", "(AMT)", "not expected"),
    ],
)
def test_835_errors_are_located(old: str, new: str, place: str, words: str) -> None:
    text = fixture_text("denials.835")
    assert old in text
    with pytest.raises(InputError) as ei:
        read_835(text.replace(old, new, 1), "d.835")
    assert ei.value.place is not None and ei.value.place.endswith(place), ei.value.render()
    assert words in ei.value.expected, ei.value.render()


# -- CARC/RARC table ----------------------------------------------------------------------------


def test_code_table_covers_rules_section_9() -> None:
    table = code_table()
    for code in REQUIRED_CARC.split():
        assert code in table.carc, code
    for code in REQUIRED_RARC.split():
        assert code in table.rarc, code
    for info in [*table.carc.values(), *table.rarc.values()]:
        assert info.action in ACTIONS
        assert info.explain.strip() and info.send.strip()
        assert all(EDIT_ID.match(e) for e in info.prevented_by), info.prevented_by


def test_code_table_maps_denials_to_edits() -> None:
    t = code_table()

    def fam(code: str, prefix: str) -> bool:
        return any(e.startswith(prefix) for e in t.carc[code].prevented_by)

    assert fam("97", "BUN") and fam("236", "BUN") and fam("236", "MOD")
    assert fam("151", "FRQ") and fam("119", "FRQ")
    assert all(f"AUT00{i}" in t.carc["197"].prevented_by for i in range(1, 7))
    assert fam("50", "NEC") and fam("11", "NEC") and fam("167", "NEC")
    assert fam("4", "MOD") and fam("182", "MOD")
    assert t.carc["146"].prevented_by == ["COD002"]
    assert "MOD003" in t.carc["97"].prevented_by


def test_edit_ids_exist_in_catalogue() -> None:
    edits_md = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "EDITS.md"
    if not edits_md.is_file():
        pytest.skip("EDITS.md not found beside the repository")
    known = set(re.findall(r"\|\s*([A-Z]{3}\d{3})\s*\|", edits_md.read_text(encoding="utf-8")))
    t = code_table()
    for info in [*t.carc.values(), *t.rarc.values()]:
        assert set(info.prevented_by) <= known, set(info.prevented_by) - known


# -- explanation and matching -------------------------------------------------------------------


def submitted() -> list[Encounter]:
    payer = Payer(id="DEMO01", plan="commercial")
    pt = Patient(member_id="MEM001", last_name="DOE", first_name="JANE")
    e1 = Encounter(
        encounter_id="E-2001",
        payer=payer,
        patient=pt,
        date_of_service=date(2026, 3, 2),
        place_of_service="11",
        diagnoses=["M54.16"],
        lines=[
            Line(code="77003", diagnosis_pointers=[1]),
            Line(code="64483", modifiers=["RT"], control_number="E-2001-1", diagnosis_pointers=[1]),
            Line(code="64484", modifiers=["RT"], control_number="E-2001-2", diagnosis_pointers=[1]),
        ],
    )
    e2 = Encounter(
        encounter_id="E-2002",
        payer=payer,
        patient=pt,
        date_of_service=date(2026, 3, 3),
        place_of_service="22",
        diagnoses=["M47.816"],
        lines=[
            Line(code="64493", modifiers=["LT"], diagnosis_pointers=[1]),
            Line(code="64494", modifiers=["LT"], diagnosis_pointers=[1]),
        ],
    )
    return [e1, e2]


def test_explain_lines_and_match() -> None:
    rem = read_835(fixture_text("denials.835"), "denials.835").remittances[0]
    rep = explain_remittance(rem, submitted())
    assert rep.reconciliation.balanced and rep.reconciliation.expected_payment == 335.0
    c1, c2, c3, c4 = rep.claims
    assert c1.matched_encounter == "E-2001"
    l1, l2, l3 = c1.lines
    assert (l1.match.line, l1.match.by) == (2, "control_number")  # type: ignore[union-attr]
    assert (l2.match.line, l2.match.by) == (3, "control_number")  # type: ignore[union-attr]
    assert (l3.match.line, l3.match.by) == (1, "code_modifiers_date")  # type: ignore[union-attr]
    assert l1.allowed == 350 and l1.allowed_source == "AMT*B6" and l1.patient_responsibility == 50
    assert l1.next_action == "bill_patient"
    assert (
        l3.next_action == "correct_and_resubmit"
        and "BUN001" in l3.prevented_by
        and "MOD003" in l3.prevented_by
    )
    assert l3.explanation.startswith("Denied") and "CO-97" in l3.explanation and "M80" in l3.explanation
    d1, d2 = c2.lines
    # the claim's MOA remark MA130 says it has no appeal rights: never "appeal" (issue 9)
    assert d1.next_action == "correct_and_resubmit" and d1.next_action_detail.startswith("MA130")
    assert c2.next_action == "correct_and_resubmit"
    assert d1.prevented_by[:6] == [f"AUT00{i}" for i in range(1, 7)]
    assert (
        d2.next_action == "correct_and_resubmit"
        and "BUN006" in d2.prevented_by
        and "ADD004" in d2.prevented_by
    )
    assert d1.match is not None and d1.match.encounter_id == "E-2002"
    # reversal and the claim nobody submitted are reported, not dropped
    assert c3.reversal and rep.reversals == ["E-1999"]
    assert c3.lines[0].next_action == "no_action"
    assert c4.matched_encounter is None
    unmatched = {(u.patient_control_number, u.code) for u in rep.unmatched_lines}
    assert unmatched == {("E-1999", "20552"), ("X-404", "99213")}
    assert sum(len(c.lines) for c in rep.claims) == 7


def test_without_claims_no_matching() -> None:
    rem = read_835(fixture_text("denials.835"), "denials.835").remittances[0]
    rep = explain_remittance(rem)
    assert rep.matching == "not_requested" and rep.unmatched_lines == []


def test_unreconciled_payment_is_flagged() -> None:
    text = fixture_text("denials.835").replace("BPR*I*335.00", "BPR*I*340.00")
    rep = explain_remittance(read_835(text, "d.835").remittances[0])
    assert not rep.reconciliation.balanced
    assert any("does not reconcile" in f for f in rep.flags)


def test_unbalanced_line_is_flagged() -> None:
    text = fixture_text("denials.835").replace("CAS*CO*45*200~", "CAS*CO*45*150~")
    rep = explain_remittance(read_835(text, "d.835").remittances[0])
    assert any("64484" in f and "does not balance" in f for f in rep.flags)


def test_unknown_codes_are_explained_as_unknown() -> None:
    text = (
        fixture_text("denials.835")
        .replace("CAS*CO*97*200", "CAS*CO*Z9*200")
        .replace("LQ*HE*M80", "LQ*HE*N999")
    )
    rep = explain_remittance(read_835(text, "d.835").remittances[0])
    line = rep.claims[0].lines[2]
    assert not line.adjustments[0].known and not line.remarks[0].known
    assert line.next_action == "appeal"


# -- underpayment -------------------------------------------------------------------------------

INDICATORS = {
    "64483": ("2", "1", "000"),
    "64484": ("0", "1", "ZZZ"),
    "77003": ("0", "0", "ZZZ"),
    "64493": ("2", "1", "000"),
    "64494": ("0", "1", "ZZZ"),
    "20552": ("2", "0", "000"),
    "27096": ("2", "1", "000"),
    "64635": ("2", "1", "010"),
    "99213": ("0", "0", "XXX"),
}


def remit_with(lines: list[str], billed: float, paid: float) -> str:
    text = fixture_text("denials.835")
    head, rest = text.split("CLP*E-2001", 1)
    tail = rest[rest.index("CLP*E-2002") :]
    body = f"CLP*E-2001*1*{billed}*{paid}**12*PCN0001~\n" + "".join(f"{ln}~\n" for ln in lines)
    new = head + body + tail
    return new.replace("BPR*I*335.00", f"BPR*I*{paid - 65:.2f}")


def test_multiple_procedure_and_bilateral_rules() -> None:
    schedule = FeeSchedule(
        {("27096", ""): Rate(100, 200), ("64635", ""): Rate(300, 400), ("64636", ""): Rate(80, 120)}
    )
    ind = dict(INDICATORS, **{"64636": ("0", "1", "ZZZ")})
    text = remit_with(
        [
            "SVC*HC:64635:RT*500*300**1",
            "DTM*472*20260302",
            "CAS*CO*45*200",
            "AMT*B6*300",
            "SVC*HC:64636:RT*200*120**1",
            "DTM*472*20260302",
            "CAS*CO*45*80",
            "AMT*B6*120",
            "SVC*HC:27096:50*400*120**1",
            "DTM*472*20260302",
            "CAS*CO*45*280",
            "AMT*B6*120",
        ],
        1100,
        540,
    )
    rep = explain_remittance(read_835(text, "u.835").remittances[0])
    flags = check_underpayment(rep, schedule, ind, default_pos="11")
    l1, l2, l3 = rep.claims[0].lines
    assert l1.underpayment is not None and l1.underpayment.expected_allowed == 400.0  # highest: 100%
    assert "highest" in l1.underpayment.basis and l1.underpayment.flagged  # allowed 300 < 400
    assert l2.underpayment is not None and l2.underpayment.expected_allowed == 120.0  # add-on: 100%
    assert not l2.underpayment.flagged
    # 27096 with 50, bilateral indicator 1: 150% of 200 = 300, then second multiple procedure: 50% = 150
    assert l3.underpayment is not None and l3.underpayment.expected_allowed == 150.0
    assert "bilateral 150%" in l3.underpayment.basis and "50%" in l3.underpayment.basis
    assert l3.underpayment.flagged and l3.underpayment.shortfall == 30.0
    assert len(flags) == 2 and all("underpaid" in f for f in flags)
    assert set(flags) <= set(rep.flags)
    # an underpaid line is appealed (the underpayment), never written off (issue 9); the paid-right one is not
    assert l1.next_action == "appeal" and l1.next_action_detail.startswith("Appeal the underpayment")
    assert l3.next_action == "appeal" and l2.next_action == "write_off"


def test_facility_rate_from_matched_claim_and_tolerance() -> None:
    schedule = FeeSchedule(
        {("64483", ""): Rate(125, 265), ("64484", ""): Rate(52, 105), ("77003", ""): Rate(22, 60)}
    )
    rem = read_835(fixture_text("denials.835"), "d.835").remittances[0]
    encs = submitted()
    encs[0] = encs[0].model_copy(update={"place_of_service": "22"})
    rep = explain_remittance(rem, encs)
    check_underpayment(rep, schedule, INDICATORS, encounters=encs)
    l1, l2, l3 = rep.claims[0].lines
    assert (
        l1.underpayment is not None
        and l1.underpayment.expected_allowed == 125.0
        and "facility" in l1.underpayment.basis
    )
    assert not l1.underpayment.flagged  # allowed 350 >= 125
    assert (
        l2.underpayment is not None
        and l2.underpayment.expected_allowed == 52.0
        and not l2.underpayment.flagged
    )
    assert l3.underpayment is not None and "denied" in l3.underpayment.basis and not l3.underpayment.flagged
    # within tolerance: allowed 100 vs expected 101 -> not flagged (tolerance max($1, 2%))
    schedule.rates[("64484", "")] = Rate(101, 101)
    rep = explain_remittance(rem, encs)
    check_underpayment(rep, schedule, INDICATORS, encounters=encs)
    assert rep.claims[0].lines[1].underpayment is not None and not rep.claims[0].lines[1].underpayment.flagged


def test_fee_schedule_parsing() -> None:
    s = parse_fee_schedule(
        "code,modifier,facility_rate,nonfacility_rate\n77003,,22,60\n77003,26,20,20\n", "f.csv"
    )
    assert s.rate("77003", ["26"]) == Rate(20, 20) and s.rate("77003", []) == Rate(22, 60)
    assert s.rate("99999", []) is None
    demo = demo_fee_schedule()
    assert demo.rate("64483", []) is not None
    with pytest.raises(InputError) as ei:
        parse_fee_schedule("code,facility_rate\n1,2\n", "f.csv")
    assert ei.value.place == "row 1"
    with pytest.raises(InputError) as ei:
        parse_fee_schedule("code,facility_rate,nonfacility_rate\n64483,abc,1\n", "f.csv")
    assert ei.value.place == "row 2, column facility_rate"


def test_indicator_parsing() -> None:
    ind = parse_indicators(
        "hcpcs,status,global_days,mult_proc,bilat_surg\n64484,A,ZZZ,0,1\nJ3301,E,XXX,9,9*\n", "i"
    )
    assert ind["64484"] == ("0", "1", "ZZZ") and ind["J3301"] == ("9", "9", "XXX")


def test_denials_fixture_is_valid_for_pyx12() -> None:
    """The synthetic 835 the tests rely on is itself a valid 005010X221A1 remittance."""
    import io
    import logging

    params = pytest.importorskip("pyx12.params")
    doc = pytest.importorskip("pyx12.x12n_document")
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    ok = doc.x12n_document(params.params(), io.StringIO(fixture_text("denials.835")), io.StringIO(), None)
    assert ok


def test_835_keeps_svc07_and_reads_x12_numbers_only() -> None:
    from painrcm.errors import InputError
    from painrcm.x12.reader835 import read_835

    text = fixture_text("denials.835").replace(
        "SVC*HC:64483:RT*900*300**1~", "SVC*HC:64483:RT*900*300**1**2~", 1
    )
    line = read_835(text, "d.835").claims[0].lines[0]
    assert line.original_units == 2 and line.units == 1
    with pytest.raises(InputError, match="not a number"):
        read_835(
            fixture_text("denials.835").replace("SVC*HC:64483:RT*900*", "SVC*HC:64483:RT*9_00*", 1), "d.835"
        )


def test_era_keeps_service_date_ranges_and_original_units() -> None:
    from painrcm.remit.explain import explain_remittance
    from painrcm.x12.reader835 import read_835

    text = (
        fixture_text("denials.835")
        .replace("SVC*HC:64483:RT*900*300**1~", "SVC*HC:64483:RT*900*300**1**2~", 1)
        .replace("DTM*472*20260302~", "DTM*150*20260302~\nDTM*151*20260304~", 1)
    )
    rep = explain_remittance(read_835(text, "d.835").remittances[0])
    line = rep.claims[0].lines[0]
    assert str(line.date_of_service) == "2026-03-02" and str(line.date_of_service_end) == "2026-03-04"
    assert line.original_units == 2
