"""One person across practices, and the database as the engine's history source."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.imports import import_bytes
from painrcm.store.services import scrub_row
from tests.store.synth import PRACTICE_B, as_bytes, block, epidural, rfa

pytestmark = pytest.mark.usefixtures("practices")


def _import(
    db: Database,
    engine: Engine,
    docs: list[dict[str, Any]],
    name: str,
    *,
    practice_id: str | None = None,
    work_status: str = "open",
) -> list[int]:
    with db.session() as s:
        res = import_bytes(
            s,
            engine,
            kind="encounters",
            data=as_bytes(docs),
            file_name=name,
            practice_id=practice_id,
            user_id=None,
            work_status=work_status,
        )
        return res.encounter_pks


def _edits(db: Database, engine: Engine, pk: int) -> set[str]:
    with db.session() as s:
        row = s.get(m.Encounter, pk)
        assert row is not None
        return {f.edit for f in scrub_row(s, row, engine).findings}


def test_same_member_and_dob_at_two_practices_is_one_person(db: Database, engine: Engine) -> None:
    _import(
        db,
        engine,
        [epidural("A-1", "2026-01-05"), epidural("B-1", "2026-02-05", practice=PRACTICE_B)],
        "two.json",
    )
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Person)) == 1
        charts = s.scalars(select(m.Chart).order_by(m.Chart.practice_id)).all()
        assert [c.practice_id for c in charts] == ["P01", "P02"]
        assert len({c.person_id for c in charts}) == 1
        assert {e.practice_id for e in s.scalars(select(m.Encounter))} == {"P01", "P02"}


def test_name_and_dob_match_without_the_same_member_id(db: Database, engine: Engine) -> None:
    other = epidural("B-1", "2026-02-05", practice=PRACTICE_B)
    other["patient"] = {**other["patient"], "member_id": "XYZ999", "last_name": "DOE ", "first_name": "jane"}
    different = epidural("B-2", "2026-02-06", practice=PRACTICE_B)
    different["patient"] = {**different["patient"], "member_id": "OTHER1", "dob": "1960-01-01"}
    _import(db, engine, [epidural("A-1", "2026-01-05"), other, different], "names.json")
    with db.session() as s:
        people = {e.encounter_id: e.person_id for e in s.scalars(select(m.Encounter))}
    assert people["A-1"] == people["B-1"] != people["B-2"]


def test_fifth_epidural_counts_sessions_stored_at_another_practice(db: Database, engine: Engine) -> None:
    earlier = [
        epidural(f"H-{i}", when, practice=PRACTICE_B)
        for i, when in enumerate(["2025-04-10", "2025-07-01", "2025-09-15", "2025-12-01"], 1)
    ]
    _import(db, engine, earlier[:3], "history.json", work_status="history")
    (pk,) = _import(db, engine, [epidural("C-1", "2026-03-02")], "claim.json", practice_id="P01")
    assert "FRQ001" not in _edits(db, engine, pk)  # the fourth session: within the limit
    _import(db, engine, earlier[3:], "more-history.json", work_status="history")
    assert "FRQ001" in _edits(db, engine, pk)
    with db.session() as s:
        row = s.get(m.Encounter, pk)
        assert row is not None and row.status == "error" and row.practice_id == "P01"


def test_rfa_after_two_stored_blocks_is_clean_of_nec001(db: Database, engine: Engine) -> None:
    (pk,) = _import(db, engine, [rfa("R-1", "2026-03-02")], "rfa.json", practice_id="P01")
    assert "NEC001" in _edits(db, engine, pk)  # no blocks stored yet
    blocks = [block("B-1", "2026-01-05", 85), block("B-2", "2026-01-26", 90)]
    blocks[1]["practice"] = PRACTICE_B  # a block done at another practice counts too
    _import(db, engine, blocks, "blocks.json", work_status="history")
    assert "NEC001" not in _edits(db, engine, pk)
