"""A payer file changes behaviour without code; the built-in defaults are what RULES.md says."""

from __future__ import annotations

from pathlib import Path

import pytest

from painrcm.coder import code_encounter
from painrcm.codes.loader import load_reference
from painrcm.edits.examples import example_encounter
from painrcm.errors import InputError
from painrcm.policy.loader import add_payer_file, load_policies
from painrcm.scrub import Engine, scrub_encounter

BILATERAL_FACET = {
    "payer": {"id": "ACME-HEALTH", "plan": "commercial"},
    "diagnoses": ["M47.816"],
    "lines": None,
    "authorization_number": "PA-1",
    "procedures": [
        {
            "family": "facet_joint",
            "region": "lumbar",
            "target": "intraarticular",
            "purpose": "therapeutic",
            "levels": ["L4-L5", "L5-S1"],
            "laterality": "bilateral",
            "imaging": "fluoroscopy",
            "images_stored": True,
            "medications": ["bupivacaine"],
        }
    ],
}


def _codes(lines):
    return [(ln.code, tuple(ln.modifiers), ln.units) for ln in lines]


def test_commercial_default_uses_50_in_office_and_rt_lt_at_asc():
    book, ref = load_policies(), load_reference()
    office = example_encounter(BILATERAL_FACET)
    pol = book.for_payer(office.payer)
    assert _codes(code_encounter(office, ref, pol)) == [("64493", ("50",), 1), ("64494", ("50",), 1)]
    asc = example_encounter({**BILATERAL_FACET, "place_of_service": "24"})
    assert _codes(code_encounter(asc, ref, pol)) == [
        ("64493", ("RT",), 1),
        ("64493", ("LT",), 1),
        ("64494", ("RT",), 1),
        ("64494", ("LT",), 1),
    ]


def test_payer_file_overrides_for_its_payer_only(tmp_path: Path):
    (tmp_path / "acme.yaml").write_text(
        "payer_ids: [acme-health]\nbase: commercial\nbilateral:\n  addons: per_side_lines\n"
        "session_levels:\n  facet_joint: 1\n"
    )
    book, ref = load_policies([tmp_path]), load_reference()
    enc = example_encounter(BILATERAL_FACET)
    pol = book.for_payer(enc.payer)
    assert pol.id == "acme" and pol.session_levels["facet_joint"] == 1
    assert pol.relief.rfa_diagnostic_block_percent == 50  # untouched keys come from the base
    assert _codes(code_encounter(enc, ref, pol)) == [
        ("64493", ("50",), 1),
        ("64494", ("RT",), 1),
        ("64494", ("LT",), 1),
    ]
    result = scrub_encounter(enc, Engine(ref, book))
    assert ("ADD003", "error") in {(f.edit, f.severity.value) for f in result.findings}
    other = example_encounter({**BILATERAL_FACET, "payer": {"id": "OTHER", "plan": "commercial"}})
    assert book.for_payer(other.payer).id == "commercial"


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("payer_ids: [X]\nbase: commercial\nbilateral:\n  default: both_sides\n", "key bilateral.default"),
        ("payer_ids: [X]\nbase: medicaid\n", "key base"),
        ("base: commercial\n", "key payer_ids"),
        ("payer_ids: [X]\nbase: commercial\nsurprise: 1\n", "key surprise"),
        ("payer_ids: [X\n", "line"),
    ],
)
def test_malformed_payer_file_is_refused_with_file_and_key(tmp_path: Path, text: str, place: str):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(InputError) as err:
        add_payer_file(load_policies(), f)
    assert str(f) in err.value.render() and place in err.value.render()


def test_medicare_wiser_states_are_data():
    pol = load_policies().built_in["medicare"]
    wiser = [r for r in pol.authorization.rules if r.missing == "AUT091"]
    assert wiser and set(wiser[0].states or []) == {"AZ", "NJ", "OH", "OK", "TX", "WA"}
