"""Workspace imports of 999/277CA acknowledgements (kind x12_ack): ack rows stored per claim,
rejected claims back in the claim queue with the reason, all-or-nothing and idempotent."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from painrcm.errors import InputError
from painrcm.model import Encounter
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import queries_claims as qc
from painrcm.store.db import Database
from painrcm.store.imports import import_bytes
from painrcm.store.jobs import InProcessRunner
from painrcm.x12.writer837 import write_837
from tests.store.synth import epidural
from tests.x12.ackgen import ClaimResult, SetResult, make_277ca, make_999

pytestmark = pytest.mark.usefixtures("practices")


def _claims_837(ids: list[str]) -> bytes:
    docs = [
        epidural(
            eid,
            f"2026-03-{n + 2:02d}",
            lines=[
                {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1], "charge": 900}
            ],
        )
        for n, eid in enumerate(ids)
    ]
    encs = [Encounter.model_validate(d) for d in docs]
    return write_837(encs, control_number=555, now=datetime(2026, 3, 20, 9, 0)).encode()


def _submit_837(db: Database, engine: Engine, ids: list[str]) -> None:
    runner = InProcessRunner(db, engine)
    job = runner.submit("x12_837", _claims_837(ids), "sent.837", "P01", None)
    st = runner.wait(job, timeout=60)
    assert st is not None and st.status == "done", st


def _import(db: Database, engine: Engine, data: str, name: str, practice: str | None = None):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return import_bytes(
            s, engine, kind="x12_ack", data=data.encode(), file_name=name, practice_id=practice, user_id=None
        )


def _row(db: Database, eid: str) -> tuple[str | None, str | None, str]:
    with db.session() as s:
        r = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == eid)).one()
        return r.ack_status, r.ack_reason, r.work_status


def test_277ca_rejections_reach_the_queue_with_the_reason(db: Database, engine: Engine) -> None:
    _submit_837(db, engine, ["E-1", "E-2", "E-3"])
    with db.session() as s:  # as if the biller had sent them
        for r in s.scalars(select(m.Encounter)):
            r.work_status = "submitted"
    ca = make_277ca(
        [
            ClaimResult("E-1", ["A2:20:PR"], payer_claim_number="PAYER-1"),
            ClaimResult("E-2", ["A7:562:82"], action="U"),
            ClaimResult("E-3", ["A6:33:IL"], action="U"),
            ClaimResult("UNKNOWN-9", ["A3:21"], action="U"),
        ]
    )
    res = _import(db, engine, ca, "back.277")
    assert (res.records, res.added, res.updated) == (4, 4, 3)
    assert _row(db, "E-1")[0] == "accepted" and _row(db, "E-1")[2] == "submitted"
    status, reason, work = _row(db, "E-2")
    assert status == "rejected" and work == "open" and reason and "NPI" in reason
    with db.session() as s:
        admin = m.User(email="a@x.test", name="A", password_hash="x", role="admin")
        s.add(admin)
        s.flush()
        queue = qc.claim_queue(s, admin, qc.parse_filters(status="rejected"))
        assert sorted(i["encounter_id"] for i in queue["items"]) == ["E-2", "E-3"]
        assert all(i["ack_status"] == "rejected" and i["ack_reason"] for i in queue["items"])
        default = qc.claim_queue(s, admin, qc.parse_filters())
        assert {"E-2", "E-3"} <= {i["encounter_id"] for i in default["items"]}
        e1 = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "E-1")).one()
        detail = qc.claim_detail(s, e1)
        (ack,) = detail["acknowledgements"]
        assert ack["payer_claim_number"] == "PAYER-1" and ack["codes"] == ["A2:20:PR"]
        assert ack["ack_date"] == "2026-11-30" and ack["outcome"] == "accepted"
        orphan = s.scalars(select(m.ClaimAck).where(m.ClaimAck.patient_control_number == "UNKNOWN-9")).one()
        assert orphan.encounter_pk is None and orphan.practice_id == "P01"  # by the billing NPI
    again = _import(db, engine, ca, "again.277")
    assert again.duplicate


def test_999_rejected_set_rejects_every_claim_in_the_stored_837(db: Database, engine: Engine) -> None:
    _submit_837(db, engine, ["E-1", "E-2"])
    ack = make_999(
        "555", [SetResult("0555", "R", ("5",), [("NM1", 20, "2010AA", "8", [("9", "67", "7", "X")], "E-2")])]
    )
    res = _import(db, engine, ack, "sent.999")
    assert res.records == 2
    s1, r1, _ = _row(db, "E-1")
    s2, r2, _ = _row(db, "E-2")
    assert s1 == s2 == "rejected"
    assert r1 and "rejected whole" in r1
    assert r2 and "NM1 segment at position 20" in r2
    # a 277CA afterwards says the claim itself was accepted: the latest status wins
    _import(db, engine, make_277ca([ClaimResult("E-1", ["A2:20"])]), "later.277")
    assert _row(db, "E-1")[0] == "accepted"


def test_broken_or_foreign_files_store_nothing(db: Database, engine: Engine) -> None:
    _submit_837(db, engine, ["E-1"])

    def total() -> int:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(m.ClaimAck)) or 0

    bad = make_277ca([ClaimResult("E-1", ["A7:562:82"], action="U")]).replace("STC*A7:562:82", "STC*:562")
    with pytest.raises(InputError, match=r"segment \d+ \(STC\): STC01-1"):
        _import(db, engine, bad, "bad.277")
    with pytest.raises(InputError, match="837P professional claim"):
        _import(db, engine, _claims_837(["E-9"]).decode(), "not-an-ack.837")
    # no practice can be told: a claim nobody stored and an unknown billing NPI
    orphan = make_277ca([ClaimResult("Z-1", ["A3:21"], action="U")], billing_npi="1999999984")
    with pytest.raises(InputError, match="choose the practice"):
        _import(db, engine, orphan, "orphan.277")
    assert total() == 0 and _row(db, "E-1")[0] is None
