"""A biller's day in the browser: sign in, the claim queue, a claim, a safe fix, an 835 upload, sign out."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from playwright.sync_api import expect

from painrcm.store import models as m
from tests.browser.conftest import Console, Served, sign_in


def synthetic_835(encounter_id: str, dos: date, trace: str = "BRWTRN0001") -> str:
    """A small 835 for the seeded claim: 64483 paid 300 (CO-45 for the rest), 77003 denied CO-97 (M80)."""
    d8 = dos.strftime("%Y%m%d")
    body = [
        "ST*835*0001",
        "BPR*I*300.00*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20260401",
        f"TRN*1*{trace}*1512345678",
        "DTM*405*20260401",
        "N1*PR*BROWSER TEST PLAN",
        "N3*1 PAYER WAY",
        "N4*AUSTIN*TX*78701",
        "PER*BL*TECH SUPPORT*TE*8005550199",
        "N1*PE*MESA SPINE AND PAIN*XX*1245319599",
        "LX*1",
        f"CLP*{encounter_id}*1*770*300*0*MB*BRWPCN0001",
        "NM1*QC*1*TESTBRW*PAT****MI*BRWMEM01",
        "SVC*HC:64483:RT*650*300**1",
        f"DTM*472*{d8}",
        "CAS*CO*45*350",
        "AMT*B6*300",
        "SVC*HC:77003*120*0**1",
        f"DTM*472*{d8}",
        "CAS*CO*97*120",
        "LQ*HE*M80",
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    envelope = [
        "ISA*00*          *00*          *ZZ*PAYERID        *ZZ*PAINRCM        *260401*1200*^*00501*000000777*0*T*:",
        "GS*HP*PAYERID*PAINRCM*20260401*1200*777*X*005010X221A1",
        *body,
        "GE*1*777",
        "IEA*1*000000777",
    ]
    return "~\n".join(envelope) + "~\n"


def _claim(served: Served, key: str) -> m.Encounter:
    with served.db.session() as s:
        row = s.get(m.Encounter, served.claims[key])
        assert row is not None
        s.expunge(row)
        return row


def test_sign_in(page: Any, served: Served, console: Console) -> None:
    page.goto("/claims")
    expect(page).to_have_url(re.compile(r"/login\?next=/claims"))
    page.get_by_label("Email").fill("biller@example.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    sign_in(page, "biller", "/claims")
    expect(page).to_have_url(re.compile(r"/claims$"))
    expect(page.get_by_role("link", name="Claim queue")).to_be_visible()
    expect(page.get_by_text("Bea Biller")).to_be_visible()
    console.assert_clean()


def test_claim_queue_and_claim_page(page: Any, served: Served, console: Console) -> None:
    sign_in(page)
    page.get_by_role("link", name="Claim queue").click()
    expect(page).to_have_url(re.compile(r"/claims"))
    fix_id = served.encounter_ids["fix"]
    expect(page.get_by_role("link", name=fix_id)).to_be_visible()
    # another practice's claim is not in a P01 biller's queue
    expect(page.get_by_role("link", name=served.encounter_ids["other"])).to_have_count(0)
    page.get_by_role("link", name=fix_id).click()
    expect(page).to_have_url(re.compile(rf"/claims/{served.claims['fix']}$"))
    expect(page.get_by_role("heading", name=re.compile(f"Claim {fix_id}"))).to_be_visible()
    finding = page.locator("article.finding").filter(has_text="BUN001")
    expect(finding).to_have_count(1)
    expect(finding).to_contain_text("77003")
    expect(page.get_by_role("button", name="Apply safe fixes")).to_be_visible()
    console.assert_clean()


def test_apply_safe_fix(page: Any, served: Served, console: Console) -> None:
    sign_in(page, "biller", f"/claims/{served.claims['fix']}")
    expect(page.locator("article.finding").filter(has_text="BUN001")).to_have_count(1)
    page.get_by_role("button", name="Apply safe fixes").click()
    expect(page.get_by_text("Safe fixes applied")).to_be_visible()
    expect(page.locator("article.finding").filter(has_text="BUN001")).to_have_count(0)
    expect(page.get_by_role("button", name="Apply safe fixes")).to_have_count(0)
    row = _claim(served, "fix")
    assert row.work_status == "fixed" and row.status != "error"
    with served.db.session() as s:
        codes = [ln.code for ln in s.get(m.Encounter, row.id).lines]
    assert codes == ["64483"], codes
    console.assert_clean()


def test_upload_835_and_see_the_job_finish(page: Any, served: Served, console: Console) -> None:
    claim = _claim(served, "remit")
    text = synthetic_835(claim.encounter_id, claim.date_of_service)
    sign_in(page, "biller", "/uploads")
    page.get_by_label("Kind").select_option("x12_835")
    page.get_by_label("Practice").select_option("P01")
    page.locator("input[type=file][name=file]").set_input_files(
        {"name": "browser-remit.835", "mimeType": "text/plain", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Upload").click()
    job = page.locator(".job").filter(has_text="browser-remit.835").first
    expect(job).to_be_visible()
    expect(job.locator(".badge")).to_have_text("done", timeout=20_000)  # htmx polls the job every second
    # the denied imaging line is in the denial queue, with the claim it belongs to
    page.get_by_role("link", name="Denials").click()
    row = page.locator("tr").filter(has_text="77003").filter(has_text=claim.encounter_id)
    expect(row.first).to_be_visible()
    with served.db.session() as s:
        lines = (
            s.query(m.RemitLine)
            .join(m.RemitClaim)
            .filter(m.RemitClaim.patient_control_number == claim.encounter_id)
            .all()
        )
        assert {(ln.code, ln.denied) for ln in lines} == {("64483", False), ("77003", True)}
    console.assert_clean()


def test_sign_out(page: Any, served: Served, console: Console) -> None:
    sign_in(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/claims")
    expect(page).to_have_url(re.compile(r"/login\?next=/claims"))
    console.assert_clean()
