"""Claim versions (issue 9): a re-upload is a new version or a corrected claim, never a silent
overwrite and never an internal error; an identical re-upload changes nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import versions
from painrcm.store.db import Database
from tests.store.synth import Clp, SvcLine, as_bytes, write_835
from tests.store.test_imports import claim_with_lines, run

pytestmark = pytest.mark.usefixtures("practices")


def _claim(s: Any, eid: str = "E-1") -> m.Encounter:
    return s.scalars(select(m.Encounter).where(m.Encounter.encounter_id == eid)).one()


def _denial_835() -> bytes:
    return write_835(
        [
            Clp(
                "E-1",
                [
                    SvcLine("64483", 900, 300, [("CO", "45", 600)], ["RT"], "E-1-1"),
                    SvcLine("77003", 200, 0, [("CO", "97", 200)], [], "E-1-2"),
                ],
            )
        ]
    ).encode()


def test_first_upload_is_version_one_and_an_identical_reupload_changes_nothing(
    db: Database, engine: Engine
) -> None:
    doc = claim_with_lines("E-1")
    run(db, engine, "encounters", as_bytes(doc), "a.json")
    same = json.dumps(doc, indent=2).encode()  # another file (other bytes), the same claim
    res = run(db, engine, "encounters", same, "same-content-other-name.json")
    assert (res.unchanged, res.updated) == (1, 0)
    with db.session() as s:
        row = _claim(s)
        vs = versions.versions_of(s, row.id)
        assert [(v.number, v.kind, v.frequency_code) for v in vs] == [(1, "upload", "1")]


def test_changed_reupload_before_submission_is_a_new_version_with_its_diff(
    db: Database, engine: Engine
) -> None:
    doc = claim_with_lines("E-1")
    run(db, engine, "encounters", as_bytes(doc), "a.json")
    changed = copy.deepcopy(doc)
    changed["date_of_service"] = "2026-03-03"
    del changed["lines"][1]["charge"]
    res = run(db, engine, "encounters", as_bytes(changed), "b.json")
    assert res.updated == 1
    with db.session() as s:
        row = _claim(s)
        vs = versions.list_versions(s, row)
        assert [v["kind"] for v in vs] == ["upload", "reupload"]
        fields = {d["field"]: (d["before"], d["after"]) for d in vs[1]["diff"]}
        assert fields["date_of_service"] == ("2026-03-02", "2026-03-03")
        assert fields["line 2 charge"] == (200, None)
        assert "b.json" in (vs[1]["reason"] or "")
        assert row.work_status == "open"
        # the diff between any two versions
        assert versions.compare(s, row, 2, 1)[0]["before"] == "2026-03-03"


def test_reupload_of_a_submitted_denied_claim_without_the_denied_line_is_a_corrected_claim(
    db: Database, engine: Engine
) -> None:
    """Was: internal error (IntegrityError); nothing was imported (the 835 lines pointed at the
    deleted claim line)."""
    doc = claim_with_lines("E-1")
    run(db, engine, "encounters", as_bytes(doc), "a.json")
    with db.session() as s:
        _claim(s).work_status = "submitted"
    run(db, engine, "x12_835", _denial_835(), "era.835")
    corrected = copy.deepcopy(doc)
    corrected["lines"] = corrected["lines"][:1]
    res = run(db, engine, "encounters", as_bytes(corrected), "corrected.json")
    assert res.updated == 1
    with db.session() as s:
        row = _claim(s)
        assert [ln.code for ln in row.lines] == ["64483"]
        assert row.work_status == "open"  # back to work: it must be sent again
        v = versions.current(s, row.id)
        assert v is not None and (v.kind, v.frequency_code, v.payer_claim_number) == (
            "corrected",
            "7",
            "PCN-E-1",
        )
        assert any(d["field"] == "line 2" and d["change"] == "removed" for d in v.diff)
        lines = {rl.code: rl for rl in s.scalars(select(m.RemitLine))}
        assert lines["64483"].claim_line_id == row.lines[0].id  # relinked to the kept line
        assert lines["77003"].claim_line_id is None and lines["77003"].denied  # the denial stays


def test_a_denied_line_names_the_single_edit_that_fired_on_it(db: Database, engine: Engine) -> None:
    """CO-97 names every bundling edit; the line gets the one that fired on it (was: the family)."""
    run(db, engine, "encounters", as_bytes(claim_with_lines("E-1")), "a.json")
    run(db, engine, "x12_835", _denial_835(), "era.835")
    with db.session() as s:
        row = _claim(s)
        fired = {f.edit for f in row.scrub_runs[-1].findings if f.line == 2}
        denied = s.scalars(select(m.RemitLine).where(m.RemitLine.code == "77003")).one()
        assert len(denied.preventing_edits) == 1 and denied.preventing_edits[0] in fired


def test_an_authorization_denial_names_the_auth_edit_whose_check_matches(
    db: Database, engine: Engine
) -> None:
    """CO-197 names six AUT edits; with none fired, the line's own authorization state picks one."""
    run(db, engine, "encounters", as_bytes(claim_with_lines("E-1")), "a.json")
    era = write_835([Clp("E-1", [SvcLine("64483", 900, 0, [("CO", "197", 900)], ["RT"], "E-1-1")])])
    run(db, engine, "x12_835", era.encode(), "era.835")
    with db.session() as s:
        row = _claim(s)
        assert not any(f.edit.startswith("AUT") for f in row.scrub_runs[-1].findings)
        denied = s.scalars(select(m.RemitLine).where(m.RemitLine.code == "64483")).one()
        assert denied.preventing_edits == ["AUT001"]  # no authorization number on the claim
