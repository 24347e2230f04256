"""The bulk row writer (store/rows.py) on both databases: COPY on PostgreSQL, executemany on SQLite.
What the importer relies on: rows read back as a Core statement would have stored them (JSON, dates,
Python-side defaults), IDs in the rows' order, an update by ID that sets only its columns (and the
on-update time), text the schema cannot hold refused before anything is written (a NUL anywhere in a
JSON value too), and the stored services refreshed from the documents a writer holds equal to those
read back from the database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import BadText, Database
from painrcm.store.rows import among, insert_ids, insert_rows, json_text, update_by_id
from painrcm.store.service_rows import refresh_services
from tests.store.synth import as_bytes, epidural
from tests.store.test_imports import run

pytestmark = pytest.mark.usefixtures("practices")

ENC = m.Encounter.__table__
RUN = m.ScrubRun.__table__


def _claim(eid: str, person_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "practice_id": "P01",
        "encounter_id": eid,
        "person_id": person_id,
        "payer_id": "MCR",
        "date_of_service": date(2026, 3, 2),
        "place_of_service": "11",
        "document": {"encounter_id": eid, "notes": ["a", {"b": None}]},
        **extra,
    }


def _person(s: Any) -> int:
    return insert_ids(s, m.Person.__table__, [{"member_key": "M|1950-01-01", "dob": date(1950, 1, 1)}])[0]


def test_rows_read_back_as_a_core_insert_stores_them_with_ids_in_order(db: Database) -> None:
    with db.session() as s:
        person = _person(s)
        ids = insert_ids(s, ENC, [_claim(f"R-{i}", person) for i in range(5)])
        runs = insert_ids(
            s,
            RUN,
            [
                {"encounter_pk": ids[0], "status": "clean", "policy_id": None, "fixed_lines": None},
                {"encounter_pk": ids[1], "status": "errors", "policy_id": "mcr", "fixed_lines": [{"x": 1}]},
            ],
        )
    assert ids == sorted(ids) and len(set(ids)) == 5
    with db.session() as s:
        got = {e.id: e for e in s.scalars(select(m.Encounter))}
        assert [got[i].encounter_id for i in ids] == [f"R-{i}" for i in range(5)]
        e = got[ids[0]]
        assert e.document == {"encounter_id": "R-0", "notes": ["a", {"b": None}]}
        assert e.date_of_service == date(2026, 3, 2)
        # Python-side defaults of the columns left out, as a Core INSERT gives them
        assert (e.status, e.work_status) == ("unscrubbed", "open")
        r0, r1 = (s.get(m.ScrubRun, r) for r in runs)
        assert r0 is not None and r1 is not None
        assert (r0.editions, r0.not_checked, r0.fixed_lines) == ({}, [], None)
        assert (r1.status, r1.fixed_lines) == ("errors", [{"x": 1}])
        # the next writer numbers on after them
        more = insert_ids(s, ENC, [_claim("R-9", person)])
        assert more[0] > max(ids)


def test_an_update_by_id_sets_its_columns_only_and_the_update_time(db: Database) -> None:
    """Was (while writing it): the columns an update left out got their insert defaults (a document
    update turned a submitted claim back to open and unscrubbed)."""
    with db.session() as s:
        person = _person(s)
        a, b = insert_ids(
            s,
            ENC,
            [
                _claim("U-1", person, status="errors", work_status="submitted"),
                _claim("U-2", person, status="clean", work_status="open"),
            ],
        )
    with db.session() as s:
        before = s.get(m.Encounter, a)
        assert before is not None
        stamp = before.updated_at
        s.expunge_all()
        update_by_id(s, ENC, [{"b_id": a, "document": {"encounter_id": "U-1", "v": 2}}])
    with db.session() as s:
        e, other = s.get(m.Encounter, a), s.get(m.Encounter, b)
        assert e is not None and other is not None
        assert e.document == {"encounter_id": "U-1", "v": 2}
        assert (e.status, e.work_status, e.encounter_id) == ("errors", "submitted", "U-1")
        assert other.document["encounter_id"] == "U-2"
        assert stamp is None or e.updated_at is None or e.updated_at >= stamp


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda r: r.update(payer_id="M\x00CR"), "encounters.payer_id"),
        (lambda r: r.update(encounter_id="E" * 81), "encounters.encounter_id"),
        (lambda r: r["document"]["notes"][1].update(b="x\x00y"), "encounters.document"),
        (lambda r: r["document"].update({"k\x00": 1}), "encounters.document"),
    ],
)
def test_text_the_schema_cannot_hold_is_refused_before_anything_is_written(
    db: Database, change: Any, column: str
) -> None:
    rows = []
    with pytest.raises(BadText) as info, db.session() as s:
        person = _person(s)
        rows = [_claim("N-1", person), _claim("N-2", person)]
        change(rows[1])
        insert_rows(s, ENC, rows)
    assert str(info.value).startswith(column)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Encounter)) == 0
    assert rows


def test_a_backslash_u_sequence_that_is_no_nul_is_stored_as_it_is(db: Database) -> None:
    """JSON writes a NUL as \\u0000; text that merely looks like it is not refused."""
    with db.session() as s:
        pk = insert_ids(s, ENC, [_claim("B-1", _person(s), document={"note": "\\u0000 typed"})])[0]
    with db.session() as s:
        e = s.get(m.Encounter, pk)
        assert e is not None and e.document == {"note": "\\u0000 typed"}


def test_a_document_serialized_once_is_stored_as_it_reads_in_every_row_that_takes_it(db: Database) -> None:
    """A claim's document serialized once (`json_text`) for its claim row and its version row reads back
    as the document, and a NUL in it is still refused, naming the column."""
    doc = {"encounter_id": "J-1", "notes": ["a", {"b": None}], "units": 1.5}
    with db.session() as s:
        text = json_text(s, doc)
        pk = insert_ids(s, ENC, [_claim("J-1", _person(s), document=text)])[0]
        insert_rows(
            s,
            m.ClaimVersion.__table__,
            [{"encounter_pk": pk, "number": 1, "kind": "upload", "frequency_code": "1", "document": text}],
        )
    with db.session() as s:
        e = s.get(m.Encounter, pk)
        assert e is not None and e.document == doc
        assert s.scalars(select(m.ClaimVersion.document)).one() == doc
    with pytest.raises(BadText) as info, db.session() as s:
        insert_rows(s, ENC, [_claim("J-2", _person(s), document=json_text(s, {"note": "x\x00y"}))])
    assert str(info.value).startswith("encounters.document")


def test_small_values_many_rows_share_read_back_each_as_it_was(db: Database) -> None:
    """The writer serializes a short list or a dict of text once for the rows that share it: values
    Python counts equal but JSON writes apart (1, 1.0, True; a text "1") each read back as they were,
    and a NUL in a shared value is refused in every row."""
    fixed: list[Any] = [[1], [True], [1.0], ["1"], [1], [], ["50", "RT"], ["50", "RT"], None, [{"a": 1}]]
    editions: list[Any] = [
        {},
        {"a": "1"},
        {"a": "1"},
        {"b": 1},
        {"b": True},
        {"1": "x"},
        {},
        {"a": "1"},
        {},
        {},
    ]
    with db.session() as s:
        pk = insert_ids(s, ENC, [_claim("S-1", _person(s))])[0]
        runs = insert_ids(
            s,
            RUN,
            [
                {"encounter_pk": pk, "status": "clean", "fixed_lines": f, "editions": e}
                for f, e in zip(fixed, editions, strict=True)
            ],
        )
    with db.session() as s:
        got = {r.id: (r.fixed_lines, r.editions) for r in s.scalars(select(m.ScrubRun))}
    assert [got[r] for r in runs] == list(zip(fixed, editions, strict=True))
    assert [type(got[r][0][0]) for r in runs[:3]] == [int, bool, float]
    with pytest.raises(BadText) as info, db.session() as s:
        pk = insert_ids(s, ENC, [_claim("S-2", _person(s))])[0]
        insert_rows(
            s, RUN, [{"encounter_pk": pk, "status": "clean", "fixed_lines": ["x\x00"]} for _ in range(2)]
        )
    assert str(info.value).startswith("scrub_runs.fixed_lines")


def test_among_answers_as_in_for_many_values(db: Database) -> None:
    with db.session() as s:
        person = _person(s)
        ids = insert_ids(s, ENC, [_claim(f"A-{i}", person) for i in range(30)])
        wanted = ids[::3] + [10**9]
        got = set(s.scalars(select(m.Encounter.id).where(among(s, m.Encounter.id, wanted))))
        assert got == set(ids[::3])
        names = set(s.scalars(select(m.Encounter.encounter_id).where(among(s, ENC.c.encounter_id, ["A-1"]))))
        assert names == {"A-1"}


def _services(s: Any) -> Counter[tuple[Any, ...]]:
    sv, cu = m.StoredService, m.ClaimAuthUse
    cols = (sv.encounter_pk, sv.person_id, sv.member_key, sv.name_key, sv.date_of_service, sv.family)
    out = Counter(tuple(r) for r in s.execute(select(*cols, sv.region, sv.purpose, sv.codes)))
    uses = (cu.encounter_pk, cu.person_id, cu.member_key, cu.number_key, cu.date_of_service, cu.level)
    out.update(("use", *r) for r in s.execute(select(*uses, cu.lines, cu.codes)))
    return out


def test_services_refreshed_from_held_documents_equal_those_read_back(db: Database, engine: Engine) -> None:
    docs = [
        epidural("S-1", "2026-03-02", authorization_number="AUTH 1"),
        epidural("S-2", "2026-04-06"),
    ]
    run(db, engine, "encounters", as_bytes(docs), "s.json")
    with db.session() as s:
        held = _services(s)
        pks = list(s.scalars(select(m.Encounter.id)))
        assert any(k[0] == "use" for k in held)
        refresh_services(s, pks)
    with db.session() as s:
        assert _services(s) == held
        assert {e.authorization_number for e in s.scalars(select(m.Encounter))} == {"AUTH 1", None}


def test_a_member_id_learned_later_reaches_the_earlier_claims_authorization_uses(
    db: Database, engine: Engine
) -> None:
    """A claim with an authorization number of a patient known by name only; a later file brings the
    member ID: the person learns it, and the earlier claim's use is compared by it."""
    first = epidural("L-1", "2026-03-02", authorization_number="A-77")
    first["patient"] = {k: v for k, v in first["patient"].items() if k != "member_id"}
    run(db, engine, "encounters", as_bytes([first]), "a.json")
    with db.session() as s:
        assert [u.member_key for u in s.scalars(select(m.ClaimAuthUse))] == [""]
    run(db, engine, "encounters", as_bytes([epidural("L-2", "2026-04-06")]), "b.json")
    with db.session() as s:
        person = s.scalars(select(m.Person)).one()
        assert person.member_id
        keys = {u.member_key for u in s.scalars(select(m.ClaimAuthUse))}
        assert keys == {"".join(person.member_id.split()).upper()}


def test_dates_and_times_round_trip(db: Database) -> None:
    at = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    with db.session() as s:
        insert_rows(
            s,
            m.AuditEntry.__table__,
            [{"user_id": None, "action": "t", "object_type": "x", "detail": {"n": 1}, "at": at}],
        )
    with db.session() as s:
        a = s.scalars(select(m.AuditEntry)).one()
        assert a.detail == {"n": 1}
        assert a.at.replace(tzinfo=UTC) == at


def test_a_conflict_is_an_integrity_error_that_quotes_no_row_data(db: Database) -> None:
    """COPY's error context quotes the row it stopped at (a document, a patient's name): the error
    raised carries the database's primary message only."""
    with db.session() as s:
        person = _person(s)
        insert_rows(s, ENC, [_claim("C-1", person)])
    with pytest.raises(IntegrityError) as info, db.session() as s:
        insert_rows(s, ENC, [_claim("C-1", person, document={"patient": "Quillfeather"})])
    assert "Quillfeather" not in str(info.value) and "C-1" not in str(info.value)
