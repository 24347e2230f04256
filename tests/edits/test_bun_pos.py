"""Behaviour a biller relies on for BUN002-BUN010 and POS001, beyond each edit's documented example."""

from __future__ import annotations

from typing import Any

from painrcm.edits import CATALOGUE
from painrcm.edits.examples import COMMERCIAL, example_encounter
from painrcm.model import ClaimResult
from tests.support import ENGINE


def scrub(overrides: dict[str, Any], **kw: Any) -> ClaimResult:
    return ENGINE.scrub(example_encounter(overrides), **kw)


def hits(result: ClaimResult, edit: str) -> list[tuple[int | None, str]]:
    return [(f.line, f.severity.value) for f in result.findings if f.edit == edit]


def not_checked(result: ClaimResult) -> set[str]:
    return {n.edit for n in result.not_checked}


def fixed(result: ClaimResult) -> list[tuple[str, list[str]]] | None:
    if result.fixed_lines is None:
        return None
    return [(ln.code, ln.modifiers) for ln in result.fixed_lines]


def L(
    code: str, *mods: str, units: float = 1, dos: str | None = None, pos: str | None = None
) -> dict[str, Any]:
    line: dict[str, Any] = {"code": code, "modifiers": list(mods), "units": units, "diagnosis_pointers": [1]}
    if dos:
        line["date_of_service"] = dos
    if pos:
        line["place_of_service"] = pos
    return line


def with_lines(edit: str, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The edit's documented example with other lines (and other top-level keys)."""
    return {**CATALOGUE[edit].example, "lines": lines, **extra}


TF_RIGHT = {
    "family": "epidural_transforaminal",
    "region": "lumbar",
    "levels": ["L5"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["dexamethasone 10 mg"],
}
MBB_DIAG = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "medial_branch",
    "purpose": "diagnostic",
    "levels": ["L4-L5"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["bupivacaine 0.5%"],
    "relief_percent": 85,
}
RFA_RIGHT = {
    "family": "radiofrequency_ablation",
    "region": "lumbar",
    "levels": ["L4-L5"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["lidocaine 2%"],
}


# --- BUN002 ----------------------------------------------------------------------------------
def test_bun002_fix_replaces_pair_and_keeps_nec011_and_ncci_quiet():
    r = scrub(CATALOGUE["BUN002"].example, fix=True)
    assert hits(r, "BUN002") == [(1, "error")]
    assert not hits(r, "NEC011") and not hits(r, "BUN006") and not hits(r, "BUN007")
    assert fixed(r) == [("62323", [])]


def test_bun002_cervical_uses_cervical_twin():
    ex = CATALOGUE["BUN002"].example
    proc = {**ex["procedures"][0], "region": "cervical", "levels": ["C7-T1"]}
    r = scrub(
        {**ex, "diagnoses": ["M50.13"], "procedures": [proc], "lines": [L("62320"), L("77003")]}, fix=True
    )
    assert hits(r, "BUN002") == [(1, "error")]
    assert fixed(r) == [("62321", [])]


def test_bun002_note_without_imaging_has_no_automatic_fix():
    ex = CATALOGUE["BUN002"].example
    proc = {**ex["procedures"][0], "imaging": "none", "images_stored": False}
    r = scrub({**ex, "procedures": [proc]}, fix=True)
    assert hits(r, "BUN002") == [(1, "error")]
    assert r.fixed_lines is None


def test_bun002_guidance_on_another_date_is_not_this_edit():
    r = scrub(with_lines("BUN002", [L("62322", dos="2026-03-02"), L("77003", dos="2026-03-09")]))
    assert not hits(r, "BUN002")


# --- BUN003 ----------------------------------------------------------------------------------
def test_bun003_without_note_reports_but_does_not_guess():
    r = scrub(with_lines("BUN003", [L("20552"), L("20553")], procedures=[]), fix=True)
    assert hits(r, "BUN003") == [(None, "error")]
    assert not hits(r, "BUN007")  # the 20553/20552 NCCI pair is explained once
    assert r.fixed_lines is None


def test_bun003_two_documented_muscles_keep_20552():
    ex = CATALOGUE["BUN003"].example
    proc = {**ex["procedures"][0], "muscles": ["left upper trapezius", "left levator scapulae"]}
    r = scrub({**ex, "procedures": [proc]}, fix=True)
    assert hits(r, "BUN003") == [(2, "error")]
    assert not hits(r, "NEC008") and not hits(r, "BUN007")
    assert fixed(r) == [("20552", [])]


def test_bun003_different_dates_are_two_sessions():
    r = scrub(with_lines("BUN003", [L("20552", dos="2026-03-02"), L("20553", dos="2026-03-20")]))
    assert not hits(r, "BUN003")


# --- BUN004 / BUN005 -------------------------------------------------------------------------
def test_bun004_not_separately_identifiable_removes_visit():
    r = scrub(
        {**CATALOGUE["BUN004"].example, "evaluation": {"code": "99214", "separately_identifiable": False}},
        fix=True,
    )
    assert hits(r, "BUN004") == [(1, "error")]
    assert fixed(r) == [("64483", ["RT"])]


def test_bun004_unknown_evaluation_has_no_automatic_fix_and_owns_the_ncci_pair():
    ex = {k: v for k, v in CATALOGUE["BUN004"].example.items() if k != "evaluation"}
    r = scrub(ex, fix=True)
    assert hits(r, "BUN004") == [(1, "error")]
    assert not hits(r, "BUN006")
    assert r.fixed_lines is None


def test_bun004_new_patient_visit_counts_too():
    r = scrub(
        with_lines(
            "BUN004",
            [L("99204"), L("64483", "RT")],
            evaluation={"code": "99204", "separately_identifiable": True},
        ),
        fix=True,
    )
    assert hits(r, "BUN004") == [(1, "error")]
    assert fixed(r) == [("99204", ["25"]), ("64483", ["RT"])]


def test_bun004_visit_on_another_date_or_without_global_procedure_is_fine():
    r = scrub(with_lines("BUN004", [L("99214", dos="2026-02-23"), L("64483", "RT", dos="2026-03-02")]))
    assert not hits(r, "BUN004")
    r = scrub(with_lines("BUN004", [L("99214"), L("80307")], procedures=[], diagnoses=["Z79.891"]))
    assert not hits(r, "BUN004")


def test_bun005_unknown_evaluation_is_not_checked_and_true_is_clean():
    ex = {k: v for k, v in CATALOGUE["BUN005"].example.items() if k != "evaluation"}
    r = scrub(ex)
    assert not hits(r, "BUN005") and "BUN005" in not_checked(r)
    r = scrub({**ex, "evaluation": {"code": "99213", "separately_identifiable": True}})
    assert not hits(r, "BUN005") and "BUN005" not in not_checked(r)
    assert not hits(r, "BUN004")


# --- BUN006 / BUN007 -------------------------------------------------------------------------
def test_bun006_distinct_modifier_or_59_satisfies_the_pair():
    for mod in ("XS", "59", "XU"):
        r = scrub(with_lines("BUN006", [L("20553"), L("64493", "RT", mod)]))
        assert not hits(r, "BUN006"), mod


def test_bun006_commercial_fix_uses_payer_preferred_modifier():
    enc = {**CATALOGUE["BUN006"].example, "payer": COMMERCIAL, "authorization_number": "PA-55012"}
    preferred = ENGINE.engine.policy_for(example_encounter(enc)).distinct_modifier.preferred
    r = scrub(enc, fix=True)
    assert hits(r, "BUN006") == [(2, "error")]
    assert fixed(r) == [("20553", []), ("64493", ["RT", preferred])]


def test_bun006_without_note_no_automatic_fix():
    r = scrub(with_lines("BUN006", [L("20553"), L("64493", "RT")], procedures=[]), fix=True)
    assert hits(r, "BUN006") == [(2, "error")]
    assert r.fixed_lines is None


def test_bun006_same_region_block_and_ablation_needs_a_person():
    r = scrub(
        {
            "diagnoses": ["M47.816"],
            "procedures": [MBB_DIAG, RFA_RIGHT],
            "lines": [L("64635", "RT"), L("64493", "RT", "KX")],
        },
        fix=True,
    )
    assert hits(r, "BUN006") == [(2, "error")]
    assert r.fixed_lines is None


def test_ncci_asymmetry_62323_bypassable_62322_hard():
    tf = [{**TF_RIGHT, "levels": ["L4", "L5"]}]
    r = scrub({"procedures": tf, "lines": [L("62323"), L("64483", "RT"), L("64484", "RT")]})
    assert (3, "error") in hits(r, "BUN006") and not hits(r, "BUN007")
    r = scrub({"procedures": tf, "lines": [L("62322"), L("64483", "RT"), L("64484", "RT")]})
    assert hits(r, "BUN007") == [(3, "error")]
    assert (3, "error") not in hits(r, "BUN006")


def test_bun007_fix_removes_column_two_and_dates_matter():
    r = scrub(CATALOGUE["BUN007"].example, fix=True)
    assert hits(r, "BUN007") == [(2, "error")]
    assert fixed(r) == [("64625", ["RT"])]
    r = scrub(with_lines("BUN007", [L("64625", "RT", dos="2026-03-02"), L("64493", "RT", dos="2026-03-16")]))
    assert not hits(r, "BUN007")


# --- BUN008 / POS001 -------------------------------------------------------------------------
def test_bun008_medicare_office_pays_the_drug():
    r = scrub(
        {
            **CATALOGUE["BUN008"].example,
            "payer": {"id": "MEDICARE", "plan": "medicare"},
            "authorization_number": None,
        }
    )
    assert not hits(r, "BUN008")


def test_bun008_fix_removes_drug_line():
    r = scrub({**CATALOGUE["BUN008"].example}, fix=True)
    assert hits(r, "BUN008") == [(2, "warning")]
    assert fixed(r) == [("64483", ["RT"])]


def test_facility_drug_is_pos001_not_also_bun008():
    r = scrub({**CATALOGUE["BUN008"].example, "place_of_service": "19"})
    assert hits(r, "POS001") == [(2, "warning")]
    assert not hits(r, "BUN008")


def test_pos001_fix_office_asc_and_line_level_place_of_service():
    r = scrub(CATALOGUE["POS001"].example, fix=True)
    assert hits(r, "POS001") == [(2, "warning")]
    assert fixed(r) == [("64483", ["RT"])]
    r = scrub({**CATALOGUE["POS001"].example, "place_of_service": "11"})
    assert not hits(r, "POS001")
    r = scrub(
        {
            **CATALOGUE["POS001"].example,
            "place_of_service": "24",
            "practice": {"id": "ASC1", "kind": "asc", "state": "CA"},
        }
    )
    # a Medicare ASC facility claim: drugs are packaged into the procedure's payment (issue 10)
    assert hits(r, "POS001") == [(2, "warning")]
    r = scrub(
        {
            **CATALOGUE["POS001"].example,
            "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
            "place_of_service": "24",
            "practice": {"id": "ASC1", "kind": "asc", "state": "CA"},
        }
    )
    assert not hits(r, "POS001")  # the commercial default warns with BUN008 instead
    for pos in ("21", "23"):
        r = scrub({**CATALOGUE["POS001"].example, "place_of_service": pos})
        assert hits(r, "POS001") == [(2, "warning")], pos
    r = scrub(with_lines("POS001", [L("64483", "RT"), L("J1100", units=10, pos="22")], place_of_service="11"))
    assert hits(r, "POS001") == [(2, "warning")]


# --- BUN009 ----------------------------------------------------------------------------------
def test_bun009_without_note_is_not_checked():
    r = scrub(with_lines("BUN009", [L("64635", "RT"), L("64493", "RT", "KX")], procedures=[]))
    assert not hits(r, "BUN009") and "BUN009" in not_checked(r)


def test_bun009_therapeutic_or_other_region_is_fine():
    ther = {**MBB_DIAG, "purpose": "therapeutic", "target": "intraarticular"}
    r = scrub(
        {
            "diagnoses": ["M47.816"],
            "procedures": [ther, RFA_RIGHT],
            "lines": [L("64635", "RT"), L("64493", "RT", "XS")],
        }
    )
    assert not hits(r, "BUN009") and "BUN009" not in not_checked(r)
    cerv = {**MBB_DIAG, "region": "cervical", "levels": ["C5-C6"]}
    r = scrub(
        {
            "diagnoses": ["M47.816", "M47.812"],
            "procedures": [cerv, RFA_RIGHT],
            "lines": [L("64635", "RT"), L("64490", "RT", "KX", "XS")],
        }
    )
    assert not hits(r, "BUN009")


# --- BUN010 ----------------------------------------------------------------------------------
def test_bun010_without_note_no_fix_and_owns_the_ncci_pair():
    r = scrub(with_lines("BUN010", [L("80305"), L("80307")], procedures=[]), fix=True)
    assert hits(r, "BUN010") == [(None, "error")]
    assert not hits(r, "BUN007")
    assert r.fixed_lines is None


def test_bun010_presumptive_plus_definitive_is_fine_two_definitive_is_not():
    r = scrub(with_lines("BUN010", [L("80307"), L("G0481")], procedures=[]))
    assert not hits(r, "BUN010")
    procs = [{"family": "drug_test", "method": "definitive", "drug_classes": 9}]
    r = scrub(with_lines("BUN010", [L("G0480"), L("G0481")], procedures=procs), fix=True)
    assert hits(r, "BUN010") == [(1, "error")]
    assert fixed(r) == [("G0481", [])]


def test_bun010_different_dates_are_separate():
    r = scrub(with_lines("BUN010", [L("80305", dos="2026-03-02"), L("80307", dos="2026-03-03")]))
    assert not hits(r, "BUN010")


def test_bun006_same_region_opposite_documented_sides_is_distinct():
    left_block = {**MBB_DIAG, "purpose": "therapeutic", "target": "intraarticular", "laterality": "left"}
    r = scrub(
        {
            "diagnoses": ["M47.816"],
            "procedures": [left_block, RFA_RIGHT],
            "lines": [L("64635", "RT"), L("64493", "LT")],
        },
        fix=True,
    )
    assert hits(r, "BUN006") == [(2, "error")]
    assert fixed(r) == [("64635", ["RT"]), ("64493", ["LT", "XS"])]
