"""Working a claim from upload to paid (issue 9), through the API, on SQLite and PostgreSQL:
versions, one truth for counts after overrides, authorization usage at claim level, edits, submit,
corrections after a denial with CLM05-3 / REF*F8, the production refusal and the audit trail."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from painrcm.edits.examples import example_dict
from painrcm.store import models as m
from painrcm.store.imports import import_bytes
from painrcm.web.app import create_app
from tests.store.synth import Clp, SvcLine, write_835
from tests.web.conftest import BASE_URL, _example, api_token, make_practices, make_user, seed_encounter


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loop_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('loopdb') / 'painrcm.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")()
    app = create_app(database_url=url)
    make_practices(app.state.db)
    yield app
    app.state.db.engine.dispose()


@pytest.fixture(scope="module")
def tokens(loop_app: FastAPI) -> dict[str, str]:
    db = loop_app.state.db
    biller = make_user(db, "loop-biller@example.test", "biller", ["P01"], "Lou Biller")
    admin = make_user(db, "loop-admin@example.test", "admin", [], "Ada Loop")
    return {"biller": api_token(db, biller), "admin": api_token(db, admin)}


@pytest.fixture
def api(loop_app: FastAPI, tokens: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    opened: list[TestClient] = []

    def make(role: str = "biller") -> TestClient:
        c = TestClient(loop_app, base_url=BASE_URL, headers={"Authorization": f"Bearer {tokens[role]}"})
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


def claim_doc(key: str, edit: str | None = None, charges: list[float] | None = None) -> dict[str, Any]:
    n = len(example_dict(_example(edit))["lines"])
    enc = seed_encounter(key, "P01", edit, charges or [500.0 + 10 * i for i in range(n)], 20)
    return enc.model_dump(mode="json", by_alias=True, exclude_none=True)


def create(c: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    r = c.post("/api/claims", json=doc)
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def trail(c: TestClient, cid: int) -> list[dict[str, Any]]:
    r = c.get(f"/api/claims/{cid}/audit")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


# --- versions ------------------------------------------------------------------------------------
def test_reupload_is_a_version_with_its_diff_and_identical_changes_nothing(api: Any) -> None:
    c = api()
    doc = claim_doc("v1")
    first = create(c, doc)
    changed = copy.deepcopy(doc)
    changed["date_of_service"] = "2026-01-05"
    changed["lines"][0]["charge"] = 780.0
    create(c, changed)
    create(c, changed)  # the same again: nothing new
    vs = c.get(f"/api/claims/{first['id']}/versions").json()
    assert [v["kind"] for v in vs] == ["upload", "reupload"]
    fields = {d["field"] for d in vs[1]["diff"]}
    assert {"date_of_service", "line 1 charge"} <= fields
    diff = c.get(f"/api/claims/{first['id']}/versions/compare", params={"a": 1, "b": 2}).json()
    assert any(d["field"] == "line 1 charge" and d["after"] == 780.0 for d in diff)
    assert c.get(f"/api/claims/{first['id']}/versions/compare", params={"a": 1, "b": 9}).status_code == 422


# --- one truth for counts ------------------------------------------------------------------------
def _numbers(d: dict[str, Any]) -> tuple[int, int]:
    return d["claims_by_status"]["error"], d["dollars_at_risk"]["claims_with_errors"]


def test_an_overridden_claim_leaves_every_error_count_and_loses_its_red_badge(api: Any) -> None:
    c = api()
    claim = create(c, claim_doc("ovr", "ADD001", [300.0]))
    assert claim["status"] == "error"
    before = _numbers(c.get("/api/dashboard").json())
    assert before[0] == before[1]
    errors = [f for f in claim["latest_run"]["findings"] if f["severity"] == "error"]
    assert errors
    for f in errors:
        r = c.post(f"/api/findings/{f['id']}/override", json={"reason": "documented in the op note"})
        assert r.status_code == 200, r.text
    after = c.get(f"/api/claims/{claim['id']}").json()
    assert after["status"] != "error" and after["work_status"] == "overridden"
    dash = c.get("/api/dashboard").json()
    assert _numbers(dash) == (before[0] - 1, before[1] - 1)
    p01 = next(p for p in dash["practices"] if p["id"] == "P01")
    assert p01["dollars_at_risk"]["claims_with_errors"] == dash["claims_by_status"]["error"]
    queue = c.get("/api/claims", params={"status": "error", "per_page": 200}).json()
    assert claim["id"] not in [it["id"] for it in queue["items"]]
    assert queue["total"] == dash["claims_by_status"]["error"]
    overrides = [e for e in trail(c, claim["id"]) if e["action"] == "override"]
    assert overrides and overrides[0]["detail"]["reason"] == "documented in the op note"
    assert overrides[-1]["detail"]["before"]["status"] == "error"


# --- authorization usage -------------------------------------------------------------------------
def test_claim_level_authorization_counts_as_a_used_session(api: Any, loop_app: FastAPI) -> None:
    c = api()
    doc = claim_doc("auth1")
    doc["authorization_number"] = "AUTH-CL-1"
    for ln in doc["lines"]:
        ln.pop("authorization_number", None)
    claim = create(c, doc)
    with loop_app.state.db.session() as s:
        person = s.get(m.Person, claim["patient"]["person_id"])
        assert person is not None
        s.add(
            m.Authorization(
                practice_id="P01",
                person_id=person.id,
                auth_number="AUTH-CL-1",
                payer_id=doc["payer"]["id"],
                member_id=person.member_id or "",
                codes=[doc["lines"][0]["code"]],
                sessions=3,
                start_date=date(2020, 1, 1),
                end_date=date(2099, 12, 31),
                status="approved",
            )
        )
    rows = c.get("/api/authorizations").json()["authorizations"]
    row = next(r for r in rows if r["auth_number"] == "AUTH-CL-1")
    assert (row["used"], row["left"]) == (1, 2)
    assert [x["encounter_id"] for x in row["claims"]] == [doc["encounter_id"]]
    assert row["claims"][0]["level"] == "claim"
    page = c.get(f"/api/claims/{claim['id']}").json()
    on_file = page["authorizations"]["on_file"]
    assert [(a["auth_number"], a["used"], a["left"]) for a in on_file] == [("AUTH-CL-1", 1, 2)]
    assert on_file[0]["lines"] == list(range(1, len(doc["lines"]) + 1))


# --- edits ---------------------------------------------------------------------------------------
def test_edit_needs_a_reason_rescrubs_and_records_before_and_after(api: Any) -> None:
    c = api()
    claim = create(c, claim_doc("edit1", "BUN001"))
    cid = claim["id"]
    runs_before = len(claim["runs"])
    assert c.patch(f"/api/claims/{cid}", json={"reason": " ", "place_of_service": "22"}).status_code == 422
    assert c.patch(f"/api/claims/{cid}", json={"reason": "x", "colour": "red"}).status_code == 422
    lines = [dict(ln) for ln in claim["lines"]][:1]
    lines[0]["units"] = 2
    r = c.patch(
        f"/api/claims/{cid}",
        json={"reason": "77003 is bundled; 2 levels", "lines": lines, "authorization_number": "A-77"},
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert [ln["code"] for ln in after["lines"]] == [lines[0]["code"]] and after["lines"][0]["units"] == 2
    assert len(after["runs"]) == runs_before + 1  # re-scrubbed
    assert after["claim_authorization"] == "A-77"
    edit = [e for e in trail(c, cid) if e["action"] == "edit"][-1]
    assert edit["detail"]["reason"] == "77003 is bundled; 2 levels"
    assert len(edit["detail"]["before"]) == 2 and len(edit["detail"]["after"]) == 1
    assert any("line 2 removed" in ch for ch in edit["changes"])
    assert c.patch(f"/api/claims/{cid}", json={"reason": "again", "lines": after["lines"]}).status_code == 409
    assert c.patch(f"/api/claims/{cid}", json={"reason": "bad", "lines": [{"units": 1}]}).status_code == 422
    bad = c.patch(f"/api/claims/{cid}", json={"reason": "bad", "lines": [{"code": "64483", "units": "two"}]})
    assert bad.status_code == 422 and "units" in bad.json()["detail"]


# --- the loop: submit, denial, correction, corrected 837P ------------------------------------------
def test_denied_claim_is_corrected_and_exported_with_frequency_7_and_ref_f8(
    api: Any, loop_app: FastAPI
) -> None:
    c = api()
    doc = claim_doc("loop1", "POS001", [500.0, 40.0])
    claim = create(c, doc)
    cid, eid = claim["id"], doc["encounter_id"]
    r = c.post(f"/api/claims/{cid}/submit", json={})
    assert r.status_code == 200, r.text
    assert r.json()["work_status"] == "submitted"
    assert c.post(f"/api/claims/{cid}/submit", json={}).status_code == 409
    # the payer pays line 1 and denies line 2
    l1, l2 = claim["lines"]
    era = write_835(
        [
            Clp(
                eid,
                [
                    SvcLine(l1["code"], l1["charge"], 400, [("CO", "45", 100)], l1["modifiers"]),
                    SvcLine(l2["code"], l2["charge"], 0, [("CO", "97", l2["charge"])], l2["modifiers"]),
                ],
            )
        ],
        trace=f"TRN-{eid}",
    )
    with loop_app.state.db.session() as s:
        import_bytes(
            s,
            loop_app.state.engine,
            kind="x12_835",
            data=era.encode(),
            file_name="era.835",
            practice_id="P01",
            user_id=None,
        )
    page = c.get(f"/api/claims/{cid}").json()
    (remit,) = page["remittances"]
    assert remit["payer_claim_number"] == f"PCN-{eid}"
    denied = [ln for ln in remit["lines"] if ln["denied"]]
    assert [ln["code"] for ln in denied] == [l2["code"]]
    assert denied[0]["adjustments"][0]["reason"] == "97" and denied[0]["adjustments"][0]["text"]
    # editing a submitted claim needs a correction first
    assert c.patch(f"/api/claims/{cid}", json={"reason": "x", "lines": [l1]}).status_code == 409
    assert c.post(f"/api/claims/{cid}/correct", json={"reason": ""}).status_code == 422
    r = c.post(
        f"/api/claims/{cid}/correct",
        json={"reason": "drop the bundled line", "frequency": "7", "remit_line_id": denied[0]["id"]},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["frequency_code"], r.json()["payer_claim_number"]) == ("7", f"PCN-{eid}")
    r = c.patch(f"/api/claims/{cid}", json={"reason": "remove the denied line", "lines": [l1]})
    assert r.status_code == 200, r.text
    assert r.json()["frequency_code"] == "7"  # the correction carries through the edit
    # findings left (a warning) do not stop the submission
    assert c.post(f"/api/claims/{cid}/submit", json={"note": "corrected claim"}).status_code == 200
    text = c.get(f"/api/claims/{cid}/837").text
    segs = [s.strip() for s in text.split("~") if s.strip()]
    clm = next(s for s in segs if s.startswith("CLM*"))
    assert clm.split("*")[5].endswith(":B:7")
    assert f"REF*F8*PCN-{eid}" in segs
    assert sum(1 for s in segs if s.startswith("SV1*")) == 1
    prod = c.get(f"/api/claims/{cid}/837", params={"production": "true"})
    assert prod.status_code == 422 and "address" in prod.json()["detail"]
    with loop_app.state.db.session() as s:
        rl = s.get(m.RemitLine, denied[0]["id"])
        assert rl is not None and rl.work_status == "resubmitted"
    actions = [e["action"] for e in trail(c, cid)]
    for a in ("create", "submit", "correct", "edit", "export"):
        assert a in actions, a
    export = next(e for e in trail(c, cid) if e["action"] == "export")
    assert export["detail"]["frequency_code"] == "7"


def test_another_practice_cannot_touch_the_claim(api: Any, loop_app: FastAPI) -> None:
    c = api("admin")
    doc = claim_doc("p02")
    doc["practice"] = {**doc["practice"], "id": "P02", "npi": "1538264098", "name": "Desert"}
    claim = create(c, doc)
    biller = api("biller")
    assert (
        biller.patch(f"/api/claims/{claim['id']}", json={"reason": "x", "place_of_service": "22"}).status_code
        == 404
    )
    assert biller.get(f"/api/claims/{claim['id']}/versions").status_code == 404
    assert biller.get(f"/api/claims/{claim['id']}/837").status_code == 404


# --- remittances on the claim: expected amounts and underpayments ------------------------------------
def _pay(loop_app: FastAPI, eid: str, lines: list[dict[str, Any]], paid: list[float], trace: str) -> None:
    svc = [
        SvcLine(ln["code"], ln["charge"], p, [("CO", "45", ln["charge"] - p)], ln["modifiers"])
        for ln, p in zip(lines, paid, strict=True)
    ]
    with loop_app.state.db.session() as s:
        import_bytes(
            s,
            loop_app.state.engine,
            kind="x12_835",
            data=write_835([Clp(eid, svc)], trace=trace).encode(),
            file_name=f"{trace}.835",
            practice_id="P01",
            user_id=None,
        )


def test_medicare_line_is_compared_with_the_national_amount(api: Any, loop_app: FastAPI) -> None:
    c = api()
    doc = claim_doc("nat1", None, [650.0])
    assert doc["payer"]["plan"] == "medicare" and doc["place_of_service"] == "11"
    claim = create(c, doc)
    _pay(loop_app, doc["encounter_id"], claim["lines"], [100.0], "TRN-NAT1")
    (line,) = c.get(f"/api/claims/{claim['id']}").json()["remittances"][0]["lines"]
    exp = line["expected"]
    # 64483 non-facility total RVU 7.40 x 33.2875 (RVU24C)
    assert exp["amount"] == 246.33 and "national" in exp["basis"] and "non-facility" in exp["basis"]
    assert exp["underpaid"] and exp["shortfall"] == 146.33
    assert line["next_action_text"] == "appeal the underpayment"


def test_uploaded_fee_schedule_wins_and_a_bad_file_is_refused(api: Any, loop_app: FastAPI) -> None:
    c = api()
    doc = claim_doc("fee1", None, [650.0])
    doc["payer"] = {"id": "ACME-FEE", "plan": "commercial"}
    claim = create(c, doc)
    bad = c.post(
        "/api/fee-schedules",
        data={"practice_id": "P01", "payer_id": "ACME-FEE"},
        files={"file": ("fees.csv", b"code,price\n64483,1\n", "text/csv")},
    )
    assert bad.status_code == 422 and "fees.csv" in bad.json()["detail"]
    csv = b"code,modifier,facility_rate,nonfacility_rate\n64483,,150.00,300.00\n"
    r = c.post(
        "/api/fee-schedules",
        data={"practice_id": "P01", "payer_id": "ACME-FEE"},
        files={"file": ("fees.csv", csv, "text/csv")},
    )
    assert r.status_code == 201 and r.json()["rows"] == 1
    other = c.post(
        "/api/fee-schedules",
        data={"practice_id": "P02", "payer_id": "ACME-FEE"},
        files={"file": ("fees.csv", csv, "text/csv")},
    )
    assert other.status_code == 404  # the biller does not work P02
    _pay(loop_app, doc["encounter_id"], claim["lines"], [300.0], "TRN-FEE1")
    (line,) = c.get(f"/api/claims/{claim['id']}").json()["remittances"][0]["lines"]
    assert line["expected"]["amount"] == 300.0 and "uploaded" in line["expected"]["basis"]
    assert not line["expected"]["underpaid"] and line["next_action_text"] != "appeal the underpayment"


# --- the audit log for an administrator ----------------------------------------------------------------
def test_admin_filters_the_audit_log_by_user_and_action(api: Any, tokens: dict[str, str]) -> None:
    c = api()
    claim = create(c, claim_doc("aud1", "ADD001", [300.0]))
    f = next(f for f in claim["latest_run"]["findings"] if f["severity"] == "error")
    assert c.post(f"/api/findings/{f['id']}/override", json={"reason": "payer waived it"}).status_code == 200
    c.get(f"/api/claims/{claim['id']}/versions")
    assert c.get("/api/admin/audit").status_code == 403
    admin = api("admin")
    everything = admin.get("/api/admin/audit", params={"per_page": 200}).json()
    biller_id = next(u["id"] for u in everything["users"] if u["name"] == "Lou Biller")
    overrides = admin.get("/api/admin/audit", params={"user_id": biller_id, "action": "override"}).json()
    assert overrides["total"] >= 1
    assert all(e["user_id"] == biller_id and e["action"] == "override" for e in overrides["items"])
    assert any(e["reason"] == "payer waived it" for e in overrides["items"])
    reads = admin.get(
        "/api/admin/audit", params={"action": "read", "object_type": "claim", "object_id": str(claim["id"])}
    ).json()
    assert {e["detail"].get("view") for e in reads["items"]} >= {"versions"}
    assert admin.get("/api/admin/audit", params={"per_page": 0}).status_code == 422


def test_a_submitted_claim_is_voided_with_frequency_8(api: Any, loop_app: FastAPI) -> None:
    c = api()
    doc = claim_doc("void1", None, [650.0])
    claim = create(c, doc)
    cid, eid = claim["id"], doc["encounter_id"]
    # not submitted: nothing to void
    assert c.post(f"/api/claims/{cid}/correct", json={"reason": "x", "frequency": "8"}).status_code == 409
    assert c.post(f"/api/claims/{cid}/submit", json={}).status_code == 200
    _pay(loop_app, eid, claim["lines"], [200.0], "TRN-VOID1")
    r = c.post(f"/api/claims/{cid}/correct", json={"reason": "billed to the wrong payer", "frequency": "8"})
    assert r.status_code == 200 and r.json()["frequency_code"] == "8"
    assert r.json()["versions"][-1]["kind"] == "void"
    segs = [s.strip() for s in c.get(f"/api/claims/{cid}/837").text.split("~") if s.strip()]
    assert next(s for s in segs if s.startswith("CLM*")).split("*")[5].endswith(":B:8")
    assert f"REF*F8*PCN-{eid}" in segs
    assert any(
        e["action"] == "void" and e["detail"]["reason"] == "billed to the wrong payer" for e in trail(c, cid)
    )
