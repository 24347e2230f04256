"""Issue 12: search, the patient across practices, the work queues (filters, due dates, assignment,
bulk status), CSV exports and the local API docs; scoped and audited like every other read."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from painrcm.labels import limit_label, standing_state
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.web.export import to_csv
from tests.web.conftest import audit_rows, seed_claim, seed_encounter

SignedIn = Callable[[str], tuple[TestClient, str]]


@pytest.fixture(scope="module")
def book(web_db: Database, scrub_engine: Engine, seeded: dict[str, int]) -> dict[str, int]:
    """The conftest book plus: the p01_clean patient also seen at P02 (one person, two charts), a claim
    past timely filing, one due soon, and an authorization."""
    out = dict(seeded)
    enc = seed_encounter("p01_clean", "P02", None, [650.0], 30, encounter_id="SEED-p01_clean-at-P02")
    with web_db.session() as s:
        row, _ = services.save_encounter(s, enc, source="seed", practice_id="P02")
        out["p01_clean_at_p02"] = row.id
        person_id = row.person_id
    out["overdue"] = seed_claim(web_db, scrub_engine, "overdue_claim", "P01", None, [650.0], 400, True)
    out["soon"] = seed_claim(web_db, scrub_engine, "soon_claim", "P01", None, [650.0], 360, True)
    with web_db.session() as s:
        s.add(
            m.Authorization(
                practice_id="P01",
                person_id=person_id,
                auth_number="AUTH-777-XY",
                payer_id="MEDICARE",
                member_id="ZZ1",
                codes=["64483"],
                sessions=3,
                start_date=services.today() - timedelta(days=30),
                end_date=services.today() + timedelta(days=5),
                status="approved",
            )
        )
        out["person"] = person_id
        p02_only = s.scalars(select(m.Encounter.person_id).where(m.Encounter.id == seeded["p02_clean"])).one()
        out["p02_person"] = p02_only
    return out


def test_search_finds_patients_claims_and_authorizations_within_scope(
    cached_signed_in: SignedIn, book: dict[str, int]
) -> None:
    biller, _ = cached_signed_in("biller")
    r = biller.get("/api/search", params={"q": "testp0"})
    assert r.status_code == 200
    names = {p["name"] for p in r.json()["patients"]}
    assert "Testp01_clean, Pat" in names
    assert not any(n.startswith("Testp02") for n in names)  # P02's patients are not the biller's
    claims = biller.get("/api/search", params={"q": "SEED-p01_fix"}).json()["claims"]
    assert [c["encounter_id"] for c in claims] == ["SEED-p01_fixable"]
    assert biller.get("/api/search", params={"q": "SEED-p02"}).json()["claims"] == []
    auths = biller.get("/api/search", params={"q": "auth 777"}).json()["authorizations"]
    assert [a["auth_number"] for a in auths] == ["AUTH-777-XY"]

    admin, _ = cached_signed_in("admin")
    names = {p["name"] for p in admin.get("/api/search", params={"q": "testp02"}).json()["patients"]}
    assert "Testp02_clean, Pat" in names


def test_search_by_date_of_birth_and_member_id(cached_signed_in: SignedIn, book: dict[str, int]) -> None:
    admin, _ = cached_signed_in("admin")
    by_dob = admin.get("/api/search", params={"q": "01/15/1960"}).json()
    assert by_dob["read_as"] == "date" and len(by_dob["patients"]) >= 5
    member = by_dob["patients"][0]["member_id"]
    by_member = admin.get("/api/search", params={"q": member.lower()}).json()
    assert member in {p["member_id"] for p in by_member["patients"]}


def test_search_is_audited_without_the_query_text(cached_signed_in: SignedIn, book: dict[str, int]) -> None:
    biller, _ = cached_signed_in("biller")
    biller.get("/api/search", params={"q": "Testp01_clean"})
    entry = audit_rows(biller.app.state.db, object_type="search")[-1]  # type: ignore[attr-defined]
    assert entry.action == "read" and book["person"] in entry.detail["person_ids"]
    assert "Testp01" not in str(entry.detail)


def test_search_page_groups_results_and_one_hit_goes_straight_there(
    cached_signed_in: SignedIn, book: dict[str, int]
) -> None:
    biller, _ = cached_signed_in("biller")
    page = biller.get("/search", params={"q": "Testp01"})
    assert page.status_code == 200
    assert "Patients (" in page.text and "Claims (" in page.text and "Authorizations (" in page.text
    r = biller.get("/search", params={"q": "SEED-p01_nofix", "go": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/claims/{book['p01_nofix']}"


def test_patient_across_practices_counts_records_out_of_scope(
    cached_signed_in: SignedIn, book: dict[str, int]
) -> None:
    biller, _ = cached_signed_in("biller")
    doc = biller.get(f"/api/patients/{book['person']}").json()
    assert [r["practice_id"] for r in doc["records"]] == ["P01"]
    assert doc["hidden_records"] == 1 and doc["hidden_services"] == 1
    assert all(sv["practice_id"] == "P01" for sv in doc["services"])
    assert [a["auth_number"] for a in doc["authorizations"]] == ["AUTH-777-XY"]
    assert doc["authorizations"][0]["left"] == 3
    assert doc["limits"] and all("_" not in lim["label"] for lim in doc["limits"])
    assert {lim["state"] for lim in doc["limits"]} <= {"ok", "near_limit", "at_limit", "over_limit"}

    admin, _ = cached_signed_in("admin")
    doc = admin.get(f"/api/patients/{book['person']}").json()
    assert sorted(r["practice_id"] for r in doc["records"]) == ["P01", "P02"]
    assert doc["hidden_records"] == 0

    # a patient seen only at P02 does not exist for the biller
    assert biller.get(f"/api/patients/{book['p02_person']}").status_code == 404
    assert biller.get(f"/patients/{book['p02_person']}").status_code == 404
    page = biller.get(f"/patients/{book['person']}")
    assert page.status_code == 200 and "1 more record" in page.text
    entry = audit_rows(biller.app.state.db, object_type="patient")[-1]  # type: ignore[attr-defined]
    assert entry.object_id == str(book["person"])


def test_patient_export_is_csv_and_audited(cached_signed_in: SignedIn, book: dict[str, int]) -> None:
    biller, _ = cached_signed_in("biller")
    r = biller.get(f"/patients/{book['person']}/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][0] == "section" and {"service", "authorization"} <= {row[0] for row in rows[1:]}
    assert "P02" not in {row[2] for row in rows[1:]}
    entry = audit_rows(biller.app.state.db, action="export")[-1]  # type: ignore[attr-defined]
    assert entry.object_type == "patient"


def test_claim_queue_due_dates_from_payer_policy(cached_signed_in: SignedIn, book: dict[str, int]) -> None:
    admin, _ = cached_signed_in("admin")
    overdue = admin.get("/api/queues/claims", params={"due": "overdue"}).json()["rows"]
    assert book["overdue"] in {r["id"] for r in overdue}
    soon = admin.get("/api/queues/claims", params={"due": "soon"}).json()["rows"]
    assert [r["id"] for r in soon] == [book["soon"]]
    row = soon[0]
    # MEDICARE: 365 days to file from the date of service (policy data, not code)
    assert row["due_what"] == "timely filing"
    assert row["due_date"] == (services.today() - timedelta(days=360) + timedelta(days=365)).isoformat()


def test_claim_queue_filters_and_scope(cached_signed_in: SignedIn, book: dict[str, int]) -> None:
    biller, _ = cached_signed_in("biller")
    rows = biller.get("/api/queues/claims", params={"status": "all"}).json()["rows"]
    assert rows and {r["practice_id"] for r in rows} == {"P01"}
    assert book["p01_history"] not in {r["id"] for r in rows}  # history is not a claim to work
    assert biller.get("/api/queues/claims", params={"practice": "P02"}).status_code == 404
    bun = biller.get("/api/queues/claims", params={"edit": "BUN001"}).json()["rows"]
    assert [r["id"] for r in bun] == [book["p01_fixable"]]
    old = biller.get("/api/queues/claims", params={"age": "181+"}).json()["rows"]
    assert {r["id"] for r in old} == {book["overdue"], book["soon"]}
    assert biller.get("/api/queues/claims", params={"sort": "nonsense"}).status_code == 400
    by_age = biller.get("/api/queues/claims", params={"sort": "age", "order": "desc"}).json()["rows"]
    assert by_age[0]["id"] == book["overdue"]


def test_denial_queue_reason_filter_and_appeal_due(cached_signed_in: SignedIn, book: dict[str, int]) -> None:
    admin, _ = cached_signed_in("admin")
    rows = admin.get("/api/queues/denials", params={"reason": "CO-16"}).json()["rows"]
    assert rows and all("CO-16" in r["reasons"] for r in rows)
    assert all(r["due_what"] == "appeal" for r in rows)


def test_assign_and_bulk_status(
    cached_signed_in: SignedIn, users: dict[str, int], book: dict[str, int]
) -> None:
    admin, csrf = cached_signed_in("admin")
    h = {"X-CSRF-Token": csrf}
    r = admin.post(
        "/api/queues/claims/assign",
        json={"ids": [book["p01_nofix"], book["p01_warning"]], "assignee_id": users["biller"]},
        headers=h,
    )
    assert r.json() == {"changed": 2}
    mine = admin.get("/api/queues/claims", params={"assignee": str(users["biller"])}).json()["rows"]
    assert {r["id"] for r in mine} == {book["p01_nofix"], book["p01_warning"]}
    assert {r["assignee"] for r in mine} == {"Bea Biller"}
    # the biller does not work P02: a P02 claim cannot be given to them
    r = admin.post(
        "/api/queues/claims/assign",
        json={"ids": [book["p02_error"]], "assignee_id": users["biller"]},
        headers=h,
    )
    assert r.status_code == 400 and "P02" in r.json()["detail"]
    biller, bcsrf = cached_signed_in("biller")
    me = biller.get("/api/queues/claims", params={"assignee": "me"}).json()["rows"]
    assert {r["id"] for r in me} == {book["p01_nofix"], book["p01_warning"]}
    # bulk status through the page form (CSRF in the form), then the rows leave the to-do list
    r = biller.post(
        "/queues/claims/bulk",
        data={"csrf_token": bcsrf, "action": "status", "status": "submitted", "ids": [book["p01_warning"]]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "moved+to+submitted" in r.headers["location"]
    todo = {r["id"] for r in biller.get("/api/queues/claims").json()["rows"]}
    assert book["p01_warning"] not in todo and book["p01_nofix"] in todo
    entries = audit_rows(biller.app.state.db, action="update", object_type="encounter")  # type: ignore[attr-defined]
    assert entries[-1].detail["work_status_to"] == "submitted"
    # another practice's row is not found
    r = biller.post(
        "/api/queues/claims/status",
        json={"ids": [book["p02_error"]], "status": "open"},
        headers={"X-CSRF-Token": bcsrf},
    )
    assert r.status_code == 404


def test_authorization_queue_and_status(cached_signed_in: SignedIn, book: dict[str, int]) -> None:
    admin, csrf = cached_signed_in("admin")
    rows = admin.get("/api/queues/authorizations", params={"due": "soon"}).json()["rows"]
    auth = next(r for r in rows if r["reference"] == "AUTH-777-XY")
    assert auth["due_what"] == "expires" and auth["status"] == "open"
    r = admin.post(
        "/api/queues/authorizations/status",
        json={"ids": [auth["id"]], "status": "requested"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.json() == {"changed": 1}
    rows = admin.get("/api/queues/authorizations", params={"status": "requested"}).json()["rows"]
    assert [r["reference"] for r in rows] == ["AUTH-777-XY"]


def test_underpayment_queue_lists_reduced_paid_lines(
    cached_signed_in: SignedIn, web_db: Database, book: dict[str, int]
) -> None:
    with web_db.session() as s:
        rem = m.Remittance(practice_id="P01", payer_name="Seed Payer", payment_date=services.today())
        claim = m.RemitClaim(
            practice_id="P01", patient_control_number="UNDER-1", status_code="1", billed=500, paid=150
        )
        claim.lines.append(
            m.RemitLine(
                practice_id="P01",
                code="64493",
                billed=500,
                allowed=300,
                paid=150,
                denied=False,
                adjustments=[
                    m.RemitAdjustment(group_code="CO", reason_code="59", amount=150),
                    m.RemitAdjustment(group_code="CO", reason_code="45", amount=200),
                ],
            )
        )
        rem.claims.append(claim)
        s.add(rem)
    biller, _ = cached_signed_in("biller")
    rows = biller.get("/api/queues/underpayments").json()["rows"]
    assert "UNDER-1" in {r["reference"] for r in rows}
    # the plain contractual write-off line of the seed (CO-45 only) is not an underpayment
    assert all(r["reasons"] != ["CO-45"] for r in rows)


def test_queue_page_export_keeps_filters_and_is_audited(
    cached_signed_in: SignedIn, book: dict[str, int]
) -> None:
    biller, _ = cached_signed_in("biller")
    page = biller.get("/queues/claims", params={"age": "181+"})
    assert page.status_code == 200 and 'href="/queues/claims/export.csv?age=181%2B"' in page.text
    r = biller.get("/queues/claims/export.csv", params={"age": "181+"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {int(x["id"]) for x in rows} == {book["overdue"], book["soon"]}
    entry = audit_rows(biller.app.state.db, action="export")[-1]  # type: ignore[attr-defined]
    assert entry.object_type == "claims_queue" and entry.detail["filters"] == {"age": "181+"}
    for kind in ("denials", "authorizations", "underpayments"):
        assert biller.get(f"/queues/{kind}").status_code == 200
        assert biller.get(f"/queues/{kind}/export.csv").status_code == 200
    assert biller.get("/queues/nothing").status_code == 404


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    text = to_csv(["a", "b"], [["=HYPERLINK(1)", -3.5]])
    assert text.splitlines()[1] == "'=HYPERLINK(1),-3.5"


def test_over_limit_is_not_at_limit_and_labels_are_human() -> None:
    assert standing_state(6, 4) == "over_limit"
    assert standing_state(4, 4) == "at_limit"
    assert standing_state(3, 4) == "near_limit"
    assert limit_label("facet_diagnostic") == "Facet / medial branch blocks, diagnostic"


def test_api_docs_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "http" not in page.text.split("<body>")[0].replace("http-equiv", "")
    assert client.get("/api/docs/files/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs/init.js").status_code == 200
    assert client.get("/api/docs/files/../../etc/passwd").status_code == 404


# --- the same on PostgreSQL ------------------------------------------------------------------------
def test_search_patient_and_queues_on_postgresql(pg_database_url: Callable[[], str]) -> None:
    from painrcm.store import patient as patients
    from painrcm.store import queues
    from painrcm.store.search import search
    from painrcm.web.app import create_app
    from tests.web.conftest import make_practices, make_user, seed_claims, seed_denials

    app = create_app(database_url=pg_database_url())
    db, engine = app.state.db, app.state.engine
    try:
        make_practices(db)
        biller = make_user(db, "pg-biller@example.test", "biller", ["P01"])
        claims = seed_claims(db, engine)
        seed_denials(db, claims)
        with db.session() as s:
            user = s.get(m.User, biller)
            assert user is not None
            found = search(s, user, "testp0")
            assert found.patients and {p.practices[0] for p in found.patients} == {"P01"}
            assert [c.encounter_id for c in search(s, user, "seed-p01_fix").claims] == ["SEED-p01_fixable"]
            person = found.patients[0].person_id
            view = patients.patient_view(s, user, engine, person)
            assert view.limits and view.records
            policies = engine.policies
            for kind in queues.KINDS:
                page = queues.list_queue(
                    s, user, kind, queues.parse_filters(kind, {"status": "all"}), policies
                )
                assert all(r.practice_id == "P01" for r in page.rows)
            denials = queues.list_queue(
                s, user, "denials", queues.parse_filters("denials", {"reason": "16"}), policies
            )
            assert denials.rows and all(any(x.endswith("-16") for x in r.reasons) for r in denials.rows)
            assert queues.assign(s, user, "claims", [claims["p01_clean"]], biller) == 1
    finally:
        db.engine.dispose()


def test_a_payer_file_overrides_the_deadlines(tmp_path: Path) -> None:
    from painrcm.model import Payer
    from painrcm.policy.loader import load_policies

    (tmp_path / "acme.yaml").write_text(
        "payer_ids: [ACME-HEALTH]\nbase: commercial\nname: Acme\ndeadlines: {timely_filing_days: 180}\n",
        encoding="utf-8",
    )
    book = load_policies([tmp_path])
    acme = book.for_payer(Payer(id="ACME-HEALTH", plan="commercial")).deadlines
    other = book.for_payer(Payer(id="OTHER", plan="commercial")).deadlines
    medicare = book.for_payer(Payer(id="MEDICARE", plan="medicare")).deadlines
    assert (acme.timely_filing_days, acme.appeal_days) == (180, 60)  # merged key by key
    assert (other.timely_filing_days, other.appeal_days) == (90, 60)
    assert (medicare.timely_filing_days, medicare.appeal_days) == (365, 120)


def test_every_bundled_limit_has_a_human_name() -> None:
    from painrcm.policy.loader import load_policies

    book = load_policies()
    ids = {lim.id for pol in book.built_in.values() for lim in pol.frequency}
    assert ids and all("_" not in limit_label(i) and limit_label(i)[0].isupper() for i in ids)


def test_bulk_form_with_huge_fields_redirects_to_a_short_address(cached_signed_in: SignedIn) -> None:
    """QA: the redirect echoed the filters and the error message whole; 100 000 characters made a Location
    header clients and proxies refuse."""
    biller, bcsrf = cached_signed_in("biller")
    r = biller.post(
        "/queues/claims/bulk",
        data={"csrf_token": bcsrf, "action": "status", "status": "x" * 100_000, "back": "y" * 100_000},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/queues/claims?") and len(r.headers["location"]) < 2000
    assert "Nothing+changed" in r.headers["location"]
