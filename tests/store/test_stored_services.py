"""The stored services table (store/service_rows.py) stays what the stored documents say after every
kind of write, and the frequency watch that reads it lists exactly what the full computation over
every patient's documents (`services.person_history`) lists: on a generated workspace with history,
documented-only encounters, claims coded on the way in, edits, fixes, corrections, voids, new
versions, API claims and identities that span person rows."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from painrcm import synth
from painrcm.model import Encounter as EncounterModel
from painrcm.scrub import Engine
from painrcm.store import claim_work
from painrcm.store import models as m
from painrcm.store import queries_claims as qc
from painrcm.store import queries_work as qw
from painrcm.store.db import Database
from painrcm.store.imports import import_bytes
from painrcm.store.service_rows import refresh_all, rows_of

START = synth.DEFAULT_START + timedelta(days=1)
ON = START + timedelta(days=60)


def _table(s: Any) -> Counter[tuple[Any, ...]]:
    sv = m.StoredService
    cols = (sv.encounter_pk, sv.person_id, sv.member_key, sv.name_key, sv.date_of_service, sv.family)
    cols += (sv.region, sv.purpose, sv.codes)
    return Counter(tuple(r) for r in s.execute(select(*cols)))


def _from_documents(s: Any, engine: Engine) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for pk, person_id, doc in s.execute(select(m.Encounter.id, m.Encounter.person_id, m.Encounter.document)):
        out.update(rows_of(pk, person_id, EncounterModel.model_validate(doc), engine.reference))
    return out


def _full_watch(s: Any, engine: Engine, on: date) -> list[dict[str, Any]]:
    """Every patient's standing from their documents (the path before the stored services)."""
    want = []
    for pid, enc in qw._latest_encounters(s, None, on).items():
        person = s.get(m.Person, pid)
        assert person is not None
        want += qw.person_standing(s, engine, person, qw._payer_model(s, enc.payer_id), on, enc.practice_id)
    want.sort(
        key=lambda r: (r.left, r.next_payable, r.practice_id, r.patient or "", r.limit_id, r.region or "")
    )
    return [r.to_dict() for r in want]


def _check(db: Database, engine: Engine, what: str) -> list[dict[str, Any]]:
    with db.session() as s:
        assert _table(s) == _from_documents(s, engine), f"stored services after {what}"
        user = s.scalars(select(m.User).where(m.User.role == "admin")).one()
        for on in (ON, ON + timedelta(days=200)):
            got = [r.to_dict() for r in qw.frequency_watch(s, user, engine, on=on, audit=False)]
            assert got == _full_watch(s, engine, on), f"frequency watch after {what} on {on}"
        return got


def _import(db: Database, engine: Engine, name: str, docs: list[dict[str, Any]], **kw: Any) -> Any:
    with db.session() as s:
        return import_bytes(
            s, engine, kind="encounters", data=json.dumps(docs).encode(), file_name=name,
            practice_id=None, user_id=None, **kw,
        )  # fmt: skip


def _dump(encs: list[EncounterModel]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in encs]


@pytest.fixture
def workspace(db: Database, engine: Engine) -> Database:
    patients = synth.make_patients(50, 31)
    # identities that span person rows: a patient first known by member ID alone, then by name alone,
    # then by both (the first row learns the name key the second row holds)
    twin = synth.make_patients(1, 99)[0]
    member_only = synth._public_patient(dict(twin, last_name=None, first_name=None))
    name_only = synth._public_patient(dict(twin, member_id=None))
    past = []
    for i, d in enumerate(synth.generate_history_dicts(9, 33, patients=[twin], end=START)):
        d["patient"] = [member_only, name_only, synth._public_patient(twin)][min(i, 2)]
        past.append(d)  # documented procedures only (no lines)
    past += _dump(synth.generate_history(700, 32, patients=[*patients, twin], end=START, engine=engine))
    notes = synth.generate_history_dicts(8, 34, patients=patients[1:5], end=START, policies=engine.policies)
    claims = _dump(synth.generate_encounters(50, 35, patients=patients, start=START, days=60, engine=engine))
    uncoded = synth.generate_encounter_dicts(
        6, 36, start=START, patients=patients[:6], policies=engine.policies
    )
    for d in uncoded:
        d["encounter_id"] = "U" + d["encounter_id"]
    with db.session() as s:
        for p in synth.PRACTICES:
            s.add(m.Practice(id=p["id"], name=p["name"], npi=p["npi"], kind=p["kind"], state=p["state"]))
        s.add(m.User(email="a@x.test", name="A", password_hash="x", role="admin"))
    _import(db, engine, "past.json", past, work_status="history", scrub=False)
    _import(db, engine, "notes.json", notes, work_status="history", scrub=False)
    _import(db, engine, "claims.json", claims, scrub=False)
    _import(db, engine, "uncoded.json", uncoded)  # coded and scrubbed on the way in
    with db.session() as s:
        shared = [p for p in s.scalars(select(m.Person)) if p.dob == date.fromisoformat(twin["dob"])]
        assert len({p.id for p in shared if p.last_name == twin["last_name"]}) >= 2  # rows share a key
    return db


def test_stored_services_and_the_watch_after_every_kind_of_write(workspace: Database, engine: Engine) -> None:
    db = workspace
    assert _check(db, engine, "imports"), "some patients are at or near a limit"
    with db.session() as s:
        user = s.scalars(select(m.User)).one()
        open_claims = list(
            s.scalars(select(m.Encounter).where(m.Encounter.work_status == "open").order_by(m.Encounter.id))
        )
        ids = [r.id for r in open_claims]
        docs = {r.id: dict(r.document) for r in open_claims}
    # an edit: other lines (another family) on a claim
    with db.session() as s:
        user = s.scalars(select(m.User)).one()
        lines = [{"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}]
        claim_work.edit_claim(s, user, ids[0], {"lines": lines}, "changed the procedure", engine)
    _check(db, engine, "an edit")
    # a re-upload with changes (a new version), moved to another date and to another patient
    changed = dict(docs[ids[1]], date_of_service=(START + timedelta(days=5)).isoformat())
    changed["lines"] = [dict(ln, date_of_service=None) for ln in changed.get("lines", [])]
    changed["patient"] = dict(docs[ids[2]]["patient"])
    _import(db, engine, "again.json", [changed], scrub=False)
    _check(db, engine, "a new version")
    # submitted, then marked for a corrected claim and for a void, then edited again
    with db.session() as s:
        user = s.scalars(select(m.User)).one()
        for pk, freq in ((ids[3], "7"), (ids[4], "8")):
            s.get_one(m.Encounter, pk).work_status = "submitted"  # sent (submitting is not a write here)
            claim_work.mark_correction(s, user, pk, "payer asked", frequency=freq)
        claim_work.edit_claim(s, user, ids[4], {"lines": [{"code": "20552", "units": 1}]}, "void", engine)
    _check(db, engine, "corrections and voids")
    # a resubmission of a submitted claim through an import (a corrected claim)
    with db.session() as s:
        user = s.scalars(select(m.User)).one()
        s.get_one(m.Encounter, ids[5]).work_status = "submitted"
    corrected = dict(docs[ids[5]], diagnoses=[*docs[ids[5]]["diagnoses"], "M54.50"])
    _import(db, engine, "corrected.json", [corrected], scrub=False)
    _check(db, engine, "a corrected claim re-uploaded")
    # a claim created through the API, and a safe fix of a claim with a repeated line
    new = dict(docs[ids[6]], encounter_id="API-1")
    dup = dict(docs[ids[7]], encounter_id="DUP-1")
    dup["lines"] = [*dup["lines"], dup["lines"][0]]
    with db.session() as s:
        user = s.scalars(select(m.User)).one()
        qc.create_claim(s, user, new, engine)
        created, _ = qc.create_claim(s, user, dup, engine)
        try:
            qc.fix_claim(s, user, created["id"], engine)
        except qc.Conflict:
            pass
    _check(db, engine, "an API claim and a fix")
    # a history file that adds to a patient's past
    more = _dump(
        synth.generate_history(120, 37, patients=synth.make_patients(50, 31)[:10], end=ON, engine=engine)
    )
    for d in more:
        d["encounter_id"] = "M" + d["encounter_id"]
    _import(db, engine, "more-past.json", more, work_status="history", scrub=False)
    _check(db, engine, "a history import")


def test_refresh_all_rebuilds_the_table(workspace: Database, engine: Engine) -> None:
    """The migration's backfill (and a repair): the whole table from the documents."""
    with workspace.session() as s:
        before = _table(s)
        s.execute(m.StoredService.__table__.delete())
        assert not _table(s)
        refresh_all(s)
        assert _table(s) == before == _from_documents(s, engine)


def test_admin_refresh_services_repairs_a_stale_table(workspace: Database, engine: Engine) -> None:
    """`painrcm admin refresh-services`: the repair after new code tables, from the command line."""
    from typer.testing import CliRunner

    from painrcm.cli import app

    with workspace.session() as s:
        before = _table(s)
        some = sorted({pk for pk, *_ in before})[::2]
        s.execute(m.StoredService.__table__.delete().where(m.StoredService.encounter_pk.in_(some)))
        assert _table(s) != before
    url = workspace.engine.url.render_as_string(hide_password=False)
    res = CliRunner().invoke(app, ["admin", "refresh-services", "--db", url])
    assert res.exit_code == 0, res.stderr
    assert f"{sum(before.values()):,} rows" in res.stdout
    with workspace.session() as s:
        assert _table(s) == before
        # and today's frequency standings are ready for the day's first read of the watch
        from painrcm.store import services

        assert s.get(m.StandingSnapshot, services.today()) is not None
