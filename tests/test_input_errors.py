"""Bad input: exit code 2 and one message naming the file, the place and what was expected.
Never a traceback (issue 2, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from painrcm.cli import app
from painrcm.edits.examples import example_dict

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _write(tmp_path: Path, doc, name: str = "enc.json") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def _coded(**over):
    doc = example_dict(over)
    doc.pop("lines")
    return doc


CASES = {
    "malformed_json": ('{"schema": "painrcm.encounter/1", "encounter_id": ', "line 1, column", "valid JSON"),
    "unknown_family": (
        _coded(procedures=[{"family": "epidural_magic", "levels": ["L5"]}]),
        "$.procedures[0].family",
        "epidural_interlaminar",
    ),
    "bad_date": (_coded(date_of_service="2026-02-30"), "$.date_of_service", "YYYY-MM-DD"),
    "missing_required_fact": (
        _coded(
            procedures=[
                {
                    "family": "epidural_transforaminal",
                    "region": "lumbar",
                    "levels": ["L5"],
                    "imaging": "fluoroscopy",
                }
            ]
        ),
        "$.procedures[0].laterality",
        "missing",
    ),
    "bad_level": (
        _coded(
            procedures=[
                {
                    "family": "epidural_transforaminal",
                    "levels": ["L9"],
                    "laterality": "left",
                    "imaging": "fluoroscopy",
                }
            ]
        ),
        "$.procedures[0].levels[0]",
        "spinal level",
    ),
    # J9998 is no HCPCS code (J9999, used before, is one: in the full fee schedule, status E)
    "unknown_drug_code": (_coded(drugs=[{"code": "J9998", "units": 1}]), "$.drugs[0].code", "known drug"),
    "unknown_em_code": (
        _coded(evaluation={"code": "99999", "separately_identifiable": True}),
        "$.evaluation.code",
        "E/M",
    ),
    "misspelt_field": (_coded(procedure=[]), "$.procedure", "not a field"),
    "wrong_schema": (_coded(schema="painrcm.encounter/9"), "$.schema", "painrcm.encounter/1"),
    "nerves_that_cover_no_joint": (
        _coded(
            diagnoses=["M47.816"],
            procedures=[
                {
                    "family": "facet_joint",
                    "region": "lumbar",
                    "target": "medial_branch",
                    "purpose": "therapeutic",
                    "levels": ["L4"],
                    "laterality": "left",
                    "imaging": "fluoroscopy",
                }
            ],
        ),
        "$.procedures[0].levels",
        "whole facet joint",
    ),
}


@pytest.mark.parametrize("command", ["code", "scrub"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_exits_2_with_a_located_message(tmp_path, case, command):
    doc, place, expected = CASES[case]
    path = _write(tmp_path, doc)
    result = _run(command, str(path), "--json")
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert str(path) in err
    assert place in err
    assert expected in err
    assert "Traceback" not in err and "Traceback" not in result.stdout
    assert len(err.strip().splitlines()) == 1


def test_missing_file_is_named(tmp_path):
    result = _run("scrub", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json" in result.stderr and "not found" in result.stderr


def test_bad_history_file_stops_with_its_name(tmp_path):
    enc = _write(tmp_path, example_dict({}))
    hist = tmp_path / "hist"
    hist.mkdir()
    _write(hist, example_dict({"encounter_id": "H-1"}), "a.json")
    _write(hist, example_dict({"encounter_id": "H-2", "date_of_service": "yesterday"}), "b.json")
    result = _run("scrub", str(enc), "--history", str(hist), "--json")
    assert result.exit_code == 2
    assert "b.json" in result.stderr and "$.date_of_service" in result.stderr
    assert result.stdout == ""  # nothing half-done: no result printed


def test_bad_auth_log_names_record_and_field(tmp_path):
    enc = _write(tmp_path, example_dict({"authorization_number": "PA-1"}))
    log = tmp_path / "auths.csv"
    log.write_text(
        "auth_number,payer_id,member_id,codes,sessions,start_date,end_date,rendering_npi,status\n"
        "PA-1,MEDICARE,1EG4TE5MK73,64483,2,2026-01-01,2026-06-30,,approved\n"
        "PA-2,MEDICARE,1EG4TE5MK73,64483,2,2026-13-01,2026-06-30,,approved\n"
    )
    result = _run("scrub", str(enc), "--auths", str(log))
    assert result.exit_code == 2
    assert "auths.csv" in result.stderr and "record 2, field start_date" in result.stderr


def test_malformed_payer_file_names_file_and_key(tmp_path):
    payers = tmp_path / "payers"
    payers.mkdir()
    (payers / "acme.yaml").write_text(
        "payer_ids: [ACME-HEALTH]\nbase: commercial\nsession_levels:\n  facet_joint: many\n"
    )
    enc = _write(tmp_path, example_dict({}))
    result = _run("scrub", str(enc), "--payers", str(payers))
    assert result.exit_code == 2
    assert "acme.yaml" in result.stderr and "session_levels.facet_joint" in result.stderr


def test_unknown_edit_for_explain():
    result = _run("explain", "XYZ999")
    assert result.exit_code == 2 and "painrcm edits" in result.stderr
