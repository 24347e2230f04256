"""A claim rejected by a 277CA: listed in the queue with the reason, its acknowledgement on the claim page,
and a 999/277CA file can be uploaded as an import job (kind x12_ack)."""

from __future__ import annotations

from painrcm.store import models as m
from tests.x12.ackgen import ClaimResult, make_277ca


def test_rejected_claim_in_queue_and_on_claim_page(seeded, signed_in, web_db):
    cid = seeded["p01_clean"]
    with web_db.session() as s:
        row = s.get(m.Encounter, cid)
        eid = row.encounter_id
    c, csrf = signed_in("admin")
    c.headers["X-CSRF-Token"] = csrf
    data = make_277ca([ClaimResult(eid, ["A7:562:82"], action="U")]).encode()
    r = c.post(
        "/api/imports",
        files={"file": ("back.277", data, "text/plain")},
        data={"kind": "x12_ack", "practice_id": "P01"},
    )
    assert r.status_code == 202, r.text
    st = c.app.state.jobs.wait(r.json()["id"], timeout=60)
    assert st is not None and st.status == "done", st
    with web_db.session() as s:
        assert s.get(m.Encounter, cid).ack_status == "rejected"
    html = c.get("/claims", params={"status": "rejected"}).text
    assert eid in html and "Rejected by the payer or clearinghouse" in html and "NPI" in html
    page = c.get(f"/claims/{cid}").text
    assert "Acknowledgements" in page and "277CA" in page and "A7:562:82" in page
    assert "new claim (frequency 1)" in page
