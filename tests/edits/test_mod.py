"""Behaviour of the modifier and laterality edits (MOD001-MOD011) that matters to a biller."""

from __future__ import annotations

from typing import Any

from painrcm.edits import CATALOGUE
from painrcm.edits.base import ClaimContext, Hit, apply_fixes
from painrcm.edits.examples import COMMERCIAL, example_encounter
from painrcm.model import Encounter, Line
from painrcm.policy.loader import PolicyBook
from painrcm.scrub import Engine, scrub_encounter
from tests.support import ENGINE

FACET_BI = {"family": "facet_joint", "region": "lumbar", "target": "intraarticular", "purpose": "therapeutic",
            "levels": ["L4-L5", "L5-S1"], "laterality": "bilateral", "imaging": "fluoroscopy",
            "images_stored": True, "medications": ["bupivacaine 0.5%"]}  # fmt: skip
TFESI_BI = {"family": "epidural_transforaminal", "region": "lumbar", "levels": ["L4", "L5"],
            "laterality": "bilateral", "imaging": "fluoroscopy", "images_stored": True,
            "medications": ["dexamethasone 10 mg"]}  # fmt: skip
SI_RIGHT = {"family": "sacroiliac_joint", "laterality": "right", "imaging": "fluoroscopy", "images_stored": True,
            "medications": ["triamcinolone 40 mg"]}  # fmt: skip
ASC = {"id": "ASC1", "name": "Mesa Surgery Center", "kind": "asc", "state": "CA"}


def ln(code: str, *mods: str, units: float = 1, **kw: Any) -> dict[str, Any]:
    return {"code": code, "modifiers": list(mods), "units": units, "diagnosis_pointers": [1], **kw}


def enc(lines: list[dict[str, Any]], **over: Any) -> Encounter:
    return example_encounter({"lines": lines, **over})


def findings(e: Encounter, edit: str, engine: Any = None) -> list[Any]:
    res = scrub_encounter(e, engine) if engine is not None else ENGINE.scrub(e)
    return [f for f in res.findings if f.edit == edit]


def not_checked(e: Encounter, edit: str) -> list[str]:
    return [n.reason for n in ENGINE.scrub(e).not_checked if n.edit == edit]


def fixed_by(e: Encounter, edit: str) -> list[tuple[str, list[str], float | None]]:
    """The lines after applying only `edit`'s automatic fix (independent of other edits' findings)."""
    ctx = ClaimContext(e, list(e.lines or []), ENGINE.engine.reference, ENGINE.engine.policy_for(e))
    hits = [h for h in CATALOGUE[edit].run(ctx) if isinstance(h, Hit)]
    assert hits and all(h.ops for h in hits), f"{edit} gave no automatic fix"
    rank = {"replace": 0, "code": 1, "units": 2, "remove_modifier": 3, "add_modifier": 4, "remove": 5}
    ops = sorted((op for h in hits for op in h.ops or ()), key=lambda op: rank[op.kind])
    return [(x.code, x.modifiers, x.units) for x in apply_fixes(list(e.lines or []), ops)]


def shape(lines: list[Line] | None) -> list[tuple[str, list[str], float | None]] | None:
    return None if lines is None else [(x.code, x.modifiers, x.units) for x in lines]


def engine_with(**bilateral: Any) -> Engine:
    """An engine where payer MEDICARE-PSL is Medicare with a changed bilateral section."""
    base = ENGINE.policies.built_in["medicare"]
    pol = base.model_copy(update={"bilateral": base.bilateral.model_copy(update=bilateral)})
    book = PolicyBook(built_in=ENGINE.policies.built_in, by_payer_id={"MEDICARE-PSL": pol})
    return Engine(ENGINE.engine.reference, book)


PSL_PAYER = {"id": "MEDICARE-PSL", "plan": "medicare", "state": "CA"}


# --- MOD001 -------------------------------------------------------------------------------------
def test_mod001_medicare_office_keeps_50():
    e = enc([ln("64493", "50", "RT"), ln("64494", "50")], procedures=[FACET_BI], diagnoses=["M47.816"])
    assert [f.line for f in findings(e, "MOD001")] == [1]
    assert ENGINE.scrub(e, fix=True).fixed_lines is not None
    assert shape(ENGINE.scrub(e, fix=True).fixed_lines) == [("64493", ["50"], 1), ("64494", ["50"], 1)]


def test_mod001_asc_facility_splits_into_rt_lt():
    e = enc([ln("64493", "50", "LT")], procedures=[FACET_BI], diagnoses=["M47.816"], practice=ASC,
            place_of_service="24")  # fmt: skip
    assert findings(e, "MOD001")
    assert fixed_by(e, "MOD001") == [("64493", ["RT"], 1), ("64493", ["LT"], 1)]
    assert not findings(e, "MOD003")  # one problem, one finding


def test_mod001_documented_single_side_wins():
    one_side = {**FACET_BI, "levels": ["L4-L5"], "laterality": "left"}
    e = enc([ln("64493", "50", "RT")], procedures=[one_side], diagnoses=["M47.816"])
    assert fixed_by(e, "MOD001") == [("64493", ["LT"], 1)]


# --- MOD002 -------------------------------------------------------------------------------------
def test_mod002_50_on_interlaminar_removed():
    e = enc([ln("62323", "50")], procedures=[], diagnoses=["M54.16"])
    assert [f.line for f in findings(e, "MOD002")] == [1]
    assert fixed_by(e, "MOD002") == [("62323", [], 1)]


def test_mod002_rt_lt_pair_of_trigger_points_merged():
    e = enc([ln("20552", "RT"), ln("20552", "LT", diagnosis_pointers=[2])], procedures=[],
            diagnoses=["M79.18", "M62.838"])  # fmt: skip
    hits = findings(e, "MOD002")
    assert len(hits) == 1 and "lines 1, 2" in hits[0].message
    assert fixed_by(e, "MOD002") == [("20552", [], 1)]


def test_mod002_pair_on_different_dates_is_not_a_pair():
    e = enc([ln("20552", "RT", date_of_service="2026-03-02"), ln("20552", "LT", date_of_service="2026-03-09")],
            procedures=[], diagnoses=["M79.18"])  # fmt: skip
    assert not findings(e, "MOD002")


def test_mod002_unknown_indicator_is_not_checked():
    # 0001U is in the MUE table but not in the fee schedule: a valid code whose bilateral indicator is
    # unknown (64999, used here before, has indicator 0 in the full fee schedule)
    e = enc([ln("0001U", "50")], procedures=[])
    assert not findings(e, "MOD002")
    assert any("0001U" in r for r in not_checked(e, "MOD002"))


def test_mod002_unlisted_nerve_procedure_takes_no_50_by_the_fee_schedule():
    e = enc([ln("64999", "50")], procedures=[])
    assert [f.code for f in findings(e, "MOD002")] == ["64999"]


def test_mod002_bilateral_code_with_50_is_fine():
    e = enc([ln("64493", "50")], procedures=[FACET_BI], diagnoses=["M47.816"])
    assert not findings(e, "MOD002")


# --- MOD003 / MOD005 ----------------------------------------------------------------------------
def test_mod003_commercial_pos24_splits_primary_and_the_addon_that_follows_it():
    # At POS 24 the commercial default bills the primary as RT/LT lines and add-ons follow it: the
    # add-on's 50 is the same problem as the primary's (MOD003); MOD005 is for per-side add-on payers.
    e = enc([ln("64493", "50"), ln("64494", "50")], procedures=[FACET_BI], diagnoses=["M47.816"],
            payer=COMMERCIAL, place_of_service="24")  # fmt: skip
    assert [f.line for f in findings(e, "MOD003")] == [1, 2]
    assert not findings(e, "MOD005")
    assert fixed_by(e, "MOD003") == [
        ("64493", ["RT"], 1),
        ("64493", ["LT"], 1),
        ("64494", ["RT"], 1),
        ("64494", ["LT"], 1),
    ]


def test_mod003_not_for_commercial_office_nor_medicare_at_pos24():
    lines = [ln("64493", "50")]
    assert not findings(enc(lines, payer=COMMERCIAL, place_of_service="11", procedures=[FACET_BI]), "MOD003")
    assert not findings(enc(lines, place_of_service="24", procedures=[FACET_BI]), "MOD003")


def test_mod003_medicare_asc_facility_claim():
    e = enc([ln("64493", "50")], procedures=[FACET_BI], practice=ASC, place_of_service="24")
    assert findings(e, "MOD003")


def test_mod003_line_place_of_service_decides():
    e = enc([ln("64493", "50", place_of_service="24")], payer=COMMERCIAL, place_of_service="11",
            procedures=[FACET_BI])  # fmt: skip
    assert findings(e, "MOD003")


def test_mod005_per_side_lines_policy_splits_addon_only():
    eng = engine_with(addons="per_side_lines")
    e = enc([ln("64483", "50"), ln("64484", "50")], procedures=[TFESI_BI], payer=PSL_PAYER)
    assert [f.line for f in findings(e, "MOD005", eng)] == [2]
    assert not findings(e, "MOD003", eng)
    res = scrub_encounter(e, eng, fix=True)
    mine = [f for f in res.findings if f.edit == "MOD005"]
    assert mine and "per side" in mine[0].message


def test_mod005_follow_primary_office_is_fine():
    e = enc([ln("64483", "50"), ln("64484", "50")], procedures=[TFESI_BI])
    assert not findings(e, "MOD005")


# --- MOD004 -------------------------------------------------------------------------------------
def test_mod004_adds_documented_side():
    e = enc([ln("64483")])
    assert [f.line for f in findings(e, "MOD004")] == [1]
    assert shape(ENGINE.scrub(e, fix=True).fixed_lines) == [("64483", ["RT"], 1)]


def test_mod004_bilateral_follows_payer_convention():
    lines = [ln("64493"), ln("64494", "50")]
    medicare = enc(lines, procedures=[FACET_BI], diagnoses=["M47.816"])
    assert fixed_by(medicare, "MOD004") == [("64493", ["50"], 1), ("64494", ["50"], 1)]
    asc = enc(
        [ln("64493")], procedures=[FACET_BI], diagnoses=["M47.816"], practice=ASC, place_of_service="24"
    )
    assert fixed_by(asc, "MOD004") == [("64493", ["RT"], 1), ("64493", ["LT"], 1)]


def test_mod004_without_note_reports_but_does_not_guess():
    e = enc([ln("64483")], procedures=[])
    res = ENGINE.scrub(e, fix=True)
    assert [f for f in res.findings if f.edit == "MOD004"]
    assert res.fixed_lines is None


def test_mod004_not_for_trigger_points():
    e = enc([ln("20553")], procedures=[], diagnoses=["M79.18"])
    assert not findings(e, "MOD004")


# --- MOD006 -------------------------------------------------------------------------------------
def test_mod006_duplicate_removed():
    e = enc([ln("27096", "RT"), ln("27096", "RT")], procedures=[SI_RIGHT], diagnoses=["M46.1"])
    assert [f.line for f in findings(e, "MOD006")] == [2]
    assert fixed_by(e, "MOD006") == [("27096", ["RT"], 1)]


def test_mod006_not_for_other_side_other_date_or_76():
    assert not findings(enc([ln("27096", "RT"), ln("27096", "LT")], procedures=[]), "MOD006")
    assert not findings(enc([ln("27096", "RT"), ln("27096", "RT", "76")], procedures=[]), "MOD006")
    other_day = [
        ln("27096", "RT", date_of_service="2026-03-02"),
        ln("27096", "RT", date_of_service="2026-03-16"),
    ]
    assert not findings(enc(other_day, procedures=[]), "MOD006")


def test_mod006_leaves_level_codes_to_add_edits():
    assert not findings(enc([ln("64483", "RT"), ln("64483", "RT")]), "MOD006")
    assert not findings(enc([ln("64483", "RT"), ln("64484", "RT"), ln("64484", "RT")]), "MOD006")


# --- MOD007 -------------------------------------------------------------------------------------
def test_mod007_medicare_rt_lt_lines_merged_into_50():
    e = enc([ln("64493", "RT"), ln("64493", "LT"), ln("64494", "50")], procedures=[FACET_BI],
            diagnoses=["M47.816"])  # fmt: skip
    assert [f.line for f in findings(e, "MOD007")] == [1]
    assert shape(ENGINE.scrub(e, fix=True).fixed_lines) == [("64493", ["50"], 1), ("64494", ["50"], 1)]


def test_mod007_quiet_where_rt_lt_lines_are_wanted():
    lines = [ln("64493", "RT"), ln("64493", "LT")]
    assert not findings(enc(lines, payer=COMMERCIAL, place_of_service="24", procedures=[FACET_BI]), "MOD007")
    assert not findings(enc(lines, practice=ASC, place_of_service="24", procedures=[FACET_BI]), "MOD007")


def test_mod007_sides_on_different_dates_are_two_sessions():
    lines = [ln("64493", "RT", date_of_service="2026-03-02"), ln("64493", "LT", date_of_service="2026-03-16")]
    assert not findings(enc(lines, procedures=[]), "MOD007")


def test_mod007_each_addon_merged_per_level():
    e = enc([ln("64483", "50"), ln("64484", "RT"), ln("64484", "LT")], procedures=[TFESI_BI])
    assert fixed_by(e, "MOD007") == [("64483", ["50"], 1), ("64484", ["50"], 1)]


# --- MOD008 -------------------------------------------------------------------------------------
def test_mod008_commercial_59_becomes_xs_medicare_accepts_59():
    lines = [ln("20553"), ln("64493", "RT", "59")]
    com = enc(lines, payer=COMMERCIAL, procedures=[])
    hits = findings(com, "MOD008")
    assert [(f.line, f.severity.value) for f in hits] == [(2, "warning")]
    assert fixed_by(com, "MOD008") == [("20553", [], 1), ("64493", ["RT", "XS"], 1)]
    assert not findings(enc(lines, procedures=[]), "MOD008")


# --- MOD009 -------------------------------------------------------------------------------------
def test_mod009_units_set_to_one_and_add004_stays_quiet():
    e = enc([ln("64493", "50", units=2)], procedures=[FACET_BI], diagnoses=["M47.816"])
    res = ENGINE.scrub(e)
    assert [f.line for f in res.findings if f.edit == "MOD009"] == [1]
    assert not [f for f in res.findings if f.edit in ("ADD004", "ADD002")]
    # two bilateral levels documented: the second unit is the second level, never dropped (issue 10)
    assert fixed_by(e, "MOD009") == [("64493", ["50"], 1), ("64494", ["50"], 1)]
    e = enc([ln("64493", "50", units=2)], procedures=[], diagnoses=["M47.816"])
    ctx = ClaimContext(e, list(e.lines or []), ENGINE.engine.reference, ENGINE.engine.policy_for(e))
    hits = [h for h in CATALOGUE["MOD009"].run(ctx) if isinstance(h, Hit)]
    assert len(hits) == 1 and hits[0].ops is None  # without the note the levels cannot be rebuilt


def test_mod009_each_addon_keeps_its_levels():
    e = enc([ln("64635", "50"), ln("64636", "50", units=2)], procedures=[])
    assert fixed_by(e, "MOD009") == [("64635", ["50"], 1), ("64636", ["50"], 1), ("64636", ["50"], 1)]


# --- MOD010 -------------------------------------------------------------------------------------
def test_mod010_25_only_on_em():
    e = enc(
        [ln("99214", "25"), ln("64483", "RT", "25")],
        evaluation={"code": "99214", "separately_identifiable": True},
    )
    assert [f.line for f in findings(e, "MOD010")] == [2]
    assert fixed_by(e, "MOD010") == [("99214", ["25"], 1), ("64483", ["RT"], 1)]


# --- MOD011 -------------------------------------------------------------------------------------
MBB = {
    **FACET_BI,
    "target": "medial_branch",
    "purpose": "diagnostic",
    "levels": ["L4-L5"],
    "relief_percent": 85,
}


def test_mod011_diagnostic_block_needs_kx_for_medicare_only():
    e = enc([ln("64493", "50")], procedures=[MBB], diagnoses=["M47.816"])
    assert [f.line for f in findings(e, "MOD011")] == [1]
    assert shape(ENGINE.scrub(e, fix=True).fixed_lines) == [("64493", ["50", "KX"], 1)]
    assert not findings(enc([ln("64493", "50")], procedures=[MBB], payer=COMMERCIAL), "MOD011")


def test_mod011_therapeutic_needs_no_kx():
    assert not findings(enc([ln("64493", "50")], procedures=[FACET_BI], diagnoses=["M47.816"]), "MOD011")


def test_mod011_unknown_purpose_is_not_checked():
    e = enc([ln("64493", "50")], procedures=[])
    assert not findings(e, "MOD011")
    assert not_checked(e, "MOD011")
    no_purpose = {k: v for k, v in MBB.items() if k != "purpose"}
    e2 = enc([ln("64493", "50")], procedures=[no_purpose], diagnoses=["M47.816"])
    assert any("purpose" in r for r in not_checked(e2, "MOD011"))
