"""The edit docs are generated from the edits, and the CLI prints what a biller reads."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from painrcm.cli import app
from painrcm.edits import CATALOGUE, RUN_ORDER
from painrcm.edits.examples import example_dict
from painrcm.report import edits_markdown

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def test_every_catalogue_edit_is_implemented():
    assert list(CATALOGUE) == RUN_ORDER


def test_docs_page_is_generated_from_the_edits():
    page = (ROOT / "docs" / "edits.md").read_text()
    assert page == edits_markdown(), "docs/edits.md is stale: run `painrcm edits --markdown > docs/edits.md`"


def test_explain_prints_doc_examples_and_sources():
    out = runner.invoke(app, ["explain", "bun001"]).stdout
    edit = CATALOGUE["BUN001"]
    assert edit.what in out and edit.why in out
    assert '"77003"' in out  # the failing example
    assert "Corrected" in out and edit.sources[0] in out


def test_edits_lists_the_catalogue():
    out = runner.invoke(app, ["edits"]).stdout
    for eid in ("COD001", "BUN006", "FRQ090", "AUT091"):
        assert eid in out


def test_scrub_json_follows_the_contract(tmp_path):
    p = tmp_path / "e.json"
    p.write_text(
        json.dumps(
            example_dict(
                {
                    "lines": [
                        {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
                        {"code": "77003", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
                    ]
                }
            )
        )
    )
    result = runner.invoke(app, ["scrub", str(p), "--json", "--fix"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["schema"] == "painrcm.scrub/1"
    claim = doc["claims"][0]
    assert claim["claim_id"] == "EX-1" and claim["status"] == "error"
    assert claim["lines"][1] == {
        "line": 2,
        "code": "77003",
        "modifiers": [],
        "units": 1,
        "diagnosis_pointers": [1],
    }
    bun = [f for f in claim["findings"] if f["edit"] == "BUN001"]
    assert bun and bun[0]["line"] == 2 and bun[0]["severity"] == "error" and bun[0]["fix"]
    assert [ln["code"] for ln in claim["fixed_lines"]] == ["64483"]
    assert {n["edit"] for n in claim["not_checked"]} >= {"FRQ001", "NEC001"}
    assert "ncci_ptp" in claim["editions"] and "icd10cm" in claim["editions"]


def test_human_report_names_findings_and_fixes(tmp_path):
    p = tmp_path / "e.json"
    p.write_text(
        json.dumps(
            example_dict(
                {"lines": [{"code": "64483", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}]}
            )
        )
    )
    result = runner.invoke(app, ["scrub", str(p), "--fix"])
    assert result.exit_code == 1
    assert "MOD004" in result.stdout and "fix:" in result.stdout
    assert "corrected lines" in result.stdout


def test_clean_claim_exits_0(tmp_path):
    p = tmp_path / "e.json"
    p.write_text(json.dumps(example_dict({})))
    result = runner.invoke(app, ["scrub", str(p), "--json"])
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["claims"][0]["status"] in ("clean", "warning")


def test_code_json_contract(tmp_path):
    doc = example_dict({})
    doc.pop("lines")
    p = tmp_path / "e.json"
    p.write_text(json.dumps(doc))
    out = json.loads(runner.invoke(app, ["code", str(p), "--json"]).stdout)
    assert out["schema"] == "painrcm.claim/1" and out["claim_id"] == "EX-1"
    assert out["lines"] == [
        {"line": 1, "code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}
    ]
