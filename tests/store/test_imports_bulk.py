"""Imports write a file's claims set-based (store/bulk.py): what one claim at a time decided still holds
when a file's claims are read, decided and written together: one new patient's claims in one file are
one person, keys learned by an earlier claim match a later one, a file mixing new claims, new versions,
corrected claims and unchanged ones says so per claim, and a unique conflict in the middle of the write
leaves nothing behind."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from painrcm.scrub import Engine
from painrcm.store import bulk, versions
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.jobs import create_job, execute
from tests.store.synth import as_bytes, epidural
from tests.store.test_imports import claim_with_lines, counts, run

pytestmark = pytest.mark.usefixtures("practices")

EVERY_TABLE = (m.Person, m.Chart, m.Payer, m.Encounter, m.ClaimLine, m.ClaimVersion, m.AuditEntry, m.ScrubRun)


def _patient(doc: dict[str, Any], **patient: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["patient"] = {**out["patient"], **patient}
    for k in [k for k, v in patient.items() if v is None]:
        del out["patient"][k]
    return out


def _rows(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0 for t in EVERY_TABLE}


def _job(db: Database, engine: Engine, docs: list[dict[str, Any]], name: str) -> m.ImportJob:
    job_id, _ = create_job(db, "encounters", as_bytes(docs), name, "P01", None)
    st = execute(db, job_id, engine=engine)
    assert st is not None and st.status == "done", st
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        assert job is not None
        return job


def test_two_claims_of_one_new_patient_in_one_file_are_one_person_with_one_chart(
    db: Database, engine: Engine
) -> None:
    docs = [epidural("E-1", "2026-03-02"), epidural("E-2", "2026-04-06")]
    _job(db, engine, docs, "two.json")
    with db.session() as s:
        persons = list(s.scalars(select(m.Person)))
        assert len(persons) == 1
        assert [(c.practice_id, c.person_id, c.chart_id) for c in s.scalars(select(m.Chart))] == [
            ("P01", persons[0].id, "P01-000123")
        ]
        assert {e.person_id for e in s.scalars(select(m.Encounter))} == {persons[0].id}
        assert s.scalar(select(func.count()).select_from(m.Payer)) == 1


def test_keys_learned_from_an_earlier_claim_match_a_later_claim_of_the_same_file(
    db: Database, engine: Engine
) -> None:
    """Claim 1 brings name + DOB only; claim 2 the same name with a member ID (the person learns it);
    claim 3 the member ID with another spelling of the name: all three are one person, as matching
    the claims one at a time would find."""
    base = epidural("E-1", "2026-03-02")
    docs = [
        _patient(base, member_id=None),
        _patient(epidural("E-2", "2026-03-09"), member_id="W123 456"),
        _patient(epidural("E-3", "2026-03-16"), member_id="w123456", first_name="Janet"),
        _patient(epidural("E-4", "2026-03-23"), member_id="OTHER1", first_name="Ann", last_name="Roe"),
    ]
    _job(db, engine, docs, "learn.json")
    with db.session() as s:
        of = {e.encounter_id: e.person_id for e in s.scalars(select(m.Encounter))}
        assert of["E-1"] == of["E-2"] == of["E-3"] != of["E-4"]
        person = s.get(m.Person, of["E-1"])
        assert person is not None
        assert person.member_id == "W123 456" and person.member_key and person.name_key
        assert (person.first_name, person.dob) == ("Jane", date(1956, 4, 2))
        assert s.scalar(select(func.count()).select_from(m.Person)) == 2


def test_a_stored_person_learns_a_key_and_keeps_the_lowest_id(db: Database, engine: Engine) -> None:
    run(db, engine, "encounters", as_bytes([_patient(epidural("E-1", "2026-03-02"), member_id=None)]), "a")
    run(
        db,
        engine,
        "encounters",
        as_bytes([_patient(epidural("E-2", "2026-03-03"), last_name="Doe-Smith")]),
        "b",
    )
    with db.session() as s:
        first, second = sorted(s.scalars(select(m.Person.id)))
    # a claim matching both stored persons (member ID of the second, name of the first) takes the first
    run(db, engine, "encounters", as_bytes([epidural("E-3", "2026-03-04")]), "c")
    with db.session() as s:
        e3 = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "E-3")).one()
        assert e3.person_id == first
        person = s.get(m.Person, first)
        assert person is not None and person.member_id == "1EG4TE5MK73"  # learned from E-3
        assert second != first


def test_a_file_mixing_new_claims_new_versions_corrected_and_unchanged_says_so_per_claim(
    db: Database, engine: Engine
) -> None:
    first = [claim_with_lines("A-1"), claim_with_lines("A-2"), claim_with_lines("A-3")]
    for i, d in enumerate(first):
        d["patient"] = {**d["patient"], "member_id": f"MEM{i}", "last_name": f"Last{i}"}
    _job(db, engine, first, "first.json")
    with db.session() as s:
        a2 = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "A-2")).one()
        a2.work_status = "submitted"
        remit = m.Remittance(practice_id="P01", payer_name="X", trace_number="T1", payment_amount=0)
        claim = m.RemitClaim(
            practice_id="P01",
            patient_control_number="A-2",
            status_code="1",
            payer_claim_number="PCN-A-2",
            encounter_pk=a2.id,
        )
        line = m.RemitLine(practice_id="P01", code="77003", claim_line_id=a2.lines[1].id)
        claim.lines.append(line)
        remit.claims.append(claim)
        s.add(remit)
    changed = copy.deepcopy(first)
    changed[0]["date_of_service"] = "2026-03-05"  # a new version
    changed[1]["lines"] = list(reversed(changed[1]["lines"]))  # A-2 (submitted): a corrected claim
    new = claim_with_lines("A-4")
    job = _job(db, engine, [changed[0], new, changed[2], changed[1]], "second.json")
    said = dict(line.split(": ", 1) for line in (job.message or "").splitlines() if line.startswith("A-"))
    assert said == {
        "A-1": "new version",
        "A-4": "added",
        "A-3": "already imported, unchanged",
        "A-2": "corrected claim (it had been submitted)",
    }
    assert (job.message or "").startswith("4 record(s): 1 added, 2 updated, 1 unchanged, 3 scrubbed")
    with db.session() as s:
        rows = {e.encounter_id: e for e in s.scalars(select(m.Encounter))}
        kinds = {
            eid: [
                (v.number, v.kind, v.frequency_code, v.payer_claim_number)
                for v in versions.versions_of(s, r.id)
            ]
            for eid, r in rows.items()
        }
        assert kinds == {
            "A-1": [(1, "upload", "1", None), (2, "reupload", "1", None)],
            "A-2": [(1, "upload", "1", None), (2, "corrected", "7", "PCN-A-2")],
            "A-3": [(1, "upload", "1", None)],
            "A-4": [(1, "upload", "1", None)],
        }
        assert rows["A-2"].work_status == "open"  # it must be sent again
        assert [ln.code for ln in rows["A-2"].lines] == ["77003", "64483"]
        # the remittance line follows its code to the new line
        rl = s.scalars(select(m.RemitLine)).one()
        assert rl.claim_line_id == rows["A-2"].lines[0].id
        entries = list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "reupload")))
        assert sorted(
            (e.object_id, e.detail["version"], e.detail["after"]["work_status"]) for e in entries
        ) == sorted([(str(rows["A-1"].id), 2, "open"), (str(rows["A-2"].id), 2, "open")])
        changes = {e.object_id: e.detail["changes"] for e in entries}
        assert any(c["field"] == "date_of_service" for c in changes[str(rows["A-1"].id)])
        # every claim changed or added has exactly one new scrub run; the unchanged one kept its own
        runs = {eid: len(r.scrub_runs) for eid, r in rows.items()}
        assert runs == {"A-1": 2, "A-2": 2, "A-3": 1, "A-4": 1}


def test_claims_without_lines_keep_their_coded_lines_through_a_job(db: Database, engine: Engine) -> None:
    docs = []
    for i in range(3):
        d = epidural(f"C-{i}", f"2026-03-{i + 2:02d}")
        d.pop("lines", None)
        d["patient"] = {**d["patient"], "member_id": f"MC{i}", "last_name": f"Coded{i}"}
        docs.append(d)
    _job(db, engine, docs, "coded.json")
    with db.session() as s:
        for e in s.scalars(select(m.Encounter)):
            assert [ln.code for ln in e.lines] and e.document["lines"], e.encounter_id
            assert [ln["code"] for ln in e.document["lines"]] == [ln.code for ln in e.lines]
            assert e.status != "unscrubbed" and len(e.scrub_runs) == 1


def test_a_unique_conflict_in_the_middle_of_the_write_stores_nothing(
    db: Database, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim another writer stored after this import read the stored claims: the insert fails on the
    unique key half-way through the write (persons and charts already written): the whole file is
    rolled back; the web app answers such an IntegrityError with 409."""
    run(db, engine, "encounters", as_bytes([claim_with_lines("U-1")]), "u1.json")
    before = counts(db), _rows(db)
    real = bulk._stored_claims

    def blind(s: Any, wanted: set[tuple[str, str]]) -> Any:
        return {k: v for k, v in real(s, wanted).items() if k[1] != "U-1"}

    monkeypatch.setattr(bulk, "_stored_claims", blind)
    other = _patient(epidural("U-0", "2026-03-01"), member_id="NEW1", last_name="Newperson")
    with pytest.raises(IntegrityError):
        run(
            db,
            engine,
            "encounters",
            as_bytes([other, claim_with_lines("U-1"), epidural("U-2", "2026-03-03")]),
            "x",
        )
    assert (counts(db), _rows(db)) == before


def test_a_history_import_in_short_transactions_is_not_scrubbed(db: Database, engine: Engine) -> None:
    """Was: `import_file` scrubbed the claims of a history file (or of `scrub=False`) all the same."""
    from painrcm.store.imports import file_hash, import_file

    data = as_bytes([epidural("H-1", "2025-03-02"), epidural("H-2", "2025-06-02")])
    with db.session() as s:
        job = m.ImportJob(kind="encounters", file_name="h.json", file_hash=file_hash(data), practice_id="P01")
        s.add(job)
        s.flush()
        job_id = job.id
    res = import_file(db, engine, job_id=job_id, data=data, work_status="history")
    assert (res.added, res.scrubbed) == (2, 0)
    with db.session() as s:
        rows = list(s.scalars(select(m.Encounter)))
        assert {(e.work_status, e.status, len(e.scrub_runs)) for e in rows} == {("history", "unscrubbed", 0)}
        assert s.scalar(select(func.count()).select_from(m.ClaimVersion)) == 0
