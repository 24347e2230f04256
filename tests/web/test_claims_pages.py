"""Claims pages: the dashboard, the queue (and its htmx table partial) and the claim page for each
role; CSRF on the form posts; the claim page's actions (re-scrub, apply safe fixes, override)."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from painrcm.edits import CATALOGUE
from painrcm.store import models as m
from tests.web.conftest import audit_rows, seed_claim

ROLES = ("admin", "supervisor", "biller")


def _no_inline_code(html: str) -> None:
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


# --- dashboard ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_dashboard_page(seeded, signed_in, role):
    c, _ = signed_in(role)
    r = c.get("/")
    assert r.status_code == 200
    html = r.text
    _no_inline_code(html)
    assert '<svg class="chart"' in html and 'class="bar"' in html
    assert 'id="clean-rate">50.0%<' in html
    if role == "biller":
        assert 'id="at-risk">$2,320.00<' in html
        assert "P02" not in html and "Desert Interventional" not in html
    else:
        assert 'id="at-risk">$3,570.00<' in html
        assert "Desert Interventional" in html


def test_dashboard_page_per_practice(seeded, signed_in):
    c, _ = signed_in("supervisor")
    html = c.get("/", params={"practice": "P02"}).text
    assert 'id="at-risk">$1,250.00<' in html
    biller, _ = signed_in("biller")
    assert biller.get("/", params={"practice": "P02"}).status_code == 404


def test_pages_need_sign_in(client, seeded):
    for path in ("/", "/claims", f"/claims/{seeded['p01_clean']}"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


# --- queue -------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_queue_page(seeded, signed_in, role):
    c, _ = signed_in(role)
    r = c.get("/claims")
    assert r.status_code == 200
    _no_inline_code(r.text)
    assert 'hx-get="/claims/table"' in r.text and 'id="claims-table"' in r.text
    assert "SEED-p01_fixable" in r.text and "SEED-p01_clean" not in r.text  # default: errors or warnings
    assert ("SEED-p02_error" in r.text) is (role != "biller")


def test_queue_table_partial_filters(seeded, signed_in):
    c, _ = signed_in("admin")
    r = c.get("/claims/table", params={"practice": "P01", "status": "any", "edit": "", "age": ""})
    assert r.status_code == 200 and "<html" not in r.text
    assert "SEED-p01_clean" in r.text and "SEED-p02_clean" not in r.text
    r = c.get("/claims/table", params={"edit": "ADD001"})
    assert "SEED-p01_nofix" in r.text and "SEED-p01_fixable" not in r.text
    assert c.get("/claims/table", params={"status": "bogus"}).status_code == 400
    assert c.get("/claims", params={"sort": "bogus"}).status_code == 400
    paged = c.get("/claims/table", params={"status": "any", "per_page": 2}).text
    assert "page 1 of 4" in paged and 'hx-get="/claims/table?status=any&amp;per_page=2&amp;page=2"' in paged


def test_queue_page_for_biller_other_practice_is_404(seeded, signed_in):
    c, _ = signed_in("biller")
    assert c.get("/claims", params={"practice": "P02"}).status_code == 404
    assert c.get("/claims/table", params={"practice": "P02"}).status_code == 404


# --- the claim page ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_claim_page(seeded, signed_in, web_db, role, users):
    c, _ = signed_in(role)
    cid = seeded["p01_fixable"]
    r = c.get(f"/claims/{cid}")
    assert r.status_code == 200
    html = r.text
    _no_inline_code(html)
    assert "BUN001" in html and str(escape(CATALOGUE["BUN001"].why)) in html
    assert "Apply safe fixes" in html and "Corrected lines" in html and "Data editions used" in html
    assert f'action="/claims/{cid}/fix"' in html and f'action="/claims/{cid}/scrub"' in html
    assert "/override" in html and 'name="reason"' in html
    assert _csrf(html)
    assert "Audit trail" in html
    assert audit_rows(web_db, action="read", object_id=str(cid), user_id=users[role])
    other = c.get(f"/claims/{seeded['p02_error']}")
    assert other.status_code == (404 if role == "biller" else 200)


def test_claim_page_without_safe_fix(seeded, signed_in):
    c, _ = signed_in("biller")
    html = c.get(f"/claims/{seeded['p01_nofix']}").text
    assert "ADD001" in html and "Apply safe fixes" not in html


def test_form_posts_need_csrf(web_db, scrub_engine, signed_in):
    cid = seed_claim(web_db, scrub_engine, "csrf_page", "P01", "BUN001", [650.0, 120.0], 30)
    c, _ = signed_in("biller")
    with web_db.session() as s:
        fid = s.get(m.Encounter, cid).scrub_runs[-1].findings[0].id
    for path, data in (
        (f"/claims/{cid}/scrub", {}),
        (f"/claims/{cid}/fix", {}),
        (f"/claims/{cid}/findings/{fid}/override", {"reason": "because"}),
    ):
        assert c.post(path, data=data, follow_redirects=False).status_code == 403
        assert c.post(path, data={**data, "csrf_token": "wrong"}, follow_redirects=False).status_code == 403
    with web_db.session() as s:
        row = s.get(m.Encounter, cid)
        assert len(row.scrub_runs) == 1 and [ln.code for ln in row.lines] == ["64483", "77003"]
        assert row.scrub_runs[-1].findings[0].override_reason is None


def test_apply_fix_from_the_page(web_db, scrub_engine, signed_in):
    cid = seed_claim(web_db, scrub_engine, "fix_page", "P01", "BUN001", [650.0, 120.0], 30)
    c, _ = signed_in("biller")
    token = _csrf(c.get(f"/claims/{cid}").text)
    r = c.post(f"/claims/{cid}/fix", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/claims/{cid}?done=fixed"
    html = c.get(r.headers["location"]).text
    assert "Safe fixes applied" in html and "Apply safe fixes" not in html
    assert "<strong>BUN001</strong>" not in html
    assert "77003" in html  # still visible in the audit trail's before/after
    assert audit_rows(web_db, action="fix", object_id=str(cid))
    assert c.post(f"/claims/{cid}/fix", data={"csrf_token": token}).status_code == 409


def test_rescrub_from_the_page(web_db, scrub_engine, signed_in):
    cid = seed_claim(web_db, scrub_engine, "scrub_page", "P01", "ADD001", [300.0], 30)
    c, csrf = signed_in("supervisor")
    r = c.post(
        f"/claims/{cid}/scrub", headers={"X-CSRF-Token": csrf}, follow_redirects=False
    )  # htmx sends the header
    assert r.status_code == 303
    assert len(audit_rows(web_db, action="scrub", object_id=str(cid))) == 1


def test_override_from_the_page_needs_a_reason(web_db, scrub_engine, signed_in):
    cid = seed_claim(web_db, scrub_engine, "override_page", "P01", "ADD001", [300.0], 30)
    c, _ = signed_in("biller")
    html = c.get(f"/claims/{cid}").text
    token = _csrf(html)
    fid = int(re.search(r"/findings/(\d+)/override", html).group(1))
    r = c.post(f"/claims/{cid}/findings/{fid}/override", data={"csrf_token": token, "reason": "  "})
    assert r.status_code == 400 and "needs a reason" in r.text
    r = c.post(f"/claims/{cid}/findings/{fid}/override", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 400
    assert not audit_rows(web_db, action="override", object_id=str(cid))
    r = c.post(
        f"/claims/{cid}/findings/{fid}/override",
        data={"csrf_token": token, "reason": "primary on the facility claim"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    html = c.get(r.headers["location"]).text
    assert "Overridden" in html and "primary on the facility claim" in html and "overridden" in html
    assert audit_rows(web_db, action="override", object_id=str(cid))


def test_override_page_post_is_scoped(seeded, signed_in, web_db):
    c, csrf = signed_in("biller")
    other = seeded["p02_error"]
    with web_db.session() as s:
        fid = s.get(m.Encounter, other).scrub_runs[-1].findings[0].id
    mine = seeded["p01_nofix"]
    data = {"csrf_token": csrf, "reason": "x"}
    assert c.post(f"/claims/{other}/findings/{fid}/override", data=data).status_code == 404
    assert c.post(f"/claims/{mine}/findings/{fid}/override", data=data).status_code == 404  # not this claim's
    assert c.post(f"/claims/{other}/scrub", data=data).status_code == 404
    assert c.post(f"/claims/{other}/fix", data=data).status_code == 404
