"""An import scrubs its file against one book of the patients' past, fetched once for the file
(`imports.claims_book`), and a large file on forked processes split by patient (`imports.scrub_file`).
What it stores must be what scrubbing the same claims one at a time, in the import's order, against
the database as it stands (`services.scrub_row`: `person_history`, `scrub_encounter`) stores: the
same runs, findings, statuses and coded lines, on both databases, in the importing process, on a pool
and when a pool process dies."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from painrcm import synth
from painrcm.scrub import Engine
from painrcm.store import imports, services
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.imports import file_hash, import_file
from tests.store.conftest import _pg_connect, _pg_url


def _files(engine: Engine) -> tuple[bytes, bytes]:
    """A history file and a file of new claims of the same few patients (each patient several times;
    most claims without lines, so they are coded and the patient's later claims see the coded lines)."""
    patients = synth.make_patients(6, 41)
    history = synth.generate_history_dicts(30, 41, patients=patients, policies=engine.policies)
    start = synth.DEFAULT_START + timedelta(days=1)
    new = synth.generate_encounter_dicts(
        40, 42, start=start, days=60, patients=patients[:3], policies=engine.policies
    )
    coded = synth.generate_encounters(16, 43, start=start, days=60, patients=patients, engine=engine)
    new += [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in coded]
    for i, d in enumerate(new):
        d["encounter_id"] = f"N{i:03d}-" + d["encounter_id"]
    # one patient comes back under a new member ID (matched by name and birth date)
    new[-1]["patient"] = {**new[-1]["patient"], "member_id": "ZZ999"}
    return json.dumps(history).encode(), json.dumps(new).encode()


def _import(db: Database, engine: Engine, data: bytes, name: str, **kw: Any) -> imports.ImportResult:
    with db.session() as s:
        job = m.ImportJob(
            kind="encounters", file_name=name, file_hash=file_hash(data), practice_id=None, status="running"
        )
        s.add(job)
        s.flush()
        job_id = job.id
    return import_file(db, engine, job_id=job_id, data=data, **kw)


def _stored(db: Database) -> dict[str, Any]:
    """Every claim's stored outcome of its latest scrub, by claim ID."""
    out: dict[str, Any] = {}
    with db.session() as s:
        for row in s.scalars(select(m.Encounter).where(m.Encounter.work_status != "history")):
            run = row.scrub_runs[-1] if row.scrub_runs else None
            out[row.encounter_id] = {
                "status": row.status,
                "work_status": row.work_status,
                "document": row.document,
                "lines": [(ln.line_no, ln.code, ln.modifiers, ln.units) for ln in row.lines],
                "runs": len(row.scrub_runs),
                "run": None
                if run is None
                else (run.status, run.policy_id, run.editions, run.not_checked, run.fixed_lines),
                "findings": []
                if run is None
                else [(f.edit, f.severity, f.line, f.code, f.message, f.fix) for f in run.findings],
            }
    return out


def _one_at_a_time(db: Database, engine: Engine, history: bytes, new: bytes) -> dict[str, Any]:
    """The file stored unscrubbed, then each claim scrubbed alone in the import's order (date of
    service, then row), against the database as it stands, its run and coded lines kept at once."""
    _import(db, engine, history, "history.json", work_status="history")
    _import(db, engine, new, "new.json", scrub=False)
    with db.session() as s:
        rows = sorted(
            s.scalars(select(m.Encounter).where(m.Encounter.work_status != "history")),
            key=lambda r: (r.date_of_service, r.id),
        )
        for row in rows:
            services.scrub_row(s, row, engine)
    return _stored(db)


@pytest.fixture
def other_db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A second migrated database of the same kind (the reference)."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'reference.db'}")
        try:
            yield database
        finally:
            database.engine.dispose()
        return
    name = request.getfixturevalue("pg_database") + "_ref"
    with _pg_connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    database = Database(_pg_url(name))
    try:
        yield database
    finally:
        database.engine.dispose()
        with _pg_connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _counting(monkeypatch: pytest.MonkeyPatch, die_in_pool: bool = False) -> list[int]:
    """Count the claims `scrub_rows` scrubs in this process; `die_in_pool`: a forked pool process
    that starts scrubbing dies at once (as when killed)."""
    parent = os.getpid()
    scrubbed_here: list[int] = []
    real: Callable[..., Any] = imports.scrub_rows

    def scrub_rows(engine: Engine, book: Any, pks: Any, rows: Any, ticker: Any = None) -> Any:
        if os.getpid() != parent:
            if die_in_pool:
                os._exit(3)
        else:
            scrubbed_here.extend(pks)
        return real(engine, book, pks, rows, ticker)

    monkeypatch.setattr(imports, "scrub_rows", scrub_rows)
    return scrubbed_here


@pytest.mark.parametrize("how", ["in process", "pool", "pool process dies"])
def test_an_import_stores_what_scrubbing_each_claim_alone_stores(
    db: Database, other_db: Database, engine: Engine, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    history, new = _files(engine)
    expected = _one_at_a_time(other_db, engine, history, new)

    _import(db, engine, history, "history.json", work_status="history")
    monkeypatch.setattr(imports, "POOL_MIN_CLAIMS", 2 if how != "in process" else 10**9)
    monkeypatch.setenv("PAINRCM_IMPORT_WORKERS", "2")
    here = _counting(monkeypatch, die_in_pool=how == "pool process dies")
    res = _import(db, engine, new, "new.json")
    assert res.scrubbed == res.added == 56

    got = _stored(db)
    assert got == expected
    assert all(v["runs"] == 1 for v in got.values())
    assert sum(bool(v["findings"]) for v in got.values()) > 10  # the claims found something to say
    assert sum(v["lines"] != [] for v in got.values()) == 56  # the claims without lines were coded
    if how == "pool":
        assert here == []  # every claim was scrubbed by the pool
    else:
        assert sorted(here) == sorted(res.encounter_pks)  # by the importing process


def test_the_pool_keeps_every_claim_of_a_patient_in_one_part_in_the_import_order(
    db: Database, engine: Engine
) -> None:
    from painrcm.store.rescrub import partition, same_patient

    rows = [(1, 10, "a", "x"), (2, 11, "b", "x"), (3, 12, "b", None), (4, 13, None, "y"), (5, 10, "a", "x")]
    patients = dict(same_patient(rows))
    assert patients[1] == patients[2] == patients[3] == patients[5] == 10 != patients[4]
    parts = partition(same_patient(rows), 2)
    assert sorted(parts, key=len) == [[4], [1, 2, 3, 5]]


def test_the_pool_s_first_parts_are_kept_while_it_scrubs_the_last_one(
    db: Database, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With a pool, each part's runs are kept as soon as the part is scrubbed: the last part's
    process waits until the importing process has kept a first part (it would wait in vain if the
    runs were kept only once every part was scrubbed), and everything is stored all the same."""
    from painrcm.store import bulk, rescrub

    history, new = _files(engine)
    _import(db, engine, history, "history.json", work_status="history")
    parent, kept, seen = os.getpid(), tmp_path / "kept", tmp_path / "seen"
    parts: list[list[int]] = []
    real_partition, real_scrub, real_write = rescrub.partition, imports.scrub_rows, bulk.write_scrub_results

    def partition(claims: Any, n: int) -> list[list[int]]:
        parts.extend(real_partition(claims, n))  # before the fork: the pool processes see them
        return parts

    def scrub_rows(engine: Engine, book: Any, pks: Any, rows: Any, ticker: Any = None) -> Any:
        if os.getpid() != parent and list(pks) == parts[-1]:
            for _ in range(200):  # (10 s at most)
                if kept.exists():
                    seen.write_text("kept before the last part was scrubbed")
                    break
                time.sleep(0.05)
        return real_scrub(engine, book, pks, rows, ticker)

    def write_scrub_results(s: Any, items: Any, book: Any = None) -> Any:
        if os.getpid() == parent:
            kept.touch()
        return real_write(s, items, book)

    monkeypatch.setattr(rescrub, "partition", partition)
    monkeypatch.setattr(imports, "scrub_rows", scrub_rows)
    monkeypatch.setattr(bulk, "write_scrub_results", write_scrub_results)
    monkeypatch.setattr(imports, "POOL_MIN_CLAIMS", 2)
    monkeypatch.setenv("PAINRCM_IMPORT_WORKERS", "2")
    res = _import(db, engine, new, "new.json")
    assert len(parts) >= 3
    assert seen.exists()
    assert res.scrubbed == res.added == 56
    got = _stored(db)
    assert all(v["runs"] == 1 and v["status"] != "unscrubbed" for v in got.values())
