"""Imports of encounter JSON, 837P, 835 and authorization logs: stored, idempotent, all-or-nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from painrcm.errors import InputError
from painrcm.model import Encounter
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.imports import ImportResult, import_bytes
from painrcm.x12.writer837 import write_837
from tests.store.synth import Clp, SvcLine, as_bytes, auth_csv, epidural, write_835

pytestmark = pytest.mark.usefixtures("practices")

COUNTED = (
    m.ImportJob,
    m.Person,
    m.Chart,
    m.Encounter,
    m.ClaimLine,
    m.ScrubRun,
    m.Authorization,
    m.Remittance,
    m.RemitClaim,
    m.RemitLine,
    m.RemitAdjustment,
)


def run(
    db: Database,
    engine: Engine,
    kind: str,
    data: bytes,
    name: str,
    practice_id: str | None = "P01",
    **kw: Any,
) -> ImportResult:
    with db.session() as s:
        return import_bytes(
            s, engine, kind=kind, data=data, file_name=name, practice_id=practice_id, user_id=None, **kw
        )


def counts(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0 for t in COUNTED}


def refused(db: Database, engine: Engine, kind: str, data: bytes, name: str, **kw: Any) -> InputError:
    before = counts(db)
    with pytest.raises(InputError) as info:
        run(db, engine, kind, data, name, **kw)
    assert counts(db) == before, "a refused file must store nothing"
    assert info.value.file == name
    return info.value


def claim_with_lines(eid: str = "E-1") -> dict[str, Any]:
    return epidural(
        eid,
        "2026-03-02",
        lines=[
            {
                "code": "64483",
                "modifiers": ["RT"],
                "units": 1,
                "diagnosis_pointers": [1, 2],
                "charge": 900,
                "control_number": f"{eid}-1",
            },
            {
                "code": "77003",
                "modifiers": [],
                "units": 1,
                "diagnosis_pointers": [1],
                "charge": 200,
                "control_number": f"{eid}-2",
            },
        ],
    )


def eight37(*docs: dict[str, Any]) -> str:
    return write_837([Encounter.model_validate(d) for d in docs])


JANE = "1EG4TE5MK73"
AUTHS = auth_csv(
    f"A100,MEDICARE,{JANE},64483 64484,4,2026-01-01,2026-06-30,1679576722,approved",
    "A200,ACME-HEALTH,NOBODY1,64635,2,2026-01-01,2026-03-31,,pending",
)


# --- each kind ------------------------------------------------------------------------------------


def test_encounter_json_object_and_list(db: Database, engine: Engine) -> None:
    one = run(db, engine, "encounters", as_bytes(epidural("E-1", "2026-03-02")), "one.json")
    many = run(
        db,
        engine,
        "encounters",
        as_bytes([epidural("E-2", "2026-03-09"), epidural("E-3", "2026-03-16")]),
        "many.json",
    )
    assert (one.records, one.added, one.scrubbed) == (1, 1, 1)
    assert (many.records, many.added, many.scrubbed) == (2, 2, 2)
    with db.session() as s:
        rows = s.scalars(select(m.Encounter).order_by(m.Encounter.encounter_id)).all()
        assert [r.encounter_id for r in rows] == ["E-1", "E-2", "E-3"]
        assert all(r.practice_id == "P01" and r.status != "unscrubbed" and r.scrub_runs for r in rows)
        entries = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "import")).all()
        assert [e.object_id for e in entries] == [str(one.import_id), str(many.import_id)]
        assert all(e.practice_id == "P01" and e.detail["kind"] == "encounters" for e in entries)
        dumped = json.dumps([e.detail for e in entries])
        assert (
            "Doe" not in dumped and JANE not in dumped and "1956" not in dumped
        )  # no PHI in the audit detail


def test_history_import_is_not_scrubbed(db: Database, engine: Engine) -> None:
    res = run(
        db, engine, "encounters", as_bytes([epidural("H-1", "2025-03-02")]), "h.json", work_status="history"
    )
    assert res.scrubbed == 0
    with db.session() as s:
        row = s.scalars(select(m.Encounter)).one()
        assert (row.work_status, row.status) == ("history", "unscrubbed")


def test_837_claims_are_stored_under_the_practice_of_their_npi(db: Database, engine: Engine) -> None:
    text = eight37(epidural("E-1", "2026-03-02"), epidural("E-2", "2026-03-09"))
    res = run(db, engine, "x12_837", text.encode(), "batch.837", practice_id=None)
    assert (res.records, res.added, res.scrubbed) == (2, 2, 2)
    with db.session() as s:
        rows = s.scalars(select(m.Encounter).order_by(m.Encounter.encounter_id)).all()
        assert [(r.encounter_id, r.practice_id, r.source) for r in rows] == [
            ("E-1", "P01", "batch.837"),
            ("E-2", "P01", "batch.837"),
        ]
        assert rows[0].lines[0].code == "64483"


def test_auth_log_links_members_to_stored_people(db: Database, engine: Engine) -> None:
    run(db, engine, "encounters", as_bytes(epidural("E-1", "2026-03-02")), "c.json")
    res = run(db, engine, "auths", AUTHS, "auths.csv")
    assert (res.records, res.added) == (2, 2)
    with db.session() as s:
        person = s.scalars(select(m.Person)).one()
        auths = {a.auth_number: a for a in s.scalars(select(m.Authorization))}
        assert auths["A100"].person_id == person.id and auths["A100"].codes == ["64483", "64484"]
        assert auths["A200"].person_id is None and auths["A200"].status == "pending"
        assert all(a.practice_id == "P01" for a in auths.values())


def test_auth_log_as_json_upserts_by_number_payer_and_member(db: Database, engine: Engine) -> None:
    run(db, engine, "auths", AUTHS, "auths.csv")
    changed = [
        {
            "auth_number": "A100",
            "payer_id": "MEDICARE",
            "member_id": JANE,
            "codes": "64483",
            "sessions": 6,
            "start_date": "2026-01-01",
            "end_date": "2026-09-30",
            "status": "approved",
        }
    ]
    res = run(db, engine, "auths", as_bytes(changed), "update.json")
    assert (res.added, res.updated) == (0, 1)
    with db.session() as s:
        a100 = s.scalars(select(m.Authorization).where(m.Authorization.auth_number == "A100")).one()
        assert (a100.sessions, a100.end_date.isoformat()) == (6, "2026-09-30")
        assert s.scalar(select(func.count()).select_from(m.Authorization)) == 2


def test_835_links_lines_to_stored_claims_and_explains_a_co97_denial(db: Database, engine: Engine) -> None:
    run(db, engine, "encounters", as_bytes(claim_with_lines("E-1")), "claim.json")
    text = write_835(
        [
            Clp(
                "E-1",
                [
                    SvcLine("64483", 900, 300, [("CO", "45", 600)], ["RT"], "E-1-1"),
                    SvcLine("77003", 200, 0, [("CO", "97", 200)], [], "E-1-2"),
                ],
            ),
            Clp("UNKNOWN-9", [SvcLine("99213", 100, 80, [("CO", "45", 20)])]),
        ]
    )
    res = run(db, engine, "x12_835", text.encode(), "era.835", practice_id=None)  # practice from the claims
    assert (res.records, res.added, len(res.remittance_ids)) == (2, 2, 1)
    with db.session() as s:
        rem = s.get(m.Remittance, res.remittance_ids[0])
        assert rem is not None and rem.practice_id == "P01" and rem.import_id == res.import_id
        assert rem.reconciled and rem.payment_amount == 380 and rem.trace_number == "EFT0001"
        claims = {c.patient_control_number: c for c in rem.claims}
        enc = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "E-1")).one()
        assert claims["E-1"].encounter_pk == enc.id and claims["UNKNOWN-9"].encounter_pk is None
        paid, denied = sorted(claims["E-1"].lines, key=lambda ln: ln.code)
        assert [paid.claim_line_id, denied.claim_line_id] == [enc.lines[0].id, enc.lines[1].id]
        assert not paid.denied and paid.next_action == "write_off"
        assert denied.denied and denied.paid == 0 and denied.work_status == "open"
        assert denied.next_action == "correct_and_resubmit"
        assert "bundled" in (denied.explanation or "") and "CO-97" in (denied.explanation or "")
        assert "BUN001" in denied.preventing_edits
        assert [(a.group_code, a.reason_code, a.amount) for a in denied.adjustments] == [("CO", "97", 200)]
        assert claims["UNKNOWN-9"].lines[0].claim_line_id is None


def test_835_without_a_known_practice_is_refused(db: Database, engine: Engine) -> None:
    text = write_835([Clp("NOPE-1", [SvcLine("64483", 900, 0, [("CO", "97", 900)])])], payee_npi="1999999999")
    err = refused(db, engine, "x12_835", text.encode(), "stray.835", practice_id=None)
    assert err.place and "segment" in err.place and "choose the practice" in err.expected


# --- idempotency ----------------------------------------------------------------------------------


def _files() -> dict[str, tuple[bytes, str | None]]:
    return {
        "encounters": (as_bytes([claim_with_lines("E-1"), epidural("E-2", "2026-03-09")]), "P01"),
        "x12_837": (eight37(epidural("X-1", "2026-03-02")).encode(), None),
        "x12_835": (
            write_835([Clp("E-1", [SvcLine("77003", 200, 0, [("CO", "97", 200)], [], "E-1-2")])]).encode(),
            None,
        ),
        "auths": (AUTHS, "P01"),
    }


@pytest.mark.parametrize("kind", ["encounters", "x12_837", "x12_835", "auths"])
def test_the_same_file_twice_adds_nothing(db: Database, engine: Engine, kind: str) -> None:
    run(db, engine, "encounters", as_bytes(claim_with_lines("E-1")), "base.json")
    data, practice = _files()[kind]
    first = run(db, engine, kind, data, f"file.{kind}", practice_id=practice)
    assert first.added > 0 and not first.duplicate
    after_first = counts(db)
    again = run(db, engine, kind, data, f"renamed.{kind}", practice_id=practice)
    assert again.duplicate and again.added == 0 and again.import_id == first.import_id
    assert counts(db) == after_first


def test_same_content_in_another_file_changes_nothing(db: Database, engine: Engine) -> None:
    docs = [epidural("E-1", "2026-03-02"), epidural("E-2", "2026-03-09")]
    run(db, engine, "encounters", as_bytes(docs), "a.json")
    era = write_835([Clp("E-1", [SvcLine("64483", 900, 0, [("CO", "97", 900)], ["RT"])])])
    run(db, engine, "x12_835", era.encode(), "a.835")
    before = counts(db)
    res = run(db, engine, "encounters", json.dumps(docs, indent=2).encode(), "b.json")  # another hash
    assert (res.duplicate, res.added, res.updated, res.unchanged, res.scrubbed) == (False, 0, 0, 2, 0)
    res = run(db, engine, "x12_835", era.replace("~\n", "~").encode(), "b.835")  # the same remittance again
    assert (res.duplicate, res.added, res.unchanged) == (False, 0, 1)
    after = counts(db)
    assert after.pop("import_jobs") == before.pop("import_jobs") + 2
    assert after == before


# --- all-or-nothing -------------------------------------------------------------------------------


def test_json_list_with_one_bad_encounter_stores_nothing(db: Database, engine: Engine) -> None:
    bad = epidural("E-2", "2026-02-30")
    err = refused(db, engine, "encounters", as_bytes([epidural("E-1", "2026-03-02"), bad]), "batch.json")
    assert err.place == "$[1].date_of_service" and "YYYY-MM-DD" in err.expected
    assert "batch.json: $[1].date_of_service" in str(err)


def test_invalid_json_is_located(db: Database, engine: Engine) -> None:
    err = refused(db, engine, "encounters", b'[{"encounter_id": "E-1",\n  oops}]', "broken.json")
    assert err.place == "line 2, column 3" and "valid JSON" in err.expected


def test_duplicate_encounter_ids_in_one_file_are_refused(db: Database, engine: Engine) -> None:
    docs = [epidural("E-1", "2026-03-02"), epidural("E-1", "2026-03-09")]
    err = refused(db, engine, "encounters", as_bytes(docs), "dupes.json")
    assert err.place == "$[1].encounter_id"
    assert err.expected.startswith("CLM007: claim ID 'E-1' is also used at $[0];")


def test_duplicate_claim_ids_in_an_837_name_both_clm_segments(db: Database, engine: Engine) -> None:
    """QA: the workspace import placed an 837 claim by its ID, so a repeated ID read
    "claim 'E-1': ... ('E-1' is also at claim 'E-1')"; each claim is now placed by its CLM segment."""
    text = eight37(epidural("E-1", "2026-03-02"), epidural("E-1", "2026-03-09"))
    err = refused(db, engine, "x12_837", text.encode(), "dupes.837", practice_id=None)
    assert err.place is not None and err.place.startswith("segment ") and "(CLM)" in err.place
    assert err.expected.startswith("CLM007: claim ID 'E-1' is also used at segment ")
    assert err.place not in err.expected  # the other claim's segment, not its own
    assert "\n" not in err.render()


def test_an_837_amount_that_is_not_an_x12_number_is_imported_and_kept_for_clm006(
    db: Database, engine: Engine
) -> None:
    """Issue 11: a CLM02 of 1_000 no longer refuses the import; the claim is stored with the value
    unknown and the place recorded, so the workspace's scrub reports CLM006."""
    text = eight37(claim_with_lines("E-1"))
    clm = next(seg for seg in text.split("~\n") if seg.startswith("CLM*E-1*"))
    parts = clm.split("*")
    parts[2] = "1_000"
    run(db, engine, "x12_837", text.replace(clm, "*".join(parts)).encode(), "n.837", practice_id=None)
    with db.session() as s:
        row = s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == "E-1")).one()
        [bad] = row.document["unreadable_numbers"]
        found = s.scalars(select(m.Finding).where(m.Finding.edit == "CLM006")).all()
    assert bad["element"] == "CLM02" and bad["found"] == "1_000" and bad["place"].endswith("(CLM)")
    assert len(found) == 1 and "'1_000'" in found[0].message


def test_encounter_of_another_practice_is_refused(db: Database, engine: Engine) -> None:
    err = refused(
        db, engine, "encounters", as_bytes(epidural("E-1", "2026-03-02")), "c.json", practice_id="P02"
    )
    assert err.place == "$.practice.id" and "P02" in err.expected


def test_broken_837_claim_refuses_the_whole_file(db: Database, engine: Engine) -> None:
    text = eight37(epidural("E-1", "2026-03-02"), epidural("E-2", "2026-03-09"))
    sv1 = "SV1*HC:64483:RT*0*UN*1***1:2~"
    head, tail = text.rsplit(sv1, 1)  # the second claim's line loses its diagnosis pointer
    broken = head + "SV1*HC:64483:RT*0*UN*1~" + tail
    err = refused(db, engine, "x12_837", broken.encode(), "broken.837", practice_id=None)
    assert err.place is not None and err.place.startswith("segment ") and "(SV1)" in err.place
    assert "E-2" in err.expected and "nothing was imported" in err.expected


def test_broken_835_is_refused(db: Database, engine: Engine) -> None:
    text = write_835([Clp("E-1", [SvcLine("64483", 900, 0, [("CO", "97", 900)])])]).replace(
        "CAS*CO*97*900", "CAS*CO*97*ABC"
    )
    err = refused(db, engine, "x12_835", text.encode(), "bad.835")
    assert err.place is not None and "(CAS)" in err.place


def test_auth_csv_with_a_bad_date_stores_nothing(db: Database, engine: Engine) -> None:
    data = auth_csv(
        f"A100,MEDICARE,{JANE},64483,4,2026-01-01,2026-06-30,,approved",
        f"A101,MEDICARE,{JANE},64483,4,2026-01-01,2026-13-01,,approved",
    )
    err = refused(db, engine, "auths", data, "auths.csv")
    assert err.place == "record 2, field end_date" and "2026-13-01" in err.expected


def test_auths_need_a_practice_and_an_existing_one(db: Database, engine: Engine) -> None:
    assert "practice" in refused(db, engine, "auths", AUTHS, "auths.csv", practice_id=None).expected
    assert "no practice 'P99'" in refused(db, engine, "auths", AUTHS, "auths.csv", practice_id="P99").expected


def test_progress_is_reported_every_n_records(db: Database, engine: Engine) -> None:
    docs = [epidural(f"E-{i}", f"2026-03-{i % 28 + 1:02d}") for i in range(60)]
    for d in docs:  # different patients, so no claim is a frequency problem of another
        d["patient"] = {**d["patient"], "member_id": f"M{d['encounter_id']}", "last_name": d["encounter_id"]}
    calls: list[tuple[int, int]] = []
    res = run(
        db, engine, "encounters", as_bytes(docs), "big.json", progress=lambda d, t: calls.append((d, t))
    )
    assert res.records == 60
    assert calls[0] == (0, 120) and calls[-1] == (120, 120) and len(calls) >= 4
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_837_reader_notes_are_stored_with_the_import(db: Database, engine: Engine) -> None:
    """A CR+LF 837P with a wrong SE01 imports; the reader's note is kept with the import job."""
    text = eight37(epidural("N-1", "2026-03-02"))
    se = next(s for s in text.split("~") if s.strip().startswith("SE*"))
    parts = se.strip().split("*")
    text = (
        text.replace(se.strip(), f"SE*{int(parts[1]) + 1}*{parts[2]}", 1)
        .replace("~\n", "~")
        .replace("~", "~\r\n")
    )
    res = run(db, engine, "x12_837", b"\xef\xbb\xbf" + text.encode(), "notes.837", practice_id=None)
    assert res.added == 1 and any("SE01" in w for w in res.warnings)
    with db.session() as s:
        job = s.scalars(select(m.ImportJob)).one()
        assert job.message is not None and "SE01" in job.message
