"""Behaviour tests for COD002-COD006 and ADD002-ADD005 beyond their documented examples."""

from __future__ import annotations

from typing import Any

from painrcm.codes.loader import load_reference
from painrcm.edits import CATALOGUE
from painrcm.edits.base import ClaimContext, Hit, Skip
from painrcm.edits.examples import COMMERCIAL, example_encounter
from painrcm.model import ClaimResult
from tests.support import ENGINE

TF_RIGHT_L4_L5 = {
    "family": "epidural_transforaminal",
    "region": "lumbar",
    "levels": ["L4", "L5"],
    "laterality": "right",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["dexamethasone 10 mg"],
}


def facet(levels: list[str], laterality: str = "right") -> dict[str, Any]:
    return {
        "family": "facet_joint",
        "region": "lumbar",
        "target": "intraarticular",
        "purpose": "therapeutic",
        "levels": levels,
        "laterality": laterality,
        "imaging": "fluoroscopy",
        "images_stored": True,
        "medications": ["bupivacaine 0.5%", "triamcinolone 40 mg"],
    }


def ln(
    code: str, *mods: str, units: float | None = 1, ptrs: list[int] | None = None, **kw: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "modifiers": list(mods),
        "units": units,
        "diagnosis_pointers": [1] if ptrs is None else ptrs,
        **kw,
    }


def scrub(overrides: dict[str, Any], **kw: Any) -> ClaimResult:
    return ENGINE.scrub(example_encounter(overrides), **kw)


def found(result: ClaimResult, edit: str) -> list[tuple[int | None, str]]:
    return [(f.line, f.message) for f in result.findings if f.edit == edit]


def skipped(result: ClaimResult, edit: str) -> list[str]:
    return [n.reason for n in result.not_checked if n.edit == edit]


def fixed(result: ClaimResult) -> list[tuple[str, list[str], float | None]]:
    assert result.fixed_lines is not None, [(f.edit, f.line, f.message) for f in result.findings]
    return [(x.code, x.modifiers, x.units) for x in result.fixed_lines]


def run_edit(edit_id: str, overrides: dict[str, Any], claimed: set[tuple[Any, ...]] | None = None) -> list:
    enc = example_encounter(overrides)
    policy = ENGINE.engine.policy_for(enc)
    ctx = ClaimContext(enc, list(enc.lines or []), load_reference(), policy)
    ctx.claims_ |= claimed or set()
    return list(CATALOGUE[edit_id].run(ctx))


# --- COD002 ---------------------------------------------------------------------------------------
def test_cod002_header_code_suggests_children_and_leaf_passes():
    r = scrub({"diagnoses": ["M54.5", "M54.16"]})
    hits = [f for f in r.findings if f.edit == "COD002"]
    assert len(hits) == 1 and hits[0].line is None
    assert "M54.50" in (hits[0].fix or "") and "M54.5" in hits[0].message
    assert not found(scrub({"diagnoses": ["M5450", "M54.16"]}), "COD002")  # no dot is fine


def test_cod002_one_finding_per_bad_diagnosis_even_unused():
    r = scrub({"diagnoses": ["M54.16", "M51.36", "Q99.999"], "lines": [ln("64483", "RT", ptrs=[1])]})
    msgs = [m for _, m in found(r, "COD002")]
    assert len(msgs) == 2
    assert any("M51.36" in m for m in msgs) and any("Q99.999" in m for m in msgs)


def test_cod002_unloaded_fiscal_year_is_not_checked_not_guessed():
    r = scrub({"date_of_service": "2026-10-15", "diagnoses": ["M54.5", "M54.16"]})
    assert not found(r, "COD002")
    reasons = skipped(r, "COD002")
    assert reasons and "FY2027" in reasons[0] and "FY2026" in reasons[0]


def test_cod002_uses_each_line_date_of_service():
    # an 837 claim spanning October 1: the line in FY2027 cannot be checked, the FY2026 one can
    r = scrub(
        {
            "date_of_service": "2026-09-30",
            "diagnoses": ["M54.16", "M54.5"],
            "lines": [ln("64483", "RT", ptrs=[1]), ln("64483", "RT", ptrs=[2], date_of_service="2026-10-01")],
        }
    )
    assert not found(r, "COD002")
    assert any("FY2027" in s for s in skipped(r, "COD002"))
    r = scrub(
        {
            "date_of_service": "2026-09-30",
            "diagnoses": ["M54.5", "M54.16"],
            "lines": [ln("64483", "RT", ptrs=[1, 2])],
        }
    )
    assert found(r, "COD002")


# --- COD003 / COD004 / COD005 / COD006 ------------------------------------------------------------
def test_cod003_unknown_and_too_many_modifiers():
    r = scrub({"lines": [ln("64493", "RT", "KX", "XZ", ptrs=[1])], "diagnoses": ["M47.816"]})
    assert [line for line, _ in found(r, "COD003")] == [1]
    r = scrub({"lines": [ln("64493", "RT", "KX", "59", "GA", "GY", ptrs=[1])], "diagnoses": ["M47.816"]})
    assert any("5 modifiers" in m for _, m in found(r, "COD003"))
    r = scrub({"lines": [ln("64493", "RT", "KX", "59", "GA", ptrs=[1])], "diagnoses": ["M47.816"]})
    assert not found(r, "COD003")


def test_cod004_claim_and_line_place_of_service():
    assert [line for line, _ in found(scrub({"place_of_service": "88"}), "COD004")] == [None]
    r = scrub({"lines": [ln("64483", "RT", place_of_service="87")]})
    assert [line for line, _ in found(r, "COD004")] == [1]
    assert not found(scrub({"lines": [ln("64483", "RT", place_of_service="24")]}), "COD004")


def test_cod005_pointers():
    r = scrub(
        {"lines": [ln("64483", "RT", ptrs=[]), ln("64484", "RT", ptrs=[3])], "procedures": [TF_RIGHT_L4_L5]}
    )
    assert sorted(line for line, _ in found(r, "COD005")) == [1, 2]
    r = scrub(
        {
            "diagnoses": ["M54.16", "M51.16", "M48.061", "M47.816", "M54.50"],
            "lines": [ln("64483", "RT", ptrs=[1, 2, 3, 4, 5])],
        }
    )
    assert any("5 diagnosis pointers" in m for _, m in found(r, "COD005"))
    r = scrub(
        {
            "diagnoses": ["M54.16", "M51.16", "M48.061", "M47.816"],
            "lines": [ln("64483", "RT", ptrs=[1, 2, 3, 4])],
        }
    )
    assert not found(r, "COD005")


def test_cod006_units():
    for units in (None, 0, 1.5):
        assert found(scrub({"lines": [ln("64483", "RT", units=units)]}), "COD006"), units
    assert not found(scrub({"lines": [ln("64483", "RT", units=1.0)]}), "COD006")


def test_coder_output_passes_cod_edits():
    enc = example_encounter({"lines": None, "procedures": [TF_RIGHT_L4_L5]})
    r = ENGINE.scrub(enc)
    assert not [f for f in r.findings if f.edit.startswith(("COD", "ADD"))]


# --- ADD002 ---------------------------------------------------------------------------------------
def test_add002_units_fix_builds_primary_and_addon_and_takes_units_from_add004():
    r = scrub({"procedures": [TF_RIGHT_L4_L5], "lines": [ln("64483", "RT", units=2, ptrs=[1, 2])]}, fix=True)
    assert [line for line, _ in found(r, "ADD002")] == [1]
    assert not found(r, "ADD004")
    assert fixed(r) == [("64483", ["RT"], 1), ("64484", ["RT"], 1)]


def test_add002_repeated_lines_same_side_merge_into_addons():
    r = scrub(
        {
            "procedures": [TF_RIGHT_L4_L5],
            "lines": [ln("64483", "RT", ptrs=[1, 2]), ln("64483", "RT", ptrs=[1, 2])],
        },
        fix=True,
    )
    assert [line for line, _ in found(r, "ADD002")] == [2]
    assert not found(r, "ADD004")
    assert fixed(r) == [("64483", ["RT"], 1), ("64484", ["RT"], 1)]


def test_add002_other_side_or_other_date_is_not_a_repeat():
    assert not found(scrub({"lines": [ln("64483", "RT"), ln("64483", "LT")]}), "ADD002")
    r = scrub({"lines": [ln("64483", "RT"), ln("64483", "RT", date_of_service="2026-03-16")]})
    assert not found(r, "ADD002")


def test_add002_facet_units_become_second_and_third_level_commercial():
    r = scrub(
        {
            "payer": COMMERCIAL,
            "authorization_number": None,
            "diagnoses": ["M47.816"],
            "procedures": [facet(["L3-L4", "L4-L5", "L5-S1"])],
            "lines": [ln("64493", "RT", units=3)],
        }
    )
    hits = found(r, "ADD002")
    assert len(hits) == 1 and "64493" in hits[0][1]
    # the fix rebuilds the session from the note: first, second and third-and-further levels
    ops = next(
        h
        for h in run_edit(
            "ADD002",
            {
                "payer": COMMERCIAL,
                "procedures": [facet(["L3-L4", "L4-L5", "L5-S1"])],
                "lines": [ln("64493", "RT", units=3)],
            },
        )
        if isinstance(h, Hit)
    ).ops
    assert ops is not None
    assert [(x.code, x.units) for x in ops[0].value] == [("64493", 1), ("64494", 1), ("64495", 1)]
    # without a note of the facet session there is no safe fix: a fix never guesses the levels
    ops = next(
        h for h in run_edit("ADD002", {"lines": [ln("64493", "RT", units=3)]}) if isinstance(h, Hit)
    ).ops
    assert ops is None


def test_add002_leaves_modifier_50_units_to_mod009():
    outcomes = run_edit("ADD002", {"lines": [ln("64483", "50", units=2)]}, claimed={("units", 0)})
    assert outcomes == []


# --- ADD003 ---------------------------------------------------------------------------------------
def test_add003_facet_limit_depends_on_payer():
    lines = [ln("64493", "RT"), ln("64494", "RT"), ln("64495", "RT")]
    base = {"diagnoses": ["M47.816"], "procedures": [facet(["L3-L4", "L4-L5", "L5-S1"])], "lines": lines}
    assert [line for line, _ in found(scrub(base), "ADD003")] == [3]
    assert not found(scrub({**base, "payer": COMMERCIAL}), "ADD003")


def test_add003_both_sides_of_a_level_count_once():
    for lines in (
        [ln("64483", "50"), ln("64484", "50")],
        [ln("64483", "RT"), ln("64483", "LT"), ln("64484", "RT"), ln("64484", "LT")],
    ):
        assert not found(scrub({"lines": lines}), "ADD003")
    r = scrub({"lines": [ln("64483", "RT"), ln("64484", "RT", units=2)]})
    assert found(r, "ADD003") and "3 lumbar/sacral transforaminal" in found(r, "ADD003")[0][1]


def test_add003_interlaminar_one_per_session_and_dates_apart():
    r = scrub({"lines": [ln("62321"), ln("62323")]})
    assert found(r, "ADD003")
    r = scrub(
        {
            "lines": [
                ln("64483", "RT"),
                ln("64484", "RT"),
                ln("64483", "RT", date_of_service="2026-03-20"),
                ln("64484", "RT", date_of_service="2026-03-20"),
            ]
        }
    )
    assert not found(r, "ADD003")


# --- ADD004 ---------------------------------------------------------------------------------------
def test_add004_sets_units_to_the_mue():
    hits = [
        h
        for h in run_edit("ADD004", {"lines": [ln("64483", "RT"), ln("64484", "RT", units=6)]})
        if isinstance(h, Hit)
    ]
    assert len(hits) == 1 and hits[0].line == 1 and "MUE" in hits[0].message
    assert hits[0].ops is not None and (hits[0].ops[0].kind, hits[0].ops[0].value) == ("units", 4)


def test_add004_rt_lt_lines_count_per_side():
    asc = {
        "practice": {"id": "ASC1", "kind": "asc", "state": "CA"},
        "place_of_service": "24",
        "diagnoses": ["M47.816"],
        "procedures": [facet(["L4-L5", "L5-S1"], "bilateral")],
        "lines": [ln("64493", "RT"), ln("64493", "LT"), ln("64494", "RT"), ln("64494", "LT")],
    }
    r = scrub(asc)
    assert not found(r, "ADD004")
    assert not [f for f in r.findings if f.edit.startswith("ADD")]


def test_add004_sums_lines_per_date_and_skips_units_claimed_elsewhere():
    hits = [
        h
        for h in run_edit("ADD004", {"lines": [ln("64484", "RT", units=3), ln("64484", "RT", units=3)]})
        if isinstance(h, Hit)
    ]
    assert len(hits) == 1 and hits[0].ops is not None
    assert [(op.kind, op.index, op.value) for op in hits[0].ops] == [("units", 1, 1)]
    assert run_edit("ADD004", {"lines": [ln("64483", "50", units=2)]}, claimed={("units", 0)}) == []


def test_add004_drug_units_have_no_automatic_fix_and_missing_mue_is_not_checked():
    hits = [
        h
        for h in run_edit("ADD004", {"lines": [ln("64483", "RT"), ln("J3301", units=80)]})
        if isinstance(h, Hit)
    ]
    assert len(hits) == 1 and hits[0].ops is None
    # 6005F: in the fee schedule (so a valid code) but without an MUE
    out = run_edit("ADD004", {"lines": [ln("6005F")], "procedures": []})
    assert any(isinstance(o, Skip) and "6005F" in o.reason for o in out)


# --- ADD005 ---------------------------------------------------------------------------------------
def test_add005_third_level_without_second_is_swapped():
    r = scrub(
        {
            "diagnoses": ["M47.816"],
            "procedures": [facet(["L4-L5", "L5-S1"])],
            "lines": [ln("64493", "RT"), ln("64495", "RT")],
        },
        fix=True,
    )
    assert [line for line, _ in found(r, "ADD005")] == [2]
    assert not found(r, "ADD003")
    assert fixed(r) == [("64493", ["RT"], 1), ("64494", ["RT"], 1)]


def test_add005_second_level_twice_becomes_third_level():
    outs = [
        h
        for h in run_edit("ADD005", {"lines": [ln("64493", "RT"), ln("64494", "RT"), ln("64494", "RT")]})
        if isinstance(h, Hit)
    ]
    assert len(outs) == 1 and outs[0].line == 2
    assert outs[0].ops is not None and (outs[0].ops[0].kind, outs[0].ops[0].value) == ("code", "64495")
    r = scrub(
        {
            "payer": COMMERCIAL,
            "diagnoses": ["M47.816"],
            "procedures": [facet(["L3-L4", "L4-L5", "L5-S1"])],
            "lines": [ln("64493", "RT"), ln("64494", "RT", units=2)],
        }
    )
    assert found(r, "ADD005") and not found(r, "ADD004") and not found(r, "ADD003")


def test_add005_correct_bilateral_and_other_side_are_quiet():
    for lines in (
        [ln("64493", "50"), ln("64494", "50")],
        [ln("64493", "RT"), ln("64493", "LT"), ln("64494", "RT"), ln("64494", "LT")],
        [ln("64493", "RT"), ln("64494", "RT"), ln("64495", "RT")],
        [ln("64495", "RT")],
    ):  # no first level: that is ADD001
        assert not found(scrub({"diagnoses": ["M47.816"], "lines": lines}), "ADD005"), lines


def test_add003_bilateral_each_addon_units_are_levels():
    lines = [ln("64635", "50"), ln("64636", "50", units=2)]
    hits = [h for h in run_edit("ADD003", {"diagnoses": ["M47.816"], "lines": lines}) if isinstance(h, Hit)]
    assert len(hits) == 1 and "3 lumbar/sacral radiofrequency ablation levels" in hits[0].message
    lines = [ln("64493", "50", units=2)]  # 50 with 2 units is MOD009's problem, still one level
    assert run_edit("ADD003", {"diagnoses": ["M47.816"], "lines": lines}) == []
