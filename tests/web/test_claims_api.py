"""Claims API: dashboard numbers on a known book, the work queue's filters/sorting/paging, the claim
JSON, safe fixes, re-scrub, overrides with a reason, the audit trail, creating a claim, and scoping
(another practice's claim answers 404 everywhere)."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from painrcm.edits import CATALOGUE
from painrcm.store import models as m
from painrcm.store import queries_claims as q
from painrcm.web.app import create_app
from tests.web.conftest import (
    BASE_URL,
    USERS,
    api_token,
    audit_rows,
    login,
    make_practices,
    make_user,
    seed_claim,
    seed_claims,
    seed_denials,
    seed_encounter,
)

BOOK = {
    "claims": 7,
    "scrubbed": 6,
    "clean": 3,
    "clean_claim_rate": 0.5,
    "claims_by_status": {"error": 3, "warning": 1, "clean": 2, "unscrubbed": 1},
    "dollars_at_risk": {
        "total": 3570.0,
        "claims_with_errors": 3,
        "claims_amount": 1920.0,
        "open_denied_lines": 3,
        "denials_amount": 1650.0,
    },
}
P01 = {
    "claims": 5,
    "scrubbed": 4,
    "clean": 2,
    "clean_claim_rate": 0.5,
    "claims_by_status": {"error": 2, "warning": 1, "clean": 1, "unscrubbed": 1},
    "dollars_at_risk": {
        "total": 2320.0,
        "claims_with_errors": 2,
        "claims_amount": 1070.0,
        "open_denied_lines": 2,
        "denials_amount": 1250.0,
    },
}
BOOK_REASONS = [("16", 2, 1150.0), ("50", 1, 400.0), ("97", 1, 120.0), ("45", 1, 100.0)]


def _numbers(d: dict) -> dict:
    return {k: d[k] for k in BOOK}


def _ids(page: dict) -> list[str]:
    return [it["encounter_id"] for it in page["items"]]


# --- dashboard ---------------------------------------------------------------------------------
def test_dashboard_whole_book_numbers(seeded, signed_in):
    c, _ = signed_in("admin")
    d = c.get("/api/dashboard").json()
    assert _numbers(d) == BOOK
    assert [(r["reason_code"], r["lines"], r["amount"]) for r in d["denials_by_reason"]] == BOOK_REASONS
    assert all(r["label"] and not r["label"].startswith("CARC") for r in d["denials_by_reason"])
    edits = {r["edit"]: (r["errors"], r["warnings"], r["claims"]) for r in d["findings_by_edit"]}
    assert edits == {"BUN001": (2, 0, 2), "ADD001": (1, 0, 1), "POS001": (0, 1, 1)}
    assert {p["id"]: p["dollars_at_risk"]["total"] for p in d["practices"]} == {"P01": 2320.0, "P02": 1250.0}


def test_dashboard_per_practice_and_scope(seeded, signed_in):
    sup, _ = signed_in("supervisor")
    assert _numbers(sup.get("/api/dashboard", params={"practice": "P01"}).json()) == P01
    p02 = sup.get("/api/dashboard", params={"practice": "P02"}).json()
    assert p02["clean_claim_rate"] == 0.5 and p02["dollars_at_risk"]["total"] == 1250.0
    biller, _ = signed_in("biller")
    mine = biller.get("/api/dashboard").json()
    assert _numbers(mine) == P01  # the whole book, as far as a P01 biller can see
    assert [p["id"] for p in mine["practices"]] == ["P01"]
    assert [r["reason_code"] for r in mine["denials_by_reason"]] == ["16", "97", "45"]
    assert biller.get("/api/dashboard", params={"practice": "P02"}).status_code == 404
    assert biller.get("/api/dashboard", params={"practice": "NOPE"}).status_code == 404


def test_dashboard_needs_sign_in(client, seeded):
    assert client.get("/api/dashboard").status_code == 401


# --- the work queue ----------------------------------------------------------------------------
def test_queue_defaults_to_errors_and_warnings_oldest_first(seeded, signed_in):
    c, _ = signed_in("admin")
    page = c.get("/api/claims").json()
    assert _ids(page) == ["SEED-p02_error", "SEED-p01_warning", "SEED-p01_nofix", "SEED-p01_fixable"]
    assert page["total"] == 4 and page["page"] == 1 and page["pages"] == 1
    item = page["items"][0]
    assert set(item) == {
        "id",
        "encounter_id",
        "practice_id",
        "payer_id",
        "date_of_service",
        "age_days",
        "total_charge",
        "status",
        "work_status",
        "errors",
        "warnings",
        "overridden",
        "edits",
        "ack_status",
        "ack_reason",
    }
    assert (item["age_days"], item["total_charge"], item["edits"], item["errors"]) == (
        200,
        850.0,
        ["BUN001"],
        1,
    )
    assert "patient" not in json.dumps(page)


def test_queue_filters(seeded, signed_in):
    c, _ = signed_in("admin")

    def ids(**params: str) -> list[str]:
        r = c.get("/api/claims", params={"sort": "dos", "order": "asc", **params})
        assert r.status_code == 200, r.text
        return _ids(r.json())

    assert ids(status="any") == [
        "SEED-p02_error",
        "SEED-p01_warning",
        "SEED-p01_nofix",
        "SEED-p01_fixable",
        "SEED-p02_clean",
        "SEED-p01_clean",
        "SEED-p01_unscrubbed",
    ]  # never history
    assert ids(practice="P02", status="any") == ["SEED-p02_error", "SEED-p02_clean"]
    assert ids(status="error") == ["SEED-p02_error", "SEED-p01_nofix", "SEED-p01_fixable"]
    assert ids(status="warning") == ["SEED-p01_warning"]
    assert ids(status="unscrubbed") == ["SEED-p01_unscrubbed"]
    assert ids(edit="bun001") == ["SEED-p02_error", "SEED-p01_fixable"]
    assert ids(edit="ADD001", practice="P01") == ["SEED-p01_nofix"]
    assert ids(payer="MEDICARE", age="61-90") == ["SEED-p01_nofix"]
    assert ids(age="0-30", status="any") == ["SEED-p02_clean", "SEED-p01_clean", "SEED-p01_unscrubbed"]
    assert ids(age="181+") == ["SEED-p02_error"]
    assert ids(payer="NO-SUCH-PAYER", status="any") == []
    assert ids(work_status="fixed", status="any") == []


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"age": "7"},
        {"sort": "name"},
        {"order": "up"},
        {"per_page": "0"},
        {"per_page": "999"},
        {"page": "0"},
    ],
)
def test_queue_rejects_bad_filters(seeded, signed_in, params):
    c, _ = signed_in("admin")
    assert c.get("/api/claims", params=params).status_code == 422


def test_queue_sorting_and_paging(seeded, signed_in):
    c, _ = signed_in("admin")

    def ids(**params: str) -> list[str]:
        return _ids(c.get("/api/claims", params={"status": "any", **params}).json())

    by_charge = ids(sort="charge", order="desc", practice="P01")
    assert by_charge == [
        "SEED-p01_fixable",
        "SEED-p01_clean",
        "SEED-p01_unscrubbed",
        "SEED-p01_warning",
        "SEED-p01_nofix",
    ]
    assert ids(sort="charge", order="asc", practice="P01")[0] == "SEED-p01_nofix"
    assert ids(sort="dos", order="desc")[0] == "SEED-p01_unscrubbed"
    assert ids(sort="age", order="asc")[0] == "SEED-p01_unscrubbed"
    statuses = [
        it["status"]
        for it in c.get("/api/claims", params={"status": "any", "sort": "status"}).json()["items"]
    ]
    assert statuses == ["error"] * 3 + ["warning", "unscrubbed", "clean", "clean"]
    first = c.get(
        "/api/claims", params={"status": "any", "sort": "dos", "order": "asc", "per_page": 3}
    ).json()
    third = c.get(
        "/api/claims", params={"status": "any", "sort": "dos", "order": "asc", "per_page": 3, "page": 3}
    ).json()
    assert (first["total"], first["pages"], len(first["items"])) == (7, 3, 3)
    assert _ids(third) == ["SEED-p01_unscrubbed"]


def test_queue_is_scoped_for_a_biller(seeded, signed_in):
    c, _ = signed_in("biller")
    page = c.get("/api/claims", params={"status": "any"}).json()
    assert {it["practice_id"] for it in page["items"]} == {"P01"}
    assert c.get("/api/claims", params={"practice": "P02"}).status_code == 404
    assert _ids(c.get("/api/claims", params={"edit": "BUN001"}).json()) == ["SEED-p01_fixable"]


# --- the claim ---------------------------------------------------------------------------------
def test_claim_json_shape_and_read_is_audited(seeded, signed_in, web_db, users):
    c, _ = signed_in("biller")
    cid = seeded["p01_fixable"]
    before = len(audit_rows(web_db, action="read", object_id=str(cid)))
    d = c.get(f"/api/claims/{cid}").json()
    assert {
        "id",
        "encounter_id",
        "practice_id",
        "payer_id",
        "date_of_service",
        "status",
        "work_status",
        "patient",
        "lines",
        "latest_run",
        "fixed_lines",
        "runs",
        "total_charge",
    } <= set(d)
    assert [(ln["code"], ln["charge"]) for ln in d["lines"]] == [("64483", 650.0), ("77003", 120.0)]
    run = d["latest_run"]
    assert run["status"] == "error" and run["editions"] and isinstance(run["not_checked"], list)
    (f,) = run["findings"]
    assert f["edit"] == "BUN001" and f["why"] == CATALOGUE["BUN001"].why and f["title"] and f["fix"]
    assert f["override_reason"] is None
    assert [(ln["line"], ln["code"], ln["charge"]) for ln in d["fixed_lines"]] == [(1, "64483", 650.0)]
    reads = audit_rows(web_db, action="read", object_id=str(cid))
    assert len(reads) == before + 1
    assert reads[-1].user_id == users["biller"] and reads[-1].practice_id == "P01"
    assert "Test" not in json.dumps(reads[-1].detail)  # no patient names in audit details
    nofix = c.get(f"/api/claims/{seeded['p01_nofix']}").json()
    assert nofix["fixed_lines"] is None
    assert c.get(f"/api/claims/{seeded['p01_clean']}").json()["fixed_lines"] is None


def test_another_practices_claim_is_404_everywhere(seeded, signed_in, web_db):
    c, csrf = signed_in("biller")
    h = {"X-CSRF-Token": csrf}
    other = seeded["p02_error"]
    with web_db.session() as s:
        finding = s.get(m.Encounter, other).scrub_runs[-1].findings[0].id
    assert c.get(f"/api/claims/{other}").status_code == 404
    assert c.get(f"/api/claims/{other}/audit").status_code == 404
    assert c.post(f"/api/claims/{other}/scrub", headers=h).status_code == 404
    assert c.post(f"/api/claims/{other}/fix", headers=h).status_code == 404
    assert c.post(f"/api/findings/{finding}/override", headers=h, json={"reason": "x"}).status_code == 404
    assert c.get("/api/claims/999999").status_code == 404
    assert c.get(f"/api/claims/{seeded['p01_history']}").status_code == 404  # history is not a claim
    with web_db.session() as s:
        assert s.get(m.Finding, finding).override_reason is None
        assert len(s.get(m.Encounter, other).scrub_runs) == 1


def test_fix_applies_and_rescrub_shows_the_finding_gone(web_db, scrub_engine, signed_in, users):
    cid = seed_claim(web_db, scrub_engine, "fix_api", "P01", "BUN001", [650.0, 120.0], 30)
    c, csrf = signed_in("biller")
    h = {"X-CSRF-Token": csrf}
    d = c.post(f"/api/claims/{cid}/fix", headers=h).json()
    assert [ln["code"] for ln in d["lines"]] == ["64483"]
    assert d["lines"][0]["charge"] == 650.0 and d["total_charge"] == 650.0  # charges survive the fix
    assert d["status"] in ("clean", "warning") and d["work_status"] == "fixed"
    assert "BUN001" not in {f["edit"] for f in d["latest_run"]["findings"]}
    assert len(d["runs"]) == 2 and d["fixed_lines"] is None
    (fix,) = audit_rows(web_db, action="fix", object_id=str(cid))
    assert fix.user_id == users["biller"]
    assert [ln["code"] for ln in fix.detail["before"]] == ["64483", "77003"]
    assert [ln["code"] for ln in fix.detail["after"]] == ["64483"]
    assert audit_rows(web_db, action="scrub", object_id=str(cid))
    assert c.post(f"/api/claims/{cid}/fix", headers=h).status_code == 409  # nothing left to fix


def test_fix_without_a_safe_fix_is_409(seeded, signed_in):
    c, csrf = signed_in("admin")
    r = c.post(f"/api/claims/{seeded['p01_nofix']}/fix", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 409 and "override" in r.json()["detail"]


def test_rescrub_adds_a_run(web_db, scrub_engine, signed_in):
    cid = seed_claim(web_db, scrub_engine, "rescrub_api", "P01", "ADD001", [300.0], 30)
    c, csrf = signed_in("supervisor")
    d = c.post(f"/api/claims/{cid}/scrub", headers={"X-CSRF-Token": csrf}).json()
    assert len(d["runs"]) == 2 and d["latest_run"]["findings"][0]["edit"] == "ADD001"
    (entry,) = audit_rows(web_db, action="scrub", object_id=str(cid))
    assert entry.detail["run_id"] == d["latest_run"]["id"] and entry.detail["status"] == "error"


def test_override_needs_a_reason_and_is_kept(web_db, scrub_engine, signed_in, users):
    cid = seed_claim(web_db, scrub_engine, "override_api", "P01", "ADD001", [300.0], 30)
    c, csrf = signed_in("biller")
    h = {"X-CSRF-Token": csrf}
    fid = c.get(f"/api/claims/{cid}").json()["latest_run"]["findings"][0]["id"]
    assert c.post(f"/api/findings/{fid}/override", headers=h, json={}).status_code == 422
    assert c.post(f"/api/findings/{fid}/override", headers=h, json={"reason": ""}).status_code == 422
    assert c.post(f"/api/findings/{fid}/override", headers=h, json={"reason": "   "}).status_code == 422
    assert not audit_rows(web_db, action="override", object_id=str(cid))
    d = c.post(
        f"/api/findings/{fid}/override", headers=h, json={"reason": "primary billed on the hospital claim"}
    ).json()
    f = d["latest_run"]["findings"][0]
    assert f["override_reason"] == "primary billed on the hospital claim"
    assert f["overridden_by"] == users["biller"] and f["overridden_at"]
    assert d["work_status"] == "overridden"
    (entry,) = audit_rows(web_db, action="override", object_id=str(cid))
    assert entry.detail["finding_id"] == fid and entry.detail["edit"] == "ADD001"
    assert c.post(f"/api/findings/{fid}/override", headers=h, json={"reason": "again"}).status_code == 409
    # a re-scrub keeps the biller's decision on the same finding
    again = c.post(f"/api/claims/{cid}/scrub", headers=h).json()
    assert again["latest_run"]["findings"][0]["override_reason"] == "primary billed on the hospital claim"
    assert again["work_status"] == "overridden"
    # the old run's finding can no longer be overridden
    assert c.post(f"/api/findings/{fid}/override", headers=h, json={"reason": "x"}).status_code == 409
    assert c.post("/api/findings/999999/override", headers=h, json={"reason": "x"}).status_code == 404


def test_audit_trail(web_db, scrub_engine, signed_in):
    cid = seed_claim(web_db, scrub_engine, "trail_api", "P01", "BUN001", [650.0, 120.0], 30)
    c, csrf = signed_in("biller")
    c.get(f"/api/claims/{cid}")
    c.post(f"/api/claims/{cid}/fix", headers={"X-CSRF-Token": csrf})
    trail = c.get(f"/api/claims/{cid}/audit").json()
    assert [e["action"] for e in trail] == ["read", "fix", "scrub"]
    assert all(e["user"] == USERS["biller"]["name"] and e["role"] == "biller" and e["at"] for e in trail)
    assert [ln["code"] for ln in trail[1]["detail"]["after"]] == ["64483"]
    assert audit_rows(web_db, action="read", object_id=str(cid))[-1].detail == {"view": "audit"}


def test_create_claim(web_db, signed_in):
    c, csrf = signed_in("biller")
    h = {"X-CSRF-Token": csrf}
    body = seed_encounter("created_api", "P01", "BUN001", [650.0, 120.0], 12).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    r = c.post("/api/claims", headers=h, json=body)
    assert r.status_code == 201, r.text
    d = r.json()
    assert (
        d["practice_id"] == "P01"
        and d["status"] == "error"
        and d["latest_run"]["findings"][0]["edit"] == "BUN001"
    )
    assert audit_rows(web_db, action="create", object_id=str(d["id"]))
    assert c.post("/api/claims", headers=h, json=body).status_code == 200  # the same claim again
    with web_db.session() as s:
        assert len(s.get(m.Encounter, d["id"]).scrub_runs) == 1  # unchanged: not scrubbed again
    other = copy.deepcopy(body)
    other["practice"]["id"] = "P02"
    assert c.post("/api/claims", headers=h, json=other).status_code == 404
    assert c.post("/api/claims", headers=h, json=body, params={"practice": "P02"}).status_code == 422
    bad = copy.deepcopy(body)
    bad["date_of_service"] = "yesterday"
    r = c.post("/api/claims", headers=h, json=bad)
    assert r.status_code == 422 and "$.date_of_service" in r.json()["detail"]


def test_csrf_and_tokens(seeded, signed_in, app, users, web_db):
    c, _ = signed_in("admin")
    assert c.post(f"/api/claims/{seeded['p01_nofix']}/scrub").status_code == 403
    assert (
        c.post(f"/api/claims/{seeded['p01_nofix']}/scrub", headers={"X-CSRF-Token": "wrong"}).status_code
        == 403
    )
    token = api_token(web_db, users["biller"])
    with TestClient(app, base_url=BASE_URL) as script:
        bearer = {"Authorization": f"Bearer {token}"}
        assert script.get("/api/claims", headers=bearer).status_code == 200
        assert script.get(f"/api/claims/{seeded['p02_error']}", headers=bearer).status_code == 404


# --- the same queries on PostgreSQL -----------------------------------------------------------
def test_dashboard_and_queue_on_postgresql(pg_database_url):
    app = create_app(database_url=pg_database_url())
    db, engine = app.state.db, app.state.engine
    try:
        make_practices(db)
        make_user(db, "pg-biller@example.test", "biller", ["P01"])
        admin = make_user(db, "pg-admin@example.test", "admin")
        claims = seed_claims(db, engine)
        seed_denials(db, claims)
        with db.session() as s:
            user = s.get(m.User, admin)
            d = q.dashboard(s, user)
            assert _numbers(d) == BOOK
            assert [
                (r["reason_code"], r["lines"], r["amount"]) for r in d["denials_by_reason"]
            ] == BOOK_REASONS
            page = q.claim_queue(s, user, q.parse_filters(status="any", sort="status"))
            assert [it["status"] for it in page["items"]] == ["error"] * 3 + [
                "warning",
                "unscrubbed",
                "clean",
                "clean",
            ]
            assert _ids(q.claim_queue(s, user, q.parse_filters(edit="BUN001", age="181+"))) == [
                "SEED-p02_error"
            ]
        with TestClient(app, base_url=BASE_URL) as c:
            login(c, "pg-biller@example.test")
            assert _numbers(c.get("/api/dashboard").json()) == P01
            assert c.get(f"/api/claims/{claims['p02_error']}").status_code == 404
    finally:
        db.engine.dispose()


def test_fix_keeps_remittance_links(web_db, scrub_engine, signed_in):
    """A claim whose lines an 835 already points at can still be fixed; the links follow the codes."""
    cid = seed_claim(web_db, scrub_engine, "fix_linked", "P01", "BUN001", [650.0, 120.0], 30)
    with web_db.session() as s:
        row = s.get(m.Encounter, cid)
        rline = m.RemitLine(
            practice_id="P01", code="64483", billed=650, denied=True, claim_line_id=row.lines[0].id
        )
        rem = m.Remittance(
            practice_id="P01",
            claims=[
                m.RemitClaim(
                    practice_id="P01",
                    patient_control_number="SEED-fix_linked",
                    status_code="4",
                    encounter_pk=cid,
                    lines=[
                        rline,
                        m.RemitLine(
                            practice_id="P01",
                            code="77003",
                            billed=120,
                            denied=True,
                            claim_line_id=row.lines[1].id,
                        ),
                    ],
                )
            ],
        )
        s.add(rem)
    c, csrf = signed_in("admin")
    r = c.post(f"/api/claims/{cid}/fix", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    with web_db.session() as s:
        row = s.get(m.Encounter, cid)
        remit_lines = s.scalars(
            select(m.RemitLine).join(m.RemitClaim).where(m.RemitClaim.encounter_pk == cid)
        ).all()
        links = {rl.code: rl.claim_line_id for rl in remit_lines}
        assert links == {"64483": row.lines[0].id, "77003": None}
