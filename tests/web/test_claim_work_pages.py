"""The claim work forms on the pages (issue 9): an edit needs a reason and says what is wrong, the
versions compare page, the fee schedule page, the admin audit page (admins only)."""

from __future__ import annotations

import re

from tests.web.conftest import seed_claim


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_edit_form_needs_a_reason_then_saves_a_version(web_db, scrub_engine, signed_in):
    cid = seed_claim(web_db, scrub_engine, "page_edit", "P01", "BUN001", [650.0, 120.0], 30)
    c, _ = signed_in("biller")
    html = c.get(f"/claims/{cid}").text
    assert 'id="versions"' in html and "first stored" in html
    form = {
        "csrf_token": _csrf(html),
        "place_of_service": "11",
        "diagnoses": "M54.16, M47.816",
        "authorization_number": "",
        "line-1-code": "64483",
        "line-1-modifiers": "RT",
        "line-1-units": "1",
        "line-1-pointers": "1",
        "line-1-charge": "650",
        "line-2-code": "77003",
        "line-2-units": "1",
        "line-2-pointers": "1",
        "line-2-charge": "120",
        "line-2-remove": "1",
    }
    r = c.post(f"/claims/{cid}/edit", data={**form, "reason": ""}, follow_redirects=False)
    assert r.status_code == 400 and "needs a reason" in r.text
    r = c.post(
        f"/claims/{cid}/edit", data={**form, "line-1-units": "two", "reason": "x"}, follow_redirects=False
    )
    assert r.status_code == 400 and "units must be a number" in r.text
    r = c.post(f"/claims/{cid}/edit", data={**form, "reason": "drop 77003"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"]).text
    assert "Claim saved as a new version" in page and "line 2 removed" in page and "drop 77003" in page
    diff = c.get(f"/claims/{cid}/versions/compare", params={"a": 1, "b": 2}).text
    assert "line 2" in diff and "77003" in diff


def test_fee_schedule_page_and_admin_audit_page(signed_in, seeded):
    c, _ = signed_in("biller")
    html = c.get("/fee-schedules").text
    assert "Fee schedules" in html and "national" in html
    bad = c.post(
        "/fee-schedules",
        data={"csrf_token": _csrf(html), "practice_id": "P01", "payer_id": "ACME"},
        files={"file": ("f.csv", b"nothing useful\n", "text/csv")},
    )
    assert bad.status_code == 400 and "f.csv" in bad.text
    ok = c.post(
        "/fee-schedules",
        data={"csrf_token": _csrf(html), "practice_id": "P01", "payer_id": "ACME"},
        files={"file": ("f.csv", b"code,facility_rate,nonfacility_rate\n64483,100,200\n", "text/csv")},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "ACME" in c.get("/fee-schedules").text
    assert c.get("/admin/audit").status_code == 403
    admin, _ = signed_in("admin")
    page = admin.get("/admin/audit", params={"action": "upload"})
    assert page.status_code == 200 and "fee_schedule" in page.text
