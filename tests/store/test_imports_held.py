"""An import scrubs its claims against a book that takes the claims it just wrote as the importer
holds them (`bulk.SavedClaim.stored`: validated from the document written) instead of reading their
documents back (`histories.Book`, `held`). A claim as read from a file is not always the claim as
its stored document reads: an 837P service line whose unit count is not an X12 number is read with
units None, and its stored document (which leaves None out) reads back with the default 1. The
import must store exactly what reading the documents back stores: the same rows, findings, statuses,
versions, audit entries and patient names, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from painrcm import synth
from painrcm.model import Encounter as EncounterModel
from painrcm.scrub import Engine
from painrcm.store import imports
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.histories import Book
from painrcm.store.imports import file_hash, import_file, read_file
from painrcm.store.service_rows import COLUMNS
from painrcm.x12.writer837 import write_837
from tests.store.test_imports_scrub import other_db  # noqa: F401 - a fixture


def _files(engine: Engine) -> tuple[bytes, bytes]:
    """A history file and an 837P of new claims of the same patients, one of whose service lines
    has a unit count that is not an X12 number (read as units None)."""
    patients = synth.make_patients(8, 51)
    history = synth.generate_history_dicts(40, 51, patients=patients, policies=engine.policies)
    start = synth.DEFAULT_START + timedelta(days=1)
    encs = synth.generate_encounters(60, 52, start=start, days=60, patients=patients, engine=engine)
    for i, e in enumerate(encs):
        e.encounter_id = f"H{i:03d}"
    text = write_837([e for e in encs if e.lines])
    segments = text.split("~")
    sv1 = next(i for i, seg in enumerate(segments) if seg.lstrip().startswith("SV1*"))
    elements = segments[sv1].split("*")
    elements[4] = "1E0"  # an exponent: not an X12 number (CLM006); the line's units are unknown
    segments[sv1] = "*".join(elements)
    return json.dumps(history).encode(), "~".join(segments).encode()


def _import(
    db: Database, engine: Engine, kind: str, data: bytes, name: str, **kw: Any
) -> imports.ImportResult:
    with db.session() as s:
        job = m.ImportJob(
            kind=kind, file_name=name, file_hash=file_hash(data), practice_id=None, status="running"
        )
        s.add(job)
        s.flush()
        job_id = job.id
    return import_file(db, engine, job_id=job_id, data=data, **kw)


def _everything(db: Database) -> dict[str, Any]:
    """What the import stored, without row IDs and times."""
    with db.session() as s:
        claims = {}
        for row in s.scalars(select(m.Encounter).order_by(m.Encounter.id)):
            claims[row.encounter_id] = {
                "status": row.status,
                "work_status": row.work_status,
                "patient_name": row.patient_name,
                "document": row.document,
                "authorization_number": row.authorization_number,
                "total_charge": row.total_charge,
                "lines": [
                    (ln.line_no, ln.code, ln.modifiers, ln.units, ln.charge, ln.date_of_service)
                    for ln in row.lines
                ],
                "runs": [
                    (
                        r.status,
                        r.policy_id,
                        r.editions,
                        r.not_checked,
                        r.fixed_lines,
                        [(f.edit, f.severity, f.line, f.code, f.message, f.fix) for f in r.findings],
                    )
                    for r in row.scrub_runs
                ],
            }
        ss = m.StoredService.__table__.c
        services = sorted(
            tuple(r)
            for r in s.execute(
                select(m.Encounter.encounter_id, *[ss[c] for c in COLUMNS[2:]]).join(
                    m.StoredService, ss.encounter_pk == m.Encounter.id
                )
            )
        )
        versions = [
            (v.number, v.kind, v.reason, v.frequency_code, v.document)
            for v in s.scalars(select(m.ClaimVersion).order_by(m.ClaimVersion.id))
        ]
        audit = [
            (
                a.action,
                a.object_type,
                a.practice_id,
                {k: v for k, v in a.detail.items() if k != "encounter_pks"},
            )
            for a in s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))
        ]
    return {"claims": claims, "services": services, "versions": versions, "audit": audit}


def test_an_import_with_the_claims_it_holds_stores_what_reading_them_back_stores(
    db: Database,
    other_db: Database,  # noqa: F811
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history, new = _files(engine)
    # the reader's claim: units None on the line whose unit count is unreadable
    read = read_file("x12_837", new, "new.837")
    unknown = [e.encounter_id for e in read.encounters if e.lines and any(ln.units is None for ln in e.lines)]
    assert len(unknown) == 1

    # the reference: the book reads every document back (nothing held)
    real_book = imports.claims_book
    monkeypatch.setattr(imports, "claims_book", lambda s, engine, pks, held=None: real_book(s, engine, pks))
    _import(other_db, engine, "encounters", history, "history.json", work_status="history")
    _import(other_db, engine, "x12_837", new, "new.837")
    expected = _everything(other_db)

    held_seen: dict[int, EncounterModel] = {}

    def book(s: Any, engine: Engine, pks: Any, held: Any = None) -> Book:
        held_seen.update(held or {})
        return real_book(s, engine, pks, held)

    monkeypatch.setattr(imports, "claims_book", book)
    _import(db, engine, "encounters", history, "history.json", work_status="history")
    res = _import(db, engine, "x12_837", new, "new.837")
    assert res.scrubbed == res.added == len(read.encounters)
    # every claim of the file was held, as its stored document reads (units 1 on the unknown line)
    assert sorted(held_seen) == sorted(res.encounter_pks)
    with db.session() as s:
        for pk, enc in held_seen.items():
            row = s.get(m.Encounter, pk)
            assert row is not None
            assert enc == EncounterModel.model_validate(row.document)
            if row.encounter_id in unknown:
                assert [ln.units for ln in enc.lines or []].count(None) == 0
    got = _everything(db)
    assert got == expected
    runs = [r for c in got["claims"].values() for r in c["runs"]]
    assert len(runs) == len(read.encounters)
    assert sum(bool(r[5]) for r in runs) > 5  # the claims found something to say
    # the unreadable unit count is kept with the claim, and its line reads back with units 1
    assert got["claims"][unknown[0]]["document"]["unreadable_numbers"]
