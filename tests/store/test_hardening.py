"""The store under faults, races and hostile input, on SQLite and PostgreSQL (issue 8):
short-transaction imports keep the single-transaction results, overlapping imports end with
per-claim outcomes, dead workers' jobs are failed and run again on re-upload, schema limits are
located import errors, and no patient data reaches a log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import BadText, Database
from painrcm.store.imports import import_bytes
from painrcm.store.jobs import (
    InProcessRunner,
    create_job,
    execute,
    reap_dead_jobs,
    worker_id,
)
from painrcm.store.safelog import safe_trace
from tests.store.synth import as_bytes, block, epidural, rfa

pytestmark = pytest.mark.usefixtures("practices")


def _findings(db: Database) -> dict[str, list[tuple[str, int | None, str]]]:
    with db.session() as s:
        out = {}
        for enc in s.scalars(select(m.Encounter).order_by(m.Encounter.encounter_id)):
            run = enc.scrub_runs[-1] if enc.scrub_runs else None
            out[enc.encounter_id] = sorted(
                (f.edit, f.line, f.message) for f in (run.findings if run else [])
            ) + [("status", None, enc.status)]
        return out


def _count(db: Database, table: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def history_file() -> bytes:
    # a block then an ablation of one patient: the later claim is scrubbed against the earlier one
    return as_bytes([block("B-1", "2026-01-10", 85), rfa("R-1", "2026-02-20"), epidural("E-1", "2026-03-02")])


def test_short_transaction_import_finds_what_one_transaction_finds(
    db: Database, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The background path (import_file: stage, one short write, scrub outside) stores the same
    findings as the single-transaction import."""
    data = history_file()
    runner = InProcessRunner(db, engine)
    job_id = runner.submit("encounters", data, "h.json", "P01", None)
    st = runner.wait(job_id, timeout=120)
    assert st is not None and st.status == "done", st
    background = _findings(db)
    other = Database(f"sqlite:///{tmp_path_factory.mktemp('one') / 'one.db'}")
    with other.session() as s:
        s.add(m.Practice(id="P01", name="Mesa", npi="1245319599", kind="physician", state="CA"))
    with other.session() as s:
        import_bytes(
            s, engine, kind="encounters", data=data, file_name="h.json", practice_id="P01", user_id=None
        )
    assert _findings(other) == background
    assert any(f[0] != "status" for fs in background.values() for f in fs)  # something was found
    other.engine.dispose()


def test_overlapping_imports_of_the_same_claims_end_with_per_claim_outcomes(
    db: Database, engine: Engine
) -> None:
    """Two files sharing claims imported at the same moment: both jobs end done (never an internal
    IntegrityError), each shared claim is stored once, and each job reports it as added or unchanged."""
    shared = [epidural(f"S-{i}", f"2026-03-{i + 1:02d}") for i in range(6)]
    for d in shared:
        d["patient"] = {**d["patient"], "member_id": f"M{d['encounter_id']}", "last_name": d["encounter_id"]}
    file_a = as_bytes([*shared, epidural("A-only", "2026-03-20")])
    file_b = as_bytes([epidural("B-only", "2026-03-21"), *shared])
    for _round in range(2):
        ids = [
            create_job(db, "encounters", data, f"{name}-{_round}.json", "P01", None)[0]
            for name, data in (("a", file_a), ("b", file_b))
        ]
        results: dict[int, object] = {}

        def go(job_id: int, results: dict[int, object] = results) -> None:
            results[job_id] = execute(db, job_id, engine=engine)

        threads = [threading.Thread(target=go, args=(j,)) for j in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        for j in ids:
            st = results[j]
            assert st is not None and st.status == "done", st  # type: ignore[attr-defined]
        with db.session() as s:
            msgs = [s.get(m.ImportJob, j).message or "" for j in ids]  # type: ignore[union-attr]
        if _round == 0:
            # 7 records each; the 6 shared ones added by whichever wrote first, unchanged for the other
            assert sorted(int(x.split(" added")[0].split(": ")[-1]) for x in msgs) == [1, 7], msgs
            # and says per claim what happened: added by the job that wrote first, unchanged for the other
            for d in shared:
                said = sorted(line.split(": ", 1)[1] for x in msgs for line in x.splitlines()
                              if line.startswith(f"{d['encounter_id']}: "))  # fmt: skip
                assert said == ["added", "already imported, unchanged"], (d["encounter_id"], msgs)
        else:  # the same files again: nothing new (their jobs are done: the same file is not re-run)
            assert all("record(s)" in x for x in msgs), msgs
    with db.session() as s:
        eids = list(s.scalars(select(m.Encounter.encounter_id)))
    assert len(eids) == len(set(eids)) == 8
    assert _count(db, m.Person) == 8 - 2 + 1  # 6 own patients + Jane Doe of A-only and B-only
    # a file changing one of them: that claim becomes a new version, the rest stay as they are
    changed = [dict(d) for d in shared]
    changed[0]["diagnoses"] = ["M54.17"]
    job_id = create_job(db, "encounters", as_bytes(changed), "c.json", "P01", None)[0]
    st = execute(db, job_id, engine=engine)
    assert st is not None and st.status == "done", st
    with db.session() as s:
        msg = s.get(m.ImportJob, job_id).message or ""  # type: ignore[union-attr]
    assert f"{shared[0]['encounter_id']}: new version" in msg.splitlines(), msg
    assert f"{shared[1]['encounter_id']}: already imported, unchanged" in msg.splitlines(), msg


def test_a_dead_workers_job_is_failed_and_the_file_imports_on_retry(db: Database, engine: Engine) -> None:
    data = as_bytes([epidural("D-1", "2026-03-02")])
    job_id, run = create_job(db, "encounters", data, "dead.json", "P01", None)
    assert run
    # as a worker process that died mid-import leaves it: running, its pid gone
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        assert job is not None
        job.status, job.worker = "running", f"{worker_id().rsplit(':', 1)[0]}:{_dead_pid()}"
        job.heartbeat_at = datetime.now(UTC)
    assert create_job(db, "encounters", data, "dead.json", "P01", None) == (job_id, True)  # re-upload
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        assert job is not None and job.status == "queued"
    assert [e.action for e in _audit(db, "import_failed")] == ["import_failed"]
    st = execute(db, job_id, engine=engine)
    assert st is not None and st.status == "done" and _count(db, m.Encounter) == 1


def test_the_watchdog_fails_a_job_whose_heartbeat_stopped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAINRCM_JOB_STALE_SECONDS", "5")
    data = as_bytes([epidural("H-1", "2026-03-02")])
    job_id, _ = create_job(db, "encounters", data, "hb.json", "P01", None)
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        assert job is not None
        job.status, job.worker = "running", "another-host:1"  # a worker elsewhere: only its heartbeat tells
        job.heartbeat_at = datetime.now(UTC) - timedelta(seconds=2)
    assert reap_dead_jobs(db) == []  # still beating recently
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        assert job is not None
        job.heartbeat_at = datetime.now(UTC) - timedelta(seconds=60)
    assert reap_dead_jobs(db) == [job_id]
    with db.session() as s:
        job = s.get(m.ImportJob, job_id)
        assert job is not None and job.status == "failed"
        assert "no heartbeat" in (job.message or "") and "upload the file again" in (job.message or "")


def _audit(db: Database, action: str) -> list[m.AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action)))


@pytest.mark.parametrize(
    ("change", "place", "expected"),
    [
        (lambda d: d.update(encounter_id="E" * 90), "$[0].encounter_id", "at most 80 characters (got 90)"),
        (
            lambda d: d["patient"].update(last_name="Do\x00e"),
            "$[0].patient.last_name",
            "text without NUL characters",
        ),
        (
            lambda d: d.update(lines=[dict(d["lines"][0]) for _ in range(51)]),
            "$[0].lines",
            "at most 50 service lines per claim",
        ),
        (
            lambda d: d["lines"][0].update(control_number="C" * 51),
            "$[0].lines[0].control_number",
            "at most 50 characters",
        ),
    ],
)
def test_values_the_schema_cannot_hold_are_located_import_errors(
    db: Database, engine: Engine, change, place: str, expected: str
) -> None:
    doc = epidural("X-1", "2026-03-02")
    change(doc)
    job_id, _ = create_job(db, "encounters", as_bytes([doc]), "bad.json", "P01", None)
    st = execute(db, job_id, engine=engine)
    assert st is not None and st.status == "failed"
    assert (st.message or "").startswith(f"bad.json: {place}: {expected}"), st.message
    assert _count(db, m.Encounter) == 0 and _count(db, m.Person) == 0


def test_a_nul_in_a_filter_or_a_value_is_refused_the_same_on_both_databases(db: Database) -> None:
    with pytest.raises(BadText), db.session() as s:
        s.scalars(select(m.Encounter).where(m.Encounter.payer_id == "A\x00B")).all()
    with pytest.raises(BadText), db.session() as s:
        s.add(m.Practice(id="P9", name="Bad\x00Name", kind="physician"))
    with pytest.raises(BadText), db.session() as s:
        s.add(m.Practice(id="P" * 41, name="Long", kind="physician"))


PHI = {
    "member_id": "ZQPHI77123",
    "last_name": "Quillfeather",
    "first_name": "Oriabel",
    "dob": "1931-07-29",
}


def test_no_patient_data_reaches_any_log(
    db: Database, engine: Engine, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Everything at DEBUG from every logger (SQLAlchemy's engine included) while known synthetic PHI
    is imported, refused and made to fail in the database: none of it appears."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    try:
        good = epidural("PHI-1", "2026-03-02")
        good["patient"] = {**good["patient"], **PHI}
        runner = InProcessRunner(db, engine)
        st = runner.wait(runner.submit("encounters", as_bytes([good]), "phi.json", "P01", None), timeout=120)
        assert st is not None and st.status == "done"
        bad = dict(good, encounter_id="PHI-2")
        bad["patient"] = {**good["patient"], "first_name": PHI["first_name"] + "\x00"}
        st = runner.wait(runner.submit("encounters", as_bytes([bad]), "phi2.json", "P01", None), timeout=120)
        assert st is not None and st.status == "failed"
        # a database error whose statement carries the PHI (a duplicate primary key)
        with pytest.raises(Exception) as info, db.session() as s:
            s.add(m.Payer(id=PHI["member_id"], name=PHI["last_name"], plan="commercial"))
            s.add(m.Payer(id=PHI["member_id"], name=PHI["first_name"], plan="commercial"))
            s.flush()
        # how the app logs an error it did not expect (web guards, job runner): type and place only
        logging.getLogger("painrcm.test").error("a database error: %s", safe_trace(info.value))
        assert "IntegrityError" in caplog.text
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    out, err = capfd.readouterr()
    text = caplog.text + out + err + "\n".join(str(r.args) for r in caplog.records)
    assert "parameters hidden" in text.lower() or "INSERT" in text  # SQL was logged, without values
    for value in PHI.values():
        assert value not in text
        assert value.upper() not in text


def test_heartbeat_env_is_read_at_run_time() -> None:
    from painrcm.store import jobs

    old = os.environ.get("PAINRCM_JOB_STALE_SECONDS")
    os.environ["PAINRCM_JOB_STALE_SECONDS"] = "12"
    try:
        assert jobs.stale_seconds() == 12 and jobs.heartbeat_seconds() == 2
    finally:
        if old is None:
            del os.environ["PAINRCM_JOB_STALE_SECONDS"]
        else:
            os.environ["PAINRCM_JOB_STALE_SECONDS"] = old


def test_an_authorization_log_value_too_long_is_a_located_import_error(db: Database, engine: Engine) -> None:
    from tests.store.synth import auth_csv

    data = auth_csv(
        "A1,MEDICARE,M1,64483,4,2026-01-01,2026-06-30,,approved",
        "A" * 90 + ",MEDICARE,M1,64483,4,2026-01-01,2026-06-30,,approved",
    )
    job_id, _ = create_job(db, "auths", data, "auths.csv", "P01", None)
    st = execute(db, job_id, engine=engine)
    assert st is not None and st.status == "failed"
    assert st.message == "auths.csv: record 2, field auth_number: at most 80 characters (got 90)"
    assert _count(db, m.Authorization) == 0


def test_an_835_through_a_job_is_explained_before_the_write_and_linked_to_the_claims(
    db: Database, engine: Engine
) -> None:
    from tests.store.synth import Clp, SvcLine, write_835
    from tests.store.test_imports import claim_with_lines

    runner = InProcessRunner(db, engine)
    st = runner.wait(
        runner.submit("encounters", as_bytes(claim_with_lines("E-1")), "c.json", "P01", None), 120
    )
    assert st is not None and st.status == "done"
    text = write_835(
        [
            Clp(
                "E-1",
                [
                    SvcLine("64483", 900, 300, [("CO", "45", 600)], ["RT"], "E-1-1"),
                    SvcLine("77003", 200, 0, [("CO", "97", 200)], [], "E-1-2"),
                ],
            )
        ]
    )
    for _ in range(2):  # the second file is the same remittance again: unchanged
        st = runner.wait(runner.submit("x12_835", text.encode() + b"\n" * _, "era.835", "P01", None), 120)
        assert st is not None and st.status == "done", st
    with db.session() as s:
        (rem,) = s.scalars(select(m.Remittance)).all()
        enc = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "E-1")).one()
        (claim,) = rem.claims
        assert claim.encounter_pk == enc.id
        paid, denied = sorted(claim.lines, key=lambda ln: ln.code)
        assert [paid.claim_line_id, denied.claim_line_id] == [enc.lines[0].id, enc.lines[1].id]
        assert denied.denied and "BUN001" in denied.preventing_edits
