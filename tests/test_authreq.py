"""`painrcm auth request`: a prior-authorization request built from the note and the patient's history,
judged by the same edits that would deny the claim (evidence checklist per family and payer)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from painrcm.authreq import build_request, evidence_items
from painrcm.cli import app
from painrcm.edits._examples_history import RFA_CLAIM, mbb, visit
from painrcm.edits.examples import COMMERCIAL, example_dict, example_encounter
from painrcm.history import History
from painrcm.policy.loader import load_policies

runner = CliRunner()


def planned(overrides: dict[str, Any]) -> dict[str, Any]:
    """A planned encounter: the note without lines (the coder codes it)."""
    d = example_dict(overrides)
    d.pop("lines", None)
    return d


def rfa(**kw: Any) -> dict[str, Any]:
    return planned({**RFA_CLAIM, "documentation": {"conservative_care_weeks": 12}, **kw})


def commercial_esi() -> dict[str, Any]:
    """A planned right L4-L5 transforaminal epidural for a commercial payer (which wants it authorized)."""
    return planned(
        {
            "payer": COMMERCIAL,
            "diagnoses": ["M54.16"],
            "procedures": [
                {
                    "family": "epidural_transforaminal",
                    "region": "lumbar",
                    "levels": ["L4", "L5"],
                    "laterality": "right",
                    "imaging": "fluoroscopy",
                    "images_stored": True,
                    "medications": ["dexamethasone 10 mg"],
                }
            ],
            "documentation": {"conservative_care_weeks": 8},
        }
    )


def write(folder: Path, *records: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        (folder / f"{r['encounter_id']}.json").write_text(json.dumps(example_dict(r)), encoding="utf-8")
    return folder


def run(tmp_path: Path, enc: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    f = tmp_path / "planned.json"
    f.write_text(json.dumps(enc), encoding="utf-8")
    res = runner.invoke(app, ["auth", "request", str(f), "--json", "--date", "2026-02-20", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def item(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(e for e in doc["evidence"] if e["item"] == key)


def test_rfa_without_blocks_lists_the_missing_blocks(tmp_path: Path) -> None:
    hist = write(tmp_path / "h", mbb("B-1", "2026-01-05", 85), mbb("B-2", "2026-01-26", 60))
    code, doc = run(tmp_path, rfa(), "--history", str(hist))
    assert code == 1 and doc["ready"] is False
    blocks = item(doc, "qualifying_blocks")
    assert blocks["status"] == "missing"
    assert [f["edit"] for f in blocks["findings"]] == ["NEC001"]
    # the facts a reviewer needs: both blocks with dates and relief
    assert any("2026-01-05" in f and "85%" in f for f in blocks["facts"])
    assert any("2026-01-26" in f and "60%" in f for f in blocks["facts"])
    assert any("Qualifying diagnostic blocks" in w for w in doc["waiting_for"])


def test_rfa_with_two_qualifying_blocks_is_ready(tmp_path: Path) -> None:
    hist = write(tmp_path / "h", mbb("B-1", "2026-01-05", 85), mbb("B-2", "2026-01-26", 90))
    code, doc = run(tmp_path, rfa(), "--history", str(hist))
    assert code == 0 and doc["ready"] is True and doc["waiting_for"] == []
    assert item(doc, "qualifying_blocks")["status"] == "present"
    assert [s["code"] for s in doc["services"]] == ["64635", "64636"]
    # evidence the Medicare policy asks for an RFA, in its order
    assert [e["item"] for e in doc["evidence"]] == load_policies().built_in[
        "medicare"
    ].authorization.evidence["radiofrequency_ablation"]


def test_without_history_history_items_are_unknown_not_passed(tmp_path: Path) -> None:
    code, doc = run(tmp_path, rfa())
    assert code == 1 and doc["history_used"] is False
    assert item(doc, "qualifying_blocks")["status"] == "unknown"
    assert item(doc, "sessions_in_window")["status"] == "unknown"


def test_missing_conservative_care_and_psych_evaluation_for_a_stimulator_implant(tmp_path: Path) -> None:
    implant = planned(
        {
            "diagnoses": ["M96.1"],
            "procedures": [{"family": "spinal_cord_stimulator", "stage": "implant", "leads": 2}],
            "documentation": {"conservative_care_weeks": 2, "psych_evaluation": False},
        }
    )
    hist = write(
        tmp_path / "h",
        visit(
            "T-1",
            "2026-01-10",
            {"code": "63650", "modifiers": [], "units": 2, "diagnosis_pointers": [1]},
            procedures=[
                {"family": "spinal_cord_stimulator", "stage": "trial", "leads": 2, "relief_percent": 70}
            ],
            diagnoses=["M96.1"],
        ),
    )
    code, doc = run(tmp_path, implant, "--history", str(hist))
    assert code == 1
    assert item(doc, "psych_evaluation")["status"] == "missing"
    assert item(doc, "conservative_care")["status"] == "missing"
    assert item(doc, "trial_result")["status"] == "present"
    assert any("70%" in f for f in item(doc, "trial_result")["facts"])


def test_commercial_epidural_needs_authorization_and_the_answer_is_due_per_policy(tmp_path: Path) -> None:
    esi = commercial_esi()
    code, doc = run(tmp_path, esi, "--history", str(write(tmp_path / "h")))
    assert doc["needs_authorization"] is True
    assert {s["code"]: s["needs_authorization"] for s in doc["services"]} == {"64483": True, "64484": True}
    days = load_policies().built_in["commercial"].authorization.response_days
    assert doc["response_due"] == (date(2026, 2, 20) + timedelta(days=days)).isoformat()
    assert code == 0, doc["waiting_for"]


def test_an_evidence_item_the_engine_does_not_know_is_unknown() -> None:
    from painrcm.policy.schema import Policy
    from painrcm.scrub import Engine

    med = load_policies().built_in["medicare"]
    auth = med.authorization.model_copy(update={"evidence": {"radiofrequency_ablation": ["x_rays_on_film"]}})
    odd: Policy = med.model_copy(update={"authorization": auth})

    class Book:
        def for_payer(self, payer: object) -> Policy:
            return odd

    from painrcm.codes.loader import load_reference

    eng = Engine(load_reference(), Book())  # type: ignore[arg-type]
    p = build_request(example_encounter(rfa()), eng, history=History())
    assert [(e.key, e.status) for e in p.evidence] == [("x_rays_on_film", "unknown")]
    assert not p.ready


@pytest.mark.parametrize("policy_id", ["medicare", "commercial"])
def test_built_in_policies_ask_only_for_known_evidence(policy_id: str) -> None:
    known = set(evidence_items())
    asked = {k for keys in load_policies().built_in[policy_id].authorization.evidence.values() for k in keys}
    assert asked and asked <= known


def test_bad_planned_file_is_a_located_error(tmp_path: Path) -> None:
    f = tmp_path / "planned.json"
    f.write_text('{"schema": "painrcm.encounter/1", "encounter_id": "X"', encoding="utf-8")
    res = runner.invoke(app, ["auth", "request", str(f)])
    assert res.exit_code == 2
    assert "planned.json" in res.stderr and "Traceback" not in res.output


def test_the_request_goes_out_as_a_278_with_the_evidence_as_notes(tmp_path: Path) -> None:
    from painrcm.x12.x278 import read_278

    esi = commercial_esi()
    f = tmp_path / "planned.json"
    f.write_text(json.dumps(esi), encoding="utf-8")
    out = tmp_path / "request.278"
    res = runner.invoke(app, ["auth", "request", str(f), "--x278", str(out), "--date", "2026-02-20"])
    assert res.exit_code == 1, res.output  # no history: the frequency evidence is not known
    read = read_278(out.read_text(encoding="utf-8"), str(out))
    (req,) = read.requests
    assert req.request_id == esi["encounter_id"]
    assert [(s.code, s.modifiers) for s in req.services] == [("64483", ["RT"]), ("64484", ["RT"])]
    assert req.subscriber.member_id == esi["patient"]["member_id"] and req.diagnoses == ["M54.16"]
    assert any(n.startswith("Conservative care") and "8 weeks" in n for n in req.notes)
    assert any("not known" in n or "unknown" in n for n in req.notes)
