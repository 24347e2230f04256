"""The FHIR front door and the prior-authorization workflow, through the real ASGI app.

- `Claim/$validate` answers the same findings as `painrcm scrub` for the same claim: every acceptance
  case in ../shared/acceptance is loaded into a workspace (its history and authorization log too),
  sent as a FHIR Claim, and compared with the command line on the same files.
- `Claim/$submit` (use = preauthorization) records a request and answers a pended ClaimResponse with
  the evidence gaps; a payer's ClaimResponse approves it, which puts an authorization on file.
- Scoping (another practice's request is not found), roles and audit on the new endpoints.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from painrcm.cli import app as cli_app
from painrcm.edits._examples_history import RFA_CLAIM, mbb
from painrcm.edits.examples import example_dict
from painrcm.fhir.mapping import EDIT, encounter_to_claim
from painrcm.history.auths import load_auth_log
from painrcm.model import Encounter
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.web.app import create_app
from tests.web.conftest import BASE_URL, PRACTICES, api_token, audit_rows, make_practices, make_user

CASES = sorted(
    (Path(__file__).resolve().parents[2] / ".." / "shared" / "acceptance" / "cases").glob("*.json")
)
FHIR = {"content-type": "application/fhir+json"}
runner = CliRunner()


def findings_of_outcome(outcome: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    out = []
    for issue in outcome["issue"]:
        if issue["code"] != "business-rule":
            continue
        edit = next(c["code"] for c in issue["details"]["coding"] if c["system"] == EDIT)
        expr = issue["expression"][0]
        line = None if expr == "Claim" else int(expr.split("[")[1].rstrip("]")) + 1
        out.append((edit, issue["severity"], line))
    return sorted(out, key=str)


def not_checked_of_outcome(outcome: dict[str, Any]) -> list[str]:
    return sorted(
        next(c["code"] for c in i["details"]["coding"]) for i in outcome["issue"] if i["code"] == "incomplete"
    )


def _store_history(db: Database, engine: Any, history: list[dict[str, Any]]) -> None:
    with db.session() as s:
        for h in history:
            enc = Encounter.model_validate(h)
            services.save_encounter(s, enc, work_status="history")


def _store_auths(db: Database, path: Path, practice: str) -> None:
    log = load_auth_log(path)
    with db.session() as s:
        for a in log.all():
            s.add(
                m.Authorization(
                    practice_id=practice,
                    auth_number=a.auth_number,
                    payer_id=a.payer_id,
                    member_id=a.member_id,
                    codes=list(a.codes),
                    sessions=a.sessions,
                    start_date=a.start_date,
                    end_date=a.end_date,
                    rendering_npi=a.rendering_npi,
                    status=a.status,
                )
            )


@pytest.mark.skipif(not CASES, reason="../shared/acceptance is not beside the project")
@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_validate_answers_what_scrub_answers(case_file: Path, tmp_path: Path) -> None:
    case = json.loads(case_file.read_text(encoding="utf-8"))
    enc = case["encounter"]
    history = case.get("history") or []
    app = create_app(database_url=f"sqlite:///{tmp_path / 'ws.db'}")
    db = app.state.db
    practice = (enc.get("practice") or {}).get("id") or "P01"
    with db.session() as s:
        s.add(m.Practice(id=practice, name="Case practice", npi=(enc.get("practice") or {}).get("npi")))
    admin = make_user(db, "fhir-admin@example.test", "admin")
    _store_history(db, app.state.engine, history)
    args = ["scrub", "--json"]
    hist_dir = tmp_path / "history"
    hist_dir.mkdir()
    for i, h in enumerate(history):
        (hist_dir / f"{i}.json").write_text(json.dumps(h), encoding="utf-8")
    args += ["--history", str(hist_dir)]  # the workspace is always a history source
    if "auths" in case:
        auth_file = tmp_path / "auths.json"
        auth_file.write_text(json.dumps(case["auths"]), encoding="utf-8")
        _store_auths(db, auth_file, practice)
        args += ["--auths", str(auth_file)]
    enc_file = tmp_path / "claim.json"
    enc_file.write_text(json.dumps(enc), encoding="utf-8")
    cli = runner.invoke(cli_app, [*args, str(enc_file)])
    assert cli.exit_code in (0, 1), cli.output
    expected = json.loads(cli.stdout)["claims"][0]
    claim = encounter_to_claim(Encounter.model_validate(enc))
    if "lines" not in enc:  # a note without lines is coded first, on both sides
        claim.pop("item", None)
    with TestClient(app, base_url=BASE_URL) as c:
        token = api_token(db, admin)
        r = c.post(
            f"/fhir/Claim/$validate?practice={practice}",
            json=claim,
            headers={**FHIR, "authorization": f"Bearer {token}"},
        )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    outcome = r.json()
    want = sorted(((f["edit"], f["severity"], f["line"]) for f in expected["findings"]), key=str)
    assert findings_of_outcome(outcome) == want
    if "auths" in case or not any(n["edit"].startswith("AUT") for n in expected["not_checked"]):
        assert not_checked_of_outcome(outcome) == sorted(n["edit"] for n in expected["not_checked"])


# --- the prior-authorization workflow -----------------------------------------------------------
def rfa_request(eid: str = "PA-REQ-1", days_ahead: int = 10, practice: str = "P01") -> dict[str, Any]:
    d = example_dict({**RFA_CLAIM, "documentation": {"conservative_care_weeks": 12}})
    d.pop("lines")
    d["encounter_id"] = eid
    d["practice"] = dict(PRACTICES[practice])
    d["payer"] = {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"}
    d["patient"] = {
        "id": "C-77",
        "member_id": "ACM998877",
        "last_name": "Quill",
        "first_name": "Ada",
        "dob": "1961-05-05",
        "sex": "F",
    }
    d["date_of_service"] = (services.today() + timedelta(days=days_ahead)).isoformat()
    return d


def pas_bundle(enc_doc: dict[str, Any]) -> dict[str, Any]:
    claim = encounter_to_claim(Encounter.model_validate(enc_doc), use="preauthorization")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:claim-1", "resource": claim}],
    }


def payer_answer(
    request_id: str, action: str, number: str | None = None, sessions: int | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "itemSequence": 1,
        "adjudication": [{"category": {"coding": [{"code": "submitted"}]}}],
    }
    if sessions is not None:
        item["extension"] = [
            {
                "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemAuthorizedDetail",
                "extension": [{"url": "quantity", "valueQuantity": {"value": sessions}}],
            }
        ]
    resp: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]
        },
        "use": "preauthorization",
        "patient": {"display": "the patient"},
        "created": "2026-11-30",
        "insurer": {"display": "ACME"},
        "request": {"identifier": {"value": request_id}},
        "outcome": "complete" if action != "A4" else "queued",
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction",
                "extension": [{"url": "code", "valueCodeableConcept": {"coding": [{"code": action}]}}],
            }
        ],
        "item": [item],
    }
    if number:
        resp["preAuthRef"] = number
        start = services.today()
        resp["preAuthPeriod"] = {"start": start.isoformat(), "end": (start + timedelta(days=60)).isoformat()}
    return resp


@pytest.fixture
def ws(tmp_path: Path) -> Callable[[], tuple[FastAPI, dict[str, str]]]:
    def make(url: str | None = None) -> tuple[FastAPI, dict[str, str]]:
        app = create_app(database_url=url or f"sqlite:///{tmp_path / 'auth.db'}")
        db = app.state.db
        make_practices(db)
        tokens = {
            "admin": api_token(db, make_user(db, "a@example.test", "admin")),
            "biller": api_token(db, make_user(db, "b@example.test", "biller", ["P01"])),
            "biller2": api_token(db, make_user(db, "c@example.test", "biller", ["P02"])),
        }
        return app, tokens

    return make  # type: ignore[return-value]


def _h(token: str) -> dict[str, str]:
    return {**FHIR, "authorization": f"Bearer {token}"}


def run_workflow(app: FastAPI, tokens: dict[str, str]) -> None:
    db = app.state.db
    # two blocks, one too weak for the commercial 50%: the request is pended for the missing block
    with db.session() as s:
        for b in (mbb("B-1", "2026-01-05", 85), mbb("B-2", "2026-01-26", 30)):
            doc = example_dict(b)
            doc["practice"] = dict(PRACTICES["P02"])  # done at another practice: history spans practices
            doc["patient"] = rfa_request()["patient"]
            doc["payer"] = rfa_request()["payer"]
            services.save_encounter(s, Encounter.model_validate(doc), work_status="history")
    with TestClient(app, base_url=BASE_URL) as c:
        r = c.post("/fhir/Claim/$submit", json=pas_bundle(rfa_request()), headers=_h(tokens["biller"]))
        assert r.status_code == 201, r.text
        cr = r.json()
        assert (
            cr["resourceType"] == "ClaimResponse"
            and cr["outcome"] == "queued"
            and cr["use"] == "preauthorization"
        )
        notes = " ".join(n["text"] for n in cr["processNote"])
        assert "Qualifying diagnostic blocks" in notes and "NEC001" not in notes or "blocks" in notes
        lst = c.get("/api/auth-requests", headers=_h(tokens["biller"])).json()
        (row,) = lst["requests"]
        assert row["state"] == "pended" and row["ready"] is False
        assert any("no approved authorization" in a for a in row["alerts"])
        # another practice's biller cannot see it, nor answer it
        assert c.get("/api/auth-requests", headers=_h(tokens["biller2"])).json()["requests"] == []
        assert c.get(f"/api/auth-requests/{row['id']}", headers=_h(tokens["biller2"])).status_code == 404
        denied = c.post(
            "/fhir/ClaimResponse",
            json=payer_answer("PA-REQ-1", "A1", "CERT-1"),
            headers=_h(tokens["biller2"]),
        )
        assert denied.status_code == 404
        # the second block is documented again (a new block with 90%): resubmitting refreshes the evidence
        with db.session() as s:
            doc = example_dict(mbb("B-3", "2026-02-20", 90))
            doc["practice"] = dict(PRACTICES["P01"])
            doc["patient"] = rfa_request()["patient"]
            doc["payer"] = rfa_request()["payer"]
            services.save_encounter(s, Encounter.model_validate(doc), work_status="history")
        r = c.post("/fhir/Claim/$submit", json=pas_bundle(rfa_request()), headers=_h(tokens["biller"]))
        assert r.status_code == 200 and "processNote" not in r.json()
        assert (
            c.get("/api/auth-requests", headers=_h(tokens["biller"])).json()["requests"][0]["state"]
            == "requested"
        )
        # the payer approves 2 sessions: an authorization on file, the request approved, no alert
        r = c.post(
            "/fhir/ClaimResponse",
            json=payer_answer("PA-REQ-1", "A1", "CERT-1", sessions=2),
            headers=_h(tokens["biller"]),
        )
        assert r.status_code == 200, r.text
        (row,) = c.get("/api/auth-requests", headers=_h(tokens["biller"])).json()["requests"]
        assert row["state"] == "approved" and row["auth_number"] == "CERT-1" and row["sessions"] == 2
        assert row["alerts"] == [] and row["sessions_used"] == 0
        tracker = c.get("/api/authorizations", headers=_h(tokens["biller"])).json()["authorizations"]
        assert [(a["auth_number"], a["codes"]) for a in tracker] == [("CERT-1", ["64635", "64636"])]
    with db.session() as s:
        actions = {
            (a.action, a.object_type)
            for a in s.query(m.AuditEntry).filter(m.AuditEntry.object_type.like("auth_request%"))
        }
    assert {("create", "auth_request"), ("update", "auth_request"), ("read", "auth_request_list")} <= actions


def test_prior_authorization_from_request_to_approval_on_sqlite(ws: Any) -> None:
    run_workflow(*ws())


def test_prior_authorization_from_request_to_approval_on_postgresql(ws: Any, pg_database_url: Any) -> None:
    app, tokens = ws(pg_database_url())
    try:
        run_workflow(app, tokens)
    finally:
        app.state.db.engine.dispose()


def test_an_approval_that_ends_before_the_service_is_expired_with_an_alert(ws: Any) -> None:
    app, tokens = ws()
    with TestClient(app, base_url=BASE_URL) as c:
        req = rfa_request("PA-REQ-2", days_ahead=90)
        assert c.post("/api/auth-requests", json=req, headers=_h(tokens["biller"])).status_code == 201
        r = c.post(
            "/fhir/ClaimResponse", json=payer_answer("PA-REQ-2", "A1", "CERT-2"), headers=_h(tokens["biller"])
        )
        assert r.status_code == 200
        (row,) = c.get("/api/auth-requests", headers=_h(tokens["biller"])).json()["requests"]
    assert row["state"] == "expired"
    assert any("before the service" in a for a in row["alerts"])


def test_denied_and_pended_answers_and_bad_answers(ws: Any) -> None:
    app, tokens = ws()
    with TestClient(app, base_url=BASE_URL) as c:
        c.post("/api/auth-requests", json=rfa_request("PA-REQ-3"), headers=_h(tokens["biller"]))
        assert (
            c.post(
                "/fhir/ClaimResponse", json=payer_answer("PA-REQ-3", "A4"), headers=_h(tokens["biller"])
            ).status_code
            == 200
        )
        assert (
            c.get("/api/auth-requests?state=pended", headers=_h(tokens["biller"])).json()["counts"]["pended"]
            == 1
        )
        # an approval without a certification number is refused with a located OperationOutcome
        r = c.post("/fhir/ClaimResponse", json=payer_answer("PA-REQ-3", "A1"), headers=_h(tokens["biller"]))
        assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["ClaimResponse.preAuthRef"]
        assert (
            c.post(
                "/fhir/ClaimResponse", json=payer_answer("PA-REQ-3", "A3"), headers=_h(tokens["biller"])
            ).status_code
            == 200
        )
        (row,) = c.get("/api/auth-requests", headers=_h(tokens["biller"])).json()["requests"]
        assert row["state"] == "denied"
        # an unknown request is not found
        assert (
            c.post(
                "/fhir/ClaimResponse", json=payer_answer("NOPE", "A3"), headers=_h(tokens["biller"])
            ).status_code
            == 404
        )


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda c: c.pop("patient"), "Claim.patient"),
        (lambda c: c.update(use="claim"), "Claim.use"),
        (lambda c: c.update(status="finished"), "Claim.status"),
        (
            lambda c: c["insurance"][0].update(coverage={"reference": "#nowhere"}),
            "Claim.insurance[0].coverage",
        ),
        (
            lambda c: c["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0].update(
                system="http://snomed.info/sct"
            ),
            "Claim.diagnosis[0].diagnosisCodeableConcept",
        ),
    ],
)
def test_bad_claims_get_a_located_operation_outcome(ws: Any, mutate: Any, where: str) -> None:
    app, tokens = ws()
    bundle = pas_bundle(rfa_request())
    claim = bundle["entry"][0]["resource"]
    mutate(claim)
    with TestClient(app, base_url=BASE_URL) as c:
        r = c.post("/fhir/Claim/$submit", json=bundle, headers=_h(tokens["biller"]))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    expr = body["issue"][0]["expression"][0]
    # located in the Claim, or in the Bundle entry that holds it (both are FHIRPaths to the element)
    assert expr.startswith((where, "Bundle.entry[0].resource" + where[len("Claim") :]))


def test_fhir_needs_a_sign_in_and_scopes_validate(ws: Any) -> None:
    app, tokens = ws()
    claim = encounter_to_claim(Encounter.model_validate(example_dict(copy.deepcopy(RFA_CLAIM))))
    with TestClient(app, base_url=BASE_URL) as c:
        assert c.post("/fhir/Claim/$validate", json=claim, headers=FHIR).status_code == 401
        # the claim names practice P01: a biller of P02 gets not found
        r = c.post("/fhir/Claim/$validate?practice=P01", json=claim, headers=_h(tokens["biller2"]))
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
        r = c.post("/fhir/Claim/$validate?practice=P01", json=claim, headers=_h(tokens["biller"]))
        assert r.status_code == 200
    assert audit_rows(app.state.db, action="validate")


def test_requests_page_shows_gaps_and_records_an_answer(ws: Any) -> None:
    from tests.web.conftest import login

    app, tokens = ws()
    with TestClient(app, base_url=BASE_URL) as c:
        assert (
            c.post(
                "/api/auth-requests", json=rfa_request("PA-REQ-9"), headers=_h(tokens["biller"])
            ).status_code
            == 201
        )
        csrf = login(c, "b@example.test")
        page = c.get("/auth-requests")
        assert page.status_code == 200
        assert "PA-REQ-9" in page.text and "Qualifying diagnostic blocks" in page.text
        assert "has no approved authorization" in page.text
        rid = c.get("/api/auth-requests").json()["requests"][0]["id"]
        # no number on an approval: the page says why, nothing changes
        bad = c.post(f"/auth-requests/{rid}/decision", data={"status": "approved", "csrf_token": csrf})
        assert bad.status_code == 400 and "authorization (certification) number" in bad.text
        ok = c.post(
            f"/auth-requests/{rid}/decision",
            data={"status": "approved", "auth_number": "CERT-9", "sessions": "1", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert ok.status_code == 303
        (row,) = c.get("/api/auth-requests").json()["requests"]
    assert row["state"] == "approved" and row["auth_number"] == "CERT-9" and row["sessions"] == 1
