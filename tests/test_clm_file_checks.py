"""Issue 11, claim-level checks that reading a file learns (CLM006, CLM007), on the command line.

The files are generated (write_837 of the example claim), then one element is spelt wrongly or one
claim ID repeated; the shared real sample x12_many_claims.txt repeats its CLM01s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from painrcm.cli import app
from painrcm.edits.examples import example_encounter
from painrcm.x12.writer837 import write_837

SAMPLE = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "x12-samples" / "imsweb" / "x12_many_claims.txt"
)


def _claims(*ids: str) -> str:
    line = {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 900}
    return write_837([example_encounter({"encounter_id": i, "lines": [line]}) for i in ids])


def _scrub(tmp_path: Path, text: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    f = tmp_path / "claims.837"
    f.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["scrub", str(f), "--json"])
    return r.exit_code, json.loads(r.stdout), r.stderr


def _edits(claim: dict) -> set[str]:  # type: ignore[type-arg]
    return {f["edit"] for f in claim["findings"]}


def test_repeated_clm01_scrubs_every_claim_and_flags_each_with_the_others_places(tmp_path: Path) -> None:
    text = _claims("E-1", "E-2", "E-1", "E-1")
    code, doc, err = _scrub(tmp_path, text)
    assert code == 1 and err == ""  # an error finding, not bad input
    assert [c["claim_id"] for c in doc["claims"]] == ["E-1", "E-2", "E-1", "E-1"]
    assert "input_errors" not in doc
    clm = [i + 1 for i, s in enumerate(text.split("~\n")) if s.startswith("CLM*")]
    places = [f"segment {n} (CLM)" for n in clm]
    for k in (0, 2, 3):
        [f] = [f for f in doc["claims"][k]["findings"] if f["edit"] == "CLM007"]
        assert f["severity"] == "error" and f["line"] is None
        others = [places[j] for j in (0, 2, 3) if j != k]
        assert all(p in f["message"] for p in others) and places[k] not in f["message"]
    assert "CLM007" not in _edits(doc["claims"][1])
    # every other edit still ran on the repeats: the same findings as the claim alone
    assert _edits(doc["claims"][2]) - {"CLM007"} == _edits(doc["claims"][1])


def test_the_same_id_under_two_billing_providers_is_not_a_repeat(tmp_path: Path) -> None:
    other = example_encounter({"encounter_id": "E-1"}).model_copy(deep=True)
    other.practice.npi = "1679576722"
    _, doc, _ = _scrub(tmp_path, write_837([example_encounter({"encounter_id": "E-1"}), other]))
    assert not any("CLM007" in _edits(c) for c in doc["claims"])


def test_an_amount_written_1_000_is_scrubbed_with_clm006_and_the_total_unknown(tmp_path: Path) -> None:
    text = _claims("E-1", "E-2")
    segs = text.split("~\n")
    k = next(i for i, s in enumerate(segs) if s.startswith("CLM*E-2*"))
    assert segs[k].split("*")[2] == "900"
    segs[k] = segs[k].replace("CLM*E-2*900*", "CLM*E-2*1_000*")
    code, doc, err = _scrub(tmp_path, "~\n".join(segs))
    assert code == 1 and err == ""
    first, second = doc["claims"]
    assert "CLM006" not in _edits(first)
    [f] = [f for f in second["findings"] if f["edit"] == "CLM006"]
    assert f["severity"] == "error" and f["line"] is None
    assert f"segment {k + 1} (CLM)" in f["message"] and "CLM02" in f["message"] and "'1_000'" in f["message"]
    assert "exponent" in f["message"]  # what was expected
    # the total is unknown, not 1000: CLM001 says it could not check, and does not compare
    assert "CLM001" not in _edits(second)
    assert any(n["edit"] == "CLM001" and "CLM006" in n["reason"] for n in second["not_checked"])


@pytest.mark.parametrize(("value", "element"), [("1_0", "SV104"), ("+1", "SV104"), ("9E2", "SV102")])
def test_a_line_quantity_or_charge_that_is_not_a_number_is_a_line_finding(
    tmp_path: Path, value: str, element: str
) -> None:
    text = _claims("E-1")
    sv1 = next(s for s in text.split("~\n") if s.startswith("SV1*"))
    parts = sv1.split("*")
    parts[2 if element == "SV102" else 4] = value
    code, doc, _ = _scrub(tmp_path, text.replace(sv1, "*".join(parts)))
    [claim] = doc["claims"]
    [f] = [f for f in claim["findings"] if f["edit"] == "CLM006"]
    assert f["line"] == 1 and element in f["message"] and code == 1
    if element == "SV104":  # units unknown: COD006 does not call them missing, it says it could not check
        assert "COD006" not in _edits(claim)
        assert any(n["edit"] == "COD006" for n in claim["not_checked"])
        # and the edits that count units say they could not count that line's
        assert {"ADD004", "MOD009"} <= {n["edit"] for n in claim["not_checked"] if "SV104" in n["reason"]}


def test_a_grammar_error_in_an_envelope_count_is_still_the_readers(tmp_path: Path) -> None:
    text = _claims("E-1")
    se = next(s for s in text.split("~\n") if s.startswith("SE*"))
    _, doc, err = _scrub(tmp_path, text.replace(se, "SE*1_0*" + se.split("*")[2]))
    assert "CLM006" not in _edits(doc["claims"][0])
    assert "SE01" in err  # the reader's note on the count, as before


@pytest.mark.skipif(not SAMPLE.is_file(), reason="../shared/x12-samples not present")
def test_the_imsweb_sample_that_repeats_clm01s_now_scrubs_with_clm007(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["scrub", str(SAMPLE), "--json"])
    assert r.exit_code == 1, r.stderr
    doc = json.loads(r.stdout)
    assert "input_errors" not in doc
    flagged = [c for c in doc["claims"] if "CLM007" in _edits(c)]
    assert len(doc["claims"]) > 100 and len(flagged) == len(doc["claims"])  # every claim ID repeats
    message = next(f["message"] for f in flagged[0]["findings"] if f["edit"] == "CLM007")
    assert "more" in message and len(message) < 400  # the first places and a count, not 400 places


def test_claim_json_cannot_carry_a_files_repeat_marker(tmp_path: Path) -> None:
    """claim_id_also_at is decided over a file after reading it: a JSON claim (an API body, an edit)
    that carries it is read without it, so no stale CLM007 sticks to a stored claim."""
    doc = example_encounter({"encounter_id": "E-9"}).model_dump(mode="json", by_alias=True, exclude_none=True)
    doc["claim_id_also_at"] = ["segment 40 (CLM)"]
    f = tmp_path / "claim.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    r = CliRunner().invoke(app, ["scrub", str(f), "--json"])
    assert r.exit_code in (0, 1), r.stderr
    assert "CLM007" not in _edits(json.loads(r.stdout)["claims"][0])


def test_an_unreadable_number_once_written_is_no_longer_reported(tmp_path: Path) -> None:
    """A biller who writes the value the 837P spelt wrongly (a claim edit) clears CLM006 and the
    checks it stopped run again; while the value is still unknown CLM006 stays."""
    note = {"place": "segment 23 (CLM)", "element": "CLM02", "found": "1_000", "expected": "digits"}
    line = {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2], "charge": 900}
    unknown = example_encounter({"lines": [line], "unreadable_numbers": [note]})
    written = example_encounter({"lines": [line], "unreadable_numbers": [note], "total_charge": 1000})
    for enc, reported in ((unknown, True), (written, False)):
        f = tmp_path / "claim.json"
        f.write_text(enc.model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8")
        claim = json.loads(CliRunner().invoke(app, ["scrub", str(f), "--json"]).stdout)["claims"][0]
        assert ("CLM006" in _edits(claim)) is reported
        # written, the total is checked against the lines again (900 billed, 1000 written: CLM001)
        assert ("CLM001" in _edits(claim)) is not reported
