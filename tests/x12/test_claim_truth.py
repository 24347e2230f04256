"""Claims payers reject are not read as clean (issue 11): X12 number grammar (CLM006), located SV107
errors, the claim total kept for CLM001. The same CLM01 twice in one file: tests/test_clm_file_checks.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from painrcm.cli import app
from painrcm.x12.reader837 import read_837

from .conftest import fixture_text

PAIN = fixture_text("pain.837")
SV1 = "SV1*HC:20552*135*UN*1***2:1"


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        ("CLM*PCN-3*135*", "CLM*PCN-3*1_35*", "CLM02"),
        ("CLM*PCN-3*135*", "CLM*PCN-3* 135*", "CLM02"),
        ("CLM*PCN-3*135*", "CLM*PCN-3*+135*", "CLM02"),
        ("CLM*PCN-3*135*", "CLM*PCN-3*1,35*", "CLM02"),
        ("CLM*PCN-3*135*", "CLM*PCN-3*1.35E2*", "CLM02"),
        ("CLM*PCN-3*135*", "CLM*PCN-3*inf*", "CLM02"),
        ("CLM*PCN-3*135*", "CLM*PCN-3*\u0661\u0663\u0665*", "CLM02"),
        (SV1, "SV1*HC:20552*1_35*UN*1***2:1", "SV102"),
        (SV1, "SV1*HC:20552*1e5*UN*1***2:1", "SV102"),
        (SV1, "SV1*HC:20552*135*UN*1_0***2:1", "SV104"),
        (SV1, "SV1*HC:20552*135*UN*+1***2:1", "SV104"),
        (SV1, "SV1*HC:20552*135*UN*nan***2:1", "SV104"),
    ],
)
def test_an_amount_that_is_not_an_x12_number_keeps_its_claim_with_the_value_unknown(
    old: str, new: str, element: str
) -> None:
    """Issue 11 (CLM006): Python's number syntax is not X12's, and a claim with such an amount or
    quantity is read (not refused) with the value unknown and the place recorded, never guessed."""
    assert old in PAIN
    result = read_837(PAIN.replace(old, new, 1), "p.837")
    claim = next(c for c in result.claims if c.encounter_id == "PCN-3")
    assert not [p for p in result.problems if "PCN-3" in p.expected]
    [bad] = claim.unreadable_numbers or []
    assert bad.element == element and bad.place.startswith("segment ") and bad.found in new
    assert "exponent" in bad.expected
    if element == "CLM02":
        assert claim.total_charge is None and bad.line is None
    else:
        assert bad.line == 1
        line = (claim.lines or [])[0]
        assert (line.charge if element == "SV102" else line.units) is None


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (SV1, "SV1*HC:20552*135*UN*1***\u0662:1", "SV107"),
        (SV1, "SV1*HC:20552*135*UN*1***" + "1" * 5000, "SV107"),
        (SV1, "SV1*HC:20552*135*UN*1***2:1" + "0" * 5000, "SV107"),
        ("DTP*472*D8*20260306", "DTP*472*D8*\u0662\u0660\u0662\u0666\u0660\u0663\u0660\u0666", "DTP03"),
        ("CLM*PCN-3*135*", "CLM*PCN-3**", "CLM02"),  # missing, not misspelt: the claim cannot be read
    ],
)
def test_python_number_syntax_in_pointers_and_dates_is_a_located_problem(
    old: str, new: str, words: str
) -> None:
    assert old in PAIN
    result = read_837(PAIN.replace(old, new, 1), "p.837")
    assert "PCN-3" not in [c.encounter_id for c in result.claims]
    bad = [p for p in result.problems if "PCN-3" in p.expected]
    assert len(bad) == 1 and words in bad[0].expected, [p.render() for p in result.problems]
    assert bad[0].place is not None and bad[0].place.startswith("segment ")
    assert len(bad[0].render()) < 300  # the value is cut, the message stays one short line


@pytest.mark.parametrize("value", ["135", "135.", "135.00", ".5", "-0", "0135"])
def test_x12_decimal_forms_are_read(value: str) -> None:
    result = read_837(PAIN.replace("CLM*PCN-3*135*", f"CLM*PCN-3*{value}*", 1), "p.837")
    claim = next(c for c in result.claims if c.encounter_id == "PCN-3")
    assert claim.total_charge == float(value) and claim.unreadable_numbers is None


def test_claim_total_is_kept_for_the_clm_edits() -> None:
    result = read_837(PAIN, "p.837")
    assert [c.total_charge for c in result.claims] == [1250, 135]


def test_clm_edits_find_what_the_reader_keeps(tmp_path: Path) -> None:
    text = PAIN.replace("CLM*PCN-3*135*", "CLM*PCN-3*140*", 1).replace(
        "NM1*85*2*MESA SURGERY CENTER*****XX*1245319599", "NM1*85*2*MESA SURGERY CENTER*****XX*1245319598", 1
    )
    f = tmp_path / "c.837"
    f.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["scrub", str(f), "--json"])
    doc = json.loads(r.stdout)
    found = {c["claim_id"]: {x["edit"] for x in c["findings"]} for c in doc["claims"]}
    assert "CLM001" in found["PCN-3"] and "CLM002" in found["PCN-3"] and "CLM002" in found["PCN-1"]
    assert "CLM001" not in found["PCN-1"]


def test_referring_provider_is_read_written_and_checked() -> None:
    from painrcm.edits.examples import example_encounter
    from painrcm.model import Provider
    from painrcm.x12.writer837 import write_837
    from tests.support import ENGINE

    enc = example_encounter({"encounter_id": "REF-1"}).model_copy(
        update={"referring_provider": Provider(npi="1234567890", name="ANN B LEE")}
    )
    read = read_837(write_837([enc]), "r.837").claims[0]
    assert read.referring_provider == Provider(npi="1234567890", name="ANN B LEE")
    found = [f for f in ENGINE.scrub(read).findings if f.edit == "CLM002"]
    assert found and "referring provider" in found[0].message  # 1234567890 fails the check digit
    good = read.model_copy(update={"referring_provider": Provider(npi="1234567893", name="ANN B LEE")})
    assert not [f for f in ENGINE.scrub(good).findings if f.edit == "CLM002"]
