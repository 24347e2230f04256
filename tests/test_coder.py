"""The coder: documented facts in, the right lines out (RULES.md sections 1-4)."""

from __future__ import annotations

import pytest

from painrcm.coder import code_encounter
from painrcm.codes.loader import load_reference
from painrcm.edits.examples import COMMERCIAL, example_encounter
from painrcm.errors import InputError
from painrcm.policy.loader import load_policies

REF, BOOK = load_reference(), load_policies()


def coded(**over):
    enc = example_encounter({"lines": None, **over})
    return [
        (ln.code, tuple(ln.modifiers), ln.units) for ln in code_encounter(enc, REF, BOOK.for_payer(enc.payer))
    ]


def tf(levels, side="right", **kw):
    return {
        "family": "epidural_transforaminal",
        "region": "lumbar",
        "levels": levels,
        "laterality": side,
        "imaging": "fluoroscopy",
        **kw,
    }


def test_t12_l1_transforaminal_is_thoracic_whatever_the_region_says():
    assert coded(procedures=[tf(["T12-L1"])]) == [("64479", ("RT",), 1)]


def test_levels_in_two_regions_get_a_primary_each():
    assert coded(procedures=[tf(["T12-L1", "L4", "L5"], "left")]) == [
        ("64479", ("LT",), 1),
        ("64483", ("LT",), 1),
        ("64484", ("LT",), 1),
    ]


def test_left_and_right_documented_separately_are_one_bilateral_session():
    assert coded(procedures=[tf(["L5"], "left"), tf(["L5"], "right")]) == [("64483", ("50",), 1)]


def test_lumbar_medial_branch_nerves_become_joints():
    mbb = {
        "family": "facet_joint",
        "region": "lumbar",
        "target": "medial_branch",
        "purpose": "therapeutic",
        "levels": ["L2", "L3", "L4", "L5"],
        "laterality": "left",
        "imaging": "fluoroscopy",
    }
    # L2..L5 nerves cover L3-L4, L4-L5 and L5-S1: three joints
    assert coded(payer=COMMERCIAL, procedures=[mbb]) == [
        ("64493", ("LT",), 1),
        ("64494", ("LT",), 1),
        ("64495", ("LT",), 1),
    ]


def test_kx_only_on_medicare_diagnostic_facet_lines():
    mbb = {
        "family": "facet_joint",
        "region": "cervical",
        "target": "medial_branch",
        "purpose": "diagnostic",
        "levels": ["C5-C6"],
        "laterality": "right",
        "imaging": "fluoroscopy",
    }
    assert coded(procedures=[mbb]) == [("64490", ("RT", "KX"), 1)]
    assert coded(payer=COMMERCIAL, procedures=[mbb]) == [("64490", ("RT",), 1)]
    assert coded(procedures=[{**mbb, "purpose": "therapeutic"}]) == [("64490", ("RT",), 1)]


def test_medicare_needs_purpose_for_facet_blocks():
    mbb = {
        "family": "facet_joint",
        "region": "lumbar",
        "levels": ["L4-L5"],
        "laterality": "right",
        "imaging": "fluoroscopy",
    }
    with pytest.raises(InputError) as err:
        coded(procedures=[mbb])
    assert err.value.place == "$.procedures[0].purpose"


def test_em_with_25_only_when_separately_identifiable():
    assert coded(evaluation={"code": "99213", "separately_identifiable": True})[0] == ("99213", ("25",), 1)
    assert coded(evaluation={"code": "99213", "separately_identifiable": False}) == [("64483", ("RT",), 1)]
    assert coded(evaluation={"code": "99213"}) == [("64483", ("RT",), 1)]


def test_em_alone_needs_no_25():
    assert coded(procedures=[], evaluation={"code": "99204", "separately_identifiable": True}) == [
        ("99204", (), 1)
    ]


def test_drugs_billed_by_medicare_office_only():
    drugs = [{"code": "J3301", "units": 4}]
    assert ("J3301", (), 4) in coded(drugs=drugs)
    assert not [c for c in coded(drugs=drugs, place_of_service="22") if c[0] == "J3301"]
    assert not [c for c in coded(drugs=drugs, payer=COMMERCIAL) if c[0] == "J3301"]


def test_imaging_lines_only_for_codes_without_imaging():
    gon = {
        "family": "peripheral_nerve_block",
        "nerve": "greater_occipital",
        "laterality": "bilateral",
        "imaging": "ultrasound",
    }
    assert coded(diagnoses=["G44.209"], procedures=[gon]) == [("64405", ("50",), 1), ("76942", (), 1)]
    fem = {**gon, "nerve": "femoral", "laterality": "left"}
    assert coded(diagnoses=["G89.18"], procedures=[fem]) == [("64447", ("LT",), 1)]


def test_interlaminar_imaging_picks_the_code():
    il = {
        "family": "epidural_interlaminar",
        "region": "lumbar",
        "approach": "interlaminar",
        "levels": ["L4-L5"],
    }
    assert coded(procedures=[{**il, "imaging": "fluoroscopy"}]) == [("62323", (), 1)]
    assert coded(procedures=[{**il, "imaging": "none"}]) == [("62322", (), 1)]
    assert coded(procedures=[{**il, "levels": ["C6-C7"], "imaging": "ct"}]) == [("62321", (), 1)]


def test_trigger_point_code_by_muscle_count():
    tp = {"family": "trigger_point", "muscles": ["trapezius", "rhomboid"]}
    assert coded(diagnoses=["M79.18"], procedures=[tp]) == [("20552", (), 1)]


def test_scs_trial_and_implant():
    assert coded(
        diagnoses=["G89.4"], procedures=[{"family": "spinal_cord_stimulator", "stage": "trial", "leads": 2}]
    ) == [("63650", (), 2)]
    assert coded(
        diagnoses=["G89.4"], procedures=[{"family": "spinal_cord_stimulator", "stage": "implant", "leads": 2}]
    ) == [("63685", (), 1), ("63650", (), 2)]


def test_vertebral_augmentation_first_level_by_region():
    kp = {"family": "vertebral_augmentation", "kind": "kyphoplasty", "levels": ["T12", "L1"]}
    assert coded(diagnoses=["M80.08XA"], procedures=[kp]) == [("22513", (), 1), ("22515", (), 1)]


def test_definitive_drug_test_by_class_count():
    dt = {"family": "drug_test", "method": "definitive", "drug_classes": 9}
    assert coded(diagnoses=["Z79.891"], procedures=[dt]) == [("G0481", (), 1)]


def test_asc_facility_medicare_si_joint_is_g0260_rt_lt():
    si = {"family": "sacroiliac_joint", "laterality": "bilateral", "imaging": "fluoroscopy"}
    assert coded(
        diagnoses=["M46.1"], practice={"kind": "asc", "state": "CA"}, place_of_service="24", procedures=[si]
    ) == [("G0260", ("RT",), 1), ("G0260", ("LT",), 1)]


def test_supporting_diagnosis_is_pointed_first():
    enc = example_encounter({"lines": None, "diagnoses": ["G89.29", "M54.16"]})
    lines = code_encounter(enc, REF, BOOK.for_payer(enc.payer))
    assert lines[0].diagnosis_pointers == [2, 1]


# --- issue 10: sides that differ, imaging modality, the rest of the pain code set ------------------
def rfa(levels, side):
    return {"family": "radiofrequency_ablation", "region": "lumbar", "levels": levels, "laterality": side,
            "imaging": "fluoroscopy"}  # fmt: skip


def test_sides_that_differ_primary_goes_to_the_bilateral_level():
    assert sorted(coded(procedures=[tf(["L4", "L5"], "right"), tf(["L5"], "left")])) == [
        ("64483", ("50",), 1),
        ("64484", ("RT",), 1),
    ]
    # different levels on opposite sides: primary + add-on, never two primaries, never a 50
    assert coded(procedures=[tf(["L4"], "right"), tf(["L5"], "left")]) == [
        ("64483", ("RT",), 1),
        ("64484", ("LT",), 1),
    ]


def test_sides_that_differ_rfa_and_bilateral_addon_levels_each_on_their_own_50_line():
    assert coded(procedures=[rfa(["L3-L4", "L4-L5", "L5-S1"], "bilateral"), rfa(["L2-L3"], "left")]) == [
        ("64635", ("50",), 1),
        ("64636", ("50",), 1),
        ("64636", ("50",), 1),
        ("64636", ("LT",), 1),
    ]


def test_sides_that_differ_rt_lt_lines_add_the_units_per_side():
    asc = {"id": "ASC1", "kind": "asc", "state": "CA"}
    got = coded(
        practice=asc,
        place_of_service="24",
        procedures=[tf(["L3", "L4", "L5"], "right"), tf(["L4", "L5"], "left")],
    )
    assert sorted(got) == [
        ("64483", ("LT",), 1),
        ("64483", ("RT",), 1),
        ("64484", ("LT",), 1),
        ("64484", ("RT",), 2),
    ]


def test_ultrasound_guided_injections_are_category_iii_codes():
    assert coded(procedures=[tf(["L4", "L5"], "left", imaging="ultrasound")]) == [
        ("0230T", ("LT",), 1),
        ("0231T", ("LT",), 1),
    ]
    # no ultrasound code for facet RFA: the fluoroscopy code, and NEC010 says the note does not fit it
    assert coded(procedures=[{**rfa(["L4-L5"], "right"), "imaging": "ultrasound"}]) == [("64635", ("RT",), 1)]


def test_new_families_and_codes():
    g = {
        "family": "peripheral_nerve_block",
        "nerve": "genicular",
        "laterality": "left",
        "imaging": "ultrasound",
    }
    assert coded(procedures=[g]) == [("64454", ("LT",), 1)]
    j = {"family": "joint_injection", "joint": "small", "laterality": "right", "imaging": "none"}
    assert coded(procedures=[j]) == [("20600", ("RT",), 1)]
    s = {
        "family": "sympathetic_block",
        "target": "stellate_ganglion",
        "laterality": "right",
        "imaging": "fluoroscopy",
    }
    assert coded(procedures=[s]) == [("64510", ("RT",), 1), ("77003", (), 1)]
    p = {"family": "intrathecal_pump", "service": "analysis_with_programming"}
    assert coded(procedures=[p]) == [("62368", (), 1)]
    si = {"family": "sacroiliac_ablation", "laterality": "left", "imaging": "fluoroscopy"}
    assert coded(procedures=[si, {**si, "laterality": "right"}]) == [("64625", ("50",), 1)]


def test_scs_generator_replacement_is_63685_alone():
    scs = {"family": "spinal_cord_stimulator", "stage": "replacement"}
    assert coded(procedures=[scs]) == [("63685", (), 1)]


def test_drug_tests_per_date():
    p = [{"family": "drug_test", "method": m} for m in ("presumptive_instrument", "presumptive_direct")]
    assert coded(procedures=p) == [("80306", (), 1)]
    d = [
        {"family": "drug_test", "method": "definitive", "drug_classes": ["a", "b", "c", "d", "e"]},
        {"family": "drug_test", "method": "definitive", "drug_classes": ["d", "e", "f", "g"]},
    ]
    assert coded(procedures=d) == [("G0480", (), 1)]  # 7 distinct classes
    d.append({"family": "drug_test", "method": "definitive", "drug_classes": 8})
    assert coded(procedures=d) == [("G0482", (), 1)]  # 7 named + 8 counted = 15


def test_visit_modifiers_57_and_24():
    paddle = {"family": "spinal_cord_stimulator", "stage": "implant", "lead_type": "paddle", "leads": 1}
    ev = {"code": "99214", "decision_for_surgery": True}
    assert coded(procedures=[paddle], evaluation=ev)[0] == ("99214", ("57",), 1)
    ev = {"code": "99213", "unrelated_to_procedure": True}
    assert coded(procedures=[], diagnoses=["M54.16"], evaluation=ev) == [("99213", ("24",), 1)]


def test_built_lines_are_the_lines_validation_makes() -> None:
    """The coder builds its lines without validating them again (painrcm.built): the same values, field
    order and fields-set as the validated model, and a fresh modifiers list per line."""
    from painrcm.built import builder
    from painrcm.model import Line

    build = builder(Line)
    made = build(code="64483", modifiers=["RT"], units=1.0)
    valid = Line(code="64483", modifiers=["RT"], units=1)
    assert made == valid
    assert list(made.__dict__) == list(valid.__dict__)
    assert made.model_fields_set == valid.model_fields_set
    assert made.model_dump_json() == valid.model_dump_json()
    made.diagnosis_pointers = [1]
    assert made.model_fields_set == {"code", "modifiers", "units", "diagnosis_pointers"}
    assert build(code="64483", modifiers=["RT"], units=1.0).model_fields_set == valid.model_fields_set
    a, b = build(code="99213"), build(code="99213")
    assert a.modifiers == [] and a.modifiers is not b.modifiers
    with pytest.raises(TypeError):
        build(cod="64483")


def _fresh_coded(**over):
    """`coded`, with the coder's kept sessions forgotten first (so the coder really codes the note)."""
    import painrcm.coder

    painrcm.coder._MEMOS.clear()
    return coded(**over)


@pytest.mark.parametrize(
    "entry",
    [
        tf(["L4", "L5"], "bilateral"),
        tf(["L5"], "left", imaging="ultrasound"),
        {
            "family": "facet_joint",
            "region": "lumbar",
            "levels": ["L4-L5", "L5-S1"],
            "laterality": "right",
            "imaging": "fluoroscopy",
            "target": "medial_branch",
            "purpose": "diagnostic",
        },
        {
            "family": "radiofrequency_ablation",
            "region": "cervical",
            "levels": ["C3-C4"],
            "laterality": "left",
            "imaging": "fluoroscopy",
        },
    ],
)
@pytest.mark.parametrize("payer", [None, COMMERCIAL])
def test_level_family_codes_do_not_depend_on_the_uncoded_facts(entry, payer):
    # the coder keeps a level-family session's lines without these facts (UNCODED_FACTS): if coding
    # ever reads one of them, entries differing in it must not share lines
    from painrcm.coder.levels import UNCODED_FACTS

    assert UNCODED_FACTS == {"images_stored", "medications", "relief_percent"}
    extra = {"payer": payer} if payer else {}
    plain = _fresh_coded(procedures=[entry], **extra)
    for facts in (
        {"images_stored": True, "medications": ["dexamethasone 10 mg"], "relief_percent": 85.0},
        {"images_stored": False, "medications": [], "relief_percent": 0.0},
    ):
        assert _fresh_coded(procedures=[{**entry, **facts}], **extra) == plain


def test_kept_sessions_give_the_lines_coding_gives():
    # the same note coded twice (the second from the kept session) and after forgetting: the same lines
    procs = [
        tf(["L4", "L5"], "right"),
        tf(["L5"], "left"),
        {"family": "trigger_point", "muscles": ["a", "b", "c"]},
    ]
    first = _fresh_coded(procedures=procs)
    assert coded(procedures=procs) == first
    assert _fresh_coded(procedures=procs) == first
