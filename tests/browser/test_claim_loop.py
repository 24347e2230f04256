"""Issue 9 in a real browser: a biller works claims from upload to a corrected claim. Import a claim
file, fix one claim, override a finding with a reason, submit, import an 835 that denies a line, see
the denial on the claim, correct the claim (mark for correction, edit, submit), export the corrected
837P (frequency 7 with REF*F8), and see every step in the claim's audit trail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from painrcm.store import models as m
from tests.browser.conftest import Console, Served, sign_in
from tests.store.synth import Clp, SvcLine, write_835
from tests.web.conftest import seed_encounter


def _upload(page: Any, kind: str, name: str, data: bytes) -> None:
    page.goto("/uploads")
    page.get_by_label("Kind").select_option(kind)
    page.get_by_label("Practice").select_option("P01")
    page.locator("input[type=file][name=file]").set_input_files(
        {"name": name, "mimeType": "text/plain", "buffer": data}
    )
    page.get_by_role("button", name="Upload").click()
    job = page.locator(".job").filter(has_text=name).first
    expect(job.locator(".badge")).to_have_text("done", timeout=20_000)


def _pk(served: Served, encounter_id: str) -> int:
    with served.db.session() as s:
        return int(s.scalars(select(m.Encounter.id).where(m.Encounter.encounter_id == encounter_id)).one())


def test_the_loop_from_upload_to_a_corrected_837(page: Any, served: Served, console: Console) -> None:
    fixable = seed_encounter("loop_fix", "P01", "BUN001", [650.0, 120.0], 25, "LOOP-FIX-1")
    worked = seed_encounter("loop_work", "P01", "POS001", [500.0, 40.0], 35, "LOOP-WORK-1")
    docs = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in (fixable, worked)]
    sign_in(page, "biller", "/uploads")

    # 1. import a claim file
    _upload(page, "encounters", "loop-claims.json", json.dumps(docs).encode())
    fix_pk, work_pk = _pk(served, "LOOP-FIX-1"), _pk(served, "LOOP-WORK-1")

    # 2. fix a claim
    page.goto(f"/claims/{fix_pk}")
    page.get_by_role("button", name="Apply safe fixes").click()
    expect(page.get_by_text("Safe fixes applied")).to_be_visible()
    expect(page.locator("#versions")).to_contain_text("safe fix applied")

    # 3. override a finding with a reason: the claim loses its badge
    page.goto(f"/claims/{work_pk}")
    finding = page.locator("article.finding").filter(has_text="POS001")
    finding.get_by_label("Override reason (required)").fill("Office procedure room, documented")
    finding.get_by_role("button", name="Override").click()
    expect(page.get_by_text("Finding overridden.")).to_be_visible()
    expect(page.locator("h1 .badge")).not_to_have_text("warning")

    # 4. submit
    page.get_by_role("button", name="Mark as submitted").click()
    expect(page.get_by_text("Claim marked as submitted.")).to_be_visible()

    # 5. import an 835 that denies line 2
    l1, l2 = worked.lines or []
    era = write_835(
        [
            Clp(
                "LOOP-WORK-1",
                [
                    SvcLine(
                        l1.code, l1.charge or 0, 300, [("CO", "45", (l1.charge or 0) - 300)], l1.modifiers
                    ),
                    SvcLine(l2.code, l2.charge or 0, 0, [("CO", "97", l2.charge or 0)], l2.modifiers),
                ],
            )
        ],
        trace="LOOPTRN1",
    )
    _upload(page, "x12_835", "loop-remit.835", era.encode())

    # 6. see the denial on the claim
    page.goto(f"/claims/{work_pk}")
    remit = page.locator(".remit").first
    expect(remit).to_contain_text("PCN-LOOP-WORK-1")
    denied = remit.locator("tr.denied")
    expect(denied).to_have_count(1)
    expect(denied).to_contain_text("CO-97")
    expect(denied).to_contain_text(l2.code)

    # 7. correct the claim: mark it, remove the denied line, submit again
    form = page.locator("#correct-form")
    form.get_by_label("Correct or void").select_option("7")
    form.get_by_label("Answers denial").select_option(index=1)
    form.get_by_label("Reason (required)").fill("Imaging is bundled: drop the line")
    form.get_by_role("button", name="Mark for correction").click()
    expect(page.get_by_text("Claim marked for correction")).to_be_visible()
    page.locator("#edit-claim summary").click()
    page.get_by_label("remove line 2").check()
    page.locator("#edit-reason").fill("Remove the denied imaging line")
    page.get_by_role("button", name="Save and re-scrub").click()
    expect(page.get_by_text("Claim saved as a new version")).to_be_visible()
    expect(page.locator("#versions")).to_contain_text("line 2 removed")
    page.get_by_role("button", name="Mark as submitted").click()
    expect(page.get_by_text("Claim marked as submitted.")).to_be_visible()

    # 8. export the corrected 837P
    with page.expect_download() as info:
        page.locator("#export-837").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    segs = [s.strip() for s in text.split("~") if s.strip()]
    clm = next(s for s in segs if s.startswith("CLM*LOOP-WORK-1*"))
    assert clm.split("*")[5].endswith(":B:7"), clm
    assert "REF*F8*PCN-LOOP-WORK-1" in segs
    assert sum(1 for s in segs if s.startswith("SV1*")) == 1

    # 9. every step in the claim's audit trail
    page.goto(f"/claims/{work_pk}")
    trail = page.locator("#audit-trail")
    for label in (
        "imported",
        "finding overridden",
        "submitted",
        "marked for correction",
        "edited",
        "837P exported",
    ):
        expect(trail.locator("td", has_text=re.compile(f"^{label}$")).first).to_be_visible()
    expect(trail).to_contain_text("Office procedure room, documented")
    expect(trail).to_contain_text("Remove the denied imaging line")
    page.goto(f"/claims/{fix_pk}")
    expect(page.locator("#audit-trail")).to_contain_text("safe fix applied")
    console.assert_clean()
