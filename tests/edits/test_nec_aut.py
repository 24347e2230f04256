"""Behaviour tests for NEC002-NEC004, NEC006-NEC011, AUT001 and AUT091 beyond their documented examples."""

from __future__ import annotations

from typing import Any

from painrcm.edits.examples import COMMERCIAL, example_encounter
from painrcm.model import ClaimResult, Finding
from tests.support import ENGINE

TF_RIGHT_L5 = {
    "family": "epidural_transforaminal",
    "region": "lumbar",
    "levels": ["L5"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["dexamethasone 10 mg"],
}
DOC = {"conservative_care_weeks": 12, "indication": "radiculopathy", "psych_evaluation": True}


def ln(code: str, *mods: str, units: float = 1, ptrs: list[int] | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "code": code,
        "modifiers": list(mods),
        "units": units,
        "diagnosis_pointers": [1] if ptrs is None else ptrs,
        **kw,
    }


def proc(**facts: Any) -> dict[str, Any]:
    return {**TF_RIGHT_L5, **facts}


def scrub(overrides: dict[str, Any], **kw: Any) -> ClaimResult:
    return ENGINE.scrub(example_encounter(overrides), **kw)


def hits(result: ClaimResult, edit: str) -> list[Finding]:
    return [f for f in result.findings if f.edit == edit]


def skipped(result: ClaimResult, edit: str) -> bool:
    return edit in {n.edit for n in result.not_checked}


def fixed_codes(result: ClaimResult) -> list[tuple[str, tuple[str, ...], float | None]] | None:
    if result.fixed_lines is None:
        return None
    return [(x.code, tuple(x.modifiers), x.units) for x in result.fixed_lines]


# --- NEC002 conservative care ---------------------------------------------------------------------
def test_nec002_weeks_follow_the_payer():
    five = {"documentation": {**DOC, "conservative_care_weeks": 5}}
    assert not hits(scrub(five), "NEC002")  # medicare: 4 weeks before an epidural
    r = scrub({**five, "payer": COMMERCIAL, "authorization_number": "PA-1"})
    (f,) = hits(r, "NEC002")  # commercial: 6 weeks
    assert f.line == 1 and "6 weeks" in f.message and "5 weeks" in f.message


def test_nec002_one_finding_per_family_and_facet_needs_six_weeks():
    r = scrub(
        {
            "documentation": {**DOC, "conservative_care_weeks": 5},
            "procedures": [
                proc(levels=["L4", "L5"]),
                {
                    "family": "facet_joint",
                    "region": "lumbar",
                    "target": "intraarticular",
                    "purpose": "therapeutic",
                    "levels": ["L3-L4"],
                    "laterality": "left",
                    "imaging": "fluoroscopy",
                    "images_stored": True,
                    "medications": ["bupivacaine"],
                },
            ],
            "diagnoses": ["M54.16", "M47.816"],
            "lines": [ln("64483", "RT"), ln("64484", "RT"), ln("64493", "LT", ptrs=[2])],
        }
    )
    assert [f.line for f in hits(r, "NEC002")] == [3]  # epidural meets 4 weeks, facet misses 6


def test_nec002_unknown_weeks_is_not_checked():
    r = scrub({"documentation": {"indication": "radiculopathy"}})
    assert not hits(r, "NEC002") and skipped(r, "NEC002")


def test_nec002_quiet_for_non_interventional_lines():
    r = scrub(
        {
            "documentation": {**DOC, "conservative_care_weeks": 0},
            "diagnoses": ["M79.18"],
            "procedures": [
                {"family": "trigger_point", "muscles": ["trapezius"], "medications": ["lidocaine"]}
            ],
            "lines": [ln("20552")],
        }
    )
    assert not hits(r, "NEC002") and not skipped(r, "NEC002")


# --- NEC003 / NEC004 diagnoses ----------------------------------------------------------------------
def test_nec003_and_nec004_stand_side_by_side():
    r = scrub({"diagnoses": ["M54.50"], "lines": [ln("64483", "RT")]})
    assert [f.severity.value for f in hits(r, "NEC003")] == ["error"]
    assert [f.severity.value for f in hits(r, "NEC004")] == ["warning"]


def test_nec003_reads_the_line_pointers_not_the_whole_claim():
    r = scrub({"diagnoses": ["M54.16", "M62.830"], "lines": [ln("64483", "RT", ptrs=[2])]})
    assert [f.line for f in hits(r, "NEC003")] == [1]
    assert not hits(
        scrub({"diagnoses": ["M54.16", "M62.830"], "lines": [ln("64483", "RT", ptrs=[2, 1])]}), "NEC003"
    )


def test_nec003_trigger_point_list_depends_on_payer():
    tpi = {
        "diagnoses": ["M62.830"],
        "procedures": [{"family": "trigger_point", "muscles": ["a", "b"], "medications": ["lidocaine"]}],
        "lines": [ln("20552")],
    }
    assert hits(scrub(tpi), "NEC003")  # medicare: M79.1 or G44.2 only
    assert not hits(scrub({**tpi, "payer": COMMERCIAL}), "NEC003")  # commercial adds M62.83


def test_nec003_nec004_skip_families_without_a_list():
    r = scrub({"diagnoses": ["G89.29"], "procedures": [], "lines": [ln("99213"), ln("63650", units=2)]})
    assert not hits(r, "NEC003") and not hits(r, "NEC004")


def test_nec004_quiet_when_a_specific_diagnosis_is_on_the_line():
    assert not hits(
        scrub({"diagnoses": ["M54.50", "M54.16"], "lines": [ln("64483", "RT", ptrs=[1, 2])]}), "NEC004"
    )


# --- NEC006 psychological evaluation ----------------------------------------------------------------
SCS_TRIAL = {"family": "spinal_cord_stimulator", "stage": "trial", "leads": 2, "relief_percent": 60}


def test_nec006_unknown_psych_is_not_checked_false_is_an_error():
    base = {"diagnoses": ["M96.1"], "procedures": [SCS_TRIAL], "lines": [ln("63650", units=2)]}
    r = scrub({**base, "documentation": {**DOC, "psych_evaluation": None}})
    assert not hits(r, "NEC006") and skipped(r, "NEC006")
    r = scrub({**base, "documentation": {**DOC, "psych_evaluation": False}})
    assert [f.line for f in hits(r, "NEC006")] == [1]


def test_nec006_generator_stage_comes_from_the_note():
    doc = {"documentation": {**DOC, "psych_evaluation": False}, "diagnoses": ["M96.1"], "procedures": []}
    # 63685 places a first generator (implant) or replaces one (revision): without a note, unknown
    r = scrub({**doc, "lines": [ln("63685")]})
    assert not hits(r, "NEC006") and skipped(r, "NEC006")
    implant = {"family": "spinal_cord_stimulator", "stage": "implant", "leads": 0}
    assert hits(scrub({**doc, "procedures": [implant], "lines": [ln("63685")]}), "NEC006")
    r = scrub({**doc, "lines": [ln("63688")]})
    assert not hits(r, "NEC006") and not skipped(r, "NEC006")


# --- NEC007 documentation facts ---------------------------------------------------------------------
def test_nec007_needs_procedures():
    r = scrub({"procedures": []})
    assert not hits(r, "NEC007") and skipped(r, "NEC007")


def test_nec007_missing_indication_is_claim_level():
    r = scrub({"documentation": {**DOC, "indication": None}})
    (f,) = hits(r, "NEC007")
    assert f.line is None and "indication" in f.message


def test_nec007_diagnostic_block_needs_relief_and_names_the_line():
    mbb = {
        "family": "facet_joint",
        "region": "lumbar",
        "target": "medial_branch",
        "purpose": "diagnostic",
        "levels": ["L4-L5"],
        "laterality": "bilateral",
        "imaging": "fluoroscopy",
        "images_stored": True,
        "medications": ["bupivacaine 0.5%"],
    }
    r = scrub({"diagnoses": ["M47.816"], "procedures": [mbb], "lines": [ln("64493", "50", "KX")]})
    (f,) = hits(r, "NEC007")
    assert f.line == 1 and "relief" in f.message
    assert not hits(
        scrub(
            {
                "diagnoses": ["M47.816"],
                "procedures": [{**mbb, "relief_percent": 85}],
                "lines": [ln("64493", "50", "KX")],
            }
        ),
        "NEC007",
    )


def test_nec007_images_stored_only_when_interlaminar_imaging_used():
    il = {
        "family": "epidural_interlaminar",
        "region": "lumbar",
        "approach": "interlaminar",
        "levels": ["L5-S1"],
        "medications": ["triamcinolone 80 mg"],
    }
    assert not hits(scrub({"procedures": [{**il, "imaging": "none"}], "lines": [ln("62322")]}), "NEC007")
    (f,) = hits(scrub({"procedures": [{**il, "imaging": "fluoroscopy"}], "lines": [ln("62323")]}), "NEC007")
    assert "stored" in f.message


# --- NEC008 trigger-point muscles -------------------------------------------------------------------
TPI = {"diagnoses": ["M79.18"]}


def test_nec008_fix_swaps_to_the_smaller_code_and_counts_muscles_once():
    r = scrub(
        {
            **TPI,
            "procedures": [
                {
                    "family": "trigger_point",
                    "muscles": ["Trapezius", "trapezius ", "rhomboid"],
                    "medications": ["lidocaine"],
                }
            ],
            "lines": [ln("20553")],
        },
        fix=True,
    )
    assert [f.line for f in hits(r, "NEC008")] == [1]
    assert fixed_codes(r) == [("20552", (), 1)]


def test_nec008_without_note_or_muscles_is_not_checked():
    r = scrub({**TPI, "procedures": [], "lines": [ln("20553")]})
    assert not hits(r, "NEC008") and skipped(r, "NEC008")
    r = scrub(
        {
            **TPI,
            "procedures": [{"family": "trigger_point", "medications": ["lidocaine"]}],
            "lines": [ln("20553")],
        }
    )
    assert not hits(r, "NEC008") and skipped(r, "NEC008")


def test_nec008_leaves_both_codes_to_bun003():
    r = scrub(
        {
            **TPI,
            "procedures": [
                {"family": "trigger_point", "muscles": ["a", "b", "c"], "medications": ["lidocaine"]}
            ],
            "lines": [ln("20552"), ln("20553")],
        }
    )
    assert hits(r, "BUN003") and not hits(r, "NEC008")


# --- NEC009 code contradicts the note ---------------------------------------------------------------
def test_nec009_wrong_side_is_replaced_with_the_documented_side():
    r = scrub({"procedures": [proc(laterality="left")], "lines": [ln("64483", "RT", ptrs=[1, 2])]}, fix=True)
    (f,) = hits(r, "NEC009")
    assert f.line == 1 and "left" in f.message
    assert fixed_codes(r) == [("64483", ("LT",), 1)]


def test_nec009_one_side_of_a_bilateral_procedure_is_not_a_contradiction():
    r = scrub({"procedures": [proc(laterality="bilateral")], "lines": [ln("64483", "50", ptrs=[1, 2])]})
    assert not hits(r, "NEC009")
    r = scrub(
        {
            "procedures": [proc(laterality="left"), proc(laterality="right")],
            "lines": [ln("64483", "50", ptrs=[1, 2])],
        }
    )
    assert not hits(r, "NEC009")


def test_nec009_region_decided_by_levels_t12_l1_is_thoracic():
    r = scrub(
        {
            "diagnoses": ["M54.15"],
            "procedures": [proc(region="lumbar", levels=["T12-L1"])],
            "lines": [ln("64483", "RT")],
        },
        fix=True,
    )
    (f,) = hits(r, "NEC009")
    assert "cervical/thoracic" in f.message
    assert fixed_codes(r) == [("64479", ("RT",), 1)]


def test_nec009_facet_code_for_documented_rfa():
    rfa = {
        "family": "radiofrequency_ablation",
        "region": "lumbar",
        "levels": ["L4-L5", "L5-S1"],
        "laterality": "right",
        "imaging": "fluoroscopy",
        "images_stored": True,
    }
    r = scrub(
        {"diagnoses": ["M47.816"], "procedures": [rfa], "lines": [ln("64493", "RT"), ln("64494", "RT")]},
        fix=True,
    )
    assert [f.line for f in hits(r, "NEC009")] == [1, 2]
    assert fixed_codes(r) == [("64635", ("RT",), 1), ("64636", ("RT",), 1)]


def test_nec009_undocumented_extra_procedure_has_no_automatic_fix():
    r = scrub(
        {"diagnoses": ["M54.16", "M79.18"], "lines": [ln("64483", "RT"), ln("20552", ptrs=[2])]}, fix=True
    )
    assert [f.line for f in hits(r, "NEC009")] == [2]
    assert r.fixed_lines is None


def test_nec009_levels_and_imaging_are_not_its_business():
    r = scrub({"lines": [ln("64483", "RT"), ln("64484", "RT")]})  # one documented level, two billed
    assert not hits(r, "NEC009")


def test_nec009_needs_procedures_and_ignores_other_dates():
    r = scrub({"procedures": [], "lines": [ln("62323")]})
    assert not hits(r, "NEC009") and skipped(r, "NEC009")
    r = scrub({"lines": [ln("64483", "RT"), ln("64483", "LT", date_of_service="2026-02-02")]})
    assert not hits(r, "NEC009")


def test_nec009_unknown_side_is_not_checked():
    r = scrub({"procedures": [proc(laterality=None)], "lines": [ln("64483", "LT")]})
    assert not hits(r, "NEC009") and skipped(r, "NEC009")


# --- NEC010 imaging-inclusive code without imaging --------------------------------------------------
IL = {
    "family": "epidural_interlaminar",
    "region": "cervical",
    "approach": "interlaminar",
    "levels": ["C7-T1"],
    "medications": ["triamcinolone 80 mg"],
}


def test_nec010_cervical_swaps_to_62320():
    r = scrub(
        {
            "payer": COMMERCIAL,
            "authorization_number": "PA-1",
            "diagnoses": ["M50.13"],
            "procedures": [{**IL, "imaging": "none"}],
            "lines": [ln("62321")],
        },
        fix=True,
    )
    assert [f.line for f in hits(r, "NEC010")] == [1]
    assert fixed_codes(r) == [("62320", (), 1)]


def test_nec010_fixed_code_is_then_not_covered_by_medicare():
    r = scrub(
        {"diagnoses": ["M50.13"], "procedures": [{**IL, "imaging": "none"}], "lines": [ln("62321")]}, fix=True
    )
    assert hits(r, "NEC010") and r.fixed_lines is None  # 62320 is NEC011 for Medicare: no safe fix


def test_nec010_code_without_twin_has_no_fix():
    r = scrub({"procedures": [proc(imaging="none")]}, fix=True)
    assert [f.line for f in hits(r, "NEC010")] == [1] and r.fixed_lines is None


def test_nec010_ultrasound_is_not_interlaminar_imaging_and_unknown_is_not_checked():
    r = scrub(
        {"diagnoses": ["M50.13"], "procedures": [{**IL, "imaging": "ultrasound"}], "lines": [ln("62321")]}
    )
    assert hits(r, "NEC010")
    r = scrub({"procedures": [proc(imaging=None)]})
    assert not hits(r, "NEC010") and skipped(r, "NEC010")


# --- NEC011 not covered -----------------------------------------------------------------------------
CAUDAL = {
    "family": "epidural_interlaminar",
    "region": "sacral",
    "approach": "caudal",
    "levels": ["caudal"],
    "imaging": "none",
    "medications": ["triamcinolone 80 mg"],
}


def test_nec011_medicare_only():
    case = {"diagnoses": ["M54.17"], "procedures": [CAUDAL], "lines": [ln("62322")]}
    assert [f.line for f in hits(scrub(case), "NEC011")] == [1]
    assert not hits(scrub({**case, "payer": COMMERCIAL, "authorization_number": "PA-1"}), "NEC011")


def test_nec011_leaves_62322_with_77003_to_bun002():
    r = scrub(
        {
            "diagnoses": ["M54.17"],
            "procedures": [{**CAUDAL, "imaging": "fluoroscopy"}],
            "lines": [ln("62322"), ln("77003")],
        }
    )
    assert hits(r, "BUN002") and not hits(r, "NEC011")


# --- AUT001 / AUT091 authorization ------------------------------------------------------------------
def test_aut001_commercial_only_and_line_authorization_counts():
    assert not hits(scrub({}), "AUT001")  # medicare: no AUT001 rule
    (f,) = hits(scrub({"payer": COMMERCIAL, "lines": [ln("99213", "25"), ln("64483", "RT")]}), "AUT001")
    assert f.line == 2 and "64483" in f.message
    r = scrub({"payer": COMMERCIAL, "lines": [ln("64483", "RT", authorization_number="PA-9")]})
    assert not hits(r, "AUT001")


def test_aut001_one_finding_naming_every_code():
    r = scrub(
        {
            "payer": COMMERCIAL,
            "procedures": [proc(levels=["L4", "L5"])],
            "lines": [ln("64483", "RT"), ln("64484", "RT")],
        }
    )
    (f,) = hits(r, "AUT001")
    assert "64483" in f.message and "64484" in f.message


def test_aut001_codes_outside_the_matrix():
    r = scrub(
        {
            "payer": COMMERCIAL,
            "diagnoses": ["M79.18"],
            "procedures": [{"family": "trigger_point", "muscles": ["a"], "medications": ["lidocaine"]}],
            "lines": [ln("20552")],
        }
    )
    assert not hits(r, "AUT001")


TX = {"id": "P02", "name": "Lone Star Pain", "npi": "1245319599", "kind": "physician", "state": "TX"}


def test_aut091_wiser_state_and_date():
    assert [f.severity.value for f in hits(scrub({"practice": TX}), "AUT091")] == ["warning"]
    assert not hits(scrub({"practice": TX, "date_of_service": "2026-01-14"}), "AUT091")
    assert not hits(scrub({}), "AUT091")  # CA is not a WISeR state
    assert not hits(scrub({"practice": TX, "authorization_number": "UTN123"}), "AUT091")
    assert not hits(scrub({"practice": TX, "payer": COMMERCIAL, "authorization_number": "PA-1"}), "AUT091")


def test_aut091_uses_each_line_date():
    r = scrub({"practice": TX, "procedures": [], "lines": [ln("64483", "RT", date_of_service="2026-01-10")]})
    assert not hits(r, "AUT091")


def test_aut091_unknown_state_is_not_checked():
    r = scrub({"practice": {**TX, "state": None}})
    assert not hits(r, "AUT091")
    assert any(n.edit == "AUT091" and "practice.state" in n.reason for n in r.not_checked)
