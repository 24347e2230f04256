"""Issue 9 on the demo data: the tracker counts the demo's claim-level authorizations, and the
denied demo claim SUB-00001 re-uploaded without its denied line becomes a corrected claim (it ended
in "internal error (IntegrityError); nothing was imported")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select

from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.store import counts, versions
from painrcm.store import models as m
from painrcm.store import queries_claims as qc
from painrcm.store.db import Database
from painrcm.store.demo_seed import seed_demo
from painrcm.store.imports import import_bytes
from painrcm.store.queries_work import list_authorizations

TODAY = date(2026, 7, 15)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Engine]]:
    engine = Engine(load_reference(), load_policies())
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('demo9') / 'demo.db'}")
    seed_demo(db, engine, today=TODAY, seed=7)
    try:
        yield db, engine
    finally:
        db.engine.dispose()


def _admin(s: object) -> m.User:
    return s.scalars(select(m.User).where(m.User.role == "admin")).first()  # type: ignore[attr-defined, no-any-return]


def test_the_tracker_counts_claim_level_authorizations_of_the_demo(demo: tuple[Database, Engine]) -> None:
    db, engine = demo
    with db.session() as s:
        rows = list_authorizations(s, _admin(s), engine.policies, on=TODAY)
        used = [r for r in rows if r.used > 0]
        assert used, "every authorization shows used 0"
        claim_level = [c for r in used for c in r.claims if c["level"] == "claim"]
        assert claim_level
        assert any(r.state == "used_up" for r in rows)


def test_dashboard_counts_agree_on_the_demo(demo: tuple[Database, Engine]) -> None:
    db, _ = demo
    with db.session() as s:
        d = qc.dashboard(s, _admin(s))
        assert d["claims_by_status"]["error"] == d["dollars_at_risk"]["claims_with_errors"]
        assert (
            sum(p["dollars_at_risk"]["claims_with_errors"] for p in d["practices"])
            == d["claims_by_status"]["error"]
        )
        for row in s.scalars(select(m.Encounter).where(m.Encounter.work_status == "overridden")):
            assert row.status == counts.effective_status(row.scrub_runs[-1] if row.scrub_runs else None)
            assert row.status != "error"


def test_reupload_of_denied_sub_00001_without_its_denied_line_is_a_corrected_claim(
    demo: tuple[Database, Engine],
) -> None:
    db, engine = demo
    with db.session() as s:
        row = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "SUB-00001")).one()
        denied = s.scalars(
            select(m.RemitLine)
            .join(m.RemitClaim, m.RemitLine.remit_claim_id == m.RemitClaim.id)
            .where(m.RemitClaim.encounter_pk == row.id, m.RemitLine.denied.is_(True))
        ).all()
        assert denied, "the demo denies a line of SUB-00001"
        codes = {rl.code for rl in denied}
        doc = dict(row.document)
        doc["lines"] = [ln for ln in doc["lines"] if ln["code"] not in codes]
        assert doc["lines"]
        practice, pk, status = row.practice_id, row.id, row.work_status
    assert status == "submitted"
    with db.session() as s:
        res = import_bytes(
            s,
            engine,
            kind="encounters",
            data=json.dumps(doc).encode(),
            file_name="SUB-00001-corrected.json",
            practice_id=practice,
            user_id=None,
        )
    assert res.updated == 1
    with db.session() as s:
        row = s.get(m.Encounter, pk)
        assert row is not None and {ln.code for ln in row.lines}.isdisjoint(codes)
        v = versions.current(s, pk)
        assert v is not None and v.kind == "corrected" and v.frequency_code == "7" and v.payer_claim_number
        assert row.work_status == "open"
        trail = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.object_type == "claim", m.AuditEntry.object_id == str(pk))
        ).all()
        assert any(e.action == "reupload" and e.detail.get("changes") for e in trail)
